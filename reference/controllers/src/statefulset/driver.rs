//! The StatefulSet driver: watches StatefulSets, Pods and claims; creates claims and pods
//! by name, deletes pods, writes status, with upstream's event texts.
//! Entry point: [`start`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Resource as _, ResourceExt};
use serde_json::json;
use tokio::task::JoinHandle;

use super::plan::plan;
use crate::deployment::util::compute_hash;
use crate::runtime::context::Ctx;
use crate::runtime::events::{EventSink, PlannedEvent};
use crate::runtime::history::{self, owned_by, plan_history, revision_object};
use crate::runtime::informers::{Change, Informer};
use crate::runtime::owned::{Owned, Preamble, claim_owned_pods};
use crate::runtime::podcontrol::error_text;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, key_of, spawn_resync, spawn_watch,
};
use crate::util::json::semantically_equal;
use crate::util::owner::controller_key;
use crate::util::status::update_status;
use crate::util::time::now_seconds;

/// Upstream `--concurrent-statefulset-syncs` default.
pub const DEFAULT_WORKERS: usize = 5;
const NAME: &str = "statefulset";

struct StatefulSetController {
    client: kube::Client,
    sets: Arc<Informer<StatefulSet>>,
    pods: Arc<Informer<Pod>>,
    claims: Arc<Informer<PersistentVolumeClaim>>,
    revisions: Arc<Informer<ControllerRevision>>,
    events: EventSink,
}

/// Starts the StatefulSet controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let sets = ctx.informers.get::<StatefulSet>();
    let pods = ctx.informers.get::<Pod>();
    let claims = ctx.informers.get::<PersistentVolumeClaim>();
    let resync = {
        let (s, q) = (sets.clone(), queue.clone());
        move || enqueue_all(&s, &q)
    };
    let q = queue.clone();
    let mut tasks = vec![spawn_watch(
        &sets,
        move |c: &Change<StatefulSet>| {
            c.latest()
                .into_iter()
                .for_each(|s| q.add(key_of(s.as_ref())))
        },
        resync.clone(),
    )];
    let (q, s) = (queue.clone(), sets.clone());
    tasks.push(spawn_watch(
        &pods,
        move |c: &Change<Pod>| {
            let Some(pod) = c.latest() else { return };
            match controller_key(&pod.metadata, "StatefulSet") {
                Some(key) => q.add(key),
                None => s
                    .list()
                    .iter()
                    .filter(|x| x.metadata.namespace == pod.metadata.namespace)
                    .for_each(|x| q.add(key_of(x.as_ref()))),
            }
        },
        resync,
    ));
    tasks.push(spawn_resync(
        sets.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(StatefulSetController {
        client: ctx.client.clone(),
        sets,
        pods,
        claims,
        revisions: ctx.informers.get::<ControllerRevision>(),
        events: ctx.events("statefulset-controller"),
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

fn already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

#[async_trait::async_trait]
impl Reconciler for StatefulSetController {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let preamble = Preamble {
            client: &self.client,
            owners: &self.sets,
            pods: &self.pods,
            expectations: None,
            selector: |set: &StatefulSet| set.spec.as_ref().map(|s| &s.selector),
            skip_deleting_pods: false,
        };
        let Some(Owned {
            object: set,
            namespace: ns,
            owner,
            live,
            pods: owned,
        }) = claim_owned_pods(preamble, key).await?
        else {
            return Ok(None);
        };
        let name = owner.name.as_str();
        let spec = set.spec.clone().unwrap_or_default();
        let claims: HashSet<String> = self
            .claims
            .list()
            .iter()
            .filter(|c| c.metadata.namespace.as_deref() == Some(ns.as_str()))
            .map(|c| c.name_any())
            .collect();
        let revision = format!(
            "{name}-{}",
            compute_hash(
                &spec.template,
                set.status.as_ref().and_then(|s| s.collision_count)
            )
        );
        if set.metadata.deletion_timestamp.is_none() {
            let labels = spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default();
            let wanted =
                revision_object(&owner, Some(ns.clone()), &revision, &spec.template, labels);
            let in_use: HashSet<String> = owned
                .iter()
                .filter_map(|p| {
                    p.metadata
                        .labels
                        .as_ref()?
                        .get(super::plan::REVISION)
                        .cloned()
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
        let p = plan(&set, &owned, &claims, &revision, now_seconds());
        let about = set.object_ref(&());
        if set.metadata.deletion_timestamp.is_none() {
            let claim_api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &ns);
            let pod_api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
            for claim in &p.claims {
                let claim_name = claim.name_any();
                let pod_name = p.create.first().map(|x| x.name_any()).unwrap_or_default();
                match claim_api.create(&PostParams::default(), claim).await {
                    Ok(_) => self.events.emit(&about, &PlannedEvent::normal("SuccessfulCreate", format!("create Claim {claim_name} Pod {pod_name} in StatefulSet {name} success"))).await,
                    Err(e) if already_exists(&e) => {}
                    Err(e) => {
                        let msg = format!("create Claim {claim_name} for Pod {pod_name} in StatefulSet {name} failed error: {}", error_text(&e));
                        self.events.emit(&about, &PlannedEvent::warning("FailedCreate", msg)).await;
                        return Err(e.into());
                    }
                }
            }
            for pod in &p.create {
                let pod_name = pod.name_any();
                match pod_api.create(&PostParams::default(), pod).await {
                    Ok(_) => {
                        self.events
                            .emit(
                                &about,
                                &PlannedEvent::normal(
                                    "SuccessfulCreate",
                                    format!(
                                        "create Pod {pod_name} in StatefulSet {name} successful"
                                    ),
                                ),
                            )
                            .await
                    }
                    Err(e) if already_exists(&e) => {}
                    Err(e) => {
                        let msg = format!(
                            "create Pod {pod_name} in StatefulSet {name} failed error: {}",
                            error_text(&e)
                        );
                        self.events
                            .emit(&about, &PlannedEvent::warning("FailedCreate", msg))
                            .await;
                        return Err(e.into());
                    }
                }
            }
            for pod in &p.delete {
                let pod_name = pod.name_any();
                match pod_api.delete(&pod_name, &DeleteParams::default()).await {
                    Ok(_) => {
                        self.events
                            .emit(
                                &about,
                                &PlannedEvent::normal(
                                    "SuccessfulDelete",
                                    format!(
                                        "delete Pod {pod_name} in StatefulSet {name} successful"
                                    ),
                                ),
                            )
                            .await
                    }
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        let msg = format!(
                            "delete Pod {pod_name} in StatefulSet {name} failed error: {}",
                            error_text(&e)
                        );
                        self.events
                            .emit(&about, &PlannedEvent::warning("FailedDelete", msg))
                            .await;
                        return Err(e.into());
                    }
                }
            }
        }
        if !semantically_equal(&set.status, &p.status) {
            update_status(&live, &set, &json!(p.status)).await?;
        }
        Ok(spec
            .min_ready_seconds
            .filter(|s| *s > 0 && p.status.ready_replicas != p.status.available_replicas)
            .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0))))
    }
}
