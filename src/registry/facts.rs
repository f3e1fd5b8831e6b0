//! What the online rules know about the registries: for every pinned image in scope, what
//! its tag names now and whether its digest still exists. Gathered before the rules run, so
//! the rules stay pure functions of model, config and these facts.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::{Manifest, RegistryClient, RegistryError};
use crate::image_ref::ImageRef;

#[derive(Debug, Default)]
pub struct OnlineFacts {
    /// `registry/repository:tag` to the manifest it names now (with its body, so an index's
    /// children are known).
    pub tags: HashMap<String, Result<Manifest, RegistryError>>,
    /// `registry/repository@digest` to the manifest, or why it could not be found.
    pub digests: HashMap<String, Result<Manifest, RegistryError>>,
    /// `registry/repository@digest` to the verdicts of the `signatures` entries covering it.
    pub signatures: crate::signatures::SignatureFacts,
}

/// The fact keys an image needs: its tag (when pinned with a tag) and its digest.
pub fn fact_keys(reference: &ImageRef) -> (Option<String>, Option<String>) {
    let Some(digest) = reference.digest() else {
        return (None, None);
    };
    let tag = reference
        .tag()
        .map(|tag| format!("{}:{tag}", reference.name()));
    (tag, Some(format!("{}@{digest}", reference.name())))
}

/// Which facts a run's rules use: what tags name now (`stale-digest`, `single-arch-pin`),
/// and whether pinned digests exist (`unknown-digest`; `unsigned-image` reads their kind).
#[derive(Debug, Clone, Copy)]
pub struct WantedFacts {
    pub tags: bool,
    pub digests: bool,
}

impl OnlineFacts {
    /// Asks the registries about every pinned reference, each distinct key once, for the
    /// facts that are `wanted` only.
    pub fn gather(
        references: &[ImageRef],
        client: &RegistryClient,
        jobs: usize,
        wanted: WantedFacts,
    ) -> OnlineFacts {
        let mut tags = BTreeMap::new();
        let mut digests = BTreeMap::new();
        for reference in references {
            let (tag, digest) = fact_keys(reference);
            if let (Some(key), Some(tag), true) = (tag, reference.tag(), wanted.tags) {
                tags.insert(key, (reference.clone(), tag.to_string()));
            }
            if let (Some(key), Some(digest), true) = (digest, reference.digest(), wanted.digests) {
                digests.insert(key, (reference.clone(), digest.to_string()));
            }
        }
        let fetch = |entries: BTreeMap<String, (ImageRef, String)>, head: bool| {
            entries
                .into_par_iter()
                .map(|(key, (reference, wanted))| {
                    let (registry, repository) = (reference.registry(), reference.repository());
                    let result = if head {
                        client.resolve(registry, repository, &wanted)
                    } else {
                        client.fetch(registry, repository, &wanted)
                    };
                    (key, result)
                })
                .collect::<HashMap<_, _>>()
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build();
        let run = || OnlineFacts {
            tags: fetch(tags, false),
            digests: fetch(digests, true),
            signatures: Default::default(),
        };
        match pool {
            Ok(pool) => pool.install(run),
            Err(_) => run(),
        }
    }

    /// For an image pinned as `tag@digest`: what its tag names now, and the pinned digest.
    pub fn tag_now<'a>(
        &'a self,
        reference: &'a ImageRef,
    ) -> Option<(&'a Manifest, &'a crate::image_ref::Digest)> {
        let pinned = reference.digest()?;
        let key = fact_keys(reference).0?;
        match self.tags.get(&key)? {
            Ok(now) => Some((now, pinned)),
            Err(_) => None,
        }
    }

    /// Failures that are not answers about the image (auth, network…), for warnings.
    pub fn failures(&self) -> Vec<(String, &RegistryError)> {
        let mut failures: Vec<(String, &RegistryError)> = self
            .tags
            .iter()
            .chain(&self.digests)
            .filter_map(|(key, result)| match result {
                Err(RegistryError::NotFound { .. }) | Ok(_) => None,
                Err(error) => Some((key.clone(), error)),
            })
            .collect();
        failures.sort_by(|a, b| a.0.cmp(&b.0));
        failures
    }
}
