//! Conformance checks for writes: revisions, create, compare-and-swap.

use bytes::Bytes;

use super::{Check, Subject};
use crate::StoreError;

pub(super) fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "revisions are strictly increasing and unique",
            run: |s| Box::pin(revisions_increase(s)),
        },
        Check {
            name: "create fails on an existing key",
            run: |s| Box::pin(create_fails_on_existing(s)),
        },
        Check {
            name: "update and delete conflict on a stale revision",
            run: |s| Box::pin(stale_cas_conflicts(s)),
        },
        Check {
            name: "get reports create and mod revisions",
            run: |s| Box::pin(get_reports_revisions(s)),
        },
    ]
}

async fn revisions_increase(s: Subject) {
    let start = s.store.current_revision().await.expect("current revision");
    let mut seen = vec![start];
    for i in 0..20 {
        let key = s.key(&format!("k{}", i % 4));
        let rev = match s.store.get(&key).await.expect("get") {
            None => s
                .store
                .create(&key, Bytes::from("v"))
                .await
                .expect("create"),
            Some(_) if i % 3 == 0 => s.store.delete(&key, None).await.expect("delete").0,
            Some(kv) => s
                .store
                .update(&key, kv.mod_revision, Bytes::from(format!("v{i}")))
                .await
                .expect("update"),
        };
        assert!(
            rev > *seen.last().unwrap_or(&0),
            "revision {rev} after {seen:?}"
        );
        seen.push(rev);
        let current = s.store.current_revision().await.expect("current revision");
        assert!(
            current >= rev,
            "current revision {current} is below acknowledged write {rev}"
        );
    }
}

async fn create_fails_on_existing(s: Subject) {
    let key = s.key("dup");
    let rev = s
        .store
        .create(&key, Bytes::from("first"))
        .await
        .expect("create");
    let err = s
        .store
        .create(&key, Bytes::from("second"))
        .await
        .expect_err("second create must fail");
    assert_eq!(err, StoreError::AlreadyExists(key.clone()));
    let kv = s.store.get(&key).await.expect("get").expect("key present");
    assert_eq!(
        (kv.value, kv.mod_revision),
        (Bytes::from("first"), rev),
        "failed create changed the key"
    );
    assert_eq!(
        s.store.current_revision().await.expect("rev"),
        rev,
        "a failed create bumped the revision"
    );
}

async fn stale_cas_conflicts(s: Subject) {
    let key = s.key("cas");
    let r1 = s
        .store
        .create(&key, Bytes::from("1"))
        .await
        .expect("create");
    let r2 = s
        .store
        .update(&key, r1, Bytes::from("2"))
        .await
        .expect("update at the current revision");
    let err = s
        .store
        .update(&key, r1, Bytes::from("3"))
        .await
        .expect_err("stale update");
    assert_eq!(
        err,
        StoreError::Conflict {
            key: key.clone(),
            expected: r1,
            actual: r2
        }
    );
    let err = s
        .store
        .delete(&key, Some(r1))
        .await
        .expect_err("stale delete");
    assert_eq!(
        err,
        StoreError::Conflict {
            key: key.clone(),
            expected: r1,
            actual: r2
        }
    );
    assert_eq!(
        s.store.current_revision().await.expect("rev"),
        r2,
        "failed writes bumped the revision"
    );
    let (r3, gone) = s
        .store
        .delete(&key, Some(r2))
        .await
        .expect("delete at the current revision");
    assert!(r3 > r2);
    assert_eq!(
        (gone.value, gone.mod_revision),
        (Bytes::from("2"), r2),
        "delete returns the deleted value"
    );
    let missing = s.key("missing");
    let err = s
        .store
        .update(&missing, r1, Bytes::from("x"))
        .await
        .expect_err("update of a missing key");
    assert_eq!(err, StoreError::NotFound(missing.clone()));
    let err = s
        .store
        .delete(&missing, None)
        .await
        .expect_err("delete of a missing key");
    assert_eq!(err, StoreError::NotFound(missing));
    assert_eq!(s.store.get(&key).await.expect("get"), None);
}

async fn get_reports_revisions(s: Subject) {
    let key = s.key("g");
    let r1 = s
        .store
        .create(&key, Bytes::from("1"))
        .await
        .expect("create");
    let r2 = s
        .store
        .update(&key, r1, Bytes::from("2"))
        .await
        .expect("update");
    let kv = s.store.get(&key).await.expect("get").expect("present");
    assert_eq!(
        (kv.key.as_str(), kv.create_revision, kv.mod_revision),
        (key.as_str(), r1, r2)
    );
    let (r3, _) = s.store.delete(&key, None).await.expect("delete");
    let r4 = s
        .store
        .create(&key, Bytes::from("again"))
        .await
        .expect("re-create");
    assert!(r4 > r3);
    let kv = s.store.get(&key).await.expect("get").expect("present");
    assert_eq!(
        (kv.create_revision, kv.mod_revision),
        (r4, r4),
        "re-create resets create_revision"
    );
}
