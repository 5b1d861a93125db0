//! Small requests that would make the server build something huge are refused with
//! upstream's Status, and the server keeps serving: a JSON patch with too many
//! operations (413), copies that add more than 3 MiB (422), YAML whose aliases expand
//! far past its size (400).

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{Value, json};

const CM: &str = "/api/v1/namespaces/default/configmaps";

async fn configmap(s: &common::TestServer, data: Value) {
    let (code, body) = s
        .post_json(
            CM,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": data}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
}

async fn json_patch(s: &common::TestServer, ops: &[Value]) -> (u16, Value) {
    let req = s
        .http
        .patch(s.at(&format!("{CM}/cm")))
        .header("content-type", "application/json-patch+json")
        .body(serde_json::to_vec(ops).unwrap());
    s.send(req).await
}

#[tokio::test]
async fn a_json_patch_of_more_than_ten_thousand_operations_is_too_large() {
    let s = common::start().await;
    configmap(&s, json!({"a": "1"})).await;
    let op = json!({"op": "test", "path": "/data/a", "value": "1"});
    let (code, body) = json_patch(&s, &vec![op; 10_001]).await;
    assert_eq!(code, 413, "{body}");
    assert_eq!(body["reason"], "RequestEntityTooLarge");
    assert_eq!(
        body["message"],
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
}

#[tokio::test]
async fn eighteen_doubling_copies_are_refused_and_the_server_stays_up() {
    let s = common::start().await;
    configmap(&s, json!({"a": "x".repeat(1024)})).await;
    // Each copy doubles /metadata/annotations/l; 18 would make 256 MiB from 2 KB.
    let mut ops = vec![json!({"op": "add", "path": "/metadata/annotations", "value": {"l": []}})];
    ops.push(json!({"op": "copy", "from": "/data/a", "path": "/metadata/annotations/l/-"}));
    for _ in 0..18 {
        ops.push(json!({"op": "copy", "from": "/metadata/annotations/l", "path": "/metadata/annotations/l/-"}));
    }
    let (code, body) = json_patch(&s, &ops).await;
    assert_eq!(code, 422, "{}", body["message"]);
    assert_eq!(body["reason"], "Invalid");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message
            .starts_with("Unable to complete the copy, the accumulated size increase of copy is ")
            && message.ends_with(", exceeding the limit 3145728"),
        "{message}"
    );
    let (code, cm) = s.get(&format!("{CM}/cm")).await;
    assert_eq!(code, 200);
    assert!(
        cm["metadata"].get("annotations").is_none(),
        "nothing was written"
    );
}

#[tokio::test]
async fn a_yaml_alias_bomb_is_a_bad_request() {
    let s = common::start().await;
    let mut y = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a: &a \"{}\"\n",
        "x".repeat(512 * 1024)
    );
    for i in 0..16 {
        y.push_str(&format!("  b{i}: *a\n"));
    }
    let req = s
        .http
        .post(s.at(CM))
        .header("content-type", "application/yaml")
        .body(y);
    let (code, body) = s.send(req).await;
    assert_eq!(code, 400, "{}", body["message"]);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("excessive aliasing")),
        "{}",
        body["message"]
    );
}
