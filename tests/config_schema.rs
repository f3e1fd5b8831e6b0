//! The JSON Schema shipped for editors must be the one the code accepts.

use std::path::Path;

#[test]
fn shipped_schema_matches_the_config_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/pinnace.schema.json");
    let shipped = std::fs::read_to_string(&path).expect("schema/pinnace.schema.json exists");
    assert_eq!(
        shipped,
        pinnace::config::json_schema(),
        "regenerate it: cargo run -- config-schema > schema/pinnace.schema.json"
    );
}

#[test]
fn schema_describes_every_top_level_key() {
    let schema: serde_json::Value = serde_json::from_str(&pinnace::config::json_schema()).unwrap();
    let properties = schema["properties"].as_object().expect("properties");
    for key in ["registries", "rules", "exclude", "overrides", "images"] {
        assert!(properties.contains_key(key), "schema lacks `{key}`");
    }
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
}
