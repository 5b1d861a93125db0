//! WATCH: the chunked stream of `{"type":...,"object":...}` lines, served from the
//! watch cache with upstream's resourceVersion rules, bookmarks, initial events,
//! selector enter/leave, Table rows and timeouts.
//!
//! Entry points: [`serve`] (the handler), [`convert`] (the per-watcher event filter).
//! The response body ([`watchstream`], polled by the connection's task) reads the
//! cache itself. As upstream's cacher, a watcher whose buffer stays full for the
//! dispatch budget is closed (the client sees its stream end and re-watches) rather
//! than left holding events until it reads again, and a watch with `sendInitialEvents`
//! waits a bounded time for the cache to reach its resourceVersion, then answers 504.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rand::Rng;
use refkube_resources::ResourceInfo;
use serde_json::{Value, json};

use crate::cached::CachedObject;
use crate::handlers::Ctx;
use crate::handlers::read::{Filter, Spliced};
use crate::negotiate::{Output, include_object};
use crate::status::ApiError;
use crate::watchcache::{CacheEvent, EventType, ResourceCache};

#[path = "watchstream.rs"]
mod watchstream;

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
    };
    if let (Start::WithState { .. }, Some(want)) = (&start, rv.filter(|r| *r != "0")) {
        // Upstream's `waitUntilFreshAndBlock`: initial events must reflect at least the
        // asked-for resourceVersion; past the wait the watch is one ERROR event.
        let want = parse_rv(want)?;
        let limit = ctx.state.config.watch_fresh_timeout;
        if let Err(e) = wait_fresh(&*ctx.state.store, &cache, want, limit).await {
            let frame = watcher.encode("ERROR", &e.to_status());
            let body = Body::from_stream(futures::stream::once(async move {
                Ok::<_, std::convert::Infallible>(frame)
            }));
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
    let opts = watchstream::LiveOpts {
        bookmark_interval: bookmarks.then_some(ctx.state.config.bookmark_interval),
        dispatch_timeout: ctx.state.config.watch_dispatch_timeout,
        generation,
    };
    let mut shutdown = ctx.state.shutdown.clone();
    let stop: watchstream::Stop = Box::pin(async move {
        tokio::select! {
            biased;
            _ = tokio::time::sleep(timeout) => {}
            _ = shutdown.changed() => {}
        }
    });
    let stream =
        watchstream::WatchStream::new(watcher, cache, initial, cursor, end_bookmark, opts, stop);
    Ok((
        [(http::header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response())
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

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
