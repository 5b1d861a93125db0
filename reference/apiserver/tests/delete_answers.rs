//! What a DELETE answers, kind by kind, as upstream's registries do: the deleted object
//! for kinds whose store returns it (Services, Pods...), a success `Status` for the
//! rest, the object with its deletionTimestamp while finalizers hold it (202 when the
//! client said `orphanDependents: false`), and the listed items for a collection.

#![allow(clippy::unwrap_used)]

mod common;

use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

async fn delete(s: &common::TestServer, path: &str, body: Option<Value>) -> (u16, String) {
    let mut req = s.http.delete(s.at(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.text().await.unwrap())
}

fn svc(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
           "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}})
}

#[tokio::test]
async fn deleting_a_service_answers_the_service() {
    let s = common::start().await;
    let coll = "/api/v1/namespaces/default/services";
    let (code, created) = s.post_json(coll, svc("web")).await;
    assert_eq!(code, 201, "{created}");
    let (code, text) = delete(&s, &format!("{coll}/web"), None).await;
    assert_eq!(code, 200, "{text}");
    assert!(text.starts_with(r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","#));
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(body["spec"]["clusterIP"], created["spec"]["clusterIP"]);
    // Its resourceVersion is the deletion's, newer than the one it was created with.
    let rv = |v: &Value| {
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
    };
    assert!(rv(&body) > rv(&created));
    // kube-rs reads it as the Service it is (the Left side of its Either).
    let api: Api<Service> = Api::namespaced(s.client().await, "default");
    api.create(
        &PostParams::default(),
        &serde_json::from_value(svc("api")).unwrap(),
    )
    .await
    .unwrap();
    let gone = api.delete("api", &DeleteParams::default()).await.unwrap();
    assert!(
        gone.left()
            .is_some_and(|svc| svc.metadata.name.as_deref() == Some("api"))
    );
}

#[tokio::test]
async fn kinds_without_return_deleted_object_answer_a_success_status() {
    let s = common::start().await;
    let coll = "/api/v1/namespaces/default/configmaps";
    let (_, created) = s
        .post_json(coll, json!({"metadata": {"name": "c"}, "data": {"k": "v"}}))
        .await;
    let uid = created["metadata"]["uid"].as_str().unwrap();
    let (code, text) = delete(&s, &format!("{coll}/c"), None).await;
    assert_eq!(code, 200);
    assert_eq!(
        text,
        format!(
            "{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Success\",\"details\":{{\"name\":\"c\",\"kind\":\"configmaps\",\"uid\":\"{uid}\"}}}}\n"
        )
    );
    let deploy = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    let dcoll = "/apis/apps/v1/namespaces/default/deployments";
    let (code, _) = s.post_json(dcoll, deploy).await;
    assert_eq!(code, 201);
    let (code, text) = delete(&s, &format!("{dcoll}/d"), None).await;
    assert_eq!(code, 200);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["details"]["group"], "apps");
    assert_eq!(body["details"]["kind"], "deployments");
    let keys: Vec<&str> = body["details"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["name", "group", "kind", "uid"]);
}

#[tokio::test]
async fn an_object_held_by_a_finalizer_comes_back_with_its_deletion_timestamp() {
    let s = common::start().await;
    let coll = "/api/v1/namespaces/default/configmaps";
    for name in ["held", "held2"] {
        let (code, _) = s
            .post_json(
                coll,
                json!({"metadata": {"name": name, "finalizers": ["example.com/hold"]}}),
            )
            .await;
        assert_eq!(code, 201);
    }
    let (code, text) = delete(&s, &format!("{coll}/held"), None).await;
    assert_eq!(code, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["kind"], "ConfigMap");
    assert!(body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(body["metadata"]["deletionGracePeriodSeconds"], 0);
    // Upstream's one case of 202: deferred, and the client said not to orphan.
    let (code, text) = delete(
        &s,
        &format!("{coll}/held2"),
        Some(json!({"kind": "DeleteOptions", "apiVersion": "v1", "orphanDependents": false})),
    )
    .await;
    assert_eq!(code, 202, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(body["metadata"]["deletionTimestamp"].is_string());
    // kube-rs sees a deletion still in progress.
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let again = api.delete("held", &DeleteParams::default()).await.unwrap();
    assert!(
        again
            .left()
            .is_some_and(|c| c.metadata.deletion_timestamp.is_some())
    );
}

#[tokio::test]
async fn orphan_dependents_and_a_propagation_policy_together_are_invalid() {
    let s = common::start().await;
    let coll = "/api/v1/namespaces/default/configmaps";
    s.post_json(coll, json!({"metadata": {"name": "c"}})).await;
    let (code, text) = delete(
        &s,
        &format!("{coll}/c"),
        Some(json!({"orphanDependents": true, "propagationPolicy": "Background"})),
    )
    .await;
    assert_eq!(code, 422, "{text}");
    assert!(
        text.contains(r#"DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"Background\": orphanDependents and deletionPropagation cannot be both set"#),
        "{text}"
    );
}

#[tokio::test]
async fn deleting_a_collection_answers_the_list_of_what_it_deleted() {
    let s = common::start().await;
    let coll = "/api/v1/namespaces/default/configmaps";
    for (name, app) in [("a", "x"), ("b", "x"), ("c", "y")] {
        s.post_json(
            coll,
            json!({"metadata": {"name": name, "labels": {"app": app}}}),
        )
        .await;
    }
    let (code, text) = delete(&s, &format!("{coll}?labelSelector=app%3Dx"), None).await;
    assert_eq!(code, 200, "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["kind"], "ConfigMapList");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let (code, _) = s.get(&format!("{coll}/a")).await;
    assert_eq!(code, 404);
    let (code, _) = s.get(&format!("{coll}/c")).await;
    assert_eq!(code, 200);
}
