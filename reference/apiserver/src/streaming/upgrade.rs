//! The upgrade-aware proxy: sends the client's upgrade request to the kubelet (HTTPS) and, once
//! the kubelet switched protocols, answers the client's upgrade with the kubelet's
//! headers and copies bytes both ways (upstream's `UpgradeAwareHandler`). The API server
//! never looks inside the stream, so every subprotocol the kubelet speaks passes.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderName, StatusCode, header};
use hyper_util::rt::TokioIo;

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

/// Proxies the upgrade request `parts` to `path_and_query` on the kubelet at `addr`,
/// over `kubelet` (HTTPS, see [`crate::kubelet_client`]).
pub async fn proxy(
    mut parts: http::request::Parts,
    kubelet: &reqwest::Client,
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
    let mut headers = http::HeaderMap::new();
    for name in PASSED {
        for value in parts.headers.get_all(&name) {
            headers.append(&name, value.clone());
        }
    }
    let response = kubelet
        .request(
            parts.method.clone(),
            crate::kubelet_client::url(addr, path_and_query),
        )
        .headers(headers)
        .send()
        .await
        .map_err(|e| dial_err(&error_chain(&e)))?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let code = response.status().as_u16();
        let body = response
            .text()
            .await
            .map(|b| b.trim().to_string())
            .unwrap_or_default();
        return Err(ApiError::new(code, reason_of(code), body));
    }
    let mut answer = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    tokio::spawn(async move {
        let (Ok(client), Ok(mut backend)) = tokio::join!(on_upgrade, response.upgrade()) else {
            return;
        };
        let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut backend).await;
    });
    answer.body(Body::empty()).map_err(ApiError::internal)
}

/// `e` with its causes: reqwest's own message alone hides why the dial failed.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
