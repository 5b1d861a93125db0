//! WATCH: the chunked stream of `{"type":...,"object":...}` lines, served from the
//! watch cache with upstream's resourceVersion rules, bookmarks, initial events,
//! selector enter/leave, Table rows and timeouts.
//!
//! Entry points: [`serve`] (the handler), [`convert`] (the per-watcher event filter).
//! As upstream's cacher, a watcher whose buffer stays full for the dispatch budget is
//! closed (the client sees its stream end and re-watches) rather than left holding
//! events until it reads again, and a watch with `sendInitialEvents` waits a bounded
//! time for the cache to reach its resourceVersion, then answers 504.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rand::Rng;
use refkube_resources::ResourceInfo;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::cached::CachedObject;
use crate::handlers::Ctx;
use crate::handlers::read::{Filter, Spliced};
use crate::negotiate::{Output, include_object};
use crate::status::ApiError;
use crate::watchcache::{CacheError, CacheEvent, EventType, ResourceCache};

/// Decides what one watcher sees of one cache event: selector enter → ADDED, leave →
/// DELETED (carrying the previous state with the new resourceVersion).
pub fn convert(
    info: &ResourceInfo,
    filter: &Filter,
    ev: &CacheEvent,
) -> Option<(EventType, Arc<CachedObject>)> {
    let (cur, prev) = if filter.labels.is_empty() && filter.fields.is_empty() {
        // No selector: only the namespace decides, and it is the same before and after.
        let ns_ok = match &filter.namespace {
            Some(ns) if info.namespaced => ev.obj.namespace() == ns,
            _ => true,
        };
        (ns_ok, ns_ok && ev.prev.is_some())
    } else {
        (
            filter.matches_cached(info, &ev.obj),
            ev.prev
                .as_ref()
                .is_some_and(|p| filter.matches_cached(info, p)),
        )
    };
    match ev.kind {
        EventType::Added if cur => Some((EventType::Added, ev.obj.clone())),
        EventType::Deleted if cur => Some((EventType::Deleted, ev.obj.clone())),
        EventType::Modified => match (prev, cur) {
            (true, true) => Some((EventType::Modified, ev.obj.clone())),
            (false, true) => Some((EventType::Added, ev.obj.clone())),
            (true, false) => Some((
                EventType::Deleted,
                ev.prev.clone().unwrap_or(ev.obj.clone()),
            )),
            (false, false) => None,
        },
        _ => None,
    }
}

/// Checks the watch-specific ListOptions rules.
fn validate(ctx: &Ctx) -> Result<(), ApiError> {
    let q = &ctx.query;
    let send_initial = q.get("sendInitialEvents").is_some();
    match (q.non_empty("resourceVersionMatch"), send_initial) {
        (Some(_), false) => Err(ApiError::invalid_list_options(
            "resourceVersionMatch",
            "FieldValueForbidden",
            "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        )),
        (m, true) if m != Some("NotOlderThan") => Err(ApiError::invalid_list_options(
            "resourceVersionMatch",
            "FieldValueForbidden",
            "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        )),
        _ => Ok(()),
    }
}

struct Watcher {
    info: &'static ResourceInfo,
    filter: Filter,
    table: Option<refkube_resources::table::IncludeObject>,
    yaml: bool,
    metadata_only: bool,
    tx: mpsc::Sender<Bytes>,
}

/// One plain JSON watch frame, `{"type":..,"object":..}` and a newline, serialised
/// straight from `obj` (no copy into a new `Value`).
pub fn json_frame(ty: &str, obj: &Value) -> Bytes {
    let envelope = json!({"type": ty, "object": null});
    let mut v = serde_json::to_vec(&Spliced::new(&envelope, "object", obj)).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// [`json_frame`] for an object already encoded (the watch cache's bytes are what
/// `serde_json::to_vec` writes for it, so the frame is the same, byte for byte).
pub fn raw_json_frame(ty: &str, obj: &CachedObject) -> Bytes {
    const HEAD: &str = r#"{"type":""#;
    const MID: &str = r#"","object":"#;
    let mut v = Vec::with_capacity(HEAD.len() + ty.len() + MID.len() + obj.json_len() + 2);
    v.extend_from_slice(HEAD.as_bytes());
    v.extend_from_slice(ty.as_bytes());
    v.extend_from_slice(MID.as_bytes());
    obj.write_json(&mut v);
    v.extend_from_slice(b"}\n");
    Bytes::from(v)
}

/// The YAML form of a watch frame, followed by a document separator.
fn yaml_frame(ty: &str, obj: &Value) -> Bytes {
    let envelope = json!({"type": ty, "object": null});
    let mut s = serde_yaml::to_string(&Spliced::new(&envelope, "object", obj)).unwrap_or_default();
    s.push_str("---\n");
    Bytes::from(s)
}

impl Watcher {
    /// Whether this watcher takes the plain JSON form, which cache events encode once
    /// for all such watchers ([`CacheEvent::json_frame`]).
    fn plain_json(&self) -> bool {
        self.table.is_none() && !self.yaml && !self.metadata_only
    }

    fn encode(&self, ty: &str, obj: &Value) -> Bytes {
        let transformed = match self.table {
            Some(include) if ty != "ERROR" && ty != "BOOKMARK" => {
                let mut t = refkube_resources::table::to_table(
                    self.info,
                    std::slice::from_ref(obj),
                    include,
                    chrono::Utc::now(),
                );
                t["metadata"] = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
                Some(t)
            }
            _ if self.metadata_only && ty != "ERROR" => {
                Some(crate::negotiate::partial_metadata(obj))
            }
            _ => None,
        };
        let object = transformed.as_ref().unwrap_or(obj);
        if self.yaml {
            yaml_frame(ty, object)
        } else {
            json_frame(ty, object)
        }
    }

    /// The frame of a cached object: its bytes as they are for plain JSON, else
    /// decoded and encoded in this watcher's form.
    fn encode_cached(&self, ty: &str, obj: &CachedObject) -> Bytes {
        if self.plain_json() {
            return raw_json_frame(ty, obj);
        }
        match obj.value() {
            Ok(v) => self.encode(ty, &v),
            Err(e) => self.encode("ERROR", &e.to_status()),
        }
    }

    /// The frame for a cache event as `convert` decided it: the event's shared frame
    /// when this watcher wants plain JSON and sees the event unchanged, else its own.
    fn encode_event(&self, ev: &CacheEvent, ty: EventType, obj: &Arc<CachedObject>) -> Bytes {
        if self.plain_json() && ty == ev.kind && Arc::ptr_eq(obj, &ev.obj) {
            ev.json_frame()
        } else {
            self.encode_cached(ty.as_str(), obj)
        }
    }

    /// Sends one event, waiting for room as long as it takes (initial events: a client
    /// may take its time over a large initial state); false when the client has gone.
    async fn send(&self, ty: &str, obj: &Value) -> bool {
        self.tx.send(self.encode(ty, obj)).await.is_ok()
    }

    /// [`Watcher::send`] for a cached object.
    async fn send_cached(&self, ty: &str, obj: &CachedObject) -> bool {
        self.tx.send(self.encode_cached(ty, obj)).await.is_ok()
    }

    /// Hands a live event's frame to the client's buffer. False when the watcher must
    /// end: the client has gone, or its buffer stayed full for `budget`, as upstream's
    /// cacher closes a watcher it cannot dispatch to ("Forcing watcher close due to
    /// unresponsiveness"). Room is the usual case, and costs one `try_send`.
    async fn deliver(&self, frame: Bytes, budget: Duration) -> bool {
        let frame = match self.tx.try_send(frame) {
            Ok(()) => return true,
            Err(TrySendError::Closed(_)) => return false,
            Err(TrySendError::Full(frame)) => frame,
        };
        match tokio::time::timeout(budget, self.tx.send(frame)).await {
            Ok(sent) => sent.is_ok(),
            Err(_) => {
                tracing::info!(
                    resource = self.info.plural,
                    "closing an unresponsive watcher: its buffer stayed full for {budget:?}"
                );
                false
            }
        }
    }

    /// Offers a bookmark without waiting: bookmarks are best effort, as upstream's
    /// `nonblockingAdd`, and a full buffer only skips this one.
    fn offer_bookmark(&self, rev: i64) -> bool {
        !matches!(
            self.tx
                .try_send(self.encode("BOOKMARK", &self.bookmark(rev, false))),
            Err(TrySendError::Closed(_))
        )
    }

    fn bookmark(&self, rev: i64, initial_end: bool) -> Value {
        let mut meta = json!({"resourceVersion": rev.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": self.info.kind, "apiVersion": self.info.api_version(), "metadata": meta})
    }
}

/// How the watch starts.
enum Start {
    /// Synthetic ADDED events for the current state, then changes after it.
    WithState {
        from_store: bool,
        end_bookmark: bool,
    },
    /// Only changes after this revision.
    After(i64),
}

pub async fn serve(ctx: &Ctx) -> Result<Response, ApiError> {
    validate(ctx)?;
    let info = ctx.path.info;
    let cache = ctx
        .state
        .caches
        .get(info)
        .ok_or_else(ApiError::method_not_allowed)?;
    let filter = Filter::from_ctx(ctx)?;
    let q = &ctx.query;
    let rv = q.non_empty("resourceVersion");
    let bookmarks = q.flag("allowWatchBookmarks");
    let start = if q.flag("sendInitialEvents") {
        Start::WithState {
            from_store: false,
            end_bookmark: bookmarks,
        }
    } else {
        match rv {
            None => Start::WithState {
                from_store: true,
                end_bookmark: false,
            },
            Some("0") => Start::WithState {
                from_store: false,
                end_bookmark: false,
            },
            Some(r) => Start::After(parse_rv(r)?),
        }
    };
    let timeout = match q.int("timeoutSeconds")? {
        Some(s) if s > 0 => Duration::from_secs(s as u64),
        _ => {
            let min = ctx.state.config.min_request_timeout;
            min + min.mul_f64(rand::rng().random::<f64>())
        }
    };
    let (tx, rx) = mpsc::channel(64);
    let body = Body::from_stream(Batched {
        rx,
        queued: Vec::new(),
    });
    let content_type = if ctx.output == Output::Yaml {
        "application/yaml"
    } else {
        "application/json"
    };
    let watcher = Watcher {
        info,
        filter,
        table: (ctx.output == Output::Table).then(|| include_object(&ctx.query)),
        yaml: ctx.output == Output::Yaml,
        metadata_only: ctx.output == Output::Metadata,
        tx,
    };
    if let (Start::WithState { .. }, Some(want)) = (&start, rv.filter(|r| *r != "0")) {
        // Upstream's `waitUntilFreshAndBlock`: initial events must reflect at least the
        // asked-for resourceVersion; past the wait the watch is one ERROR event.
        let want = parse_rv(want)?;
        let limit = ctx.state.config.watch_fresh_timeout;
        if let Err(e) = wait_fresh(&*ctx.state.store, &cache, want, limit).await {
            let _ = watcher.tx.try_send(watcher.encode("ERROR", &e.to_status()));
            drop(watcher);
            return Ok(([(http::header::CONTENT_TYPE, content_type)], body).into_response());
        }
    }
    // Initial state is gathered before the response starts so errors are plain Statuses.
    let generation = cache.generation();
    let (initial, cursor): (Vec<Arc<CachedObject>>, i64) = match &start {
        Start::WithState {
            from_store: true, ..
        } => {
            let prefix = crate::keys::prefix(info, ctx.path.namespace.as_deref());
            let list = ctx.state.store.list(&prefix, Default::default()).await?;
            let items = list
                .items
                .iter()
                .map(|kv| {
                    let v = crate::keys::decode_kv(info, kv)?;
                    CachedObject::from_stored(info, &v, &kv.value).map(Arc::new)
                })
                .collect::<Result<_, ApiError>>()?;
            (items, list.revision)
        }
        Start::WithState { .. } => cache.snapshot(ctx.path.namespace.as_deref()),
        Start::After(r) => (Vec::new(), *r),
    };
    let end_bookmark = matches!(
        start,
        Start::WithState {
            end_bookmark: true,
            ..
        }
    );
    let opts = RunOpts {
        bookmarks,
        bookmark_interval: ctx.state.config.bookmark_interval,
        dispatch_timeout: ctx.state.config.watch_dispatch_timeout,
        timeout,
        end_bookmark,
        generation,
    };
    let shutdown = ctx.state.shutdown.clone();
    tokio::spawn(run(watcher, cache, initial, cursor, opts, shutdown));
    Ok(([(http::header::CONTENT_TYPE, content_type)], body).into_response())
}

/// A watch's resourceVersion (already checked to be an unsigned integer by
/// [`crate::options`]); revisions beyond `i64` are simply far in the future.
fn parse_rv(r: &str) -> Result<i64, ApiError> {
    r.parse::<u64>()
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r}")))
}

/// How often a wait for a future resourceVersion re-reads the store's revision, which
/// writes to other resources move too (this resource's own writes wake it at once).
const FRESH_RECHECK: Duration = Duration::from_millis(50);

/// Waits until the store has reached revision `want`, at most `limit`; then 504
/// "Too large resource version" (upstream's `waitUntilFreshAndBlock` and
/// `NewTooLargeResourceVersionError`).
async fn wait_fresh(
    store: &dyn refkube_store::Store,
    cache: &ResourceCache,
    want: i64,
    limit: Duration,
) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut rx = cache.subscribe();
    loop {
        let current = store.current_revision().await?;
        if current >= want {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(ApiError::too_large_resource_version(want, current));
        }
        let step = left.min(FRESH_RECHECK);
        if let Ok(Err(_)) = tokio::time::timeout(step, rx.changed()).await {
            tokio::time::sleep(step).await;
        }
    }
}

/// At most this many queued frames go out as one chunk.
const BATCH: usize = 64;

/// The response body: every frame queued for the connection when hyper asks for the
/// next chunk goes out as one chunk, so a watcher that fell behind by several events
/// costs one chunk header and one socket write for all of them, not one per event.
struct Batched {
    rx: mpsc::Receiver<Bytes>,
    queued: Vec<Bytes>,
}

impl futures::Stream for Batched {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.rx.poll_recv_many(cx, &mut this.queued, BATCH) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(0) => std::task::Poll::Ready(None),
            std::task::Poll::Ready(_) => {
                let chunk = if this.queued.len() == 1 {
                    this.queued.pop().unwrap_or_default()
                } else {
                    let len = this.queued.iter().map(Bytes::len).sum();
                    let mut joined = Vec::with_capacity(len);
                    for frame in this.queued.drain(..) {
                        joined.extend_from_slice(&frame);
                    }
                    Bytes::from(joined)
                };
                std::task::Poll::Ready(Some(Ok(chunk)))
            }
        }
    }
}

struct RunOpts {
    bookmarks: bool,
    bookmark_interval: Duration,
    dispatch_timeout: Duration,
    timeout: Duration,
    end_bookmark: bool,
    generation: u64,
}

/// One watcher's loop: initial events, then cache events after its cursor.
async fn run(
    w: Watcher,
    cache: Arc<ResourceCache>,
    initial: Vec<Arc<CachedObject>>,
    mut cursor: i64,
    o: RunOpts,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    // Everything that ends the watch, as one future made once: re-creating the
    // shutdown and client-gone waits on every wake-up registered and dropped two
    // waiters per event, a large share of what a delivery cost.
    let tx_gone = w.tx.clone();
    let timeout = o.timeout;
    let stop = async move {
        tokio::select! {
            biased;
            _ = tokio::time::sleep(timeout) => {}
            _ = shutdown.changed() => {}
            _ = tx_gone.closed() => {}
        }
    };
    tokio::pin!(stop);
    for obj in &initial {
        if w.filter.matches_cached(w.info, obj) && !w.send_cached("ADDED", obj).await {
            return;
        }
    }
    if o.end_bookmark && !w.send("BOOKMARK", &w.bookmark(cursor, true)).await {
        return;
    }
    let mut rx = cache.subscribe();
    let mut tick = tokio::time::interval(o.bookmark_interval);
    tick.reset();
    let mut bookmark_due = false;
    loop {
        rx.borrow_and_update();
        match cache.events_after(cursor, o.generation) {
            Ok((evs, reached)) => {
                for ev in evs {
                    cursor = ev.rev;
                    if let Some((ty, obj)) = convert(w.info, &w.filter, &ev)
                        && !w
                            .deliver(w.encode_event(&ev, ty, &obj), o.dispatch_timeout)
                            .await
                    {
                        return;
                    }
                }
                // Every event up to `reached` has been sent, so the bookmark may say so.
                if bookmark_due {
                    bookmark_due = false;
                    if !w.offer_bookmark(cursor.max(reached)) {
                        return;
                    }
                }
            }
            Err(e @ CacheError::TooOld { .. }) => {
                let _ = w
                    .send("ERROR", &ApiError::expired(e.to_string()).to_status())
                    .await;
                return;
            }
            // The cache re-listed: end the stream; the client re-watches from its RV.
            Err(CacheError::Reset) => return,
        }
        // `biased` skips the random branch order's per-poll RNG draw; `stop` comes
        // first so that a watcher kept busy by a steady stream of events still ends on
        // time.
        tokio::select! {
            biased;
            _ = &mut stop => return,
            changed = rx.changed() => if changed.is_err() { return },
            _ = tick.tick(), if o.bookmarks => bookmark_due = true,
        }
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
