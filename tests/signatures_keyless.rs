//! `unsigned-image` for Sigstore keyless signatures, against a real registry: bundles and
//! cosign keyless signatures made by Sigstore's own JavaScript signer against its own mock
//! Fulcio and Rekor (tests/support/sigstore.rs), attached as OCI referrers through the tag
//! schema and as `.sig` layers, and each way a signature can fail, one image each.

mod support;

use serde_json::{Value, json};
use support::cli::{Repo, pinnace, text};
use support::cosign::{payload, push_signature_layers};
use support::sigstore::{
    GITHUB_ISSUER, Job, RELEASE_IDENTITY, cosign_annotations, flip, push_referrers, sign_all,
    sigstore_tools_missing,
};
use support::{HostileServer, Registry, Reply, TestImage};

const ONLY_SIGNATURES: &str = "--select=unsigned-image";
const IDENTITY: &str = "^https://github.com/acme/.+/.github/workflows/release.yml@refs/tags/v.+$";

/// A repository trusting GitHub's release workflows of acme for `team/**` of `host`, under
/// `trusted_root`.
fn keyless_repo(host: &str, trusted_root: &Value) -> Repo {
    let repo = Repo::new(&format!(
        "registries:\n  insecure: [\"{host}\"]\nsignatures:\n  - images: [\"{host}/team/**\"]\n    keyless:\n      - issuer: {GITHUB_ISSUER}\n        identity: \"{IDENTITY}\"\n    trusted_root: sigstore/trusted_root.json\n"
    ));
    repo.write(
        "sigstore/trusted_root.json",
        &serde_json::to_string_pretty(trusted_root).unwrap(),
    );
    repo
}

/// The message of each finding of a JSON report, by the repository it names.
fn messages(stdout: &[u8]) -> Vec<String> {
    let report: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

fn check(repo: &Repo) -> std::process::Output {
    pinnace(
        repo,
        &[
            "check",
            "--online",
            "--format",
            "json",
            ONLY_SIGNATURES,
            ".",
        ],
        &[],
    )
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

#[test]
fn keyless_signatures_verify_and_each_failure_is_its_own_finding() {
    if support::registry_tools_missing() || sigstore_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let names = [
        "attested",
        "cosign",
        "unsigned",
        "stranger",
        "issuer",
        "elsewhere",
        "tampered",
        "untrusted",
        "unlogged",
        "badset",
        "badproof",
        "otherlog",
        "nopromise",
        "late",
    ];
    let digests = registry.push_team_images(&names);
    let digest = |name: &str| digests[names.iter().position(|n| *n == name).unwrap()].clone();
    let cosign_payload = payload(&format!("{host}/team/cosign"), &digest("cosign"));
    let mut jobs = vec![
        Job::attest("attested", &digest("attested")),
        Job {
            attest: false,
            payload: cosign_payload.clone(),
            ..Job::attest("cosign", &digest("cosign"))
        },
        Job {
            subject: "https://github.com/evil/app/.github/workflows/release.yml@refs/tags/v1"
                .to_string(),
            ..Job::attest("stranger", &digest("stranger"))
        },
        Job {
            issuer: "https://accounts.google.com".to_string(),
            ..Job::attest("issuer", &digest("issuer"))
        },
        // A true attestation of another image, attached to this one.
        Job::attest("elsewhere", &digest("attested")),
        Job::attest("tampered", &digest("tampered")),
        Job::attest("unlogged", &digest("unlogged")),
        Job::attest("badset", &digest("badset")),
        Job::attest("badproof", &digest("badproof")),
        Job::attest("otherlog", &digest("otherlog")),
        Job::attest("nopromise", &digest("nopromise")),
        // Logged an hour after the ten-minute certificate expired.
        Job {
            rekor_offset_seconds: 3600,
            ..Job::attest("late", &digest("late"))
        },
    ];
    let signed = sign_all(&jobs);
    // Another Fulcio CA (and log) of a second run; its log is trusted, its CA is not.
    jobs.truncate(0);
    jobs.push(Job::attest("untrusted", &digest("untrusted")));
    let stranger = sign_all(&jobs);
    let mut root = signed.trusted_root.clone();
    let other_log = stranger.trusted_root["tlogs"][0].clone();
    root["tlogs"].as_array_mut().unwrap().push(other_log);

    let bundle = |name: &str| signed.bundles[name].clone();
    for name in ["attested", "stranger", "issuer", "elsewhere", "late"] {
        push_referrers(
            &registry,
            &format!("team/{name}"),
            &digest(name),
            &[bytes(&bundle(name))],
        );
    }
    let mut tampered = bundle("tampered");
    flip(&mut tampered, "/dsseEnvelope/signatures/0/sig");
    let mut unlogged = bundle("unlogged");
    unlogged["verificationMaterial"]["tlogEntries"] = json!([]);
    let mut badset = bundle("badset");
    flip(
        &mut badset,
        "/verificationMaterial/tlogEntries/0/inclusionPromise/signedEntryTimestamp",
    );
    let mut badproof = bundle("badproof");
    flip(
        &mut badproof,
        "/verificationMaterial/tlogEntries/0/inclusionProof/rootHash",
    );
    // A genuine Rekor entry, of another signing.
    let mut otherlog = bundle("otherlog");
    otherlog["verificationMaterial"]["tlogEntries"] =
        bundle("attested")["verificationMaterial"]["tlogEntries"].clone();
    // An inclusion proof alone: the entry is in the log, but nothing signed when.
    let mut nopromise = bundle("nopromise");
    let entry = &mut nopromise["verificationMaterial"]["tlogEntries"][0];
    entry.as_object_mut().unwrap().remove("inclusionPromise");
    let untrusted = stranger.bundles["untrusted"].clone();
    for (name, value) in [
        ("tampered", &tampered),
        ("unlogged", &unlogged),
        ("badset", &badset),
        ("badproof", &badproof),
        ("otherlog", &otherlog),
        ("nopromise", &nopromise),
        ("untrusted", &untrusted),
    ] {
        push_referrers(
            &registry,
            &format!("team/{name}"),
            &digest(name),
            &[bytes(value)],
        );
    }
    let annotations = cosign_annotations(&bundle("cosign"), &signed.trusted_root);
    push_signature_layers(
        &registry,
        "team/cosign",
        &digest("cosign"),
        &[(cosign_payload, annotations)],
    );

    let repo = keyless_repo(&host, &root);
    let images: Vec<String> = names
        .iter()
        .map(|name| format!("{host}/team/{name}:1@{}", digest(name)))
        .collect();
    repo.manifest(
        "apps.yaml",
        &images.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let output = check(&repo);
    let (_, stderr) = text(&output);
    let found = messages(&output.stdout);
    let about = |name: &str| -> String {
        let key = format!("`{host}/team/{name}@");
        let hits: Vec<&String> = found.iter().filter(|m| m.starts_with(&key)).collect();
        assert!(hits.len() <= 1, "{hits:#?}");
        hits.first().map(|m| m.to_string()).unwrap_or_default()
    };
    assert_eq!(about("attested"), "", "{found:#?}\n{stderr}");
    assert_eq!(about("cosign"), "", "{found:#?}\n{stderr}");
    let expect = |name: &str, words: &str| {
        let message = about(name);
        assert!(
            message.contains(words),
            "{name}: {message}\n{found:#?}\n{stderr}"
        );
    };
    expect("unsigned", "found no cosign signature or Sigstore bundle");
    expect(
        "stranger",
        "a keyless signature by https://github.com/evil/app/.github/workflows/release.yml@refs/tags/v1 from https://token.actions.githubusercontent.com, which none of the identities matches",
    );
    expect(
        "issuer",
        &format!("by {RELEASE_IDENTITY} from https://accounts.google.com"),
    );
    expect(
        "elsewhere",
        &format!(
            "a signature by {RELEASE_IDENTITY} ({GITHUB_ISSUER}) for another digest ({})",
            digest("attested")
        ),
    );
    expect(
        "tampered",
        "does not verify under its own certificate (altered)",
    );
    expect(
        "untrusted",
        "chains to no certificate authority of the trusted root",
    );
    expect("unlogged", "transparency-log entry is missing");
    expect("badset", "signed entry timestamp that does not verify");
    expect(
        "badproof",
        "inclusion proof that does not lead to its root hash",
    );
    expect(
        "otherlog",
        "transparency-log entry records another payload than this signature's",
    );
    expect(
        "nopromise",
        "has no signed entry timestamp, so nothing proves when it was signed",
    );
    expect(
        "late",
        "outside its validity at the time the transparency log or timestamp proves it signed",
    );
    assert!(
        found[0].contains(&format!(
            "has no signature that verifies under identity `{IDENTITY}` from {GITHUB_ISSUER}"
        )),
        "{}",
        found[0]
    );
    assert_eq!(found.len(), names.len() - 2, "{found:#?}");
    assert_eq!(output.status.code(), Some(1));

    // Who signed: the identity and issuer of the certificate.
    let output = pinnace(
        &repo,
        &["images", "--signatures", "--format", "json", "."],
        &[],
    );
    let rows: Value = serde_json::from_slice(&output.stdout).unwrap();
    let signers: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["signature"].as_str().unwrap())
        .collect();
    let signed_by = format!("signed by {RELEASE_IDENTITY} ({GITHUB_ISSUER})");
    assert_eq!(
        signers[..2],
        [signed_by.as_str(), signed_by.as_str()],
        "{signers:#?}"
    );
    assert!(
        signers[2].starts_with("unsigned: no cosign signature"),
        "{signers:#?}"
    );

    // The referrers were asked for through the API (docker-registry 2.8 has none: 404), then the tag.
    let asked = registry.requests_excluding_harness();
    let attested_hex = digest("attested").replace("sha256:", "");
    assert!(
        asked
            .iter()
            .any(|(_, p)| p == &format!("/v2/team/attested/referrers/sha256:{attested_hex}")),
        "{asked:#?}"
    );
    assert!(
        asked
            .iter()
            .any(|(_, p)| p == &format!("/v2/team/attested/manifests/sha256-{attested_hex}")),
        "{asked:#?}"
    );
}

/// GitHub attests private repositories without Rekor: an RFC 3161 timestamp of the signature,
/// by a timestamp authority of the trusted root, proves when it was made.
#[test]
fn a_timestamp_authority_proves_the_signing_time_of_an_unlogged_attestation() {
    if support::registry_tools_missing() || sigstore_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let names = ["stamped", "late", "copied", "altered", "stranger", "cosign"];
    let digests = registry.push_team_images(&names);
    let digest = |name: &str| digests[names.iter().position(|n| *n == name).unwrap()].clone();
    let signed = sign_all(&[
        Job::attest_timestamped("stamped", &digest("stamped")),
        // Stamped an hour after the ten-minute certificate expired.
        Job {
            timestamped: Some(3600),
            ..Job::attest("late", &digest("late"))
        },
        Job::attest_timestamped("copied", &digest("copied")),
        Job::attest_timestamped("altered", &digest("altered")),
        // cosign's `.sig` form: `cosign sign --tlog-upload=false --timestamp-server-url …`.
        Job {
            attest: false,
            payload: payload(&format!("{host}/team/cosign"), &digest("cosign")),
            ..Job::attest_timestamped("cosign", &digest("cosign"))
        },
    ]);
    // A timestamp authority of another run, which the root does not name.
    let stranger = sign_all(&[Job::attest_timestamped("stranger", &digest("stranger"))]);
    // A root without transparency logs, as GitHub's for private repositories: timestamps
    // alone prove the signing time.
    let mut root = signed.trusted_root.clone();
    root["certificateAuthorities"] = json!([
        signed.trusted_root["certificateAuthorities"][0],
        stranger.trusted_root["certificateAuthorities"][0]
    ]);
    root["tlogs"] = json!([]);
    let bundle = |name: &str| signed.bundles[name].clone();
    let stamps = "/verificationMaterial/timestampVerificationData/rfc3161Timestamps";
    let entries = &bundle("stamped")["verificationMaterial"]["tlogEntries"];
    assert!(
        entries.is_null() || entries == &json!([]),
        "a timestamped bundle has no Rekor entry: {entries}"
    );
    // A genuine timestamp, of another signature.
    let mut copied = bundle("copied");
    *copied.pointer_mut(stamps).unwrap() = bundle("stamped").pointer(stamps).unwrap().clone();
    // The authority's signature, altered in its last byte.
    let mut altered = bundle("altered");
    flip(&mut altered, &format!("{stamps}/0/signedTimestamp"));
    for (name, value) in [
        ("stamped", bundle("stamped")),
        ("late", bundle("late")),
        ("copied", copied),
        ("altered", altered),
        ("stranger", stranger.bundles["stranger"].clone()),
    ] {
        push_referrers(
            &registry,
            &format!("team/{name}"),
            &digest(name),
            &[bytes(&value)],
        );
    }
    let annotations = cosign_annotations(&bundle("cosign"), &signed.trusted_root);
    assert!(
        annotations.get("dev.sigstore.cosign/bundle").is_none(),
        "{annotations}"
    );
    push_signature_layers(
        &registry,
        "team/cosign",
        &digest("cosign"),
        &[(
            payload(&format!("{host}/team/cosign"), &digest("cosign")),
            annotations,
        )],
    );
    let repo = keyless_repo(&host, &root);
    let images: Vec<String> = names
        .iter()
        .map(|name| format!("{host}/team/{name}:1@{}", digest(name)))
        .collect();
    repo.manifest(
        "apps.yaml",
        &images.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let output = check(&repo);
    let (_, stderr) = text(&output);
    let found = messages(&output.stdout);
    let about = |name: &str| -> String {
        let key = format!("`{host}/team/{name}@");
        let hits: Vec<&String> = found.iter().filter(|m| m.starts_with(&key)).collect();
        hits.first().map(|m| m.to_string()).unwrap_or_default()
    };
    assert_eq!(about("stamped"), "", "{found:#?}\n{stderr}");
    assert_eq!(about("cosign"), "", "{found:#?}\n{stderr}");
    for (name, words) in [
        (
            "late",
            "outside its validity at the time the transparency log or timestamp proves it signed",
        ),
        (
            "copied",
            "RFC 3161 timestamp is of other bytes than the signature",
        ),
        (
            "altered",
            "RFC 3161 timestamp is signed by no timestamp authority of the trusted root",
        ),
        (
            "stranger",
            "RFC 3161 timestamp is signed by no timestamp authority of the trusted root",
        ),
    ] {
        let message = about(name);
        assert!(message.contains(words), "{name}: {message}\n{found:#?}");
    }
    assert_eq!(found.len(), names.len() - 2, "{found:#?}");
    assert_eq!(output.status.code(), Some(1));

    // A root that names transparency logs asks for an entry in one: stamped is not enough.
    repo.write(
        "sigstore/trusted_root.json",
        &serde_json::to_string_pretty(&signed.trusted_root).unwrap(),
    );
    let found = messages(&check(&repo).stdout);
    assert!(
        about_in(&found, &host, "stamped").contains("none records this signature"),
        "{found:#?}"
    );
}

/// The finding about `team/name`, or "".
fn about_in(found: &[String], host: &str, name: &str) -> String {
    let key = format!("`{host}/team/{name}@");
    found
        .iter()
        .find(|m| m.starts_with(&key))
        .cloned()
        .unwrap_or_default()
}

/// A referrers answer in pages (distribution-spec: `Link: <…>; rel="next"`): the bundle on the
/// second page is found; a registry whose pages link to themselves is read at most 8 pages deep.
/// docker-registry has no referrers API, so this registry is the test server.
#[test]
fn a_paged_referrers_answer_is_read_page_by_page_within_a_bound() {
    if sigstore_tools_missing() {
        return;
    }
    use support::oci_layout::sha256_digest;
    let (paged, endless) = (sha256_digest(b"paged"), sha256_digest(b"endless"));
    let signed = sign_all(&[Job::attest("paged", &paged)]);
    let manifest_type = "application/vnd.oci.image.manifest.v1+json";
    let index_type = "application/vnd.oci.image.index.v1+json";
    let bundle = bytes(&signed.bundles["paged"]);
    let manifest = bytes(&json!({
        "schemaVersion": 2, "mediaType": manifest_type,
        "artifactType": support::sigstore::BUNDLE_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256_digest(b"{}"), "size": 2},
        "layers": [{"mediaType": support::sigstore::BUNDLE_TYPE, "digest": sha256_digest(&bundle), "size": bundle.len()}],
    }));
    let index = |descriptor: Value| {
        bytes(&json!({"schemaVersion": 2, "mediaType": index_type, "manifests": [descriptor]}))
    };
    let sbom = json!({"mediaType": manifest_type, "digest": sha256_digest(b"an sbom"), "size": 10, "artifactType": "application/spdx+json"});
    let first_page = index(sbom.clone());
    let second_page = index(
        json!({"mediaType": manifest_type, "digest": sha256_digest(&manifest), "size": manifest.len(), "artifactType": support::sigstore::BUNDLE_TYPE}),
    );
    let (paged_path, endless_path) = (
        format!("/v2/team/paged/referrers/{paged}"),
        format!("/v2/team/endless/referrers/{endless}"),
    );
    let manifest_path = format!("/v2/team/paged/manifests/{}", sha256_digest(&manifest));
    let blob_path = format!("/v2/team/paged/blobs/{}", sha256_digest(&bundle));
    let endless_page = index(sbom);
    let endless_prefix = endless_path.clone();
    let server = HostileServer::start(move |seen| {
        let page = |body: &Vec<u8>, next: &str| {
            let link = format!("<{next}>; rel=\"next\"");
            Reply::new(
                200,
                &[("Content-Type", index_type), ("Link", &link)],
                body.clone(),
            )
        };
        let path = seen.path.as_str();
        if path == paged_path {
            page(&first_page, &format!("{paged_path}?n=1&last=sbom"))
        } else if path == format!("{paged_path}?n=1&last=sbom") {
            Reply::new(200, &[("Content-Type", index_type)], second_page.clone())
        } else if path.starts_with(&endless_path) {
            page(&endless_page, &format!("{endless_path}?n=1&last=again"))
        } else if path == manifest_path {
            Reply::new(200, &[("Content-Type", manifest_type)], manifest.clone())
        } else if path == blob_path {
            Reply::new(
                200,
                &[("Content-Type", "application/octet-stream")],
                bundle.clone(),
            )
        } else {
            Reply::new(404, &[], "")
        }
    });
    let host = server.host();
    let repo = keyless_repo(&host, &signed.trusted_root);
    repo.manifest(
        "apps.yaml",
        &[
            &format!("{host}/team/paged@{paged}"),
            &format!("{host}/team/endless@{endless}"),
        ],
    );
    let output = check(&repo);
    let found = messages(&output.stdout);
    assert_eq!(found.len(), 1, "{found:#?}\n{}", text(&output).1);
    assert!(found[0].contains("team/endless@"), "{}", found[0]);
    assert!(
        found[0].contains("no cosign signature or Sigstore bundle"),
        "{}",
        found[0]
    );
    let asked: Vec<String> = server.requests().into_iter().map(|s| s.path).collect();
    let endless_pages = asked
        .iter()
        .filter(|p| p.starts_with(&endless_prefix))
        .count();
    assert_eq!(endless_pages, 8, "{asked:#?}");
}

/// A Fulcio certificate counts only with a signed certificate timestamp of a CT log the trusted
/// root names (as sigstore-go and cosign require); a root that names no CT log asks for none.
#[test]
fn a_certificate_counts_only_with_an_sct_of_a_ct_log_of_the_trusted_root() {
    if support::registry_tools_missing() || sigstore_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let digest = registry
        .push("team/app", "1", TestImage::SinglePlatform, "app")
        .digest;
    let signed = sign_all(&[Job::attest("app", &digest)]);
    push_referrers(
        &registry,
        "team/app",
        &digest,
        &[bytes(&signed.bundles["app"])],
    );
    let other_run = sign_all(&[Job::attest("other", &digest)]);
    let repo = keyless_repo(&host, &signed.trusted_root);
    repo.manifest("apps.yaml", &[&format!("{host}/team/app:1@{digest}")]);
    let output = check(&repo);
    assert_eq!(
        messages(&output.stdout),
        Vec::<String>::new(),
        "{}",
        text(&output).1
    );

    let mut root = signed.trusted_root.clone();
    root["ctlogs"] = other_run.trusted_root["ctlogs"].clone();
    repo.write(
        "sigstore/trusted_root.json",
        &serde_json::to_string(&root).unwrap(),
    );
    let found = messages(&check(&repo).stdout);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains(
            "a certificate whose signed certificate timestamps verify under no CT log of the trusted root"
        ),
        "{}",
        found[0]
    );

    root["ctlogs"] = json!([]);
    repo.write(
        "sigstore/trusted_root.json",
        &serde_json::to_string(&root).unwrap(),
    );
    assert_eq!(messages(&check(&repo).stdout), Vec::<String>::new());
}

/// `predicate_types` keeps attestations of other kinds from counting: the release workflow's
/// provenance does, a `cosign sign` statement by the same identity does not.
#[test]
fn an_entry_with_predicate_types_takes_only_attestations_of_those_types() {
    if support::registry_tools_missing() || sigstore_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let digests = registry.push_team_images(&["provenance", "signed"]);
    let signed = sign_all(&[
        Job::attest("provenance", &digests[0]),
        Job {
            payload: support::sigstore::cosign_sign_statement(&digests[1]),
            ..Job::attest("signed", &digests[1])
        },
    ]);
    for (name, digest) in ["provenance", "signed"].iter().zip(&digests) {
        let bundle = bytes(&signed.bundles[*name]);
        push_referrers(&registry, &format!("team/{name}"), digest, &[bundle]);
    }
    let repo = Repo::new(&format!(
        "registries:\n  insecure: [\"{host}\"]\nsignatures:\n  - images: [\"{host}/team/**\"]\n    keyless:\n      - issuer: {GITHUB_ISSUER}\n        identity: \"{IDENTITY}\"\n    trusted_root: sigstore/trusted_root.json\n    predicate_types: [\"https://slsa.dev/provenance/v1\"]\n"
    ));
    repo.write(
        "sigstore/trusted_root.json",
        &serde_json::to_string(&signed.trusted_root).unwrap(),
    );
    repo.manifest(
        "apps.yaml",
        &[
            &format!("{host}/team/provenance:1@{}", digests[0]),
            &format!("{host}/team/signed:1@{}", digests[1]),
        ],
    );
    let found = messages(&check(&repo).stdout);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("team/signed@")
            && found[0].contains("of predicate type `https://sigstore.dev/cosign/sign/v1`"),
        "{}",
        found[0]
    );
}

#[test]
fn pin_require_signature_pins_only_keyless_attested_digests() {
    if support::registry_tools_missing() || sigstore_tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let attested = registry
        .push("team/attested", "1", TestImage::MultiPlatform, "a")
        .digest;
    let unsigned = registry
        .push("team/unsigned", "1", TestImage::SinglePlatform, "u")
        .digest;
    let signed = sign_all(&[Job::attest("attested", &attested)]);
    push_referrers(
        &registry,
        "team/attested",
        &attested,
        &[bytes(&signed.bundles["attested"])],
    );
    let repo = keyless_repo(&host, &signed.trusted_root);
    let file = repo.manifest(
        "apps.yaml",
        &[
            &format!("{host}/team/attested:1"),
            &format!("{host}/team/unsigned:1"),
        ],
    );
    let before = std::fs::read_to_string(&file).unwrap();
    let output = pinnace(&repo, &["pin", "--require-signature", "."], &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let image = format!("{host}/team/attested:1");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before.replace(&image, &format!("{image}@{attested}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{host}/team/unsigned:1: {unsigned} is not pinned: no signature verifies under identity `{IDENTITY}` from {GITHUB_ISSUER}: found no cosign signature or Sigstore bundle"
        )),
        "{stderr}"
    );
}

/// A registry with the referrers API (the hostile server, written to answer as the spec says:
/// a fake, since docker-registry 2.8 has no such API) serving a real bundle: it verifies. The
/// same server lying about the digest of the referrer manifest, or of the bundle blob, gets
/// nothing verified.
#[test]
fn the_referrers_api_is_used_and_a_lying_registry_gets_nothing_verified() {
    if sigstore_tools_missing() {
        return;
    }
    use support::oci_layout::sha256_digest;
    let pinned = |seed: &str| sha256_digest(seed.as_bytes());
    let (honest, swapped, mislabelled) =
        (pinned("honest"), pinned("swapped"), pinned("mislabelled"));
    let signed = sign_all(&[
        Job::attest("honest", &honest),
        Job::attest("swapped", &swapped),
        Job::attest("mislabelled", &mislabelled),
    ]);
    let manifest_type = "application/vnd.oci.image.manifest.v1+json";
    let index_type = "application/vnd.oci.image.index.v1+json";
    // Per image: the referrer manifest, the bundle it names, and what the server sends for each.
    let mut routes: Vec<(String, Vec<u8>, &'static str)> = Vec::new();
    for name in ["honest", "swapped", "mislabelled"] {
        let bundle = bytes(&signed.bundles[name]);
        let served_bundle = if name == "swapped" {
            // A real bundle, but of another image: not the bytes its digest names.
            bytes(&signed.bundles["honest"])
        } else {
            bundle.clone()
        };
        let manifest = bytes(&json!({
            "schemaVersion": 2, "mediaType": manifest_type,
            "artifactType": support::sigstore::BUNDLE_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256_digest(b"{}"), "size": 2},
            "layers": [{"mediaType": support::sigstore::BUNDLE_TYPE, "digest": sha256_digest(&bundle), "size": bundle.len()}],
        }));
        let listed = if name == "mislabelled" {
            sha256_digest(b"some other manifest")
        } else {
            sha256_digest(&manifest)
        };
        let subject = match name {
            "honest" => &honest,
            "swapped" => &swapped,
            _ => &mislabelled,
        };
        let index = bytes(&json!({
            "schemaVersion": 2, "mediaType": index_type,
            "manifests": [{"mediaType": manifest_type, "digest": listed, "size": manifest.len(), "artifactType": support::sigstore::BUNDLE_TYPE}],
        }));
        routes.push((
            format!("/v2/team/{name}/referrers/{subject}"),
            index,
            index_type,
        ));
        routes.push((
            format!("/v2/team/{name}/manifests/{listed}"),
            manifest,
            manifest_type,
        ));
        routes.push((
            format!("/v2/team/{name}/blobs/{}", sha256_digest(&bundle)),
            served_bundle,
            "application/octet-stream",
        ));
    }
    let server = HostileServer::start(move |seen| {
        match routes.iter().find(|(path, _, _)| *path == seen.path) {
            Some((_, body, media_type)) => {
                Reply::new(200, &[("Content-Type", media_type)], body.clone())
            }
            None => Reply::new(404, &[], ""),
        }
    });
    let host = server.host();
    let repo = keyless_repo(&host, &signed.trusted_root);
    repo.manifest(
        "apps.yaml",
        &[
            &format!("{host}/team/honest@{honest}"),
            &format!("{host}/team/swapped@{swapped}"),
            &format!("{host}/team/mislabelled@{mislabelled}"),
        ],
    );
    let output = check(&repo);
    let found = messages(&output.stdout);
    assert_eq!(found.len(), 2, "{found:#?}\n{}", text(&output).1);
    assert!(found[0].contains("team/swapped@"), "{}", found[0]);
    assert!(
        found[0].contains("signatures not checked") && found[0].contains("do not match its digest"),
        "{}",
        found[0]
    );
    assert!(found[1].contains("team/mislabelled@"), "{}", found[1]);
    assert!(
        found[1].contains("signatures not checked")
            && found[1].contains("other than the digest asked for"),
        "{}",
        found[1]
    );
    let asked: Vec<String> = server.requests().into_iter().map(|s| s.path).collect();
    assert!(
        !asked
            .iter()
            .any(|p| p.contains("/manifests/sha256-") && !p.ends_with(".sig")),
        "the API answered, so the tag schema is not asked: {asked:#?}"
    );

    // A warm cache keeps the verified verdict: the honest image is not asked about again; what
    // could not be checked is.
    let cached = [
        "check",
        "--online",
        "--format",
        "json",
        ONLY_SIGNATURES,
        "--cache",
        "cache.json",
        ".",
    ];
    let honest_requests = |server: &HostileServer| {
        server
            .requests()
            .iter()
            .filter(|s| s.path.starts_with("/v2/team/honest/"))
            .filter(|s| {
                ["/referrers/", ".sig", "/blobs/"]
                    .iter()
                    .any(|p| s.path.contains(p))
            })
            .count()
    };
    pinnace(&repo, &cached, &[]);
    let (honest_before, all_before) = (honest_requests(&server), server.requests().len());
    let output = pinnace(&repo, &cached, &[]);
    assert_eq!(messages(&output.stdout).len(), 2);
    assert_eq!(honest_requests(&server), honest_before);
    assert!(server.requests().len() > all_before);
}
