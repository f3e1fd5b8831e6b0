//! `unsigned-image` against a real registry: cosign signatures made by openssl, stored as
//! cosign stores them (see tests/support/cosign.rs), fetched and verified by pinnace.

mod support;

use support::cli::{Repo, pinnace, text};
use support::cosign::{KeyKind, SignatureLayer, SigningKey, payload, push_signatures};
use support::sigstore::{Job, push_referrers, sign_all, sigstore_tools_missing};
use support::{Registry, TestImage};

/// The fixtures are pods without NetworkPolicies; only the signature rule is looked at.
const ONLY_SIGNATURES: &str = "--select=unsigned-image";

/// A repository whose config trusts `keys` (written to `keys/`) for `team/**` of `host`.
fn signed_repo(host: &str, keys: &[&SigningKey]) -> Repo {
    let names: Vec<String> = (0..keys.len()).map(|i| format!("keys/k{i}.pub")).collect();
    let repo = Repo::new(&format!(
        "registries:\n  insecure: [\"{host}\"]\nsignatures:\n  - images: [\"{host}/team/**\"]\n    keys: [{}]\n",
        names.join(", ")
    ));
    for (name, key) in names.iter().zip(keys) {
        repo.write(name, &key.public_pem());
    }
    repo
}

/// `(line, message)` of each finding of a JSON report.
fn findings(stdout: &[u8]) -> Vec<(u64, String)> {
    let report: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["rule"], "unsigned-image");
            (
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn only_a_signature_by_a_trusted_key_for_the_pinned_digest_verifies() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let trusted = SigningKey::generate(KeyKind::P256);
    let stranger = SigningKey::generate(KeyKind::P256);
    let push = |repo: &str| {
        registry
            .push(repo, "1", TestImage::SinglePlatform, repo)
            .digest
    };

    let signed = push("team/signed");
    push_signatures(
        &registry,
        "team/signed",
        &signed,
        &[SignatureLayer::signed(
            &trusted,
            &registry,
            "team/signed",
            &signed,
        )],
    );
    let unsigned = push("team/unsigned");
    let foreign = push("team/foreign");
    push_signatures(
        &registry,
        "team/foreign",
        &foreign,
        &[SignatureLayer::signed(
            &stranger,
            &registry,
            "team/foreign",
            &foreign,
        )],
    );
    // A trusted signature, copied beside another digest: it vouches for the first one only.
    let copied = push("team/copied");
    push_signatures(
        &registry,
        "team/copied",
        &copied,
        &[SignatureLayer::signed(
            &trusted,
            &registry,
            "team/signed",
            &signed,
        )],
    );
    // A payload changed after it was signed (the digest swapped in): the signature breaks.
    let tampered = push("team/tampered");
    let original = payload(&format!("{host}/team/tampered"), &signed);
    let signature = trusted.sign(&original);
    let altered = String::from_utf8(original)
        .unwrap()
        .replace(&signed, &tampered);
    push_signatures(
        &registry,
        "team/tampered",
        &tampered,
        &[SignatureLayer {
            payload: altered.into_bytes(),
            signature,
        }],
    );
    // Not covered by any entry: not asked.
    let elsewhere = push("other/app");

    let repo = signed_repo(&host, &[&trusted]);
    let image = |repo: &str, digest: &str| format!("{host}/{repo}:1@{digest}");
    repo.manifest(
        "apps.yaml",
        &[
            &image("team/signed", &signed),
            &image("team/unsigned", &unsigned),
            &image("team/foreign", &foreign),
            &image("team/copied", &copied),
            &image("team/tampered", &tampered),
            &image("other/app", &elsewhere),
        ],
    );
    let output = pinnace(
        &repo,
        &[
            "check",
            "--online",
            "--format",
            "json",
            ONLY_SIGNATURES,
            ".",
        ],
        &[],
    );
    let (_, stderr) = text(&output);
    let found = findings(&output.stdout);
    let lines: Vec<u64> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [12, 14, 16, 18], "{found:?}\n{stderr}");
    assert!(found[0].1.contains("no cosign signature"), "{}", found[0].1);
    assert!(
        found[1].1.contains("verifies under none of the keys"),
        "{}",
        found[1].1
    );
    assert!(
        found[2].1.contains(&format!(
            "a signature by keys/k0.pub for another digest ({signed})"
        )),
        "{}",
        found[2].1
    );
    assert!(
        found[3].1.contains("verifies under none of the keys"),
        "{}",
        found[3].1
    );
    assert_eq!(output.status.code(), Some(1));

    // The signature requests: one `.sig` manifest per covered digest, one payload blob each.
    let asked: Vec<String> = registry
        .requests_excluding_harness()
        .into_iter()
        .filter(|(_, path)| path.contains(".sig") || path.contains("/blobs/"))
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert_eq!(
        asked.iter().filter(|r| r.contains(".sig")).count(),
        5,
        "{asked:#?}"
    );
    assert!(!asked.iter().any(|r| r.contains("other/app")), "{asked:#?}");
}

#[test]
fn every_key_kind_cosign_signs_with_verifies() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let kinds = [KeyKind::P256, KeyKind::P384, KeyKind::Rsa, KeyKind::Ed25519];
    let keys: Vec<SigningKey> = kinds
        .iter()
        .map(|&kind| SigningKey::generate(kind))
        .collect();
    let mut images = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let repo = format!("team/kind{index}");
        let digest = registry
            .push(&repo, "1", TestImage::MultiPlatform, &repo)
            .digest;
        push_signatures(
            &registry,
            &repo,
            &digest,
            &[SignatureLayer::signed(key, &registry, &repo, &digest)],
        );
        images.push(format!("{host}/{repo}:1@{digest}"));
    }
    // Each image is signed by one key of the four the entry trusts.
    let repo = signed_repo(&host, &keys.iter().collect::<Vec<_>>());
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    repo.manifest("apps.yaml", &refs);
    let output = pinnace(
        &repo,
        &[
            "check",
            "--online",
            "--format",
            "json",
            ONLY_SIGNATURES,
            ".",
        ],
        &[],
    );
    assert_eq!(findings(&output.stdout), [], "{}", text(&output).1);
    assert_eq!(output.status.code(), Some(0));

    // Trusting the P-256 key alone, the other three are signed by another key.
    let repo = signed_repo(&host, &[&keys[0]]);
    repo.manifest("apps.yaml", &refs);
    let output = pinnace(
        &repo,
        &[
            "check",
            "--online",
            "--format",
            "json",
            ONLY_SIGNATURES,
            ".",
        ],
        &[],
    );
    let found = findings(&output.stdout);
    assert_eq!(
        found.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
        [12, 14, 16]
    );
}

/// cosign 2 signs with an Ed25519 key pre-hashed (Ed25519ph), older cosign over the payload
/// itself: both verify under the key, and neither under another Ed25519 key.
#[test]
fn an_ed25519_key_verifies_what_cosign_2_signs_pre_hashed() {
    if support::registry_tools_missing() || sigstore_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let trusted = SigningKey::generate(KeyKind::Ed25519ph);
    let stranger = SigningKey::generate(KeyKind::Ed25519ph);
    let mut images = Vec::new();
    for (repo, key) in [("team/new", &trusted), ("team/stranger", &stranger)] {
        let digest = registry
            .push(repo, "1", TestImage::SinglePlatform, repo)
            .digest;
        let layer = SignatureLayer::signed(key, &registry, repo, &digest);
        push_signatures(&registry, repo, &digest, &[layer]);
        images.push(format!("{host}/{repo}:1@{digest}"));
    }
    let repo = signed_repo(&host, &[&trusted]);
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    repo.manifest("apps.yaml", &refs);
    let check = [
        "check",
        "--online",
        "--format",
        "json",
        ONLY_SIGNATURES,
        ".",
    ];
    let output = pinnace(&repo, &check, &[]);
    let found = findings(&output.stdout);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, 12, "the stranger's image: {found:#?}");
    assert!(found[0].1.contains("another key"), "{}", found[0].1);
    assert_eq!(output.status.code(), Some(1));
}

/// Since cosign 3, `cosign sign --key` stores a Sigstore bundle among the image's referrers
/// (the new bundle format, its default) instead of a `.sig` layer: it verifies under the key
/// the same way, and a bundle of another key or for another digest does not.
#[test]
fn a_key_signed_bundle_as_cosign_3_stores_it_verifies_under_the_key() {
    if support::registry_tools_missing() || sigstore_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let trusted = SigningKey::generate(KeyKind::P256);
    let trusted_ed = SigningKey::generate(KeyKind::Ed25519);
    let stranger = SigningKey::generate(KeyKind::P256);
    let names = ["bundled", "edwards", "stranger", "elsewhere"];
    let digests = registry.push_team_images(&names);
    let signed = sign_all(&[
        Job::cosign_key_signed("bundled", &digests[0], trusted.private_key_file()),
        Job::cosign_key_signed("edwards", &digests[1], trusted_ed.private_key_file()),
        Job::cosign_key_signed("stranger", &digests[2], stranger.private_key_file()),
    ]);
    let bundle = |name: &str| serde_json::to_vec(&signed.bundles[name]).unwrap();
    assert!(
        signed.bundles["bundled"]["verificationMaterial"]["publicKey"]["hint"].is_string(),
        "{}",
        signed.bundles["bundled"]
    );
    // The first image's true bundle, attached to the last.
    for (name, digest, from) in [
        ("bundled", &digests[0], "bundled"),
        ("edwards", &digests[1], "edwards"),
        ("stranger", &digests[2], "stranger"),
        ("elsewhere", &digests[3], "bundled"),
    ] {
        push_referrers(&registry, &format!("team/{name}"), digest, &[bundle(from)]);
    }
    let repo = signed_repo(&host, &[&trusted, &trusted_ed]);
    let images: Vec<String> = names
        .iter()
        .zip(&digests)
        .map(|(name, digest)| format!("{host}/team/{name}:1@{digest}"))
        .collect();
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    repo.manifest("apps.yaml", &refs);
    let check = [
        "check",
        "--online",
        "--format",
        "json",
        ONLY_SIGNATURES,
        ".",
    ];
    let output = pinnace(&repo, &check, &[]);
    let found = findings(&output.stdout);
    assert_eq!(
        found.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
        [14, 16],
        "{found:#?}\n{}",
        text(&output).1
    );
    assert!(found[0].1.contains("another key"), "{}", found[0].1);
    assert!(
        found[1].1.contains(&format!(
            "a signature by keys/k0.pub for another digest ({})",
            digests[0]
        )),
        "{}",
        found[1].1
    );
    assert_eq!(output.status.code(), Some(1));

    let output = pinnace(
        &repo,
        &["images", "--signatures", "--format", "json", "."],
        &[],
    );
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows[0]["signature"], "signed by keys/k0.pub", "{rows:#}");
    assert_eq!(rows[1]["signature"], "signed by keys/k1.pub", "{rows:#}");

    // An entry that takes SLSA provenance only does not take cosign's sign statement.
    let config = repo.path().join(".pinnace.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}    predicate_types: [\"https://slsa.dev/provenance/v1\"]\n"),
    )
    .unwrap();
    let output = pinnace(&repo, &check, &[]);
    let found = findings(&output.stdout);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(
        found[0]
            .1
            .contains("of predicate type `https://sigstore.dev/cosign/sign/v1`"),
        "{}",
        found[0].1
    );
}

#[test]
fn a_key_file_outside_the_repository_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let key = outside.path().join("release.pub");
    std::fs::write(
        &key,
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let repo = Repo::new(&format!(
        "signatures:\n  - images: [\"ghcr.io/acme/**\"]\n    keys: [\"{}\"]\n",
        key.display()
    ));
    repo.manifest("a.yaml", &["ghcr.io/acme/app:1@sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"]);
    let output = pinnace(&repo, &["check", "."], &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is an absolute path"), "{stderr}");

    std::os::unix::fs::symlink(&key, repo.path().join("link.pub")).unwrap();
    repo.write(".pinnace.yaml", "signatures:\n  - images: [\"127.0.0.1:1/**\"]\n    keys: [link.pub]\nregistries: {insecure: [\"127.0.0.1:1\"]}\n");
    repo.manifest("a.yaml", &["127.0.0.1:1/team/app:1@sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"]);
    let output = pinnace(&repo, &["check", "--online", ONLY_SIGNATURES, "."], &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("outside the config file's folder"),
        "{stderr}"
    );
}

#[test]
fn pin_require_signature_pins_only_what_verifies_and_says_why_the_rest_was_left() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let trusted = SigningKey::generate(KeyKind::P256);
    let signed = registry
        .push("team/signed", "1", TestImage::MultiPlatform, "s")
        .digest;
    push_signatures(
        &registry,
        "team/signed",
        &signed,
        &[SignatureLayer::signed(
            &trusted,
            &registry,
            "team/signed",
            &signed,
        )],
    );
    let unsigned = registry
        .push("team/unsigned", "1", TestImage::SinglePlatform, "u")
        .digest;
    registry.push("other/app", "1", TestImage::SinglePlatform, "o");
    let repo = signed_repo(&host, &[&trusted]);
    let file = repo.manifest(
        "apps.yaml",
        &[
            &format!("{host}/team/signed:1"),
            &format!("{host}/team/unsigned:1"),
            &format!("{host}/other/app:1"),
        ],
    );
    let before = std::fs::read_to_string(&file).unwrap();
    let output = pinnace(
        &repo,
        &["pin", "--require-signature", "--cache", "cache.json", "."],
        &[],
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let after = std::fs::read_to_string(&file).unwrap();
    let signed_image = format!("{host}/team/signed:1");
    assert_eq!(
        after,
        before.replace(&signed_image, &format!("{signed_image}@{signed}")),
        "{stderr}"
    );
    assert!(stderr.contains("1 pinned"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{host}/team/unsigned:1: {unsigned} is not pinned: no signature verifies under keys/k0.pub: found no cosign signature or Sigstore bundle"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("other/app:1: sha256:")
            && stderr.contains("no `signatures` entry covers this image"),
        "{stderr}"
    );

    // Who signed what; the cache `pin` filled answers for the signed digest.
    let asked = registry.signature_requests();
    let output = pinnace(
        &repo,
        &[
            "images",
            "--signatures",
            "--cache",
            "cache.json",
            "--format",
            "json",
            ".",
        ],
        &[],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let signatures: Vec<Option<&str>> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["signature"].as_str())
        .collect();
    assert_eq!(
        signatures,
        [Some("signed by keys/k0.pub"), None, None],
        "{stdout}"
    );
    assert_eq!(
        registry.signature_requests(),
        asked,
        "a warm cache asks nothing"
    );
}

#[test]
fn a_warm_cache_keeps_check_from_asking_again_and_a_new_key_asks_again() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let trusted = SigningKey::generate(KeyKind::Ed25519);
    let digest = registry
        .push("team/app", "1", TestImage::SinglePlatform, "a")
        .digest;
    push_signatures(
        &registry,
        "team/app",
        &digest,
        &[SignatureLayer::signed(
            &trusted, &registry, "team/app", &digest,
        )],
    );
    let repo = signed_repo(&host, &[&trusted]);
    repo.manifest("apps.yaml", &[&format!("{host}/team/app:1@{digest}")]);
    let check = [
        "check",
        "--online",
        ONLY_SIGNATURES,
        "--cache",
        "cache.json",
        ".",
    ];
    for _ in 0..2 {
        let output = pinnace(&repo, &check, &[]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output).1);
    }
    assert_eq!(registry.signature_requests(), 1);
    // Another key is another policy: its verdict is not in the cache.
    let other = SigningKey::generate(KeyKind::Ed25519);
    repo.write("keys/k0.pub", &other.public_pem());
    let output = pinnace(&repo, &check, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output).1);
    assert_eq!(registry.signature_requests(), 2);
}

#[test]
fn a_multi_arch_pin_is_verified_on_its_index_and_signed_platforms_are_named() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let trusted = SigningKey::generate(KeyKind::P384);
    let pushed = registry.push("team/multi", "1", TestImage::MultiPlatform, "m");
    for child in &pushed.children {
        push_signatures(
            &registry,
            "team/multi",
            child,
            &[SignatureLayer::signed(
                &trusted,
                &registry,
                "team/multi",
                child,
            )],
        );
    }
    let repo = signed_repo(&host, &[&trusted]);
    let index = format!("{host}/team/multi:1@{}", pushed.digest);
    let platform = format!("{host}/team/multi:1@{}", pushed.children[0]);
    repo.manifest("apps.yaml", &[&index, &platform]);
    let output = pinnace(
        &repo,
        &[
            "check",
            "--online",
            "--format",
            "json",
            ONLY_SIGNATURES,
            ".",
        ],
        &[],
    );
    let found = findings(&output.stdout);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 10);
    assert!(
        found[0].1.contains(
            "no signature on the multi-arch index; only 2 of its 2 platform manifests are signed (by keys/k0.pub)"
        ),
        "{}",
        found[0].1
    );
}

#[test]
fn an_overlay_digest_is_reported_at_the_overlay_entry() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let trusted = SigningKey::generate(KeyKind::Rsa);
    let digest = registry
        .push("team/app", "2", TestImage::SinglePlatform, "a")
        .digest;
    let repo = signed_repo(&host, &[&trusted]);
    repo.manifest("base/deploy.yaml", &[&format!("{host}/team/app:1")]);
    repo.write("base/kustomization.yaml", "resources: [deploy.yaml]\n");
    repo.write(
        "overlay/kustomization.yaml",
        &format!(
            "resources: [../base]\nimages:\n  - name: {host}/team/app\n    newTag: \"2\"\n    digest: {digest}\n"
        ),
    );
    let output = pinnace(
        &repo,
        &[
            "check",
            "--online",
            "--format",
            "json",
            ONLY_SIGNATURES,
            "overlay",
        ],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["path"], "overlay/kustomization.yaml", "{report}");
    // The entry that sets the digest (as the other online rules report it), from its `name:`.
    assert_eq!(
        (&finding["line"], &finding["end_line"]),
        (&3.into(), &5.into()),
        "{report}"
    );
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("no cosign signature"),
        "{report}"
    );
}

/// A registry that lies: a payload blob with other bytes than its digest names, a signature
/// manifest whose bytes are not the ones its digest header names, a payload without end. Each
/// is a finding (the signatures are not known to verify), never a pass.
#[test]
fn a_lying_registry_gets_no_signature_verified() {
    use support::oci_layout::sha256_digest;
    use support::{HostileServer, Reply};
    let trusted = SigningKey::generate(KeyKind::P256);
    let pinned = |seed: &str| sha256_digest(seed.as_bytes());
    let (swapped, mislabelled, endless) =
        (pinned("swapped"), pinned("mislabelled"), pinned("endless"));
    let signed = payload("x/team/swapped", &swapped);
    let signature = trusted.sign(&signed);
    let manifest = move |payload_digest: &str| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(b"{}"), "size": 2},
            "layers": [{
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "digest": payload_digest, "size": 10,
                "annotations": {"dev.cosignproject.cosign/signature": signature},
            }],
        }))
        .unwrap()
    };
    let oci = ("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    let decoy = sha256_digest(b"the bytes the digest names");
    let (sig_swapped, sig_mislabelled, sig_endless) = (
        format!(
            "/v2/team/swapped/manifests/{}",
            support::cosign::signature_tag(&swapped)
        ),
        format!(
            "/v2/team/mislabelled/manifests/{}",
            support::cosign::signature_tag(&mislabelled)
        ),
        format!(
            "/v2/team/endless/manifests/{}",
            support::cosign::signature_tag(&endless)
        ),
    );
    let signed_for_server = signed.clone();
    let server = HostileServer::start(move |seen| {
        let path = seen.path.as_str();
        if path == sig_swapped || path == sig_endless {
            Reply::new(200, &[oci], manifest(&decoy))
        } else if path == sig_mislabelled {
            let body = manifest(&decoy);
            let wrong = sha256_digest(b"another manifest");
            Reply::new(200, &[oci, ("Docker-Content-Digest", wrong.as_str())], body)
        } else if path == format!("/v2/team/swapped/blobs/{decoy}") {
            // A validly signed payload, served under a digest that is not its own.
            Reply::new(200, &[], signed_for_server.clone())
        } else if path.starts_with("/v2/team/endless/blobs/") {
            Reply::endless(200, &[], "{")
        } else {
            Reply::new(404, &[], "")
        }
    });
    let host = server.host();
    let repo = signed_repo(&host, &[&trusted]);
    repo.manifest(
        "apps.yaml",
        &[
            &format!("{host}/team/swapped@{swapped}"),
            &format!("{host}/team/mislabelled@{mislabelled}"),
            &format!("{host}/team/endless@{endless}"),
        ],
    );
    let output = pinnace(
        &repo,
        &[
            "check",
            "--online",
            "--format",
            "json",
            ONLY_SIGNATURES,
            ".",
        ],
        &[],
    );
    let found = findings(&output.stdout);
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}\n{}", text(&output).1);
    assert!(
        messages[0].contains("signatures not checked")
            && messages[0].contains("do not match its digest"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].contains("signatures not checked")
            && messages[1].contains("Docker-Content-Digest"),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].contains("signatures not checked")
            && messages[2].contains("larger than 256 KiB"),
        "{}",
        messages[2]
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn the_tests_keys_are_cosign_key_files_that_open_only_with_their_password() {
    use support::cosign::PASSWORD;
    use support::cosign_key::{decrypt, unpem};
    let key = SigningKey::generate(KeyKind::P256);
    let file = key.cosign_key();
    let (kind, json) = unpem(&file).unwrap();
    assert_eq!(kind, "ENCRYPTED SIGSTORE PRIVATE KEY");
    let document: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(document["kdf"]["name"], "scrypt");
    assert_eq!(
        document["kdf"]["params"],
        serde_json::json!({"N": 65536, "r": 8, "p": 1})
    );
    assert_eq!(document["cipher"]["name"], "nacl/secretbox");
    assert!(file.lines().all(|line| line.len() <= 64), "{file}");
    // The PKCS #8 key inside is the one cosign.pub is the public half of.
    let pkcs8 = decrypt(&file, PASSWORD).unwrap();
    let pem = support::cosign_key::pem("PRIVATE KEY", &pkcs8);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.pem"), pem).unwrap();
    let public = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(dir.path().join("key.pem"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&public.stdout), key.public_pem());
    // Another password, or a changed byte, opens nothing.
    assert_eq!(
        decrypt(&file, b"wrong").unwrap_err(),
        "encrypted: decryption failed"
    );
    let mut tampered = document.clone();
    let ciphertext = tampered["ciphertext"].as_str().unwrap();
    let flipped = if ciphertext.starts_with('A') {
        "B"
    } else {
        "A"
    };
    tampered["ciphertext"] = format!("{flipped}{}", &ciphertext[1..]).into();
    let tampered = support::cosign_key::pem(
        "ENCRYPTED SIGSTORE PRIVATE KEY",
        &serde_json::to_vec(&tampered).unwrap(),
    );
    assert!(decrypt(&tampered, PASSWORD).is_err());
}

#[test]
fn check_asks_each_unsigned_digest_once_for_signatures_and_nothing_its_rules_do_not_read() {
    if support::registry_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let key = SigningKey::generate(KeyKind::P256);
    let digest = registry
        .push("team/plain", "1", TestImage::SinglePlatform, "p")
        .digest;
    let repo = signed_repo(&host, &[&key]);
    // Two files pin the same digest: it is still one lookup.
    for file in ["a.yaml", "b.yaml"] {
        repo.manifest(file, &[&format!("{host}/team/plain:1@{digest}")]);
    }
    let output = pinnace(&repo, &["check", "--online", ONLY_SIGNATURES, "."], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output).1);
    let requests = registry.requests_excluding_harness();
    let by_digest: Vec<&(String, String)> = requests
        .iter()
        .filter(|(_, path)| path.ends_with(&format!("/manifests/{digest}")))
        .collect();
    // The HEAD of unknown-digest's facts says it is no index: no GET to look for platforms.
    assert_eq!(by_digest.len(), 1, "{requests:?}");
    assert_eq!(by_digest[0].0, "HEAD");
    assert_eq!(registry.signature_requests(), 1, "{requests:?}");
    // Its referrers, once, for bundles (cosign 3 stores key signatures there): the API, which
    // docker-registry 2.8 lacks, then the referrers tag.
    let hex = digest.strip_prefix("sha256:").unwrap();
    let tag = format!("/manifests/sha256-{hex}");
    let referrers: Vec<&str> = requests
        .iter()
        .map(|(_, path)| path.as_str())
        .filter(|path| path.contains("/referrers/") || path.ends_with(&tag))
        .collect();
    assert_eq!(
        referrers,
        [
            format!("/v2/team/plain/referrers/{digest}"),
            format!("/v2/team/plain/manifests/sha256-{hex}")
        ],
        "{requests:?}"
    );
    // With only `unsigned-image` selected, no tag is asked about (that is `stale-digest`'s).
    assert_eq!(requests.len(), 4, "{requests:?}");
}
