//! Unit tests for the MVCC engine (kept beside `engine.rs`, split out for length).

use super::*;

fn put(e: &mut Engine, key: &str, value: &str) -> Revision {
    let op = match e.get(key) {
        Some(kv) => e.plan_update(key, kv.mod_revision, Bytes::from(value.to_string())),
        None => e.plan_create(key, Bytes::from(value.to_string())),
    }
    .unwrap();
    let rev = op.revision();
    e.apply(op).unwrap();
    rev
}

fn del(e: &mut Engine, key: &str) -> Revision {
    let (op, _) = e.plan_delete(key, None).unwrap();
    let rev = op.revision();
    e.apply(op).unwrap();
    rev
}

fn keys(r: &ListResult) -> Vec<(&str, &[u8])> {
    r.items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_ref()))
        .collect()
}

#[test]
fn every_write_bumps_the_revision_by_one() {
    let mut e = Engine::default();
    assert_eq!(put(&mut e, "/a", "1"), 1);
    assert_eq!(put(&mut e, "/a", "2"), 2);
    assert_eq!(del(&mut e, "/a"), 3);
    assert_eq!(e.revision(), 3);
}

#[test]
fn create_after_delete_resets_the_create_revision() {
    let mut e = Engine::default();
    put(&mut e, "/a", "1");
    put(&mut e, "/a", "2");
    assert_eq!(e.get("/a").unwrap().create_revision, 1);
    del(&mut e, "/a");
    put(&mut e, "/a", "3");
    assert_eq!(e.get("/a").unwrap().create_revision, 4);
}

#[test]
fn stale_expected_revisions_conflict() {
    let mut e = Engine::default();
    put(&mut e, "/a", "1");
    put(&mut e, "/a", "2");
    let err = e.plan_update("/a", 1, Bytes::new()).unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict {
            key: "/a".into(),
            expected: 1,
            actual: 2
        }
    );
    assert!(matches!(
        e.plan_delete("/a", Some(1)),
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        e.plan_delete("/b", None),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn list_reads_past_revisions_and_pages_with_start_after() {
    let mut e = Engine::default();
    put(&mut e, "/p/a", "1");
    put(&mut e, "/p/b", "1");
    put(&mut e, "/q/c", "1");
    del(&mut e, "/p/a");
    let now = e.list("/p/", &ListOptions::default()).unwrap();
    assert_eq!(keys(&now), vec![("/p/b", b"1".as_slice())]);
    let past = e
        .list(
            "/p/",
            &ListOptions {
                at: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        keys(&past),
        vec![("/p/a", b"1".as_slice()), ("/p/b", b"1".as_slice())]
    );
    let page = e
        .list(
            "/p/",
            &ListOptions {
                at: Some(2),
                limit: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(page.more);
    let rest = ListOptions {
        at: Some(2),
        start_after: Some("/p/a".into()),
        limit: 1,
    };
    let page2 = e.list("/p/", &rest).unwrap();
    assert_eq!(keys(&page2), vec![("/p/b", b"1".as_slice())]);
    assert!(!page2.more);
}

#[test]
fn compaction_keeps_the_state_at_the_compaction_point() {
    let mut e = Engine::default();
    put(&mut e, "/a", "1"); // 1
    put(&mut e, "/a", "2"); // 2
    put(&mut e, "/b", "1"); // 3
    del(&mut e, "/b"); // 4
    put(&mut e, "/a", "3"); // 5
    e.compact(4).unwrap();
    let at4 = e
        .list(
            "/",
            &ListOptions {
                at: Some(4),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(keys(&at4), vec![("/a", b"2".as_slice())]);
    let at3 = e.list(
        "/",
        &ListOptions {
            at: Some(3),
            ..Default::default()
        },
    );
    assert_eq!(
        at3.unwrap_err(),
        StoreError::Compacted {
            requested: 3,
            compacted: 4
        }
    );
    assert!(e.check_watchable(3).is_ok());
    assert!(matches!(
        e.check_watchable(2),
        Err(StoreError::Compacted { .. })
    ));
    assert!(matches!(e.compact(4), Err(StoreError::Compacted { .. })));
    assert!(matches!(
        e.compact(9),
        Err(StoreError::FutureRevision { .. })
    ));
}

#[test]
fn events_carry_kinds_and_previous_values() {
    let mut e = Engine::default();
    put(&mut e, "/a", "1");
    put(&mut e, "/a", "2");
    put(&mut e, "/x", "1");
    del(&mut e, "/a");
    let (batches, cursor) = e.events_after("/a", 0, 100).unwrap();
    assert_eq!(cursor, 4);
    let kinds: Vec<_> = batches
        .iter()
        .map(|b| (b[0].revision(), b[0].kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (1, EventKind::Put),
            (2, EventKind::Modify),
            (4, EventKind::Delete)
        ]
    );
    let delete = &batches[2][0];
    assert_eq!(delete.kv.value, Bytes::from("2"));
    assert_eq!(delete.prev.as_ref().unwrap().mod_revision, 2);
}

#[test]
fn events_after_stops_at_the_scan_limit_and_resumes_there() {
    let mut e = Engine::default();
    for i in 0..5 {
        put(&mut e, &format!("/k{i}"), "v");
    }
    let (first, cursor) = e.events_after("/", 0, 2).unwrap();
    assert_eq!((first.len(), cursor), (2, 2));
    let (rest, cursor) = e.events_after("/", cursor, 100).unwrap();
    assert_eq!((rest.len(), cursor), (3, 5));
}

#[test]
fn a_snapshot_restores_the_same_reads_and_events() {
    let mut e = Engine::default();
    put(&mut e, "/a", "1");
    put(&mut e, "/a", "2");
    put(&mut e, "/b", "1");
    del(&mut e, "/a");
    e.compact(3).unwrap();
    let r = Engine::restore(e.snapshot()).unwrap();
    assert_eq!(r.revision(), 4);
    assert_eq!(r.compacted(), 3);
    assert_eq!(
        r.events_after("/", 2, 100).unwrap(),
        e.events_after("/", 2, 100).unwrap()
    );
    let at3 = ListOptions {
        at: Some(3),
        ..Default::default()
    };
    assert_eq!(r.list("/", &at3).unwrap(), e.list("/", &at3).unwrap());
}
