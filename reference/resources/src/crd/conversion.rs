//! The view upstream's validation has of a v1 CRD: `Convert_v1_CustomResourceDefinitionSpec_
//! To_apiextensions_CustomResourceDefinitionSpec` hoists per-version schemas, subresources
//! and printer columns to the top level when every version has identical ones, which
//! decides the field paths of their errors. Also Go's `%#v` of the internal version list,
//! which `spec.versions` errors print as their value.

use serde_json::Value;

/// Where one per-version part lives after conversion.
pub(crate) struct Part<'a> {
    /// The value (`None` when absent).
    pub value: Option<&'a Value>,
    /// The field path upstream reports it under.
    pub path: String,
}

/// A per-version field and its hoisted name: `("schema", "validation")`,
/// `("subresources", "subresources")`, `("additionalPrinterColumns", ...)`.
pub(crate) struct Hoisted<'a> {
    /// The top-level part (`spec.validation`, ...), when every version carries an
    /// identical value.
    pub top: Option<Part<'a>>,
    /// The per-version parts, indexed like `spec.versions` (values `None` when hoisted).
    pub per_version: Vec<Part<'a>>,
}

pub(crate) fn versions(crd: &Value) -> &[Value] {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Treats an absent field, `null` and (for lists) an empty list alike, as Go's decoder
/// leaves them all as the zero value.
fn present(v: Option<&Value>) -> Option<&Value> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        other => other,
    }
}

pub(crate) fn hoist<'a>(crd: &'a Value, field: &str, top_name: &str) -> Hoisted<'a> {
    let vs = versions(crd);
    let values: Vec<Option<&Value>> = vs.iter().map(|v| present(v.get(field))).collect();
    let identical = !vs.is_empty() && values.iter().all(|v| *v == values[0]);
    let per_version = values
        .iter()
        .enumerate()
        .map(|(i, v)| Part {
            value: if identical { None } else { *v },
            path: format!("spec.versions[{i}].{field}"),
        })
        .collect();
    let top = identical.then(|| Part {
        value: values[0],
        path: format!("spec.{top_name}"),
    });
    Hoisted { top, per_version }
}

/// The subresources a version is served with (top-level after hoisting, else its own).
pub(crate) fn subresources_for(crd: &Value, index: usize) -> Option<&Value> {
    present(versions(crd).get(index).and_then(|v| v.get("subresources")))
}

/// Go's `%#v` of the internal `[]CustomResourceDefinitionVersion` as upstream prints it in
/// `spec.versions` errors. Pointer fields print as addresses in Go, which no client can
/// rely on; they appear here as `(0xc000000000)` when set (after hoisting, a CRD whose
/// versions share schema, subresources and columns has none set, and then the text is
/// exactly upstream's).
pub(crate) fn go_versions(crd: &Value) -> String {
    let Some(list) = crd.pointer("/spec/versions").and_then(Value::as_array) else {
        return "[]apiextensions.CustomResourceDefinitionVersion(nil)".to_string();
    };
    let schema = hoist(crd, "schema", "validation");
    let subs = hoist(crd, "subresources", "subresources");
    let cols = hoist(crd, "additionalPrinterColumns", "additionalPrinterColumns");
    let ptr = |set: bool, ty: &str| {
        if set {
            format!("(*{ty})(0xc000000000)")
        } else {
            format!("(*{ty})(nil)")
        }
    };
    let items: Vec<String> = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let columns = if cols.per_version[i].value.is_some() {
                "[]apiextensions.CustomResourceColumnDefinition{...}".to_string()
            } else {
                "[]apiextensions.CustomResourceColumnDefinition(nil)".to_string()
            };
            let selectable = if present(v.get("selectableFields")).is_some() {
                "[]apiextensions.SelectableField{...}"
            } else {
                "[]apiextensions.SelectableField(nil)"
            };
            format!(
                "apiextensions.CustomResourceDefinitionVersion{{Name:{:?}, Served:{}, Storage:{}, Deprecated:{}, DeprecationWarning:{}, Schema:{}, Subresources:{}, AdditionalPrinterColumns:{}, SelectableFields:{}}}",
                v["name"].as_str().unwrap_or_default(),
                v["served"] == true,
                v["storage"] == true,
                v["deprecated"] == true,
                ptr(v["deprecationWarning"].is_string(), "string"),
                ptr(
                    schema.per_version[i].value.is_some(),
                    "apiextensions.CustomResourceValidation"
                ),
                ptr(
                    subs.per_version[i].value.is_some(),
                    "apiextensions.CustomResourceSubresources"
                ),
                columns,
                selectable,
            )
        })
        .collect();
    format!(
        "[]apiextensions.CustomResourceDefinitionVersion{{{}}}",
        items.join(", ")
    )
}
