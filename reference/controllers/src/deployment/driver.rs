//! The Deployment driver: watches Deployments, ReplicaSets and Pods, adopts / releases
//! ReplicaSets, and carries out the plan's steps in order. Entry point: [`start`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Resource as _, ResourceExt};
use serde_json::json;

use crate::util::status::update_status;
use tokio::task::JoinHandle;

use super::plan::{self, Input, Step, create_error};
use super::util::equal_ignore_hash;
use crate::replicaset::driver::error_text;
use crate::runtime::context::Ctx;
use crate::runtime::events::EventSink;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, key_of, spawn_resync, spawn_watch, split_key,
};
use crate::util::owner::{
    Claim, ClaimInput, Owner, adopt_patch, claim, controller_of, release_patch,
};
use crate::util::selector::{from_label_selector, matches};
use crate::util::time::now_seconds;

/// Upstream `--concurrent-deployment-syncs` default.
pub const DEFAULT_WORKERS: usize = 5;
const NAME: &str = "deployment";

struct DeploymentController {
    client: kube::Client,
    deployments: Arc<Informer<Deployment>>,
    rss: Arc<Informer<ReplicaSet>>,
    pods: Arc<Informer<Pod>>,
    events: EventSink,
}

/// Starts the deployment controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let deployments = ctx.informers.get::<Deployment>();
    let rss = ctx.informers.get::<ReplicaSet>();
    let pods = ctx.informers.get::<Pod>();
    let mut tasks = Vec::new();
    let resync = {
        let (d, q) = (deployments.clone(), queue.clone());
        move || enqueue_all(&d, &q)
    };
    let q = queue.clone();
    tasks.push(spawn_watch(
        &deployments,
        move |c: &Change<Deployment>| {
            c.latest()
                .into_iter()
                .for_each(|d| q.add(key_of(d.as_ref())))
        },
        resync.clone(),
    ));
    let (q, d) = (queue.clone(), deployments.clone());
    tasks.push(spawn_watch(
        &rss,
        move |c: &Change<ReplicaSet>| {
            for rs in c.old.iter().chain(c.new.iter()) {
                for key in deployments_of(&d, rs) {
                    q.add(key);
                }
            }
        },
        resync.clone(),
    ));
    let (q, d, r) = (queue.clone(), deployments.clone(), rss.clone());
    tasks.push(spawn_watch(
        &pods,
        move |c: &Change<Pod>| {
            // Recreate waits for old pods to go away: a pod deletion may unblock it.
            let Some(pod) = c.old.as_ref().filter(|_| c.is_delete()) else {
                return;
            };
            let Some(owner) = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet")
            else {
                return;
            };
            if let Some(rs) = r.get(pod.metadata.namespace.as_deref(), &owner.name) {
                deployments_of(&d, &rs).into_iter().for_each(|k| q.add(k));
            }
        },
        resync,
    ));
    tasks.push(spawn_resync(
        deployments.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(DeploymentController {
        client: ctx.client.clone(),
        deployments,
        rss,
        pods,
        events: ctx.events("deployment-controller"),
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

/// The deployments a ReplicaSet concerns: its controller, or for an orphan every
/// deployment whose selector matches it.
fn deployments_of(deployments: &Informer<Deployment>, rs: &ReplicaSet) -> Vec<String> {
    let ns = rs.metadata.namespace.as_deref();
    if let Some(r) = controller_of(&rs.metadata) {
        if r.kind != "Deployment" {
            return Vec::new();
        }
        return deployments
            .get(ns, &r.name)
            .filter(|d| d.metadata.uid.as_deref() == Some(r.uid.as_str()))
            .map(|d| vec![key_of(d.as_ref())])
            .unwrap_or_default();
    }
    deployments
        .list()
        .into_iter()
        .filter(|d| d.metadata.namespace.as_deref() == ns)
        .filter(|d| {
            let sel = from_label_selector(d.spec.as_ref().map(|s| &s.selector))
                .ok()
                .flatten();
            matches(sel.as_ref(), rs.metadata.labels.as_ref())
        })
        .map(|d| key_of(d.as_ref()))
        .collect()
}

#[async_trait::async_trait]
impl Reconciler for DeploymentController {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        let Some(d) = self.deployments.get(ns, name) else {
            return Ok(None);
        };
        let ns = d.namespace().unwrap_or_default();
        let owned = self.claim_replica_sets(&d, &ns, key).await?;
        let uids: Vec<String> = owned
            .iter()
            .filter_map(|rs| rs.metadata.uid.clone())
            .collect();
        let mut pods_by_rs: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for pod in self
            .pods
            .list()
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(ns.as_str()))
        {
            if let Some(r) = controller_of(&pod.metadata).filter(|r| uids.contains(&r.uid)) {
                pods_by_rs
                    .entry(r.uid.clone())
                    .or_default()
                    .push(pod.clone());
            }
        }
        let now = now_seconds();
        let plan = plan::plan(Input {
            d: &d,
            rss: owned,
            pods_by_rs: &pods_by_rs,
            now,
        })
        .map_err(|e| SyncError::Invalid {
            key: key.into(),
            message: e.to_string(),
        })?;
        let about = d.object_ref(&());
        let d_api: Api<Deployment> = Api::namespaced(self.client.clone(), &ns);
        let rs_api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
        for step in &plan.steps {
            self.apply(step, &d, &d_api, &rs_api, &about, now).await?;
        }
        if let Some(status) = &plan.status {
            update_status(&d_api, &d, &json!(status)).await?;
        }
        Ok(plan.requeue)
    }
}

impl DeploymentController {
    /// `getReplicaSetsForDeployment`: claim ReplicaSets by the deployment's selector.
    async fn claim_replica_sets(
        &self,
        d: &Deployment,
        ns: &str,
        key: &str,
    ) -> Result<Vec<ReplicaSet>, SyncError> {
        let selector = from_label_selector(d.spec.as_ref().map(|s| &s.selector)).map_err(|e| {
            SyncError::Invalid {
                key: key.into(),
                message: e.to_string(),
            }
        })?;
        let owner = Owner::new(
            "apps/v1",
            "Deployment",
            &d.name_any(),
            d.metadata.uid.as_deref().unwrap_or_default(),
        );
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), ns);
        let mut owned = Vec::new();
        let mut live_checked: Option<bool> = None;
        for rs in self
            .rss
            .list()
            .into_iter()
            .filter(|r| r.metadata.namespace.as_deref() == Some(ns))
        {
            let decision = claim(ClaimInput {
                owner_uid: &owner.uid,
                owner_deleting: d.metadata.deletion_timestamp.is_some(),
                matches: matches(selector.as_ref(), rs.metadata.labels.as_ref()),
                controller_uid: controller_of(&rs.metadata).map(|r| r.uid.as_str()),
                object_deleting: rs.metadata.deletion_timestamp.is_some(),
            });
            match decision {
                Claim::Keep => owned.push((*rs).clone()),
                Claim::Ignore => {}
                Claim::Release => {
                    if let Err(e) = api
                        .patch(
                            &rs.name_any(),
                            &PatchParams::default(),
                            &Patch::Merge(release_patch(&rs.metadata, &owner.uid)),
                        )
                        .await
                        && !matches!(&e, kube::Error::Api(s) if s.code == 404)
                    {
                        return Err(e.into());
                    }
                }
                Claim::Adopt => {
                    if live_checked.is_none() {
                        let d_api: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
                        let fresh = d_api.get_opt(&d.name_any()).await?;
                        live_checked = Some(fresh.is_some_and(|f| {
                            f.metadata.uid == d.metadata.uid
                                && f.metadata.deletion_timestamp.is_none()
                        }));
                    }
                    if live_checked == Some(true) {
                        match api
                            .patch(
                                &rs.name_any(),
                                &PatchParams::default(),
                                &Patch::Merge(adopt_patch(&rs.metadata, &owner)),
                            )
                            .await
                        {
                            Ok(adopted) => owned.push(adopted),
                            Err(kube::Error::Api(s)) if s.code == 404 => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
            }
        }
        Ok(owned)
    }

    async fn apply(
        &self,
        step: &Step,
        d: &Deployment,
        d_api: &Api<Deployment>,
        rs_api: &Api<ReplicaSet>,
        about: &ObjectReference,
        now: k8s_openapi::jiff::Timestamp,
    ) -> Result<(), SyncError> {
        match step {
            Step::CreateRs { rs, event } => match rs_api.create(&PostParams::default(), rs).await {
                Ok(_) => {
                    if let Some(e) = event {
                        self.events.emit(about, e).await;
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let name = rs.name_any();
                    let existing = rs_api.get(&name).await?;
                    let ours = controller_of(&existing.metadata)
                        .is_some_and(|r| Some(r.uid.as_str()) == d.metadata.uid.as_deref());
                    let same = match (
                        existing.spec.as_ref().and_then(|s| s.template.as_ref()),
                        d.spec.as_ref(),
                    ) {
                        (Some(t), Some(spec)) => equal_ignore_hash(t, &spec.template),
                        _ => false,
                    };
                    if !(ours && same) {
                        // A hash collision: bump collisionCount so the next sync hashes anew.
                        let count = d
                            .status
                            .as_ref()
                            .and_then(|s| s.collision_count)
                            .unwrap_or(0)
                            + 1;
                        update_status(d_api, d, &json!({"collisionCount": count})).await?;
                        return Err(SyncError::Partial(format!(
                            "replicasets.apps {name:?} already exists"
                        )));
                    }
                }
                Err(e) => {
                    let text = error_text(&e);
                    let (status, event) = create_error(d, &rs.name_any(), &text, now);
                    self.events.emit(about, &event).await;
                    if let Some(status) = status {
                        update_status(d_api, d, &json!(status)).await?;
                    }
                    return Err(e.into());
                }
            },
            Step::UpdateRs { rs, event } => {
                let spec = rs.spec.clone().unwrap_or_default();
                let patch = json!({
                    "metadata": {"annotations": rs.metadata.annotations, "resourceVersion": rs.metadata.resource_version},
                    "spec": {"replicas": spec.replicas, "minReadySeconds": spec.min_ready_seconds},
                });
                rs_api
                    .patch(
                        &rs.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(patch),
                    )
                    .await?;
                if let Some(e) = event {
                    self.events.emit(about, e).await;
                }
            }
            Step::DeleteRs { name } => match rs_api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            },
            Step::SetRevision(rev) => {
                // An update, as upstream's: the controller's role may not patch Deployments.
                let mut updated = d.clone();
                updated
                    .metadata
                    .annotations
                    .get_or_insert_with(Default::default)
                    .insert(super::util::REVISION.to_string(), rev.to_string());
                d_api
                    .replace(&d.name_any(), &PostParams::default(), &updated)
                    .await?;
            }
            Step::Event(e) => self.events.emit(about, e).await,
        }
        Ok(())
    }
}
