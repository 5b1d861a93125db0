//! The OpenAPI v3 documents kubectl reads (`/openapi/v3` and one per group-version),
//! generated from the k8s-openapi types' schemas and the registry, with the
//! `x-kubernetes-group-version-kind` and patch-strategy extensions kubectl looks for.
//!
//! Entry points: [`v3_index`], [`v3_group_version`], [`v3_hash`].
//!
//! kubectl 1.32's `QueryParamVerifierV3` fetches the index, follows the group-version's
//! `serverRelativeURL`, and looks for a PATCH operation whose
//! `x-kubernetes-group-version-kind` is the object's and which lists a `fieldValidation`
//! query parameter; only then does it ask the server for strict validation. `kubectl
//! explain` finds schemas in `components.schemas` by the same extension.

pub mod custom;
mod paths;

use crate::registry::{self, ResourceInfo};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Upstream's document path of a group-version: `api/v1`, `apis/apps/v1`.
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Every group-version document with its hash, built once.
fn documents() -> &'static BTreeMap<String, (Value, String)> {
    static DOCS: OnceLock<BTreeMap<String, (Value, String)>> = OnceLock::new();
    DOCS.get_or_init(|| {
        registry::group_versions()
            .into_iter()
            .map(|(g, v)| {
                let doc = build(g, v);
                let hash = hash_of(&doc);
                (gv_path(g, v), (doc, hash))
            })
            .collect()
    })
}

/// Upstream's hash of a document: uppercase hex SHA-512 of its serialised form.
fn hash_of(doc: &Value) -> String {
    let bytes = serde_json::to_vec(doc).unwrap_or_default();
    Sha512::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The `/openapi/v3` index: `{"paths": {"api/v1": {"serverRelativeURL": ...}, ...}}`.
pub fn v3_index() -> serde_json::Value {
    v3_index_with(&[])
}

/// The index with the custom kinds' group-versions too.
pub fn v3_index_with(custom: &[&'static ResourceInfo]) -> serde_json::Value {
    let mut paths: Map<String, Value> = documents()
        .iter()
        .map(|(path, (_, hash))| {
            (
                path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
            )
        })
        .collect();
    for (path, doc) in custom_documents(custom) {
        let hash = hash_of(&doc);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
        );
    }
    json!({ "paths": paths })
}

/// One document per custom group-version.
fn custom_documents(custom: &[&'static ResourceInfo]) -> BTreeMap<String, Value> {
    let mut by_gv: BTreeMap<String, Vec<&ResourceInfo>> = BTreeMap::new();
    for r in custom {
        by_gv
            .entry(gv_path(r.group, r.version))
            .or_default()
            .push(r);
    }
    by_gv
        .into_iter()
        .map(|(path, kinds)| (path, custom::document(&kinds)))
        .collect()
}

/// [`v3_group_version`] with the custom kinds' documents.
pub fn v3_group_version_with(path: &str, custom: &[&'static ResourceInfo]) -> Option<Value> {
    let path = path.trim_matches('/');
    v3_group_version(path).or_else(|| {
        let kinds: Vec<&'static ResourceInfo> = custom
            .iter()
            .filter(|r| gv_path(r.group, r.version) == path)
            .copied()
            .collect();
        (!kinds.is_empty()).then(|| custom::document(&kinds))
    })
}

/// The document for one group-version path such as `api/v1` or `apis/apps/v1`.
pub fn v3_group_version(path: &str) -> Option<serde_json::Value> {
    documents()
        .get(path.trim_matches('/'))
        .map(|(doc, _)| doc.clone())
}

/// The hash of a group-version document (as in its `serverRelativeURL`), so the server
/// can answer `?hash=` requests as immutable.
pub fn v3_hash(path: &str) -> Option<String> {
    documents()
        .get(path.trim_matches('/'))
        .map(|(_, hash)| hash.clone())
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

fn build(group: &str, version: &str) -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    generator.subschema_for::<meta::Status>();
    generator.subschema_for::<meta::DeleteOptions>();
    generator.subschema_for::<meta::Patch>();
    generator.subschema_for::<meta::ListMeta>();
    let resources: Vec<&ResourceInfo> = registry::all()
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if resources.iter().any(|r| r.has_subresource("scale")) {
        generator.subschema_for::<k8s_openapi::api::autoscaling::v1::Scale>();
    }
    let mut kinds = Vec::new();
    for r in &resources {
        if let Some(t) = crate::types::type_fns(r) {
            let name = (t.register)(&mut generator);
            kinds.push((*r, name));
        }
    }
    let mut schemas = generator.take_definitions(true);
    for (r, name) in &kinds {
        if let Some(Value::Object(s)) = schemas.get_mut(name) {
            s.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([gvk(r.group, r.version, r.kind)]),
            );
        }
        // Create-only kinds (the reviews) have no list type.
        if r.verbs.contains(&"list") {
            let list_name = format!("{}List", name);
            schemas.insert(list_name, list_schema(r, name));
        }
    }
    if let Some(Value::Object(s)) = schemas.get_mut("io.k8s.api.autoscaling.v1.Scale") {
        s.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([gvk("autoscaling", "v1", "Scale")]),
        );
    }
    add_patch_extensions(&mut schemas);
    let mut paths = Map::new();
    for (r, name) in &kinds {
        paths::add(&mut paths, r, name);
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

fn list_schema(r: &ResourceInfo, item: &str) -> Value {
    json!({
        "description": format!("{} is a list of {}.", r.list_kind(), r.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."},
            "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
            "kind": {"type": "string", "description": "Kind is a string value representing the REST resource this object represents."},
            "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}], "default": {}},
        },
        "x-kubernetes-group-version-kind": [gvk(r.group, r.version, &r.list_kind())],
    })
}

/// Adds `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` from the single
/// merge-key table in `patch::strategy`.
fn add_patch_extensions(schemas: &mut Map<String, Value>) {
    for (name, schema) in schemas.iter_mut() {
        let short = name.rsplit('.').next().unwrap_or(name);
        for (ty, field, strategy) in crate::patch::strategy::TABLE {
            if *ty != short {
                continue;
            }
            if let Some(Value::Object(prop)) = schema.pointer_mut(&format!("/properties/{field}")) {
                prop.insert(
                    "x-kubernetes-patch-strategy".into(),
                    json!(strategy.strategy),
                );
                if let Some(key) = strategy.merge_key {
                    prop.insert("x-kubernetes-patch-merge-key".into(), json!(key));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
