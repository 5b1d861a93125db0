//! TokenReview (`POST /apis/authentication.k8s.io/v1/tokenreviews`): whether a bearer
//! token authenticates, and as whom, for the audiences asked (default the server's).
//! Service account tokens are checked for those audiences; token-file tokens know no
//! audience and count for the server's own, as upstream's audience-agnostic wrapper.
//!
//! Entry point: [`create`].

use serde_json::{Value, json};

use crate::auth::User;
use crate::state::AppState;
use crate::status::ApiError;

/// The review's status for a user (or a failure) and the audiences it holds for.
fn status(result: Result<(User, Vec<String>), String>) -> Value {
    match result {
        Ok((u, audiences)) => json!({
            "authenticated": true,
            "user": {"username": u.name, "uid": u.uid, "groups": u.groups},
            "audiences": audiences,
        }),
        Err(error) => json!({"authenticated": false, "error": error}),
    }
}

/// Reviews `body.spec.token`.
pub async fn create(state: &AppState, body: &Value) -> Result<Value, ApiError> {
    let token = body["spec"]["token"].as_str().unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::bad_request(
            "token is required for TokenReview in authentication",
        ));
    }
    let server = &state.service_accounts.audiences;
    let mut wanted: Vec<String> = body["spec"]["audiences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    if wanted.is_empty() {
        wanted = server.clone();
    }
    let result = match state.service_accounts.verify(token) {
        Some(Ok(claims)) => super::authenticator::validate(state, &claims, &wanted)
            .await
            .map(|u| {
                let held = claims
                    .aud
                    .iter()
                    .filter(|a| wanted.contains(a))
                    .cloned()
                    .collect();
                (u, held)
            })
            .map_err(|e| e.to_string()),
        Some(Err(e)) => Err(e.to_string()),
        None => {
            let held: Vec<String> = wanted
                .iter()
                .filter(|a| server.contains(a))
                .cloned()
                .collect();
            let header = format!("Bearer {token}");
            match state
                .auth
                .as_ref()
                .and_then(|a| a.authenticate(Some(&header)))
            {
                Some(u) if !held.is_empty() => Ok((u, held)),
                _ => Err("invalid bearer token".to_string()),
            }
        }
    };
    let mut spec = body["spec"].clone();
    if spec.get("audiences").is_none() {
        spec["audiences"] = json!(wanted);
    }
    Ok(json!({
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status(result),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_review_says_why_and_a_passed_one_who() {
        let no = status(Err("expired".into()));
        assert_eq!(no, json!({"authenticated": false, "error": "expired"}));
        let yes = status(Ok((User::admin(), vec!["api".into()])));
        assert_eq!(yes["user"]["username"], "system:admin");
        assert_eq!(yes["audiences"], json!(["api"]));
    }
}
