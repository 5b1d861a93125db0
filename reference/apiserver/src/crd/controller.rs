//! The API server's own CRD controllers, as upstream's apiextensions-apiserver runs them
//! in every API server: naming (NamesAccepted) and establishing (Established, held for
//! 5 s when several API servers run, as upstream does), serving the kinds of named CRDs
//! (listed in discovery once Established), and the finalizer that removes a deleted CRD's objects
//! before the CRD itself goes.
//!
//! Entry point: [`spawn`]. Every API server runs it; their status writes are guarded by
//! resourceVersion, so a second server's pass over the same CRD is a harmless conflict.

use std::sync::Arc;
use std::time::Duration;

use refkube_resources::ResourceInfo;
use refkube_store::{ListOptions, StoreError};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{CLEANUP_FINALIZER, crd_info, established, set_condition};
use crate::handlers::delete::{DeleteOptions, delete_object};
use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

/// How soon a CRD whose objects are still going is looked at again.
const CLEANUP_RECHECK: Duration = Duration::from_millis(250);
/// A full pass even without changes, so a lost status write is retried.
const RESYNC: Duration = Duration::from_secs(30);

pub fn spawn(state: Arc<AppState>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(info) = crd_info() else {
            return;
        };
        let Some(cache) = state.caches.get(info) else {
            return;
        };
        let mut changes = cache.subscribe();
        loop {
            let (crds, _) = cache.snapshot(None);
            let crds: Vec<Value> = crds.iter().filter_map(|c| c.value().ok()).collect();
            let busy = sync_all(&state, info, &crds).await;
            serve(&state, &crds).await;
            let pause = if busy { CLEANUP_RECHECK } else { RESYNC };
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                _ = stop.changed() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    })
}

/// One pass over every CRD; true while some CRD waits (to be established, or for its
/// objects to go).
async fn sync_all(state: &AppState, info: &'static ResourceInfo, crds: &[Value]) -> bool {
    let mut busy = false;
    for crd in crds {
        let result = if keys::meta_str(crd, "deletionTimestamp").is_empty() {
            name_and_establish(state, info, crd, crds).await
        } else {
            finalize(state, info, crd).await
        };
        match result {
            Ok(more) => busy |= more,
            Err(e) => {
                busy = true;
                tracing::warn!(crd = keys::meta_str(crd, "name"), error = %e.message, "CRD sync failed");
            }
        }
    }
    busy
}

/// The naming controller's and the establishing controller's decisions, written to the
/// CRD's status when they differ from it. True while the CRD waits to be established.
async fn name_and_establish(
    state: &AppState,
    info: &'static ResourceInfo,
    crd: &Value,
    all: &[Value],
) -> Result<bool, ApiError> {
    let others: Vec<Value> = all
        .iter()
        .filter(|o| keys::meta_str(o, "name") != keys::meta_str(crd, "name"))
        .cloned()
        .collect();
    let mut next = crd.clone();
    let now = crate::admission::now_rfc3339();
    if !refkube_resources::crd::sync_status(&mut next, &others, &now) {
        return Ok(false);
    }
    // Upstream holds a CRD in `Installing` for 5 s when several API servers run, so that
    // every one of them serves the kind before a client is told it is Established.
    let mut waiting = false;
    let servers = state.config.apiserver_count.max(api_servers(state));
    if !established(crd) && established(&next) && servers > 1 {
        let since = names_accepted_since(crd);
        let delay = chrono::TimeDelta::from_std(state.config.crd_establish_delay)
            .unwrap_or(chrono::TimeDelta::MAX);
        let due = since.is_some_and(|t| chrono::Utc::now() - t >= delay);
        if !due {
            // Judged on the stored CRD: `next` already says Established.
            let installing = refkube_resources::crd::calculate_names(crd, &others).established;
            refkube_resources::crd::set_condition(&mut next, &installing, &now);
            waiting = true;
        }
    }
    if next != *crd {
        write(state, info, crd, &next).await?;
    }
    Ok(waiting)
}

/// When the stored CRD's names were accepted (None: not yet).
fn names_accepted_since(crd: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    crd["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "NamesAccepted" && c["status"] == "True")?["lastTransitionTime"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// How many API servers the `kubernetes` Service's endpoints list: besides
/// `--apiserver-count`, so that a cluster started without the flag is still seen as HA
/// once its servers have registered.
fn api_servers(state: &AppState) -> usize {
    let Some(cache) = refkube_resources::registry::lookup("", "v1", "endpoints")
        .and_then(|i| state.caches.get(i))
    else {
        return 1;
    };
    let (eps, _) = cache.snapshot(Some("default"));
    eps.iter()
        .find(|e| e.name() == "kubernetes")
        .and_then(|e| e.value().ok())
        .and_then(|e| e["subsets"].as_array().cloned())
        .map(|subsets| {
            subsets
                .iter()
                .map(|s| s["addresses"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(1)
}

/// Writes `next` over `crd` if nothing changed it since; a conflict means another pass
/// (ours or another server's) will see the newer state.
async fn write(
    state: &AppState,
    info: &'static ResourceInfo,
    crd: &Value,
    next: &Value,
) -> Result<(), ApiError> {
    let name = keys::meta_str(crd, "name");
    let key = keys::key(info, None, name);
    let rev = crd["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse::<i64>().ok())
        .unwrap_or_default();
    let gone =
        !keys::meta_str(next, "deletionTimestamp").is_empty() && keys::finalizers(next).is_empty();
    let written = if gone {
        state.store.delete(&key, Some(rev)).await.map(|_| ())
    } else {
        state
            .store
            .update(&key, rev, keys::encode(info, next)?)
            .await
            .map(|_| ())
    };
    match written {
        Ok(()) | Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Upstream's CRD finalizer: delete every object of the kind, wait until none is left,
/// then drop the finalizer (and with the last finalizer, the CRD). True while waiting.
async fn finalize(
    state: &AppState,
    info: &'static ResourceInfo,
    crd: &Value,
) -> Result<bool, ApiError> {
    if !keys::finalizers(crd).iter().any(|f| f == CLEANUP_FINALIZER) {
        return Ok(false);
    }
    let mut next = crd.clone();
    let kind = refkube_resources::custom::served_kinds(crd)
        .into_iter()
        .next();
    match kind.filter(|_| established(crd)) {
        None => set_condition(
            &mut next,
            "Terminating",
            "False",
            "NeverEstablished",
            "resource was never established",
        ),
        Some(kind) => {
            let remaining = delete_instances(state, kind).await?;
            if remaining > 0 {
                set_condition(
                    &mut next,
                    "Terminating",
                    "True",
                    "InstanceDeletionInProgress",
                    "CustomResource deletion is in progress",
                );
                if next != *crd {
                    write(state, info, crd, &next).await?;
                }
                return Ok(true);
            }
            set_condition(
                &mut next,
                "Terminating",
                "False",
                "InstanceDeletionCompleted",
                "removed all instances",
            );
        }
    }
    let emptied = next["metadata"]["finalizers"].as_array_mut().map(|f| {
        f.retain(|x| x != CLEANUP_FINALIZER);
        f.is_empty()
    });
    if emptied == Some(true)
        && let Some(m) = next["metadata"].as_object_mut()
    {
        m.shift_remove("finalizers");
    }
    write(state, info, crd, &next).await?;
    Ok(false)
}

/// Deletes every object of `kind` (under the normal delete rules: their own finalizers
/// still hold them) and answers how many are still stored.
async fn delete_instances(
    state: &AppState,
    kind: &'static ResourceInfo,
) -> Result<usize, ApiError> {
    let list = state
        .store
        .list(&keys::prefix(kind, None), ListOptions::default())
        .await?;
    let mut remaining = 0;
    for kv in &list.items {
        let obj = keys::decode_kv(kind, kv)?;
        remaining += 1;
        if !keys::meta_str(&obj, "deletionTimestamp").is_empty() {
            continue;
        }
        let ns = Some(keys::meta_str(&obj, "namespace")).filter(|n| !n.is_empty());
        match delete_object(
            state,
            kind,
            ns,
            keys::meta_str(&obj, "name"),
            &DeleteOptions::default(),
        )
        .await
        {
            Ok(_) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(remaining)
}

/// Serves the kinds of every Established CRD (their watch caches first, so a kind is
/// never served without one) and stops serving the rest.
async fn serve(state: &AppState, crds: &[Value]) {
    let mut ready = Vec::new();
    let mut discovered = Vec::new();
    // Upstream serves a kind once its names are accepted (`Installing`), and lists it in
    // discovery once it is Established.
    for crd in crds
        .iter()
        .filter(|c| super::condition_true(c, "NamesAccepted"))
    {
        for k in refkube_resources::custom::served_kinds(crd) {
            match state.caches.ensure(state.store.clone(), k).await {
                Ok(()) => {
                    ready.push(k);
                    if established(crd) {
                        discovered.push(k);
                    }
                }
                Err(e) => {
                    tracing::warn!(resource = k.plural, error = %e, "cannot watch a custom resource")
                }
            }
        }
    }
    state.caches.retain_custom(&ready);
    state.kinds.replace(ready, discovered);
}
