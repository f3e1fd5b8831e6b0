//! The rewrite half of `pinnace pin`, without a registry: digests come from a table, so these
//! tests pin down exactly which bytes change. (The registry half is tested against a real
//! registry in `tests/pin_registry.rs`.)

use std::path::{Path, PathBuf};

use pinnace::config::{RuleSelection, Settings, parse_config};
use pinnace::fix::{PinOptions, plan_pins, rewrite_file};
use pinnace::image_ref::Digest;
use pinnace::model::extract;
use pinnace::pipeline::{Input, Loaded, load};
use pinnace::registry::{Manifest, Resolutions};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

fn digest_for(lookup: &str) -> Digest {
    let hex: String = Sha256::digest(lookup.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Digest::parse(&format!("sha256:{hex}")).unwrap()
}

fn settings(config: &str) -> Settings {
    let config = parse_config("test config", config).unwrap();
    Settings::new(config, PathBuf::from("/"), RuleSelection::default())
}

/// Pins `text` with every tag resolving to a digest derived from its name.
fn pin(text: &str, settings: &Settings, options: PinOptions) -> Option<String> {
    let input = Input {
        name: "t.yaml".into(),
        path: Path::new("t.yaml"),
        bytes: text.as_bytes().to_vec(),
    };
    let Loaded::Documents {
        source,
        documents,
        syntax_error,
    } = load(input)
    else {
        panic!("skipped")
    };
    assert!(syntax_error.is_none(), "{syntax_error:?}");
    let model = extract(&documents, &settings.catalog);
    let targets: Vec<_> = plan_pins(&model, settings, options)
        .into_iter()
        .filter_map(|(_, decision)| decision.ok())
        .collect();
    let resolutions: Resolutions = targets
        .iter()
        .map(|t| {
            let manifest = Manifest {
                digest: digest_for(&t.lookup),
                media_type: "application/vnd.oci.image.index.v1+json".into(),
                body: None,
            };
            (t.lookup.clone(), Ok(manifest))
        })
        .collect();
    drop(model);
    rewrite_file(&source.text, targets, &resolutions)
        .unwrap()
        .new_text
}

fn pin_default(text: &str) -> Option<String> {
    pin(text, &settings(""), PinOptions::default())
}

#[test]
fn only_image_scalars_change_whatever_their_style() {
    let text = "\u{feff}# header comment\r\n---\r\napiVersion: v1\r\nkind: Pod\r\nmetadata: {name: p}\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: nginx:1.25   # trailing comment\r\n  - {name: b, image: 'ghcr.io/acme/api:v2'}\r\n  - name: c\r\n    image: \"redis:7.2\"  \r\n...\r\n";
    let pinned = pin_default(text).unwrap();
    insta::assert_snapshot!("mixed_styles", pinned);
    let nginx = digest_for("docker.io/library/nginx:1.25");
    assert!(pinned.contains(&format!(
        "image: nginx:1.25@{nginx}   # trailing comment\r\n"
    )));
    assert!(pinned.starts_with("\u{feff}# header comment\r\n---\r\n"));
    assert!(pinned.ends_with("  \r\n...\r\n"));
}

#[test]
fn missing_final_newline_and_repeated_images() {
    let text = "kind: Pod\nspec:\n  initContainers:\n  - {name: i, image: nginx:1.25}\n  containers:\n  - name: a\n    image: nginx:1.25";
    let pinned = pin_default(text).unwrap();
    let nginx = digest_for("docker.io/library/nginx:1.25");
    assert_eq!(pinned.matches(&nginx.to_string()).count(), 2);
    assert!(
        pinned.ends_with(&format!("image: nginx:1.25@{nginx}")),
        "{pinned}"
    );
}

#[test]
fn an_anchor_shared_by_aliases_is_pinned_once_at_the_anchor() {
    let text = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: &img nginx:1.25\n  - name: b\n    image: *img\n";
    let pinned = pin_default(text).unwrap();
    let nginx = digest_for("docker.io/library/nginx:1.25");
    assert_eq!(
        pinned,
        format!(
            "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: &img nginx:1.25@{nginx}\n  - name: b\n    image: *img\n"
        )
    );
}

#[test]
fn latest_untagged_untrusted_and_templated_images_are_left_alone() {
    let text = "kind: Pod\nspec:\n  containers:\n  - {name: a, image: 'nginx:latest'}\n  - {name: b, image: redis}\n  - {name: c, image: quay.io/x/y:1}\n  - {name: d, image: '${IMAGE}'}\n";
    let trusted = settings("registries: {trusted: [docker.io/library/*]}\n");
    assert_eq!(pin(text, &trusted, PinOptions::default()), None);
    let all = PinOptions {
        allow_latest: true,
        include_untrusted: true,
        update: false,
    };
    let pinned = pin(text, &trusted, all).unwrap();
    assert!(pinned.contains(&format!(
        "'nginx:latest@{}'",
        digest_for("docker.io/library/nginx:latest")
    )));
    assert!(pinned.contains(&format!(
        "image: redis:latest@{}}}",
        digest_for("docker.io/library/redis:latest")
    )));
    assert!(pinned.contains(&format!("quay.io/x/y:1@{}", digest_for("quay.io/x/y:1"))));
    assert!(pinned.contains("'${IMAGE}'"));
}

#[test]
fn a_second_run_changes_nothing_and_update_replaces_stale_digests() {
    let text = "kind: Pod\nspec:\n  containers:\n  - {name: a, image: nginx:1.25}\n";
    let once = pin_default(text).unwrap();
    assert_eq!(pin_default(&once), None);
    let update = PinOptions {
        update: true,
        ..PinOptions::default()
    };
    assert_eq!(
        pin(&once, &settings(""), update),
        None,
        "digest still current"
    );
    let stale = once.replace(
        &digest_for("docker.io/library/nginx:1.25").to_string(),
        &format!("sha256:{}", "0".repeat(64)),
    );
    assert_eq!(pin(&stale, &settings(""), update), Some(once));
}

#[test]
fn escaped_and_block_scalars_are_not_edited() {
    let text = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: \"nginx\\x3a1.25\"\n  - name: b\n    image: >-\n      redis:7\n";
    assert_eq!(pin_default(text), None);
}

fn image_strategy() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "nginx",
        "ghcr.io/acme/api",
        "registry.example.com:5000/team/app",
        "quay.io/prometheus/node-exporter",
    ]);
    let tag = "[a-z0-9][a-z0-9._-]{0,8}";
    (name, tag).prop_map(|(name, tag)| format!("{name}:{tag}"))
}

fn style_strategy() -> impl Strategy<Value = (String, String)> {
    prop::sample::select(vec![("", ""), ("'", "'"), ("\"", "\"")])
        .prop_map(|(a, b)| (a.to_string(), b.to_string()))
}

prop_compose! {
    fn manifest()(
        images in prop::collection::vec((image_strategy(), style_strategy(), any::<bool>(), any::<bool>()), 1..5),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) -> String {
        let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p  # the pod\nspec:\n  containers:\n");
        for (i, (image, (open, close), flow, comment)) in images.iter().enumerate() {
            let value = format!("{open}{image}{close}");
            let comment = if *comment { "   # keep me" } else { "" };
            if *flow {
                text.push_str(&format!("  - {{name: c{i}, image: {value}}}{comment}\n"));
            } else {
                text.push_str(&format!("  - name: c{i}\n    image: {value}{comment}\n"));
            }
        }
        if !final_newline {
            text.pop();
        }
        if crlf { text.replace('\n', "\r\n") } else { text }
    }
}

proptest! {
    #[test]
    fn pinning_changes_only_bytes_inside_image_scalars(text in manifest()) {
        let pinned = pin_default(&text).expect("every generated image is pinnable");
        // Remove every inserted `@sha256:<hex>`: what is left must be the input, byte for byte.
        let mut restored = String::new();
        let mut rest = pinned.as_str();
        while let Some(at) = rest.find("@sha256:") {
            restored.push_str(&rest[..at]);
            rest = &rest[at + "@sha256:".len() + 64..];
        }
        restored.push_str(rest);
        prop_assert_eq!(&restored, &text);
        // And a second run is a no-op.
        prop_assert_eq!(pin_default(&pinned), None);
    }
}
