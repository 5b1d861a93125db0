//! An update cannot rename, move or re-identify an object: a PUT or PATCH whose result
//! names another object or namespace is a 400 (upstream's `checkName`), a changed uid or
//! a deletionTimestamp set by a client is a 422 (`ValidateObjectMetaUpdate`), and the
//! stored object is left alone.

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{Value, json};

const CM: &str = "/api/v1/namespaces/default/configmaps";

async fn setup() -> (common::TestServer, Value) {
    let s = common::start().await;
    let (code, body) = s
        .post_json(
            CM,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    (s, body)
}

async fn patch(s: &common::TestServer, content_type: &str, body: Value) -> (u16, Value) {
    let req = s
        .http
        .patch(s.at(&format!("{CM}/cm")))
        .header("content-type", content_type)
        .body(body.to_string());
    s.send(req).await
}

async fn unchanged(s: &common::TestServer, created: &Value) {
    let (code, now) = s.get(&format!("{CM}/cm")).await;
    assert_eq!(code, 200, "{now}");
    assert_eq!(
        now["metadata"], created["metadata"],
        "the object was changed"
    );
}

#[tokio::test]
async fn a_patch_that_renames_the_object_is_a_bad_request() {
    let (s, created) = setup().await;
    let merge = "application/merge-patch+json";
    let (code, body) = patch(&s, merge, json!({"metadata": {"name": "other"}})).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["reason"], "BadRequest");
    assert_eq!(
        body["message"],
        "the name of the object (other) does not match the name on the URL (cm)"
    );
    let remove = json!([{"op": "remove", "path": "/metadata/name"}]);
    let (code, body) = patch(&s, "application/json-patch+json", remove).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["message"],
        "the name of the object (cm based on URL) was undeterminable: name must be provided"
    );
    unchanged(&s, &created).await;
}

#[tokio::test]
async fn a_patch_that_moves_the_object_to_another_namespace_is_a_bad_request() {
    let (s, created) = setup().await;
    let strategic = "application/strategic-merge-patch+json";
    let (code, body) = patch(
        &s,
        strategic,
        json!({"metadata": {"namespace": "kube-system"}}),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["message"],
        "the namespace of the object (kube-system) does not match the namespace on the request (default)"
    );
    let mut moved = created.clone();
    moved["metadata"]["namespace"] = json!("kube-system");
    let (code, body) = s
        .send(s.http.put(s.at(&format!("{CM}/cm"))).json(&moved))
        .await;
    assert_eq!(code, 400, "{body}");
    unchanged(&s, &created).await;
}

#[tokio::test]
async fn a_changed_uid_or_a_client_set_deletion_timestamp_is_invalid() {
    let (s, created) = setup().await;
    let merge = "application/merge-patch+json";
    let (code, body) = patch(&s, merge, json!({"metadata": {"uid": "forged"}})).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(
        body["message"],
        "ConfigMap \"cm\" is invalid: metadata.uid: Invalid value: \"forged\": field is immutable"
    );
    let ts = "2020-01-01T00:00:00Z";
    let (code, body) = patch(&s, merge, json!({"metadata": {"deletionTimestamp": ts}})).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["details"]["causes"][0]["field"],
        "metadata.deletionTimestamp"
    );
    unchanged(&s, &created).await;
    // Leaving the uid out keeps the stored one, as upstream's BeforeUpdate does.
    let (code, body) = patch(
        &s,
        merge,
        json!({"metadata": {"uid": null}, "data": {"a": "2"}}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["metadata"]["uid"], created["metadata"]["uid"]);
}
