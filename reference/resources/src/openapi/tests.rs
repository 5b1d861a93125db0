//! Tests for the OpenAPI v3 documents, checking what kubectl reads.

use super::*;

#[test]
fn the_index_lists_every_group_version_with_a_hashed_url() {
    let index = v3_index();
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap();
    let hash = v3_hash("apis/apps/v1").unwrap();
    assert_eq!(url, format!("/openapi/v3/apis/apps/v1?hash={hash}"));
    assert_eq!(hash.len(), 128);
    assert!(index["paths"]["api/v1"].is_object());
    assert!(index["paths"]["apis/events.k8s.io/v1"].is_object());
}

#[test]
fn the_hash_is_stable_and_differs_between_documents() {
    assert_eq!(v3_hash("api/v1"), v3_hash("/api/v1/"));
    assert_ne!(v3_hash("api/v1"), v3_hash("apis/apps/v1"));
    assert!(v3_group_version("apis/nope/v1").is_none());
}

/// What kubectl's `supportsQueryParamV3` does: find the PATCH for the GVK and look for
/// the `fieldValidation` query parameter.
fn supports_field_validation(doc: &Value, group: &str, kind: &str) -> bool {
    doc["paths"].as_object().unwrap().values().any(|p| {
        let Some(op) = p.get("patch") else {
            return false;
        };
        let g = &op["x-kubernetes-group-version-kind"];
        g["group"] == group
            && g["kind"] == kind
            && op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|q| q["name"] == "fieldValidation" && q["in"] == "query")
    })
}

#[test]
fn kubectl_finds_field_validation_for_every_patchable_kind() {
    for r in registry::all()
        .iter()
        .filter(|r| r.verbs.contains(&"patch"))
    {
        let doc = v3_group_version(&gv_path(r.group, r.version)).unwrap();
        assert!(
            supports_field_validation(&doc, r.group, r.kind),
            "{}",
            r.kind
        );
    }
}

#[test]
fn schemas_are_named_like_upstream_and_refs_point_into_components() {
    let doc = v3_group_version("apis/apps/v1").unwrap();
    let schemas = &doc["components"]["schemas"];
    let deploy = &schemas["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        deploy["x-kubernetes-group-version-kind"],
        json!([{"group": "apps", "version": "v1", "kind": "Deployment"}])
    );
    assert!(schemas["io.k8s.api.apps.v1.DeploymentList"].is_object());
    assert!(schemas["io.k8s.api.core.v1.PodSpec"].is_object());
    let text = serde_json::to_string(&doc).unwrap();
    assert!(!text.contains("#/$defs/"));
    for r in text.match_indices("#/components/schemas/") {
        let rest = &text[r.0 + r.1.len()..];
        let name = &rest[..rest.find('"').unwrap()];
        assert!(schemas.get(name).is_some(), "dangling ref {name}");
    }
}

#[test]
fn patch_strategies_come_from_the_merge_key_table() {
    let doc = v3_group_version("api/v1").unwrap();
    let containers =
        &doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    let ports =
        &doc["components"]["schemas"]["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"];
    assert_eq!(ports["x-kubernetes-patch-merge-key"], "port");
}

#[test]
fn paths_follow_upstream_shapes() {
    let doc = v3_group_version("api/v1").unwrap();
    let pods = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"];
    assert_eq!(pods["patch"]["operationId"], "patchCoreV1NamespacedPod");
    assert_eq!(
        doc["paths"]["/api/v1/pods"]["get"]["operationId"],
        "listCoreV1PodForAllNamespaces"
    );
    assert_eq!(
        doc["paths"]["/api/v1/nodes/{name}/status"]["get"]["operationId"],
        "readCoreV1NodeStatus"
    );
    // componentstatuses are read-only.
    assert!(
        doc["paths"]["/api/v1/componentstatuses/{name}"]
            .get("patch")
            .is_none()
    );
    let apps = v3_group_version("apis/apps/v1").unwrap();
    let scale =
        &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"];
    assert_eq!(scale["x-kubernetes-group-version-kind"]["kind"], "Scale");
}
