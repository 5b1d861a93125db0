//! Port-forwarding over a channel WebSocket (upstream's `portforward` v4 protocol):
//! each asked port has a data channel (2·i) and an error channel (2·i+1); the first
//! frame the kubelet sends on each carries the port as two little-endian bytes. The
//! kubelet dials the pod's IP on each port and copies bytes both ways; the connection
//! closes once every port's stream ended.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ws::WebSocket;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use super::channel::Codec;
use super::session::{pump, writer};

/// The ports of `values` (each a port or a comma-separated list), with upstream's
/// messages for bad ones.
pub fn parse_ports(values: &[String]) -> Result<Vec<u16>, String> {
    if values.is_empty() {
        return Err("query parameter \"port\" is required".into());
    }
    let mut ports = Vec::new();
    for value in values {
        if value.is_empty() {
            return Err("query parameter \"port\" cannot be empty".into());
        }
        for p in value.split(',') {
            let port: u16 = p
                .parse()
                .map_err(|e| format!("unable to parse {value:?} as a port: {e}"))?;
            if port < 1 {
                return Err(format!("port {value:?} must be > 0"));
            }
            ports.push(port);
        }
    }
    Ok(ports)
}

/// Forwards `ports` of the pod at `ip` over `socket`.
pub async fn run(socket: WebSocket, codec: Codec, pod: String, ip: IpAddr, ports: Vec<u16>) {
    let (sink, mut source) = socket.split();
    let (tx, writer_task) = writer(sink);
    let mut writers: Vec<Option<OwnedWriteHalf>> = Vec::new();
    let mut pumps = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let data = u8::try_from(2 * i).unwrap_or(u8::MAX);
        let error = data.saturating_add(1);
        let prefix = port.to_le_bytes();
        let _ = tx.send(codec.encode(data, &prefix)).await;
        let _ = tx.send(codec.encode(error, &prefix)).await;
        match TcpStream::connect(SocketAddr::new(ip, *port)).await {
            Ok(stream) => {
                let (read, write) = stream.into_split();
                writers.push(Some(write));
                pumps.push(pump(Box::pin(read), data, codec, tx.clone()));
            }
            Err(e) => {
                let message = format!("error forwarding port {port} to pod {pod}: {e}");
                let _ = tx.send(codec.encode(error, message.as_bytes())).await;
                writers.push(None);
            }
        }
    }
    let feed = async {
        while let Some(Ok(message)) = source.next().await {
            if matches!(message, axum::extract::ws::Message::Close(_)) {
                return;
            }
            let Some((ch, data)) = codec.decode(message) else {
                continue;
            };
            if ch % 2 != 0 {
                continue;
            }
            if let Some(slot) = writers.get_mut(usize::from(ch / 2))
                && let Some(w) = slot
                && w.write_all(&data).await.is_err()
            {
                *slot = None;
            }
        }
    };
    tokio::select! {
        _ = futures::future::join_all(pumps) => {}
        () = feed => {}
    }
    drop(tx);
    let _ = writer_task.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_one_per_value_or_comma_separated() {
        assert_eq!(
            parse_ports(&["80".into(), "8080,9090".into()]).unwrap(),
            vec![80, 8080, 9090]
        );
        assert_eq!(
            parse_ports(&[]).unwrap_err(),
            "query parameter \"port\" is required"
        );
        assert!(
            parse_ports(&["0".into()])
                .unwrap_err()
                .contains("must be > 0")
        );
        assert!(
            parse_ports(&["x".into()])
                .unwrap_err()
                .contains("unable to parse")
        );
    }
}
