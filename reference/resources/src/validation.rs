//! Validation with upstream's field errors: names, labels, annotations, and the
//! per-kind rules the chapter relies on.
//!
//! Entry points: [`validate_create`], [`validate_update`], [`invalid_message`].

use crate::ResourceInfo;

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

pub fn validate_create(_info: &ResourceInfo, _obj: &serde_json::Value) -> Vec<Cause> {
    Vec::new()
}

/// Validates an update, including fields that are immutable after create.
pub fn validate_update(
    _info: &ResourceInfo,
    _old: &serde_json::Value,
    _new: &serde_json::Value,
) -> Vec<Cause> {
    Vec::new()
}

/// The message of the 422 Invalid Status: `Pod "x" is invalid: [spec.containers:
/// Required value, ...]` (no brackets for a single cause), as upstream's `NewInvalid`.
pub fn invalid_message(info: &ResourceInfo, name: &str, causes: &[Cause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
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
