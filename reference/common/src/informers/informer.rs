//! One informer: a reflector store of the objects a watch selects, plus a broadcast of
//! each change (with the old object) so consumers can react to it. Entry points:
//! [`Informer::new`], [`Informer::subscribe`], [`Informer::wait_synced`].

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use super::watch::events;

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

/// The watch behind an informer ended before its first list completed (its task was
/// stopped).
#[derive(Debug, thiserror::Error)]
#[error("the {0} watch ended before its first list completed")]
pub struct NotSynced(pub String);

/// The store and change feed of one watched selection.
pub struct Informer<K: Informed> {
    store: Store<K>,
    tx: broadcast::Sender<Change<K>>,
}

impl<K: Informed> Debug for Informer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Informer")
            .field("kind", &K::kind(&()))
            .field("len", &self.store.state().len())
            .finish()
    }
}

impl<K: Informed> Informer<K> {
    /// An informer over what `api` and `config` select, and the task that fills it (to be
    /// spawned; nothing is watched until it runs, and dropping it stops the watch).
    pub fn new(api: Api<K>, config: watcher::Config) -> (Arc<Self>, BoxFuture<'static, ()>) {
        let (store, writer) = reflector::store::<K>();
        let (tx, _) = broadcast::channel(CHANGE_BUFFER);
        let task = Box::pin(run(api, config, writer, tx.clone()));
        (Arc::new(Self { store, tx }), task)
    }

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

    /// Resolves once the first list has been applied to the store.
    pub async fn wait_synced(&self) -> Result<(), NotSynced> {
        self.store
            .wait_until_ready()
            .await
            .map_err(|_| NotSynced(K::plural(&()).into_owned()))
    }

    /// Whether the first list has been applied (never waits).
    pub fn has_synced(&self) -> bool {
        matches!(
            futures::FutureExt::now_or_never(self.store.wait_until_ready()),
            Some(Ok(()))
        )
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

async fn run<K: Informed>(
    api: Api<K>,
    config: watcher::Config,
    mut writer: reflector::store::Writer<K>,
    tx: broadcast::Sender<Change<K>>,
) {
    let reader = writer.as_reader();
    // A relist is applied to the store at once (at InitDone); its changes are computed
    // against what the store held before it.
    let mut listed: Vec<Arc<K>> = Vec::new();
    let mut stream = events(api, config, K::kind(&()).into_owned()).boxed();
    while let Some(event) = stream.next().await {
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

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    fn cm(name: &str) -> Arc<ConfigMap> {
        let mut c = ConfigMap::default();
        c.metadata.name = Some(name.into());
        c.metadata.namespace = Some("ns".into());
        Arc::new(c)
    }

    fn name(o: Option<&Arc<ConfigMap>>) -> Option<&str> {
        o.and_then(|c| c.metadata.name.as_deref())
    }

    #[test]
    fn a_relist_reports_vanished_objects_as_deletions_and_the_rest_as_updates() {
        let changes = relist_changes(vec![cm("a"), cm("b")], &[cm("b"), cm("c")]);
        assert_eq!(changes.len(), 3);
        assert!(
            changes
                .iter()
                .any(|c| c.is_delete() && name(c.old.as_ref()) == Some("a"))
        );
        assert!(
            changes
                .iter()
                .any(|c| c.is_add() && name(c.new.as_ref()) == Some("c"))
        );
        assert!(changes.iter().any(|c| !c.is_add()
            && !c.is_delete()
            && name(c.old.as_ref()) == Some("b")
            && name(c.latest()) == Some("b")));
    }

    #[tokio::test]
    async fn an_informer_is_not_synced_before_its_first_list_and_says_so_when_stopped() {
        // A client that never answers: the first list never arrives.
        let svc = tower::service_fn(|_: http::Request<kube::client::Body>| {
            std::future::pending::<Result<http::Response<kube::client::Body>, std::io::Error>>()
        });
        let client = kube::Client::new(svc, "default");
        let (informer, task) = Informer::<ConfigMap>::new(Api::all(client), Default::default());
        assert!(!informer.has_synced());
        drop(task);
        let err = informer.wait_synced().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the configmaps watch ended before its first list completed"
        );
    }
}
