//! The `nodes/proxy` subresource: `/api/v1/nodes/{name[:port]}/proxy[/{path}]` is
//! forwarded to the node's kubelet server (its InternalIP and
//! `status.daemonEndpoints.kubeletEndpoint.Port`, as upstream's node `ResourceLocation`),
//! so `kubectl get --raw /api/v1/nodes/N/proxy/pods` reads the kubelet's `/pods`.
//! Entry points: [`route`], [`serve`].

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method};

use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

/// A parsed node proxy path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeProxyPath {
    /// The node's name.
    pub name: String,
    /// A port given after the name (`node-1:10250`), else the kubelet's.
    pub port: Option<u16>,
    /// The path to forward, starting with `/`.
    pub rest: String,
}

/// Recognises `/api/v1/nodes/{[scheme:]name[:port]}/proxy[/{rest}]`.
pub fn route(path: &str) -> Option<NodeProxyPath> {
    let tail = path.strip_prefix("/api/v1/nodes/")?;
    let mut segs = tail.splitn(3, '/');
    let id = segs.next().filter(|s| !s.is_empty())?;
    if segs.next()? != "proxy" {
        return None;
    }
    let rest = format!("/{}", segs.next().unwrap_or_default());
    let id = id
        .strip_prefix("https:")
        .or_else(|| id.strip_prefix("http:"))
        .unwrap_or(id);
    let (name, port) = match id.split_once(':') {
        Some((n, p)) => (n, Some(p.parse::<u16>().ok().filter(|p| *p > 0)?)),
        None => (id, None),
    };
    Some(NodeProxyPath {
        name: name.to_string(),
        port,
        rest,
    })
}

/// Forwards the request to the node's kubelet.
pub async fn serve(
    state: &AppState,
    p: &NodeProxyPath,
    method: Method,
    query: Option<&str>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(nodes) = refkube_resources::registry::lookup("", "v1", "nodes") else {
        return ApiError::internal("nodes are not registered").into_response();
    };
    let node = match state.store.get(&keys::key(nodes, None, &p.name)).await {
        Ok(Some(kv)) => match keys::decode_kv(nodes, &kv) {
            Ok(n) => n,
            Err(e) => return e.into_response(),
        },
        Ok(None) => return ApiError::not_found(nodes, &p.name).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(mut authority) =
        crate::logs::kubelet_address(&node, state.config.default_kubelet_port)
    else {
        return ApiError::internal(format!("node {} reports no address", p.name)).into_response();
    };
    if let (Some(port), Some((host, _))) = (p.port, authority.rsplit_once(':')) {
        authority = format!("{host}:{port}");
    }
    let mut url = format!("http://{authority}{}", p.rest);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    crate::proxy::forward(state, &authority, &url, method, headers, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_proxy_paths_name_the_node_and_the_kubelet_path() {
        assert_eq!(
            route("/api/v1/nodes/node-1/proxy/pods"),
            Some(NodeProxyPath {
                name: "node-1".into(),
                port: None,
                rest: "/pods".into()
            })
        );
        let p = route("/api/v1/nodes/https:node-1:10250/proxy/containerLogs/a/b/c").unwrap();
        assert_eq!(
            (p.name.as_str(), p.port, p.rest.as_str()),
            ("node-1", Some(10250), "/containerLogs/a/b/c")
        );
        assert_eq!(route("/api/v1/nodes/node-1/proxy").unwrap().rest, "/");
        assert_eq!(route("/api/v1/nodes/node-1/status"), None);
        assert_eq!(route("/api/v1/nodes/node-1:x/proxy/pods"), None);
        assert_eq!(route("/api/v1/namespaces/a/pods/b/proxy"), None);
    }
}
