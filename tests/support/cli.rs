//! Driving the `pinnace` binary against a throwaway repository, for the registry tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

/// A repository folder with a config and one manifest per image list.
pub struct Repo {
    dir: TempDir,
}

impl Repo {
    pub fn new(config: &str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".pinnace.yaml"), config).unwrap();
        Repo { dir }
    }

    pub fn insecure(host: &str) -> Repo {
        Repo::new(&format!("registries:\n  insecure: [\"{host}\"]\n"))
    }

    pub fn manifest(&self, file: &str, images: &[&str]) -> PathBuf {
        let mut text = String::from(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n",
        );
        for (i, image) in images.iter().enumerate() {
            text.push_str(&format!(
                "      - name: c{i}\n        image: {image}  # keep this comment\n"
            ));
        }
        let path = self.dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes a file below the repository, creating its folders.
    pub fn write(&self, file: &str, text: &str) {
        let path = self.dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs pinnace with an empty home, so no credential of the machine's can leak in.
pub fn pinnace(repo: &Repo, args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::cargo_bin("pinnace").unwrap();
    command
        .current_dir(repo.path())
        .env("HOME", home.path())
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .args(args);
    // The registry is reached as the repository's config says (plain HTTP, a CA file), which
    // pinnace takes only from a config the invoker names (tests/hostile_tree.rs tests that).
    let config = repo.path().join(".pinnace.yaml");
    if config.is_file() {
        command.env("PINNACE_CONFIG", config);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
