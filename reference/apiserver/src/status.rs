//! Kubernetes `Status` errors: the one error type every handler returns, rendered as
//! upstream's `{"kind":"Status",...}` body with its HTTP code.
//!
//! Entry point: [`ApiError`] and its constructors, which copy upstream's
//! `k8s.io/apimachinery/pkg/api/errors` messages word for word. Bodies come in Go's
//! field order (`details` before `code`, as `metav1.Status` declares them).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use refkube_resources::ResourceInfo;
use refkube_resources::types::go;
use refkube_resources::validation::Cause;
use serde_json::{Value, json};

/// A failed request, as a `metav1.Status`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// The HTTP status code (also `status.code`).
    pub code: u16,
    /// The machine-readable reason (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// The human-readable message.
    pub message: String,
    /// `status.details`, when upstream sends one.
    pub details: Option<Value>,
}

fn details(info: &ResourceInfo, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": info.plural});
    if !info.group.is_empty() {
        d["group"] = json!(info.group);
    }
    d
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, d: Value) -> Self {
        self.details = Some(d);
        self
    }

    /// 404 `pods "x" not found`.
    pub fn not_found(info: &ResourceInfo, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} {name:?} not found", info.qualified_resource()),
        )
        .with_details(details(info, name))
    }

    /// 404 for a path that names no served resource.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// 409 `pods "x" already exists`.
    pub fn already_exists(info: &ResourceInfo, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} {name:?} already exists", info.qualified_resource()),
        )
        .with_details(details(info, name))
    }

    /// 409 Conflict with upstream's optimistic-concurrency wording.
    pub fn conflict_modified(info: &ResourceInfo, name: &str) -> Self {
        Self::conflict(
            &info.qualified_resource(),
            info,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 `Operation cannot be fulfilled on {resource} "name": {why}`.
    pub fn conflict(resource: &str, info: &ResourceInfo, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {resource} {name:?}: {why}"),
        )
        .with_details(details(info, name))
    }

    /// 422 Invalid with the field causes from resources::validation.
    pub fn invalid(info: &ResourceInfo, name: &str, causes: &[Cause]) -> Self {
        let message = refkube_resources::validation::invalid_message(info, name, causes);
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        let mut d = json!({"name": name, "kind": info.kind, "causes": causes});
        if !info.group.is_empty() {
            d["group"] = json!(info.group);
        }
        Self::new(422, "Invalid", message).with_details(d)
    }

    /// 422 Invalid on `ListOptions.meta.k8s.io` (resourceVersionMatch rules).
    pub fn invalid_list_options(field: &str, reason: &'static str, message: &str) -> Self {
        let cause_msg = message.to_string();
        Self::new(
            422,
            "Invalid",
            format!("ListOptions.meta.k8s.io \"\" is invalid: {field}: {cause_msg}"),
        )
        .with_details(json!({
            "group": "meta.k8s.io", "kind": "ListOptions",
            "causes": [{"reason": reason, "message": cause_msg, "field": field}]
        }))
    }

    /// 403 `pods "x" is forbidden: why` (or without the name when it is empty).
    pub fn forbidden(info: &ResourceInfo, name: &str, why: &str) -> Self {
        let message = if name.is_empty() {
            format!("{} is forbidden: {why}", info.qualified_resource())
        } else {
            format!("{} {name:?} is forbidden: {why}", info.qualified_resource())
        };
        Self::new(403, "Forbidden", message).with_details(details(info, name))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml",
        )
    }

    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 413 for a body over the size limit.
    pub fn too_large(limit: usize) -> Self {
        Self::entity_too_large(format!("limit is {limit}"))
    }

    /// 413 `Request entity too large: {why}` (upstream's `NewRequestEntityTooLargeError`).
    pub fn entity_too_large(why: impl std::fmt::Display) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: {why}"),
        )
    }

    /// 410 Expired (`too old resource version: X (Y)` and friends).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 504 Timeout (a resourceVersion newer than the store has seen).
    pub fn too_large_resource_version(requested: i64, current: i64) -> Self {
        Self::new(
            504,
            "Timeout",
            format!("Too large resource version: {requested}, current: {current}"),
        )
        .with_details(json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}))
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        )
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// The `metav1.Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        go::normalize_as("meta/v1.Status", &mut s);
        s
    }
}

/// A `Status` reporting success (delete of non-pod kinds, binding, eviction).
pub fn success(code: u16, details: Option<Value>) -> Value {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    if let Some(d) = details {
        s["details"] = d;
    }
    if code != 200 {
        s["code"] = json!(code);
    }
    go::normalize_as("meta/v1.Status", &mut s);
    s
}

impl From<refkube_store::StoreError> for ApiError {
    fn from(e: refkube_store::StoreError) -> Self {
        use refkube_store::StoreError as E;
        match e {
            E::Unavailable(m) => Self::service_unavailable(format!("store unavailable: {m}")),
            // etcd's own "etcdserver: request timed out" / "no leader", which upstream
            // returns as a 500 with that message.
            E::Timeout(m) => Self::internal(m),
            // Upstream passes etcd's "request is too large" on as a 500 (kubernetes#112152);
            // it is the request's fault and retrying cannot help, so 413 as for a body
            // over the limit.
            E::TooLarge(m) => Self::entity_too_large(m),
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = crate::negotiate::json_bytes(&self.to_status()).unwrap_or_default();
        let mut resp = (
            code,
            [(http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        // Upstream's writer turns details.retryAfterSeconds into the header clients obey.
        let retry = self
            .details
            .as_ref()
            .and_then(|d| d["retryAfterSeconds"].as_i64());
        if let Some(secs) = retry.filter(|s| *s > 0) {
            resp.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods() -> &'static ResourceInfo {
        refkube_resources::registry::lookup("", "v1", "pods").unwrap()
    }

    #[test]
    fn not_found_names_the_resource_and_carries_details() {
        let s = ApiError::not_found(pods(), "x").to_status();
        assert_eq!(s["message"], "pods \"x\" not found");
        assert_eq!(s["details"], json!({"name": "x", "kind": "pods"}));
        assert_eq!(s["code"], 404);
    }

    #[test]
    fn conflict_uses_upstreams_optimistic_concurrency_message() {
        let e = ApiError::conflict_modified(pods(), "x");
        assert_eq!(
            e.message,
            "Operation cannot be fulfilled on pods \"x\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_eq!(e.code, 409);
    }

    #[test]
    fn forbidden_without_name_omits_it() {
        let e = ApiError::forbidden(pods(), "", "because");
        assert_eq!(e.message, "pods is forbidden: because");
    }
}
