//! The disruption driver: watches PodDisruptionBudgets and Pods, looks up the scale of
//! the pods' controllers (ReplicationController, Deployment through its ReplicaSet,
//! ReplicaSet, StatefulSet, and any other kind through its scale subresource) and writes the planned status with the budget's
//! resourceVersion, so a racing eviction's write wins and the sync retries. It also
//! starts the stale `DisruptionTarget` cleanup ([`super::cleanup`]).
//! Entry point: [`start`].

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, PostParams};
use kube::{Resource as _, ResourceExt};
use refkube_helpers::labels::label_selector_matches;
use tokio::task::JoinHandle;

use super::plan::{Scale, plan};
use crate::runtime::context::Ctx;
use crate::runtime::events::EventSink;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, key_of, spawn_resync, spawn_watch, split_key,
};
use crate::util::owner::controller_of;
use crate::util::time::now_seconds;

const NAME: &str = "disruption";
/// Upstream runs one worker.
const WORKERS: usize = 1;

struct Disruption {
    client: kube::Client,
    pdbs: Arc<Informer<PodDisruptionBudget>>,
    pods: Arc<Informer<Pod>>,
    rcs: Arc<Informer<ReplicationController>>,
    rss: Arc<Informer<ReplicaSet>>,
    deployments: Arc<Informer<Deployment>>,
    statefulsets: Arc<Informer<StatefulSet>>,
    events: EventSink,
}

/// The budgets in the pod's namespace that select it.
fn budgets_for(pdbs: &Informer<PodDisruptionBudget>, pod: &Pod) -> Vec<String> {
    let labels = pod.labels();
    pdbs.list()
        .into_iter()
        .filter(|b| b.metadata.namespace == pod.metadata.namespace)
        .filter(|b| {
            let sel = b.spec.as_ref().and_then(|s| s.selector.as_ref());
            label_selector_matches(sel, labels)
        })
        .map(|b| key_of(b.as_ref()))
        .collect()
}

/// Starts the disruption controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let pdbs = ctx.informers.get::<PodDisruptionBudget>();
    let pods = ctx.informers.get::<Pod>();
    let resync = {
        let (p, q) = (pdbs.clone(), queue.clone());
        move || enqueue_all(&p, &q)
    };
    let q = queue.clone();
    let mut tasks = vec![spawn_watch(
        &pdbs,
        move |c: &Change<PodDisruptionBudget>| {
            if let Some(b) = c.latest() {
                q.add(key_of(b.as_ref()));
            }
        },
        resync.clone(),
    )];
    let (q, p) = (queue.clone(), pdbs.clone());
    tasks.push(spawn_watch(
        &pods,
        move |c: &Change<Pod>| {
            // An old and a new version may be selected by different budgets.
            for pod in c.old.iter().chain(c.new.iter()) {
                budgets_for(&p, pod).into_iter().for_each(|k| q.add(k));
            }
        },
        resync,
    ));
    tasks.push(spawn_resync(
        pdbs.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(Disruption {
        client: ctx.client.clone(),
        pdbs,
        pods,
        rcs: ctx.informers.get::<ReplicationController>(),
        rss: ctx.informers.get::<ReplicaSet>(),
        deployments: ctx.informers.get::<Deployment>(),
        statefulsets: ctx.informers.get::<StatefulSet>(),
        events: ctx.events("controllermanager"),
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, WORKERS));
    tasks.extend(super::cleanup::start(ctx));
    tasks
}

impl Disruption {
    /// Upstream's finders, in their order: the controller of a pod and its scale.
    fn find(&self, o: &OwnerReference, ns: &str) -> Option<Scale> {
        let scale = |uid: &Option<String>, replicas: Option<i32>| Scale {
            uid: uid.clone().unwrap_or_default(),
            replicas: replicas.unwrap_or(1),
        };
        let live = |uid: &Option<String>| uid.as_deref() == Some(o.uid.as_str());
        match o.kind.as_str() {
            "ReplicationController" => {
                let rc = self
                    .rcs
                    .get(Some(ns), &o.name)
                    .filter(|r| live(&r.metadata.uid))?;
                Some(scale(&rc.metadata.uid, rc.spec.as_ref()?.replicas))
            }
            "ReplicaSet" => {
                let rs = self
                    .rss
                    .get(Some(ns), &o.name)
                    .filter(|r| live(&r.metadata.uid))?;
                if let Some(d) = controller_of(&rs.metadata).filter(|d| d.kind == "Deployment")
                    && let Some(dep) = self
                        .deployments
                        .get(Some(ns), &d.name)
                        .filter(|x| x.metadata.uid.as_deref() == Some(d.uid.as_str()))
                {
                    return Some(scale(&dep.metadata.uid, dep.spec.as_ref()?.replicas));
                }
                // A set whose Deployment is gone still answers through its scale.
                Some(scale(&rs.metadata.uid, rs.spec.as_ref()?.replicas))
            }
            "StatefulSet" => {
                let ss = self
                    .statefulsets
                    .get(Some(ns), &o.name)
                    .filter(|s| live(&s.metadata.uid))?;
                Some(scale(&ss.metadata.uid, ss.spec.as_ref()?.replicas))
            }
            _ => None,
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for Disruption {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        let Some(pdb) = self.pdbs.get(ns, name) else {
            return Ok(None);
        };
        let sel = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
        let pods: Vec<Arc<Pod>> = self
            .pods
            .list()
            .into_iter()
            .filter(|p| p.metadata.namespace == pdb.metadata.namespace)
            .filter(|p| label_selector_matches(sel, p.labels()))
            .collect();
        let others = super::scale::scales_by_subresource(&self.client, &pods).await;
        let find =
            |o: &OwnerReference, ns: &str| self.find(o, ns).or_else(|| others.get(&o.uid).cloned());
        let p = plan(&pdb, &pods, &find, now_seconds());
        let about = pdb.object_ref(&());
        self.events.emit_all(&about, &p.events).await;
        for (pod_name, event) in &p.pod_events {
            if let Some(pod) = pods
                .iter()
                .find(|x| x.metadata.name.as_deref() == Some(pod_name))
            {
                self.events.emit(&pod.object_ref(&()), event).await;
            }
        }
        if let Some(status) = p.status {
            let mut updated = (*pdb).clone();
            updated.status = Some(status);
            let api: Api<PodDisruptionBudget> =
                Api::namespaced(self.client.clone(), ns.unwrap_or_default());
            api.replace_status(name, &PostParams::default(), &updated)
                .await?;
        }
        Ok(p.recheck)
    }
}
