//! Conformance checks for compaction: what stays readable and what fails `Compacted`.

use bytes::Bytes;
use futures::StreamExt;

use super::{Check, Expected, Subject, collect, flatten_checked, write_history};
use crate::{ListOptions, StoreError};

pub(super) fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "compaction fails older lists and watches but keeps later ones",
            run: |s| Box::pin(compaction_boundaries(s)),
        },
        Check {
            name: "a watcher behind a compaction gets Compacted",
            run: |s| Box::pin(lagging_watcher_is_compacted(s)),
        },
    ]
}

async fn compaction_boundaries(s: Subject) {
    let events = write_history(&s, 2).await;
    let mid = events[events.len() / 2].revision;
    let before = s
        .store
        .list(
            &s.prefix,
            ListOptions {
                at: Some(mid),
                ..Default::default()
            },
        )
        .await
        .expect("list at mid");
    let old = events[1].revision;
    s.store.compact(mid).await.expect("compact");
    assert!(
        s.store
            .compacted_revision()
            .await
            .expect("compacted revision")
            >= mid
    );

    let err = s
        .store
        .list(
            &s.prefix,
            ListOptions {
                at: Some(old),
                ..Default::default()
            },
        )
        .await
        .expect_err("list below the compaction point");
    assert!(
        matches!(err, StoreError::Compacted { requested, .. } if requested == old),
        "{err:?}"
    );
    let err = s.store.watch(&s.prefix, old).await.err();
    assert!(
        matches!(err, Some(StoreError::Compacted { .. })),
        "watch below the compaction point: {err:?}"
    );
    let err = s.store.compact(old).await.err();
    assert!(
        matches!(err, Some(StoreError::Compacted { .. })),
        "compacting again below: {err:?}"
    );

    // The state at the compaction point itself and every later event stay available.
    let at_mid = s
        .store
        .list(
            &s.prefix,
            ListOptions {
                at: Some(mid),
                ..Default::default()
            },
        )
        .await
        .expect("list at the compaction point");
    assert_eq!(
        at_mid, before,
        "compaction changed the state at its revision"
    );
    let suffix: Vec<Expected> = events
        .iter()
        .filter(|e| e.revision > mid)
        .cloned()
        .collect();
    let mut stream = s
        .store
        .watch(&s.prefix, mid)
        .await
        .expect("watch from the compaction point");
    let got = flatten_checked(
        collect(&mut stream, suffix.len(), "watch after compaction").await,
        "watch after compaction",
    );
    assert_eq!(got.iter().map(Expected::of).collect::<Vec<_>>(), suffix);
    let last = s.store.current_revision().await.expect("rev");
    let rev = s
        .store
        .create(&s.key("after-compaction"), Bytes::from("1"))
        .await
        .expect("write after compaction");
    assert!(rev > last);
}

async fn lagging_watcher_is_compacted(s: Subject) {
    let start = s.store.current_revision().await.expect("rev");
    let mut stream = s.store.watch(&s.prefix, start).await.expect("watch");
    let events = write_history(&s, 2).await;
    let last = events.last().map_or(start, |e| e.revision);
    s.store.compact(last).await.expect("compact");
    // The watcher has read nothing yet. It may still deliver events read before the
    // compaction (etcd streams eagerly), but then must either catch up fully or end
    // with Compacted: never skip silently to later revisions.
    let mut seen = Vec::new();
    let rev = s
        .store
        .create(&s.key("late"), Bytes::from("1"))
        .await
        .expect("write after compaction");
    loop {
        let next = tokio::time::timeout(super::EVENT_TIMEOUT, stream.next())
            .await
            .expect("lagging watcher timed out");
        match next {
            Some(Ok(batch)) => {
                seen.extend(batch.iter().map(|e| e.revision()));
                if seen.last() == Some(&rev) {
                    let all: Vec<_> = events.iter().map(|e| e.revision).chain([rev]).collect();
                    assert_eq!(seen, all, "a watcher that kept up saw a gap");
                    break;
                }
            }
            Some(Err(StoreError::Compacted { .. })) => {
                let expected: Vec<_> = events.iter().map(|e| e.revision).take(seen.len()).collect();
                assert_eq!(seen, expected, "events before Compacted had a gap");
                assert!(
                    stream.next().await.is_none(),
                    "stream went on after Compacted"
                );
                break;
            }
            other => panic!("lagging watcher: unexpected {other:?}"),
        }
    }
}
