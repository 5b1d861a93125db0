//! The kubelet's streaming endpoints, what the API server's `pods/exec`, `pods/attach`
//! and `pods/portforward` reach: `/exec/{ns}/{pod}/{container}`,
//! `/attach/{ns}/{pod}/{container}` ([`attach`]), `/portForward/{ns}/{pod}` over the
//! WebSocket channel protocols ([`channel`]), and
//! `POST /run/{ns}/{pod}/{container}?cmd=...` (the command's output as the answer).
//! Each also takes the pod's UID before the container (`/exec/{ns}/{pod}/{uid}/{c}`,
//! `/portForward/{ns}/{pod}/{uid}`), as upstream's server does: exec, attach and run
//! find the pod by its name whatever the UID says, port-forward answers 404 when the
//! UID is not the pod's. `/portforward` (lower case, refkube's API server's older
//! spelling) is kept. Entry point: [`router`].
//!
//! exec speaks WebSocket only (kubectl 1.30 and later, kube-rs and the Python client
//! do). Port-forward also speaks SPDY ([`portforward_spdy`]), which kubectl insists on:
//! tunnelled in a WebSocket as `SPDY/3.1+portforward.k8s.io` first, a plain
//! `Upgrade: SPDY/3.1` connection if that is refused.

pub mod attach;
pub mod channel;
pub mod exec;
pub mod portforward;
pub mod portforward_spdy;
pub mod session;
pub mod spdy;

use std::sync::Arc;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::runtime::Runtime;
use channel::Codec;

/// What a remote command asks for (`PodExecOptions` as query parameters).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// The command (`command`, repeated; `cmd` for `/run`).
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    /// `port` / `ports` values (port-forward).
    pub ports: Vec<String>,
}

/// What a streaming path names.
#[derive(Debug, Deserialize)]
pub struct Target {
    pub namespace: String,
    pub pod: String,
    /// The pod's UID (the longer path form).
    pub uid: Option<String>,
    /// The container (none for port-forward).
    pub container: Option<String>,
}

fn truthy(v: &str) -> bool {
    matches!(v, "true" | "1" | "True" | "TRUE")
}

impl StreamOptions {
    /// Parses a query string.
    pub fn parse(query: Option<&str>) -> StreamOptions {
        let mut o = StreamOptions::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match k.as_ref() {
                "command" | "cmd" => o.command.push(v.into_owned()),
                "input" | "stdin" => o.stdin = truthy(&v),
                "output" | "stdout" => o.stdout = truthy(&v),
                "error" | "stderr" => o.stderr = truthy(&v),
                "tty" => o.tty = truthy(&v),
                "port" | "ports" => o.ports.push(v.into_owned()),
                _ => {}
            }
        }
        // A terminal merges stderr into stdout, as upstream.
        if o.tty {
            o.stderr = false;
        }
        o
    }
}

pub(crate) fn plain(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.into(),
    )
        .into_response()
}

/// The kubelet's 404 when the pod or container is not running here.
pub(crate) fn not_here(e: crate::runtime::RuntimeError) -> Response {
    let message = match e {
        crate::runtime::RuntimeError::Exec(m) => m,
        other => other.to_string(),
    };
    plain(StatusCode::NOT_FOUND, message)
}

/// The upgrade with the first of the client's subprotocols that `known` has, or the
/// answer refusing it.
pub(crate) fn negotiate(
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: &HeaderMap,
    known: &'static [&'static str],
) -> Result<(WebSocketUpgrade, Codec), Box<Response>> {
    let upgrade = upgrade.map_err(|e| {
        Box::new(plain(
            StatusCode::BAD_REQUEST,
            format!("this kubelet streams over WebSocket only (subprotocols {known:?}): {e}"),
        ))
    })?;
    let asked: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let upgrade = upgrade.protocols(known.iter().copied());
    let chosen = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .map(str::to_string);
    match chosen {
        Some(p) => Ok((upgrade, Codec::of(&p))),
        None if asked.is_empty() => Ok((upgrade, Codec::of(""))),
        None => Err(Box::new(plain(
            StatusCode::BAD_REQUEST,
            format!("requested protocol(s) are not supported: {asked:?}; supports {known:?}"),
        ))),
    }
}

async fn exec(
    State(runtime): State<Arc<dyn Runtime>>,
    Path(Target {
        namespace,
        pod,
        container,
        ..
    }): Path<Target>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let options = StreamOptions::parse(query.as_deref());
    if options.command.is_empty() {
        return plain(
            StatusCode::BAD_REQUEST,
            "you must specify at least 1 command",
        );
    }
    let container = container.unwrap_or_default();
    let target = match runtime
        .exec_target(&namespace, &pod, Some(&container))
        .await
    {
        Ok(t) => t,
        Err(e) => return not_here(e),
    };
    let (upgrade, codec) = match negotiate(upgrade, &headers, channel::REMOTE_COMMAND) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    upgrade.on_upgrade(move |socket| async move {
        match exec::spawn(&target, &options.command, &options) {
            Ok(streams) => session::run(socket, codec, streams, options.stdin).await,
            Err(failure) => {
                let streams = session::Streams {
                    input: None,
                    outputs: Vec::new(),
                    finished: Box::pin(async move { Some(failure) }),
                };
                session::run(socket, codec, streams, false).await;
            }
        }
    })
}

async fn port_forward(
    State(runtime): State<Arc<dyn Runtime>>,
    Path(Target {
        namespace,
        pod,
        uid,
        ..
    }): Path<Target>,
    RawQuery(query): RawQuery,
    request: axum::extract::Request,
) -> Response {
    let options = StreamOptions::parse(query.as_deref());
    let target = match runtime.exec_target(&namespace, &pod, None).await {
        Ok(t) => t,
        Err(e) => return not_here(e),
    };
    if uid.is_some_and(|u| u != target.pod_uid) {
        return plain(StatusCode::NOT_FOUND, "pod not found");
    }
    let (mut parts, _) = request.into_parts();
    let headers = parts.headers.clone();
    if upgrade_token(&headers).eq_ignore_ascii_case(spdy::UPGRADE) {
        return spdy_upgrade(&mut parts, pod, target.pod_ip);
    }
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &()).await;
    if asked_protocols(&headers).contains(&portforward_spdy::TUNNELED) {
        return match upgrade {
            Ok(u) => u
                .protocols([portforward_spdy::TUNNELED])
                .on_upgrade(move |socket| {
                    portforward_spdy::run(spdy::tunnel::bytes_of(socket), pod, target.pod_ip)
                }),
            Err(e) => plain(StatusCode::BAD_REQUEST, e.to_string()),
        };
    }
    let (upgrade, codec) = match negotiate(upgrade, &headers, channel::PORT_FORWARD) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let ports = match portforward::parse_ports(&options.ports) {
        Ok(p) => p,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    upgrade.on_upgrade(move |socket| portforward::run(socket, codec, pod, target.pod_ip, ports))
}

fn upgrade_token(headers: &HeaderMap) -> &str {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn asked_protocols(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A plain SPDY upgrade (upstream's `spdy.NewResponseUpgrader`): the client lists the
/// stream protocols it speaks in `X-Stream-Protocol-Version` (none: the oldest,
/// which is this one).
fn spdy_upgrade(parts: &mut http::request::Parts, pod: String, ip: std::net::IpAddr) -> Response {
    let offered: Vec<&str> = parts
        .headers
        .get_all(STREAM_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if !offered.is_empty() && !offered.contains(&portforward_spdy::PROTOCOL) {
        return plain(
            StatusCode::FORBIDDEN,
            format!(
                "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server supports [\"{}\"]",
                portforward_spdy::PROTOCOL
            ),
        );
    }
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return plain(
            StatusCode::BAD_REQUEST,
            "unable to upgrade: connection cannot be hijacked",
        );
    };
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            portforward_spdy::run(hyper_util::rt::TokioIo::new(upgraded), pod, ip).await;
        }
    });
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(
        header::CONNECTION,
        http::HeaderValue::from_static("Upgrade"),
    );
    h.insert(
        header::UPGRADE,
        http::HeaderValue::from_static(spdy::UPGRADE),
    );
    if !offered.is_empty() {
        h.insert(
            STREAM_PROTOCOL,
            http::HeaderValue::from_static(portforward_spdy::PROTOCOL),
        );
    }
    response
}

/// Upstream's stream protocol negotiation header.
const STREAM_PROTOCOL: &str = "x-stream-protocol-version";

/// The command of `/run`: upstream splits its one `cmd` parameter on spaces; several
/// `cmd` parameters (refkube's addition) are taken as the arguments, one each, so that an
/// argument may hold a space.
fn run_command(mut cmd: Vec<String>) -> Vec<String> {
    match cmd.len() {
        1 => cmd.remove(0).split(' ').map(str::to_string).collect(),
        _ => cmd,
    }
}

/// `POST /run`: runs the command to its end and answers its combined output (with
/// upstream's `application/json` content type, whatever the output is).
async fn run(
    State(runtime): State<Arc<dyn Runtime>>,
    Path(Target {
        namespace,
        pod,
        container,
        ..
    }): Path<Target>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut options = StreamOptions::parse(query.as_deref());
    options.command = run_command(options.command);
    if options.command.is_empty() {
        return plain(
            StatusCode::BAD_REQUEST,
            "you must specify at least 1 command",
        );
    }
    options.stdout = true;
    options.stderr = true;
    options.stdin = false;
    options.tty = false;
    let container = container.unwrap_or_default();
    let target = match runtime
        .exec_target(&namespace, &pod, Some(&container))
        .await
    {
        Ok(t) => t,
        Err(e) => return not_here(e),
    };
    let streams = match exec::spawn(&target, &options.command, &options) {
        Ok(s) => s,
        Err(f) => return plain(StatusCode::INTERNAL_SERVER_ERROR, f.to_string()),
    };
    let mut output = Vec::new();
    let reads = streams.outputs.into_iter().map(|(_, mut r)| async move {
        let mut buf = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut r, &mut buf).await;
        buf
    });
    let (_, bufs) = tokio::join!(streams.finished, futures::future::join_all(reads));
    for b in bufs {
        output.extend(b);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        output,
    )
        .into_response()
}

/// The streaming routes, on `runtime`.
pub fn router(runtime: Arc<dyn Runtime>) -> Router {
    let mut router = Router::new();
    for path in [
        "/exec/{namespace}/{pod}/{container}",
        "/exec/{namespace}/{pod}/{uid}/{container}",
    ] {
        router = router.route(path, get(exec).post(exec));
    }
    for path in [
        "/attach/{namespace}/{pod}/{container}",
        "/attach/{namespace}/{pod}/{uid}/{container}",
    ] {
        router = router.route(path, get(attach::attach).post(attach::attach));
    }
    for path in [
        "/portForward/{namespace}/{pod}",
        "/portForward/{namespace}/{pod}/{uid}",
        "/portforward/{namespace}/{pod}",
    ] {
        router = router.route(path, get(port_forward).post(port_forward));
    }
    for path in [
        "/run/{namespace}/{pod}/{container}",
        "/run/{namespace}/{pod}/{uid}/{container}",
    ] {
        router = router.route(path, post(run));
    }
    router.with_state(runtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_repeated_commands_and_flags() {
        let o = StreamOptions::parse(Some(
            "command=sh&command=-c&command=echo+%24HOSTNAME&stdin=true&stdout=true&tty=true&stderr=true",
        ));
        assert_eq!(o.command, ["sh", "-c", "echo $HOSTNAME"]);
        assert!(o.stdin && o.stdout && o.tty);
        assert!(!o.stderr, "a terminal has no separate stderr");
    }

    #[test]
    fn run_splits_one_cmd_on_spaces_and_keeps_several_as_they_are() {
        let one = StreamOptions::parse(Some("cmd=printenv+HOSTNAME"));
        assert_eq!(run_command(one.command), ["printenv", "HOSTNAME"]);
        let several = StreamOptions::parse(Some("cmd=sh&cmd=-c&cmd=echo+a+b"));
        assert_eq!(run_command(several.command), ["sh", "-c", "echo a b"]);
    }
}
