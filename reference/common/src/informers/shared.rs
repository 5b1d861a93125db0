//! The registry of cluster-wide informers, one per resource type, created on first use
//! and started together (client-go's `SharedInformerFactory`). Entry points:
//! [`SharedInformers::get`], [`SharedInformers::start`], [`SharedInformers::wait_for_sync`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use kube::api::Api;
use kube::{Client, runtime::watcher};

use super::informer::{Informed, Informer};

/// The registry of informers, created on first use and started together.
pub struct SharedInformers {
    client: Client,
    // Keyed by the informed type: each entry is an `Arc<Informer<K>>` for that `K`.
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

    /// The informer for `K` (cluster-wide, or every namespace), created if needed.
    /// Informers created after [`start`](Self::start) are started by the next `start`.
    pub fn get<K: Informed>(&self) -> Arc<Informer<K>> {
        let mut map = lock(&self.informers);
        if let Some(existing) = map
            .get(&TypeId::of::<K>())
            .and_then(|a| a.clone().downcast::<Informer<K>>().ok())
        {
            return existing;
        }
        let (informer, task) = Informer::new(
            Api::<K>::all(self.client.clone()),
            watcher::Config::default(),
        );
        map.insert(TypeId::of::<K>(), informer.clone());
        lock(&self.pending).push(task);
        let synced = informer.clone();
        lock(&self.ready).push(Box::pin(async move {
            let _ = synced.wait_synced().await;
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
