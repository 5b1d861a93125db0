//! pods/log: proxies to the kubelet of the pod's node and streams the answer back.
//!
//! Entry point: [`proxy`]. The kubelet contract (HTTPS, see [`crate::kubelet_client`]):
//! `GET https://{node InternalIP}:{status.daemonEndpoints.kubeletEndpoint.Port}/containerLogs/{ns}/{pod}/{container}`
//! with the query parameters `follow`, `previous`, `tailLines`, `timestamps`,
//! `sinceSeconds` and `limitBytes` passed through unchanged; a 2xx answer's body is
//! streamed to the client as `text/plain`, any other status is returned as a Status
//! error carrying the kubelet's body as its message.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::handlers::Ctx;
use crate::handlers::read::fetch;
use crate::keys;
use crate::status::ApiError;

/// Query parameters forwarded to the kubelet.
const PASSED: &[&str] = &[
    "follow",
    "previous",
    "tailLines",
    "timestamps",
    "sinceSeconds",
    "limitBytes",
];

fn container_names(pod: &Value, field: &str) -> Vec<String> {
    pod["spec"][field]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The container whose log is asked for, with upstream's 400 messages.
pub fn pick_container(pod: &Value, name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let main = container_names(pod, "containers");
    let init = container_names(pod, "initContainers");
    // Upstream's AllContainers: a debug container's output is read like any other's.
    let ephemeral = container_names(pod, "ephemeralContainers");
    match asked {
        Some(c) if main.iter().chain(&init).chain(&ephemeral).any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if main.len() == 1 => Ok(main[0].clone()),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            main.join(" ")
        ))),
    }
}

/// Where the node's kubelet listens.
pub fn kubelet_address(node: &Value, default_port: u16) -> Option<String> {
    let addrs = node["status"]["addresses"].as_array()?;
    let ip = addrs
        .iter()
        .find(|a| a["type"] == "InternalIP")
        .or_else(|| addrs.first())?["address"]
        .as_str()?
        .to_string();
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .filter(|p| *p > 0)
        .unwrap_or(u64::from(default_port));
    Some(if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    })
}

pub async fn proxy(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let (pod, _) = fetch(ctx, name).await?;
    let container = pick_container(&pod, name, ctx.query.non_empty("container"))?;
    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    if node_name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let nodes = refkube_resources::registry::lookup("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("nodes are not registered"))?;
    let node = match ctx
        .state
        .store
        .get(&keys::key(nodes, None, node_name))
        .await?
    {
        Some(kv) => keys::decode_kv(nodes, &kv)?,
        None => return Err(ApiError::not_found(nodes, node_name)),
    };
    let addr = kubelet_address(&node, ctx.state.config.default_kubelet_port).ok_or_else(|| {
        ApiError::internal(format!(
            "node {node_name} reports no address for its kubelet"
        ))
    })?;
    let ns = ctx.path.namespace.as_deref().unwrap_or_default();
    let query: Vec<(&str, &str)> = PASSED
        .iter()
        .filter_map(|k| ctx.query.get(k).map(|v| (*k, v)))
        .collect();
    let url = crate::kubelet_client::url(&addr, &format!("/containerLogs/{ns}/{name}/{container}"));
    let resp = ctx
        .state
        .http
        .get(&url)
        .query(&query)
        .send()
        .await
        .map_err(|e| ApiError::internal(format!("error dialing kubelet at {addr}: {e}")))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(ApiError::new(
            status.as_u16(),
            "InternalError",
            body.trim().to_string(),
        ));
    }
    let body = Body::from_stream(resp.bytes_stream());
    Ok(([(http::header::CONTENT_TYPE, "text/plain")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_single_container_pod_needs_no_container_parameter() {
        let pod = json!({"spec": {"containers": [{"name": "app"}]}});
        assert_eq!(pick_container(&pod, "p", None).unwrap(), "app");
        let two = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(
            pick_container(&two, "p", None).unwrap_err().message,
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        assert_eq!(pick_container(&two, "p", Some("c")).unwrap_err().code, 400);
        let debugged = json!({"spec": {"containers": [{"name": "app"}],
            "ephemeralContainers": [{"name": "debugger-x"}]}});
        assert_eq!(
            pick_container(&debugged, "p", Some("debugger-x")).unwrap(),
            "debugger-x"
        );
    }

    #[test]
    fn kubelet_address_prefers_the_internal_ip_and_reported_port() {
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "h"}, {"type": "InternalIP", "address": "10.1.2.3"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10555}}}});
        assert_eq!(kubelet_address(&node, 10250).unwrap(), "10.1.2.3:10555");
    }
}
