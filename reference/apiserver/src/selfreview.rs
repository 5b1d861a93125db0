//! The self-review kubectl calls for `kubectl auth whoami` (SelfSubjectReview). The
//! access reviews (`kubectl auth can-i`) are answered from the rules by
//! [`crate::authz::reviews`].
//!
//! Entry points: [`route`], [`respond`].

use axum::response::Response;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::User;
use crate::status::ApiError;

/// Which review a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Review {
    Subject,
}

/// The review a `POST` to `path` creates, if any.
pub fn route(method: &Method, path: &str) -> Option<Review> {
    if method != Method::POST {
        return None;
    }
    match path.trim_end_matches('/') {
        "/apis/authentication.k8s.io/v1/selfsubjectreviews" => Some(Review::Subject),
        _ => None,
    }
}

/// The answer to one review, as the object with its `status` filled in.
pub fn answer(review: Review, user: &User, _body: &Value) -> Value {
    match review {
        Review::Subject => json!({
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {},
            "status": {"userInfo": user_info(user)},
        }),
    }
}

/// `authentication/v1.UserInfo` as Go writes it: `uid`, `groups` and `extra` are
/// `omitempty`, so an empty one is left out rather than written as `""`.
fn user_info(user: &User) -> Value {
    let mut info = serde_json::Map::new();
    info.insert("username".into(), json!(user.name));
    if !user.uid.is_empty() {
        info.insert("uid".into(), json!(user.uid));
    }
    if !user.groups.is_empty() {
        info.insert("groups".into(), json!(user.groups));
    }
    if !user.extra.is_empty() {
        info.insert("extra".into(), json!(user.extra));
    }
    Value::Object(info)
}

pub fn respond(review: Review, user: &User, body: &[u8]) -> Response {
    let parsed: Result<Value, _> = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(json!({}))
    } else {
        serde_json::from_slice(body)
    };
    match parsed {
        Ok(v) => crate::negotiate::json(StatusCode::CREATED, &answer(review, user, &v)),
        Err(e) => axum::response::IntoResponse::into_response(ApiError::bad_request(format!(
            "error decoding request body: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_answer_for_the_requesting_user() {
        assert_eq!(
            route(
                &Method::POST,
                "/apis/authentication.k8s.io/v1/selfsubjectreviews"
            ),
            Some(Review::Subject)
        );
        assert_eq!(
            route(
                &Method::GET,
                "/apis/authentication.k8s.io/v1/selfsubjectreviews"
            ),
            None
        );
        let who = answer(Review::Subject, &User::admin(), &json!({}));
        assert_eq!(who["status"]["userInfo"]["username"], "system:admin");
    }

    #[test]
    fn empty_user_info_fields_are_left_out_as_go_omits_them() {
        let jane = User {
            name: "jane".into(),
            groups: vec!["devs".into()],
            ..User::default()
        };
        let info = &answer(Review::Subject, &jane, &json!({}))["status"]["userInfo"];
        assert_eq!(info, &json!({"username": "jane", "groups": ["devs"]}));
    }
}
