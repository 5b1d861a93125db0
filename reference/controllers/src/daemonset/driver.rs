//! The DaemonSet driver: watches DaemonSets, Pods and Nodes. Entry point: [`start`].

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Resource as _;
use serde_json::json;
use tokio::task::JoinHandle;

use super::plan::{plan, pod_for_node};
use crate::deployment::util::compute_hash;
use crate::runtime::context::Ctx;
use crate::runtime::expectations::Expectations;
use crate::runtime::history::{self, owned_by, plan_history, revision_object};
use crate::runtime::informers::{Change, Informer};
use crate::runtime::owned::{Owned, Preamble, claim_owned_pods};
use crate::runtime::podcontrol::PodControl;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, enqueue_owner, key_of, spawn_resync, spawn_watch,
};
use crate::util::json::semantically_equal;
use crate::util::owner::controller_key;
use crate::util::pods;
use crate::util::status::update_status;
use crate::util::time::now_seconds;

/// Upstream `--concurrent-daemonset-syncs` default.
pub const DEFAULT_WORKERS: usize = 2;
const NAME: &str = "daemonset";

struct DaemonSetController {
    client: kube::Client,
    sets: Arc<Informer<DaemonSet>>,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    revisions: Arc<Informer<ControllerRevision>>,
    control: PodControl,
}

/// Starts the DaemonSet controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let sets = ctx.informers.get::<DaemonSet>();
    let pods = ctx.informers.get::<Pod>();
    let nodes = ctx.informers.get::<Node>();
    let expectations = Arc::new(Expectations::new(ctx.config.expectations_timeout));
    let resync = {
        let (s, q) = (sets.clone(), queue.clone());
        move || enqueue_all(&s, &q)
    };
    let mut tasks = vec![spawn_watch(
        &sets,
        enqueue_owner(queue.clone(), expectations.clone()),
        resync.clone(),
    )];
    let (q, e, s) = (queue.clone(), expectations.clone(), sets.clone());
    tasks.push(spawn_watch(
        &pods,
        move |c: &Change<Pod>| {
            let Some(pod) = c.latest() else { return };
            match controller_key(&pod.metadata, "DaemonSet") {
                Some(key) => {
                    if c.is_delete() || pod.metadata.deletion_timestamp.is_some() {
                        e.deletion_observed(&key, &pods::key(pod));
                    } else if c.is_add() {
                        e.creation_observed(&key);
                    }
                    q.add(key);
                }
                // An orphan may be adopted by any DaemonSet in its namespace.
                None => s
                    .list()
                    .iter()
                    .filter(|d| d.metadata.namespace == pod.metadata.namespace)
                    .for_each(|d| q.add(key_of(d.as_ref()))),
            }
        },
        resync.clone(),
    ));
    // Nodes joining, leaving, or changing labels/taints change where daemons belong.
    let (q, s) = (queue.clone(), sets.clone());
    tasks.push(spawn_watch(
        &nodes,
        move |_c: &Change<Node>| enqueue_all(&s, &q),
        resync,
    ));
    tasks.push(spawn_resync(
        sets.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let control = PodControl::new(
        ctx.client.clone(),
        ctx.events("daemonset-controller"),
        expectations,
    );
    let reconciler = Arc::new(DaemonSetController {
        client: ctx.client.clone(),
        sets,
        pods,
        nodes,
        revisions: ctx.informers.get::<ControllerRevision>(),
        control,
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for DaemonSetController {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let preamble = Preamble {
            client: &self.client,
            owners: &self.sets,
            pods: &self.pods,
            expectations: Some(self.control.expectations()),
            selector: |ds: &DaemonSet| ds.spec.as_ref().map(|s| &s.selector),
            skip_deleting_pods: true,
        };
        let Some(Owned {
            object: ds,
            namespace: ns,
            owner,
            live,
            pods: owned,
        }) = claim_owned_pods(preamble, key).await?
        else {
            return Ok(None);
        };
        let name = owner.name.as_str();
        let spec = ds.spec.clone().unwrap_or_default();
        let hash = compute_hash(
            &spec.template,
            ds.status.as_ref().and_then(|s| s.collision_count),
        );
        if ds.metadata.deletion_timestamp.is_none() {
            // Upstream labels a DaemonSet revision with its template's labels plus the hash.
            let mut labels = spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default();
            labels.insert(super::plan::REVISION_HASH.into(), hash.clone());
            let wanted = revision_object(
                &owner,
                Some(ns.clone()),
                &format!("{name}-{hash}"),
                &spec.template,
                labels,
            );
            let in_use: HashSet<String> = owned
                .iter()
                .filter_map(|p| {
                    p.metadata
                        .labels
                        .as_ref()?
                        .get(super::plan::REVISION_HASH)
                        .map(|h| format!("{name}-{h}"))
                })
                .collect();
            let limit = usize::try_from(spec.revision_history_limit.unwrap_or(10)).unwrap_or(10);
            let steps = plan_history(
                &owned_by(&self.revisions.list(), &ns, &owner.uid),
                wanted,
                limit,
                &in_use,
            );
            history::apply(&self.client, &ns, &steps).await?;
        }
        let p = plan(&ds, &self.nodes.list(), &owned, &hash, now_seconds());
        let about = ds.object_ref(&());
        let mut error = None;
        if self.control.expectations().satisfied(key) && ds.metadata.deletion_timestamp.is_none() {
            if !p.delete.is_empty() {
                error = self.control.delete(key, &p.delete, &about).await;
            }
            if !p.create_on.is_empty() {
                let new_pods = p
                    .create_on
                    .iter()
                    .map(|n| pod_for_node(&ds, n, &hash))
                    .collect();
                error = error.or(self.control.create(key, new_pods, &about).await);
            }
        }
        if !semantically_equal(&ds.status, &p.status) {
            update_status(&live, &ds, &json!(p.status)).await?;
        }
        match error {
            Some(e) => Err(SyncError::Partial(e)),
            // Re-check availability once minReadySeconds may have passed.
            None => Ok(spec
                .min_ready_seconds
                .filter(|s| *s > 0 && p.status.number_unavailable.is_some_and(|n| n > 0))
                .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)))),
        }
    }
}
