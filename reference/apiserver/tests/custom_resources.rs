//! CustomResourceDefinitions through kube-rs, as an operator uses them: create a CRD,
//! wait for it with kube-runtime's `is_crd_established`, then work with the new kind
//! through `DynamicObject` (create, list, watch, the status and scale subresources), and
//! delete the CRD with its objects.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;

fn crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "properties": {
                            "cronSpec": {"type": "string", "pattern": "^(\\S+ ){4}\\S+$"},
                            "image": {"type": "string"},
                            "replicas": {"type": "integer", "minimum": 0, "default": 1},
                        }},
                        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                    },
                }},
            }],
        },
    }))
    .unwrap()
}

fn crontabs(client: kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("stable.example.com", "v1", "CronTab");
    Api::namespaced_with(
        client,
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, "crontabs"),
    )
}

fn crontab(name: &str, cron: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": name}, "spec": {"cronSpec": cron, "image": "busybox"},
    }))
    .unwrap()
}

/// Waits until the CRD `name` has the condition `type_` with `status`; answers the CRD.
async fn wait_condition(
    crds: &Api<CustomResourceDefinition>,
    name: &str,
    type_: &'static str,
    status: &'static str,
) -> CustomResourceDefinition {
    let cond = move |c: Option<&CustomResourceDefinition>| {
        c.and_then(|c| c.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == type_ && c.status == status))
    };
    let found = await_condition(crds.clone(), name, cond);
    tokio::time::timeout(Duration::from_secs(10), found)
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// Creates the CronTab CRD and waits until it is Established.
async fn established_crontabs(client: &kube::Client) -> Api<CustomResourceDefinition> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd()).await.unwrap();
    wait_condition(&crds, "crontabs.stable.example.com", "Established", "True").await;
    crds
}

#[tokio::test]
async fn kube_rs_creates_a_crd_waits_for_it_and_uses_the_new_kind() {
    let s = common::start().await;
    let client = s.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd()).await.unwrap();
    let established = await_condition(
        crds.clone(),
        "crontabs.stable.example.com",
        conditions::is_crd_established(),
    );
    tokio::time::timeout(Duration::from_secs(10), established)
        .await
        .unwrap()
        .unwrap();

    // Discovery (plain and aggregated, as kubectl and kube-rs read it) lists the kind.
    let (_, list) = s.get("/apis/stable.example.com/v1").await;
    assert_eq!(list["resources"][0]["name"], "crontabs", "{list}");
    let agg: serde_json::Value = s
        .http
        .get(s.at("/apis"))
        .header(
            "accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let group = agg["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "stable.example.com")
        .expect("the CRD's group in aggregated discovery");
    assert_eq!(group["versions"][0]["resources"][0]["resource"], "crontabs");

    let api = crontabs(client.clone());
    let mut watch = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let created = api
        .create(&PostParams::default(), &crontab("nightly", "0 3 * * *"))
        .await
        .unwrap();
    // The schema's default is filled in; the server owns the generation.
    assert_eq!(created.data["spec"]["replicas"], 1);
    assert_eq!(created.metadata.generation, Some(1));
    let first = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(first, WatchEvent::Added(o) if o.metadata.name.as_deref() == Some("nightly")));

    // The schema's pattern refuses a malformed cronSpec with upstream's 422.
    let bad = api
        .create(&PostParams::default(), &crontab("bad", "often"))
        .await
        .unwrap_err();
    match bad {
        kube::Error::Api(e) => {
            assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"), "{e:?}");
            assert!(e.message.contains("spec.cronSpec"), "{}", e.message);
        }
        other => panic!("expected a 422, got {other:?}"),
    }

    // Status only through /status; scale through /scale, at the CRD's paths.
    let pp = PatchParams::default();
    api.patch_status(
        "nightly",
        &pp,
        &Patch::Merge(json!({"status": {"replicas": 2}})),
    )
    .await
    .unwrap();
    api.patch_scale(
        "nightly",
        &pp,
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .unwrap();
    let scale = api.get_scale("nightly").await.unwrap();
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(3));
    assert_eq!(scale.status.map(|s| s.replicas), Some(2));
    let listed = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].data["spec"]["replicas"], 3);
    assert_eq!(listed.items[0].metadata.generation, Some(2));

    // Written as Go writes an unstructured object: every map's keys sorted.
    let (_, raw) = s
        .get("/apis/stable.example.com/v1/namespaces/default/crontabs/nightly")
        .await;
    for part in [&raw, &raw["metadata"], &raw["spec"]] {
        let keys: Vec<&String> = part.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{raw}");
    }
    assert!(raw["metadata"]["resourceVersion"].is_string(), "{raw}");

    // Deleting the CRD removes its objects first, then the CRD.
    crds.delete("crontabs.stable.example.com", &Default::default())
        .await
        .unwrap();
    let gone = await_condition(
        crds.clone(),
        "crontabs.stable.example.com",
        conditions::is_deleted(""),
    );
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .unwrap()
        .unwrap();
    let left = s
        .store
        .list("/registry/stable.example.com/crontabs/", Default::default())
        .await
        .unwrap();
    assert!(
        left.items.is_empty(),
        "objects left behind: {:?}",
        left.items.len()
    );
}

#[tokio::test]
async fn a_crd_whose_names_clash_is_not_established() {
    let s = common::start().await;
    let client = s.client().await;
    let crds = established_crontabs(&client).await;
    // A second CRD in the same group claiming the same kind under another plural.
    let mut second = crd();
    second.metadata.name = Some("crontabz.stable.example.com".into());
    second.spec.names.plural = "crontabz".into();
    second.spec.names.short_names = None;
    crds.create(&PostParams::default(), &second).await.unwrap();
    let crd = wait_condition(
        &crds,
        "crontabz.stable.example.com",
        "NamesAccepted",
        "False",
    )
    .await;
    let conds = crd.status.unwrap().conditions.unwrap();
    let names = conds.iter().find(|c| c.type_ == "NamesAccepted").unwrap();
    // Upstream checks every name and reports the last conflict: the kind's list kind.
    assert_eq!(names.reason.as_deref(), Some("ListKindConflict"));
    assert_eq!(
        names.message.as_deref(),
        Some("\"CronTabList\" is already in use")
    );
    assert!(
        !conds
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
}

#[tokio::test]
async fn with_several_api_servers_a_crd_is_installing_before_it_is_established() {
    let cfg = common::config()
        .apiserver_count(2)
        .crd_establish_delay(Duration::from_millis(1500));
    let s = common::start_with(cfg, std::sync::Arc::new(refkube_store::MemoryStore::new())).await;
    let client = s.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd()).await.unwrap();
    let crd = wait_condition(
        &crds,
        "crontabs.stable.example.com",
        "NamesAccepted",
        "True",
    )
    .await;
    let conds = crd.status.unwrap().conditions.unwrap();
    let est = conds.iter().find(|c| c.type_ == "Established").unwrap();
    assert_eq!(
        (
            est.status.as_str(),
            est.reason.as_deref(),
            est.message.as_deref()
        ),
        (
            "False",
            Some("Installing"),
            Some("the initial names have been accepted")
        )
    );
    // Routed while installing (so every server serves it before it is Established).
    crontabs(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    wait_condition(&crds, "crontabs.stable.example.com", "Established", "True").await;
    let (_, list) = s.get("/apis/stable.example.com/v1").await;
    assert_eq!(list["resources"][0]["name"], "crontabs", "{list}");
}

/// The CronTab CRD with a validation rule, a transition rule and a selectable field.
fn crd_with_rules() -> CustomResourceDefinition {
    let mut v = serde_json::to_value(crd()).unwrap();
    let version = &mut v["spec"]["versions"][0];
    let spec = &mut version["schema"]["openAPIV3Schema"]["properties"]["spec"];
    spec["x-kubernetes-validations"] = json!([
        {"rule": "self.replicas <= 10", "messageExpression": "'too many replicas: ' + string(self.replicas)"},
    ]);
    spec["properties"]["image"]["x-kubernetes-validations"] = json!([{"rule": "self == oldSelf", "message": "image is immutable", "reason": "FieldValueForbidden"}]);
    version["selectableFields"] = json!([{"jsonPath": ".spec.image"}]);
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn validation_rules_and_selectable_fields_apply_to_custom_resources() {
    let s = common::start().await;
    let client = s.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd_with_rules())
        .await
        .unwrap();
    wait_condition(&crds, "crontabs.stable.example.com", "Established", "True").await;
    let api = crontabs(client);

    // The rule on spec refuses too many replicas, with the message expression's text.
    let mut big = crontab("big", "* * * * *");
    big.data["spec"]["replicas"] = json!(11);
    let kube::Error::Api(e) = api.create(&PostParams::default(), &big).await.unwrap_err() else {
        panic!("expected a Status");
    };
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        e.message,
        "CronTab.stable.example.com \"big\" is invalid: spec: Invalid value: \"object\": too many replicas: 11"
    );

    // A transition rule holds on update only.
    api.create(&PostParams::default(), &crontab("small", "* * * * *"))
        .await
        .unwrap();
    let patch = Patch::Merge(json!({"spec": {"image": "nginx"}}));
    let kube::Error::Api(e) = api
        .patch("small", &PatchParams::default(), &patch)
        .await
        .unwrap_err()
    else {
        panic!("expected a Status");
    };
    assert_eq!(e.code, 422);
    assert!(
        e.message
            .ends_with("spec.image: Forbidden: image is immutable"),
        "{}",
        e.message
    );

    // The declared field selects; an undeclared one is refused as upstream does.
    let found = api
        .list(&ListParams::default().fields("spec.image=busybox"))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    let none = api
        .list(&ListParams::default().fields("spec.image=nginx"))
        .await
        .unwrap();
    assert!(none.items.is_empty());
    let kube::Error::Api(e) = api
        .list(&ListParams::default().fields("spec.cronSpec=x"))
        .await
        .unwrap_err()
    else {
        panic!("expected a Status");
    };
    assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));
    assert_eq!(e.message, "field label not supported: spec.cronSpec");
}
