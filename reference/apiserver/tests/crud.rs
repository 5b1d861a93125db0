//! CRUD verbs and their error paths through kube-rs and raw HTTP.

#![allow(clippy::unwrap_used)]

mod common;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app": "x"}}, "data": {"k": "v"}}),
    )
    .unwrap()
}

#[tokio::test]
async fn system_namespaces_and_the_kubernetes_service_exist_at_start() {
    let s = common::start().await;
    let c = s.client().await;
    let ns: Vec<String> = Api::<Namespace>::all(c.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.metadata.name.unwrap())
        .collect();
    for want in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(ns.contains(&want.to_string()), "{want} missing from {ns:?}");
    }
    let svc = Api::<Service>::namespaced(c, "default")
        .get("kubernetes")
        .await
        .unwrap();
    assert_eq!(svc.spec.unwrap().cluster_ip.as_deref(), Some("10.0.0.1"));
}

#[tokio::test]
async fn create_get_update_delete_round_trip_with_server_fields() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let created = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    let rv1: i64 = meta.resource_version.as_ref().unwrap().parse().unwrap();
    let got = api.get("a").await.unwrap();
    assert_eq!(got.metadata.resource_version, meta.resource_version);
    let mut changed = got.clone();
    changed.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = api
        .replace("a", &PostParams::default(), &changed)
        .await
        .unwrap();
    let rv2: i64 = updated.metadata.resource_version.unwrap().parse().unwrap();
    assert!(rv2 > rv1);
    assert_eq!(updated.metadata.uid, meta.uid);
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let err = api.get("a").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 404 && e.message == "configmaps \"a\" not found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stale_resource_version_is_a_conflict() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let first = api.create(&PostParams::default(), &cm("c")).await.unwrap();
    let mut a = first.clone();
    a.data = Some([("k".to_string(), "1".to_string())].into());
    api.replace("c", &PostParams::default(), &a).await.unwrap();
    let mut b = first.clone();
    b.data = Some([("k".to_string(), "2".to_string())].into());
    let err = api
        .replace("c", &PostParams::default(), &b)
        .await
        .unwrap_err();
    let kube::Error::Api(e) = err else {
        panic!("not an API error")
    };
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "Conflict");
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[tokio::test]
async fn creating_twice_is_already_exists_and_missing_namespaces_are_not_found() {
    let s = common::start().await;
    let c = s.client().await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    api.create(&PostParams::default(), &cm("dup"))
        .await
        .unwrap();
    let kube::Error::Api(e) = api
        .create(&PostParams::default(), &cm("dup"))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(e.message, "configmaps \"dup\" already exists");
    let nowhere: Api<ConfigMap> = Api::namespaced(c, "nowhere");
    let kube::Error::Api(e) = nowhere
        .create(&PostParams::default(), &cm("x"))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "namespaces \"nowhere\" not found")
    );
}

#[tokio::test]
async fn generate_name_appends_five_characters() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let obj: ConfigMap =
        serde_json::from_value(json!({"metadata": {"generateName": "gen-"}})).unwrap();
    let a = api
        .create(&PostParams::default(), &obj)
        .await
        .unwrap()
        .metadata
        .name
        .unwrap();
    let b = api
        .create(&PostParams::default(), &obj)
        .await
        .unwrap()
        .metadata
        .name
        .unwrap();
    assert!(a.starts_with("gen-") && a.len() == 9, "{a}");
    assert_ne!(a, b);
}

#[tokio::test]
async fn finalizers_keep_a_deleted_object_until_the_update_that_empties_them() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let mut obj = cm("f");
    obj.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &obj).await.unwrap();
    api.delete("f", &DeleteParams::default()).await.unwrap();
    let held = api.get("f").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    let patch = json!({"metadata": {"finalizers": null}});
    api.patch("f", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert!(api.get_opt("f").await.unwrap().is_none());
}

#[tokio::test]
async fn propagation_policies_become_gc_finalizers() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &cm("o")).await.unwrap();
    api.delete("o", &DeleteParams::orphan()).await.unwrap();
    assert_eq!(
        api.get("o").await.unwrap().metadata.finalizers.unwrap(),
        vec!["orphan"]
    );
    api.create(&PostParams::default(), &cm("g")).await.unwrap();
    api.delete("g", &DeleteParams::foreground()).await.unwrap();
    assert_eq!(
        api.get("g").await.unwrap().metadata.finalizers.unwrap(),
        vec!["foregroundDeletion"]
    );
}

#[tokio::test]
async fn delete_preconditions_are_checked() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &cm("p")).await.unwrap();
    let dp = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: Some("nope".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let kube::Error::Api(e) = api.delete("p", &dp).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(e.code, 409);
    assert!(
        e.message
            .contains("Precondition failed: UID in precondition: nope"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn bound_pods_are_deleted_gracefully_and_unbound_ones_at_once() {
    let s = common::start().await;
    let api: Api<Pod> = Api::namespaced(s.client().await, "default");
    let pod = |name: &str, node: Option<&str>| -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]}})).unwrap()
    };
    api.create(&PostParams::default(), &pod("free", None))
        .await
        .unwrap();
    api.delete("free", &DeleteParams::default()).await.unwrap();
    assert!(api.get_opt("free").await.unwrap().is_none());
    api.create(&PostParams::default(), &pod("bound", Some("n1")))
        .await
        .unwrap();
    api.delete("bound", &DeleteParams::default()).await.unwrap();
    let p = api.get("bound").await.unwrap();
    assert!(p.metadata.deletion_timestamp.is_some());
    assert_eq!(p.metadata.deletion_grace_period_seconds, Some(30));
    // The kubelet confirms with grace 0 once its containers are gone.
    api.delete(
        "bound",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(api.get_opt("bound").await.unwrap().is_none());
}

#[tokio::test]
async fn label_selectors_and_paging_with_continue_tokens() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    for i in 0..7 {
        let mut o = cm(&format!("page-{i}"));
        o.metadata.labels = Some(
            [(
                "parity".to_string(),
                if i % 2 == 0 { "even" } else { "odd" }.to_string(),
            )]
            .into(),
        );
        api.create(&PostParams::default(), &o).await.unwrap();
    }
    let mut names = Vec::new();
    let mut lp = ListParams::default().labels("parity=even").limit(2);
    loop {
        let page = api.list(&lp).await.unwrap();
        assert!(page.items.len() <= 2);
        names.extend(page.items.into_iter().map(|c| c.metadata.name.unwrap()));
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => lp = lp.continue_token(&t),
            _ => break,
        }
    }
    assert_eq!(names, ["page-0", "page-2", "page-4", "page-6"]);
}

#[tokio::test]
async fn compaction_expires_continue_tokens_and_exact_reads() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    for i in 0..3 {
        api.create(&PostParams::default(), &cm(&format!("old-{i}")))
            .await
            .unwrap();
    }
    let page = api.list(&ListParams::default().limit(1)).await.unwrap();
    let token = page.metadata.continue_.unwrap();
    let rv = page.metadata.resource_version.unwrap();
    api.create(&PostParams::default(), &cm("newer"))
        .await
        .unwrap();
    let current = s.store.current_revision().await.unwrap();
    s.store.compact(current).await.unwrap();
    let kube::Error::Api(e) = api
        .list(&ListParams::default().continue_token(&token))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
    assert!(
        e.message
            .starts_with("The provided continue parameter is too old"),
        "{}",
        e.message
    );
    let (code, body) = s
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?resourceVersion={rv}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(code, 410);
    assert_eq!(
        body["message"],
        "The resourceVersion for the provided list is too old."
    );
}

#[tokio::test]
async fn resource_version_match_rules_are_422_on_list_options() {
    let s = common::start().await;
    let (code, body) = s
        .get("/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact")
        .await;
    assert_eq!(code, 422);
    assert_eq!(body["details"]["kind"], "ListOptions");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("resourceVersionMatch is forbidden unless resourceVersion is provided")
    );
    let (code, _) = s
        .get("/api/v1/namespaces/default/configmaps?resourceVersion=0&resourceVersionMatch=Exact")
        .await;
    assert_eq!(code, 422);
    let (code, body) = s
        .get("/api/v1/namespaces/default/configmaps?watch=1&resourceVersionMatch=NotOlderThan")
        .await;
    assert_eq!(code, 422, "{body}");
}

#[tokio::test]
async fn bad_bodies_get_400_413_415_and_leave_state_alone() {
    let s = common::start().await;
    let path = s.at("/api/v1/namespaces/default/configmaps");
    let (code, body) = s
        .send(
            s.http
                .post(&path)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["reason"], "BadRequest");
    let (code, body) = s
        .send(
            s.http
                .post(&path)
                .header("content-type", "text/plain")
                .body("x"),
        )
        .await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    let big = "x".repeat(3 * 1024 * 1024 + 10);
    let (code, body) = s
        .send(
            s.http
                .post(&path)
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    assert_eq!(code, 413);
    assert_eq!(
        body["message"],
        "Request entity too large: limit is 3145728"
    );
    let (code, body) = s
        .send(
            s.http
                .patch(s.at("/api/v1/namespaces/default/configmaps/none"))
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(code, 415, "{body}");
    let (_, list) = s.get("/api/v1/namespaces/default/configmaps").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn yaml_bodies_are_accepted() {
    let s = common::start().await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n";
    let (code, obj) = s
        .send(
            s.http
                .post(s.at("/api/v1/namespaces/default/configmaps"))
                .header("content-type", "application/yaml")
                .body(body),
        )
        .await;
    assert_eq!(code, 201, "{obj}");
    assert_eq!(obj["data"]["a"], "b");
}

#[tokio::test]
async fn status_is_written_only_through_the_status_subresource() {
    let s = common::start().await;
    let api: Api<Pod> = Api::namespaced(s.client().await, "default");
    let pod: Pod = serde_json::from_value(
        json!({"metadata": {"name": "st"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    )
    .unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap();
    let p = json!({"status": {"phase": "Running"}, "spec": {"activeDeadlineSeconds": 5}});
    let main = api
        .patch("st", &PatchParams::default(), &Patch::Merge(&p))
        .await
        .unwrap();
    assert_eq!(main.status.unwrap().phase.as_deref(), Some("Pending"));
    let st = api
        .patch_status(
            "st",
            &PatchParams::default(),
            &Patch::Merge(
                &json!({"status": {"phase": "Running"}, "spec": {"activeDeadlineSeconds": 9}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(st.status.unwrap().phase.as_deref(), Some("Running"));
    assert_eq!(st.spec.unwrap().active_deadline_seconds, Some(5));
}

#[tokio::test]
async fn terminating_namespaces_refuse_new_content() {
    let s = common::start().await;
    let c = s.client().await;
    let nss: Api<Namespace> = Api::all(c.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "doomed"}})).unwrap();
    nss.create(&PostParams::default(), &ns).await.unwrap();
    nss.delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(
        nss.get("doomed")
            .await
            .unwrap()
            .status
            .unwrap()
            .phase
            .as_deref(),
        Some("Terminating")
    );
    let kube::Error::Api(e) = Api::<ConfigMap>::namespaced(c, "doomed")
        .create(&PostParams::default(), &cm("late"))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated"
    );
}

#[tokio::test]
async fn services_get_cluster_ips_that_are_released_on_delete() {
    let s = common::start().await;
    let api: Api<Service> = Api::namespaced(s.client().await, "default");
    let svc = |name: &str, ip: Option<&str>| -> Service {
        serde_json::from_value(
            json!({"metadata": {"name": name}, "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}),
        )
        .unwrap()
    };
    let a = api
        .create(&PostParams::default(), &svc("a", None))
        .await
        .unwrap();
    let ip = a.spec.unwrap().cluster_ip.unwrap();
    assert!(ip.starts_with("10.0.0.") && ip != "10.0.0.1", "{ip}");
    let kube::Error::Api(e) = api
        .create(&PostParams::default(), &svc("b", Some(&ip)))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(e.code, 422);
    assert!(
        e.message.contains("provided IP is already allocated"),
        "{}",
        e.message
    );
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let b = api
        .create(&PostParams::default(), &svc("b", Some(&ip)))
        .await
        .unwrap();
    assert_eq!(b.spec.unwrap().cluster_ip, Some(ip));
}

#[tokio::test]
async fn delete_collection_removes_only_what_the_selector_matches() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    for (name, app) in [("dc-1", "a"), ("dc-2", "a"), ("dc-3", "b")] {
        let mut o = cm(name);
        o.metadata.labels = Some([("app".to_string(), app.to_string())].into());
        api.create(&PostParams::default(), &o).await.unwrap();
    }
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app=a"),
    )
    .await
    .unwrap();
    let left: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(left, ["dc-3"]);
}

#[tokio::test]
async fn dry_run_creates_nothing() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let out = api.create(&pp, &cm("dry")).await.unwrap();
    assert!(out.metadata.uid.is_some());
    assert!(api.get_opt("dry").await.unwrap().is_none());
}

#[tokio::test]
async fn tables_are_served_for_get_and_list_when_kubectl_asks() {
    let s = common::start().await;
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (code, body) = s
        .send(
            s.http
                .get(s.at("/api/v1/namespaces"))
                .header("accept", table),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(body["kind"], "Table");
    assert_eq!(body["rows"].as_array().unwrap().len(), 4);
    assert!(body["metadata"]["resourceVersion"].is_string());
    let (_, one) = s
        .send(
            s.http
                .get(s.at("/api/v1/namespaces/default"))
                .header("accept", table),
        )
        .await;
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);
    let (code, _) = s
        .send(
            s.http
                .get(s.at("/api/v1/namespaces"))
                .header("accept", "application/vnd.kubernetes.protobuf"),
        )
        .await;
    assert_eq!(code, 406);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_404_and_405() {
    let s = common::start().await;
    let (code, body) = s.get("/api/v1/widgets").await;
    assert_eq!((code, body["reason"].as_str()), (404, Some("NotFound")));
    let (code, body) = s
        .send(s.http.put(s.at("/api/v1/namespaces/default/configmaps")))
        .await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );
    let (code, _) = s.send(s.http.delete(s.at("/api/v1/namespaces"))).await;
    assert_eq!(code, 405, "namespaces have no deletecollection");
}

#[tokio::test]
async fn the_store_is_compacted_one_interval_behind() {
    let cfg = common::config().compaction_interval(Some(std::time::Duration::from_millis(100)));
    let s = common::start_with(cfg, std::sync::Arc::new(refkube_store::MemoryStore::new())).await;
    let start = s.store.current_revision().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.store.compacted_revision().await.unwrap() < start {
        assert!(std::time::Instant::now() < deadline, "never compacted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn events_written_with_either_api_are_read_with_both() {
    let s = common::start().await;
    let ev = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "kubelet", "reportingInstance": "n1",
        "action": "Start", "reason": "Started", "note": "Started container app", "type": "Normal",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "p"}});
    let (code, body) = s
        .post_json("/apis/events.k8s.io/v1/namespaces/default/events", ev)
        .await;
    assert_eq!(code, 201, "{body}");
    let (_, core) = s.get("/api/v1/namespaces/default/events/e1").await;
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["message"], "Started container app");
    assert_eq!(core["involvedObject"]["name"], "p");
    let (_, list) = s
        .get("/apis/events.k8s.io/v1/namespaces/default/events")
        .await;
    assert_eq!(list["items"][0]["note"], "Started container app");
    assert_eq!(list["items"][0]["regarding"]["name"], "p");
}

#[tokio::test]
async fn bad_selectors_and_query_values_are_bad_requests() {
    let s = common::start().await;
    for q in [
        "labelSelector=a%20in%20(",
        "fieldSelector=spec.nope%3D1",
        "limit=abc",
        "watch=1&resourceVersion=abc",
    ] {
        let (code, body) = s
            .get(&format!("/api/v1/namespaces/default/configmaps?{q}"))
            .await;
        assert_eq!(
            (code, body["reason"].as_str()),
            (400, Some("BadRequest")),
            "{q}: {body}"
        );
    }
}

#[tokio::test]
async fn a_patch_that_adds_an_unknown_field_is_refused_when_strict_and_dropped_with_a_warning_otherwise()
 {
    let s = common::start().await;
    let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "p"}, "data": {"a": "1"}});
    let (code, _) = s
        .post_json("/api/v1/namespaces/default/configmaps", cm)
        .await;
    assert_eq!(code, 201);
    let patch = |validation: &str| {
        s.http
            .patch(s.at(&format!(
                "/api/v1/namespaces/default/configmaps/p?fieldValidation={validation}"
            )))
            .header("content-type", "application/merge-patch+json")
            .body(r#"{"data":{"b":"2"},"bogus":1}"#)
    };

    let (code, body) = s.send(patch("Strict")).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["reason"], "BadRequest");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(r#"strict decoding error: unknown field "bogus""#),
        "{msg}"
    );
    let (_, stored) = s.get("/api/v1/namespaces/default/configmaps/p").await;
    assert_eq!(
        stored["data"],
        serde_json::json!({"a": "1"}),
        "a refused patch changes nothing"
    );

    let resp = patch("Warn").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let warning = resp
        .headers()
        .get("warning")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(warning.contains(r#"unknown field \"bogus\""#), "{warning}");
    let (_, stored) = s.get("/api/v1/namespaces/default/configmaps/p").await;
    assert_eq!(stored["data"]["b"], "2");
    assert!(
        stored.get("bogus").is_none(),
        "unknown fields are not stored: {stored}"
    );
}

#[tokio::test]
async fn list_items_carry_no_type_meta_while_single_objects_and_the_list_do() {
    let s = common::start().await;
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typed"}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["kind"], "ConfigMap");
    // From the store, and from the watch cache (resourceVersion=0).
    for path in [
        "/api/v1/namespaces/default/configmaps",
        "/api/v1/namespaces/default/configmaps?resourceVersion=0",
        "/api/v1/namespaces/default/configmaps?limit=1",
    ] {
        let (code, list) = s.get(path).await;
        assert_eq!(code, 200, "{list}");
        assert_eq!(list["kind"], "ConfigMapList", "{path}");
        assert_eq!(list["apiVersion"], "v1", "{path}");
        let items = list["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{path}: {list}");
        for item in items {
            assert!(item.get("kind").is_none(), "{path}: {item}");
            assert!(item.get("apiVersion").is_none(), "{path}: {item}");
            assert!(item["metadata"]["name"].is_string(), "{path}: {item}");
        }
    }
}

/// A `resourceVersion=0` list is written from the watch cache's bytes: its items must be
/// byte for byte what the store list writes, for every selector.
#[tokio::test]
async fn watch_cache_lists_write_the_same_items_as_store_lists() {
    let s = common::start().await;
    for (name, app) in [("one", "a"), ("two", "b"), ("three", "a")] {
        let (code, body) = s
            .post_json(
                "/api/v1/namespaces/default/configmaps",
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "labels": {"app": app}},
                       "data": {"k": "v \"quoted\" \u{e9}"}}),
            )
            .await;
        assert_eq!(code, 201, "{body}");
    }
    let text = |path: String| {
        let req = s.http.get(s.at(&path));
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let items = |body: &str| body[body.find("\"items\":").unwrap()..].to_string();
    for query in [
        "",
        "labelSelector=app%3Da",
        "fieldSelector=metadata.name%3Dtwo",
    ] {
        let path = format!("/api/v1/namespaces/default/configmaps?{query}");
        let stored = text(path.clone()).await;
        // The cache may lag the create by an event or two.
        let mut cached = String::new();
        for _ in 0..50 {
            cached = text(format!("{path}&resourceVersion=0")).await;
            if items(&cached) == items(&stored) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(items(&cached), items(&stored), "{query}");
        assert!(cached.ends_with("]}\n"), "{cached}");
        let list: serde_json::Value = serde_json::from_str(&cached).unwrap();
        assert_eq!(list["kind"], "ConfigMapList");
        let expected = match query {
            "" => 3,
            q if q.starts_with("label") => 2,
            _ => 1,
        };
        assert_eq!(list["items"].as_array().unwrap().len(), expected, "{query}");
    }
}
