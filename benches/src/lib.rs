//! Shared helpers for the criterion benchmarks: a tokio [`runtime`], store prefill
//! ([`prefill`]), realistic objects ([`objects`]), scheduler and proxy fixtures
//! ([`scheduling`], [`proxying`]), an in-process API server ([`api`]) and a
//! bytes-retained criterion measurement ([`retained`]).

pub mod api;
pub mod compare;
pub mod figures;
pub mod objects;
pub mod proxying;
pub mod retained;
pub mod sched_perf;
pub mod scheduling;

use bytes::Bytes;
use refkube_store::{Store, StoreError};

/// A multi-threaded tokio runtime for `Bencher::to_async`.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// A value of `size` bytes, about the size of a small serialized object.
pub fn payload(size: usize) -> Bytes {
    Bytes::from(vec![b'x'; size])
}

/// Creates `n` keys `{prefix}{i:06}` holding `size`-byte values.
pub async fn prefill(
    store: &dyn Store,
    prefix: &str,
    n: usize,
    size: usize,
) -> Result<(), StoreError> {
    let value = payload(size);
    for i in 0..n {
        store
            .create(&format!("{prefix}{i:06}"), value.clone())
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn prefill_creates_the_requested_keys() {
        let store = refkube_store::MemoryStore::new();
        prefill(&store, "/p/", 3, 8).await.unwrap();
        let list = store.list("/p/", Default::default()).await.unwrap();
        let keys: Vec<_> = list.items.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, vec!["/p/000000", "/p/000001", "/p/000002"]);
        assert!(list.items.iter().all(|kv| kv.value.len() == 8));
    }
}
