//! Start-up objects every cluster has: the `default`, `kube-system`, `kube-public` and
//! `kube-node-lease` namespaces, and the `kubernetes` Service (first address of the
//! service range, port 443 → the API server) with its Endpoints and EndpointSlice.
//!
//! Entry point: [`ensure`]. Idempotent: objects that exist are left alone, except the
//! `kubernetes` Endpoints and EndpointSlice, which always point at this server.

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
    let ip = state.advertise.ip().to_string();
    let ep = json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": ip}],
                     "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    });
    upsert(state, registered("endpoints")?, ep, &["subsets"]).await?;
    let address_type = if state.advertise.is_ipv6() {
        "IPv6"
    } else {
        "IPv4"
    };
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": address_type,
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    });
    let slices = lookup("discovery.k8s.io", "v1", "endpointslices")
        .ok_or_else(|| ApiError::internal("endpointslices are not registered"))?;
    upsert(state, slices, slice, &["addressType", "endpoints", "ports"]).await
}

/// Creates `obj` in `default`, or points the existing one's `fields` at this server
/// (the last API server to start wins; upstream reconciles a list of all of them).
async fn upsert(
    state: &AppState,
    info: &'static refkube_resources::ResourceInfo,
    obj: serde_json::Value,
    fields: &[&str],
) -> Result<(), ApiError> {
    let key = keys::key(info, Some("default"), "kubernetes");
    match state.store.get(&key).await? {
        None => match create_object(state, info, Some("default"), obj, false).await {
            Err(e) if e.reason != "AlreadyExists" => Err(e),
            _ => Ok(()),
        },
        Some(kv) => {
            let mut old = keys::decode_kv(info, &kv)?;
            if fields.iter().any(|f| old[*f] != obj[*f]) {
                for f in fields {
                    old[*f] = obj[*f].clone();
                }
                state
                    .store
                    .update(&key, kv.mod_revision, keys::encode(info, &old)?)
                    .await?;
            }
            Ok(())
        }
    }
}
