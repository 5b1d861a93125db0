//! The `pods/proxy` and `services/proxy` subresources: an HTTP request to
//! `/api/v1/namespaces/{ns}/{pods|services}/{[scheme:]name[:port]}/proxy[/{path}]` is
//! forwarded (method, path, query, headers, body) to the pod or to one ready endpoint of
//! the service, and the answer is streamed back with its status and headers.
//!
//! Entry points: [`route`] (does a path name a proxy request?) and [`serve`]. The
//! decisions — [`split_scheme_name_port`], [`pod_location`], [`service_location`] — are
//! pure functions, as upstream's `ResourceLocation` in `pkg/registry/core/{pod,service}`.

use std::net::IpAddr;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, Method};
use serde_json::Value;

use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

/// What is proxied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Pod,
    Service,
}

impl ProxyPath {
    /// `pods` or `services`.
    pub fn kind_plural(&self) -> &'static str {
        self.kind.plural()
    }
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Service => "services",
        }
    }
}

/// A parsed proxy request path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyPath {
    pub kind: Kind,
    pub namespace: String,
    /// The `{[scheme:]name[:port]}` segment as sent.
    pub id: String,
    /// The path to forward: empty for `.../proxy`, else starting with `/`.
    pub rest: String,
    /// The whole request path, for upstream's trailing-slash redirect.
    pub path: String,
}

/// Recognises `/api/v1/namespaces/{ns}/{pods|services}/{id}/proxy[/{rest}]`.
pub fn route(path: &str) -> Option<ProxyPath> {
    let tail = path.strip_prefix("/api/v1/namespaces/")?;
    let mut segs = tail.splitn(5, '/');
    let namespace = segs.next().filter(|s| !s.is_empty())?;
    let kind = match segs.next()? {
        "pods" => Kind::Pod,
        "services" => Kind::Service,
        _ => return None,
    };
    let id = segs.next().filter(|s| !s.is_empty())?;
    if segs.next()? != "proxy" {
        return None;
    }
    let rest = segs.next().map(|r| format!("/{r}")).unwrap_or_default();
    Some(ProxyPath {
        kind,
        namespace: namespace.to_string(),
        id: id.to_string(),
        rest,
        path: path.to_string(),
    })
}

/// Upstream's `utilnet.SplitSchemeNamePort`: `name`, `name:port` or `scheme:name:port`,
/// the scheme being `http`, `https` or empty. `None` when the id is malformed.
pub fn split_scheme_name_port(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.split(':').collect();
    let (scheme, name, port) = match parts.as_slice() {
        [name] => ("", *name, ""),
        [name, port] => ("", *name, *port),
        [scheme, name, port] => (*scheme, *name, *port),
        _ => return None,
    };
    (!name.is_empty() && matches!(scheme, "" | "http" | "https")).then_some((scheme, name, port))
}

/// Where a proxied request goes: `scheme://authority`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub scheme: String,
    pub authority: String,
}

fn authority(ip: &str, port: &str) -> String {
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    if port.is_empty() {
        host
    } else {
        format!("{host}:{port}")
    }
}

/// Whether the API server may connect to `ip`. Upstream allows only global unicast
/// addresses (so the proxy cannot reach the API server's own loopback); refkube's pod
/// network lives in 127/8, so loopback is allowed when `allow_loopback` is set.
fn proxyable(ip: IpAddr, allow_loopback: bool) -> bool {
    let special = match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    };
    if ip.is_loopback() {
        return allow_loopback;
    }
    !(ip.is_unspecified() || ip.is_multicast() || special)
}

/// Upstream's pod `ResourceLocation`: the port defaults to the first declared container
/// port (then to the scheme's default); a pod without a usable IP is a 400
/// "address not allowed".
pub fn pod_location(
    pod: &Value,
    scheme: &str,
    port: &str,
    allow_loopback: bool,
) -> Result<Location, ApiError> {
    let mut port = port.to_string();
    if port.is_empty() {
        let first = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|c| c["ports"].as_array().and_then(|p| p.first()).cloned());
        if let Some(p) = first.and_then(|p| p["containerPort"].as_i64()) {
            port = p.to_string();
        }
    }
    let ip = pod["status"]["podIPs"][0]["ip"]
        .as_str()
        .or_else(|| pod["status"]["podIP"].as_str())
        .unwrap_or_default();
    match ip.parse::<IpAddr>() {
        Ok(addr) if proxyable(addr, allow_loopback) => Ok(Location {
            scheme: if scheme.is_empty() { "http" } else { scheme }.to_string(),
            authority: authority(ip, &port),
        }),
        _ => Err(ApiError::bad_request("address not allowed")),
    }
}

/// Upstream's service `ResourceLocation`: a numeric port segment is turned into the
/// name of the service port with that number (503 "no service port N found" if none);
/// any other segment is the port name itself (empty for an unnamed port). One ready
/// address of an Endpoints subset carrying that port name is chosen (`pick` draws an
/// index; upstream draws at random). None is a 503 "no endpoints available".
pub fn service_location(
    svc: &Value,
    endpoints: &Value,
    name: &str,
    scheme: &str,
    port: &str,
    allow_loopback: bool,
    pick: impl FnOnce(usize) -> usize,
) -> Result<Location, ApiError> {
    let port_name = match port.parse::<i64>() {
        Ok(number) => svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["port"].as_i64() == Some(number))
            .map(|p| p["name"].as_str().unwrap_or_default())
            .ok_or_else(|| {
                ApiError::service_unavailable(format!(
                    "no service port {number} found for service {name:?}"
                ))
            })?,
        Err(_) => port,
    };
    let mut candidates = Vec::new();
    for subset in endpoints["subsets"].as_array().into_iter().flatten() {
        let Some(ep_port) = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str().unwrap_or_default() == port_name)
        else {
            continue;
        };
        let Some(number) = ep_port["port"].as_i64() else {
            continue;
        };
        for addr in subset["addresses"].as_array().into_iter().flatten() {
            if let Some(ip) = addr["ip"].as_str()
                && ip
                    .parse::<IpAddr>()
                    .is_ok_and(|a| proxyable(a, allow_loopback))
            {
                candidates.push(authority(ip, &number.to_string()));
            }
        }
    }
    if candidates.is_empty() {
        return Err(ApiError::service_unavailable(format!(
            "no endpoints available for service {name:?}"
        )));
    }
    let chosen = pick(candidates.len()).min(candidates.len() - 1);
    Ok(Location {
        scheme: if scheme.is_empty() { "http" } else { scheme }.to_string(),
        authority: candidates.swap_remove(chosen),
    })
}

/// Headers that belong to one hop and are never forwarded (RFC 9110 §7.6.1), plus the
/// ones the proxy sets itself.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
            // The API server consumed the credentials; they are not the backend's.
            | "authorization"
    )
}

/// A core/v1 resource's registry entry.
fn registry_info(plural: &str) -> Result<&'static refkube_resources::ResourceInfo, ApiError> {
    refkube_resources::registry::lookup("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not registered")))
}

/// Reads one core/v1 object; a missing one is upstream's 404 for that resource.
async fn load(state: &AppState, plural: &str, ns: &str, name: &str) -> Result<Value, ApiError> {
    let info = registry_info(plural)?;
    match state.store.get(&keys::key(info, Some(ns), name)).await? {
        Some(kv) => keys::decode_kv(info, &kv),
        None => Err(ApiError::not_found(info, name)),
    }
}

async fn locate(state: &AppState, p: &ProxyPath) -> Result<Location, ApiError> {
    let plural = p.kind.plural();
    let Some((scheme, name, port)) = split_scheme_name_port(&p.id) else {
        let what = if p.kind == Kind::Pod {
            "pod"
        } else {
            "service"
        };
        return Err(ApiError::bad_request(format!(
            "invalid {what} request {:?}",
            p.id
        )));
    };
    let obj = load(state, plural, &p.namespace, name).await?;
    let loopback = state.config.proxy_allow_loopback;
    match p.kind {
        Kind::Pod => pod_location(&obj, scheme, port, loopback),
        Kind::Service => {
            let eps = load(state, "endpoints", &p.namespace, name).await?;
            service_location(&obj, &eps, name, scheme, port, loopback, |n| {
                rand::random_range(0..n)
            })
        }
    }
}

/// Go's wording for a failed connection, as `net.Dial` reports it.
fn dial_error(authority: &str, err: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let what = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
                std::io::ErrorKind::TimedOut => "i/o timeout".into(),
                _ => io.to_string(),
            };
            return format!("dial tcp {authority}: {what}");
        }
        source = e.source();
    }
    if err.is_timeout() {
        return format!("dial tcp {authority}: i/o timeout");
    }
    err.to_string()
}

/// Forwards one request to the pod or service named by `p` and streams the answer back.
pub async fn serve(
    state: &AppState,
    p: &ProxyPath,
    method: Method,
    query: Option<&str>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let loc = match locate(state, p).await {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    if p.rest.is_empty() && (method == Method::GET || method == Method::HEAD) {
        // Upstream's proxyRedirectsforRootPath (issue 4958): relative links in the
        // backend's page only resolve under a path ending in `/`.
        let to = match query {
            Some(q) => format!("{}/?{q}", p.path),
            None => format!("{}/", p.path),
        };
        return (
            http::StatusCode::MOVED_PERMANENTLY,
            [(http::header::LOCATION, to)],
        )
            .into_response();
    }
    let rest = if p.rest.is_empty() { "/" } else { &p.rest };
    let mut url = format!("{}://{}{rest}", loc.scheme, loc.authority);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    let mut out = HeaderMap::new();
    for (k, v) in &headers {
        if !hop_by_hop(k) {
            out.append(k.clone(), v.clone());
        }
    }
    let sent = state
        .proxy_http
        .request(method, &url)
        .headers(out)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            return ApiError::service_unavailable(format!(
                "error trying to reach service: {}",
                dial_error(&loc.authority, &e)
            ))
            .into_response();
        }
    };
    let mut builder = Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        if !hop_by_hop(k) {
            builder = builder.header(k, v);
        }
    }
    builder
        .body(Body::from_stream(resp.bytes_stream()))
        .unwrap_or_else(|e| ApiError::internal(e).into_response())
}

/// The verb an authorizer and the audit log see for a proxy request.
pub fn verb(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" | "HEAD" | "OPTIONS" => "get",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => "unknown",
    }
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
