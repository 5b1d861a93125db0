//! Unit tests for the on-disk log (kept beside `walfile.rs`, split out for length).

use std::io::Write;

use bytes::Bytes;

use super::*;

fn put(rev: Revision, key: &str, value: &str) -> Op {
    Op::Put {
        rev,
        key: key.into(),
        value: Bytes::from(value.to_string()),
    }
}

use crate::Revision;

#[test]
fn appended_writes_are_replayed_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut wal, _) = WalFile::open(dir.path(), true).unwrap();
        wal.append(&put(1, "/a", "1")).unwrap();
        wal.append(&put(2, "/a", "2")).unwrap();
        wal.append(&Op::Delete {
            rev: 3,
            key: "/a".into(),
        })
        .unwrap();
        wal.append(&put(4, "/b", "1")).unwrap();
    }
    let (_, engine) = WalFile::open(dir.path(), true).unwrap();
    assert_eq!(engine.revision(), 4);
    assert_eq!(engine.get("/a"), None);
    assert_eq!(engine.get("/b").unwrap().value, Bytes::from("1"));
}

#[test]
fn a_second_open_of_a_locked_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let _first = WalFile::open(dir.path(), true).unwrap();
    let err = WalFile::open(dir.path(), true).unwrap_err();
    assert!(matches!(err, WalFileError::Locked(_)), "{err}");
}

#[test]
fn a_torn_tail_is_cut_and_the_log_stays_writable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut wal, _) = WalFile::open(dir.path(), true).unwrap();
        wal.append(&put(1, "/a", "1")).unwrap();
    }
    let path = dir.path().join(WAL_FILE);
    let good_len = fs::metadata(&path).unwrap().len();
    let half = crate::wal::encode(&Record::Op(put(2, "/a", "2")));
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&half[..half.len() / 2])
        .unwrap();
    {
        let (mut wal, engine) = WalFile::open(dir.path(), true).unwrap();
        assert_eq!(engine.revision(), 1);
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            good_len,
            "torn tail was not cut"
        );
        wal.append(&put(2, "/a", "3")).unwrap();
    }
    let (_, engine) = WalFile::open(dir.path(), true).unwrap();
    assert_eq!(engine.get("/a").unwrap().value, Bytes::from("3"));
}

#[test]
fn a_corrupt_middle_record_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut wal, _) = WalFile::open(dir.path(), true).unwrap();
        wal.append(&put(1, "/a", "1")).unwrap();
        wal.append(&put(2, "/a", "2")).unwrap();
    }
    let path = dir.path().join(WAL_FILE);
    let mut data = fs::read(&path).unwrap();
    data[10] ^= 0xff;
    fs::write(&path, data).unwrap();
    let err = WalFile::open(dir.path(), true).unwrap_err();
    assert!(matches!(err, WalFileError::Corrupt { .. }), "{err}");
    assert!(matches!(StoreError::from(err), StoreError::Corrupt(_)));
}

#[test]
fn a_rewrite_replaces_the_log_with_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let snap = {
        let (mut wal, mut engine) = WalFile::open(dir.path(), true).unwrap();
        for (rev, v) in [(1, "1"), (2, "2"), (3, "3")] {
            let op = put(rev, "/a", v);
            wal.append(&op).unwrap();
            engine.apply(op).unwrap();
        }
        engine.compact(2).unwrap();
        wal.rewrite(&engine.snapshot()).unwrap();
        let op = put(4, "/b", "1");
        wal.append(&op).unwrap();
        engine.apply(op).unwrap();
        engine.snapshot()
    };
    assert!(!dir.path().join(WAL_TEMP).exists());
    let (_, engine) = WalFile::open(dir.path(), true).unwrap();
    assert_eq!(engine.snapshot(), snap);
    assert_eq!(engine.compacted(), 2);
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_new_store_directory_and_its_files_are_private_to_the_owner() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("state").join("store");
    {
        let (mut wal, _) = WalFile::open(&dir, true).unwrap();
        wal.append(&put(1, "/registry/secrets/a/b", "secret"))
            .unwrap();
        // A compaction's rewrite goes through the temp file: it stays private too.
        wal.rewrite(&crate::engine::Snapshot {
            revision: 1,
            compacted: 0,
            versions: Vec::new(),
        })
        .unwrap();
    }
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(WAL_FILE)), 0o600);
    assert_eq!(mode(&dir.join(LOCK_FILE)), 0o600);
}

#[test]
fn an_existing_open_store_is_made_private_on_open() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("store");
    drop(WalFile::open(&dir, true).unwrap());
    // As an older version left it: world-readable.
    set_mode(&dir, 0o755);
    set_mode(&dir.join(WAL_FILE), 0o644);
    set_mode(&dir.join(LOCK_FILE), 0o644);
    drop(WalFile::open(&dir, true).unwrap());
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(WAL_FILE)), 0o600);
    assert_eq!(mode(&dir.join(LOCK_FILE)), 0o600);
}

#[test]
fn a_shared_directory_is_left_alone_but_the_store_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    fs::write(dir.path().join("notes.txt"), "not the store's").unwrap();
    drop(WalFile::open(dir.path(), true).unwrap());
    assert_eq!(
        mode(dir.path()),
        0o755,
        "someone else's files live here too"
    );
    assert_eq!(mode(&dir.path().join(WAL_FILE)), 0o600);
}
