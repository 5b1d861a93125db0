//! `componentstatuses`: the health of the store members, the scheduler and the
//! controller manager, as `kubectl get componentstatuses` shows it.
//!
//! Entry point: [`handle`]. Unlike upstream, which probes the components' `/healthz`,
//! the scheduler and controller manager count as healthy when their leader Lease
//! (`kube-system/kube-scheduler`, `kube-system/kube-controller-manager`) is held and not
//! expired: components here are ordinary API clients whose addresses the API server
//! does not know. Store members come from `Store::health()`; an embedded backend is
//! reported as `etcd-0` with a message naming it. Every probe runs at once and within
//! `--etcd-healthcheck-timeout`: without a majority each store read would otherwise
//! wait for etcd's own timeout, one after the other.

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::handlers::Ctx;
use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

fn component(name: &str, healthy: bool, message: &str, error: &str) -> Value {
    let mut cond = json!({"type": "Healthy", "status": if healthy { "True" } else { "False" }});
    if !message.is_empty() {
        cond["message"] = json!(message);
    }
    if !error.is_empty() {
        cond["error"] = json!(error);
    }
    let mut c = json!({"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": name}, "conditions": [cond]});
    // Go's form, as every other object the server writes.
    refkube_resources::types::go::normalize_as("core/v1.ComponentStatus", &mut c);
    c
}

/// Whether a Lease object is held and unexpired at `now`.
pub fn lease_held(lease: &Value, now: DateTime<Utc>) -> Result<(), String> {
    let spec = &lease["spec"];
    let holder = spec["holderIdentity"].as_str().unwrap_or_default();
    if holder.is_empty() {
        return Err("no leader holds the lease".into());
    }
    let renew = spec["renewTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or("the lease has no renewTime")?;
    let dur = spec["leaseDurationSeconds"].as_i64().unwrap_or(0);
    if renew.with_timezone(&Utc) + chrono::Duration::seconds(dur) < now {
        return Err(format!("the lease held by {holder} expired"));
    }
    Ok(())
}

async fn leader(state: &AppState, lease: &str, name: &str) -> Value {
    let Some(leases) = refkube_resources::registry::lookup("coordination.k8s.io", "v1", "leases")
    else {
        return component(name, false, "", "leases are not served");
    };
    let key = keys::key(leases, Some("kube-system"), lease);
    let timeout = state.config.etcd_healthcheck_timeout;
    let read = match tokio::time::timeout(timeout, state.store.get(&key)).await {
        Ok(read) => read,
        Err(_) => {
            let why = format!("reading lease kube-system/{lease}: no answer within {timeout:?}");
            return component(name, false, "", &why);
        }
    };
    match read {
        Ok(Some(kv)) => match keys::decode_kv(leases, &kv)
            .map_err(|e| e.message)
            .and_then(|l| lease_held(&l, Utc::now()))
        {
            Ok(()) => component(name, true, "ok", ""),
            Err(e) => component(name, false, "", &format!("lease kube-system/{lease}: {e}")),
        },
        Ok(None) => component(
            name,
            false,
            "",
            &format!("lease kube-system/{lease} not found: no leader elected"),
        ),
        Err(e) => component(name, false, "", &e.to_string()),
    }
}

/// The store members' health within the health-check timeout (the etcd backend bounds
/// each probe itself; this bounds any backend), or `None` if it did not come.
pub async fn store_health(state: &AppState) -> Option<Vec<refkube_store::MemberHealth>> {
    let timeout = state.config.etcd_healthcheck_timeout;
    tokio::time::timeout(timeout, state.store.health())
        .await
        .ok()
}

/// Every component status, in upstream's order.
pub async fn all(state: &AppState) -> Vec<Value> {
    let (scheduler, controller_manager, members) = tokio::join!(
        leader(state, "kube-scheduler", "scheduler"),
        leader(state, "kube-controller-manager", "controller-manager"),
        store_health(state),
    );
    let mut out = vec![scheduler, controller_manager];
    let backend = state.store.backend();
    let Some(members) = members else {
        out.push(component(
            "etcd-0",
            false,
            "",
            "the store health check timed out",
        ));
        return out;
    };
    for (i, m) in members.into_iter().enumerate() {
        let name = if m.name.starts_with("etcd-") {
            m.name.clone()
        } else {
            format!("etcd-{i}")
        };
        let message = if backend == "etcd" {
            m.message.clone()
        } else {
            format!("{} ({backend} store)", m.message)
        };
        if m.healthy {
            out.push(component(&name, true, &message, ""));
        } else {
            out.push(component(&name, false, "", &message));
        }
    }
    out
}

pub async fn handle(ctx: &Ctx) -> Result<Response, ApiError> {
    if ctx.method != http::Method::GET || ctx.path.subresource.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    let timeout = ctx.state.config.etcd_healthcheck_timeout;
    let (items, rev) = tokio::join!(
        all(&ctx.state),
        tokio::time::timeout(timeout, ctx.state.store.current_revision()),
    );
    // The list's resourceVersion is informational here; a store that cannot say
    // leaves it 0 rather than delaying the answer.
    let rev = rev.ok().and_then(Result::ok).unwrap_or(0);
    match ctx.path.name.as_deref() {
        None => Ok(ctx.respond_list(items, rev, None)),
        Some(n) => items
            .into_iter()
            .find(|c| c["metadata"]["name"] == n)
            .map(|c| ctx.respond_object(200, c))
            .ok_or_else(|| ApiError::not_found(ctx.path.info, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renewed_lease_is_held_until_its_duration_passes() {
        let now = Utc::now();
        let l = json!({"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "renewTime": (now - chrono::Duration::seconds(5)).to_rfc3339()}});
        assert!(lease_held(&l, now).is_ok());
        assert!(lease_held(&l, now + chrono::Duration::seconds(11)).is_err());
        assert!(lease_held(&json!({"spec": {}}), now).is_err());
    }
}
