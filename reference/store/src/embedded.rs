//! The engine behind a lock plus the watch machinery, shared by `memory` and `file`.
//!
//! Entry point: [`Embedded`]. Writers update the engine under a mutex and then publish
//! the new revision on a `tokio::sync::watch` channel, which never blocks. Each watcher
//! keeps its own revision cursor into the engine's log and wakes on that channel, so a
//! slow watcher can never miss an event or slow a writer: it just reads further back in
//! the log (until compaction passes it, when it gets `Compacted`, as in etcd).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::stream;
use tokio::sync::watch;

use crate::engine::{Engine, Op};
use crate::{KeyValue, ListOptions, ListResult, Revision, StoreError, WatchEvent, WatchStream};

/// How many revisions a watcher reads from the log per lock hold, so a watcher far
/// behind never holds the lock long.
const WATCH_SCAN_REVISIONS: usize = 512;

/// An engine shared by a store and its watchers.
#[derive(Clone)]
pub(crate) struct Embedded {
    inner: Arc<Inner>,
}

struct Inner {
    /// Serialises writers from plan to apply, so the engine lock need not be held
    /// while a write is logged: readers never wait for a file backend's fsync.
    writer: Mutex<()>,
    engine: Mutex<Engine>,
    revision: watch::Sender<Revision>,
}

impl Embedded {
    pub(crate) fn new(engine: Engine) -> Self {
        let (revision, _) = watch::channel(engine.revision());
        Embedded {
            inner: Arc::new(Inner {
                writer: Mutex::new(()),
                engine: Mutex::new(engine),
                revision,
            }),
        }
    }

    /// Locks the engine. A panic while it was held cannot leave it half-written (every
    /// write is checked by `plan_*` before `apply` touches it), so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Engine> {
        self.inner
            .engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Plans a write, lets `log` persist it (the file backend's WAL; a no-op for memory),
    /// applies it and wakes the watchers. Returns the new revision and the plan's extra.
    pub(crate) fn write<T>(
        &self,
        plan: impl FnOnce(&Engine) -> Result<(Op, T), StoreError>,
        log: impl FnOnce(&Op) -> Result<(), StoreError>,
    ) -> Result<(Revision, T), StoreError> {
        let (rev, extra) = {
            let _writer = self.writer();
            // Only writers change the engine and they hold `writer`, so the plan made
            // under this short engine lock is still valid when it is applied below.
            let (op, extra) = plan(&self.lock())?;
            let rev = op.revision();
            log(&op)?;
            self.lock().apply(op)?;
            (rev, extra)
        };
        // Two writers may publish out of order; keep the maximum so the last value a
        // watcher sees is never below a revision already applied.
        self.inner.revision.send_if_modified(|published| {
            let newer = rev > *published;
            if newer {
                *published = rev;
            }
            newer
        });
        Ok((rev, extra))
    }

    /// Excludes every writer (the file backend holds it while rewriting its log).
    pub(crate) fn writer(&self) -> MutexGuard<'_, ()> {
        self.inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get(&self, key: &str) -> Option<KeyValue> {
        self.lock().get(key)
    }

    pub(crate) fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult, StoreError> {
        self.lock().list(prefix, opts)
    }

    pub(crate) fn revision(&self) -> Revision {
        self.lock().revision()
    }

    pub(crate) fn compacted(&self) -> Revision {
        self.lock().compacted()
    }

    /// Starts a watch of `prefix` after `after` (0 = from the current revision).
    pub(crate) fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        let cursor = {
            let engine = self.lock();
            let after = if after == 0 { engine.revision() } else { after };
            engine.check_watchable(after)?;
            after
        };
        let state = Watcher {
            shared: self.clone(),
            prefix: prefix.to_string(),
            cursor,
            revision: self.inner.revision.subscribe(),
            pending: VecDeque::new(),
            failed: false,
        };
        Ok(Box::pin(stream::unfold(state, Watcher::next)))
    }
}

/// One watcher's position in the log.
struct Watcher {
    shared: Embedded,
    prefix: String,
    cursor: Revision,
    revision: watch::Receiver<Revision>,
    pending: VecDeque<Vec<WatchEvent>>,
    failed: bool,
}

impl Watcher {
    async fn next(mut self) -> Option<(Result<Vec<WatchEvent>, StoreError>, Watcher)> {
        loop {
            if let Some(batch) = self.pending.pop_front() {
                return Some((Ok(batch), self));
            }
            if self.failed {
                return None;
            }
            // Mark the published revision seen *before* reading the log: a write that
            // lands after this read publishes again and wakes `changed` below.
            let published = *self.revision.borrow_and_update();
            if published > self.cursor {
                let read = self.shared.lock().events_after(
                    &self.prefix,
                    self.cursor,
                    WATCH_SCAN_REVISIONS,
                );
                match read {
                    Ok((batches, cursor)) => {
                        self.cursor = cursor;
                        self.pending.extend(batches);
                    }
                    Err(e) => {
                        self.failed = true;
                        return Some((Err(e), self));
                    }
                }
                continue;
            }
            if self.revision.changed().await.is_err() {
                return None;
            }
        }
    }
}
