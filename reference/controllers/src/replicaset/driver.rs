//! The ReplicaSet / ReplicationController driver: watches the controller kind and pods,
//! and carries out the plan (adopt, release, create in slow-start batches, delete, status).
//! Entry point: [`start`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use tokio::task::JoinHandle;

use super::kind::{ReplicaKind, status_patch};
use super::plan::{self, ManageError, ReplicaAction, ReplicaSetView};
use crate::runtime::context::Ctx;
use crate::runtime::expectations::Expectations;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::podcontrol::PodControl;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, enqueue_owner, key_of, spawn_resync, spawn_watch, split_key,
};
use crate::util::owner::{adopt_patch, controller_of, release_patch};
use crate::util::pods::{self, is_active};
use crate::util::selector::matches;
use crate::util::status::update_status;
use crate::util::time::now;

/// Upstream `--concurrent-replicaset-syncs` / `--concurrent-rc-syncs` default.
pub const DEFAULT_WORKERS: usize = 5;

struct ReplicaController<K: ReplicaKind> {
    client: kube::Client,
    owners: Arc<Informer<K>>,
    pods: Arc<Informer<Pod>>,
    expectations: Arc<Expectations>,
    control: PodControl,
    burst: usize,
    _kind: PhantomData<K>,
}

/// Starts the controller for kind `K`; returns its tasks (they end when `queue` shuts down).
pub fn start<K: ReplicaKind>(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let owners = ctx.informers.get::<K>();
    let pods = ctx.informers.get::<Pod>();
    let expectations = Arc::new(Expectations::new(ctx.config.expectations_timeout));
    let mut tasks = Vec::new();

    let (o, o2) = (owners.clone(), owners.clone());
    tasks.push(spawn_watch(
        &owners,
        enqueue_owner(queue.clone(), expectations.clone()),
        {
            let q = queue.clone();
            move || enqueue_all(&o, &q)
        },
    ));
    let (q, e) = (queue.clone(), expectations.clone());
    let q2 = queue.clone();
    let o3 = owners.clone();
    tasks.push(spawn_watch(
        &pods,
        move |c: &Change<Pod>| on_pod_change(&o2, &e, &q, c),
        move || enqueue_all(&o3, &q2),
    ));
    tasks.push(spawn_resync(
        owners.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));

    let reconciler = Arc::new(ReplicaController::<K> {
        client: ctx.client.clone(),
        owners,
        pods,
        control: PodControl::new(
            ctx.client.clone(),
            ctx.events(K::COMPONENT),
            expectations.clone(),
        ),
        expectations,
        burst: ctx.config.burst_replicas,
        _kind: PhantomData,
    });
    tasks.push(ctx.spawn_workers(K::CONTROLLER, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

/// The controllers a pod concerns: its controller if it is one of ours, else (an orphan)
/// every controller whose selector matches it.
fn owners_of<K: ReplicaKind>(owners: &Informer<K>, pod: &Pod) -> Vec<String> {
    let ns = pod.namespace().unwrap_or_default();
    if let Some(r) = controller_of(&pod.metadata) {
        if r.kind != K::kind(&()) {
            return Vec::new();
        }
        return owners
            .get(Some(&ns), &r.name)
            .filter(|o| o.meta().uid.as_deref() == Some(r.uid.as_str()))
            .map(|o| vec![key_of(o.as_ref())])
            .unwrap_or_default();
    }
    owners
        .list()
        .into_iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(ns.as_str()))
        .filter(|o| {
            o.view()
                .is_ok_and(|v| matches(v.selector.as_ref(), pod.metadata.labels.as_ref()))
        })
        .map(|o| key_of(o.as_ref()))
        .collect()
}

fn on_pod_change<K: ReplicaKind>(
    owners: &Informer<K>,
    exp: &Expectations,
    queue: &WorkQueue,
    change: &Change<Pod>,
) {
    let Some(pod) = change.latest() else { return };
    let pod_key = pods::key(pod);
    let mut keys = owners_of(owners, pod);
    let deleted = change.is_delete() || pod.metadata.deletion_timestamp.is_some();
    for key in &keys {
        if deleted {
            exp.deletion_observed(key, &pod_key);
        } else if change.is_add() && controller_of(&pod.metadata).is_some() {
            exp.creation_observed(key);
        }
    }
    // A label or owner change may concern the controller the pod used to belong to.
    if let Some(old) = &change.old
        && (old.metadata.labels != pod.metadata.labels
            || controller_of(&old.metadata) != controller_of(&pod.metadata))
    {
        keys.extend(owners_of(owners, old));
    }
    for key in keys {
        queue.add(key);
    }
}

#[async_trait::async_trait]
impl<K: ReplicaKind> Reconciler for ReplicaController<K> {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        let Some(obj) = self.owners.get(ns, name) else {
            self.expectations.delete(key);
            return Ok(None);
        };
        let rs = obj.view().map_err(|e| SyncError::Invalid {
            key: key.into(),
            message: e.to_string(),
        })?;
        let needs_sync = self.expectations.satisfied(key);
        let active: Vec<Arc<Pod>> = self
            .pods
            .list()
            .into_iter()
            .filter(|p| {
                p.metadata.namespace.as_deref() == Some(rs.namespace.as_str()) && is_active(p)
            })
            .collect();
        let owned = self.claim(&rs, &active).await?;
        let now = now();
        let object_ref = obj.object_ref(&());

        let mut error = None;
        if needs_sync && !rs.deleting {
            let related = self.related_pods(&rs, &active);
            match plan::manage(&rs, &owned, &related, self.burst, now) {
                ReplicaAction::Nothing => {}
                ReplicaAction::Create(n) => {
                    let pods = vec![plan::pod_from_template(&rs); n];
                    error = self
                        .control
                        .create(key, pods, &object_ref)
                        .await
                        .map(|message| ManageError {
                            creating: true,
                            message,
                        });
                }
                ReplicaAction::Delete(victims) => {
                    error = self
                        .control
                        .delete(key, &victims, &object_ref)
                        .await
                        .map(|message| ManageError {
                            creating: false,
                            message,
                        });
                }
            }
        }
        let status = plan::calculate_status(&rs, &owned, error.as_ref(), now);
        if status != rs.status {
            let api: Api<K> = Api::namespaced(self.client.clone(), &rs.namespace);
            update_status(&api, &obj, &status_patch(&status)["status"]).await?;
        }
        if let Some(e) = error {
            return Err(SyncError::Partial(e.message));
        }
        Ok(plan::requeue_after(&rs, &status))
    }
}

impl<K: ReplicaKind> ReplicaController<K> {
    /// Adopts and releases per the claim rules; returns the pods we own afterwards.
    async fn claim(
        &self,
        rs: &ReplicaSetView,
        active: &[Arc<Pod>],
    ) -> Result<Vec<Arc<Pod>>, SyncError> {
        let claimed = plan::claim_pods(rs, active);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &rs.namespace);
        let mut owned = claimed.kept;
        if !claimed.adopt.is_empty() {
            // Re-read the owner live: never adopt on behalf of a deleted or replaced object.
            let live: Api<K> = Api::namespaced(self.client.clone(), &rs.namespace);
            let fresh = live.get_opt(&rs.owner.name).await?;
            let can_adopt = fresh.is_some_and(|f| {
                f.meta().uid.as_deref() == Some(rs.owner.uid.as_str())
                    && f.meta().deletion_timestamp.is_none()
            });
            if can_adopt {
                for pod in claimed.adopt {
                    match api
                        .patch(
                            &pod.name_any(),
                            &PatchParams::default(),
                            &Patch::Merge(adopt_patch(&pod.metadata, &rs.owner)),
                        )
                        .await
                    {
                        Ok(p) => owned.push(Arc::new(p)),
                        Err(kube::Error::Api(s)) if s.code == 404 => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        for pod in claimed.release {
            match api
                .patch(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(release_patch(&pod.metadata, &rs.owner.uid)),
                )
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(owned)
    }

    /// Active pods of every controller sharing this one's owner (for deletion ranks).
    fn related_pods(&self, rs: &ReplicaSetView, active: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
        let sibling_uids: Vec<String> = match &rs.controller_uid {
            None => vec![rs.owner.uid.clone()],
            Some(owner_uid) => self
                .owners
                .list()
                .iter()
                .filter(|o| o.meta().namespace.as_deref() == Some(rs.namespace.as_str()))
                .filter(|o| controller_of(o.meta()).is_some_and(|r| &r.uid == owner_uid))
                .filter_map(|o| o.meta().uid.clone())
                .collect(),
        };
        active
            .iter()
            .filter(|p| controller_of(&p.metadata).is_some_and(|r| sibling_uids.contains(&r.uid)))
            .cloned()
            .collect()
    }
}

pub use crate::runtime::podcontrol::error_text;
