//! Listing a source repository's tags, for the tag patterns (`nginx:1.25*`) and `@latest=N` lines
//! of a job, with the credentials and TLS settings `registries.yaml` gives the source's host.
//!
//! [`ListTags`] is the seam [`crate::jobs::plan`] expands through, so planning is tested with a
//! fixed listing; [`RegistryTags`] is the real one over [`RegistryClient`].

use std::future::Future;
use std::time::Duration;

use docker_sync_common::config::Config;
use docker_sync_common::image::selection::{Repository, MAX_LISTED_TAGS};
use docker_sync_common::registry::explain::{Party, Side};
use docker_sync_common::registry::{Reach, RegistryClient};

use crate::state::AppState;

/// Bounds each request to a registry (one page of tags, one token).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the tags of a repository come from.
pub trait ListTags: Sync {
    /// Every tag of `repository`, or the sentence to show on the line that needed them.
    fn list_tags(
        &self,
        repository: &Repository,
    ) -> impl Future<Output = Result<Vec<String>, String>> + Send;
}

/// Lists tags from the registries themselves.
pub struct RegistryTags<'a> {
    client: &'a RegistryClient,
    config: &'a Config,
}

impl<'a> RegistryTags<'a> {
    pub fn new(client: &'a RegistryClient, config: &'a Config) -> Self {
        Self { client, config }
    }
}

/// The lister over the api's one registry client (its token cache serves every request).
pub fn lister<'a>(state: &'a AppState, config: &'a Config) -> RegistryTags<'a> {
    RegistryTags::new(&state.registry, config)
}

/// The client the api keeps in its state.
pub fn new_client() -> RegistryClient {
    RegistryClient::new(REQUEST_TIMEOUT)
}

/// For tests whose lists have no tag patterns: any listing is an error.
#[cfg(test)]
pub struct Unlisted;

#[cfg(test)]
impl ListTags for Unlisted {
    async fn list_tags(&self, _: &Repository) -> Result<Vec<String>, String> {
        Err("this test lists no tags".into())
    }
}

impl ListTags for RegistryTags<'_> {
    async fn list_tags(&self, repository: &Repository) -> Result<Vec<String>, String> {
        let host = repository.registry();
        let entry = self.config.registry_for_host(host);
        let access = Reach::for_host(host, entry.map(|(_, r)| r), self.config.tls_verify_disabled);
        self.client
            .list_tags(&access, repository.path(), MAX_LISTED_TAGS)
            .await
            .map_err(|e| {
                tracing::info!(repository = %repository.name(), error = %e, "listing tags failed");
                let party = Party {
                    side: Side::Source,
                    host,
                    subject: repository.familiar_name(),
                    namespace: None,
                    registry: entry.map(|(name, _)| name),
                    has_credentials: access.credentials.is_some(),
                };
                format!("cannot list the tags: {}", e.explain(&party))
            })
    }
}
