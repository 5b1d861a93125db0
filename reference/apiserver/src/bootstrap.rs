//! Start-up objects every cluster has: the `default`, `kube-system`, `kube-public` and
//! `kube-node-lease` namespaces, and the `kubernetes` Service (first address of the
//! service range, port 443 → the API server) with its Endpoints.
//!
//! Entry point: [`ensure`]. Idempotent: objects that exist are left alone, except the
//! `kubernetes` Endpoints, which always point at this server.

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

async fn create_if_absent(
    state: &AppState,
    plural: &str,
    ns: Option<&str>,
    obj: serde_json::Value,
) -> Result<(), ApiError> {
    match create_object(state, registered(plural)?, ns, obj, false).await {
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
    let ip = state.allocators().first_ip().to_string();
    let port = state.advertise.port();
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP", "clusterIP": ip, "sessionAffinity": "None",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
        },
    });
    // Another API server on the same store may have created it (and holds the IP).
    let services = registered("services")?;
    if state
        .store
        .get(&keys::key(services, Some("default"), "kubernetes"))
        .await?
        .is_none()
    {
        create_if_absent(state, "services", Some("default"), svc).await?;
    }
    let endpoints = registered("endpoints")?;
    let ep = json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": state.advertise.ip().to_string()}],
                     "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    });
    let key = keys::key(endpoints, Some("default"), "kubernetes");
    match state.store.get(&key).await? {
        None => create_if_absent(state, "endpoints", Some("default"), ep).await,
        Some(kv) => {
            let mut old = keys::decode_kv(endpoints, &kv)?;
            if old["subsets"] != ep["subsets"] {
                old["subsets"] = ep["subsets"].clone();
                state
                    .store
                    .update(&key, kv.mod_revision, keys::encode(endpoints, &old)?)
                    .await?;
            }
            Ok(())
        }
    }
}
