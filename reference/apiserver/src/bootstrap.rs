//! Start-up objects every cluster has: the `default`, `kube-system`, `kube-public` and
//! `kube-node-lease` namespaces, the bootstrap RBAC policy ([`crate::bootstrap_rbac`]),
//! and the `kubernetes` Service (first address of the
//! service range, port 443 → the API servers). Its Endpoints and EndpointSlice are kept
//! by [`crate::lease_reconciler`], which [`ensure`] runs once.
//!
//! Entry points: [`ensure`] (at start-up) and [`ensure_kubernetes_service`] (also run
//! periodically). Idempotent: objects that exist are left alone.

use refkube_resources::registry::lookup;
use serde_json::json;

use crate::handlers::create::create_object;
use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

fn registered(plural: &str) -> Result<&'static refkube_resources::ResourceInfo, ApiError> {
    lookup("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not registered")))
}

/// The manager upstream's API server records its own writes under: its loopback
/// client's User-Agent prefix.
pub const MANAGER: &str = "kube-apiserver";

/// Records a write the API server makes itself (`live`: the object it replaces, `None`
/// for a create) in `obj`'s managedFields, as an Update by `kube-apiserver`, the way a
/// client's write through the handlers is recorded.
pub fn record_own_write(
    state: &AppState,
    info: &refkube_resources::ResourceInfo,
    live: Option<&serde_json::Value>,
    obj: &mut serde_json::Value,
) {
    let mut defaulted = obj.clone();
    refkube_resources::defaults::apply_defaults(info, &mut defaulted, &state.config.defaults);
    let now = crate::admission::now_rfc3339();
    let op = refkube_resources::managedfields::Op {
        info,
        manager: MANAGER,
        subresource: "",
        now: &now,
    };
    let mf = refkube_resources::managedfields::update(&op, live, &defaulted);
    if let Some(m) = keys::meta_mut(obj) {
        m.insert("managedFields".into(), mf);
    }
}

async fn create_if_absent(
    state: &AppState,
    plural: &str,
    ns: Option<&str>,
    mut obj: serde_json::Value,
) -> Result<(), ApiError> {
    let info = registered(plural)?;
    record_own_write(state, info, None, &mut obj);
    match create_object(state, info, ns, obj, false).await {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "AlreadyExists" => Ok(()),
        Err(e) => Err(e),
    }
}

pub async fn ensure(state: &AppState) -> Result<(), ApiError> {
    for ns in SYSTEM_NAMESPACES {
        create_if_absent(
            state,
            "namespaces",
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await?;
    }
    crate::bootstrap_rbac::reconcile::ensure(state).await?;
    match ensure_kubernetes_service(state).await {
        // Its address is held, but no Service has it: an API server that crashed while
        // creating it leaked the address, or another one is creating it right now. The
        // periodic run retries once the repair pass has freed it (or it exists).
        Err(e) if e.reason == "Invalid" => {
            tracing::warn!(error = %e.message, "the kubernetes Service could not be created yet");
        }
        other => other?,
    }
    crate::lease_reconciler::reconcile(state).await
}

/// Creates the `kubernetes` Service unless it exists.
pub async fn ensure_kubernetes_service(state: &AppState) -> Result<(), ApiError> {
    let services = registered("services")?;
    let key = keys::key(services, Some("default"), "kubernetes");
    // Checked first, so a running cluster does not pay an allocation attempt per run.
    if state.store.get(&key).await?.is_some() {
        return Ok(());
    }
    let ip = state.alloc.first_ip().to_string();
    let port = state.advertise.port();
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP", "clusterIP": ip, "sessionAffinity": "None",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
        },
    });
    match create_if_absent(state, "services", Some("default"), svc).await {
        // Another API server created it between our read and our allocation.
        Err(e) if e.reason == "Invalid" && state.store.get(&key).await?.is_some() => Ok(()),
        other => other,
    }
}
