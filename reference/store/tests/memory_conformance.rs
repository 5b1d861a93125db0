//! Runs the store conformance suite against the memory backend.

use std::sync::Arc;

use refkube_store::MemoryStore;
use refkube_store::conformance::{Subject, run_all};

#[tokio::test]
async fn the_memory_backend_passes_the_store_conformance_suite() {
    run_all(|| async { Subject::new(Arc::new(MemoryStore::new())) }).await;
}

#[tokio::test]
async fn open_memory_gives_a_working_memory_store() {
    let store = refkube_store::open("memory").expect("open memory");
    assert_eq!(store.backend(), "memory");
    run_all(|| async { Subject::new(refkube_store::open("memory").expect("open memory")) }).await;
}
