//! Verifying every pinned digest that a `signatures` entry covers: each distinct digest's
//! signatures fetched once (and not at all when the cache holds every verdict), judged under
//! each entry that covers it.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::policy::{Policies, Policy};
use super::{Verdict, judge};
use crate::image_ref::{Digest, ImageRef};
use crate::registry::{Manifest, RegistryClient, RegistryError, ResolutionCache, StoredSignatures};

/// The verdict of one `signatures` entry on a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryVerdict {
    /// The entry's position in `signatures` (0-based).
    pub entry: usize,
    pub verdict: Verdict,
}

/// `registry/repository@digest` to the verdicts of the entries that cover it.
pub type SignatureFacts = HashMap<String, Vec<EntryVerdict>>;

/// What verifies signatures in a run: the policies, the registry, the cache.
pub struct Verifier<'a> {
    pub policies: &'a Policies,
    pub client: &'a RegistryClient,
    pub cache: Option<&'a ResolutionCache>,
    /// What the run already asked of pinned digests (`registry/repository@digest` to the
    /// manifest a `HEAD` found, as [`crate::registry::OnlineFacts`] holds them): a digest
    /// known to be no index, or not to exist, is not fetched again to look for signed
    /// platform manifests.
    pub known: Option<&'a HashMap<String, Result<Manifest, RegistryError>>>,
}

impl Verifier<'_> {
    /// Verifies the pinned references that some entry covers; `jobs` lookups run at once.
    pub fn verify_all(&self, references: &[ImageRef], jobs: usize) -> SignatureFacts {
        let mut wanted = BTreeMap::new();
        for reference in references {
            let Some(digest) = reference.digest() else {
                continue;
            };
            let name = reference.name();
            if self.policies.covering(&name).next().is_some() {
                wanted.insert(format!("{name}@{digest}"), reference.clone());
            }
        }
        let work = || {
            wanted
                .into_par_iter()
                .map(|(key, reference)| (key, self.verify(&reference)))
                .collect()
        };
        match rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build()
        {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        }
    }

    /// The verdicts on one pinned reference, one per entry covering it (none when it has no
    /// digest or no entry covers it).
    pub fn verify(&self, reference: &ImageRef) -> Vec<EntryVerdict> {
        let name = reference.name();
        let Some(digest) = reference.digest() else {
            return Vec::new();
        };
        let cache_key = |fingerprint: &str| format!("{name}@{digest} {fingerprint}");
        let mut found = None;
        let mut platforms = None;
        self.policies
            .covering(&name)
            .map(|policy| {
                let key = cache_key(&policy.fingerprint);
                // An older run's "no signature" that did not look among the referrers (for
                // cosign 3's bundles) is asked again.
                let cached = self
                    .cache
                    .and_then(|cache| cache.signature(&key))
                    .filter(|v| !matches!(v, Verdict::NoSignature { bundles: false }));
                if let Some(verdict) = cached {
                    return EntryVerdict {
                        entry: policy.index,
                        verdict,
                    };
                }
                let signatures = found.get_or_insert_with(|| {
                    self.client.stored_signatures(
                        reference.registry(),
                        reference.repository(),
                        digest,
                    )
                });
                let mut verdict = match signatures {
                    Ok(signatures) => judge(digest, signatures, policy),
                    Err(error) => Verdict::NotChecked {
                        reason: error.to_string(),
                    },
                };
                if matches!(verdict, Verdict::NoSignature { .. }) {
                    let platforms = platforms.get_or_insert_with(|| self.platforms(reference));
                    verdict = platform_verdict(platforms, policy).unwrap_or(verdict);
                }
                // What could not be asked is asked again next time.
                if let (Some(cache), false) =
                    (self.cache, matches!(verdict, Verdict::NotChecked { .. }))
                {
                    cache.put_signature(&key, &verdict);
                }
                EntryVerdict {
                    entry: policy.index,
                    verdict,
                }
            })
            .collect()
    }
}

/// The most platform manifests of an index looked at for signatures.
const MAX_PLATFORMS: usize = 16;

/// A platform manifest of an index and the signatures stored for it.
type PlatformSignatures = Vec<(Digest, StoredSignatures)>;

impl Verifier<'_> {
    /// When `reference` pins an index: its platform manifests and their signatures (at most
    /// [`MAX_PLATFORMS`]); empty for a single manifest or when the registry cannot say.
    fn platforms(&self, reference: &ImageRef) -> PlatformSignatures {
        let (registry, repository) = (reference.registry(), reference.repository());
        let Some(digest) = reference.digest() else {
            return Vec::new();
        };
        let key = format!("{}@{digest}", reference.name());
        match self.known.and_then(|known| known.get(&key)) {
            Some(Ok(manifest)) if !manifest.is_index() => return Vec::new(),
            Some(Err(RegistryError::NotFound { .. })) => return Vec::new(),
            _ => {}
        }
        let Ok(manifest) = self.client.fetch(registry, repository, &digest.to_string()) else {
            return Vec::new();
        };
        if !manifest.is_index() || manifest.digest != *digest {
            return Vec::new();
        }
        manifest
            .children()
            .iter()
            .take(MAX_PLATFORMS)
            .filter_map(|child| Digest::parse(child).ok())
            .map(|child| {
                let found = self
                    .client
                    .stored_signatures(registry, repository, &child)
                    .unwrap_or_default();
                (child, found)
            })
            .collect()
    }
}

/// `OnlyPlatformsSigned` when some platform manifests verify under `policy`.
fn platform_verdict(platforms: &PlatformSignatures, policy: &Policy) -> Option<Verdict> {
    let keys: Vec<String> = platforms
        .iter()
        .filter_map(|(child, found)| match judge(child, found, policy) {
            Verdict::Verified { key } => Some(key),
            _ => None,
        })
        .collect();
    Some(Verdict::OnlyPlatformsSigned {
        key: keys.first()?.clone(),
        signed: keys.len(),
        platforms: platforms.len(),
    })
}

/// The signature facts a run needs: none when config has no `signatures` or the rule is off;
/// the error names a key file that cannot be used.
pub fn gather_for_run(
    settings: &crate::config::Settings,
    references: &[ImageRef],
    client: &RegistryClient,
    cache: Option<&ResolutionCache>,
    known: Option<&HashMap<String, Result<Manifest, RegistryError>>>,
    jobs: usize,
) -> Result<SignatureFacts, String> {
    let wanted = crate::rules::find("unsigned-image").is_some_and(|rule| settings.may_run(rule));
    if settings.config.signatures.is_empty() || !wanted {
        return Ok(SignatureFacts::new());
    }
    let policies = Policies::load(&settings.config.signatures, settings.signature_root())?;
    let verifier = Verifier {
        policies: &policies,
        client,
        cache,
        known,
    };
    Ok(verifier.verify_all(references, jobs))
}
