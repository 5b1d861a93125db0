//! The front door: authentication, body limits, non-resource endpoints (discovery,
//! version, health, OpenAPI), resource dispatch and the audit record of every request.
//!
//! Entry point: [`router`], an axum `Router` with one fallback handler.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};
use rustls::pki_types::UnixTime;
use serde_json::json;

use crate::audit::Record;
use crate::auth::User;
use crate::authz::attributes::Attributes;
use crate::handlers::{Ctx, dispatch};
use crate::negotiate::{Output, json as json_response};
use crate::request::{Query, Route, parse_path_with};
use crate::state::AppState;
use crate::status::ApiError;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new().fallback(entry).with_state(state)
}

/// Paths anonymous users may read even when authentication is on.
fn public(path: &str) -> bool {
    matches!(path, "/version" | "/healthz" | "/livez" | "/readyz")
}

fn verb_of(method: &Method, has_name: bool, watch: bool) -> &'static str {
    match (method.as_str(), has_name) {
        ("GET", true) => "get",
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

async fn entry(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let received = chrono::Utc::now();
    let (parts, body) = req.into_parts();
    let header_str = |h: header::HeaderName| {
        parts
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut record = Record {
        verb: parts.method.as_str().to_ascii_lowercase(),
        // Upstream records `URL.RequestURI()`: path and query, never the scheme and
        // authority an HTTP/2 request carries in its URI.
        request_uri: parts.uri.path_and_query().map_or_else(
            || parts.uri.path().to_string(),
            |pq| pq.as_str().to_string(),
        ),
        user_agent: header_str(header::USER_AGENT),
        source_ip: parts
            .extensions
            .get::<crate::server::Peer>()
            .map(|p| p.0.ip().to_string())
            .unwrap_or_default(),
        received,
        ..Default::default()
    };
    let auth_header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let user = authenticate(&state, &parts, auth_header).await;
    let response = match user {
        None => {
            record.user = "system:anonymous".into();
            ApiError::unauthorized().into_response()
        }
        Some(u) => {
            record.user = u.name.clone();
            record.groups = u.groups.clone();
            let caches = &state.caches;
            match crate::authz::impersonation::impersonate(
                &state.authorizer,
                caches,
                &u,
                &parts.headers,
            ) {
                // The request runs as its user, which admission plugins read.
                Ok(acting) => {
                    if parts
                        .headers
                        .contains_key(crate::authz::impersonation::USER_HEADER)
                    {
                        record.impersonated = Some(acting.clone());
                    }
                    let handled = handle(&state, parts, body, &acting, &mut record);
                    crate::authz::as_user(acting.clone(), handled).await
                }
                Err(e) => e.into_response(),
            }
        }
    };
    record.code = response.status().as_u16();
    if let Some(a) = &state.audit {
        a.record(record);
    }
    response
}

/// Upstream's authenticator chain: a verified client certificate first, then bearer
/// tokens; a certificate that does not verify leaves the request to a token, and without
/// one it is a 401 (a bad credential is never anonymous). `None` is a 401.
async fn authenticate(
    state: &AppState,
    parts: &http::request::Parts,
    auth_header: Option<&str>,
) -> Option<User> {
    let certs = parts
        .extensions
        .get::<crate::client_cert::PeerCertificates>();
    let by_certificate = match (&state.client_certs, certs) {
        (Some(auth), Some(certs)) => auth.authenticate(&certs.0, UnixTime::now()),
        _ => Ok(None),
    };
    let refused_certificate = match by_certificate {
        Ok(Some(user)) => return Some(user),
        Ok(None) => false,
        Err(e) => {
            tracing::debug!(error = %e, "client certificate refused");
            true
        }
    };
    // A service account token of ours decides on its own (401 when invalid); any
    // other token goes to the token file.
    let service_account = crate::serviceaccount::authenticator::authenticate(state, auth_header);
    match (service_account.await, &state.auth) {
        (Some(result), _) => result
            .inspect_err(|e| tracing::debug!(error = %e, "service account token refused"))
            .ok(),
        (None, _) if refused_certificate => {
            (state.auth.as_ref()).and_then(|a| a.authenticate(auth_header))
        }
        (None, None) => Some(User::admin()),
        (None, Some(a)) => match a.authenticate(auth_header) {
            Some(u) => Some(u),
            None if auth_header.is_none() && state.anonymous_is_admin => Some(User::admin()),
            None if auth_header.is_none() && public(parts.uri.path()) => Some(User::anonymous()),
            None => None,
        },
    }
}

async fn handle(
    state: &Arc<AppState>,
    parts: http::request::Parts,
    body: Body,
    user: &User,
    record: &mut Record,
) -> Response {
    let path = parts.uri.path().to_string();
    let query = Query::parse(&parts.uri);
    let attributes = Attributes::of_request(user.clone(), &parts.method, &path, &query);
    let decision = state
        .authorizer
        .authorize_consistent(&state.caches, &*state.store, &attributes)
        .await;
    if !decision.allowed() {
        return crate::authz::forbidden::error(&attributes, &decision.reason).into_response();
    }
    if let Some(r) = non_resource(state, &parts.method, &path, &query).await {
        return r;
    }
    if let Some(p) = crate::proxy::route(&path) {
        record.verb = crate::proxy::verb(&parts.method).into();
        record.object_ref = Some(json!({
            "resource": p.kind_plural(), "apiVersion": "v1", "namespace": p.namespace,
            "name": p.id, "subresource": "proxy",
        }));
        let query = parts.uri.query().map(str::to_string);
        return crate::proxy::serve(
            state,
            &p,
            parts.method,
            query.as_deref(),
            parts.headers,
            body,
        )
        .await;
    }
    if let Some(p) = crate::nodeproxy::route(&path) {
        record.verb = crate::proxy::verb(&parts.method).into();
        record.object_ref = Some(json!({
            "resource": "nodes", "apiVersion": "v1", "name": p.name, "subresource": "proxy",
        }));
        let query = parts.uri.query().map(str::to_string);
        let (method, headers) = (parts.method, parts.headers);
        return crate::nodeproxy::serve(state, &p, method, query.as_deref(), headers, body).await;
    }
    if let Some(p) = crate::streaming::route(&path) {
        record.verb = "create".into();
        record.streaming = true;
        record.object_ref = Some(json!({
            "resource": "pods", "apiVersion": "v1", "namespace": p.namespace,
            "name": p.name, "subresource": p.subresource(),
        }));
        return crate::streaming::serve(state, &p, parts).await;
    }
    if let Some(review) = crate::authz::reviews::route(&parts.method, &path) {
        record.verb = "create".into();
        let review = match review {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        };
        return match read_body(state, parts.headers, body).await {
            Ok((_, body)) => review_response(state, &review, user, &body),
            Err(r) => r,
        };
    }
    if let Some(review) = crate::selfreview::route(&parts.method, &path) {
        record.verb = "create".into();
        return match read_body(state, parts.headers, body).await {
            Ok((_, body)) => crate::selfreview::respond(review, user, &body),
            Err(r) => r,
        };
    }
    if let Some(request) = crate::serviceaccount::route(&parts.method, &path) {
        record.verb = "create".into();
        record.object_ref = Some(request.object_ref());
        return match read_body(state, parts.headers, body).await {
            Ok((_, body)) => crate::serviceaccount::serve(state, request, &body).await,
            Err(r) => r,
        };
    }
    let rpath = match parse_path_with(&path, |g, v, p| state.kinds.lookup(g, v, p)) {
        Ok(p) => p,
        Err(Route::NotFound) => {
            return ApiError::no_route().into_response();
        }
        Err(Route::Discovery(segs)) => {
            if parts.method != Method::GET {
                return ApiError::method_not_allowed().into_response();
            }
            return crate::discovery::respond(
                &segs,
                &parts.headers,
                &state.advertise.to_string(),
                &state.kinds.current(),
            );
        }
    };
    let info = rpath.info;
    let watch = query.flag("watch");
    record.verb = verb_of(&parts.method, rpath.name.is_some(), watch).to_string();
    record.streaming =
        watch || (rpath.subresource.as_deref() == Some("log") && query.flag("follow"));
    let mut objref = json!({"resource": info.plural, "apiVersion": info.version});
    if !info.group.is_empty() {
        objref["apiGroup"] = json!(info.group);
    }
    for (k, v) in [
        ("namespace", &rpath.namespace),
        ("name", &rpath.name),
        ("subresource", &rpath.subresource),
    ] {
        if let Some(v) = v {
            objref[k] = json!(v);
        }
    }
    record.object_ref = Some(objref);
    let output = match Output::from_accept(&parts.headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let (headers, body) = match read_body(state, parts.headers, body).await {
        Ok(hb) => hb,
        Err(r) => return r,
    };
    let sub = rpath.subresource.as_deref();
    if let Err(e) = crate::options::validate(&parts.method, sub, &query, &headers) {
        return e.into_response();
    }
    let ctx = Ctx {
        state: state.clone(),
        method: parts.method,
        path: rpath,
        query,
        headers,
        output,
        body,
    };
    match dispatch(ctx).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Answers an access review with its (JSON) body.
fn review_response(
    state: &AppState,
    review: &crate::authz::reviews::Review,
    user: &User,
    body: &[u8],
) -> Response {
    let parsed: Result<serde_json::Value, _> = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(json!({}))
    } else {
        serde_json::from_slice(body)
    };
    let answered = parsed
        .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))
        .and_then(|v| {
            crate::authz::reviews::answer(&state.authorizer, &state.caches, review, user, &v)
        });
    match answered {
        Ok(v) => json_response(StatusCode::CREATED, &v),
        Err(e) => e.into_response(),
    }
}

/// Reads the body within the size limit; protobuf bodies become JSON (typed clients
/// such as `kubectl create ...` send protobuf; the server works in JSON).
async fn read_body(
    state: &AppState,
    mut headers: http::HeaderMap,
    body: Body,
) -> Result<(http::HeaderMap, bytes::Bytes), Response> {
    let limit = state.config.max_request_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit).into_response());
    }
    let mut body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit).into_response())?;
    if crate::negotiate::content_type(&headers) == "application/vnd.kubernetes.protobuf" {
        match crate::protobuf::to_json(&body).map(|v| serde_json::to_vec(&v)) {
            Ok(Ok(json)) => {
                body = json.into();
                headers.insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
            }
            Ok(Err(e)) => return Err(ApiError::internal(e).into_response()),
            Err(e @ crate::protobuf::ProtoError::TooLarge { .. }) => {
                return Err(ApiError::entity_too_large(e).into_response());
            }
            Err(e) => return Err(ApiError::bad_request(e.to_string()).into_response()),
        }
    }
    Ok((headers, body))
}

/// Version, health and OpenAPI endpoints; None for anything else.
async fn non_resource(
    state: &AppState,
    method: &Method,
    path: &str,
    query: &Query,
) -> Option<Response> {
    if method != Method::GET {
        return None;
    }
    let path = path.trim_end_matches('/');
    match path {
        "/version" => Some(json_response(StatusCode::OK, &crate::discovery::version())),
        "/healthz" | "/livez" | "/readyz" => {
            Some(health(state, path, query.get("verbose").is_some()).await)
        }
        "/healthz/ping" | "/livez/ping" | "/readyz/ping" => Some(text(StatusCode::OK, "ok".into())),
        "/openapi/v3" => Some(json_response(
            StatusCode::OK,
            &refkube_resources::openapi::v3_index_with(&state.kinds.current().kinds),
        )),
        "/openapi/v2" => Some(ApiError::no_route().into_response()),
        p if p.starts_with("/openapi/v3/") => {
            let doc = refkube_resources::openapi::v3_group_version_with(
                &p["/openapi/v3/".len()..],
                &state.kinds.current().kinds,
            );
            Some(match doc {
                Some(d) => json_response(StatusCode::OK, &d),
                None => ApiError::no_route().into_response(),
            })
        }
        _ => None,
    }
}

fn text(code: StatusCode, s: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        s,
    )
        .into_response()
}

/// `/healthz`, `/livez`, `/readyz`: ping, plus the store's health for readiness.
async fn health(state: &AppState, path: &str, verbose: bool) -> Response {
    let mut checks = vec![("ping".to_string(), true)];
    if path != "/livez" {
        // Within --etcd-healthcheck-timeout, so a store without a majority fails the
        // check at once instead of holding the probe.
        let members = crate::componentstatus::store_health(state).await;
        let ok = members.is_some_and(|m| m.iter().any(|m| m.healthy));
        checks.push(("etcd".to_string(), ok));
    }
    let ok = checks.iter().all(|(_, ok)| *ok);
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let name = path.trim_start_matches('/');
    if !verbose && ok {
        return text(code, "ok".into());
    }
    let mut out = String::new();
    for (c, good) in &checks {
        if *good {
            out.push_str(&format!("[+]{c} ok\n"));
        } else {
            out.push_str(&format!("[-]{c} failed: reason withheld\n"));
        }
    }
    if ok {
        out.push_str(&format!("{name} check passed\n"));
    } else {
        out.push_str(&format!("{name} check failed\n"));
    }
    text(code, out)
}
