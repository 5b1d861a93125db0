//! Service accounts the way upstream's bound service account tokens work: the
//! TokenRequest API (`POST .../serviceaccounts/{name}/token`) issues JWTs signed with
//! the server's key and bound to a pod; the authenticator accepts them as
//! `system:serviceaccount:NS:NAME` while the pod and account exist; TokenReview asks
//! the same question over the API; and the ServiceAccount admission plugin gives every
//! pod the projected `kube-api-access-*` volume the kubelet fills.
//!
//! Modules: [`keys`] (PEM keys), [`claims`] (claims and checks, pure), [`tokens`]
//! (sign and verify), [`authenticator`], [`tokenrequest`], [`tokenreview`],
//! [`admission`]. Entry points for the router: [`route`] and [`serve`].

pub mod admission;
pub mod authenticator;
pub mod claims;
pub mod keys;
pub mod tokenrequest;
pub mod tokenreview;
pub mod tokens;

use axum::response::{IntoResponse, Response};
use http::Method;
use serde_json::{Value, json};

use crate::keys as storage;
use crate::state::AppState;
use crate::status::ApiError;

/// A request this module serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `POST /api/v1/namespaces/{namespace}/serviceaccounts/{name}/token`.
    Token { namespace: String, name: String },
    /// `POST /apis/authentication.k8s.io/v1/tokenreviews`.
    Review,
}

/// The request a `POST` to `path` makes, if this module serves it.
pub fn route(method: &Method, path: &str) -> Option<Request> {
    if method != Method::POST {
        return None;
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        [
            "api",
            "v1",
            "namespaces",
            ns,
            "serviceaccounts",
            name,
            "token",
        ] => Some(Request::Token {
            namespace: ns.to_string(),
            name: name.to_string(),
        }),
        ["apis", "authentication.k8s.io", "v1", "tokenreviews"] => Some(Request::Review),
        _ => None,
    }
}

impl Request {
    /// The audit record's `objectRef`.
    pub fn object_ref(&self) -> Value {
        match self {
            Request::Token { namespace, name } => json!({
                "resource": "serviceaccounts", "apiVersion": "v1", "namespace": namespace,
                "name": name, "subresource": "token",
            }),
            Request::Review => json!({
                "resource": "tokenreviews", "apiGroup": "authentication.k8s.io",
                "apiVersion": "v1",
            }),
        }
    }
}

/// Answers one request with its (JSON) body.
pub async fn serve(state: &AppState, request: Request, body: &[u8]) -> Response {
    let parsed: Result<Value, _> = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(json!({}))
    } else {
        serde_json::from_slice(body)
    };
    let body = match parsed {
        Ok(v) => v,
        Err(e) => {
            return ApiError::bad_request(format!("error decoding request body: {e}"))
                .into_response();
        }
    };
    let answer = match request {
        Request::Token { namespace, name } => {
            tokenrequest::create(state, &namespace, &name, &body).await
        }
        Request::Review => tokenreview::create(state, &body).await,
    };
    match answer {
        Ok(obj) => crate::negotiate::json(http::StatusCode::CREATED, &obj),
        Err(e) => e.into_response(),
    }
}

/// The stored object `namespace/name` of core/v1 `plural`, if it exists.
pub(crate) async fn get(
    state: &AppState,
    plural: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<Option<Value>, ApiError> {
    let info = refkube_resources::registry::lookup("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not registered")))?;
    if name.is_empty() {
        return Ok(None);
    }
    match state
        .store
        .get(&storage::key(info, namespace, name))
        .await?
    {
        Some(kv) => storage::decode_kv(info, &kv).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_review_posts_are_routed_and_nothing_else() {
        assert_eq!(
            route(
                &Method::POST,
                "/api/v1/namespaces/ns/serviceaccounts/default/token"
            ),
            Some(Request::Token {
                namespace: "ns".into(),
                name: "default".into()
            })
        );
        assert_eq!(
            route(&Method::POST, "/apis/authentication.k8s.io/v1/tokenreviews"),
            Some(Request::Review)
        );
        assert_eq!(
            route(
                &Method::GET,
                "/api/v1/namespaces/ns/serviceaccounts/default/token"
            ),
            None
        );
        assert_eq!(
            route(&Method::POST, "/api/v1/namespaces/ns/serviceaccounts"),
            None
        );
    }
}
