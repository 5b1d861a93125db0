//! The `pods/proxy` and `services/proxy` subresources: an HTTP request to
//! `/api/v1/namespaces/{ns}/{pods|services}/{[scheme:]name[:port]}/proxy[/{path}]` is
//! forwarded (method, path, query, headers, body) to the pod or to one ready endpoint of
//! the service, and the answer is streamed back with its status and headers.
//!
//! Entry points: [`route`] (does a path name a proxy request?) and [`serve`]. The
//! decisions — [`split_scheme_name_port`], [`pod_location`], [`service_candidates`],
//! [`address_of_pod`] and the destination rules of `proxy/destination.rs` — are pure
//! functions, as upstream's `ResourceLocation` in `pkg/registry/core/{pod,service}`.

use std::net::IpAddr;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, Method};
use serde_json::Value;

use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

mod destination;

pub use destination::{Policy, PortRef, allowed, parse_port};

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

impl Location {
    /// Built from a parsed address and number only, so nothing from the request (an
    /// `@host` in the port part) can end up in the authority.
    fn new(scheme: &str, ip: IpAddr, port: Option<u16>) -> Self {
        let host = match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        Location {
            scheme: if scheme.is_empty() { "http" } else { scheme }.to_string(),
            authority: match port {
                Some(p) => format!("{host}:{p}"),
                None => host,
            },
        }
    }
}

/// The port a URL without one reaches.
fn scheme_default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

fn address_not_allowed() -> ApiError {
    ApiError::bad_request("address not allowed")
}

/// The pod's IP (`status.podIPs[0]`, else `status.podIP`), if it parses.
fn pod_ip(pod: &Value) -> Option<IpAddr> {
    pod["status"]["podIPs"][0]["ip"]
        .as_str()
        .or_else(|| pod["status"]["podIP"].as_str())
        .and_then(|ip| ip.parse().ok())
}

/// The number of the container port named `name`, or of the first declared port.
fn container_port(pod: &Value, name: Option<&str>) -> Option<u16> {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .find(|p| name.is_none_or(|n| p["name"].as_str() == Some(n)))
        .and_then(|p| p["containerPort"].as_u64())
        .and_then(|n| u16::try_from(n).ok())
}

/// Upstream's pod `ResourceLocation`: the port is a number, a named container port of
/// the pod, or (absent) the first declared container port, then the scheme's default;
/// any other port part is a 400 for the id. A pod without an IP, or whose address the
/// [`destination::allowed`] rules refuse on its `node`, is a 400 "address not allowed".
pub fn pod_location(
    pod: &Value,
    node: Option<&Value>,
    id: &str,
    policy: &Policy,
) -> Result<Location, ApiError> {
    let invalid = || ApiError::bad_request(format!("invalid pod request {id:?}"));
    let (scheme, _, port) = split_scheme_name_port(id).ok_or_else(invalid)?;
    let port = match parse_port(port).ok_or_else(invalid)? {
        PortRef::Default => container_port(pod, None),
        PortRef::Number(n) => Some(n),
        PortRef::Name(name) => Some(container_port(pod, Some(name)).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid pod request {id:?}: no container port named {name:?}"
            ))
        })?),
    };
    let ip = pod_ip(pod).ok_or_else(address_not_allowed)?;
    let dialled = port.unwrap_or_else(|| scheme_default_port(scheme));
    if !allowed(ip, dialled, node, policy) {
        return Err(address_not_allowed());
    }
    Ok(Location::new(scheme, ip, port))
}

/// One ready address of a service's Endpoints that carries the requested port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub ip: IpAddr,
    pub port: u16,
    /// The pod the address claims to be (`targetRef` of kind Pod in the namespace).
    pub pod: Option<String>,
}

/// Upstream's service `ResourceLocation`, up to the choice of an address: a numeric port
/// part is turned into the name of the service port with that number (503 "no service
/// port N found" if none); otherwise it is the port name itself (empty for an unnamed
/// port, 400 if not a valid name). Returns the ready addresses of Endpoints subsets
/// carrying that port name; none is a 503 "no endpoints available".
pub fn service_candidates(
    svc: &Value,
    endpoints: &Value,
    id: &str,
    namespace: &str,
) -> Result<Vec<Candidate>, ApiError> {
    let invalid = || ApiError::bad_request(format!("invalid service request {id:?}"));
    let (_, name, port) = split_scheme_name_port(id).ok_or_else(invalid)?;
    let port_name = match parse_port(port).ok_or_else(invalid)? {
        PortRef::Number(number) => svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["port"].as_u64() == Some(u64::from(number)))
            .map(|p| p["name"].as_str().unwrap_or_default())
            .ok_or_else(|| {
                ApiError::service_unavailable(format!(
                    "no service port {number} found for service {name:?}"
                ))
            })?,
        PortRef::Name(n) => n,
        PortRef::Default => "",
    };
    let mut candidates = Vec::new();
    for subset in endpoints["subsets"].as_array().into_iter().flatten() {
        let Some(number) = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str().unwrap_or_default() == port_name)
            .and_then(|p| p["port"].as_u64())
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n != 0)
        else {
            continue;
        };
        for addr in subset["addresses"].as_array().into_iter().flatten() {
            let Some(ip) = addr["ip"].as_str().and_then(|ip| ip.parse().ok()) else {
                continue;
            };
            let target = &addr["targetRef"];
            let pod = (matches!(target["kind"].as_str(), Some("Pod") | None)
                && target["namespace"].as_str() == Some(namespace))
            .then(|| target["name"].as_str().map(str::to_string))
            .flatten();
            candidates.push(Candidate {
                ip,
                port: number,
                pod,
            });
        }
    }
    if candidates.is_empty() {
        return Err(no_endpoints(name));
    }
    Ok(candidates)
}

fn no_endpoints(name: &str) -> ApiError {
    ApiError::service_unavailable(format!("no endpoints available for service {name:?}"))
}

/// Upstream's `isValidAddress`: the address belongs to the pod it names, so an
/// Endpoints object someone wrote by hand cannot send the proxy anywhere.
pub fn address_of_pod(candidate: &Candidate, pod: &Value) -> bool {
    let ips = pod["status"]["podIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| &p["ip"])
        .chain(std::iter::once(&pod["status"]["podIP"]));
    ips.filter_map(Value::as_str)
        .any(|ip| ip.parse::<IpAddr>().is_ok_and(|ip| ip == candidate.ip))
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

/// The Node a pod is bound to, if it can be read.
async fn node_of(state: &AppState, pod: &Value) -> Option<Value> {
    let node = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty())?;
    let info = registry_info("nodes").ok()?;
    let kv = state.store.get(&keys::key(info, None, node)).await.ok()??;
    keys::decode_kv(info, &kv).ok()
}

/// This server's part of the [`destination::allowed`] decision.
fn policy(state: &AppState) -> Policy {
    Policy {
        loopback_pod_network: state.config.proxy_allow_loopback,
        own: vec![state.listen, state.advertise],
    }
}

async fn locate(state: &AppState, p: &ProxyPath) -> Result<Location, ApiError> {
    let what = match p.kind {
        Kind::Pod => "pod",
        Kind::Service => "service",
    };
    let Some((scheme, name, _)) = split_scheme_name_port(&p.id) else {
        return Err(ApiError::bad_request(format!(
            "invalid {what} request {:?}",
            p.id
        )));
    };
    let obj = load(state, p.kind.plural(), &p.namespace, name).await?;
    let policy = policy(state);
    if p.kind == Kind::Pod {
        let node = node_of(state, &obj).await;
        return pod_location(&obj, node.as_ref(), &p.id, &policy);
    }
    let eps = load(state, "endpoints", &p.namespace, name).await?;
    let mut candidates = service_candidates(&obj, &eps, &p.id, &p.namespace)?;
    // Upstream tries the addresses from a random one on, skipping invalid ones.
    let start = rand::random_range(0..candidates.len());
    candidates.rotate_left(start);
    for c in candidates {
        let Some(pod_name) = &c.pod else { continue };
        let Ok(pod) = load(state, "pods", &p.namespace, pod_name).await else {
            continue;
        };
        if !address_of_pod(&c, &pod) {
            continue;
        }
        let node = node_of(state, &pod).await;
        if allowed(c.ip, c.port, node.as_ref(), &policy) {
            return Ok(Location::new(scheme, c.ip, Some(c.port)));
        }
    }
    Err(no_endpoints(name))
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
    forward(
        &state.proxy_http,
        &loc.authority,
        &url,
        method,
        headers,
        body,
    )
    .await
}

/// Sends the request to `url` (on `authority`) over `client` and streams the answer back.
pub(crate) async fn forward(
    client: &reqwest::Client,
    authority: &str,
    url: &str,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut out = HeaderMap::new();
    for (k, v) in &headers {
        if !hop_by_hop(k) {
            out.append(k.clone(), v.clone());
        }
    }
    let sent = client
        .request(method, url)
        .headers(out)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            return ApiError::service_unavailable(format!(
                "error trying to reach service: {}",
                dial_error(authority, &e)
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
