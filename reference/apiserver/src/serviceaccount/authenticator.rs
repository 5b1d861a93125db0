//! The service account token authenticator: a bearer JWT of one of this server's
//! issuers authenticates as its service account when its signature, times and
//! audience hold and the objects it is bound to still exist (upstream's
//! `pkg/serviceaccount/jwt.go` with the `claims.go` validator).
//!
//! Entry points: [`authenticate`] (a request's `Authorization` header) and
//! [`validate`] (verified claims against chosen audiences, for TokenReview).

use super::claims::{self, Claims, Current, TokenError};
use super::get;
use crate::auth::User;
use crate::state::AppState;

/// The user of a request's service account token. `None` when the header carries no
/// token of ours (the token file decides then); `Some(Err)` when it is ours but not
/// valid, which is a 401 as upstream.
pub async fn authenticate(
    state: &AppState,
    authorization: Option<&str>,
) -> Option<Result<User, TokenError>> {
    let token = crate::auth::bearer_token(authorization)?;
    let tokens = &state.service_accounts;
    let verified = tokens.verify(token)?;
    Some(match verified {
        Ok(claims) => validate(state, &claims, &tokens.audiences).await,
        Err(e) => Err(e),
    })
}

/// Checks verified `claims` for `audiences` at the current time against the stored
/// objects they name.
pub async fn validate(
    state: &AppState,
    claims: &Claims,
    audiences: &[String],
) -> Result<User, TokenError> {
    let now = chrono::Utc::now().timestamp();
    claims::check_time_and_audience(claims, now, audiences)?;
    let current = current(state, claims)
        .await
        .map_err(|e| TokenError::Lookup(e.message))?;
    claims::check_bound(claims, &current, now)?;
    Ok(claims::user_of(claims))
}

/// Reads the objects the claims name.
async fn current(state: &AppState, claims: &Claims) -> Result<Current, crate::ApiError> {
    let k = &claims.kubernetes;
    let ns = Some(k.namespace.as_str());
    let named = |r: &Option<claims::ObjectRef>| r.as_ref().map(|r| r.name.clone());
    let pod = match named(&k.pod) {
        Some(name) => get(state, "pods", ns, &name).await?,
        None => None,
    };
    let secret = match named(&k.secret) {
        Some(name) => get(state, "secrets", ns, &name).await?,
        None => None,
    };
    let node = match (&k.pod, named(&k.node)) {
        (None, Some(name)) => get(state, "nodes", None, &name).await?,
        _ => None,
    };
    Ok(Current {
        node,
        serviceaccount: get(state, "serviceaccounts", ns, &k.serviceaccount.name).await?,
        pod,
        secret,
    })
}
