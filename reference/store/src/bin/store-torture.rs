//! `store-torture DIR ROUND`: writes to a file store in DIR as fast as it can, printing
//! one line per acknowledged write, until it is killed. The kill -9 test in
//! `tests/file_crash.rs` kills it mid-stream and checks every printed write survived.
//!
//! It compacts every 64 writes, so kills also hit the atomic log rewrite.
//! Output lines: `ack <revision> <key> <value>`. A line is printed only after the
//! store acknowledged the write, so every line names a write that must be durable.

use std::io::Write;

use bytes::Bytes;
use refkube_store::{FileConfig, FileStore, Store, StoreError};

/// The key every round updates by compare-and-swap, to exercise updates as well.
const COUNTER: &str = "/torture/counter";

/// Writes between compactions.
const COMPACT_EVERY: u64 = 64;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(round)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: store-torture DIR ROUND");
        std::process::exit(2);
    };
    if let Err(e) = run(dir, round).await {
        eprintln!("store-torture: {e}");
        std::process::exit(1);
    }
}

async fn run(dir: &str, round: &str) -> Result<(), StoreError> {
    let store = FileStore::open(FileConfig::new(dir))?;
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let (key, value) = if i % 2 == 0 {
            let key = format!("/torture/r{round}/{i}");
            let value = format!("v{round}-{i}");
            (
                key.clone(),
                store
                    .create(&key, Bytes::from(value.clone()))
                    .await
                    .map(|r| (r, value))?,
            )
        } else {
            let value = format!("c{round}-{i}");
            let rev = match store.get(COUNTER).await? {
                Some(kv) => {
                    store
                        .update(COUNTER, kv.mod_revision, Bytes::from(value.clone()))
                        .await?
                }
                None => store.create(COUNTER, Bytes::from(value.clone())).await?,
            };
            (COUNTER.to_string(), (rev, value))
        };
        let (rev, value) = value;
        // Compact now and then, so kills also land during the log rewrite.
        if i % COMPACT_EVERY == COMPACT_EVERY - 1 {
            store.compact(rev - COMPACT_EVERY as i64 / 2).await?;
        }
        // A closed stdout means the test stopped listening: stop writing.
        if writeln!(out, "ack {rev} {key} {value}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    Ok(())
}
