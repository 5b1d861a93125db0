//! POST: create an object (generateName, namespace checks, admission, AlreadyExists).
//!
//! Entry points: [`create`] (the handler) and [`create_object`] (shared with
//! create-on-update and server-side apply).

use axum::response::Response;
use rand::Rng;
use refkube_resources::ResourceInfo;
use refkube_resources::decode::{self, FieldValidation};
use refkube_store::StoreError;
use serde_json::{Value, json};

use super::Ctx;
use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

/// Upstream's alphabet for generated name suffixes (no vowels, no confusable digits).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `generateName` + 5 random characters, as upstream's `SimpleNameGenerator`.
pub fn generate_name(base: &str) -> String {
    // Upstream trims the base so the result stays within 63 characters.
    let base: String = base.chars().take(58).collect();
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{base}{suffix}")
}

/// The `fieldValidation` query parameter.
pub fn field_validation(ctx: &Ctx) -> FieldValidation {
    match ctx.query.get("fieldValidation") {
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        _ => FieldValidation::Warn,
    }
}

/// Decodes the request body as an object of the path's kind (400 when unusable).
pub fn decode_body(ctx: &Ctx, info: &ResourceInfo) -> Result<decode::Decoded, ApiError> {
    let format = crate::negotiate::body_format(&ctx.headers)?;
    decode::decode(info, &ctx.body, format, field_validation(ctx))
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

pub async fn create(ctx: &Ctx) -> Result<Response, ApiError> {
    let info = ctx.path.info;
    let decoded = decode_body(ctx, info)?;
    let mut obj = decoded.object;
    super::update::record_managed_fields(ctx, None, &mut obj, "");
    let obj = create_object(
        &ctx.state,
        info,
        ctx.path.namespace.as_deref(),
        obj,
        ctx.dry_run(),
    )
    .await?;
    let mut resp = ctx.respond_object(201, obj);
    add_warnings(&mut resp, &decoded.warnings);
    Ok(resp)
}

/// Adds `Warning: 299 - "..."` headers, as upstream does for fieldValidation=Warn.
pub fn add_warnings(resp: &mut Response, warnings: &[String]) {
    for w in warnings {
        if let Ok(v) = http::HeaderValue::from_str(&format!("299 - {w:?}")) {
            resp.headers_mut().append(http::header::WARNING, v);
        }
    }
}

/// Checks the namespace an object is created in exists and is not terminating.
pub async fn check_namespace(
    state: &AppState,
    info: &ResourceInfo,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    let ns_info = refkube_resources::registry::lookup("", "v1", "namespaces")
        .ok_or_else(|| ApiError::internal("namespaces are not registered"))?;
    let Some(kv) = state.store.get(&keys::key(ns_info, None, ns)).await? else {
        return Err(ApiError::not_found(ns_info, ns));
    };
    let nsobj = keys::decode_kv(ns_info, &kv)?;
    let terminating = nsobj["status"]["phase"] == "Terminating"
        || !keys::meta_str(&nsobj, "deletionTimestamp").is_empty();
    if terminating {
        return Err(ApiError::forbidden(
            info,
            name,
            &format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        ));
    }
    Ok(())
}

/// Creates `obj` of `info` (in `url_ns` when namespaced) and returns it as stored.
pub async fn create_object(
    state: &AppState,
    info: &ResourceInfo,
    url_ns: Option<&str>,
    mut obj: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be an object",
        ));
    }
    let body_ns = keys::meta_str(&obj, "namespace").to_string();
    if info.namespaced {
        let ns = url_ns.unwrap_or_default();
        if !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if let Some(m) = keys::meta_mut(&mut obj) {
            m.insert("namespace".into(), json!(ns));
        }
    } else if let Some(m) = keys::meta_mut(&mut obj) {
        m.remove("namespace");
    }
    let mut name = keys::meta_str(&obj, "name").to_string();
    let generate = keys::meta_str(&obj, "generateName").to_string();
    if name.is_empty() && !generate.is_empty() {
        name = generate_name(&generate);
        obj["metadata"]["name"] = json!(name);
    }
    if name.is_empty() {
        return Err(ApiError::invalid(
            info,
            "",
            &[refkube_resources::validation::Cause {
                reason: "FieldValueRequired",
                message: "Required value: name or generateName is required".into(),
                field: "metadata.name".into(),
            }],
        ));
    }
    if info.namespaced {
        check_namespace(state, info, url_ns.unwrap_or_default(), &name).await?;
    }
    crate::crd::check_not_terminating(state, info)?;
    let allocated = crate::admission::admit_create(state, info, &mut obj, dry_run).await?;
    // Stored and answered in Go's form: struct order, the zero values Go always writes.
    refkube_resources::types::go::normalize(info, &mut obj);
    if dry_run {
        return Ok(obj);
    }
    let key = keys::key(info, url_ns, &name);
    let bytes = match keys::encode(info, &obj) {
        Ok(b) => b,
        Err(e) => {
            state.alloc.release(&allocated).await;
            return Err(e);
        }
    };
    match state.store.create(&key, bytes).await {
        Ok(rev) => {
            keys::set_resource_version(info, &mut obj, rev);
            Ok(obj)
        }
        Err(e) => {
            // An unreachable store may still have written the object; then the values
            // are in use, and releasing them could hand them out twice. The repair pass
            // frees them if the write really was lost.
            if !e.outcome_unknown() {
                state.alloc.release(&allocated).await;
            }
            Err(match e {
                StoreError::AlreadyExists(_) => ApiError::already_exists(info, &name),
                other => other.into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_append_five_characters_from_upstreams_alphabet() {
        let n = generate_name("web-");
        assert_eq!(n.len(), 9);
        assert!(n.starts_with("web-"));
        assert!(n[4..].bytes().all(|b| ALPHABET.contains(&b)));
    }
}
