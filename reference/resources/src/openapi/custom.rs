//! The OpenAPI v3 document of a custom resource group-version, built from its CRDs'
//! schemas as upstream's apiextensions-apiserver publishes it, so `kubectl explain` and
//! kubectl's client-side checks see custom kinds like built-in ones.

use super::{gvk, list_schema, paths};
use crate::registry::ResourceInfo;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// Upstream's schema name of a custom kind: the group reversed, then version and kind
/// (`example.com`, `v1`, `Foo` → `com.example.v1.Foo`).
pub fn schema_name(r: &ResourceInfo) -> String {
    let reversed: Vec<&str> = r.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), r.version, r.kind)
}

/// The kind's schema with the fields every object has, as upstream adds them.
fn kind_schema(r: &ResourceInfo) -> Value {
    let mut schema = r
        .custom
        .map(|c| c.raw_schema.clone())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    let props = schema
        .as_object_mut()
        .map(|o| o.entry("properties").or_insert_with(|| json!({})));
    if let Some(Value::Object(p)) = props {
        p.insert("apiVersion".into(), json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"}));
        p.insert("kind".into(), json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"}));
        p.insert("metadata".into(), json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}));
    }
    schema["x-kubernetes-group-version-kind"] = json!([gvk(r.group, r.version, r.kind)]);
    schema
}

/// The document of one custom group-version (`kinds` all share it).
pub fn document(kinds: &[&ResourceInfo]) -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    generator.subschema_for::<meta::ObjectMeta>();
    generator.subschema_for::<meta::Status>();
    generator.subschema_for::<meta::DeleteOptions>();
    generator.subschema_for::<meta::Patch>();
    generator.subschema_for::<meta::ListMeta>();
    if kinds.iter().any(|r| r.has_subresource("scale")) {
        generator.subschema_for::<k8s_openapi::api::autoscaling::v1::Scale>();
    }
    let mut schemas: Map<String, Value> = generator.take_definitions(true);
    if let Some(Value::Object(s)) = schemas.get_mut("io.k8s.api.autoscaling.v1.Scale") {
        s.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([gvk("autoscaling", "v1", "Scale")]),
        );
    }
    let mut paths_out = Map::new();
    for r in kinds {
        let name = schema_name(r);
        schemas.insert(name.clone(), kind_schema(r));
        schemas.insert(format!("{name}List"), list_schema(r, &name));
        paths::add(&mut paths_out, r, &name);
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths_out,
        "components": {"schemas": schemas},
    })
}
