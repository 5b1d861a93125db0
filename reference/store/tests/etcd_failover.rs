//! Fail-over of the etcd client across members: a request that meets a dead, silent or
//! lossy member moves on to the next one when that cannot apply it twice, and a store
//! without a majority says so promptly with etcd's own reason.
//!
//! Needs the `etcd` binary, like `etcd_conformance.rs` (skipped without it unless `CI`).

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use refkube_store::etcd::process::{EtcdCluster, find_binary};
use refkube_store::{EtcdConfig, EtcdStore, ListOptions, Store, StoreError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn etcd_available(test: &str) -> bool {
    if find_binary().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: etcd is not installed; CI must run the etcd backend tests"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED: etcd not installed ({test})");
    false
}

fn config(urls: Vec<String>) -> EtcdConfig {
    EtcdConfig::new(urls).with_dial_timeout(Duration::from_secs(2))
}

/// Runs `f`, failing if it takes longer than `bound`.
async fn within<T>(bound: Duration, what: &str, f: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = tokio::time::timeout(bound, f)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {bound:?}"));
    assert!(
        started.elapsed() <= bound,
        "{what} took {:?}",
        started.elapsed()
    );
    out
}

#[tokio::test]
async fn the_first_request_after_a_member_dies_moves_to_another_member() {
    if !etcd_available("etcd fail-over") {
        return;
    }
    let mut cluster = EtcdCluster::start(3).await.expect("start 3-member etcd");
    let store = EtcdStore::new(config(cluster.client_urls())).unwrap();
    let r1 = store
        .create("/registry/fo/a", Bytes::from("1"))
        .await
        .unwrap();
    // The client prefers etcd-0, which answered last, and holds a pooled connection to
    // it. Kill it and ask at once, before anything noticed.
    cluster.kill(0);
    let bound = Duration::from_secs(10);
    let got = within(bound, "get", store.get("/registry/fo/a")).await;
    assert_eq!(got.expect("get after the kill").unwrap().mod_revision, r1);
    let r2 = within(
        bound,
        "update",
        store.update("/registry/fo/a", r1, Bytes::from("2")),
    )
    .await
    .expect("update after the kill");
    within(
        bound,
        "create",
        store.create("/registry/fo/b", Bytes::from("1")),
    )
    .await
    .expect("create after the kill");
    let listed = within(
        bound,
        "list",
        store.list("/registry/fo/", ListOptions::default()),
    )
    .await
    .expect("list after the kill");
    assert_eq!(listed.items.len(), 2);
    assert_eq!(listed.items[0].mod_revision, r2);
}

/// Reads one HTTP/1.1 request (head and Content-Length body): (path, body).
async fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let path = head.split_whitespace().nth(1)?.to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((path, body))
}

/// A member whose answers are lost: it passes each request to `upstream` (a real
/// member, so writes are applied) and closes the connection instead of answering.
async fn lossy_member(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        while let Ok((mut conn, _)) = listener.accept().await {
            let http = http.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Some((path, body)) = read_request(&mut conn).await {
                    let sent = http
                        .post(format!("{upstream}{path}"))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    if let Ok(resp) = sent {
                        let _ = resp.bytes().await;
                    }
                }
                let _ = conn.shutdown().await;
            });
        }
    });
    url
}

/// A member that accepts connections and never answers (a paused process).
async fn silent_member() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    url
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_retried_and_not_reported_as_a_clash() {
    if !etcd_available("etcd lost answers") {
        return;
    }
    let cluster = EtcdCluster::start(3).await.expect("start 3-member etcd");
    let mut urls = cluster.client_urls();
    urls[0] = lossy_member(urls[0].clone()).await;
    let store = EtcdStore::new(config(urls.clone())).unwrap();
    // Each write reaches etcd through the lossy member and is applied; its answer is
    // lost, so the client retries on etcd-1, whose compare then fails. The value there
    // is the one just written: the write is reported done, not AlreadyExists/Conflict.
    let created = store
        .create("/registry/lost/a", Bytes::from("mine"))
        .await
        .expect("create whose first answer was lost");
    let kv = store.get("/registry/lost/a").await.unwrap().unwrap();
    assert_eq!((kv.mod_revision, kv.value), (created, Bytes::from("mine")));
    let updated = store
        .update("/registry/lost/a", created, Bytes::from("mine, again"))
        .await
        .expect("update whose first answer was lost");
    let kv = store.get("/registry/lost/a").await.unwrap().unwrap();
    assert_eq!(kv.mod_revision, updated);
    // The client now starts at etcd-1, so a clash is seen directly and is one.
    let err = store
        .create("/registry/lost/a", Bytes::from("another"))
        .await
        .expect_err("exists");
    assert!(matches!(err, StoreError::AlreadyExists(_)), "{err}");
    // Through the lossy member first, a failed compare on the retry cannot tell a
    // clash from this request's own write changed since: the outcome is unknown.
    let fresh = EtcdStore::new(config(urls)).unwrap();
    let err = fresh
        .create("/registry/lost/a", Bytes::from("someone else's"))
        .await
        .expect_err("the key exists with another value");
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("unknown")),
        "an unknown outcome must not be reported as a clash: {err}"
    );
}

#[tokio::test]
async fn a_member_that_never_answers_does_not_hold_up_reads() {
    if !etcd_available("etcd silent member") {
        return;
    }
    let cluster = EtcdCluster::start(3).await.expect("start 3-member etcd");
    let mut urls = cluster.client_urls();
    urls[0] = silent_member().await;
    let store = EtcdStore::new(
        config(urls)
            .with_attempt_timeout(Duration::from_secs(1))
            .with_request_timeout(Duration::from_secs(20)),
    )
    .unwrap();
    let got = within(Duration::from_secs(5), "get", store.get("/registry/x")).await;
    assert_eq!(got.expect("read from the next member"), None);
}

#[tokio::test]
async fn without_a_majority_requests_fail_promptly_with_etcds_reason() {
    if !etcd_available("etcd quorum loss") {
        return;
    }
    let mut cluster = EtcdCluster::start(3).await.expect("start 3-member etcd");
    let store = EtcdStore::new(config(cluster.client_urls())).unwrap();
    store
        .create("/registry/q/a", Bytes::from("1"))
        .await
        .unwrap();
    cluster.kill(1);
    cluster.kill(2);
    // etcd-0 stops believing in a leader within an election timeout (1 s); from then
    // on it refuses at once, and the client gives up after its leader wait (7 s).
    let bound = Duration::from_secs(12);
    for (what, result) in [
        (
            "create",
            within(
                bound,
                "create",
                store.create("/registry/q/b", Bytes::from("1")),
            )
            .await
            .map(|_| ()),
        ),
        (
            "get",
            within(bound, "get", store.get("/registry/q/a"))
                .await
                .map(|_| ()),
        ),
    ] {
        let err = result.expect_err(what);
        assert!(
            matches!(&err, StoreError::Timeout(m) if m.contains("etcdserver: ")),
            "{what}: {err}"
        );
    }
    let health = within(Duration::from_secs(3), "health", store.health()).await;
    assert!(health.iter().all(|m| !m.healthy), "{health:?}");
}
