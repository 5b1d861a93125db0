//! The PV binder driver: one queue of `volume:<name>` and `claim:<ns>/<name>` keys,
//! processed by a single worker so two claims never race for one volume (and each PV
//! write carries its resourceVersion as a second guard). Entry point: [`start`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Resource as _, ResourceExt};
use serde_json::json;
use tokio::task::JoinHandle;

use super::plan::{
    NO_VOLUME_NO_CLASS, VolumePhase, bound_pair, bound_to, claim_class, find_match, volume_phase,
};
use crate::runtime::context::Ctx;
use crate::runtime::events::{EventSink, PlannedEvent};
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, key_of, spawn_watch, split_key};
use crate::util::status::update_status;

const NAME: &str = "persistentvolume-binder";

struct Binder {
    client: kube::Client,
    volumes: Arc<Informer<PersistentVolume>>,
    claims: Arc<Informer<PersistentVolumeClaim>>,
    events: EventSink,
    /// Claims already told that nothing fits (one event per claim, not per resync).
    reported: Mutex<HashSet<String>>,
}

fn enqueue_everything(
    volumes: &Informer<PersistentVolume>,
    claims: &Informer<PersistentVolumeClaim>,
    q: &WorkQueue,
) {
    volumes
        .list()
        .iter()
        .for_each(|v| q.add(format!("volume:{}", v.name_any())));
    claims
        .list()
        .iter()
        .for_each(|c| q.add(format!("claim:{}", key_of(c.as_ref()))));
}

/// Starts the PV binder.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let volumes = ctx.informers.get::<PersistentVolume>();
    let claims = ctx.informers.get::<PersistentVolumeClaim>();
    let resync = {
        let (v, c, q) = (volumes.clone(), claims.clone(), queue.clone());
        move || enqueue_everything(&v, &c, &q)
    };
    let (q, c) = (queue.clone(), claims.clone());
    let mut tasks = vec![spawn_watch(
        &volumes,
        move |ch: &Change<PersistentVolume>| {
            let Some(v) = ch.latest() else { return };
            q.add(format!("volume:{}", v.name_any()));
            if let Some(r) = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) {
                q.add(format!(
                    "claim:{}/{}",
                    r.namespace.clone().unwrap_or_default(),
                    r.name.clone().unwrap_or_default()
                ));
            }
            // A volume that became free may satisfy a waiting claim.
            if v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_none() {
                c.list()
                    .iter()
                    .filter(|c| {
                        c.spec
                            .as_ref()
                            .and_then(|s| s.volume_name.as_deref())
                            .is_none_or(str::is_empty)
                    })
                    .for_each(|c| q.add(format!("claim:{}", key_of(c.as_ref()))));
            }
        },
        resync.clone(),
    )];
    let q = queue.clone();
    tasks.push(spawn_watch(
        &claims,
        move |ch: &Change<PersistentVolumeClaim>| {
            let Some(c) = ch.latest() else { return };
            q.add(format!("claim:{}", key_of(c.as_ref())));
            if let Some(v) = c
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.as_deref())
                .filter(|n| !n.is_empty())
            {
                q.add(format!("volume:{v}"));
            }
        },
        resync,
    ));
    let q = queue.clone();
    let (v2, c2) = (volumes.clone(), claims.clone());
    let period = ctx.config.resync_period;
    tasks.push(tokio::spawn(async move {
        if period.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        loop {
            tick.tick().await;
            enqueue_everything(&v2, &c2, &q);
        }
    }));
    let reconciler = Arc::new(Binder {
        client: ctx.client.clone(),
        volumes,
        claims,
        events: ctx.events("persistentvolume-controller"),
        reported: Mutex::default(),
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, 1));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for Binder {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        if let Some(name) = key.strip_prefix("volume:") {
            return self.sync_volume(name).await.map(|()| None);
        }
        if let Some(k) = key.strip_prefix("claim:") {
            return self.sync_claim(k).await.map(|()| None);
        }
        Err(SyncError::Invalid {
            key: key.into(),
            message: "unknown key kind".into(),
        })
    }
}

impl Binder {
    async fn sync_volume(&self, name: &str) -> Result<(), SyncError> {
        let Some(v) = self.volumes.get(None, name) else {
            return Ok(());
        };
        let claim = v
            .spec
            .as_ref()
            .and_then(|s| s.claim_ref.as_ref())
            .and_then(|r| {
                self.claims.get(
                    r.namespace.as_deref(),
                    r.name.as_deref().unwrap_or_default(),
                )
            });
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        match volume_phase(&v, claim.as_deref()) {
            VolumePhase::Set(phase) => {
                if v.status.as_ref().and_then(|s| s.phase.as_deref()) != Some(phase) {
                    update_status(&api, &v, &json!({"phase": phase})).await?;
                }
            }
            VolumePhase::Delete => match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            },
        }
        Ok(())
    }

    async fn set_claim_phase(
        &self,
        c: &PersistentVolumeClaim,
        phase: &str,
    ) -> Result<(), SyncError> {
        if c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) {
            return Ok(());
        }
        let api: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &c.namespace().unwrap_or_default());
        update_status(&api, c, &json!({"phase": phase})).await?;
        Ok(())
    }

    async fn sync_claim(&self, key: &str) -> Result<(), SyncError> {
        let (ns, name) = split_key(key);
        let Some(c) = self.claims.get(ns, name) else {
            self.reported().remove(key);
            return Ok(());
        };
        if c.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let wanted = c
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .filter(|n| !n.is_empty());
        let bound = c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        match wanted {
            Some(vol) => match self.volumes.get(None, &vol) {
                None if bound => {
                    let msg = "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!";
                    self.events
                        .emit(&c.object_ref(&()), &PlannedEvent::warning("ClaimLost", msg))
                        .await;
                    self.set_claim_phase(&c, "Lost").await
                }
                None => self.set_claim_phase(&c, "Pending").await,
                Some(v) if bound_to(&v, &c) && bound => self.set_claim_phase(&c, "Bound").await,
                Some(v)
                    if v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_none()
                        || bound_to(&v, &c) =>
                {
                    self.bind(&v, &c).await
                }
                // The named volume belongs to another claim: wait.
                Some(_) => self.set_claim_phase(&c, "Pending").await,
            },
            None => match find_match(&c, &self.volumes.list()) {
                Some(v) => self.bind(&v, &c).await,
                None => {
                    if claim_class(&c).is_empty() && self.reported().insert(key.to_string()) {
                        self.events
                            .emit(
                                &c.object_ref(&()),
                                &PlannedEvent::normal("FailedBinding", NO_VOLUME_NO_CLASS),
                            )
                            .await;
                    }
                    self.set_claim_phase(&c, "Pending").await
                }
            },
        }
    }

    fn reported(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.reported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Binds in upstream's order: volume (claimRef), volume Bound, claim (volumeName),
    /// claim Bound with the volume's capacity and access modes.
    async fn bind(&self, v: &PersistentVolume, c: &PersistentVolumeClaim) -> Result<(), SyncError> {
        let (volume, claim) = bound_pair(v, c);
        let pv_api: Api<PersistentVolume> = Api::all(self.client.clone());
        let volume = pv_api
            .replace(&v.name_any(), &PostParams::default(), &volume)
            .await?;
        update_status(&pv_api, &volume, &json!({"phase": "Bound"})).await?;
        let pvc_api: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &c.namespace().unwrap_or_default());
        let claim = pvc_api
            .replace(&c.name_any(), &PostParams::default(), &claim)
            .await?;
        let vs = volume.spec.clone().unwrap_or_default();
        let status =
            json!({"phase": "Bound", "accessModes": vs.access_modes, "capacity": vs.capacity});
        update_status(&pvc_api, &claim, &status).await?;
        self.reported().remove(&key_of(c));
        Ok(())
    }
}
