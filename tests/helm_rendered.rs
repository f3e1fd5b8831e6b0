//! Helm output checked as a stream: `helm template … | pinnace check -` and committed
//! rendered files. Every finding names the template its document came from (the `# Source:`
//! comment), in every output format. The fixtures in testdata/helm/rendered/ are what a real
//! `helm template` printed for the charts beside them (see testdata/helm/README.md).

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const PROJECT: &str = env!("CARGO_MANIFEST_DIR");

/// The fixtures' pods have no NetworkPolicies; the network rules are tested elsewhere.
const NO_NETWORK_RULES: &str = "--ignore=missing-network-policy,missing-default-deny";

fn pinnace(args: &[&str], stdin: Option<&str>) -> (i32, String) {
    let mut args = args.to_vec();
    if let Some(check) = args.iter().position(|a| *a == "check") {
        args.insert(check + 1, NO_NETWORK_RULES);
    }
    let mut cmd = Command::cargo_bin("pinnace").unwrap();
    cmd.current_dir(PROJECT).args(args);
    if let Some(path) = stdin {
        cmd.write_stdin(std::fs::read(Path::new(PROJECT).join(path)).unwrap());
    }
    let output = cmd.output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn json(args: &[&str], stdin: Option<&str>) -> Value {
    let mut all = vec!["check", "--format", "json"];
    all.extend(args);
    let (code, stdout) = pinnace(&all, stdin);
    assert_eq!(code, 1, "{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn stdin_stream_findings_name_their_templates() {
    let (code, stdout) = pinnace(
        &[
            "--color",
            "never",
            "check",
            "-",
            "--stdin-filename",
            "web.yaml",
        ],
        Some("testdata/helm/rendered/web.yaml"),
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!("web_stdin_human", stdout);
}

#[test]
fn rendered_file_json_carries_template_and_stream_position() {
    let report = json(&["testdata/helm/rendered/platform.yaml"], None);
    insta::assert_json_snapshot!("platform_json", report["findings"]);
    for finding in report["findings"].as_array().unwrap() {
        // The position is the stream's; the template names the chart file.
        assert_eq!(finding["path"], "testdata/helm/rendered/platform.yaml");
        assert!(
            finding["template"]
                .as_str()
                .unwrap()
                .starts_with("platform/")
        );
    }
}

#[test]
fn subchart_findings_name_the_subchart_template() {
    let report = json(&["-"], Some("testdata/helm/rendered/platform.yaml"));
    let redis: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["container"] == "redis")
        .collect();
    assert_eq!(redis.len(), 1);
    assert_eq!(
        redis[0]["template"],
        "platform/charts/redis/templates/statefulset.yaml"
    );
    assert_eq!(redis[0]["path"], "<stdin>");
    assert_eq!(redis[0]["line"], 53);
}

#[test]
fn hook_documents_are_checked_too() {
    let report = json(&["-"], Some("testdata/helm/rendered/web.yaml"));
    let hook: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["template"] == "web/templates/migrate-job.yaml")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(hook, ["digest-pinning", "latest-tag"]);
}

#[test]
fn plain_manifests_have_no_template() {
    let report = json(&["testdata/example"], None);
    for finding in report["findings"].as_array().unwrap() {
        assert_eq!(finding["template"], Value::Null, "{finding}");
    }
}

#[test]
fn sarif_names_the_template_as_a_related_location() {
    let (code, stdout) = pinnace(
        &[
            "check",
            "--format",
            "sarif",
            "testdata/helm/rendered/web.yaml",
        ],
        None,
    );
    assert_eq!(code, 1);
    let log: Value = serde_json::from_str(&stdout).unwrap();
    let result = &log["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "testdata/helm/rendered/web.yaml"
    );
    let related = &result["relatedLocations"][0];
    assert_eq!(
        related["physicalLocation"]["artifactLocation"]["uri"],
        "web/templates/deployment.yaml"
    );
    assert_eq!(related["id"], 0);
    assert!(related["physicalLocation"].get("region").is_none());
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains("rendered from the Helm template web/templates/deployment.yaml")
    );

    // The log still validates against the SARIF 2.1.0 schema.
    let schema_path = Path::new(PROJECT).join("testdata/schemas/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .offline()
        .build(&schema)
        .unwrap();
    assert!(validator.is_valid(&log));
}

#[test]
fn github_annotations_note_the_template() {
    let (code, stdout) = pinnace(
        &[
            "check",
            "--format",
            "github",
            "testdata/helm/rendered/web.yaml",
        ],
        None,
    );
    assert_eq!(code, 1);
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with("::error file=testdata/helm/rendered/web.yaml,line=48,col=18,"),
        "{first}"
    );
    assert!(
        first.contains("%0Anote: rendered from the Helm template web/templates/deployment.yaml"),
        "{first}"
    );
}

#[test]
fn suppressions_in_the_stream_still_apply() {
    let text = std::fs::read_to_string(Path::new(PROJECT).join("testdata/helm/rendered/web.yaml"))
        .unwrap()
        .replace(
            "image: prom/statsd-exporter:v0.26.1",
            "image: prom/statsd-exporter:v0.26.1 # pinnace:ignore digest-pinning -- vendor image",
        );
    let output = Command::cargo_bin("pinnace")
        .unwrap()
        .args(["check", "--format", "json", NO_NETWORK_RULES, "-"])
        .write_stdin(text)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let images: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["image"].as_str().unwrap())
        .collect();
    assert!(
        !images.contains(&"prom/statsd-exporter:v0.26.1"),
        "{images:?}"
    );
}
