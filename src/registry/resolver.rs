//! Resolves many references at once: each distinct one once, through the cache, in parallel.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::{Manifest, RegistryClient, RegistryError, ResolutionCache};
use crate::image_ref::ImageRef;

pub struct Resolver<'a> {
    pub client: &'a RegistryClient,
    pub cache: Option<&'a ResolutionCache>,
    /// Requests in flight at once, over all registries.
    pub jobs: usize,
}

pub type Resolutions = HashMap<String, Result<Manifest, RegistryError>>;

impl Resolver<'_> {
    /// Resolves `registry/repository:tag` lookups; `on_done` is called after each one (for a
    /// progress bar). Each key appears once in the result.
    pub fn resolve_tags(
        &self,
        lookups: &BTreeMap<String, ImageRef>,
        on_done: impl Fn() + Sync,
    ) -> Resolutions {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs.max(1))
            .build();
        let work = || {
            lookups
                .par_iter()
                .map(|(key, reference)| {
                    let result = self.resolve_one(key, reference);
                    on_done();
                    (key.clone(), result)
                })
                .collect()
        };
        match pool {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        }
    }

    fn resolve_one(&self, key: &str, reference: &ImageRef) -> Result<Manifest, RegistryError> {
        if let Some(hit) = self.cache.and_then(|cache| cache.get(key)) {
            return Ok(hit);
        }
        let tag = key.rsplit_once(':').map_or("latest", |(_, tag)| tag);
        let manifest = self
            .client
            .resolve(reference.registry(), reference.repository(), tag)?;
        if let Some(cache) = self.cache {
            cache.put(key, &manifest);
        }
        Ok(manifest)
    }
}
