//! The store decorator that encrypts values on their way into any backend and decrypts
//! them on their way out (reads, lists, deletes and watch events alike).
//!
//! Entry point: [`EncryptedStore::new`]. Keys outside the configured resources, and
//! watches that cannot see them, go straight to the inner store.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use refkube_store::{
    KeyValue, ListOptions, ListResult, MemberHealth, Revision, Store, StoreError, WatchEvent,
    WatchStream,
};

use super::Encryption;

/// A [`Store`] whose configured resources are kept encrypted in `inner`.
pub struct EncryptedStore {
    inner: Arc<dyn Store>,
    enc: Arc<Encryption>,
}

impl std::fmt::Debug for EncryptedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedStore")
            .field("backend", &self.inner.backend())
            .field("prefixes", &self.enc.prefixes())
            .finish()
    }
}

/// Decrypts one stored value in place (values of other resources are left alone).
fn open(enc: &Encryption, kv: &mut KeyValue) -> Result<bool, StoreError> {
    let Some(chain) = enc.chain(&kv.key) else {
        return Ok(false);
    };
    let opened = chain
        .open(&kv.value, kv.key.as_bytes())
        .map_err(|e| StoreError::Corrupt(format!("unable to transform key {:?}: {e}", kv.key)))?;
    kv.value = opened.plain;
    Ok(opened.stale)
}

/// Decrypts a value read in bulk (a list page, a watch event). One value no
/// configured key opens must not fail the rest: it is passed on as stored, with a
/// warning, so the watch cache skips it as undecodable (as upstream's cacher cannot
/// decode it either) while the API server keeps serving everything else; reading that
/// object itself reports why.
fn open_lenient(enc: &Encryption, kv: &mut KeyValue) {
    if let Err(e) = open(enc, kv) {
        tracing::warn!(error = %e, "cannot decrypt a stored value");
    }
}

fn open_event(enc: &Encryption, mut ev: WatchEvent) -> WatchEvent {
    open_lenient(enc, &mut ev.kv);
    if let Some(prev) = ev.prev.as_mut() {
        open_lenient(enc, prev);
    }
    ev
}

impl EncryptedStore {
    pub fn new(inner: Arc<dyn Store>, enc: Arc<Encryption>) -> Self {
        Self { inner, enc }
    }

    /// The store the API server should use: `store` itself without
    /// `--encryption-provider-config`, else `store` wrapped (also returned typed, for
    /// [`super::rewrite_due`]).
    #[allow(clippy::type_complexity)]
    pub fn wrap(
        config: &crate::ApiServerConfig,
        store: Arc<dyn Store>,
    ) -> Result<(Arc<dyn Store>, Option<Arc<EncryptedStore>>), super::EncryptionError> {
        let Some(path) = &config.encryption_provider_config else {
            return Ok((store, None));
        };
        let enc = Arc::new(Encryption::load(path)?);
        tracing::info!(prefixes = ?enc.prefixes(), "encrypting at rest");
        let wrapped = Arc::new(EncryptedStore::new(store, enc));
        Ok((wrapped.clone(), Some(wrapped)))
    }

    fn seal(&self, key: &str, value: Bytes) -> Result<Bytes, StoreError> {
        match self.enc.chain(key) {
            None => Ok(value),
            // The storage key is the authenticated data (aesgcm), as upstream's.
            Some(chain) => chain
                .seal(value, key.as_bytes())
                .map_err(|e| StoreError::Unavailable(e.to_string())),
        }
    }

    /// Whether `key` holds a value read with a provider or key other than the writing
    /// one (false for keys outside the configuration, missing keys and read errors).
    pub async fn stale(&self, key: &str) -> bool {
        if self.enc.chain(key).is_none() {
            return false;
        }
        match self.inner.get(key).await {
            Ok(Some(mut kv)) => open(&self.enc, &mut kv).unwrap_or(false),
            _ => false,
        }
    }
}

#[async_trait]
impl Store for EncryptedStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let mut kv = self.inner.get(key).await?;
        if let Some(kv) = kv.as_mut() {
            open(&self.enc, kv)?;
        }
        Ok(kv)
    }
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError> {
        let mut page = self.inner.list(prefix, opts).await?;
        if self.enc.touches(prefix) {
            for kv in &mut page.items {
                open_lenient(&self.enc, kv);
            }
        }
        Ok(page)
    }
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let value = self.seal(key, value)?;
        self.inner.create(key, value).await
    }
    async fn update(
        &self,
        key: &str,
        expected: Revision,
        value: Bytes,
    ) -> Result<Revision, StoreError> {
        let value = self.seal(key, value)?;
        self.inner.update(key, expected, value).await
    }
    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<(Revision, KeyValue), StoreError> {
        let (rev, mut kv) = self.inner.delete(key, expected).await?;
        open(&self.enc, &mut kv)?;
        Ok((rev, kv))
    }
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        let stream = self.inner.watch(prefix, after).await?;
        if !self.enc.touches(prefix) {
            return Ok(stream);
        }
        let enc = self.enc.clone();
        Ok(Box::pin(stream.map(move |batch| {
            Ok(batch?.into_iter().map(|ev| open_event(&enc, ev)).collect())
        })))
    }
    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.inner.compact(revision).await
    }
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        self.inner.current_revision().await
    }
    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        self.inner.compacted_revision().await
    }
    async fn health(&self) -> Vec<MemberHealth> {
        self.inner.health().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use refkube_store::MemoryStore;

    const CONFIG: &str = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n\
        resources:\n- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: k1\n        secret: MDEyMzQ1Njc4OWFiY2RlZg==\n";

    fn stores() -> (Arc<dyn Store>, EncryptedStore) {
        let inner: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let enc = Arc::new(Encryption::parse(CONFIG).unwrap());
        (inner.clone(), EncryptedStore::new(inner, enc))
    }

    #[tokio::test]
    async fn configured_resources_are_ciphertext_inside_and_plain_outside() {
        let (inner, store) = stores();
        let secret = Bytes::from_static(b"{\"data\":{\"k\":\"dmFsdWU=\"}}");
        store
            .create("/registry/secrets/ns/s", secret.clone())
            .await
            .unwrap();
        store
            .create("/registry/configmaps/ns/c", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        let raw = inner.get("/registry/secrets/ns/s").await.unwrap().unwrap();
        assert!(raw.value.starts_with(b"k8s:enc:aesgcm:v1:k1:"));
        let raw_cm = inner
            .get("/registry/configmaps/ns/c")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(raw_cm.value, Bytes::from_static(b"{}"), "not configured");
        assert_eq!(
            store
                .get("/registry/secrets/ns/s")
                .await
                .unwrap()
                .unwrap()
                .value,
            secret
        );
        let listed = store
            .list("/registry/", ListOptions::default())
            .await
            .unwrap();
        assert!(listed.items.iter().all(|kv| kv.value.starts_with(b"{")));
        let (_, deleted) = store.delete("/registry/secrets/ns/s", None).await.unwrap();
        assert_eq!(deleted.value, secret);
    }

    #[tokio::test]
    async fn watch_events_arrive_decrypted() {
        let (_, store) = stores();
        let mut w = store.watch("/registry/secrets/", 0).await.unwrap();
        store
            .create("/registry/secrets/ns/s", Bytes::from_static(b"{\"a\":1}"))
            .await
            .unwrap();
        let rev = store.current_revision().await.unwrap();
        store
            .update(
                "/registry/secrets/ns/s",
                rev,
                Bytes::from_static(b"{\"a\":2}"),
            )
            .await
            .unwrap();
        let first = w.next().await.unwrap().unwrap();
        assert_eq!(first[0].kv.value, Bytes::from_static(b"{\"a\":1}"));
        let second = w.next().await.unwrap().unwrap();
        assert_eq!(second[0].kv.value, Bytes::from_static(b"{\"a\":2}"));
        assert_eq!(
            second[0].prev.as_ref().unwrap().value,
            Bytes::from_static(b"{\"a\":1}")
        );
    }

    #[tokio::test]
    async fn a_value_no_configured_key_opens_is_reported_corrupt() {
        let (inner, store) = stores();
        inner
            .create("/registry/secrets/ns/x", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        let err = store.get("/registry/secrets/ns/x").await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m.contains("no matching prefix found")),
            "{err}"
        );
        assert!(!store.stale("/registry/secrets/ns/x").await);
        // A list still lists the rest; the unreadable value comes as stored.
        store
            .create("/registry/secrets/ns/y", Bytes::from_static(b"{\"ok\":1}"))
            .await
            .unwrap();
        let page = store
            .list("/registry/secrets/", ListOptions::default())
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[1].value, Bytes::from_static(b"{\"ok\":1}"));
    }
}
