//! Unit tests of the watch response stream (`watchstream.rs`): delivery through the
//! cache's wake-ups, chunking, the unresponsive-watcher budget, bookmarks and the end.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::super::tests::{caches, configmaps, watcher, write_configmap};
use super::{BATCH, LiveOpts, Stop, WatchStream};
use crate::watchcache::ResourceCache;

/// A stop that never comes.
fn never() -> Stop {
    Box::pin(futures::future::pending())
}

/// A plain JSON stream from the cache's current revision.
fn stream(
    cache: &Arc<ResourceCache>,
    dispatch_timeout: Duration,
    bookmark_interval: Option<Duration>,
    stop: Stop,
) -> WatchStream {
    let opts = LiveOpts {
        bookmark_interval,
        dispatch_timeout,
        generation: cache.generation(),
    };
    let w = watcher(false, false, false);
    WatchStream::new(
        w,
        cache.clone(),
        Vec::new(),
        cache.revision(),
        false,
        opts,
        stop,
    )
}

/// The frames of one chunk, parsed.
fn frames(chunk: &[u8]) -> Vec<Value> {
    chunk
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// Waits until the cache has applied every write made so far.
async fn applied(store: &Arc<dyn refkube_store::Store>, cache: &ResourceCache) {
    let want = store.current_revision().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while cache.revision() < want {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the cache applies the writes");
}

async fn next_chunk(s: &mut WatchStream) -> Option<bytes::Bytes> {
    tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("the stream answers")
        .map(|c| c.unwrap())
}

#[tokio::test]
async fn a_waiting_watcher_is_woken_and_gets_every_event_in_order() {
    let (store, caches) = caches().await;
    let cache = caches.get(configmaps()).unwrap();
    let mut s = stream(&cache, Duration::from_secs(30), None, never());
    let names: Vec<String> = (0..BATCH + 5).map(|i| format!("cm{i}")).collect();
    // Reads while the writes go on, so it parks on the cache between events.
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < BATCH + 5 {
            let chunk = next_chunk(&mut s).await.expect("stream open");
            for f in frames(&chunk) {
                assert_eq!(f["type"], "ADDED");
                seen.push(
                    f["object"]["metadata"]["name"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
        }
        seen
    });
    for n in &names {
        write_configmap(&store, n).await;
        // Lets the cache and the reader run, so the reader parks between events (and
        // stays within the test cache's 100-event ring).
        tokio::task::yield_now().await;
    }
    assert_eq!(reader.await.unwrap(), names);
}

#[tokio::test]
async fn frames_ready_for_a_connection_go_out_as_one_chunk() {
    let (store, caches) = caches().await;
    let cache = caches.get(configmaps()).unwrap();
    let mut s = stream(&cache, Duration::from_secs(30), None, never());
    for n in ["a", "b", "c"] {
        write_configmap(&store, n).await;
    }
    applied(&store, &cache).await;
    let chunk = next_chunk(&mut s).await.unwrap();
    let names: Vec<Value> = frames(&chunk)
        .into_iter()
        .map(|f| f["object"]["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    // One frame alone is the event's shared frame, not a copy.
    write_configmap(&store, "d").await;
    applied(&store, &cache).await;
    let one = next_chunk(&mut s).await.unwrap();
    let mut all = Vec::new();
    cache
        .events_after_into(0, cache.generation(), &mut all)
        .unwrap();
    let last = all.last().unwrap();
    assert_eq!(one.as_ptr(), last.json_frame().as_ptr());
}

#[tokio::test]
async fn a_watcher_that_does_not_read_is_closed_once_its_buffer_stays_full() {
    let store: Arc<dyn refkube_store::Store> = Arc::new(refkube_store::MemoryStore::new());
    let caches = crate::watchcache::WatchCaches::start(store.clone(), 1000)
        .await
        .unwrap();
    let cache = caches.get(configmaps()).unwrap();
    let mut s = stream(&cache, Duration::from_millis(20), None, never());
    for i in 0..2 * BATCH + 6 {
        write_configmap(&store, &format!("cm{i}")).await;
    }
    applied(&store, &cache).await;
    // More than a buffer's worth waiting at two polls further apart than the budget:
    // the second poll's chunk is the last.
    assert_eq!(frames(&next_chunk(&mut s).await.unwrap()).len(), BATCH);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(frames(&next_chunk(&mut s).await.unwrap()).len(), BATCH);
    assert!(next_chunk(&mut s).await.is_none(), "the watcher was closed");
}

#[tokio::test]
async fn a_watcher_polled_late_once_is_not_taken_for_unresponsive() {
    let (store, caches) = caches().await;
    let cache = caches.get(configmaps()).unwrap();
    let mut s = stream(&cache, Duration::from_millis(20), None, never());
    for i in 0..BATCH + 6 {
        write_configmap(&store, &format!("cm{i}")).await;
    }
    applied(&store, &cache).await;
    // A connection task that waited for a CPU: its frames are old, but the first poll
    // that finds them is not a buffer that stayed full.
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(frames(&next_chunk(&mut s).await.unwrap()).len(), BATCH);
    assert_eq!(frames(&next_chunk(&mut s).await.unwrap()).len(), 6);
}

#[tokio::test]
async fn a_watcher_behind_by_more_than_a_buffer_but_within_the_budget_stays_open() {
    let (store, caches) = caches().await;
    let cache = caches.get(configmaps()).unwrap();
    let mut s = stream(&cache, Duration::from_secs(30), None, never());
    for i in 0..BATCH + 6 {
        write_configmap(&store, &format!("cm{i}")).await;
    }
    applied(&store, &cache).await;
    assert_eq!(frames(&next_chunk(&mut s).await.unwrap()).len(), BATCH);
    assert_eq!(frames(&next_chunk(&mut s).await.unwrap()).len(), 6);
}

#[tokio::test]
async fn bookmarks_come_when_due_with_the_revision_reached() {
    let (store, caches) = caches().await;
    let cache = caches.get(configmaps()).unwrap();
    write_configmap(&store, "a").await;
    applied(&store, &cache).await;
    let mut s = stream(
        &cache,
        Duration::from_secs(30),
        Some(Duration::from_millis(30)),
        never(),
    );
    let chunk = next_chunk(&mut s).await.unwrap();
    let f = frames(&chunk);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["type"], "BOOKMARK");
    assert_eq!(
        f[0]["object"]["metadata"]["resourceVersion"],
        cache.revision().to_string()
    );
}

#[tokio::test]
async fn the_stream_ends_on_stop_and_leaves_no_registration_behind() {
    let (store, caches) = caches().await;
    let cache = caches.get(configmaps()).unwrap();
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let stop: Stop = Box::pin(async move {
        let _ = rx.changed().await;
    });
    let mut s = stream(&cache, Duration::from_secs(30), None, stop);
    write_configmap(&store, "a").await;
    assert!(next_chunk(&mut s).await.is_some());
    tx.send_replace(true);
    assert!(next_chunk(&mut s).await.is_none());
    assert!(next_chunk(&mut s).await.is_none(), "and stays ended");
    drop(s);
    assert_eq!(cache.registered(), 0);
}

#[tokio::test]
async fn a_cursor_older_than_the_cache_gets_410_then_the_end() {
    let store: Arc<dyn refkube_store::Store> = Arc::new(refkube_store::MemoryStore::new());
    let caches = crate::watchcache::WatchCaches::start(store.clone(), 2)
        .await
        .unwrap();
    let cache = caches.get(configmaps()).unwrap();
    let from = cache.revision();
    for n in ["a", "b", "c", "d"] {
        write_configmap(&store, n).await;
    }
    applied(&store, &cache).await;
    let opts = LiveOpts {
        bookmark_interval: None,
        dispatch_timeout: Duration::from_secs(30),
        generation: cache.generation(),
    };
    let w = watcher(false, false, false);
    let mut s = WatchStream::new(w, cache.clone(), Vec::new(), from, false, opts, never());
    let f = frames(&next_chunk(&mut s).await.unwrap());
    assert_eq!(f[0]["type"], "ERROR");
    assert_eq!(f[0]["object"]["code"], 410);
    assert!(next_chunk(&mut s).await.is_none());
}
