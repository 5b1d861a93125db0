//! Objects the API server writes itself at start-up (the system namespaces, the
//! `kubernetes` Service and Endpoints, the bootstrap RBAC policy) carry managedFields as
//! upstream's do: one Update by the manager `kube-apiserver`.

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::Value;

fn only_entry(obj: &Value) -> &Value {
    let entries = obj["metadata"]["managedFields"]
        .as_array()
        .unwrap_or_else(|| {
            panic!("no managedFields: {obj}");
        });
    assert_eq!(entries.len(), 1, "{obj}");
    let e = &entries[0];
    assert_eq!(e["manager"], "kube-apiserver", "{obj}");
    assert_eq!(e["operation"], "Update", "{obj}");
    assert_eq!(e["fieldsType"], "FieldsV1", "{obj}");
    assert!(e["time"].is_string(), "{obj}");
    e
}

#[tokio::test]
async fn start_up_objects_are_managed_by_kube_apiserver() {
    let s = common::start().await;

    let (code, ns) = s.get("/api/v1/namespaces/kube-system").await;
    assert_eq!(code, 200);
    let e = only_entry(&ns);
    // The namespace's own name label is what the server wrote beyond the name.
    assert!(
        e["fieldsV1"]["f:metadata"]["f:labels"]
            .get("f:kubernetes.io/metadata.name")
            .is_some(),
        "{e}"
    );

    let (code, svc) = s
        .get("/api/v1/namespaces/default/services/kubernetes")
        .await;
    assert_eq!(code, 200);
    let e = only_entry(&svc);
    assert!(e["fieldsV1"]["f:spec"].get("f:ports").is_some(), "{e}");

    let (code, eps) = s
        .get("/api/v1/namespaces/default/endpoints/kubernetes")
        .await;
    assert_eq!(code, 200);
    let e = only_entry(&eps);
    assert!(e["fieldsV1"].get("f:subsets").is_some(), "{e}");

    let (code, role) = s
        .get("/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin")
        .await;
    assert_eq!(code, 200);
    let e = only_entry(&role);
    assert!(e["fieldsV1"].get("f:rules").is_some(), "{e}");
    assert!(
        e["fieldsV1"]["f:metadata"]["f:annotations"]
            .get("f:rbac.authorization.kubernetes.io/autoupdate")
            .is_some(),
        "{e}"
    );
}
