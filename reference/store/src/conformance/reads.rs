//! Conformance checks for reads: lists at past revisions, paging, bad revisions.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{Check, Subject, write_history};
use crate::{EventKind, ListOptions, Revision, StoreError};

pub(super) fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "list at every past revision shows the state then",
            run: |s| Box::pin(list_at_past_revisions(s)),
        },
        Check {
            name: "paging with limit and start_after is stable at one revision",
            run: |s| Box::pin(paging_is_stable(s)),
        },
        Check {
            name: "list and get see only their prefix or key",
            run: |s| Box::pin(list_sees_only_prefix(s)),
        },
        Check {
            name: "reads above the current revision fail",
            run: |s| Box::pin(future_reads_fail(s)),
        },
    ]
}

fn at(rev: Revision) -> ListOptions {
    ListOptions {
        at: Some(rev),
        ..ListOptions::default()
    }
}

async fn list_at_past_revisions(s: Subject) {
    let events = write_history(&s, 3).await;
    // Replay the events into the state after each revision and compare every one.
    let mut state: BTreeMap<String, (Bytes, Revision, Revision)> = BTreeMap::new();
    for e in &events {
        if e.kind == EventKind::Delete {
            state.remove(&e.key);
        } else {
            state.insert(
                e.key.clone(),
                (e.value.clone(), e.create_revision, e.revision),
            );
        }
        let got = s
            .store
            .list(&s.prefix, at(e.revision))
            .await
            .expect("list at a past revision");
        assert_eq!(
            got.revision, e.revision,
            "list served at the wrong revision"
        );
        let got: BTreeMap<_, _> = got
            .items
            .into_iter()
            .map(|kv| (kv.key, (kv.value, kv.create_revision, kv.mod_revision)))
            .collect();
        assert_eq!(got, state, "list at revision {}", e.revision);
    }
    let now = s
        .store
        .list(&s.prefix, ListOptions::default())
        .await
        .expect("list");
    assert!(
        now.revision >= events.last().map_or(0, |e| e.revision),
        "current list is behind the last write"
    );
}

async fn paging_is_stable(s: Subject) {
    for i in 0..25 {
        s.store
            .create(&s.key(&format!("p{i:02}")), Bytes::from(format!("{i}")))
            .await
            .expect("create");
    }
    let full = s
        .store
        .list(&s.prefix, ListOptions::default())
        .await
        .expect("list");
    assert_eq!(full.items.len(), 25);
    assert!(!full.more, "an unlimited list said more");
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let opts = ListOptions {
            start_after: after.clone(),
            limit: 7,
            at: Some(full.revision),
        };
        let page = s.store.list(&s.prefix, opts).await.expect("page");
        assert_eq!(page.revision, full.revision);
        assert!(page.items.len() <= 7, "page over the limit");
        // Writes between pages must not show up in pages read at the first revision.
        let key = s.key(&format!("p{:02}x", pages.len()));
        s.store
            .create(&key, Bytes::from("late"))
            .await
            .expect("create between pages");
        after = page.items.last().map(|kv| kv.key.clone());
        pages.extend(page.items);
        if !page.more {
            break;
        }
        assert!(after.is_some(), "more with an empty page");
    }
    assert_eq!(
        pages, full.items,
        "pages joined differ from the full list at the same revision"
    );
}

async fn list_sees_only_prefix(s: Subject) {
    s.store
        .create(&s.key("dir/a"), Bytes::from("1"))
        .await
        .expect("create");
    s.store
        .create(&s.key("dir/b"), Bytes::from("1"))
        .await
        .expect("create");
    s.store
        .create(&s.key("dir0"), Bytes::from("1"))
        .await
        .expect("create");
    s.store
        .create(&s.key("dis"), Bytes::from("1"))
        .await
        .expect("create");
    let got = s
        .store
        .list(&s.key("dir/"), ListOptions::default())
        .await
        .expect("list");
    let keys: Vec<_> = got.items.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(keys, vec![s.key("dir/a"), s.key("dir/b")]);
    assert_eq!(
        s.store.get(&s.key("dir")).await.expect("get"),
        None,
        "get matched a prefix"
    );
}

async fn future_reads_fail(s: Subject) {
    let rev = s
        .store
        .create(&s.key("f"), Bytes::from("1"))
        .await
        .expect("create");
    let current = s.store.current_revision().await.expect("rev");
    assert!(current >= rev);
    let err = s
        .store
        .list(&s.prefix, at(current + 1000))
        .await
        .expect_err("list in the future");
    assert!(
        matches!(err, StoreError::FutureRevision { requested, .. } if requested == current + 1000),
        "{err:?}"
    );
    let err = s.store.watch(&s.prefix, current + 1000).await.err();
    assert!(
        matches!(err, Some(StoreError::FutureRevision { .. })),
        "watch in the future: {err:?}"
    );
}
