//! JSON patch (RFC 6902) with upstream's limits: at most
//! [`MAX_JSON_PATCH_OPERATIONS`] operations (413), and `copy` operations that together
//! add at most [`JSON_PATCH_MAX_COPY_BYTES`] (422, evanphx/json-patch's
//! `AccumulatedCopySizeError`, which kube-apiserver returns as is).
//!
//! Entry point: [`apply`]. Without the copy limit 18 operations that each copy a list
//! into itself turn 1 KiB into 256 MiB.

use json_patch::PatchOperation;
use serde_json::Value;

use super::{PatchError, bad_request, unprocessable};
use crate::limits::{JSON_PATCH_MAX_COPY_BYTES, MAX_JSON_PATCH_OPERATIONS, json_size};

/// Applies the JSON patch `patch` to a copy of `original`.
pub fn apply(original: &Value, patch: &[u8]) -> Result<Value, PatchError> {
    let ops: json_patch::Patch =
        serde_json::from_slice(patch).map_err(|e| bad_request(e.to_string()))?;
    if ops.0.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError {
            code: 413,
            message: format!(
                "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                ops.0.len()
            ),
        });
    }
    let mut doc = original.clone();
    let mut copied = 0usize;
    for (i, op) in ops.0.iter().enumerate() {
        if let PatchOperation::Copy(c) = op
            && let Some(source) = doc.pointer(c.from.as_str())
        {
            // Charged before the copy is made, so the limit is never overshot in memory.
            copied = copied.saturating_add(json_size(source));
            if copied > JSON_PATCH_MAX_COPY_BYTES {
                return Err(unprocessable(format!(
                    "Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {JSON_PATCH_MAX_COPY_BYTES}"
                )));
            }
        }
        // One operation at a time on a scratch copy: a failure discards `doc`, so the
        // crate's undo log is not needed.
        json_patch::patch_unsafe(&mut doc, std::slice::from_ref(op)).map_err(|e| {
            unprocessable(format!(
                "operation '/{i}' failed at path '{}': {}",
                e.path, e.kind
            ))
        })?;
    }
    Ok(doc)
}
