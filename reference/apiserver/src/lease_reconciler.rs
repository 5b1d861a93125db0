//! Keeps the `default/kubernetes` Endpoints listing every live API server: each server
//! renews its lease every `endpoint_reconciler_interval` and rewrites the Endpoints and
//! EndpointSlice from the live leases, as upstream's lease endpoint reconciler does.
//!
//! Entry points: [`reconcile`] (renew, then sync), [`remove`] (graceful shutdown:
//! upstream's `RemoveEndpoints`) and [`spawn`] (the periodic loop). The decisions are
//! in [`crate::lease_endpoints`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use refkube_resources::ResourceInfo;
use refkube_store::{ListOptions, StoreError};
use serde_json::Value;
use tokio::sync::watch;

use crate::handlers::create::create_object;
use crate::keys;
use crate::lease_endpoints::{
    LEASES_PREFIX, endpoints, lease_key, lease_value, read_lease, slice, sort_leases,
};
use crate::state::AppState;
use crate::status::ApiError;

/// Tries per write when other servers keep changing the same object.
const ATTEMPTS: usize = 5;

/// Renews this server's lease, then syncs the Endpoints with the live leases.
pub async fn reconcile(state: &AppState) -> Result<(), ApiError> {
    // Renewed first and whatever happens next, so other servers list this one even
    // when our own sync loses every race (upstream does the same).
    renew(state).await?;
    sync(state).await
}

/// Drops this server's lease and takes it out of the Endpoints, unless it is the last
/// one listed: upstream refuses to leave the `kubernetes` Service without endpoints.
pub async fn remove(state: &AppState) -> Result<(), ApiError> {
    match state.store.delete(&lease_key(state.advertise), None).await {
        Ok(_) | Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    sync(state).await
}

/// Runs [`reconcile`] every interval (the first run happened at start-up), and makes
/// sure the `kubernetes` Service exists, as upstream's bootstrap controller does, so a
/// start-up that could not create it (its address still held) catches up.
pub fn spawn(state: Arc<AppState>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // tokio's interval panics on zero.
        let every = state.config.endpoint_reconciler_interval;
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = crate::bootstrap::ensure_kubernetes_service(&state).await {
                tracing::warn!(error = %e.message, "ensuring the kubernetes Service failed");
            }
            if let Err(e) = reconcile(&state).await {
                tracing::warn!(error = %e.message, "reconciling the kubernetes endpoints failed");
            }
        }
    })
}

async fn renew(state: &AppState) -> Result<(), ApiError> {
    let key = lease_key(state.advertise);
    for _ in 0..ATTEMPTS {
        let ttl = TimeDelta::from_std(state.config.master_endpoint_reconcile_ttl)
            .unwrap_or(TimeDelta::MAX);
        let expires = Utc::now()
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let current = state.store.get(&key).await?;
        let generation = current
            .as_ref()
            .and_then(|kv| serde_json::from_slice::<Value>(&kv.value).ok())
            .and_then(|v| v["metadata"]["generation"].as_i64())
            .unwrap_or(0)
            + 1;
        let value = lease_value(state.advertise, expires, generation).to_string();
        let written = match current {
            Some(kv) => {
                state
                    .store
                    .update(&key, kv.mod_revision, value.into())
                    .await
            }
            None => state.store.create(&key, value.into()).await,
        };
        match written {
            Ok(_) => return Ok(()),
            // Another server deleted it as expired in between (we were late), or it
            // changed under us: read again.
            Err(
                StoreError::Conflict { .. }
                | StoreError::NotFound(_)
                | StoreError::AlreadyExists(_),
            ) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal(
        "renewing the API server lease kept conflicting",
    ))
}

/// Deletes expired leases and writes the Endpoints and EndpointSlice for the live ones.
async fn sync(state: &AppState) -> Result<(), ApiError> {
    let list = state
        .store
        .list(LEASES_PREFIX, ListOptions::default())
        .await?;
    let leases = list
        .items
        .into_iter()
        .map(|kv| (kv.key, kv.mod_revision, read_lease(&kv.value)));
    let (live, gone) = sort_leases(leases, Utc::now());
    for (key, rev) in gone {
        // Only at the revision read: a renewal since then keeps the lease.
        match state.store.delete(&key, Some(rev)).await {
            Ok(_) => tracing::info!(lease = %key, "removed an expired API server lease"),
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if live.is_empty() {
        return Err(ApiError::internal(
            "no API server addresses were listed in storage, refusing to erase all endpoints for the kubernetes Service",
        ));
    }
    let eps = put(state, registered("", "endpoints")?, |cur| {
        endpoints(cur, &live)
    })
    .await?;
    let slices = registered("discovery.k8s.io", "endpointslices")?;
    put(state, slices, |cur| slice(cur, &eps)).await?;
    Ok(())
}

fn registered(group: &str, plural: &str) -> Result<&'static ResourceInfo, ApiError> {
    refkube_resources::registry::lookup(group, "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not registered")))
}

/// Writes `default/kubernetes` of `info` as `want` says (None: it is right already),
/// re-reading after a lost race. Returns the object as it now stands.
async fn put(
    state: &AppState,
    info: &'static ResourceInfo,
    want: impl Fn(Option<&Value>) -> Option<Value>,
) -> Result<Value, ApiError> {
    let key = keys::key(info, Some("default"), "kubernetes");
    for _ in 0..ATTEMPTS {
        let current = match state.store.get(&key).await? {
            Some(kv) => Some((kv.mod_revision, keys::decode_kv(info, &kv)?)),
            None => None,
        };
        let Some(next) = want(current.as_ref().map(|(_, v)| v)) else {
            if let Some((_, v)) = current {
                return Ok(v);
            }
            break;
        };
        let mut next = next;
        crate::bootstrap::record_own_write(
            state,
            info,
            current.as_ref().map(|(_, v)| v),
            &mut next,
        );
        let stored = match current {
            Some((rev, _)) => {
                let bytes = keys::encode(info, &next)?;
                match state.store.update(&key, rev, bytes).await {
                    Ok(_) => true,
                    Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => false,
                    Err(e) => return Err(e.into()),
                }
            }
            None => match create_object(state, info, Some("default"), next.clone(), false).await {
                Ok(_) => true,
                Err(e) if e.reason == "AlreadyExists" => false,
                Err(e) => return Err(e),
            },
        };
        if stored {
            return Ok(next);
        }
    }
    Err(ApiError::internal(format!(
        "updating the kubernetes {} kept conflicting",
        info.plural
    )))
}
