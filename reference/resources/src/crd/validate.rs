//! Upstream's `ValidateCustomResourceDefinition` and `...Update`
//! (`apiextensions/validation/validation.go`) over the v1 object, with the field paths of
//! the internal version (see `crd/conversion.rs`).
//!
//! Generic ObjectMeta rules (name format, labels, ...) are `crate::validation`'s; the
//! OpenAPI schema checks (structural schema, defaults, CEL) are `crate::structural`'s,
//! fed by [`version_schemas`]. The rest of what upstream checks on the CRD is here, in
//! upstream's order.

use super::conversion::{self, go_versions, hoist, versions};
use super::selectable::selectable_fields;
use super::validate_parts as parts;
use super::validate_tail as tail;
use crate::names::is_dns1035_label;
use crate::validation::{Cause, Errs};
use serde_json::{Value, json};

/// What differs between create and update (upstream's `validationOptions`).
struct Opts {
    /// Every version must carry `schema.openAPIV3Schema` (always on create; on update
    /// only if the old object already satisfied it).
    require_schema: bool,
    /// Webhook conversion must list a ConversionReview version this server knows.
    require_recognized_review_version: bool,
}

/// Each schema the structural check must see, with the field path upstream reports its
/// errors under: one `spec.validation.openAPIV3Schema` when every version shares it,
/// otherwise `spec.versions[i].schema.openAPIV3Schema` per version that has one.
pub fn version_schemas(crd: &Value) -> Vec<(String, Value)> {
    let h = hoist(crd, "schema", "validation");
    let parts = h.top.into_iter().chain(h.per_version);
    parts
        .filter_map(|p| {
            let schema = p.value?.get("openAPIV3Schema").filter(|s| !s.is_null())?;
            Some((format!("{}.openAPIV3Schema", p.path), schema.clone()))
        })
        .collect()
}

/// `ValidateCustomResourceDefinition` (run after defaulting and `prepare_for_create`).
pub fn validate_create(crd: &Value) -> Vec<Cause> {
    let mut errs = Errs::default();
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let required = format!("{}.{}", s(crd, "/spec/names/plural"), s(crd, "/spec/group"));
    // An empty name is the generic ObjectMeta check's to report.
    if !name.is_empty() && name != required {
        errs.invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        );
    }
    let opts = Opts {
        require_schema: true,
        require_recognized_review_version: true,
    };
    spec(crd, &opts, &mut errs);
    common_tail(crd, None, &mut errs);
    errs.0
}

/// `ValidateCustomResourceDefinitionUpdate` (run after `prepare_for_update`).
pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Errs::default();
    let opts = Opts {
        require_schema: all_versions_have_schema(old),
        require_recognized_review_version: tail::has_known_review_version_or_none(old),
    };
    spec(new, &opts, &mut errs);
    if super::names::condition_is_true(old, "Established") {
        immutable(new, old, "/spec/scope", "spec.scope", &mut errs);
        immutable(new, old, "/spec/names/kind", "spec.names.kind", &mut errs);
    }
    immutable(new, old, "/spec/group", "spec.group", &mut errs);
    immutable(
        new,
        old,
        "/spec/names/plural",
        "spec.names.plural",
        &mut errs,
    );
    common_tail(new, Some(old), &mut errs);
    errs.0
}

/// `ValidateUpdateCustomResourceDefinitionStatus` (after `prepare_for_status_update`):
/// only the accepted names are checked.
pub fn validate_status_update(new: &Value) -> Vec<Cause> {
    let mut errs = Errs::default();
    parts::names(
        new.pointer("/status/acceptedNames"),
        "status.acceptedNames",
        &mut errs,
    );
    errs.0
}

/// Status, stored versions, API approval and `preserveUnknownFields`, shared by create
/// and update.
fn common_tail(crd: &Value, old: Option<&Value>, errs: &mut Errs) {
    parts::names(
        crd.pointer("/status/acceptedNames"),
        "status.acceptedNames",
        errs,
    );
    tail::stored_versions(crd, errs);
    tail::api_approval(crd, old, errs);
    let old_preserves =
        old.is_some_and(|o| o.pointer("/spec/preserveUnknownFields") == Some(&json!(true)));
    if !old_preserves && preserves_unknown(crd) {
        errs.invalid(
            "spec.preserveUnknownFields",
            &json!(true),
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        );
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn preserves_unknown(crd: &Value) -> bool {
    crd.pointer("/spec/preserveUnknownFields") == Some(&json!(true))
}

/// `ValidateImmutableField` on a string field (Go compares the empty string for absent).
fn immutable(new: &Value, old: &Value, ptr: &str, field: &str, errs: &mut Errs) {
    let (n, o) = (s(new, ptr), s(old, ptr));
    if n != o {
        errs.invalid(field, &json!(n), "field is immutable");
    }
}

/// `allVersionsSpecifyOpenAPISchema`.
fn all_versions_have_schema(crd: &Value) -> bool {
    versions(crd).iter().all(|v| {
        v.pointer("/schema/openAPIV3Schema")
            .is_some_and(|s| !s.is_null())
    })
}

fn dns1035(value: &str, field: &str, errs: &mut Errs) {
    let msgs = is_dns1035_label(value);
    if !msgs.is_empty() {
        errs.invalid(field, &json!(value), &msgs.join(","));
    }
}

/// `validateCustomResourceDefinitionSpec`.
fn spec(crd: &Value, opts: &Opts, errs: &mut Errs) {
    let group = s(crd, "/spec/group");
    if group.is_empty() {
        errs.required("spec.group", "");
    } else {
        let msgs = crate::names::is_dns1123_subdomain(group);
        if !msgs.is_empty() {
            errs.invalid("spec.group", &json!(group), &msgs.join(","));
        } else if !group.contains('.') {
            errs.invalid(
                "spec.group",
                &json!(group),
                "should be a domain with at least one dot",
            );
        }
    }
    parts::enum_string(
        s(crd, "/spec/scope"),
        "spec.scope",
        &["Cluster", "Namespaced"],
        errs,
    );
    let preserve = preserves_unknown(crd);
    let schemas = hoist(crd, "schema", "validation");
    let has_schema = |p: Option<&Value>| {
        p.and_then(|v| v.get("openAPIV3Schema"))
            .is_some_and(|s| !s.is_null())
    };
    let top_schema = schemas.top.as_ref().is_some_and(|t| has_schema(t.value));
    if !top_schema {
        for (i, v) in versions(crd).iter().enumerate() {
            let field = format!("spec.versions[{i}].schema.openAPIV3Schema");
            let own = has_schema(schemas.per_version[i].value);
            if opts.require_schema && !own {
                errs.required(&field, "");
            } else if !opts.require_schema && !preserve && v["served"] == true && !own {
                errs.required(&field, "because otherwise all fields are pruned");
            }
        }
    }
    let all_schemas = version_schemas(crd);
    if all_schemas
        .iter()
        .any(|(_, s)| parts::schema_has_default(s))
        && preserve
    {
        errs.invalid(
            "spec.preserveUnknownFields",
            &json!(true),
            "must be false in order to use defaults in the schema",
        );
    }
    let subresources = hoist(crd, "subresources", "subresources");
    let columns = hoist(crd, "additionalPrinterColumns", "additionalPrinterColumns");
    let selectable = hoist(crd, "selectableFields", "selectableFields");
    let mut storage = 0;
    let mut seen = std::collections::HashSet::new();
    let mut unique = true;
    for (i, v) in versions(crd).iter().enumerate() {
        if v["storage"] == true {
            storage += 1;
        }
        let name = v["name"].as_str().unwrap_or_default();
        unique &= seen.insert(name);
        dns1035(name, &format!("spec.versions[{i}].name"), errs);
        parts::deprecation_warning(v, &format!("spec.versions[{i}].deprecationWarning"), errs);
        let status = conversion::subresources_for(crd, i).is_some_and(has_status);
        if let Some(schema) = schemas.per_version[i].value {
            parts::schema_root(schema, status, &schemas.per_version[i].path, errs);
        }
        if let Some(sub) = subresources.per_version[i].value {
            parts::subresources(sub, &subresources.per_version[i].path, errs);
        }
        if let Some(cols) = columns.per_version[i].value {
            parts::columns(cols, &columns.per_version[i].path, errs);
        }
        if let Some(fields) = selectable.per_version[i].value {
            let path = &selectable.per_version[i].path;
            match schemas.per_version[i]
                .value
                .and_then(|v| v.get("openAPIV3Schema"))
            {
                Some(schema) if !schema.is_null() => {
                    selectable_fields(list(fields), schema, path, errs)
                }
                // Upstream's message says "not included" where it means "included".
                _ => errs.invalid(
                    path,
                    &json!(""),
                    "may only be set when `version.schema.openAPIV3Schema` is not included",
                ),
            }
        }
    }
    if !unique {
        let rendered = go_versions(crd);
        errs.push_raw(
            "FieldValueInvalid",
            "spec.versions",
            format!("Invalid value: {rendered}: must contain unique version names"),
        );
    }
    if storage != 1 {
        let rendered = go_versions(crd);
        errs.push_raw(
            "FieldValueInvalid",
            "spec.versions",
            format!(
                "Invalid value: {rendered}: must have exactly one version marked as storage version"
            ),
        );
    }
    // The conversion copies versions[0].name into the internal `spec.version`, which is
    // checked again under its own path.
    if let Some(first) = versions(crd).first().and_then(|v| v["name"].as_str())
        && !first.is_empty()
    {
        dns1035(first, "spec.version", errs);
    }
    for (ptr, field) in [
        ("/spec/names/plural", "spec.names.plural"),
        ("/spec/names/singular", "spec.names.singular"),
        ("/spec/names/kind", "spec.names.kind"),
        ("/spec/names/listKind", "spec.names.listKind"),
    ] {
        if s(crd, ptr).is_empty() {
            errs.required(field, "");
        }
    }
    parts::names(crd.pointer("/spec/names"), "spec.names", errs);
    if let Some(top) = &schemas.top
        && let Some(schema) = top.value
    {
        let any_status = versions(crd)
            .iter()
            .any(|v| v.get("subresources").is_some_and(has_status));
        parts::schema_root(schema, any_status, &top.path, errs);
    }
    if let Some(top) = &subresources.top
        && let Some(sub) = top.value
    {
        parts::subresources(sub, &top.path, errs);
    }
    if let Some(top) = &columns.top
        && let Some(cols) = top.value
    {
        parts::columns(cols, &top.path, errs);
    }
    if let Some(top) = &selectable.top
        && let Some(fields) = top.value
    {
        match schemas.top.as_ref().and_then(|t| t.value) {
            Some(validation) => {
                let schema = validation.get("openAPIV3Schema").unwrap_or(&Value::Null);
                selectable_fields(list(fields), schema, &top.path, errs);
            }
            None => errs.invalid(
                &top.path,
                &json!(""),
                "may only be set when validations.schema is included",
            ),
        }
    }
    let strategy = s(crd, "/spec/conversion/strategy");
    if crd
        .pointer("/spec/conversion")
        .is_some_and(|c| !c.is_null())
        && strategy != "None"
        && preserve
    {
        errs.invalid(
            "spec.conversion.strategy",
            &json!(strategy),
            "must be None if spec.preserveUnknownFields is true",
        );
    }
    tail::conversion(crd, opts.require_recognized_review_version, errs);
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn has_status(subresources: &Value) -> bool {
    subresources.get("status").is_some_and(|s| !s.is_null())
}
