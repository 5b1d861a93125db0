//! One remote command session over a channel WebSocket: the command's outputs go out on
//! their channels, stdin and terminal resizes come in, and when the command ends its
//! outcome goes out on the error channel before the connection closes (upstream's
//! `remotecommand` server). If the client goes away first, the command is dropped,
//! which kills it.

use std::pin::Pin;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::channel::{self, Codec, Failure, TerminalSize};
use crate::runtime::stdio::{ContainerIo, Stdin};

/// Where the client's stdin and resizes go.
pub enum Input {
    /// The session's own command's stdin (exec).
    Own(Stdin),
    /// A container's stdin, shared with other attached sessions (attach).
    Shared(Arc<ContainerIo>),
}

/// The running command as the session sees it.
pub struct Streams {
    /// Where stdin goes (None: the client sends none, or the command takes none).
    pub input: Option<Input>,
    /// Output channels and what feeds them.
    pub outputs: Vec<(u8, Pin<Box<dyn AsyncRead + Send>>)>,
    /// Resolves once the command ended: None when it succeeded. Dropping it kills the
    /// command.
    pub finished: Pin<Box<dyn Future<Output = Option<Failure>> + Send>>,
}

/// Sends `messages` in order, then a normal close.
pub fn writer(
    socket_sink: futures::stream::SplitSink<WebSocket, Message>,
) -> (mpsc::Sender<Message>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Message>(32);
    let task = tokio::spawn(async move {
        let mut sink = socket_sink;
        while let Some(m) = rx.recv().await {
            if sink.send(m).await.is_err() {
                return;
            }
        }
        let close = CloseFrame {
            code: close_code::NORMAL,
            reason: "".into(),
        };
        let _ = sink.send(Message::Close(Some(close))).await;
    });
    (tx, task)
}

/// Copies `reader` to `channel` until it ends (a terminal's master ends in EIO once
/// the command and its children are gone: that is an end, not a failure).
pub async fn pump(
    mut reader: Pin<Box<dyn AsyncRead + Send>>,
    channel: u8,
    codec: Codec,
    tx: mpsc::Sender<Message>,
) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send(codec.encode(channel, &buf[..n])).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Feeds the client's stdin and resizes to `input` until the client closes the
/// connection.
async fn feed(
    mut source: futures::stream::SplitStream<WebSocket>,
    codec: Codec,
    mut input: Option<Input>,
    stdin: bool,
) {
    while let Some(Ok(message)) = source.next().await {
        if matches!(message, Message::Close(_)) {
            return;
        }
        let Some((ch, data)) = codec.decode(message) else {
            continue;
        };
        match ch {
            channel::STDIN if stdin => {
                let written = match &mut input {
                    Some(Input::Own(w)) => w.write(&data).await.is_ok(),
                    Some(Input::Shared(io)) => io.write_stdin(&data).await,
                    None => true,
                };
                if !written {
                    input = None;
                }
            }
            channel::RESIZE => {
                let Ok(size) = serde_json::from_slice::<TerminalSize>(&data) else {
                    continue;
                };
                match &input {
                    Some(Input::Own(w)) => w.resize(size.height, size.width),
                    Some(Input::Shared(io)) => io.resize(size.height, size.width).await,
                    None => {}
                }
            }
            // The client sends no more stdin: the command sees end of file.
            channel::CLOSE if codec.close_signal && data.first() == Some(&channel::STDIN) => {
                let keep = match &mut input {
                    Some(Input::Own(w)) => w.end().await,
                    Some(Input::Shared(io)) => {
                        io.release_stdin().await;
                        true
                    }
                    None => false,
                };
                if !keep {
                    input = None;
                }
            }
            _ => {}
        }
    }
}

/// Runs the session until the command ends or the client leaves.
pub async fn run(socket: WebSocket, codec: Codec, streams: Streams, stdin: bool) {
    let (sink, source) = socket.split();
    let (tx, writer_task) = writer(sink);
    // Upstream tells the client the streams are ready with an empty frame on the first
    // channel it writes.
    let first = streams
        .outputs
        .first()
        .map_or(channel::ERROR, |(ch, _)| *ch);
    let _ = tx.send(codec.encode(first, &[])).await;
    let pumps = futures::future::join_all(
        streams
            .outputs
            .into_iter()
            .map(|(ch, r)| pump(r, ch, codec, tx.clone())),
    );
    let work = async {
        let (failure, _) = tokio::join!(streams.finished, pumps);
        failure
    };
    tokio::select! {
        failure = work => {
            if let Some(payload) = codec.error_payload(failure) {
                let _ = tx.send(codec.encode(channel::ERROR, &payload)).await;
            }
        }
        () = feed(source, codec, streams.input, stdin) => {}
    }
    drop(tx);
    let _ = writer_task.await;
}
