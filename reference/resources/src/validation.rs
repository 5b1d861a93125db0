//! Validation with upstream's field errors: names, labels, annotations, and the
//! per-kind rules the chapter relies on.
//!
//! Entry points: [`validate_create`], [`validate_update`], [`invalid_message`].
//! Metadata rules live in `validation/meta.rs`, pods in `validation/pod.rs`,
//! controllers in `validation/workloads.rs`, ConfigMap and Secret sizes in
//! `validation/config_data.rs`, RBAC roles and bindings in `validation/rbac.rs`,
//! services and the rest in `validation/service.rs`, CertificateSigningRequests in
//! `validation/certificates.rs`.

pub(crate) mod certificates;
pub(crate) mod config_data;
pub(crate) mod cronjob;
mod ephemeral;
mod meta;
pub(crate) mod pod;
pub(crate) mod policy;
pub(crate) mod rbac;
pub(crate) mod service;
pub(crate) mod workloads;

use crate::ResourceInfo;
use serde_json::Value;

/// One field error, as a `StatusCause` carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`,
    /// `FieldValueForbidden`, `FieldValueDuplicate`, `FieldValueTooLong`, ...
    pub reason: &'static str,
    /// The cause message, e.g. `Invalid value: "Foo": a lowercase RFC 1123 subdomain ...`.
    pub message: String,
    /// The field path, e.g. `metadata.name`, `spec.containers[0].image`.
    pub field: String,
}

/// Collects field errors with upstream's `field.Error` wording (`ErrorBody`).
#[derive(Default)]
pub(crate) struct Errs(pub Vec<Cause>);

impl Errs {
    /// Adds a cause with a ready-made message (for values Go prints specially).
    pub fn push_raw(&mut self, reason: &'static str, field: &str, message: String) {
        self.push(reason, field, message);
    }
    fn push(&mut self, reason: &'static str, field: &str, message: String) {
        self.0.push(Cause {
            reason,
            message,
            field: field.to_string(),
        });
    }
    fn with_detail(head: String, detail: &str) -> String {
        if detail.is_empty() {
            head
        } else {
            format!("{head}: {detail}")
        }
    }
    pub fn required(&mut self, field: &str, detail: &str) {
        self.push(
            "FieldValueRequired",
            field,
            Self::with_detail("Required value".into(), detail),
        );
    }
    pub fn invalid(&mut self, field: &str, value: &Value, detail: &str) {
        self.push(
            "FieldValueInvalid",
            field,
            Self::with_detail(format!("Invalid value: {}", go(value)), detail),
        );
    }
    pub fn not_supported(&mut self, field: &str, value: &Value, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let head = format!("Unsupported value: {}", go(value));
        self.push(
            "FieldValueNotSupported",
            field,
            format!("{head}: supported values: {}", list.join(", ")),
        );
    }
    pub fn forbidden(&mut self, field: &str, detail: &str) {
        self.push(
            "FieldValueForbidden",
            field,
            Self::with_detail("Forbidden".into(), detail),
        );
    }
    pub fn duplicate(&mut self, field: &str, value: &Value) {
        self.push(
            "FieldValueDuplicate",
            field,
            format!("Duplicate value: {}", go(value)),
        );
    }
    pub fn not_found(&mut self, field: &str, value: &Value) {
        self.push(
            "FieldValueNotFound",
            field,
            format!("Not found: {}", go(value)),
        );
    }
    pub fn too_long(&mut self, field: &str, max: usize) {
        self.push(
            "FieldValueTooLong",
            field,
            format!("Too long: must have at most {max} bytes"),
        );
    }
    /// `ValidateNonnegativeField`.
    pub fn non_negative(&mut self, obj: &Value, ptr: &str, field: &str) {
        if let Some(n) = obj.pointer(ptr).and_then(Value::as_i64).filter(|n| *n < 0) {
            self.invalid(field, &Value::from(n), "must be greater than or equal to 0");
        }
    }
    /// `ValidateImmutableField`.
    pub fn immutable(&mut self, old: Option<&Value>, new: Option<&Value>, field: &str) {
        let norm = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
        if norm(old) != norm(new) {
            self.invalid(field, new.unwrap_or(&Value::Null), "field is immutable");
        }
    }
}

/// Go's rendering of a bad value: strings quoted, maps and lists as `%#v` of their Go
/// types (`map[string]string{"a":"b"}`, `[]string{"x"}`), numbers plain.
pub(crate) fn go(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".to_string(),
        Value::Object(m) if m.values().all(Value::is_string) => {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}:{}", go(v))).collect();
            format!("map[string]string{{{}}}", parts.join(", "))
        }
        Value::Array(a) if a.iter().all(Value::is_string) => {
            format!(
                "[]string{{{}}}",
                a.iter().map(go).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// Joins a field path and a child name.
pub(crate) fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

pub(crate) fn str_at<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

pub(crate) fn arr_at<'a>(obj: &'a Value, ptr: &str) -> &'a [Value] {
    obj.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Validates a new object of `info`'s kind (after defaulting): metadata as every kind's,
/// then the kind's own rules.
pub fn validate_create(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    let mut errs = Errs::default();
    meta::object_meta(info, obj, &mut errs);
    errs.0.extend(info.strategy.validate_create(obj));
    errs.0
}

/// Validates an update, including fields that are immutable after create.
pub fn validate_update(info: &ResourceInfo, old: &Value, new: &Value) -> Vec<Cause> {
    let mut errs = Errs::default();
    meta::object_meta(info, new, &mut errs);
    meta::object_meta_update(old, new, &mut errs);
    errs.0.extend(info.strategy.validate_update(old, new));
    errs.0
}

/// The `pods/ephemeralcontainers` update of `old` into `new` (upstream's
/// `ValidatePodEphemeralContainersUpdate`): metadata as any update, then only the
/// ephemeral containers.
pub fn validate_ephemeral_containers_update(old: &Value, new: &Value) -> Vec<Cause> {
    let mut errs = Errs::default();
    meta::object_meta_update(old, new, &mut errs);
    ephemeral::update(old, new, &mut errs);
    errs.0
}

/// The message of the 422 Invalid Status: `Pod "x" is invalid: [spec.containers:
/// Required value, ...]` (no brackets for a single cause), as upstream's `NewInvalid`.
pub fn invalid_message(info: &ResourceInfo, name: &str, causes: &[Cause]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in causes {
        // Upstream's aggregate drops repeated messages.
        let part = format!("{}: {}", c.field, c.message);
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    let joined = if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("[{}]", parts.join(", "))
    };
    format!(
        "{} {:?} is invalid: {}",
        info.qualified_kind(),
        name,
        joined
    )
}

#[cfg(test)]
mod tests;
