//! The patch types of PATCH requests: JSON patch (RFC 6902), JSON merge patch (RFC
//! 7386), and strategic merge patch as kubectl sends it (merge keys per field, the
//! `$patch`, `$setElementOrder`, `$deleteFromPrimitiveList` and `$retainKeys`
//! directives).
//!
//! Entry point: [`apply_patch`]. The merge-key table is [`strategy::TABLE`]. What a
//! patch may make the server build is bounded: JSON patch by upstream's operation and
//! copy limits (`json.rs`); merge and strategic merge patches have no operator that
//! repeats data, so their result is at most the object plus the patch (itself within
//! the request body limit); an apply patch is YAML, whose aliases are charged by
//! [`crate::decode::yaml_value`].
//!
//! Server-side apply (field ownership, conflicts, removal of fields no longer applied)
//! is `crate::managedfields`; here only [`applied_configuration`] reads its body. The
//! `PatchKind::Apply` arm of [`apply_patch`] merges it like a strategic merge patch,
//! for callers that want a merge without ownership.

mod json;
mod smp;
pub mod strategy;

use crate::ResourceInfo;
use serde_json::Value;

/// The PATCH request's Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// application/json-patch+json
    Json,
    /// application/merge-patch+json
    Merge,
    /// application/strategic-merge-patch+json
    StrategicMerge,
    /// application/apply-patch+yaml (server-side apply)
    Apply,
}

impl PatchKind {
    /// The kind for a request Content-Type (parameters such as `; charset=utf-8` ignored).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// A patch that cannot be applied; the API server returns 400, 413 or 422 as upstream
/// does (`code` says which).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct PatchError {
    /// HTTP code upstream uses for this failure: 400 (malformed), 413 (too many JSON
    /// patch operations) or 422 (cannot apply).
    pub code: u16,
    pub message: String,
}

fn bad_request(message: impl Into<String>) -> PatchError {
    PatchError {
        code: 400,
        message: message.into(),
    }
}

fn unprocessable(message: impl Into<String>) -> PatchError {
    PatchError {
        code: 422,
        message: message.into(),
    }
}

/// Applies `patch` to `original`, returning the patched object (not yet validated).
pub fn apply_patch(
    info: &ResourceInfo,
    kind: PatchKind,
    original: &serde_json::Value,
    patch: &[u8],
) -> Result<serde_json::Value, PatchError> {
    match kind {
        PatchKind::Json => json::apply(original, patch),
        PatchKind::Merge => {
            let p: Value = serde_json::from_slice(patch).map_err(|e| bad_request(e.to_string()))?;
            let mut doc = original.clone();
            json_patch::merge(&mut doc, &p);
            Ok(doc)
        }
        PatchKind::StrategicMerge => {
            let p: Value = serde_json::from_slice(patch).map_err(|e| bad_request(e.to_string()))?;
            strategic(info, original, &p)
        }
        PatchKind::Apply => {
            let p = applied_configuration(info, patch)?;
            strategic(info, original, &p)
        }
    }
}

/// The configuration of an apply patch: a YAML (or JSON) object of the path's kind and
/// version (400 otherwise). Server-side apply itself is `crate::managedfields::apply`.
pub fn applied_configuration(info: &ResourceInfo, patch: &[u8]) -> Result<Value, PatchError> {
    let p = crate::decode::yaml_value(patch)
        .map_err(|e| bad_request(format!("error decoding YAML: {e}")))?;
    if !p.is_object() {
        return Err(bad_request("apply patch must be an object"));
    }
    for (field, want) in [
        ("apiVersion", info.api_version()),
        ("kind", info.kind.to_string()),
    ] {
        match p.get(field).and_then(Value::as_str) {
            Some(v) if v == want => {}
            Some(v) => {
                return Err(bad_request(format!(
                    "{field} of the applied configuration ({v}) does not match {want}"
                )));
            }
            None => {
                return Err(bad_request(format!(
                    "{field} must be set in the applied configuration"
                )));
            }
        }
    }
    Ok(p)
}

fn strategic(info: &ResourceInfo, original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let schema = crate::types::schema(info);
    smp::apply(original, patch, schema.as_deref()).map_err(|e| PatchError {
        code: if e.bad { 400 } else { 422 },
        message: e.message,
    })
}

/// Applies a strategic merge patch given as a JSON value (for callers that already
/// parsed it, such as the apply path of other crates).
pub fn strategic_merge(
    info: &ResourceInfo,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    strategic(info, original, patch)
}

#[cfg(test)]
mod tests;
