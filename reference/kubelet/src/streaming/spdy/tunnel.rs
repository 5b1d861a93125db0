//! A WebSocket as a byte stream: upstream's `TunnelingConnection`. The client writes
//! each chunk of its SPDY connection as one binary message, so frames may span
//! messages and messages may hold several frames; only the concatenation counts.

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// The byte stream carried by `socket`'s binary messages.
pub fn bytes_of(socket: WebSocket) -> DuplexStream {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let (mut sink, mut source) = socket.split();
        let (mut r, mut w) = tokio::io::split(theirs);
        let up = async move {
            while let Some(Ok(m)) = source.next().await {
                match m {
                    Message::Binary(b) if w.write_all(&b).await.is_err() => break,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            let _ = w.shutdown().await;
        };
        let down = async move {
            let mut buf = vec![0u8; 32 * 1024];
            while let Ok(n @ 1..) = r.read(&mut buf).await {
                if sink
                    .send(Message::Binary(buf[..n].to_vec().into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let close = CloseFrame {
                code: close_code::NORMAL,
                reason: "".into(),
            };
            let _ = sink.send(Message::Close(Some(close))).await;
        };
        tokio::join!(up, down);
    });
    ours
}
