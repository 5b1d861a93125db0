//! Kinds defined at run time by CustomResourceDefinitions: their registry entries and
//! their strategy (defaults, validation and pruning from the CRD's structural schema,
//! printer columns, the scale subresource).
//!
//! Entry points: [`served_kinds`] turns an Established CRD into the registry entries of
//! its served versions. Each entry's [`Strategy`] is its [`CustomKind`], the same
//! interface built-in kinds implement in `kinds/`, so every pure function of this crate
//! treats both alike.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use chrono::{DateTime, Utc};

use crate::ResourceInfo;
use crate::strategy::Strategy;
use crate::table::IncludeObject;
use crate::validation::Cause;

/// What a CRD says about one served version of its kind.
#[derive(Debug)]
pub struct CustomKind {
    /// The CRD's name: `<plural>.<group>`.
    pub crd_name: String,
    /// The version's `openAPIV3Schema` (the root of the structural schema).
    pub schema: Option<crate::structural::Schema>,
    /// The raw schema, for the OpenAPI documents `kubectl explain` reads.
    pub raw_schema: Value,
    /// `additionalPrinterColumns` of the version.
    pub columns: Vec<crate::crd::Column>,
    /// `subresources.scale` of the version, when served.
    pub scale: Option<crate::crd::ScaleSpec>,
    /// Whether this version is the storage version.
    pub storage: bool,
    /// `group/version` objects of every version are stored as (conversion strategy
    /// None: only `apiVersion` differs between versions).
    pub storage_api_version: String,
    /// The labels `?fieldSelector=` accepts: `metadata.name`, `metadata.namespace` for
    /// namespaced kinds, then the version's `selectableFields` (without the leading dot).
    pub selectable: &'static [&'static str],
}

// Two kinds are the same kind exactly when they are the same interned entry.
impl PartialEq for CustomKind {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for CustomKind {}

/// Verbs a custom resource serves (upstream: every standard verb).
const VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_list(v: &Value) -> &'static [&'static str] {
    let items: Vec<&'static str> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(leak).collect())
        .unwrap_or_default();
    Box::leak(items.into_boxed_slice())
}

/// The registry entries of every served version of an Established CRD, storage version
/// first. Names are the CRD's accepted names (what the naming controller granted).
///
/// Entries are interned by the CRD's content: kinds are referenced as
/// `&'static ResourceInfo` on every request path and by watch caches that outlive any
/// request, so each distinct definition is allocated once and kept. Definitions change
/// rarely (each change of a CRD's spec costs one entry); identical definitions seen again
/// (a re-sync, a second API server in the same process) cost nothing.
pub fn served_kinds(crd: &Value) -> Vec<&'static ResourceInfo> {
    type Interned = Mutex<HashMap<String, &'static ResourceInfo>>;
    static INTERNED: OnceLock<Interned> = OnceLock::new();
    let interned = INTERNED.get_or_init(Default::default);
    let spec = &crd["spec"];
    let names = match crd.pointer("/status/acceptedNames/plural") {
        Some(Value::String(p)) if !p.is_empty() => &crd["status"]["acceptedNames"],
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let mut ordered: Vec<&Value> = versions.iter().filter(|v| v["storage"] == true).collect();
    ordered.extend(versions.iter().filter(|v| v["storage"] != true));
    for v in ordered {
        if v["served"] != true {
            continue;
        }
        let version = v["name"].as_str().unwrap_or_default();
        let key = serde_json::to_string(&(crd.pointer("/metadata/name"), spec, names, version))
            .unwrap_or_default();
        let Ok(mut map) = interned.lock() else {
            return out;
        };
        if let Some(hit) = map.get(&key) {
            out.push(*hit);
            continue;
        }
        let info: &'static ResourceInfo = Box::leak(Box::new(build(crd, names, v)));
        map.insert(key, info);
        out.push(info);
    }
    out
}

fn build(crd: &Value, names: &Value, v: &Value) -> ResourceInfo {
    let spec = &crd["spec"];
    let raw_schema = v
        .pointer("/schema/openAPIV3Schema")
        .cloned()
        .unwrap_or(Value::Null);
    let has_status = v.pointer("/subresources/status").is_some();
    let version = v["name"].as_str().unwrap_or_default();
    let scale = crate::crd::scale_spec(crd, version);
    let subresources: &'static [&'static str] = match (has_status, scale.is_some()) {
        (true, true) => &["status", "scale"],
        (true, false) => &["status"],
        (false, true) => &["scale"],
        (false, false) => &[],
    };
    let kind = CustomKind {
        selectable: selectable_labels(spec["scope"] != "Cluster", v),
        crd_name: crd
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        schema: (!raw_schema.is_null()).then(|| crate::structural::Schema::from_value(&raw_schema)),
        raw_schema,
        columns: crate::crd::printer_columns(crd, version),
        scale,
        storage: v["storage"] == true,
        storage_api_version: format!(
            "{}/{}",
            spec["group"].as_str().unwrap_or_default(),
            spec["versions"]
                .as_array()
                .and_then(|vs| vs.iter().find(|x| x["storage"] == true))
                .and_then(|x| x["name"].as_str())
                .unwrap_or(version)
        ),
    };
    let s = |k: &str| names[k].as_str().unwrap_or_default();
    let kind: &'static CustomKind = Box::leak(Box::new(kind));
    ResourceInfo {
        group: leak(spec["group"].as_str().unwrap_or_default()),
        version: leak(version),
        kind: leak(s("kind")),
        plural: leak(s("plural")),
        singular: leak(s("singular")),
        namespaced: spec["scope"] != "Cluster",
        short_names: leak_list(&names["shortNames"]),
        categories: leak_list(&names["categories"]),
        subresources,
        verbs: VERBS,
        custom: Some(kind),
        strategy: kind,
    }
}

/// `crConverter.ConvertFieldLabel`: the field labels a custom resource's list accepts.
fn selectable_labels(namespaced: bool, version: &Value) -> &'static [&'static str] {
    let mut labels: Vec<&'static str> = vec!["metadata.name"];
    if namespaced {
        labels.push("metadata.namespace");
    }
    let declared = version["selectableFields"].as_array().into_iter().flatten();
    for path in declared.filter_map(|f| f["jsonPath"].as_str()) {
        labels.push(leak(path.strip_prefix('.').unwrap_or(path)));
    }
    Box::leak(labels.into_boxed_slice())
}

impl CustomKind {
    /// Upstream's structural defaulting, applied to a request's object.
    pub fn apply_defaults(&self, obj: &mut Value) {
        if let Some(s) = &self.schema {
            crate::structural::apply_defaults(obj, s);
        }
    }

    /// Drops fields the schema does not know; returns upstream's complaints about them
    /// (`unknown field "spec.foo"`) for fieldValidation Strict and Warn.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        match &self.schema {
            Some(s) => crate::structural::prune(obj, s, true)
                .into_iter()
                .map(|p| format!("unknown field {p:?}"))
                .collect(),
            None => Vec::new(),
        }
    }

    /// The schema's validation of an object (its metadata is validated as any kind's).
    pub fn validate(&self, obj: &Value) -> Vec<Cause> {
        match &self.schema {
            Some(s) => crate::structural::validate(obj, s),
            None => Vec::new(),
        }
    }

    /// The schema's validation, then its validation rules (`x-kubernetes-validations`)
    /// with `old` for transition rules. As upstream, rules are not evaluated over an
    /// object whose types are already wrong; a note says so instead.
    pub fn validate_with_rules(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = self.validate(obj);
        if !crate::structural::has_rules(&self.raw_schema) {
            return causes;
        }
        let blocking = causes
            .iter()
            .any(|c| matches!(c.reason, "FieldValueTypeInvalid" | "FieldValueNotSupported"));
        if blocking {
            let mut errs = crate::validation::Errs::default();
            errs.invalid(
                "<nil>",
                &Value::Null,
                "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
            );
            causes.extend(errs.0);
        } else {
            causes.extend(crate::structural::validate_rules(
                &self.raw_schema,
                obj,
                old,
            ));
        }
        causes
    }
}

/// The customresource strategy of apiextensions-apiserver: the schema's defaults and
/// validation, the CRD's printer columns, generation counting everything but metadata
/// (and status when it is a subresource), storage under the group's directory.
impl Strategy for CustomKind {
    fn defaults(&self, obj: &mut Value, _cfg: &crate::defaults::DefaultsConfig) {
        self.apply_defaults(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        self.validate_with_rules(obj, None)
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        self.validate_with_rules(new, Some(old))
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        self.selectable
    }

    /// A declared field's value as upstream's field set holds it: strings as they are,
    /// integers and booleans printed (an absent field is the empty string).
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        let at = obj.pointer(&format!("/{}", field.replace('.', "/")));
        Some(match at {
            Some(Value::String(s)) => s.clone(),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            _ => String::new(),
        })
    }

    fn generation_changed(&self, info: &ResourceInfo, old: &Value, new: &Value) -> bool {
        let strip = |o: &Value| {
            let mut o = o.clone();
            if let Some(m) = o.as_object_mut() {
                m.remove("metadata");
                if info.has_subresource("status") {
                    m.remove("status");
                }
            }
            o
        };
        strip(old) != strip(new)
    }

    fn table(&self, items: &[Value], include: IncludeObject, now: DateTime<Utc>) -> Option<Value> {
        let rows: Vec<Value> = items
            .iter()
            .map(|item| {
                let mut row =
                    serde_json::json!({"cells": crate::crd::row_cells(item, &self.columns, now)});
                crate::table::include_object(&mut row, item, include);
                row
            })
            .collect();
        Some(serde_json::json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {},
            "columnDefinitions": crate::crd::column_definitions(&self.columns),
            "rows": rows,
        }))
    }

    /// As upstream's apiextensions-apiserver keys them: the group comes first.
    fn storage_dir(&self, info: &ResourceInfo) -> String {
        format!("{}/{}", info.group, info.plural)
    }
}
