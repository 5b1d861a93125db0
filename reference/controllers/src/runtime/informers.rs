//! Shared informers: one reflector store per resource type, shared by every controller,
//! plus a broadcast of each change (with the old object) so controllers can enqueue keys.
//! Entry points: [`SharedInformers::get`], [`SharedInformers::start`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::future::BoxFuture;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

/// Capacity of each change broadcast; a subscriber that falls further behind resyncs.
const CHANGE_BUFFER: usize = 4096;

/// One observed change: `old` is what the store held before, `new` what it holds after
/// (`None` for a deletion).
#[derive(Debug)]
pub struct Change<K> {
    /// The previous version, if the object was known.
    pub old: Option<Arc<K>>,
    /// The current version; `None` when the object was deleted.
    pub new: Option<Arc<K>>,
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        Self {
            old: self.old.clone(),
            new: self.new.clone(),
        }
    }
}

impl<K> Change<K> {
    /// The newest version known: `new`, or for a deletion the last `old`.
    pub fn latest(&self) -> Option<&Arc<K>> {
        self.new.as_ref().or(self.old.as_ref())
    }

    /// True for a creation (nothing was known before).
    pub fn is_add(&self) -> bool {
        self.old.is_none() && self.new.is_some()
    }

    /// True for a deletion.
    pub fn is_delete(&self) -> bool {
        self.new.is_none()
    }
}

/// Bounds an informed resource type must meet.
pub trait Informed:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}
impl<K> Informed for K where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

/// The store and change feed of one resource type.
pub struct Informer<K: Informed> {
    store: Store<K>,
    tx: broadcast::Sender<Change<K>>,
}

impl<K: Informed> Informer<K> {
    /// The shared cache.
    pub fn store(&self) -> &Store<K> {
        &self.store
    }

    /// A new subscription to changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Change<K>> {
        self.tx.subscribe()
    }

    /// All cached objects.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.store.state()
    }

    /// The cached object `namespace/name` (namespace `None` for cluster-scoped kinds).
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        let mut r = ObjectRef::<K>::new(name);
        if let Some(ns) = namespace {
            r = r.within(ns);
        }
        self.store.get(&r)
    }
}

/// The changes a relist implies: every listed object (as an update or add) and every
/// previously known object that the list no longer has (as a delete).
pub fn relist_changes<K: Informed>(before: Vec<Arc<K>>, after: &[Arc<K>]) -> Vec<Change<K>> {
    let mut old: HashMap<ObjectRef<K>, Arc<K>> = before
        .into_iter()
        .map(|o| (ObjectRef::from_obj(o.as_ref()), o))
        .collect();
    let mut changes: Vec<Change<K>> = after
        .iter()
        .map(|o| Change {
            old: old.remove(&ObjectRef::from_obj(o.as_ref())),
            new: Some(o.clone()),
        })
        .collect();
    changes.extend(old.into_values().map(|o| Change {
        old: Some(o),
        new: None,
    }));
    changes
}

async fn run_informer<K: Informed>(
    api: Api<K>,
    mut writer: reflector::store::Writer<K>,
    tx: broadcast::Sender<Change<K>>,
) {
    let reader = writer.as_reader();
    let mut listed: Vec<Arc<K>> = Vec::new();
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(kind = %K::kind(&()), error = %e, "watch failed; retrying with backoff");
                continue;
            }
        };
        match &event {
            watcher::Event::Apply(obj) => {
                let r = ObjectRef::from_obj(obj);
                let old = reader.get(&r);
                writer.apply_watcher_event(&event);
                let _ = tx.send(Change {
                    old,
                    new: reader.get(&r),
                });
            }
            watcher::Event::Delete(obj) => {
                let old = reader
                    .get(&ObjectRef::from_obj(obj))
                    .unwrap_or_else(|| Arc::new(obj.clone()));
                writer.apply_watcher_event(&event);
                let _ = tx.send(Change {
                    old: Some(old),
                    new: None,
                });
            }
            watcher::Event::Init => {
                listed.clear();
                writer.apply_watcher_event(&event);
            }
            watcher::Event::InitApply(obj) => {
                listed.push(Arc::new(obj.clone()));
                writer.apply_watcher_event(&event);
            }
            watcher::Event::InitDone => {
                let before = reader.state();
                writer.apply_watcher_event(&event);
                for change in relist_changes(before, &std::mem::take(&mut listed)) {
                    let _ = tx.send(change);
                }
            }
        }
    }
}

/// The registry of informers, created on first use and started together.
pub struct SharedInformers {
    client: Client,
    informers: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    pending: Mutex<Vec<BoxFuture<'static, ()>>>,
    ready: Mutex<Vec<BoxFuture<'static, ()>>>,
}

impl std::fmt::Debug for SharedInformers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedInformers").finish_non_exhaustive()
    }
}

impl SharedInformers {
    /// An empty registry using `client` for every watch.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            informers: Mutex::default(),
            pending: Mutex::default(),
            ready: Mutex::default(),
        }
    }

    /// The informer for `K` (cluster-wide), created if needed. Informers created after
    /// [`start`](Self::start) are started by the next `start` call.
    pub fn get<K: Informed>(&self) -> Arc<Informer<K>> {
        let mut map = self
            .informers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(existing) = map
            .get(&TypeId::of::<K>())
            .and_then(|a| a.clone().downcast::<Informer<K>>().ok())
        {
            return existing;
        }
        let (store, writer) = reflector::store::<K>();
        let (tx, _) = broadcast::channel(CHANGE_BUFFER);
        let informer = Arc::new(Informer {
            store: store.clone(),
            tx: tx.clone(),
        });
        map.insert(TypeId::of::<K>(), informer.clone());
        let api = Api::<K>::all(self.client.clone());
        lock(&self.pending).push(Box::pin(run_informer(api, writer, tx)));
        lock(&self.ready).push(Box::pin(async move {
            let _ = store.wait_until_ready().await;
        }));
        informer
    }

    /// Spawns every informer not yet running.
    pub fn start(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let pending = std::mem::take(&mut *lock(&self.pending));
        pending.into_iter().map(tokio::spawn).collect()
    }

    /// Waits until every started informer has completed its first list.
    pub async fn wait_for_sync(&self) {
        let ready = std::mem::take(&mut *lock(&self.ready));
        futures::future::join_all(ready).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::pods::fixtures::pod;

    #[test]
    fn a_relist_reports_vanished_objects_as_deletions_and_the_rest_as_updates() {
        let before = vec![Arc::new(pod("a")), Arc::new(pod("b"))];
        let after = vec![Arc::new(pod("b")), Arc::new(pod("c"))];
        let changes = relist_changes(before, &after);
        assert_eq!(changes.len(), 3);
        assert!(changes.iter().any(
            |c| c.is_delete() && c.old.as_ref().unwrap().metadata.name.as_deref() == Some("a")
        ));
        assert!(
            changes.iter().any(
                |c| c.is_add() && c.new.as_ref().unwrap().metadata.name.as_deref() == Some("c")
            )
        );
        assert!(changes.iter().any(|c| !c.is_add() && !c.is_delete()));
    }
}
