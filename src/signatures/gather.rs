//! Verifying every pinned digest that a `signatures` entry covers: each distinct digest's
//! signatures fetched once, judged under each entry that covers it.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::policy::Policies;
use super::{Verdict, judge};
use crate::image_ref::ImageRef;
use crate::registry::RegistryClient;

/// The verdict of one `signatures` entry on a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryVerdict {
    /// The entry's position in `signatures` (0-based).
    pub entry: usize,
    pub verdict: Verdict,
}

/// `registry/repository@digest` to the verdicts of the entries that cover it.
pub type SignatureFacts = HashMap<String, Vec<EntryVerdict>>;

/// Verifies the pinned references that some entry covers; `jobs` lookups run at once.
pub fn verify_all(
    references: &[ImageRef],
    policies: &Policies,
    client: &RegistryClient,
    jobs: usize,
) -> SignatureFacts {
    let mut wanted = BTreeMap::new();
    for reference in references {
        let Some(digest) = reference.digest() else {
            continue;
        };
        let name = reference.name();
        if policies.covering(&name).next().is_some() {
            wanted.insert(format!("{name}@{digest}"), reference.clone());
        }
    }
    let work = || {
        wanted
            .into_par_iter()
            .map(|(key, reference)| (key, verify_one(&reference, policies, client)))
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

/// The verdicts on one pinned reference, one per entry covering it.
pub fn verify_one(
    reference: &ImageRef,
    policies: &Policies,
    client: &RegistryClient,
) -> Vec<EntryVerdict> {
    let name = reference.name();
    let Some(digest) = reference.digest() else {
        return Vec::new();
    };
    let found = client.cosign_signatures(reference.registry(), reference.repository(), digest);
    policies
        .covering(&name)
        .map(|policy| EntryVerdict {
            entry: policy.index,
            verdict: match &found {
                Ok(signatures) => judge(digest, signatures, policy),
                Err(error) => Verdict::NotChecked {
                    reason: error.to_string(),
                },
            },
        })
        .collect()
}

/// The signature facts a run needs: none when config has no `signatures` or the rule is off;
/// the error names a key file that cannot be used.
pub fn gather_for_run(
    settings: &crate::config::Settings,
    references: &[ImageRef],
    client: &RegistryClient,
    jobs: usize,
) -> Result<SignatureFacts, String> {
    let wanted = crate::rules::find("unsigned-image").is_some_and(|rule| settings.may_run(rule));
    if settings.config.signatures.is_empty() || !wanted {
        return Ok(SignatureFacts::new());
    }
    let policies = Policies::load(&settings.config.signatures, &settings.root)?;
    Ok(verify_all(references, &policies, client, jobs))
}
