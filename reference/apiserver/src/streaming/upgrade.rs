//! The upgrade-aware proxy: sends the client's upgrade request to the kubelet and, once
//! the kubelet switched protocols, answers the client's upgrade with the kubelet's
//! headers and copies bytes both ways (upstream's `UpgradeAwareHandler`). The API server
//! never looks inside the stream, so every subprotocol the kubelet speaks passes.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderName, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::status::ApiError;

/// The request headers the kubelet needs to switch protocols (a WebSocket's, or
/// SPDY's stream protocol negotiation).
const PASSED: [HeaderName; 6] = [
    header::CONNECTION,
    header::UPGRADE,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_PROTOCOL,
    HeaderName::from_static("x-stream-protocol-version"),
];

fn reason_of(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        404 => "NotFound",
        _ => "InternalError",
    }
}

/// Proxies the upgrade request `parts` to `path_and_query` on the kubelet at `addr`.
pub async fn proxy(
    mut parts: http::request::Parts,
    addr: &str,
    path_and_query: &str,
) -> Result<Response, ApiError> {
    let on_upgrade = parts
        .extensions
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or_else(|| ApiError::bad_request("Upgrade request required"))?;
    let dial_err = |e: &dyn std::fmt::Display| {
        ApiError::internal(format!("error dialing backend: dial tcp {addr}: {e}"))
    };
    let stream = TcpStream::connect(addr).await.map_err(|e| dial_err(&e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| dial_err(&e))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let mut request = http::Request::builder()
        .method(parts.method.clone())
        .uri(path_and_query)
        .header(header::HOST, addr);
    for name in PASSED {
        for value in parts.headers.get_all(&name) {
            request = request.header(&name, value);
        }
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(ApiError::internal)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| dial_err(&e))?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let code = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_string())
            .unwrap_or_default();
        return Err(ApiError::new(code, reason_of(code), body));
    }
    let mut answer = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let backend = hyper::upgrade::on(response);
    tokio::spawn(async move {
        let (Ok(client), Ok(backend)) = tokio::join!(on_upgrade, backend) else {
            return;
        };
        let _ =
            tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(backend))
                .await;
    });
    answer.body(Body::empty()).map_err(ApiError::internal)
}
