//! Discovery of every resource the GC and namespace controllers must see: listable,
//! watchable, deletable top-level resources (no subresources), with Events left out as
//! upstream's GC does. Entry point: [`deletable_resources`].

use std::collections::HashMap;
use std::time::Duration;

use kube::Client;
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope, verbs};

/// A discovered resource.
#[derive(Clone, Debug)]
pub struct Discovered {
    /// The resource (group, version, kind, plural).
    pub resource: ApiResource,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Supports `deletecollection`.
    pub delete_collection: bool,
}

fn keep(ar: &ApiResource, caps: &ApiCapabilities) -> bool {
    let ignored = ar.plural == "events" && (ar.group.is_empty() || ar.group == "events.k8s.io");
    !ignored
        && [verbs::LIST, verbs::WATCH, verbs::DELETE]
            .iter()
            .all(|v| caps.supports_operation(v))
}

/// Runs discovery, retrying with a capped backoff until the API server answers.
pub async fn deletable_resources(client: &Client) -> Vec<Discovered> {
    let mut delay = Duration::from_millis(100);
    let discovery = loop {
        match Discovery::new(client.clone()).run().await {
            Ok(d) => break d,
            Err(e) => {
                tracing::warn!(error = %e, ?delay, "discovery failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    };
    discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .filter(|(ar, caps)| keep(ar, caps))
        .map(|(resource, caps)| Discovered {
            namespaced: matches!(caps.scope, Scope::Namespaced),
            delete_collection: caps.supports_operation(verbs::DELETE_COLLECTION),
            resource,
        })
        .collect()
}

/// Index by `(apiVersion, kind)`, as owner references name their owners.
pub fn by_kind(resources: &[Discovered]) -> HashMap<(String, String), Discovered> {
    resources
        .iter()
        .map(|d| {
            (
                (d.resource.api_version.clone(), d.resource.kind.clone()),
                d.clone(),
            )
        })
        .collect()
}
