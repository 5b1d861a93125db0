//! Requests upstream refuses or reads differently from what a careless client sends:
//! option values it does not know, an apply without a field manager, resourceVersions
//! that are not unsigned integers or not reached yet, the bearer scheme in any case,
//! ConfigMaps and Secrets over 1 MiB, and an object over etcd's request limit.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

fn configmap(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}})
}

#[tokio::test]
async fn unknown_field_validation_and_dry_run_values_are_refused_and_nothing_is_written() {
    let s = common::start().await;
    let (code, body) = s
        .post_json(
            &format!("{CONFIGMAPS}?fieldValidation=Bogus"),
            configmap("a"),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["message"],
        "CreateOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"Bogus\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
    );
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(body["details"]["kind"], "CreateOptions");
    assert_eq!(body["details"]["group"], "meta.k8s.io");
    // A dryRun value that is not "All" used to write for real.
    let (code, body) = s
        .post_json(&format!("{CONFIGMAPS}?dryRun=all"), configmap("b"))
        .await;
    assert_eq!(code, 422, "{body}");
    let (code, _) = s.get(&format!("{CONFIGMAPS}/b")).await;
    assert_eq!(code, 404, "the refused create wrote nothing");

    let (code, cm) = s.post_json(CONFIGMAPS, configmap("c")).await;
    assert_eq!(code, 201);
    let (code, body) = s
        .send(
            s.http
                .put(s.at(&format!("{CONFIGMAPS}/c?fieldValidation=strict")))
                .json(&cm),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["kind"], "UpdateOptions");
    let (code, body) = s
        .send(
            s.http
                .patch(s.at(&format!("{CONFIGMAPS}/c?fieldValidation=Bogus")))
                .header("content-type", "application/merge-patch+json")
                .body("{}"),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["details"]["kind"], "PatchOptions");
}

#[tokio::test]
async fn an_apply_without_a_field_manager_is_invalid() {
    let s = common::start().await;
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: b\n";
    let apply = |query: &str| {
        s.http
            .patch(s.at(&format!("{CONFIGMAPS}/applied{query}")))
            .header("content-type", "application/apply-patch+yaml")
            .body(yaml)
    };
    let (code, body) = s.send(apply("")).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    assert_eq!(body["details"]["causes"][0]["field"], "fieldManager");
    let (code, _) = s.get(&format!("{CONFIGMAPS}/applied")).await;
    assert_eq!(code, 404);
    let (code, body) = s.send(apply("?fieldManager=kubectl")).await;
    assert_eq!(code, 201, "{body}");
}

#[tokio::test]
async fn a_resource_version_that_is_not_an_unsigned_integer_is_a_bad_request() {
    let s = common::start().await;
    s.post_json(CONFIGMAPS, configmap("x")).await;
    for path in [
        format!("{CONFIGMAPS}?watch=true&resourceVersion=-1"),
        format!("{CONFIGMAPS}?resourceVersion=-1"),
        format!("{CONFIGMAPS}/x?resourceVersion=-1"),
    ] {
        let (code, body) = s.get(&path).await;
        assert_eq!(code, 400, "{path}: {body}");
        assert_eq!(
            body["message"],
            "resourceVersion: Invalid value: \"-1\": strconv.ParseUint: parsing \"-1\": invalid syntax",
            "{path}"
        );
    }
    let (code, body) = s
        .get(&format!("{CONFIGMAPS}?watch=1&resourceVersion=abc"))
        .await;
    assert_eq!(code, 400, "{body}");
}

#[tokio::test]
async fn initial_events_from_a_future_resource_version_end_in_a_504_error_event() {
    let cfg = common::config().watch_fresh_timeout(Duration::from_millis(300));
    let s = common::start_with(cfg, Arc::new(refkube_store::MemoryStore::new())).await;
    let (_, list) = s.get(CONFIGMAPS).await;
    let now: i64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let future = now + 1000;
    let resp = s
        .http
        .get(s.at(&format!(
            "{CONFIGMAPS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion={future}&allowWatchBookmarks=true"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let events = common::read_events(resp, 2, Duration::from_secs(10)).await;
    assert_eq!(events.len(), 1, "one ERROR event, then the end: {events:?}");
    assert_eq!(events[0]["type"], "ERROR");
    let status = &events[0]["object"];
    assert_eq!(status["code"], 504);
    assert_eq!(status["reason"], "Timeout");
    assert_eq!(
        status["message"],
        format!("Too large resource version: {future}, current: {now}")
    );
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_accepted_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "t0k3n,alice,1\n").unwrap();
    // Authentication alone is under test: every authenticated user may read.
    let cfg = common::config()
        .token_auth_file(tokens)
        .authorization_modes(vec![refkube_apiserver::authz::Mode::AlwaysAllow]);
    let s = common::start_with(cfg, Arc::new(refkube_store::MemoryStore::new())).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let (code, body) = s
            .send(
                s.http
                    .get(s.at("/api/v1/namespaces/default"))
                    .header("authorization", format!("{scheme} t0k3n")),
            )
            .await;
        assert_eq!(code, 200, "{scheme}: {body}");
    }
    let (code, _) = s
        .send(
            s.http
                .get(s.at("/api/v1/namespaces/default"))
                .header("authorization", "Basic t0k3n"),
        )
        .await;
    assert_eq!(code, 401);
}

#[tokio::test]
async fn configmaps_and_secrets_over_one_mebibyte_are_too_long() {
    let s = common::start().await;
    let two_mib = "x".repeat(2 * 1024 * 1024);
    let (code, body) = s
        .post_json(
            CONFIGMAPS,
            json!({"metadata": {"name": "big"}, "data": {"blob": two_mib}}),
        )
        .await;
    assert_eq!(code, 422, "{}", body["message"]);
    assert_eq!(
        body["message"],
        "ConfigMap \"big\" is invalid: []: Too long: must have at most 1048576 bytes"
    );
    assert_eq!(body["details"]["causes"][0]["reason"], "FieldValueTooLong");
    assert_eq!(body["details"]["causes"][0]["field"], "[]");
    // A Secret counts its decoded bytes: 1 MiB + 1 is over, exactly 1 MiB is not.
    use base64::Engine;
    let encode = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/secrets",
            json!({"metadata": {"name": "big"}, "data": {"blob": encode(1024 * 1024 + 1)}}),
        )
        .await;
    assert_eq!(code, 422, "{}", body["message"]);
    assert_eq!(
        body["message"],
        "Secret \"big\" is invalid: data: Too long: must have at most 1048576 bytes"
    );
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/secrets",
            json!({"metadata": {"name": "fits"}, "data": {"blob": encode(1024 * 1024)}}),
        )
        .await;
    assert_eq!(code, 201, "{}", body["message"]);
}

fn etcd_available() -> bool {
    if refkube_store::etcd::process::find_binary().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "etcd is not installed; CI must run the etcd tests"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED: etcd not installed (hardening)");
    false
}

#[tokio::test]
async fn an_object_over_etcds_limit_is_a_413_not_a_retryable_503() {
    if !etcd_available() {
        return;
    }
    let cluster = refkube_store::etcd::process::EtcdCluster::start(1)
        .await
        .expect("start etcd");
    let store =
        refkube_store::EtcdStore::new(refkube_store::EtcdConfig::new(cluster.client_urls()))
            .unwrap();
    let s = common::start_with(common::config(), Arc::new(store)).await;
    // Within the API server's 3 MiB body limit and every validation rule, but over
    // etcd's default 1.5 MiB request limit (etcd's own check), and over the 2 MiB its
    // gRPC server receives at all.
    let pod = |name: &str, size: usize| {
        json!({"metadata": {"name": name}, "spec": {"containers": [{
            "name": "c", "image": "busybox",
            "env": [{"name": "BLOB", "value": "y".repeat(size)}]}]}})
    };
    let (code, body) = s
        .post_json("/api/v1/namespaces/default/pods", pod("big", 1700 * 1024))
        .await;
    assert_eq!(code, 413, "{}", body["message"]);
    assert_eq!(body["reason"], "RequestEntityTooLarge");
    assert_eq!(
        body["message"],
        "Request entity too large: etcdserver: request is too large"
    );
    let (code, body) = s
        .post_json("/api/v1/namespaces/default/pods", pod("huge", 2500 * 1024))
        .await;
    assert_eq!(code, 413, "{}", body["message"]);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("larger than max"),
        "{body}"
    );
    // The store is fine afterwards.
    let (code, _) = s.post_json(CONFIGMAPS, configmap("small")).await;
    assert_eq!(code, 201);
}
