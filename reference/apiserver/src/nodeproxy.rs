//! The `nodes/proxy` subresource: `/api/v1/nodes/{[scheme:]name[:port]}/proxy[/{path}]`
//! is forwarded to the node's kubelet server over HTTPS (its InternalIP and
//! `status.daemonEndpoints.kubeletEndpoint.Port`, through [`crate::kubelet_client`]), so
//! `kubectl get --raw /api/v1/nodes/N/proxy/pods` reads the kubelet's `/pods`. As
//! upstream's node `ResourceLocation`: another port than the kubelet's is reached with
//! the scheme asked for (default `http`) over the ordinary proxy transport.
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
    /// The scheme given before the name (`https:node-1:8443`), if any.
    pub scheme: Option<String>,
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
    let (scheme, id) = match ["https", "http"]
        .into_iter()
        .find_map(|sch| Some((sch, id.strip_prefix(sch)?.strip_prefix(':')?)))
    {
        Some((sch, rest)) => (Some(sch.to_string()), rest),
        None => (None, id),
    };
    let (name, port) = match id.split_once(':') {
        Some((n, p)) => (n, Some(p.parse::<u16>().ok().filter(|p| *p > 0)?)),
        None => (id, None),
    };
    Some(NodeProxyPath {
        scheme,
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
    let Some(authority) = crate::logs::kubelet_address(&node, state.config.default_kubelet_port)
    else {
        return ApiError::internal(format!("node {} reports no address", p.name)).into_response();
    };
    let (authority, kubelet) = target(p, &authority);
    let base = if kubelet {
        crate::kubelet_client::url(&authority, &p.rest)
    } else {
        format!(
            "{}://{authority}{}",
            p.scheme.as_deref().unwrap_or("http"),
            p.rest
        )
    };
    let url = match query {
        Some(q) => format!("{base}?{q}"),
        None => base,
    };
    // The kubelet's own port goes over the kubelet transport (its CA, when given);
    // any other port is an ordinary proxy destination.
    let client = if kubelet {
        &state.http
    } else {
        &state.proxy_http
    };
    crate::proxy::forward(client, &authority, &url, method, headers, body).await
}

/// Where `p` goes, given the kubelet's `host:port`: that authority, or the node's host
/// with the asked port; and whether it is the kubelet (no port asked, or the kubelet's).
fn target(p: &NodeProxyPath, kubelet: &str) -> (String, bool) {
    let Some((host, kubelet_port)) = kubelet.rsplit_once(':') else {
        return (kubelet.to_string(), true);
    };
    match p.port {
        Some(port) if port.to_string() != kubelet_port => (format!("{host}:{port}"), false),
        _ => (kubelet.to_string(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_proxy_paths_name_the_node_and_the_kubelet_path() {
        assert_eq!(
            route("/api/v1/nodes/node-1/proxy/pods"),
            Some(NodeProxyPath {
                scheme: None,
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
        assert_eq!(p.scheme.as_deref(), Some("https"));
        assert_eq!(route("/api/v1/nodes/node-1/proxy").unwrap().rest, "/");
        assert_eq!(route("/api/v1/nodes/node-1/status"), None);
        assert_eq!(route("/api/v1/nodes/node-1:x/proxy/pods"), None);
        assert_eq!(route("/api/v1/namespaces/a/pods/b/proxy"), None);
    }

    #[test]
    fn the_kubelets_port_goes_to_the_kubelet_and_another_port_to_the_node() {
        let p = |id: &str| route(&format!("/api/v1/nodes/{id}/proxy/x")).unwrap();
        assert_eq!(
            target(&p("n"), "10.0.0.1:10250"),
            ("10.0.0.1:10250".into(), true)
        );
        assert_eq!(
            target(&p("n:10250"), "10.0.0.1:10250"),
            ("10.0.0.1:10250".into(), true)
        );
        assert_eq!(
            target(&p("http:n:8080"), "10.0.0.1:10250"),
            ("10.0.0.1:8080".into(), false)
        );
        assert_eq!(
            target(&p("n:8080"), "[fd00::1]:10250"),
            ("[fd00::1]:8080".into(), false)
        );
    }
}
