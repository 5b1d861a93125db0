//! One range's bitmap in the store: read it, change a copy, write it back with a
//! compare-and-swap on its revision, retry when another writer got there first.
//!
//! Entry points: [`RangeStore::modify`] (allocations and releases), [`RangeStore::read`]
//! and [`RangeStore::replace`] (the repair pass).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use refkube_store::{Revision, Store, StoreError};

use super::bitmap::{Bitmap, BitmapError, decode, encode};

/// Upstream's key of the ClusterIP RangeAllocation.
pub const SERVICE_IPS_KEY: &str = "/registry/ranges/serviceips";
/// Upstream's key of the NodePort RangeAllocation.
pub const NODE_PORTS_KEY: &str = "/registry/ranges/servicenodeports";

/// How many times one change is tried while other writers keep winning. Each lost race
/// means another change was stored, so the system as a whole always progresses; the cap
/// only bounds how long one request waits.
const MAX_ATTEMPTS: u32 = 64;

/// Why a range could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    /// No range object yet: the start-up repair pass creates it from the Services, and
    /// allocating before that could hand out an address an existing Service holds.
    #[error("cannot allocate resources of type {0} at this time")]
    NotInitialized(&'static str),
    /// The stored object is unreadable or for another range.
    #[error(transparent)]
    Bitmap(#[from] BitmapError),
    /// Other writers won [`MAX_ATTEMPTS`] races in a row.
    #[error("{0}: too many concurrent changes, try again")]
    Contended(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A range stored under one key.
pub struct RangeStore {
    store: Arc<dyn Store>,
    key: &'static str,
    /// Upstream's resource name, as its "cannot allocate" message names it.
    resource: &'static str,
    range: String,
    size: usize,
    /// Serialises this server's own changes: racing each other would only make them
    /// retry. Other servers are kept out by the compare-and-swap alone.
    serial: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RangeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeStore")
            .field("key", &self.key)
            .field("range", &self.range)
            .finish()
    }
}

impl RangeStore {
    pub fn new(
        store: Arc<dyn Store>,
        key: &'static str,
        resource: &'static str,
        range: String,
        size: usize,
    ) -> Self {
        Self {
            store,
            key,
            resource,
            range,
            size,
            serial: tokio::sync::Mutex::new(()),
        }
    }

    pub fn key(&self) -> &'static str {
        self.key
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// The stored bitmap and its revision; None before the first repair pass.
    pub async fn read(&self) -> Result<Option<(Revision, Bitmap)>, RangeError> {
        match self.read_raw().await? {
            None => Ok(None),
            Some((rev, bitmap)) => Ok(Some((rev, bitmap?))),
        }
    }

    /// Like [`RangeStore::read`], but an unreadable object still gives its revision, so
    /// the repair pass can replace it.
    pub async fn read_raw(
        &self,
    ) -> Result<Option<(Revision, Result<Bitmap, BitmapError>)>, StoreError> {
        let kv = self.store.get(self.key).await?;
        Ok(kv.map(|kv| (kv.mod_revision, decode(&kv.value, &self.range, self.size))))
    }

    /// Stores `bitmap` if the range is still at `expected` (None: still absent). Returns
    /// false when another writer changed it since.
    pub async fn replace(
        &self,
        expected: Option<Revision>,
        bitmap: &Bitmap,
    ) -> Result<bool, RangeError> {
        let value = encode(&self.range, bitmap);
        let written = match expected {
            Some(rev) => self.store.update(self.key, rev, value).await.map(|_| ()),
            None => self.store.create(self.key, value).await.map(|_| ()),
        };
        match written {
            Ok(()) => Ok(true),
            Err(
                StoreError::Conflict { .. }
                | StoreError::NotFound(_)
                | StoreError::AlreadyExists(_),
            ) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `change` to the current bitmap and stores the result atomically, running
    /// `change` again on fresh data after a lost race. The inner result is `change`'s
    /// own: an `Err` there stores nothing. With `write` false (dry run) nothing is
    /// stored either way.
    pub async fn modify<T, E>(
        &self,
        write: bool,
        mut change: impl FnMut(&mut Bitmap) -> Result<T, E>,
    ) -> Result<Result<T, E>, RangeError> {
        let _serial = self.serial.lock().await;
        for attempt in 0..MAX_ATTEMPTS {
            let (rev, current) = self
                .read()
                .await?
                .ok_or(RangeError::NotInitialized(self.resource))?;
            let mut next = current.clone();
            let out = match change(&mut next) {
                Ok(out) => out,
                Err(e) => return Ok(Err(e)),
            };
            if !write || next == current || self.replace(Some(rev), &next).await? {
                return Ok(Ok(out));
            }
            // Jitter, so two servers that collided do not collide again in lockstep.
            let wait = rand::rng().random_range(0..=200u64 << attempt.min(5));
            tokio::time::sleep(Duration::from_micros(wait)).await;
        }
        Err(RangeError::Contended(self.resource))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(store: Arc<dyn Store>) -> RangeStore {
        RangeStore::new(store, "/registry/ranges/t", "things", "0-9".into(), 10)
    }

    #[tokio::test]
    async fn nothing_is_allocated_before_the_range_exists() {
        let r = range(Arc::new(refkube_store::MemoryStore::new()));
        let err = r.modify(true, |b| Ok::<_, ()>(b.set(1))).await;
        assert!(matches!(err, Err(RangeError::NotInitialized("things"))));
    }

    #[tokio::test]
    async fn a_change_is_stored_and_a_refusal_is_not() {
        let r = range(Arc::new(refkube_store::MemoryStore::new()));
        assert!(r.replace(None, &Bitmap::new(10)).await.unwrap());
        assert!(!r.replace(None, &Bitmap::new(10)).await.unwrap());
        r.modify(true, |b| Ok::<_, ()>(b.set(3)))
            .await
            .unwrap()
            .unwrap();
        let refused = r.modify(true, |b| {
            b.set(4);
            Err::<(), _>("no")
        });
        assert_eq!(refused.await.unwrap(), Err("no"));
        r.modify(false, |b| Ok::<_, ()>(b.set(5)))
            .await
            .unwrap()
            .unwrap();
        let (_, bm) = r.read().await.unwrap().unwrap();
        assert_eq!(bm.iter().collect::<Vec<_>>(), [3]);
    }

    #[tokio::test]
    async fn a_lost_race_is_retried_on_fresh_data() {
        let store: Arc<dyn Store> = Arc::new(refkube_store::MemoryStore::new());
        let r = range(store.clone());
        let other = range(store);
        r.replace(None, &Bitmap::new(10)).await.unwrap();
        let mut tries = 0;
        let picked = r
            .modify(true, |b| {
                tries += 1;
                if tries == 1 {
                    // Another server takes offset 0 between our read and our write.
                    let (rev, mut theirs) =
                        futures::executor::block_on(other.read()).unwrap().unwrap();
                    theirs.set(0);
                    assert!(
                        futures::executor::block_on(other.replace(Some(rev), &theirs)).unwrap()
                    );
                }
                let i = b.next_free(0, |_| false).unwrap();
                b.set(i);
                Ok::<_, ()>(i)
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!((picked, tries), (1, 2));
    }
}
