//! Port-forwarding over SPDY (upstream's `portforward.k8s.io` protocol on httpstream):
//! per forwarded connection the client opens an error stream and a data stream with
//! the same `requestID` and the pod port in `port`; once both arrived the kubelet dials
//! the pod's port and copies bytes between it and the data stream, and reports a
//! failure as text on the error stream.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::spdy::conn::{self, Stream};
use super::spdy::frame::PROTOCOL_ERROR;

/// The protocol name, in `X-Stream-Protocol-Version` and the tunnel's subprotocol.
pub const PROTOCOL: &str = "portforward.k8s.io";
/// The WebSocket subprotocol of the tunnelled form.
pub const TUNNELED: &str = "SPDY/3.1+portforward.k8s.io";

/// Which pair a stream belongs to, and as which half: upstream's `requestID` header,
/// or (clients before it) derived from the stream id, the data stream coming two
/// after its error stream.
fn pair_key(s: &Stream) -> Result<(String, bool), String> {
    let is_data = match s.header("streamtype") {
        Some("data") => true,
        Some("error") => false,
        Some(other) => return Err(format!("invalid stream type {other:?}")),
        None => return Err("\"streamType\" header is required".into()),
    };
    let id = match s.header("requestid") {
        Some(r) => r.to_string(),
        None if is_data => s.id.saturating_sub(2).to_string(),
        None => s.id.to_string(),
    };
    Ok((id, is_data))
}

/// Serves one connection's streams, forwarding to the pod `pod` at `ip`.
pub async fn run<IO>(io: IO, pod: String, ip: IpAddr)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (tx, mut streams) = mpsc::channel::<Stream>(16);
    let connection = tokio::spawn(conn::serve(io, tx));
    let mut waiting: HashMap<String, (Option<Stream>, Option<Stream>)> = HashMap::new();
    while let Some(stream) = streams.recv().await {
        let (key, is_data) = match pair_key(&stream) {
            Ok(k) => k,
            Err(e) => {
                tracing::debug!("port-forward stream {}: {e}", stream.id);
                stream.out.reset(PROTOCOL_ERROR).await;
                continue;
            }
        };
        let slot = waiting.entry(key.clone()).or_default();
        if is_data {
            slot.0 = Some(stream);
        } else {
            slot.1 = Some(stream);
        }
        if let (Some(_), Some(_)) = slot
            && let Some((Some(data), Some(error))) = waiting.remove(&key)
        {
            tokio::spawn(forward(data, error, pod.clone(), ip));
        }
    }
    let _ = connection.await;
}

async fn forward(mut data: Stream, error: Stream, pod: String, ip: IpAddr) {
    let port = data.header("port").unwrap_or_default().to_string();
    let port: u16 = match port.parse::<u16>() {
        Ok(p) if p > 0 => p,
        Ok(_) | Err(_) => {
            let m = format!("unable to parse '{port}' as a port");
            error.out.send(m.as_bytes()).await;
            error.out.close().await;
            data.out.close().await;
            return;
        }
    };
    let tcp = match TcpStream::connect(SocketAddr::new(ip, port)).await {
        Ok(t) => t,
        Err(e) => {
            let m = format!("error forwarding port {port} to pod {pod}: {e}");
            error.out.send(m.as_bytes()).await;
            error.out.close().await;
            data.out.close().await;
            return;
        }
    };
    let (mut from_pod, mut to_pod) = tcp.into_split();
    let out = data.out.clone();
    let upstream = async {
        while let Some(chunk) = data.incoming.recv().await {
            if to_pod.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to_pod.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n @ 1..) = from_pod.read(&mut buf).await {
            if !out.send(&buf[..n]).await {
                return;
            }
        }
        out.close().await;
    };
    tokio::join!(upstream, downstream);
    error.out.close().await;
}
