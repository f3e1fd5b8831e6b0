//! Which settings a config found in the tree may hold. In CI on a pull request the tree is
//! written by a stranger, so settings that run a program or reach outside the repository
//! (`helm.binary`, values and CA files outside its folder, the hosts `registries.insecure`
//! and `registries.mirrors` send requests to) come only from a config the invoker names:
//! `--config`, `PINNACE_CONFIG`, or their own `$XDG_CONFIG_HOME/pinnace/config.yaml`.

use std::path::{Component, Path, PathBuf};

use super::Config;

/// The environment variable that names the invoker's config, as `--config` does.
pub const CONFIG_ENV: &str = "PINNACE_CONFIG";

/// The invoker's own config: `$XDG_CONFIG_HOME/pinnace/config.yaml`, else
/// `~/.config/pinnace/config.yaml`, when it exists.
pub fn user_config_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))?;
    let file = base.join("pinnace").join("config.yaml");
    file.is_file().then_some(file)
}

/// Removes from a config found in the tree (whose folder is `root`) every setting only the
/// invoker may give, and returns what was removed, as config keys, for one warning.
pub fn restrict_to_tree(config: &mut Config, root: &Path) -> Vec<String> {
    let mut removed = Vec::new();
    if config.helm.binary.take().is_some() {
        removed.push("helm.binary".to_string());
    }
    if config.kustomize.fetch_remote.take().is_some() {
        removed.push("kustomize.fetch_remote".to_string());
    }
    let registries = &mut config.registries;
    if !registries.insecure.is_empty() {
        registries.insecure.clear();
        removed.push("registries.insecure".to_string());
    }
    if !registries.mirrors.is_empty() {
        registries.mirrors.clear();
        removed.push("registries.mirrors".to_string());
    }
    let outside = |file: &String| !stays_in(root, file);
    if registries.ca_files.iter().any(outside) {
        registries.ca_files.retain(|file| stays_in(root, file));
        removed.push("registries.ca_files outside the repository".to_string());
    }
    let mut values_outside = false;
    for chart in &mut config.helm.charts {
        values_outside |= chart.values.iter().any(outside);
        chart.values.retain(|file| stays_in(root, file));
    }
    if values_outside {
        removed.push("helm.charts values files outside the repository".to_string());
    }
    removed
}

/// Gives a config found in the tree the invoker-only settings of the invoker's own config.
pub fn add_invoker_settings(config: &mut Config, invoker: &Config, invoker_root: &Path) {
    config.helm.binary.clone_from(&invoker.helm.binary);
    config.kustomize.fetch_remote = invoker.kustomize.fetch_remote;
    if let Some(binary) = &mut config.helm.binary
        && binary.contains('/')
    {
        *binary = invoker_root.join(&*binary).display().to_string();
    }
    let (ours, theirs) = (&mut config.registries, &invoker.registries);
    ours.insecure.clone_from(&theirs.insecure);
    ours.mirrors.clone_from(&theirs.mirrors);
    ours.ca_files.extend(
        theirs
            .ca_files
            .iter()
            .map(|file| invoker_root.join(file).display().to_string()),
    );
}

/// Whether `file`, relative to `root`, names a file in or below it, symlinks resolved when
/// it exists (a link out of the repository is as outside as `../x`).
fn stays_in(root: &Path, file: &str) -> bool {
    let joined = root.join(file);
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    match std::fs::canonicalize(&joined) {
        Ok(real) => real.starts_with(&root),
        Err(_) => {
            let relative = Path::new(file);
            !relative.is_absolute()
                && relative
                    .components()
                    .try_fold(0usize, |depth, part| match part {
                        Component::ParentDir => depth.checked_sub(1),
                        Component::Normal(_) => Some(depth + 1),
                        _ => Some(depth),
                    })
                    .is_some()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_leave_the_tree_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "").unwrap();
        let mut config = super::super::parse_config(
            "t",
            "helm: {binary: tools/helm, charts: [{path: c, values: [v.yaml, ../x.yaml, /etc/passwd]}]}\n\
             registries: {insecure: [evil.example], mirrors: {docker.io: evil.example}, ca_files: [ca.pem, /etc/hostname]}\n",
        )
        .unwrap();
        let removed = restrict_to_tree(&mut config, dir.path());
        assert_eq!(removed.len(), 5, "{removed:?}");
        assert_eq!(config.helm.binary, None);
        assert!(config.registries.insecure.is_empty());
        assert!(config.registries.mirrors.is_empty());
        assert_eq!(config.registries.ca_files, ["ca.pem"]);
        assert_eq!(config.helm.charts[0].values, ["v.yaml"]);
    }

    #[test]
    fn a_config_that_stays_in_the_tree_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            super::super::parse_config("t", "helm: {charts: [{path: c, values: [a/../v.yaml]}]}\n")
                .unwrap();
        assert!(restrict_to_tree(&mut config, dir.path()).is_empty());
        assert_eq!(config.helm.charts[0].values, ["a/../v.yaml"]);
    }
}
