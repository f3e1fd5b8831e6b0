//! `pinnace pin --require-signature`: a resolved digest is pinned only when it verifies under
//! every `signatures` entry that covers it; any other becomes a failure that says why, so the
//! image is left as it was (pinning must not bless an unsigned image).

use std::collections::BTreeMap;

use super::EntryVerdict;
use super::gather::Verifier;
use super::policy::Policies;
use crate::config::Settings;
use crate::image_ref::ImageRef;
use crate::registry::{RegistryError, Resolutions};

/// The policies `--require-signature` pins under: an error when config has none, or names a
/// key file that cannot be used (before any registry is asked).
pub fn required_policies(settings: &Settings) -> Result<Policies, String> {
    if settings.config.signatures.is_empty() {
        return Err(
            "--require-signature needs `signatures` in the config: which images must be signed, and by which keys"
                .to_string(),
        );
    }
    Policies::load(&settings.config.signatures, settings.signature_root())
}

/// Turns each resolution whose digest does not verify into a [`RegistryError::Unsigned`].
/// `lookups` are the resolved references by their key (`registry/repository:tag`).
pub fn require_signatures(
    resolutions: &mut Resolutions,
    lookups: &BTreeMap<String, ImageRef>,
    settings: &Settings,
    verifier: &Verifier<'_>,
    jobs: usize,
) {
    let pinned: BTreeMap<String, ImageRef> = resolutions
        .iter()
        .filter_map(|(key, result)| {
            let manifest = result.as_ref().ok()?;
            let name = lookups.get(key)?.name();
            let reference = ImageRef::parse(&format!("{name}@{}", manifest.digest)).ok()?;
            Some((key.clone(), reference))
        })
        .collect();
    let references: Vec<ImageRef> = pinned.values().cloned().collect();
    let facts = verifier.verify_all(&references, jobs);
    for (key, reference) in pinned {
        let verdicts = facts
            .get(&reference.to_string())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if let Some(detail) = refusal(verdicts, settings) {
            let digest = reference
                .digest()
                .map(|d| d.to_string())
                .unwrap_or_default();
            resolutions.insert(key, Err(RegistryError::Unsigned { digest, detail }));
        }
    }
}

/// Why a digest may not be pinned, or `None` when every entry covering it verified.
fn refusal(verdicts: &[EntryVerdict], settings: &Settings) -> Option<String> {
    if verdicts.is_empty() {
        return Some(
            "no `signatures` entry covers this image, so no signature can verify".to_string(),
        );
    }
    let failed = verdicts.iter().find(|v| !v.verdict.is_verified())?;
    let keys = settings.config.signatures[failed.entry].signers();
    Some(format!(
        "no signature verifies under {keys}: found {}",
        failed.verdict.describe()
    ))
}
