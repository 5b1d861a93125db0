//! `/attach/{ns}/{pod}[/{uid}]/{container}` (what `pods/attach` reaches): a remote
//! command session on the container's main process instead of a new one. Its output is
//! what the container writes from now on (stdout and stderr on their channels; all on
//! stdout for a `tty` container); its stdin, when the container keeps one open
//! (`stdin: true`), takes the client's input, shared with every other attached session,
//! and resizes reach a `tty` container's terminal. With `stdinOnce` the container's
//! stdin closes when the first session that used it ends. The session ends, with the
//! success Status, when the container exits.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::session::{self, Input, Streams};
use super::{StreamOptions, Target, channel, negotiate, not_here, plain};
use crate::runtime::Runtime;
use crate::runtime::stdio::ContainerIo;

/// The session's view of the container `io` as `options` ask: its output on the
/// channels asked for until it exits, and its stdin when asked for.
pub fn streams(io: Arc<ContainerIo>, options: &StreamOptions) -> Streams {
    let (mut rx, mut ended) = io.subscribe();
    let mut outputs: Vec<(u8, std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>)> = Vec::new();
    let mut writers = Vec::new();
    // A terminal has one output, which goes out on stdout (the runtime tags it so).
    let wanted = if io.tty() {
        vec![(channel::STDOUT, options.stdout || options.stderr)]
    } else {
        vec![
            (channel::STDOUT, options.stdout),
            (channel::STDERR, options.stderr),
        ]
    };
    for (ch, on) in wanted {
        if on {
            let (reader, writer) = tokio::io::duplex(64 * 1024);
            outputs.push((ch, Box::pin(reader)));
            writers.push((ch, writer));
        }
    }
    let mut done = ended.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                chunk = rx.recv() => match chunk {
                    Ok((ch, data)) => if !deliver(&mut writers, ch, &data).await { return },
                    // A slow session loses what it fell behind on, as the container
                    // never waits for it.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                },
                () = ended_signal(&mut done) => {
                    // All the container wrote is in the channel by now.
                    loop {
                        match rx.try_recv() {
                            Ok((ch, data)) => if !deliver(&mut writers, ch, &data).await { return },
                            Err(TryRecvError::Lagged(_)) => {}
                            Err(_) => return,
                        }
                    }
                }
            }
        }
    });
    let finished = async move {
        ended_signal(&mut ended).await;
        None
    };
    Streams {
        input: options.stdin.then_some(Input::Shared(io)),
        outputs,
        finished: Box::pin(finished),
    }
}

/// Resolves once the container ended.
async fn ended_signal(ended: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = ended.wait_for(|e| *e).await;
}

/// Passes `data` of channel `ch` to the session's output for it, if it asked for it;
/// false once the session is gone.
async fn deliver(writers: &mut [(u8, tokio::io::DuplexStream)], ch: u8, data: &[u8]) -> bool {
    match writers.iter_mut().find(|(c, _)| *c == ch) {
        Some((_, w)) => w.write_all(data).await.is_ok(),
        None => true,
    }
}

/// `GET|POST /attach/{ns}/{pod}[/{uid}]/{container}`. As upstream, the UID is taken
/// and not checked: the pod is found by its name.
pub async fn attach(
    State(runtime): State<Arc<dyn Runtime>>,
    Path(target): Path<Target>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let options = StreamOptions::parse(query.as_deref());
    if !(options.stdin || options.stdout || options.stderr) {
        return plain(
            StatusCode::BAD_REQUEST,
            "you must specify at least one of stdin, stdout, or stderr",
        );
    }
    let container = target.container.unwrap_or_default();
    let io = match runtime
        .attach_target(&target.namespace, &target.pod, &container)
        .await
    {
        Ok(io) => io,
        Err(e) => return not_here(e),
    };
    let (upgrade, codec) = match negotiate(upgrade, &headers, channel::REMOTE_COMMAND) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    upgrade.on_upgrade(move |socket| async move {
        session::run(socket, codec, streams(io.clone(), &options), options.stdin).await;
        if options.stdin {
            io.release_stdin().await;
        }
    })
}
