//! The RBAC objects the authorizer resolves rules from: read from the API server's own
//! watch caches (as upstream's RBAC authorizer reads its informers), typed, and kept
//! until one of the four caches moves on.
//!
//! Entry points: [`PolicyCache::get`]; [`from_store`] for a denial, which must not come
//! from a cache that has not yet seen a grant another API server just wrote.

use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;

use super::rbac::Policy;
use crate::watchcache::WatchCaches;

const GROUP: &str = "rbac.authorization.k8s.io";
const RESOURCES: [&str; 4] = [
    "clusterroles",
    "roles",
    "clusterrolebindings",
    "rolebindings",
];

/// The typed policy and the cache revisions it was built at.
#[derive(Debug, Default)]
pub struct PolicyCache {
    built: Mutex<Option<([i64; 4], Arc<Policy>)>>,
}

/// The objects of one resource in the watch caches (none while the kind is not served),
/// skipping any that does not decode (validation keeps those out of the store).
fn objects<T: DeserializeOwned>(caches: &WatchCaches, plural: &str) -> Vec<T> {
    let Some(cache) =
        refkube_resources::registry::lookup(GROUP, "v1", plural).and_then(|info| caches.get(info))
    else {
        return Vec::new();
    };
    let (items, _) = cache.snapshot(None);
    items.iter().filter_map(|o| o.decode().ok()).collect()
}

fn revisions(caches: &WatchCaches) -> [i64; 4] {
    RESOURCES.map(|plural| {
        refkube_resources::registry::lookup(GROUP, "v1", plural)
            .and_then(|info| caches.get(info))
            .map(|c| c.revision())
            .unwrap_or(0)
    })
}

impl PolicyCache {
    /// The policy as the caches hold it now.
    pub fn get(&self, caches: &WatchCaches) -> Arc<Policy> {
        let revs = revisions(caches);
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, policy)) = built.as_ref()
            && *at == revs
        {
            return policy.clone();
        }
        let policy = Arc::new(Policy::new(
            objects(caches, "clusterroles"),
            objects(caches, "roles"),
            objects(caches, "clusterrolebindings"),
            objects(caches, "rolebindings"),
        ));
        *built = Some((revs, policy.clone()));
        policy
    }
}

/// The objects of one resource as the store holds them now.
async fn stored<T: DeserializeOwned>(
    store: &dyn refkube_store::Store,
    plural: &str,
) -> Result<Vec<T>, crate::status::ApiError> {
    let Some(info) = refkube_resources::registry::lookup(GROUP, "v1", plural) else {
        return Ok(Vec::new());
    };
    let list = store
        .list(&crate::keys::prefix(info, None), Default::default())
        .await?;
    Ok(list
        .items
        .iter()
        .filter_map(|kv| crate::keys::decode_kv(info, kv).ok())
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// The policy read from the store itself (a consistent read, as upstream's cache-backed
/// reads wait for the store's revision): with several API servers, the one denying a
/// request may not yet have seen the binding that another has just accepted.
pub async fn from_store(
    store: &dyn refkube_store::Store,
) -> Result<Policy, crate::status::ApiError> {
    Ok(Policy::new(
        stored(store, "clusterroles").await?,
        stored(store, "roles").await?,
        stored(store, "clusterrolebindings").await?,
        stored(store, "rolebindings").await?,
    ))
}
