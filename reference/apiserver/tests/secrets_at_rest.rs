//! Secrets as upstream keeps them: `stringData` merged into `data` on every kind of
//! write, and encryption at rest with an `EncryptionConfiguration` (ciphertext in the
//! store, plain through the API, keys rotated without losing old values).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use refkube_store::Store;
use serde_json::{Value, json};

const SECRETS: &str = "/api/v1/namespaces/default/secrets";
/// base64 of 16 and 32 bytes.
const KEY1: &str = "MDEyMzQ1Njc4OWFiY2RlZg==";
const KEY2: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn string_data_is_merged_into_data_on_create_update_patch_and_apply() {
    let s = common::start().await;
    let (code, created) = s
        .post_json(
            SECRETS,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "data": {"keep": b64("kept"), "both": b64("old")},
                   "stringData": {"both": "new", "password": "hunter2"}}),
        )
        .await;
    assert_eq!(code, 201, "{created}");
    let want = json!({"keep": b64("kept"), "both": b64("new"), "password": b64("hunter2")});
    assert_eq!(created["data"], want);
    assert!(created.get("stringData").is_none(), "{created}");
    let (_, got) = s.get(&format!("{SECRETS}/s")).await;
    assert_eq!(got["data"], want);
    assert!(got.get("stringData").is_none());

    // PUT with stringData.
    let mut put = got.clone();
    put["stringData"] = json!({"token": "abc"});
    let (code, updated) = s
        .send(s.http.put(s.at(&format!("{SECRETS}/s"))).json(&put))
        .await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(updated["data"]["token"], b64("abc"));
    assert!(updated.get("stringData").is_none());

    // A merge patch that adds stringData (what `kubectl apply` sends for a change).
    let (code, patched) = s
        .send(
            s.http
                .patch(s.at(&format!("{SECRETS}/s")))
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"stringData":{"token":"xyz"}}"#),
        )
        .await;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["data"]["token"], b64("xyz"));
    assert_eq!(patched["data"]["keep"], b64("kept"));
    assert!(patched.get("stringData").is_none());

    // Server-side apply, creating and then changing.
    let apply = |name: &str, value: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  k: {value}\n"
        )
    };
    for (value, code_wanted) in [("one", 201), ("two", 200)] {
        let (code, applied) = s
            .send(
                s.http
                    .patch(s.at(&format!("{SECRETS}/applied?fieldManager=test")))
                    .header("content-type", "application/apply-patch+yaml")
                    .body(apply("applied", value)),
            )
            .await;
        assert_eq!(code, code_wanted, "{applied}");
        assert_eq!(applied["data"]["k"], b64(value));
        assert!(applied.get("stringData").is_none());
    }

    // Nothing of stringData is stored either.
    let raw = s
        .store
        .get("/registry/secrets/default/s")
        .await
        .unwrap()
        .unwrap();
    let stored: Value = serde_json::from_slice(&raw.value).unwrap();
    assert!(stored.get("stringData").is_none(), "{stored}");
    assert_eq!(stored["data"]["token"], b64("xyz"));
}

#[tokio::test]
async fn a_bad_string_data_key_is_reported_under_data() {
    let s = common::start().await;
    let (code, body) = s
        .post_json(
            SECRETS,
            json!({"metadata": {"name": "bad"}, "stringData": {"no/slash": "x"}}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["causes"][0]["field"], "data[no/slash]");
}

fn encryption_config(dir: &Path, name: &str, providers: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n\
             resources:\n- resources: [secrets]\n  providers:\n{providers}"
        ),
    )
    .unwrap();
    path
}

fn aescbc(keys: &[(&str, &str)]) -> String {
    let mut s = "  - aescbc:\n      keys:\n".to_string();
    for (name, secret) in keys {
        s.push_str(&format!("      - name: {name}\n        secret: {secret}\n"));
    }
    s
}

/// Every byte the file store has written (its log).
fn file_store_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("wal")).unwrap()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn an_aescbc_secret_is_ciphertext_in_the_file_store_and_plain_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let config = encryption_config(dir.path(), "enc.yaml", &aescbc(&[("key1", KEY1)]));
    let store: Arc<dyn Store> =
        Arc::new(refkube_store::FileStore::open(refkube_store::FileConfig::new(&data)).unwrap());
    let cfg = common::config().encryption_provider_config(config);
    let s = common::start_with(cfg, store).await;
    let (code, body) = s
        .post_json(
            SECRETS,
            json!({"metadata": {"name": "db"}, "stringData": {"password": "correct-horse-battery"}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": "cm"}, "data": {"visible": "plain-config-value"}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");

    let on_disk = file_store_bytes(&data);
    assert!(contains(&on_disk, "k8s:enc:aescbc:v1:key1:"));
    assert!(!contains(&on_disk, "correct-horse-battery"));
    assert!(!contains(&on_disk, &b64("correct-horse-battery")));
    assert!(
        contains(&on_disk, "plain-config-value"),
        "resources the configuration does not name are stored as they are"
    );
    let raw = s
        .store
        .get("/registry/secrets/default/db")
        .await
        .unwrap()
        .unwrap();
    assert!(raw.value.starts_with(b"k8s:enc:aescbc:v1:key1:"));

    // Through the API (a get, a list, a watch's initial state) it is plain again.
    let (_, got) = s.get(&format!("{SECRETS}/db")).await;
    assert_eq!(got["data"]["password"], b64("correct-horse-battery"));
    let (_, list) = s.get(SECRETS).await;
    assert_eq!(
        list["items"][0]["data"]["password"],
        b64("correct-horse-battery")
    );
    let resp = s
        .http
        .get(s.at(&format!("{SECRETS}?watch=true&resourceVersion=0")))
        .send()
        .await
        .unwrap();
    let events = common::read_events(resp, 1, std::time::Duration::from_secs(5)).await;
    assert_eq!(
        events[0]["object"]["data"]["password"],
        b64("correct-horse-battery")
    );
}

#[tokio::test]
async fn rotating_keys_keeps_old_values_readable_and_a_rewrite_uses_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(refkube_store::MemoryStore::new());
    let old = encryption_config(dir.path(), "old.yaml", &aescbc(&[("key1", KEY1)]));
    let s = common::start_with(
        common::config().encryption_provider_config(old),
        store.clone(),
    )
    .await;
    for name in ["a", "b"] {
        let (code, body) = s
            .post_json(
                SECRETS,
                json!({"metadata": {"name": name}, "stringData": {"v": name}}),
            )
            .await;
        assert_eq!(code, 201, "{body}");
    }
    s.server.shutdown().await;

    // The new key first (it writes), the old one second (it still reads).
    let rotated = encryption_config(
        dir.path(),
        "rotated.yaml",
        &aescbc(&[("key2", KEY2), ("key1", KEY1)]),
    );
    let s = common::start_with(
        common::config().encryption_provider_config(rotated),
        store.clone(),
    )
    .await;
    let raw = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .get(&format!("/registry/secrets/default/{name}"))
                .await
                .unwrap()
                .unwrap()
                .value
        }
    };
    let under_key1 = raw("a").await;
    assert!(under_key1.starts_with(b"k8s:enc:aescbc:v1:key1:"));
    let (code, a) = s.get(&format!("{SECRETS}/a")).await;
    assert_eq!(code, 200, "{a}");
    assert_eq!(a["data"]["v"], b64("a"));

    // Rewriting an object unchanged (`kubectl replace`, upstream's way to re-encrypt
    // everything) stores it again under the new key.
    let (code, replaced) = s
        .send(s.http.put(s.at(&format!("{SECRETS}/a"))).json(&a))
        .await;
    assert_eq!(code, 200, "{replaced}");
    assert_ne!(
        replaced["metadata"]["resourceVersion"], a["metadata"]["resourceVersion"],
        "the rewrite was stored"
    );
    assert!(raw("a").await.starts_with(b"k8s:enc:aescbc:v1:key2:"));
    // Once on the new key, an unchanged replace is a no-op again.
    let (_, again) = s
        .send(s.http.put(s.at(&format!("{SECRETS}/a"))).json(&replaced))
        .await;
    assert_eq!(
        again["metadata"]["resourceVersion"],
        replaced["metadata"]["resourceVersion"]
    );
    // A changed write uses the new key too; an untouched one stays on the old.
    let (code, _) = s
        .send(
            s.http
                .patch(s.at(&format!("{SECRETS}/b")))
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"stringData":{"v":"changed"}}"#),
        )
        .await;
    assert_eq!(code, 200);
    assert!(raw("b").await.starts_with(b"k8s:enc:aescbc:v1:key2:"));
    s.server.shutdown().await;

    // Without the old key, its values cannot be read: the API says so, it does not
    // serve ciphertext, and it still serves everything else.
    let only_new = encryption_config(dir.path(), "new.yaml", &aescbc(&[("key2", KEY2)]));
    store
        .create("/registry/secrets/default/c", under_key1)
        .await
        .unwrap();
    let s = common::start_with(
        common::config().encryption_provider_config(only_new),
        store.clone(),
    )
    .await;
    let (code, _) = s.get(&format!("{SECRETS}/a")).await;
    assert_eq!(code, 200, "a is on key2 now");
    let (code, body) = s.get(&format!("{SECRETS}/c")).await;
    assert_eq!(code, 500, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("unable to transform key"),
        "{body}"
    );
    let (code, body) = s.get("/api/v1/namespaces/default/configmaps").await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test]
async fn a_bad_encryption_configuration_stops_the_server_with_upstreams_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = encryption_config(dir.path(), "bad.yaml", &aescbc(&[("k", "c2hvcnQ=")]));
    let err = refkube_apiserver::ApiServer::bind(
        common::config().encryption_provider_config(bad),
        Arc::new(refkube_store::MemoryStore::new()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error while parsing file: resources[0].providers[0].aescbc.keys[0].secret: Invalid value: \"REDACTED\": secret is not of the expected length, got 5, expected one of [16 24 32]"
    );
}
