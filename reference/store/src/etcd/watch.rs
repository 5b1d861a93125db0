//! etcd watch streams over the gateway's streaming `/v3/watch` (newline-delimited JSON).
//!
//! Entry points: [`stream`] and [`probe_compacted`]. The stream keeps a revision cursor:
//! when a connection breaks it re-opens the watch from `cursor + 1` on the next endpoint
//! that answers and drops anything at or below the cursor, so a member failure causes
//! neither a gap nor a duplicate. A cancel carrying `compact_revision` ends the stream
//! with [`StoreError::Compacted`], as kube-apiserver turns it into "410 Gone".

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use serde_json::json;

use super::client::{Client, EtcdError};
use super::wire::{WatchLine, WatchResult, b64, prefix_end};
use crate::{Revision, StoreError, WatchEvent, WatchStream};

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Opens the watch request for `prefix` from `start` (a revision; 0 = now).
async fn open(client: &Client, prefix: &str, start: Revision) -> Result<Body, EtcdError> {
    let key = if prefix.is_empty() {
        vec![0]
    } else {
        prefix.as_bytes().to_vec()
    };
    let body = json!({ "create_request": {
        "key": b64(&key),
        "range_end": b64(&prefix_end(prefix.as_bytes())),
        "start_revision": start,
        "prev_kv": true,
    }});
    let resp = client.open_stream("/v3/watch", &body).await?;
    Ok(Box::pin(resp.bytes_stream()))
}

/// Finds etcd's compaction point: a watch from revision 1 is cancelled at once with
/// the compaction revision when anything was compacted. Call it only when a read has
/// already failed `Compacted`, otherwise it waits for a cancel that never comes.
pub(crate) async fn probe_compacted(client: &Client) -> Result<Revision, StoreError> {
    let mut body = open(client, "\0probe", 1).await?;
    let mut buf = Vec::new();
    let deadline = Duration::from_secs(5);
    loop {
        let chunk = tokio::time::timeout(deadline, body.next()).await;
        let chunk = match chunk {
            Ok(Some(Ok(c))) => c,
            Ok(Some(Err(e))) => {
                return Err(StoreError::Unavailable(format!(
                    "etcd compaction probe: {e}"
                )));
            }
            Ok(None) | Err(_) => {
                return Err(StoreError::Unavailable(
                    "etcd compaction probe got no answer".into(),
                ));
            }
        };
        buf.extend_from_slice(&chunk);
        for line in take_lines(&mut buf) {
            let result = parse_line(&line)?;
            if result.canceled {
                return Ok(result.compact_revision);
            }
        }
    }
}

/// Splits complete lines off the front of `buf`.
fn take_lines(buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = buf.drain(..=pos).collect();
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            lines.push(line);
        }
    }
    lines
}

fn parse_line(line: &[u8]) -> Result<WatchResult, StoreError> {
    let parsed: WatchLine = serde_json::from_slice(line)
        .map_err(|e| StoreError::Corrupt(format!("cannot decode an etcd watch response: {e}")))?;
    if let Some(err) = parsed.error {
        return Err(StoreError::Unavailable(format!("etcd watch failed: {err}")));
    }
    Ok(parsed.result.unwrap_or_default())
}

/// Groups events into one batch per revision, dropping those at or below `cursor`.
pub(crate) fn batches(events: Vec<WatchEvent>, cursor: Revision) -> Vec<Vec<WatchEvent>> {
    let mut out: Vec<Vec<WatchEvent>> = Vec::new();
    for e in events.into_iter().filter(|e| e.revision() > cursor) {
        match out.last_mut() {
            Some(b) if b[0].revision() == e.revision() => b.push(e),
            _ => out.push(vec![e]),
        }
    }
    out
}

struct State {
    client: Arc<Client>,
    prefix: String,
    cursor: Revision,
    body: Option<Body>,
    buf: Vec<u8>,
    pending: VecDeque<Vec<WatchEvent>>,
    done: bool,
}

/// A watch of `prefix` delivering every change after `after`.
pub(crate) fn stream(client: Arc<Client>, prefix: String, after: Revision) -> WatchStream {
    let state = State {
        client,
        prefix,
        cursor: after,
        body: None,
        buf: Vec::new(),
        pending: VecDeque::new(),
        done: false,
    };
    Box::pin(stream::unfold(state, next))
}

async fn next(mut s: State) -> Option<(Result<Vec<WatchEvent>, StoreError>, State)> {
    loop {
        if let Some(batch) = s.pending.pop_front() {
            return Some((Ok(batch), s));
        }
        if s.done {
            return None;
        }
        if let Err(e) = step(&mut s).await {
            s.done = true;
            return Some((Err(e), s));
        }
    }
}

/// Reads one chunk (connecting first if needed) and queues the batches it completes.
async fn step(s: &mut State) -> Result<(), StoreError> {
    let body = match s.body.as_mut() {
        Some(b) => b,
        None => {
            let b = reconnect(&s.client, &s.prefix, s.cursor).await?;
            s.buf.clear();
            s.body.insert(b)
        }
    };
    match body.next().await {
        Some(Ok(chunk)) => {
            s.buf.extend_from_slice(&chunk);
            for line in take_lines(&mut s.buf) {
                let result = parse_line(&line)?;
                if result.canceled {
                    if result.compact_revision > 0 {
                        return Err(StoreError::Compacted {
                            requested: s.cursor,
                            compacted: result.compact_revision,
                        });
                    }
                    return Err(StoreError::Unavailable(format!(
                        "etcd cancelled the watch: {}",
                        result.cancel_reason
                    )));
                }
                let events = result
                    .events
                    .iter()
                    .map(|e| e.decode())
                    .collect::<Result<Vec<_>, _>>()?;
                let batches = batches(events, s.cursor);
                if let Some(last) = batches.last() {
                    s.cursor = last[0].revision();
                }
                s.pending.extend(batches);
            }
        }
        // The connection broke or the member went away: resume from the cursor.
        Some(Err(e)) => {
            tracing::debug!(error = %e, cursor = s.cursor, "etcd watch stream broke; re-opening");
            s.body = None;
        }
        None => s.body = None,
    }
    Ok(())
}

/// Re-opens the watch from the cursor, trying the endpoints with a pause between rounds.
async fn reconnect(client: &Client, prefix: &str, cursor: Revision) -> Result<Body, StoreError> {
    let config = client.config();
    let mut last = None;
    for attempt in 0..=config.watch_retries {
        if attempt > 0 {
            tokio::time::sleep(config.watch_retry_backoff).await;
        }
        match open(client, prefix, cursor + 1).await {
            Ok(body) => return Ok(body),
            Err(e @ (EtcdError::Unreachable(_) | EtcdError::Request { .. })) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(
        || StoreError::Unavailable("etcd watch could not be opened".into()),
        Into::into,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventKind, KeyValue};

    fn ev(rev: Revision, key: &str) -> WatchEvent {
        let kv = KeyValue {
            key: key.into(),
            value: Bytes::new(),
            create_revision: rev,
            mod_revision: rev,
        };
        WatchEvent {
            kind: EventKind::Put,
            kv,
            prev: None,
        }
    }

    #[test]
    fn events_are_batched_per_revision_and_old_ones_dropped() {
        let got = batches(vec![ev(3, "a"), ev(4, "a"), ev(4, "b"), ev(5, "c")], 3);
        let shape: Vec<Vec<(Revision, String)>> = got
            .iter()
            .map(|b| b.iter().map(|e| (e.revision(), e.kv.key.clone())).collect())
            .collect();
        assert_eq!(
            shape,
            vec![
                vec![(4, "a".into()), (4, "b".into())],
                vec![(5, "c".into())]
            ]
        );
    }

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let mut buf = b"{\"a\":1}\n{\"b\"".to_vec();
        assert_eq!(take_lines(&mut buf), vec![b"{\"a\":1}\n".to_vec()]);
        buf.extend_from_slice(b":2}\n\n");
        assert_eq!(take_lines(&mut buf), vec![b"{\"b\":2}\n".to_vec()]);
        assert!(buf.is_empty());
    }
}
