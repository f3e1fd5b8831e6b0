//! Which sections of a config are the policy — what decides whether a change passes — and
//! which describe the tree. With `--policy-from REV` the policy sections come from REV's
//! config; the descriptions stay the tree's, since the pull request that adds a chart or a
//! custom resource describes it in the same change. Differences in either are named, so the
//! reviewer sees what the pull request would change once merged.

use std::path::Path;

use super::Config;

/// Replaces the policy sections of `tree` by those of `base`; returns the names of those
/// that differed.
pub fn take_policy(tree: &mut Config, base: &Config) -> Vec<&'static str> {
    let mut differ = Vec::new();
    let ours = &mut tree.registries;
    let theirs = &base.registries;
    replace(
        "registries.trusted",
        &mut ours.trusted,
        &theirs.trusted,
        &mut differ,
    );
    replace(
        "registries.private",
        &mut ours.private,
        &theirs.private,
        &mut differ,
    );
    replace("rules", &mut tree.rules, &base.rules, &mut differ);
    replace(
        "overrides",
        &mut tree.overrides,
        &base.overrides,
        &mut differ,
    );
    replace("exclude", &mut tree.exclude, &base.exclude, &mut differ);
    replace(
        "network_policies",
        &mut tree.network_policies,
        &base.network_policies,
        &mut differ,
    );
    replace(
        "signatures",
        &mut tree.signatures,
        &base.signatures,
        &mut differ,
    );
    differ
}

fn replace<T: PartialEq + Clone>(
    name: &'static str,
    ours: &mut T,
    theirs: &T,
    differ: &mut Vec<&'static str>,
) {
    if ours != theirs {
        differ.push(name);
        ours.clone_from(theirs);
    }
}

/// The description sections in which `tree` differs from `base` (used as the tree has them).
pub fn described_changes(tree: &Config, base: &Config) -> Vec<&'static str> {
    let mut differ = Vec::new();
    if tree.images != base.images {
        differ.push("images");
    }
    if tree.helm.values != base.helm.values || tree.helm.charts != base.helm.charts {
        differ.push("helm");
    }
    if tree.default_namespace != base.default_namespace {
        differ.push("default_namespace");
    }
    differ
}

/// The files `base`'s policy names whose bytes in the tree (below `tree_root`) are not those
/// REV has (below `base_files`): a key replaced in place.
pub fn changed_files(base: &Config, tree_root: &Path, base_files: &Path) -> Vec<String> {
    // A trusted root is the largest file a policy names.
    let limit = crate::signatures::MAX_TRUSTED_ROOT_BYTES;
    let mut names: Vec<&String> = base
        .signatures
        .iter()
        .flat_map(|entry| entry.files())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| {
            let ours = crate::signatures::read_inside(tree_root, name, limit);
            let theirs = crate::signatures::read_inside(base_files, name, limit);
            ours.ok() != theirs.ok()
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        super::super::parse_config("c.yaml", text).unwrap()
    }

    #[test]
    fn a_trusted_root_replaced_in_place_is_a_changed_file() {
        let base = config(
            "signatures:\n  - images: [ghcr.io/acme/**]\n    keys: [k.pub]\n    keyless: [{issuer: https://i, identity: x}]\n    trusted_root: root.json\n",
        );
        let (tree, rev) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for dir in [&tree, &rev] {
            std::fs::write(dir.path().join("k.pub"), "key").unwrap();
            std::fs::write(dir.path().join("root.json"), "{}").unwrap();
        }
        assert!(changed_files(&base, tree.path(), rev.path()).is_empty());
        std::fs::write(tree.path().join("root.json"), "{\"mine\": 1}").unwrap();
        assert_eq!(changed_files(&base, tree.path(), rev.path()), ["root.json"]);
    }

    #[test]
    fn the_policy_is_the_base_and_differences_are_named() {
        let base = config(
            "registries: {trusted: [ghcr.io/acme/**]}\nrules: {latest-tag: error}\nimages: [{kind: P, path: spec.image}]\n",
        );
        let mut tree = config(
            "registries: {trusted: [\"**\"]}\nrules: {latest-tag: error}\nexclude: [bad/**]\nimages: []\n",
        );
        assert_eq!(described_changes(&tree, &base), ["images"]);
        assert_eq!(
            take_policy(&mut tree, &base),
            ["registries.trusted", "exclude"]
        );
        assert_eq!(
            tree.registries.trusted.as_deref(),
            Some(&["ghcr.io/acme/**".to_string()][..])
        );
        assert!(tree.exclude.is_empty());
        assert!(tree.images.is_empty(), "descriptions stay the tree's");
        assert!(take_policy(&mut tree, &base).is_empty());
    }
}
