//! `agnhost netexec`: an HTTP server (and a UDP responder) for network tests, like
//! upstream's `test/images/agnhost/netexec`. Entry point: [`serve`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Query};
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::{TcpListener, UdpSocket};

use super::dial::{self, DialConfig};
use super::{AgnhostError, hostname};

type Params = Query<HashMap<String, String>>;

async fn root() -> String {
    format!("NOW: {}", k8s_openapi::jiff::Timestamp::now())
}

async fn echo(Query(q): Params) -> (StatusCode, String) {
    let code = q
        .get("code")
        .and_then(|c| c.parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::OK);
    (code, q.get("msg").cloned().unwrap_or_default())
}

async fn client_ip(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    peer.to_string()
}

async fn shell(Query(q): Params) -> (StatusCode, Json<serde_json::Value>) {
    let cmd = q
        .get("shellCommand")
        .or_else(|| q.get("cmd"))
        .cloned()
        .unwrap_or_default();
    match tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&cmd)
        .output()
        .await
    {
        Ok(out) if out.status.success() => (
            StatusCode::OK,
            Json(serde_json::json!({ "output": String::from_utf8_lossy(&out.stdout) })),
        ),
        Ok(out) => (
            StatusCode::EXPECTATION_FAILED,
            // Upstream marshals a Go map: keys sorted.
            Json(serde_json::json!({
                "error": format!("exit status {}", out.status.code().unwrap_or(-1)),
                "output": String::from_utf8_lossy(&out.stdout),
            })),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": e.to_string() })),
        ),
    }
}

async fn exit(Query(q): Params) -> StatusCode {
    let code: i32 = q.get("code").and_then(|c| c.parse().ok()).unwrap_or(0);
    // Exit after the response is on its way, as upstream does from a goroutine.
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        std::process::exit(code);
    });
    StatusCode::NO_CONTENT
}

/// `/dial`: upstream answers 400 with a plain-text reason for bad parameters, else 200
/// with the JSON outcome (Go sniffs it as text/plain, hence that content type).
async fn dial_handler(
    cfg: DialConfig,
    Query(q): Params,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    const TEXT: (&str, &str) = ("content-type", "text/plain; charset=utf-8");
    let d = match dial::parse(&q) {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, [TEXT], format!("{e}\n")),
    };
    let addr = match dial::resolve(&d).await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_REQUEST, [TEXT], format!("{e}\n")),
    };
    let out = dial::run(&d, addr, &cfg).await;
    (StatusCode::OK, [TEXT], dial::render(&out).to_string())
}

/// The HTTP routes, `/dial` with upstream's timeouts.
pub fn router() -> Router {
    router_with(DialConfig::default())
}

/// The HTTP routes, `/dial` with the given settings.
pub fn router_with(dial_cfg: DialConfig) -> Router {
    Router::new()
        .route("/", get(root))
        .route(
            "/dial",
            get(move |q: Params| dial_handler(dial_cfg.clone(), q)),
        )
        .route("/echo", get(echo))
        .route("/clientip", get(client_ip))
        .route("/hostname", get(|| async { hostname() }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/shell", get(shell))
        .route("/exit", get(exit).post(exit))
}

/// The UDP reply to one datagram: `hostname`, `echo <msg>`, `clientip`. As upstream, the
/// datagram is trimmed and lower-cased first, and anything else gets no reply.
pub fn udp_reply(request: &str, peer: SocketAddr) -> Option<String> {
    let request = request.trim().to_lowercase();
    match request.as_str() {
        "hostname" => Some(hostname()),
        "clientip" => Some(peer.to_string()),
        r => r.strip_prefix("echo ").map(str::to_string),
    }
}

async fn serve_udp(socket: UdpSocket) {
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(reply) = udp_reply(&String::from_utf8_lossy(&buf[..n]), peer) {
            let _ = socket.send_to(reply.as_bytes(), peer).await;
        }
    }
}

/// Serves HTTP on `ip:http_port` and, if given, UDP on `ip:udp_port`, forever.
pub async fn serve(ip: IpAddr, http_port: u16, udp_port: Option<u16>) -> Result<i32, AgnhostError> {
    let addr = SocketAddr::new(ip, http_port);
    let serve_err = |what, source| AgnhostError::Serve {
        what,
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| serve_err("http", e))?;
    if let Some(port) = udp_port {
        let udp_addr = SocketAddr::new(ip, port);
        let socket = UdpSocket::bind(udp_addr)
            .await
            .map_err(|source| AgnhostError::Serve {
                what: "udp",
                addr: udp_addr.to_string(),
                source,
            })?;
        tokio::spawn(serve_udp(socket));
    }
    println!("Started HTTP server on port {http_port}");
    axum::serve(
        listener,
        router().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .map_err(|e| serve_err("http", e))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_commands_answer_like_upstream() {
        let peer: SocketAddr = "127.0.0.9:4000".parse().unwrap();
        assert_eq!(
            udp_reply("echo Hello There\n", peer).as_deref(),
            Some("hello there")
        );
        assert_eq!(
            udp_reply(" CLIENTIP ", peer).as_deref(),
            Some("127.0.0.9:4000")
        );
        assert_eq!(udp_reply("echo", peer), None);
        assert_eq!(udp_reply("bogus", peer), None);
    }
}
