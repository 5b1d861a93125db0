//! Server-side printing: the `meta.k8s.io/v1 Table` responses `kubectl get` asks for,
//! with upstream's column definitions per kind (priority 1 columns are `-o wide`).
//!
//! Entry point: [`to_table`].

use crate::ResourceInfo;

/// What each row's `object` carries (`?includeObject=`; upstream's default is Metadata).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

/// Renders `items` as a Table. `now` is the reference time for AGE columns.
/// The result has `kind: Table`, `apiVersion: meta.k8s.io/v1`, `columnDefinitions`
/// and `rows`; the caller sets `metadata.resourceVersion` / `continue`.
pub fn to_table(
    _info: &ResourceInfo,
    _items: &[serde_json::Value],
    _include: IncludeObject,
    _now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    serde_json::json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "columnDefinitions": [], "rows": []})
}
