//! Conformance checks for watches: order, kinds, resumption, concurrency, prefixes.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use super::{Check, Expected, Subject, collect, flatten_checked, write_history};
use crate::Revision;

pub(super) fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "watch delivers ordered events with kinds and previous values",
            run: |s| Box::pin(events_match_history(s)),
        },
        Check {
            name: "watch resumes from every retained revision",
            run: |s| Box::pin(resumes_from_every_revision(s)),
        },
        Check {
            name: "watch from zero starts now and sees only its prefix",
            run: |s| Box::pin(from_now_and_prefix_only(s)),
        },
        Check {
            name: "concurrent writers and watchers all see one sequence",
            run: |s| Box::pin(concurrent_watchers_agree(s)),
        },
    ]
}

/// Writes the sentinel key and returns it with its revision: reading a watch up to it
/// shows every extra or missing event before it, without sleeping.
async fn sentinel(s: &Subject) -> (String, Revision) {
    let key = s.key("zz-sentinel");
    let rev = match s.store.get(&key).await.expect("get sentinel") {
        Some(kv) => s
            .store
            .update(&key, kv.mod_revision, Bytes::from("s"))
            .await
            .expect("sentinel"),
        None => s
            .store
            .create(&key, Bytes::from("s"))
            .await
            .expect("sentinel"),
    };
    (key, rev)
}

/// Reads `n` events and then the sentinel, failing if anything else arrives first.
async fn read_through(
    stream: &mut crate::WatchStream,
    n: usize,
    sentinel: &(String, Revision),
    what: &str,
) -> Vec<Expected> {
    let events = flatten_checked(collect(stream, n + 1, what).await, what);
    let (last, rest) = events
        .split_last()
        .unwrap_or_else(|| panic!("{what}: no events"));
    assert_eq!(
        (&last.kv.key, last.revision()),
        (&sentinel.0, sentinel.1),
        "{what}: extra or missing events before the sentinel: {events:?}"
    );
    rest.iter().map(Expected::of).collect()
}

/// Writes a second sentinel and checks it is the very next event: a watch that
/// re-delivers anything it already sent fails here.
async fn assert_next_is_only(
    stream: &mut crate::WatchStream,
    mark: &(String, Revision),
    what: &str,
) {
    let next = flatten_checked(collect(stream, 1, what).await, what);
    assert_eq!(
        next.iter()
            .map(|e| (e.kv.key.clone(), e.revision()))
            .collect::<Vec<_>>(),
        vec![mark.clone()],
        "{what}: a repeated or unexpected event after the sentinel"
    );
}

async fn events_match_history(s: Subject) {
    let start = s.store.current_revision().await.expect("rev");
    let mut stream = s.store.watch(&s.prefix, start).await.expect("watch");
    let expected = write_history(&s, 3).await;
    let mark = sentinel(&s).await;
    let got = read_through(&mut stream, expected.len(), &mark, "watch of the history").await;
    assert_eq!(got, expected);
    let again = sentinel(&s).await;
    assert_next_is_only(&mut stream, &again, "watch of the history").await;
}

async fn resumes_from_every_revision(s: Subject) {
    let start = s.store.current_revision().await.expect("rev");
    let expected = write_history(&s, 2).await;
    // `after` = 0 means "from now", so a fresh store's revision 0 is not a start point.
    let starts: Vec<Revision> = std::iter::once(start)
        .chain(expected.iter().map(|e| e.revision))
        .filter(|r| *r > 0)
        .collect();
    for after in starts {
        let suffix: Vec<Expected> = expected
            .iter()
            .filter(|e| e.revision > after)
            .cloned()
            .collect();
        let mut stream = s
            .store
            .watch(&s.prefix, after)
            .await
            .expect("watch from a past revision");
        let what = format!("watch after {after}");
        let got = flatten_checked(collect(&mut stream, suffix.len(), &what).await, &what);
        let got: Vec<Expected> = got.iter().map(Expected::of).collect();
        assert_eq!(got, suffix, "{what}");
    }
}

async fn from_now_and_prefix_only(s: Subject) {
    s.store
        .create(&s.key("before"), Bytes::from("1"))
        .await
        .expect("create");
    let mut stream = s
        .store
        .watch(&s.key("in/"), 0)
        .await
        .expect("watch from now");
    s.store
        .create(&s.key("out"), Bytes::from("1"))
        .await
        .expect("create");
    s.store
        .create(&s.key("in0"), Bytes::from("1"))
        .await
        .expect("create");
    let rev = s
        .store
        .create(&s.key("in/x"), Bytes::from("1"))
        .await
        .expect("create");
    let got = flatten_checked(
        collect(&mut stream, 1, "watch from now").await,
        "watch from now",
    );
    assert_eq!(
        (got[0].kv.key.clone(), got[0].revision()),
        (s.key("in/x"), rev)
    );
}

async fn concurrent_watchers_agree(s: Subject) {
    const WRITERS: usize = 4;
    const WRITES: usize = 40;
    const WATCHERS: usize = 3;
    let start = s.store.current_revision().await.expect("rev");
    let mut streams = Vec::new();
    for _ in 0..WATCHERS {
        streams.push(s.store.watch(&s.prefix, start).await.expect("watch"));
    }
    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let key = s.key(&format!("w{w}"));
            let mut rev = s
                .store
                .create(&key, Bytes::from("0"))
                .await
                .expect("create");
            acked.push(rev);
            for i in 1..WRITES {
                rev = s
                    .store
                    .update(&key, rev, Bytes::from(format!("{i}")))
                    .await
                    .expect("update own key");
                acked.push(rev);
            }
            acked
        }));
    }
    let mut acked = BTreeSet::new();
    for t in tasks {
        acked.extend(t.await.expect("writer task"));
    }
    assert_eq!(
        acked.len(),
        WRITERS * WRITES,
        "writers were acknowledged with duplicate revisions"
    );
    let mark = sentinel(&s).await;
    let mut sequences = Vec::new();
    for (i, stream) in streams.iter_mut().enumerate() {
        let what = format!("watcher {i}");
        let got = read_through(stream, WRITERS * WRITES, &mark, &what).await;
        let revs: BTreeSet<Revision> = got.iter().map(|e| e.revision).collect();
        assert_eq!(
            revs, acked,
            "{what} saw other revisions than were acknowledged"
        );
        sequences.push(
            got.into_iter()
                .map(|e| (e.revision, e.key, e.value))
                .collect::<Vec<_>>(),
        );
    }
    assert!(
        sequences.windows(2).all(|w| w[0] == w[1]),
        "watchers saw different sequences"
    );
    let again = sentinel(&s).await;
    for (i, stream) in streams.iter_mut().enumerate() {
        assert_next_is_only(stream, &again, &format!("watcher {i}")).await;
    }
}
