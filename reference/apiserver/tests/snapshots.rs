//! Golden files of the discovery documents and representative Status errors, under
//! `snapshots/refkube-apiserver/`.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use serde_json::{Value, json};

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots/refkube-apiserver"), prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!($name, $value, {
                ".serverAddressByClientCIDRs[].serverAddress" => "[addr]",
                ".details.uid" => "[uid]",
                // Revision numbers depend on how many start-up objects exist.
                ".object.message" => insta::dynamic_redaction(|v, _| v.as_str().map(numbers_as_n).unwrap_or_default()),
            });
        });
    };
}

/// Replaces each run of digits with `N`.
fn numbers_as_n(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('N') {
            out.push('N');
        }
    }
    out
}

#[tokio::test]
async fn discovery_documents() {
    let s = common::start().await;
    for (name, path) in [
        ("discovery_api", "/api"),
        ("discovery_apis", "/apis"),
        ("discovery_api_v1", "/api/v1"),
        ("discovery_apis_apps_v1", "/apis/apps/v1"),
    ] {
        let (code, body) = s.get(path).await;
        assert_eq!(code, 200, "{path}");
        snap!(name, body);
    }
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
}

#[tokio::test]
async fn status_errors() {
    let s = common::start_with(
        common::config().watch_cache_size(2),
        Arc::new(refkube_store::MemoryStore::new()),
    )
    .await;
    let coll = "/api/v1/namespaces/default/configmaps";

    let (code, body) = s.get(&format!("{coll}/missing")).await;
    assert_eq!(code, 404);
    snap!("status_404_not_found", body);

    let (_, created) = s.post_json(coll, cm("c")).await;
    let stale = created.clone();
    let mut changed = created.clone();
    changed["data"] = json!({"a": "b"});
    s.send(s.http.put(s.at(&format!("{coll}/c"))).json(&changed))
        .await;
    let (code, body) = s
        .send(s.http.put(s.at(&format!("{coll}/c"))).json(&stale))
        .await;
    assert_eq!(code, 409);
    snap!("status_409_conflict", body);

    let (code, body) = s.post_json(coll, cm("c")).await;
    assert_eq!(code, 409);
    snap!("status_409_already_exists", body);

    let (code, body) = s.post_json(coll, cm("Not_A_Valid_Name")).await;
    assert_eq!(code, 422);
    snap!("status_422_invalid", body);

    let rv: i64 = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for i in 0..4 {
        s.post_json(coll, cm(&format!("later-{i}"))).await;
    }
    let resp = s
        .http
        .get(s.at(&format!("{coll}?watch=1&resourceVersion={rv}")))
        .send()
        .await
        .unwrap();
    let events = common::read_events(resp, 1, std::time::Duration::from_secs(10)).await;
    snap!("status_410_expired_watch_event", &events[0]);

    let big = "x".repeat(3 * 1024 * 1024 + 1);
    let (code, body) = s
        .send(
            s.http
                .post(s.at(coll))
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    assert_eq!(code, 413);
    snap!("status_413_too_large", body);

    let (code, body) = s
        .send(
            s.http
                .post(s.at(coll))
                .header("content-type", "text/plain")
                .body("hello"),
        )
        .await;
    assert_eq!(code, 415);
    snap!("status_415_unsupported_media_type", body);
}
