use super::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::registry::fact_keys;
use crate::signatures::Verdict;

/// `unsigned-image` (online): a pinned image that a `signatures` entry covers has no
/// signature that verifies under that entry. See `rules/unsigned-image.md`.
pub struct UnsignedImage;

static META: RuleMeta = RuleMeta {
    id: "unsigned-image",
    default_severity: Severity::Error,
    summary: "A pinned image that config requires to be signed has no signature that verifies (online)",
    page: include_str!("../../rules/unsigned-image.md"),
    fixable: false,
    sensitive: false,
};

impl Rule for UnsignedImage {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>) {
        let Some(facts) = context.online else { return };
        let model = context.model;
        for (image, reference) in model.references() {
            let Some(key) = fact_keys(reference).1 else {
                continue;
            };
            let verdicts = facts.signatures.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            for verdict in verdicts.iter().filter(|v| !v.verdict.is_verified()) {
                let entry = &context.settings.config.signatures[verdict.entry];
                findings.push(
                    model.about(
                        image,
                        Finding::new(
                            &META,
                            image.digest_span(),
                            format!(
                                "`{key}` has no signature that verifies under {}: found {}",
                                entry.signers(),
                                verdict.verdict.describe()
                            ),
                        )
                        .label(label(&verdict.verdict))
                        .help(help(&verdict.verdict)),
                    ),
                );
            }
        }
    }
}

fn label(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::NoSignature { .. } => "not signed",
        Verdict::OtherKey { .. } => "signed, but not by a trusted key",
        Verdict::OtherDigest { .. } => "the signature is for another digest",
        Verdict::OtherPredicate { .. } => "attested, but not with a predicate type the entry takes",
        Verdict::OnlyPlatformsSigned { .. } => "the index is not signed, only its platforms",
        Verdict::OtherIdentity { .. } => "signed, but not by a trusted identity",
        Verdict::AlteredSignature => "the signature does not verify",
        Verdict::BadLogEntry { .. } => "no transparency-log proof of the signing",
        Verdict::BadTimestamp { .. } => "no timestamp proof of the signing",
        Verdict::UntrustedCertificate { .. } => "the signing certificate is not trusted",
        Verdict::UnreadableSignature { .. }
        | Verdict::NotChecked { .. }
        | Verdict::Verified { .. } => "signature not verified",
    }
}

fn help(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::OnlyPlatformsSigned { .. } => {
            "sign the index digest itself (`cosign sign` of the index, as `--recursive` does too), or pin a digest whose index is signed"
        }
        Verdict::NotChecked { .. } => {
            "the signature could not be fetched, so it is not known to verify; run again when the registry answers"
        }
        Verdict::BadLogEntry { .. }
        | Verdict::BadTimestamp { .. }
        | Verdict::UntrustedCertificate { .. } => {
            "a keyless signature counts only with a Rekor entry or an RFC 3161 timestamp of a `trusted_root` authority that proves when it was made, and a Fulcio certificate of `trusted_root` valid then; refresh `trusted_root` from Sigstore's TUF repository if its authorities changed"
        }
        _ => {
            "pin a digest your release process signed (`pinnace pin --require-signature` pins only those), or sign this one with a key or identity listed in `signatures`"
        }
    }
}
