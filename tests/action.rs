//! The GitHub Action: `action.yml` validated against the GitHub Actions schema by the real
//! `check-jsonschema` (offline: its schemas are built in), and its check step
//! (`action/run.sh`) run in a simulated runner: a git repository with a base and a head
//! commit, `GITHUB_BASE_REF`, `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`.

mod ci_support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use ci_support::{DIGEST, PROJECT, git, kustomize_app, python_tool, text, write};
use serde_json::Value;

fn pod(image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: {image}\n"
    )
}

/// Runs check-jsonschema with every proxy pointing at a closed port: any attempt to reach
/// the network fails the run.
fn check_jsonschema(file: &Path) -> Output {
    let closed = "http://127.0.0.1:9";
    Command::new(python_tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-actions"])
        .arg(file)
        .env("HTTP_PROXY", closed)
        .env("HTTPS_PROXY", closed)
        .env("http_proxy", closed)
        .env("https_proxy", closed)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("check-jsonschema runs")
}

#[test]
fn action_yml_is_a_valid_action() {
    let action = Path::new(PROJECT).join("action.yml");
    let output = check_jsonschema(&action);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("ok -- validation done"));
    // The validator does reject a broken action (composite steps need a shell).
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("action.yml");
    let yml = fs::read_to_string(&action).unwrap();
    fs::write(&broken, yml.replace("      shell: bash\n", "")).unwrap();
    let output = check_jsonschema(&broken);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
}

#[test]
fn every_input_reaches_the_check_step() {
    let yml = fs::read_to_string(Path::new(PROJECT).join("action.yml")).unwrap();
    for input in [
        "paths",
        "config",
        "fail-on",
        "changed-only",
        "sarif-file",
        "online",
        "baseline",
        "policy-from-base",
    ] {
        assert!(yml.contains(&format!("\n  {input}:\n")), "input {input}");
        assert!(
            yml.contains(&format!("${{{{ inputs.{input} }}}}")),
            "{input}"
        );
    }
    assert!(yml.contains("run: bash \"$GITHUB_ACTION_PATH/action/run.sh\""));
    assert!(yml.contains("run: bash \"$ACTION_PATH/action/install.sh\""));
}

/// `main` has a clean Kustomize app and a pod with an unpinned image (an old finding); the
/// pull request (`feature`, checked out) adds a pod with an unpinned image and unpins the
/// base's sidecar. `origin/main` is the base, as actions/checkout with fetch-depth 0 has it.
fn pull_request() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    // The pods have no NetworkPolicies: only the image rules are under test here.
    write(
        root,
        ".pinnace.yaml",
        "rules: {missing-network-policy: off, missing-default-deny: off}\n",
    );
    kustomize_app(root, &format!("busybox:1.36@{DIGEST}"));
    write(root, "old.yaml", &pod("alpine:3.18"));
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    git(root, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(root, &["checkout", "-q", "-b", "feature"]);
    write(root, "new.yaml", &pod("alpine:3.20"));
    kustomize_app(root, "busybox:1.36");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "head"]);
    dir
}

struct ActionRun {
    code: Option<i32>,
    stdout: String,
    outputs: String,
    summary: String,
    sarif: Option<Value>,
}

fn run_action(root: &Path, inputs: &[(&str, &str)], base_ref: &str) -> ActionRun {
    let runner = tempfile::tempdir().unwrap();
    let output_file = runner.path().join("output");
    let summary_file = runner.path().join("summary");
    let mut command = Command::new("bash");
    command
        .arg(Path::new(PROJECT).join("action/run.sh"))
        .current_dir(root)
        .env("PINNACE_BIN", env!("CARGO_BIN_EXE_pinnace"))
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("GITHUB_BASE_REF", base_ref)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (name, value) in inputs {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let sarif_path = inputs
        .iter()
        .find(|(name, _)| *name == "PINNACE_SARIF_FILE")
        .map_or("pinnace.sarif", |(_, value)| value);
    let read = |path: &Path| fs::read_to_string(path).unwrap_or_default();
    ActionRun {
        code: output.status.code(),
        stdout: text(&output),
        outputs: read(&output_file),
        summary: read(&summary_file),
        sarif: fs::read_to_string(root.join(sarif_path))
            .ok()
            .map(|text| serde_json::from_str(&text).unwrap()),
    }
}

fn annotated_files(stdout: &str) -> Vec<&str> {
    let mut files: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("::error file="))
        .filter_map(|line| line["::error file=".len()..].split(',').next())
        .collect();
    files.sort();
    files
}

#[test]
fn a_pull_request_is_checked_for_what_it_changed() {
    let repo = pull_request();
    let run = run_action(
        repo.path(),
        &[("PINNACE_SARIF_FILE", "results.sarif")],
        "main",
    );
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert_eq!(
        annotated_files(&run.stdout),
        ["app/base/deploy.yaml", "new.yaml"],
        "old.yaml is not part of the pull request: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("::error file=new.yaml,line=7,col=12,endLine=7,endColumn=23,title=pinnace%3A digest-pinning::image `alpine:3.20` is not pinned to a digest"),
        "{}",
        run.stdout
    );
    assert_eq!(run.outputs, "findings=2\nsarif-file=results.sarif\n");
    assert!(run.summary.starts_with("## pinnace\n"), "{}", run.summary);
    assert!(
        run.summary
            .contains(":x: **2 findings** (2 errors, 0 warnings, 0 notes)"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("| `digest-pinning` | app/base/deploy.yaml | :x: error | 1 |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("| `digest-pinning` | new.yaml | :x: error | 1 |"),
        "{}",
        run.summary
    );
    let sarif = run.sarif.expect("the SARIF file is written");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let uris: Vec<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.contains(&"new.yaml"), "{uris:?}");
}

#[test]
fn changed_only_false_checks_everything_and_fail_on_never_passes() {
    let repo = pull_request();
    let run = run_action(
        repo.path(),
        &[
            ("PINNACE_CHANGED_ONLY", "false"),
            ("PINNACE_FAIL_ON", "never"),
        ],
        "main",
    );
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(
        annotated_files(&run.stdout),
        ["app/base/deploy.yaml", "new.yaml", "old.yaml"]
    );
    assert_eq!(run.outputs, "findings=3\nsarif-file=pinnace.sarif\n");
    assert!(run.sarif.is_some());
}

#[test]
fn paths_narrow_the_check_and_a_push_checks_everything_below_them() {
    let repo = pull_request();
    // No GITHUB_BASE_REF: not a pull request.
    let run = run_action(repo.path(), &[("PINNACE_PATHS", "old.yaml\nnew.yaml")], "");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert_eq!(annotated_files(&run.stdout), ["new.yaml", "old.yaml"]);
    assert!(run.outputs.starts_with("findings=2\n"), "{}", run.outputs);
}

#[test]
fn a_missing_base_branch_fails_the_step_unless_the_policy_may_come_from_the_tree() {
    let repo = pull_request();
    // Without the base there is no policy the pull request's author cannot change.
    let run = run_action(repo.path(), &[], "no-such-branch");
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "::error title=pinnace::cannot find origin/no-such-branch, whose config is the policy"
        ),
        "{}",
        run.stdout
    );
    let run = run_action(
        repo.path(),
        &[("PINNACE_POLICY_FROM_BASE", "false")],
        "no-such-branch",
    );
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "::warning title=pinnace::cannot find origin/no-such-branch; checking everything"
        ),
        "{}",
        run.stdout
    );
    assert!(run.outputs.starts_with("findings=3\n"), "{}", run.outputs);
}

#[test]
fn a_pull_request_is_checked_by_the_policy_of_its_base() {
    let repo = pull_request();
    let root = repo.path();
    // The pull request trusts no registry list of the base's and turns digest pinning off.
    write(
        root,
        ".pinnace.yaml",
        "rules: {missing-network-policy: off, missing-default-deny: off, digest-pinning: off}\n",
    );
    git(root, &["commit", "-q", "-am", "loosen"]);
    let run = run_action(root, &[], "main");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert_eq!(
        annotated_files(&run.stdout),
        ["app/base/deploy.yaml", "new.yaml", "old.yaml"],
        "a changed config checks everything, under the base's rules: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("::warning file=.pinnace.yaml,title=pinnace::this run takes the policy from origin/main:.pinnace.yaml; this file changes rules, which apply once merged"),
        "{}",
        run.stdout
    );
    // Opted out, or with a config named, the pull request's own rules decide.
    for inputs in [
        [("PINNACE_POLICY_FROM_BASE", "false")],
        [("PINNACE_CONFIG", ".pinnace.yaml")],
    ] {
        let run = run_action(root, &inputs, "main");
        assert_eq!(run.code, Some(0), "{inputs:?}: {}", run.stdout);
        assert!(!run.stdout.contains("takes the policy"), "{}", run.stdout);
    }
}

#[test]
fn a_clean_pull_request_passes_with_zero_findings() {
    let repo = pull_request();
    let root = repo.path();
    fs::remove_file(root.join("new.yaml")).unwrap();
    kustomize_app(root, &format!("busybox:1.37@{DIGEST}"));
    git(root, &["commit", "-q", "-am", "fix"]);
    let run = run_action(root, &[], "main");
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(run.outputs, "findings=0\nsarif-file=pinnace.sarif\n");
    assert!(
        run.summary.contains(":white_check_mark: No findings"),
        "{}",
        run.summary
    );
}

/// Runs the install step with `path` as PATH (plus the tools it needs) and returns its
/// `bin` output and log.
fn install(path_dir: &Path, extra: &[(&str, &str)]) -> (String, String) {
    let runner = tempfile::tempdir().unwrap();
    let output_file = runner.path().join("output");
    let cargo_dir = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths([
        path_dir.to_path_buf(),
        cargo_dir,
        "/usr/local/bin".into(),
        "/usr/bin".into(),
        "/bin".into(),
    ])
    .unwrap();
    let mut command = Command::new("bash");
    command
        .arg(Path::new(PROJECT).join("action/install.sh"))
        .env("PATH", path)
        .env("ACTION_PATH", PROJECT)
        .env("GITHUB_OUTPUT", &output_file)
        // The unoptimised incremental build the pre-commit test shares.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(PROJECT).join("target/pre-commit"),
        )
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
        .env("CARGO_PROFILE_RELEASE_LTO", "false");
    for (name, value) in extra {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let outputs = fs::read_to_string(output_file).unwrap();
    let bin = outputs
        .strip_prefix("bin=")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{outputs}"))
        .to_string();
    (bin, text(&output))
}

#[test]
fn the_install_step_uses_pinnace_on_path_or_the_cache_or_builds_it() {
    let empty = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let root_text = root.path().to_str().unwrap();
    // Nothing on PATH, no cache: built from the action's source with cargo install.
    let (bin, log) = install(empty.path(), &[("PINNACE_ROOT", root_text)]);
    assert_eq!(bin, format!("{root_text}/bin/pinnace"), "{log}");
    assert!(log.contains("pinnace: built pinnace "), "{log}");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert!(text(&version).starts_with("pinnace "), "{}", text(&version));
    // The cache restored that build: it is used as it is.
    let (cached, log) = install(
        empty.path(),
        &[("PINNACE_ROOT", root_text), ("PINNACE_CACHE_HIT", "true")],
    );
    assert_eq!(cached, bin);
    assert!(log.contains("using the cached build"), "{log}");
    // A pinnace on PATH wins.
    let on_path = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_pinnace"),
        on_path.path().join("pinnace"),
    )
    .unwrap();
    let (found, _) = install(on_path.path(), &[("PINNACE_ROOT", root_text)]);
    assert_eq!(found, on_path.path().join("pinnace").to_str().unwrap());
}

#[test]
fn a_shallow_checkout_is_deepened_to_find_the_merge_base() {
    let upstream = pull_request();
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", upstream.path().display());
    git(
        clone.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, ".",
        ],
    );
    let shallow = git(clone.path(), &["rev-parse", "--is-shallow-repository"]);
    assert_eq!(String::from_utf8_lossy(&shallow.stdout).trim(), "true");
    let run = run_action(clone.path(), &[], "main");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert_eq!(
        annotated_files(&run.stdout),
        ["app/base/deploy.yaml", "new.yaml"],
        "{}",
        run.stdout
    );
}
