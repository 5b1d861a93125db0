//! Runs the store conformance suite against the file backend, and checks what only a
//! durable backend promises: data survives a reopen, and a directory has one owner.

use std::sync::Arc;

use bytes::Bytes;
use refkube_store::conformance::{Subject, run_all};
use refkube_store::{FileConfig, FileStore, ListOptions, Store, StoreError};

#[tokio::test]
async fn the_file_backend_passes_the_store_conformance_suite() {
    let root = tempfile::tempdir().expect("temp dir");
    let n = std::sync::atomic::AtomicUsize::new(0);
    run_all(|| {
        let dir = root.path().join(format!(
            "s{}",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        async move {
            Subject::new(Arc::new(
                FileStore::open(FileConfig::new(dir)).expect("open file store"),
            ))
        }
    })
    .await;
}

#[tokio::test]
async fn history_and_compaction_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (r2, before) = {
        let store = refkube_store::open(&format!("file:{}", dir.path().display())).expect("open");
        let r1 = store.create("/registry/a", Bytes::from("1")).await.unwrap();
        let r2 = store
            .update("/registry/a", r1, Bytes::from("2"))
            .await
            .unwrap();
        store.create("/registry/b", Bytes::from("1")).await.unwrap();
        store.compact(r2).await.unwrap();
        store.delete("/registry/b", None).await.unwrap();
        let before = store
            .list(
                "/registry/",
                ListOptions {
                    at: Some(r2),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        (r2, before)
    };
    let store = FileStore::open(FileConfig::new(dir.path())).expect("reopen");
    assert_eq!(store.current_revision().await.unwrap(), 4);
    assert_eq!(store.compacted_revision().await.unwrap(), r2);
    let after = store
        .list(
            "/registry/",
            ListOptions {
                at: Some(r2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after, before);
    let err = store
        .list(
            "/registry/",
            ListOptions {
                at: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Compacted { .. }));
    assert_eq!(store.get("/registry/b").await.unwrap(), None);
    assert_eq!(
        store.create("/registry/c", Bytes::from("1")).await.unwrap(),
        5
    );
}

#[tokio::test]
async fn a_directory_in_use_cannot_be_opened_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _first = FileStore::open(FileConfig::new(dir.path())).expect("first open");
    let err = FileStore::open(FileConfig::new(dir.path()))
        .err()
        .expect("second open must fail");
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("in use")),
        "{err}"
    );
}
