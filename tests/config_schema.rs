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

/// The configs users copy from (the README's and the example repository's) are accepted by
/// pinnace and valid against the shipped schema, and a wrong one is not.
#[test]
fn documented_configs_validate_against_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(&pinnace::config::json_schema()).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .offline()
        .build(&schema)
        .expect("the config schema compiles");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("```yaml\nregistries:")
        .expect("README has a config example")
        + "```yaml\n".len();
    let readme_config = &readme[start..start + readme[start..].find("```").unwrap()];
    let example = std::fs::read_to_string(root.join("testdata/example/.pinnace.yaml")).unwrap();
    for (name, text) in [
        ("README.md", readme_config),
        ("testdata/example/.pinnace.yaml", example.as_str()),
    ] {
        pinnace::config::parse_config(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = to_json(text);
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
    let wrong = to_json("rules: {no-such-rule: error}\nregistries: {trusted: 3}\n");
    assert!(validator.iter_errors(&wrong).count() >= 2);
}

fn to_json(text: &str) -> serde_json::Value {
    let stream = pinnace::yaml::load_stream(text, pinnace::yaml::Limits::default());
    pinnace::config::to_json(&stream.documents[0])
}
