//! The response body of a watch: a stream that hyper polls on the connection's own
//! task, reading the watch cache itself (no task and no channel per watcher).
//!
//! Entry point: [`WatchStream`]. Each poll hands hyper every frame ready for the
//! connection as one chunk (at most [`BATCH`]), so a delivery costs one wake-up of the
//! connection task, and a watcher that fell behind gets its frames in one write. The
//! cache is the watcher's buffer: hyper polls only when it can take more, and a
//! watcher that had more than [`BATCH`] frames waiting at two polls more than the
//! dispatch budget apart is closed after one last chunk, as upstream's cacher closes a
//! watcher whose buffer stays full ("Forcing watcher close due to unresponsiveness").

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Watcher, convert};
use crate::cached::CachedObject;
use crate::status::ApiError;
use crate::watchcache::{CacheError, CacheEvent, ResourceCache};

/// At most this many frames go out as one chunk; also the size of the buffer a
/// watcher may fill before the dispatch budget starts to count (the channel upstream
/// and the earlier per-watcher task had).
pub const BATCH: usize = 64;

/// How a watch stream ends on its own: its timeout, or the server shutting down.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

enum Phase {
    /// The initial state's objects still to send, then the optional end bookmark.
    Initial {
        items: std::vec::IntoIter<Arc<CachedObject>>,
        end_bookmark: bool,
    },
    /// Cache events after the cursor.
    Live,
    Done,
}

/// How a live stream behaves, from the request and the server's configuration.
pub struct LiveOpts {
    /// Where bookmarks are due (`allowWatchBookmarks`), else `None`.
    pub bookmark_interval: Option<Duration>,
    pub dispatch_timeout: Duration,
    pub generation: u64,
}

/// A watch's body; see the module documentation.
pub struct WatchStream {
    w: Watcher,
    cache: Arc<ResourceCache>,
    phase: Phase,
    cursor: i64,
    opts: LiveOpts,
    stop: Stop,
    tick: Option<tokio::time::Interval>,
    bookmark_due: bool,
    /// The cache registration and the waker it holds (compared locally, so an
    /// unchanged waker costs no lock).
    registered: Option<(u64, Waker)>,
    /// When a poll last left frames waiting: the earliest a frame still waiting now
    /// can have started to be held up by a full buffer.
    left_waiting: Option<Instant>,
    /// Scratch for the cache's events, kept so a poll allocates nothing.
    events: Vec<Arc<CacheEvent>>,
}

/// The frames of one chunk: a single frame goes out as it is (the shared frame of a
/// cache event is not copied), several are joined.
#[derive(Default)]
struct Chunk {
    one: Option<Bytes>,
    many: Vec<u8>,
    frames: usize,
}

impl Chunk {
    fn push(&mut self, frame: Bytes) {
        self.frames += 1;
        match self.one.take() {
            None if self.many.is_empty() => self.one = Some(frame),
            first => {
                if let Some(first) = first {
                    self.many.extend_from_slice(&first);
                }
                self.many.extend_from_slice(&frame);
            }
        }
    }

    fn finish(self) -> Option<Bytes> {
        match self.one {
            Some(b) => Some(b),
            None if self.many.is_empty() => None,
            None => Some(Bytes::from(self.many)),
        }
    }
}

impl WatchStream {
    /// A stream that sends `initial` (filtered) and, if asked, the end bookmark, then
    /// the cache's events after `cursor`.
    pub fn new(
        w: Watcher,
        cache: Arc<ResourceCache>,
        initial: Vec<Arc<CachedObject>>,
        cursor: i64,
        end_bookmark: bool,
        opts: LiveOpts,
        stop: Stop,
    ) -> Self {
        Self {
            w,
            cache,
            phase: Phase::Initial {
                items: initial.into_iter(),
                end_bookmark,
            },
            cursor,
            tick: None,
            opts,
            stop,
            bookmark_due: false,
            registered: None,
            left_waiting: None,
            events: Vec::new(),
        }
    }

    /// Up to [`BATCH`] frames of the initial state; the end bookmark after the last.
    fn initial(&mut self) -> Option<Bytes> {
        let Phase::Initial {
            items,
            end_bookmark,
        } = &mut self.phase
        else {
            return None;
        };
        let mut chunk = Chunk::default();
        while chunk.frames < BATCH {
            let Some(obj) = items.next() else {
                if *end_bookmark {
                    chunk.push(
                        self.w
                            .encode("BOOKMARK", &self.w.bookmark(self.cursor, true)),
                    );
                }
                self.phase = Phase::Live;
                break;
            };
            if self.w.filter.matches_cached(self.w.info, &obj) {
                chunk.push(self.w.encode_cached("ADDED", &obj));
            }
        }
        chunk.finish()
    }

    /// Registers the connection task's waker with the cache, unless it holds it already.
    fn register(&mut self, waker: &Waker) {
        match &mut self.registered {
            Some((_, w)) if w.will_wake(waker) => {}
            Some((id, w)) => {
                self.cache.register(Some(*id), waker);
                w.clone_from(waker);
            }
            None => {
                let id = self.cache.register(None, waker);
                self.registered = Some((id, waker.clone()));
            }
        }
    }

    /// The frames of the events after the cursor (and a due bookmark), or `Pending`
    /// with the waker registered.
    fn live(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(tick) = &mut self.tick {
            while tick.poll_tick(cx).is_ready() {
                self.bookmark_due = true;
            }
        } else if let Some(period) = self.opts.bookmark_interval {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Polled once so that it wakes this task when due.
            let _ = tick.poll_tick(cx);
            self.tick = Some(tick);
        }
        // Registered before the cache is read: an event applied after the read wakes
        // this task, so none is missed.
        self.register(cx.waker());
        let reached =
            match self
                .cache
                .events_after_into(self.cursor, self.opts.generation, &mut self.events)
            {
                Ok(r) => r,
                Err(e @ CacheError::TooOld { .. }) => {
                    let status = ApiError::expired(e.to_string()).to_status();
                    self.phase = Phase::Done;
                    return Poll::Ready(Some(self.w.encode("ERROR", &status)));
                }
                // The cache re-listed: end the stream; the client re-watches from its RV.
                Err(CacheError::Reset) => {
                    self.phase = Phase::Done;
                    return Poll::Ready(None);
                }
            };
        let mut chunk = Chunk::default();
        let mut waiting = false;
        for ev in self.events.drain(..) {
            if let Some((ty, obj)) = convert(self.w.info, &self.w.filter, &ev) {
                if chunk.frames == BATCH {
                    waiting = true;
                    break;
                }
                chunk.push(self.w.encode_event(&ev, ty, &obj));
            }
            self.cursor = ev.rev;
        }
        self.events.clear();
        if waiting {
            // The frames beyond this chunk were already waiting at the last poll
            // that left some: held up at least since then. Counted from that poll,
            // not from when the cache applied them, so that a connection task that
            // merely waited for a CPU is not taken for an unresponsive client.
            let now = Instant::now();
            if let Some(since) = self.left_waiting
                && now.saturating_duration_since(since) > self.opts.dispatch_timeout
            {
                tracing::info!(
                    resource = self.w.info.plural,
                    "closing an unresponsive watcher: its buffer stayed full for {:?}",
                    self.opts.dispatch_timeout
                );
                self.phase = Phase::Done;
            }
            self.left_waiting = Some(now);
        } else {
            self.left_waiting = None;
            // Every event up to `reached` has been seen, so the bookmark may say so.
            self.cursor = self.cursor.max(reached);
            if self.bookmark_due {
                self.bookmark_due = false;
                chunk.push(
                    self.w
                        .encode("BOOKMARK", &self.w.bookmark(self.cursor, false)),
                );
            }
        }
        match chunk.finish() {
            Some(b) => Poll::Ready(Some(b)),
            None => Poll::Pending,
        }
    }
}

impl futures::Stream for WatchStream {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if matches!(this.phase, Phase::Done) {
            return Poll::Ready(None);
        }
        // First, so that a watcher kept busy by a steady stream of events still ends
        // on time.
        if this.stop.as_mut().poll(cx).is_ready() {
            this.phase = Phase::Done;
            return Poll::Ready(None);
        }
        if let Some(b) = this.initial() {
            return Poll::Ready(Some(Ok(b)));
        }
        this.live(cx).map(|b| b.map(Ok))
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        if let Some((id, _)) = self.registered.take() {
            self.cache.deregister(id);
        }
    }
}

#[cfg(test)]
#[path = "watchstream_tests.rs"]
mod tests;
