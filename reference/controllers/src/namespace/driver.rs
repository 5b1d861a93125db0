//! The Namespace driver: on a deleting namespace, deletes its content resource by
//! resource, re-checks until empty, then finalizes. Entry point: [`start`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use serde_json::json;
use tokio::task::JoinHandle;

use super::plan::{
    FINALIZER_ESTIMATE_SECONDS, Failures, Remaining, conditions, finalized, needs_finalize,
    pods_estimate, requeue_after,
};
use crate::garbagecollector::discovery::{Discovered, discover};
use crate::runtime::context::Ctx;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, key_of, spawn_resync, spawn_watch,
};
use crate::util::status::update_status;
use crate::util::time::now_seconds;

/// Upstream `--concurrent-namespace-syncs` default.
pub const DEFAULT_WORKERS: usize = 10;
const NAME: &str = "namespace";

struct NamespaceController {
    client: kube::Client,
    namespaces: Arc<Informer<Namespace>>,
}

/// Starts the namespace controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let namespaces = ctx.informers.get::<Namespace>();
    let q = queue.clone();
    let (n, q2) = (namespaces.clone(), queue.clone());
    let mut tasks = vec![spawn_watch(
        &namespaces,
        move |c: &Change<Namespace>| {
            if let Some(ns) = c
                .new
                .as_ref()
                .filter(|n| n.metadata.deletion_timestamp.is_some())
            {
                q.add(key_of(ns.as_ref()));
            }
        },
        move || enqueue_all(&n, &q2),
    )];
    tasks.push(spawn_resync(
        namespaces.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(NamespaceController {
        client: ctx.client.clone(),
        namespaces,
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for NamespaceController {
    async fn sync(&self, name: &str) -> Result<Option<Duration>, SyncError> {
        let Some(mut ns) = self.namespaces.get(None, name) else {
            return Ok(None);
        };
        if ns.metadata.deletion_timestamp.is_none() {
            return Ok(None);
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        if ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating") {
            ns = Arc::new(update_status(&api, &ns, &json!({"phase": "Terminating"})).await?);
        }
        if !needs_finalize(&ns) {
            return Ok(None);
        }
        let mut remaining = Vec::new();
        let mut failures = Failures::default();
        let resources: Vec<Discovered> = match discover(&self.client).await {
            Ok(all) => all.into_iter().filter(|d| d.namespaced).collect(),
            Err(e) => {
                // Reported as NamespaceDeletionDiscoveryFailure, then retried with backoff.
                failures.discovery = Some(e.to_string());
                Vec::new()
            }
        };
        let mut estimate = 0i64;
        for d in &resources {
            match self.delete_content(name, d).await {
                Ok((left, secs)) => {
                    estimate = estimate.max(secs);
                    remaining.push(left);
                }
                Err(e) => failures
                    .content
                    .push(format!("{}.{}: {e}", d.resource.plural, d.resource.group)),
            }
        }
        let existing = ns
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let next = conditions(&existing, &remaining, &failures, now_seconds());
        if next != existing {
            ns = Arc::new(update_status(&api, &ns, &json!({"conditions": next})).await?);
        }
        if let Some(e) = &failures.discovery {
            return Err(SyncError::Partial(format!("discovery failed: {e}")));
        }
        if !failures.content.is_empty() {
            return Err(SyncError::Partial(failures.content.join("; ")));
        }
        if remaining.iter().any(|r| r.count > 0) {
            return Ok(Some(requeue_after(estimate)));
        }
        self.finalize(&api, &ns).await?;
        Ok(None)
    }
}

impl NamespaceController {
    /// Deletes every object of one resource in the namespace; returns what is left and an
    /// estimate (seconds) of how long it will take to go.
    async fn delete_content(
        &self,
        ns: &str,
        d: &Discovered,
    ) -> Result<(Remaining, i64), kube::Error> {
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, &d.resource);
        let dp = DeleteParams::background();
        if d.delete_collection {
            api.delete_collection(&dp, &ListParams::default()).await?;
        } else {
            for obj in api.list(&ListParams::default()).await?.items {
                if let Some(n) = obj.metadata.name.as_deref() {
                    match api.delete(n, &dp).await {
                        Ok(_) => {}
                        Err(kube::Error::Api(s)) if s.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        let left = api.list(&ListParams::default()).await?.items;
        let mut finalizers: BTreeMap<String, usize> = BTreeMap::new();
        for o in &left {
            for f in o.metadata.finalizers.iter().flatten() {
                *finalizers.entry(f.clone()).or_default() += 1;
            }
        }
        let mut estimate = 0;
        if d.resource.plural == "pods" && d.resource.group.is_empty() {
            let pods: Vec<Pod> = left
                .iter()
                .filter_map(|o| {
                    serde_json::to_value(o)
                        .ok()
                        .and_then(|v| serde_json::from_value(v).ok())
                })
                .collect();
            estimate = pods_estimate(&pods);
        }
        if !left.is_empty() && estimate == 0 && !finalizers.is_empty() {
            estimate = FINALIZER_ESTIMATE_SECONDS;
        }
        Ok((
            Remaining {
                resource: d.resource.plural.clone(),
                group: d.resource.group.clone(),
                count: left.len(),
                finalizers,
            },
            estimate,
        ))
    }

    /// Removes the `kubernetes` finalizer through `PUT namespaces/{name}/finalize`, the
    /// only way upstream's controller does (its service account may not update
    /// Namespaces). Any other failure, a 404 from a server without that subresource
    /// included, is a failed sync, retried with backoff.
    async fn finalize(&self, api: &Api<Namespace>, ns: &Namespace) -> Result<(), SyncError> {
        let name = ns.metadata.name.clone().unwrap_or_default();
        let gone = format!("namespaces {name:?} not found");
        match api
            .replace_subresource("finalize", &name, &PostParams::default(), &finalized(ns))
            .await
        {
            Ok(_) => Ok(()),
            // The namespace itself is already gone: nothing left to finalize.
            Err(kube::Error::Api(s)) if s.code == 404 && s.message.contains(&gone) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
