//! The watch cache: one store watch per resource, shared by every watcher of it.
//!
//! Entry points: [`WatchCaches::start`], [`ResourceCache::events_after_into`],
//! [`ResourceCache::snapshot`]. Each resource keeps its current objects (for
//! `resourceVersion=0` lists and initial events) and a bounded ring of recent events,
//! each object held once as a [`CachedObject`] (encoded JSON and filter fields, shared
//! by the state and the ring); a watcher is a cursor into that ring, polled by its
//! connection's task, which the cache wakes through the waker it registered
//! ([`ResourceCache::register`]). A watcher whose cursor falls behind the ring gets
//! 410 `too old resource version`, as with upstream's cacher.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::Waker;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use refkube_resources::ResourceInfo;
use refkube_store::{EventKind, ListOptions, Revision, Store};
use tokio::sync::watch;

use crate::cached::CachedObject;
use crate::keys;

/// Pause between attempts to re-list after the store watch broke (short: watchers are
/// waiting; not zero: a store that is down should not be hammered).
pub const RELIST_PAUSE: Duration = Duration::from_millis(200);

/// The type of a watch event as it goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, decoded once and shared by every watcher.
#[derive(Debug)]
pub struct CacheEvent {
    pub rev: Revision,
    pub kind: EventType,
    /// The new object (for Deleted: its last state, with the delete's revision).
    pub obj: Arc<CachedObject>,
    /// The state before the change (Modified, Deleted), with this event's revision.
    pub prev: Option<Arc<CachedObject>>,
    /// The plain JSON watch frame of `kind` and `obj`, built by the first watcher that
    /// needs it and shared by the rest, so N watchers cost one copy, not N.
    json_frame: OnceLock<Bytes>,
}

impl CacheEvent {
    pub fn new(
        rev: Revision,
        kind: EventType,
        obj: Arc<CachedObject>,
        prev: Option<Arc<CachedObject>>,
    ) -> Self {
        Self {
            rev,
            kind,
            obj,
            prev,
            json_frame: OnceLock::new(),
        }
    }

    /// `{"type":<kind>,"object":<obj>}\n`, byte for byte what a plain JSON watcher would
    /// encode itself ([`crate::watch::raw_json_frame`]), built once per event.
    pub fn json_frame(&self) -> Bytes {
        self.json_frame
            .get_or_init(|| crate::watch::raw_json_frame(self.kind.as_str(), &self.obj))
            .clone()
    }
}

/// Why a watcher cannot continue from the cache.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CacheError {
    /// The requested revision is older than the ring: `too old resource version: X (Y)`.
    #[error("too old resource version: {requested} ({oldest})")]
    TooOld {
        requested: Revision,
        oldest: Revision,
    },
    /// The cache re-listed after losing its store watch; watchers must restart.
    #[error("watch cache was re-initialised")]
    Reset,
}

struct Inner {
    ring: VecDeque<Arc<CacheEvent>>,
    /// Revision the current state was listed at.
    list_rev: Revision,
    /// Whether an event was dropped from the ring since the list.
    evicted: bool,
    /// Last revision applied.
    rev: Revision,
    state: BTreeMap<String, Arc<CachedObject>>,
    generation: u64,
}

/// The cache of one resource.
pub struct ResourceCache {
    pub info: &'static ResourceInfo,
    prefix: String,
    capacity: usize,
    inner: RwLock<Inner>,
    notify: watch::Sender<Revision>,
    /// The wakers of the watchers' connection tasks, woken on every change. A watcher
    /// registers once and stays registered until it ends, so a delivery costs one
    /// `wake_by_ref` and no re-registration.
    wakers: Mutex<Wakers>,
}

#[derive(Default)]
struct Wakers {
    next: u64,
    by_id: HashMap<u64, Waker>,
}

impl std::fmt::Debug for ResourceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceCache")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl ResourceCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The last revision the cache has applied.
    pub fn revision(&self) -> Revision {
        self.read().rev
    }

    /// The current generation (changes when the cache re-lists).
    pub fn generation(&self) -> u64 {
        self.read().generation
    }

    /// Registers (or, under `id`, updates) a waker to be woken whenever events are
    /// applied or the cache re-lists; returns the registration's id.
    pub fn register(&self, id: Option<u64>, waker: &Waker) -> u64 {
        let mut w = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        let id = id.unwrap_or_else(|| {
            w.next += 1;
            w.next
        });
        w.by_id.insert(id, waker.clone());
        id
    }

    /// Ends a registration made by [`ResourceCache::register`].
    pub fn deregister(&self, id: u64) {
        let mut w = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        w.by_id.remove(&id);
    }

    /// How many watchers are registered.
    #[cfg(test)]
    pub fn registered(&self) -> usize {
        self.wakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_id
            .len()
    }

    /// Wakes every registered watcher, then the `subscribe` receivers.
    fn wake(&self, rev: Revision) {
        {
            // Waking only schedules a task, so holding the lock across the loop is
            // short and saves cloning every waker out of it.
            let w = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
            for waker in w.by_id.values() {
                waker.wake_by_ref();
            }
        }
        self.notify.send_replace(rev);
    }

    /// A receiver that wakes when new events are applied.
    pub fn subscribe(&self) -> watch::Receiver<Revision> {
        self.notify.subscribe()
    }

    /// Current objects (of one namespace, if given) and the revision they reflect.
    pub fn snapshot(&self, namespace: Option<&str>) -> (Vec<Arc<CachedObject>>, Revision) {
        let g = self.read();
        let items = match namespace {
            Some(ns) if self.info.namespaced => {
                let p = format!("{}{ns}/", self.prefix);
                g.state
                    .range(p.clone()..)
                    .take_while(|(k, _)| k.starts_with(&p))
                    .map(|(_, v)| v.clone())
                    .collect()
            }
            _ => g.state.values().cloned().collect(),
        };
        (items, g.rev)
    }

    /// Runs `f` on the current objects keyed at or after `from`, in key order, under the
    /// read lock: a list read from the store takes the objects the cache already holds
    /// encoded from here (`handlers::list_merge`) instead of decoding them again.
    pub fn with_objects_from<R>(
        &self,
        from: &str,
        f: impl FnOnce(&mut dyn Iterator<Item = (&str, &Arc<CachedObject>)>) -> R,
    ) -> R {
        let g = self.read();
        let mut objects = g
            .state
            .range::<str, _>((std::ops::Bound::Included(from), std::ops::Bound::Unbounded))
            .map(|(k, v)| (k.as_str(), v));
        f(&mut objects)
    }

    /// Appends every event after `rev` to `out` (a buffer the watcher keeps, so that a
    /// poll allocates nothing) and returns the revision the cache has reached (every
    /// event up to it is included), or an error when `rev` is older than the ring or
    /// the cache has re-listed since `generation`.
    pub fn events_after_into(
        &self,
        rev: Revision,
        generation: u64,
        out: &mut Vec<Arc<CacheEvent>>,
    ) -> Result<Revision, CacheError> {
        let g = self.read();
        if g.generation != generation {
            return Err(CacheError::Reset);
        }
        let oldest = match g.ring.front() {
            Some(e) if g.evicted => e.rev,
            _ => g.list_rev + 1,
        };
        if rev < oldest - 1 {
            return Err(CacheError::TooOld {
                requested: rev,
                oldest: oldest - 1,
            });
        }
        let start = g.ring.partition_point(|e| e.rev <= rev);
        out.extend(g.ring.range(start..).cloned());
        Ok(g.rev)
    }

    fn reset(&self, items: Vec<refkube_store::KeyValue>, rev: Revision) {
        let mut state = BTreeMap::new();
        for kv in items {
            let cached = keys::decode_kv(self.info, &kv)
                .and_then(|v| CachedObject::from_stored(self.info, &v, &kv.value));
            match cached {
                Ok(c) => {
                    state.insert(kv.key.clone(), Arc::new(c));
                }
                Err(e) => tracing::warn!(key = %kv.key, error = %e, "skipping undecodable object"),
            }
        }
        let mut g = self.write();
        g.state = state;
        g.ring.clear();
        g.list_rev = rev;
        g.rev = rev;
        g.evicted = false;
        g.generation += 1;
        drop(g);
        self.wake(rev);
    }

    /// Ends every watcher of a cache that is being dropped (they see a reset and start
    /// again on the cache that replaced it, or find the kind gone).
    fn close(&self) {
        let rev = {
            let mut g = self.write();
            g.generation += 1;
            g.rev
        };
        self.wake(rev);
    }

    fn apply(&self, batch: Vec<refkube_store::WatchEvent>) {
        let mut g = self.write();
        let mut last = g.rev;
        for ev in batch {
            let rev = ev.revision();
            let Ok(mut obj) = keys::decode_kv(self.info, &ev.kv) else {
                tracing::warn!(key = %ev.kv.key, "skipping undecodable watch event");
                continue;
            };
            let prev = ev
                .prev
                .as_ref()
                .and_then(|p| Some((p, keys::decode_kv(self.info, p).ok()?)))
                .and_then(|(stored, mut p)| {
                    keys::set_resource_version(self.info, &mut p, rev);
                    CachedObject::from_stored(self.info, &p, &stored.value)
                        .ok()
                        .map(Arc::new)
                });
            let kind = match ev.kind {
                EventKind::Put => EventType::Added,
                EventKind::Modify => EventType::Modified,
                EventKind::Delete => EventType::Deleted,
            };
            keys::set_resource_version(self.info, &mut obj, rev);
            let Ok(obj) = CachedObject::from_stored(self.info, &obj, &ev.kv.value) else {
                tracing::warn!(key = %ev.kv.key, "skipping unencodable watch event");
                continue;
            };
            let obj = Arc::new(obj);
            if kind == EventType::Deleted {
                g.state.remove(&ev.kv.key);
            } else {
                g.state.insert(ev.kv.key.clone(), obj.clone());
            }
            if g.ring.len() >= self.capacity {
                g.ring.pop_front();
                g.evicted = true;
            }
            g.ring
                .push_back(Arc::new(CacheEvent::new(rev, kind, obj, prev)));
            last = last.max(rev);
        }
        g.rev = last;
        drop(g);
        self.wake(last);
    }
}

type CacheKey = (&'static str, &'static str, &'static str);

/// One cache and the task that feeds it.
struct Entry {
    cache: Arc<ResourceCache>,
    task: tokio::task::JoinHandle<()>,
}

/// The caches of every watchable resource: the built-in ones from start-up, custom
/// resources' as their CRDs are established ([`WatchCaches::ensure`]).
pub struct WatchCaches {
    caches: RwLock<HashMap<CacheKey, Entry>>,
    capacity: usize,
}

impl std::fmt::Debug for WatchCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCaches")
            .field("resources", &self.read().len())
            .finish()
    }
}

impl Drop for WatchCaches {
    fn drop(&mut self) {
        for e in self.read().values() {
            e.task.abort();
        }
    }
}

fn cache_key(info: &'static ResourceInfo) -> CacheKey {
    (info.group, info.version, info.plural)
}

impl WatchCaches {
    /// Lists every watchable built-in resource once and starts one store watch per
    /// resource.
    pub async fn start(
        store: Arc<dyn Store>,
        capacity: usize,
    ) -> Result<Self, refkube_store::StoreError> {
        let caches = Self {
            caches: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        };
        for info in refkube_resources::registry::all() {
            if info.verbs.contains(&"watch") {
                caches.ensure(store.clone(), info).await?;
            }
        }
        Ok(caches)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<CacheKey, Entry>> {
        self.caches.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<CacheKey, Entry>> {
        self.caches.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the cache of `info` unless it runs already (a custom kind whose CRD
    /// changed gets a new cache; watchers of the old one are ended and resume).
    pub async fn ensure(
        &self,
        store: Arc<dyn Store>,
        info: &'static ResourceInfo,
    ) -> Result<(), refkube_store::StoreError> {
        if self
            .read()
            .get(&cache_key(info))
            .is_some_and(|e| std::ptr::eq(e.cache.info, info))
        {
            return Ok(());
        }
        let (tx, _) = watch::channel(0);
        let cache = Arc::new(ResourceCache {
            info,
            prefix: keys::prefix(info, None),
            capacity: self.capacity,
            inner: RwLock::new(Inner {
                ring: VecDeque::new(),
                list_rev: 0,
                evicted: false,
                rev: 0,
                state: BTreeMap::new(),
                generation: 0,
            }),
            notify: tx,
            wakers: Mutex::default(),
        });
        let list = store.list(&cache.prefix, ListOptions::default()).await?;
        cache.reset(list.items, list.revision);
        let stream = store.watch(&cache.prefix, list.revision).await?;
        let task = tokio::spawn(pump(store, cache.clone(), stream));
        if let Some(old) = self.write().insert(cache_key(info), Entry { cache, task }) {
            old.task.abort();
            old.cache.close();
        }
        Ok(())
    }

    /// Drops the caches of custom kinds that are no longer served.
    pub fn retain_custom(&self, served: &[&'static ResourceInfo]) {
        self.write().retain(|_, e| {
            let keep = e.cache.info.custom.is_none()
                || served.iter().any(|s| std::ptr::eq(*s, e.cache.info));
            if !keep {
                e.task.abort();
                e.cache.close();
            }
            keep
        });
    }

    pub fn get(&self, info: &ResourceInfo) -> Option<Arc<ResourceCache>> {
        self.read()
            .get(&(info.group, info.version, info.plural))
            .map(|e| e.cache.clone())
    }
}

/// Feeds store events into the cache; on a broken store watch, re-lists and resumes.
async fn pump(
    store: Arc<dyn Store>,
    cache: Arc<ResourceCache>,
    mut stream: refkube_store::WatchStream,
) {
    loop {
        while let Some(item) = stream.next().await {
            match item {
                Ok(batch) => cache.apply(batch),
                Err(e) => {
                    tracing::warn!(prefix = %cache.prefix, error = %e, "store watch failed");
                    break;
                }
            }
        }
        // Re-list and watch again; watchers of the old generation are told to restart.
        loop {
            tokio::time::sleep(RELIST_PAUSE).await;
            let relisted = async {
                let list = store.list(&cache.prefix, ListOptions::default()).await?;
                let s = store.watch(&cache.prefix, list.revision).await?;
                Ok::<_, refkube_store::StoreError>((list, s))
            }
            .await;
            match relisted {
                Ok((list, s)) => {
                    cache.reset(list.items, list.revision);
                    stream = s;
                    break;
                }
                Err(e) => tracing::warn!(prefix = %cache.prefix, error = %e, "re-list failed"),
            }
        }
    }
}
