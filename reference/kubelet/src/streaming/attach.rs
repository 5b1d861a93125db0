//! `/attach/{ns}/{pod}/{container}` (what `pods/attach` reaches): a remote command
//! session on the container's main process instead of a new one. Its output is what
//! the container writes from now on, as its log records it; the session ends, with
//! the success Status, when the container exits. The process runtime starts
//! containers with stdin closed, so stdin and resizes from the client are read and
//! dropped.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tokio::io::AsyncWriteExt;

use super::session::{self, Streams};
use super::{StreamOptions, channel, negotiate, not_here, plain};
use crate::logs::{ContainerLog, LogStore};
use crate::runtime::Runtime;

/// What the attach handler reads.
pub type AttachState = (Arc<LogStore>, Arc<dyn Runtime>);

/// The container's output from now on, on stdout, until it exits.
pub fn follow(log: Arc<ContainerLog>) -> Streams {
    let (reader, mut writer) = tokio::io::duplex(64 * 1024);
    let ended = log.clone();
    tokio::spawn(async move {
        let mut rx = log.subscribe();
        let mut cursor = log.tail_start(0);
        loop {
            rx.borrow_and_update();
            let chunk = log.read_from(cursor);
            for line in &chunk.lines {
                let text = format!("{}\n", line.text);
                if writer.write_all(text.as_bytes()).await.is_err() {
                    return;
                }
            }
            cursor = chunk.next;
            if chunk.closed || rx.changed().await.is_err() {
                return;
            }
        }
    });
    let finished = async move {
        let mut rx = ended.subscribe();
        while !ended.read_from(u64::MAX).closed {
            if rx.changed().await.is_err() {
                break;
            }
        }
        None
    };
    Streams {
        input: None,
        outputs: vec![(channel::STDOUT, Box::pin(reader))],
        finished: Box::pin(finished),
    }
}

/// `GET|POST /attach/{ns}/{pod}/{container}`.
pub async fn attach(
    State((logs, runtime)): State<AttachState>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
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
    if let Err(e) = runtime
        .exec_target(&namespace, &pod, Some(&container))
        .await
    {
        return not_here(e);
    }
    let Some(log) = logs.get(&namespace, &pod, &container, false) else {
        return plain(
            StatusCode::NOT_FOUND,
            format!("container {container} is not running in pod {namespace}/{pod}"),
        );
    };
    let (upgrade, codec) = match negotiate(upgrade, &headers, channel::REMOTE_COMMAND) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    upgrade.on_upgrade(move |socket| session::run(socket, codec, follow(log), false))
}
