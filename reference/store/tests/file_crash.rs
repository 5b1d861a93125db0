//! The kill -9 test: a writer is killed mid-stream, several times, and every write it
//! reported as acknowledged must be in the reopened store, which must stay writable.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bytes::Bytes;
use refkube_store::{FileConfig, FileStore, Revision, Store};

/// One acknowledged write, parsed from the torture binary's output.
#[derive(Debug)]
struct Ack {
    revision: Revision,
    key: String,
    value: String,
}

fn parse(line: &str) -> Ack {
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts.len(), 4, "bad line {line:?}");
    assert_eq!(parts[0], "ack", "bad line {line:?}");
    Ack {
        revision: parts[1].parse().expect("revision"),
        key: parts[2].into(),
        value: parts[3].into(),
    }
}

/// Runs the writer until it acknowledged at least `min_acks` writes, then SIGKILLs it
/// and returns every acknowledgement it printed, including ones after the threshold.
fn run_and_kill(dir: &std::path::Path, round: usize, min_acks: usize) -> Vec<Ack> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_store-torture"))
        .arg(dir)
        .arg(round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn store-torture");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut acks = Vec::new();
    while acks.len() < min_acks {
        let line = lines
            .next()
            .expect("writer exited early")
            .expect("read line");
        acks.push(parse(&line));
    }
    // Child::kill sends SIGKILL on Unix: no destructors, no flushing, mid-write.
    child.kill().expect("kill -9 the writer");
    acks.extend(
        lines
            .map_while(Result::ok)
            .filter(|l| l.starts_with("ack "))
            .map(|l| parse(&l)),
    );
    child.wait().expect("reap the writer");
    acks
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_dash_9() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut all: Vec<Ack> = Vec::new();
    for round in 0..4 {
        let acks = run_and_kill(dir.path(), round, 200 + round * 50);
        assert!(
            acks.windows(2).all(|w| w[0].revision < w[1].revision),
            "acks out of order"
        );
        all.extend(acks);

        let store = FileStore::open(FileConfig::new(dir.path())).expect("reopen after kill -9");
        let current = store.current_revision().await.expect("rev");
        let last = all.last().expect("some acks").revision;
        assert!(
            current >= last,
            "round {round}: store at {current}, last acked write was {last}"
        );
        // The writer compacts every 64 writes: the rewritten log must have been kept.
        let compacted = store
            .compacted_revision()
            .await
            .expect("compacted revision");
        assert!(compacted > 0, "round {round}: no compaction survived");
        let mut counter_rev = 0;
        for ack in &all {
            if ack.key == "/torture/counter" {
                counter_rev = ack.revision;
                continue;
            }
            let kv = store
                .get(&ack.key)
                .await
                .expect("get")
                .unwrap_or_else(|| panic!("round {round}: lost {ack:?}"));
            assert_eq!(
                (kv.value.as_ref(), kv.mod_revision),
                (ack.value.as_bytes(), ack.revision),
                "round {round}"
            );
        }
        let counter = store
            .get("/torture/counter")
            .await
            .expect("get")
            .expect("counter present");
        assert!(
            counter.mod_revision >= counter_rev,
            "round {round}: counter went back"
        );
        let rev = store
            .create(&format!("/after/{round}"), Bytes::from("ok"))
            .await
            .expect("store writable");
        assert!(rev > current);
    }
}
