//! Discovery of every resource the GC and namespace controllers must see: listable,
//! watchable, deletable top-level resources (no subresources). Entry points: [`discover`]
//! (one pass, Events included), [`gc_resources`] (the GC's set, one pass) and
//! [`deletable_resources`] (the GC's set, retried).

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

fn is_event(ar: &ApiResource) -> bool {
    ar.plural == "events" && (ar.group.is_empty() || ar.group == "events.k8s.io")
}

fn deletable(caps: &ApiCapabilities) -> bool {
    [verbs::LIST, verbs::WATCH, verbs::DELETE]
        .iter()
        .all(|v| caps.supports_operation(v))
}

/// One discovery pass: every deletable resource, Events included (the namespace
/// controller must empty them too).
pub async fn discover(client: &Client) -> Result<Vec<Discovered>, kube::Error> {
    // Aggregated discovery is two requests where the per-group documents are one per
    // group version; the GC repeats this every resync period, the namespace controller
    // every pass. A server without it (before 1.26) gets the per-group walk.
    let discovery = match Discovery::new(client.clone()).run_aggregated().await {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!(error = %e, "no aggregated discovery; asking group by group");
            Discovery::new(client.clone()).run().await?
        }
    };
    Ok(discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .filter(|(_, caps)| deletable(caps))
        .map(|(resource, caps)| Discovered {
            namespaced: matches!(caps.scope, Scope::Namespaced),
            delete_collection: caps.supports_operation(verbs::DELETE_COLLECTION),
            resource,
        })
        .collect())
}

impl Discovered {
    /// The resource's identity (`plural.group/version`, as upstream's GVR), which names
    /// its monitor.
    pub fn key(&self) -> String {
        format!(
            "{}.{}/{}",
            self.resource.plural, self.resource.group, self.resource.version
        )
    }
}

/// One pass of the resources the garbage collector watches: [`discover`] without Events
/// (upstream's GC ignores them).
pub async fn gc_resources(client: &Client) -> Result<Vec<Discovered>, kube::Error> {
    Ok(discover(client)
        .await?
        .into_iter()
        .filter(|d| !is_event(&d.resource))
        .collect())
}

/// [`gc_resources`], retrying with a capped backoff until the API server answers (the
/// collector's start).
pub async fn deletable_resources(client: &Client) -> Vec<Discovered> {
    let mut delay = Duration::from_millis(100);
    loop {
        match gc_resources(client).await {
            Ok(d) => return d,
            Err(e) => {
                tracing::warn!(error = %e, ?delay, "discovery failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
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
