//! PUT and PATCH of an object, its `/status`, and a namespace's `/finalize`, with
//! optimistic concurrency and the finalizer rule (the update that empties the
//! finalizers of an object being deleted removes it).
//!
//! Entry points: [`put`], [`patch`], [`commit`].

use axum::response::Response;
use refkube_resources::ResourceInfo;
use refkube_resources::managedfields;
use refkube_resources::patch::{PatchKind, apply_patch};
use refkube_store::{Revision, StoreError};
use serde_json::Value;

use super::Ctx;
use super::create::{add_warnings, create_object, decode_body};
use super::read::fetch;
use crate::admission::{Mode, admit_update, prepare_for_update};
use crate::ipalloc::Allocated;
use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

/// Which part of the object a PUT/PATCH targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Main,
    Status,
    /// `namespaces/{name}/finalize`: only `spec.finalizers`.
    Finalize,
    /// `pods/{name}/ephemeralcontainers`: only `spec.ephemeralContainers`.
    EphemeralContainers,
    /// `certificatesigningrequests/{name}/approval`: only `status.conditions`.
    Approval,
}

/// Kinds upstream lets a PUT create (`AllowCreateOnUpdate`).
fn allow_create_on_update(info: &ResourceInfo) -> bool {
    info.group.is_empty() && matches!(info.plural, "endpoints" | "events")
}

fn without_rv(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    v
}

/// Whether an update leaves an object that must now be removed: it is being deleted,
/// has no finalizers left and no grace period running (upstream's
/// `ShouldDeleteDuringUpdate`).
pub fn should_delete_during_update(info: &ResourceInfo, obj: &Value) -> bool {
    let meta = &obj["metadata"];
    let deleting = meta.get("deletionTimestamp").is_some_and(|v| !v.is_null());
    let grace = meta["deletionGracePeriodSeconds"].as_i64().unwrap_or(0);
    let ns_finalizers = info.plural == "namespaces"
        && obj["spec"]["finalizers"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
    deleting && grace == 0 && keys::finalizers(obj).is_empty() && !ns_finalizers
}

/// Writes `new` over `old` (read at `rev`) through the update admission chain.
#[allow(clippy::too_many_arguments)]
pub async fn commit(
    state: &AppState,
    info: &ResourceInfo,
    ns: Option<&str>,
    name: &str,
    old: &Value,
    rev: Revision,
    new: Value,
    target: Target,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let mode = match target {
        Target::Status => Mode::Status,
        Target::Approval => Mode::Approval,
        _ => Mode::Main,
    };
    let recorded = new["metadata"].get("managedFields").cloned();
    let mut merged = match target {
        Target::Finalize => {
            let mut o = old.clone();
            o["spec"]["finalizers"] = new["spec"]["finalizers"].clone();
            o
        }
        Target::EphemeralContainers => with_ephemeral_containers(old, &new),
        _ => prepare_for_update(info, old, new, mode),
    };
    if target != Target::Main
        && let Some(mf) = recorded
    {
        // Subresource writes build on the stored object; the ownership recorded for
        // the write comes with `new`.
        merged["metadata"]["managedFields"] = mf;
    }
    let allocated = if target == Target::EphemeralContainers {
        refkube_resources::defaults::apply_defaults(info, &mut merged, &state.config.defaults);
        let causes =
            refkube_resources::validation::validate_ephemeral_containers_update(old, &merged);
        if !causes.is_empty() {
            return Err(ApiError::invalid(info, name, &causes));
        }
        // The pod's own update rules forbid any spec change; this one was checked above.
        let seen = with_ephemeral_containers(old, &merged);
        admit_update(state, info, &seen, &mut merged, mode, dry_run).await?
    } else {
        admit_update(state, info, old, &mut merged, mode, dry_run).await?
    };
    // In Go's form before comparing: a field sent as its empty value is no change.
    refkube_resources::types::go::normalize(info, &mut merged);
    let key = keys::key(info, ns, name);
    let unchanged = without_rv(&merged) == without_rv(old)
        && !crate::encryption::rewrite_due(state, &key).await;
    if dry_run || unchanged {
        // A no-op write is not stored: no new resourceVersion, no watch event (unless
        // the stored value is under an old encryption key: rewriting moves it).
        state.alloc.release(&allocated).await;
        return Ok(if dry_run { merged } else { old.clone() });
    }
    let is_service = info.group.is_empty() && info.plural == "services";
    let map_err = |e: StoreError| match e {
        StoreError::Conflict { .. } => ApiError::conflict_modified(info, name),
        StoreError::NotFound(_) => ApiError::not_found(info, name),
        other => other.into(),
    };
    if should_delete_during_update(info, &merged) {
        let deleted = state.store.delete(&key, Some(rev)).await;
        let (drev, _) = match deleted {
            Ok(d) => d,
            Err(e) => {
                release_unless_unsure(state, &allocated, &e).await;
                return Err(map_err(e));
            }
        };
        if is_service {
            // Both: what the Service held before and what this update just took.
            state.alloc.release_service(old).await;
            state.alloc.release(&allocated).await;
        }
        keys::set_resource_version(info, &mut merged, drev);
        return Ok(merged);
    }
    match state
        .store
        .update(&key, rev, keys::encode(info, &merged)?)
        .await
    {
        Ok(nrev) => {
            if is_service {
                state.alloc.release_dropped(old, &merged).await;
            }
            keys::set_resource_version(info, &mut merged, nrev);
            Ok(merged)
        }
        Err(e) => {
            release_unless_unsure(state, &allocated, &e).await;
            Err(map_err(e))
        }
    }
}

/// `old` with the ephemeral containers of `new`: all the subresource may change.
fn with_ephemeral_containers(old: &Value, new: &Value) -> Value {
    let mut o = old.clone();
    match (
        new["spec"].get("ephemeralContainers"),
        o["spec"].as_object_mut(),
    ) {
        (Some(ec), Some(spec)) if !ec.is_null() => {
            spec.insert("ephemeralContainers".into(), ec.clone());
        }
        (_, Some(spec)) => {
            spec.remove("ephemeralContainers");
        }
        _ => {}
    }
    o
}

/// Gives back what a failed write allocated, unless the store may have applied the
/// write anyway (unreachable): then the repair pass frees it if it really is unused.
async fn release_unless_unsure(state: &AppState, allocated: &Allocated, e: &StoreError) {
    if !e.outcome_unknown() {
        state.alloc.release(allocated).await;
    }
}

/// Upstream's `checkName`: the object a PUT sends or a PATCH produces must carry the
/// URL's name, and the URL's namespace if it names one. Without it a patch that renames
/// or moves an object would answer 200 and quietly drop the change.
pub fn check_name(obj: &Value, name: &str, ns: Option<&str>) -> Result<(), ApiError> {
    let obj_name = keys::meta_str(obj, "name");
    if obj_name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name} based on URL) was undeterminable: name must be provided"
        )));
    }
    if obj_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({obj_name}) does not match the name on the URL ({name})"
        )));
    }
    let obj_ns = keys::meta_str(obj, "namespace");
    if let Some(ns) = ns.filter(|ns| !ns.is_empty())
        && !obj_ns.is_empty()
        && obj_ns != ns
    {
        return Err(ApiError::bad_request(format!(
            "the namespace of the object ({obj_ns}) does not match the namespace on the request ({ns})"
        )));
    }
    Ok(())
}

/// The resourceVersion a client sent as a precondition, if any.
fn precondition(
    info: &ResourceInfo,
    name: &str,
    obj: &Value,
) -> Result<Option<Revision>, ApiError> {
    let rv = keys::meta_str(obj, "resourceVersion");
    if rv.is_empty() {
        return Ok(None);
    }
    rv.parse().map(Some).map_err(|_| {
        ApiError::invalid(
            info,
            name,
            &[refkube_resources::validation::Cause {
                reason: "FieldValueInvalid",
                message: format!("Invalid value: {rv:?}: must be a valid resourceVersion"),
                field: "metadata.resourceVersion".into(),
            }],
        )
    })
}

pub async fn put(ctx: &Ctx, name: &str, target: Target) -> Result<Response, ApiError> {
    let info = ctx.path.info;
    let ns = ctx.path.namespace.as_deref();
    let decoded = decode_body(ctx, info)?;
    let mut new = decoded.object;
    check_name(&new, name, ns)?;
    let (old, rev) = match fetch(ctx, name).await {
        Err(e) if e.code == 404 && target == Target::Main && allow_create_on_update(info) => {
            record_managed_fields(ctx, None, &mut new, "");
            let obj = create_object(&ctx.state, info, ns, new, ctx.dry_run()).await?;
            return Ok(ctx.respond_object(201, obj));
        }
        other => other?,
    };
    if let Some(want) = precondition(info, name, &new)?
        && want != rev
    {
        return Err(ApiError::conflict_modified(info, name));
    }
    record_managed_fields(ctx, Some(&old), &mut new, subresource(target));
    let out = commit(
        &ctx.state,
        info,
        ns,
        name,
        &old,
        rev,
        new,
        target,
        ctx.dry_run(),
    )
    .await?;
    let mut resp = ctx.respond_object(200, out);
    add_warnings(&mut resp, &decoded.warnings);
    Ok(resp)
}

/// The manager a write is recorded under: `?fieldManager=`, else upstream's prefix of
/// the User-Agent (`kubectl`, `kube-controller-manager`).
pub fn field_manager(ctx: &Ctx) -> String {
    match ctx.query.get("fieldManager") {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => {
            let ua = ctx
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            managedfields::manager_from_user_agent(ua)
        }
    }
}

/// The subresource name a target's writes are recorded under.
fn subresource(target: Target) -> &'static str {
    match target {
        Target::Main => "",
        Target::Status => "status",
        Target::Finalize => "finalize",
        Target::EphemeralContainers => "ephemeralcontainers",
        Target::Approval => "approval",
    }
}

/// Records the write of `obj` over `live` (`None`: a create) in `obj`'s managedFields.
/// Ownership is computed on the defaulted object, as upstream computes it on the
/// decoded one (which Go defaults while decoding).
pub fn record_managed_fields(ctx: &Ctx, live: Option<&Value>, obj: &mut Value, sub: &'static str) {
    let info = ctx.path.info;
    let mut defaulted = obj.clone();
    refkube_resources::defaults::apply_defaults(info, &mut defaulted, &ctx.state.config.defaults);
    let manager = field_manager(ctx);
    let now = crate::admission::now_rfc3339();
    let op = managedfields::Op {
        info,
        manager: &manager,
        subresource: sub,
        now: &now,
    };
    let mf = managedfields::update(&op, live, &defaulted);
    if let Some(m) = keys::meta_mut(obj) {
        m.insert("managedFields".into(), mf);
    }
}

/// Upstream's `ValidatePatchOptions`: an apply names its manager; only an apply may
/// force.
fn validate_patch_options(ctx: &Ctx, kind: PatchKind) -> Result<(), ApiError> {
    let (field, reason, message) = match kind {
        PatchKind::Apply if ctx.query.get("fieldManager").unwrap_or_default().is_empty() => (
            "fieldManager",
            "FieldValueRequired",
            "Required value: is required for apply patch",
        ),
        PatchKind::Apply => return Ok(()),
        _ if ctx.query.get("force").is_some() => (
            "force",
            "FieldValueForbidden",
            "Forbidden: may not be specified for non-apply patch",
        ),
        _ => return Ok(()),
    };
    Err(ApiError {
        code: 422,
        reason: "Invalid",
        message: format!("PatchOptions.meta.k8s.io \"\" is invalid: {field}: {message}"),
        details: Some(serde_json::json!({
            "group": "meta.k8s.io", "kind": "PatchOptions",
            "causes": [{"reason": reason, "message": message, "field": field}]
        })),
    })
}

/// Server-side apply of the request body over `live` (`None`: not there yet): the
/// object to store, or upstream's 409 with one cause per conflicting field.
fn server_side_apply(ctx: &Ctx, live: Option<&Value>, target: Target) -> Result<Value, ApiError> {
    let info = ctx.path.info;
    let config =
        refkube_resources::patch::applied_configuration(info, &ctx.body).map_err(patch_error)?;
    let manager = field_manager(ctx);
    let now = crate::admission::now_rfc3339();
    let op = managedfields::Op {
        info,
        manager: &manager,
        subresource: subresource(target),
        now: &now,
    };
    let force = ctx.query.flag("force");
    managedfields::apply(&op, live, &config, force).map_err(|e| match e {
        managedfields::ApplyError::BadRequest(m) => ApiError::bad_request(m),
        managedfields::ApplyError::Conflicts(cs) => {
            let causes: Vec<Value> = cs
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "reason": "FieldManagerConflict",
                        "message": format!("conflict with {}", c.manager),
                        "field": c.field,
                    })
                })
                .collect();
            ApiError {
                code: 409,
                reason: "Conflict",
                message: managedfields::conflict_message(&cs),
                details: Some(serde_json::json!({ "causes": causes })),
            }
        }
    })
}

/// The patch type of a PATCH request (415 for anything else).
pub fn patch_kind(ctx: &Ctx) -> Result<PatchKind, ApiError> {
    let custom = ctx.path.info.custom.is_some();
    match crate::negotiate::content_type(&ctx.headers).as_str() {
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        // Custom resources have no merge keys, so upstream does not offer strategic
        // merge on them.
        "application/strategic-merge-patch+json" if !custom => Ok(PatchKind::StrategicMerge),
        "application/apply-patch+yaml" => Ok(PatchKind::Apply),
        _ if custom => Err(ApiError::unsupported_media_type(&[
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ])),
        _ => Err(ApiError::unsupported_media_type(&[
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
            "application/strategic-merge-patch+json",
        ])),
    }
}

/// Maps a patch failure to upstream's code.
pub fn patch_error(e: refkube_resources::patch::PatchError) -> ApiError {
    match e.code {
        422 => ApiError::new(422, "Invalid", e.message),
        413 => ApiError::entity_too_large(e.message),
        _ => ApiError::bad_request(e.message),
    }
}

/// How often a patch without a resourceVersion is retried on a write race.
const PATCH_RETRIES: usize = 10;

pub async fn patch(ctx: &Ctx, name: &str, target: Target) -> Result<Response, ApiError> {
    let info = ctx.path.info;
    let ns = ctx.path.namespace.as_deref();
    let kind = patch_kind(ctx)?;
    validate_patch_options(ctx, kind)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (old, rev) = match fetch(ctx, name).await {
            Err(e) if e.code == 404 && kind == PatchKind::Apply && target == Target::Main => {
                // Server-side apply creates what does not exist yet.
                let obj = server_side_apply(ctx, None, target)?;
                check_name(&obj, name, ns)?;
                let obj = create_object(&ctx.state, info, ns, obj, ctx.dry_run()).await?;
                return Ok(ctx.respond_object(201, obj));
            }
            other => other?,
        };
        let patched = if kind == PatchKind::Apply {
            server_side_apply(ctx, Some(&old), target)?
        } else {
            apply_patch(info, kind, &old, &ctx.body).map_err(patch_error)?
        };
        check_name(&patched, name, ns)?;
        // The patched object gets the same fieldValidation as a created one: a patch
        // that adds an unknown field is refused (Strict), warned about, or dropped.
        let decoded = refkube_resources::decode::decode_value(
            info,
            &patched,
            super::create::field_validation(ctx),
        )
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let mut patched = decoded.object;
        if kind != PatchKind::Apply {
            record_managed_fields(ctx, Some(&old), &mut patched, subresource(target));
        }
        let explicit = precondition(info, name, &patched)?.filter(|r| *r != rev);
        if explicit.is_some() {
            return Err(ApiError::conflict_modified(info, name));
        }
        match commit(
            &ctx.state,
            info,
            ns,
            name,
            &old,
            rev,
            patched,
            target,
            ctx.dry_run(),
        )
        .await
        {
            Err(e) if e.reason == "Conflict" && attempt < PATCH_RETRIES => continue,
            Err(e) => return Err(e),
            Ok(out) => {
                let mut resp = ctx.respond_object(200, out);
                super::create::add_warnings(&mut resp, &decoded.warnings);
                return Ok(resp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_goes_when_its_last_finalizer_does_unless_a_grace_period_runs() {
        let cm = refkube_resources::registry::lookup("", "v1", "configmaps").unwrap();
        let gone = json!({"metadata": {"deletionTimestamp": "t", "deletionGracePeriodSeconds": 0}});
        assert!(should_delete_during_update(cm, &gone));
        let held = json!({"metadata": {"deletionTimestamp": "t", "finalizers": ["f"]}});
        assert!(!should_delete_during_update(cm, &held));
        let graceful =
            json!({"metadata": {"deletionTimestamp": "t", "deletionGracePeriodSeconds": 30}});
        assert!(!should_delete_during_update(cm, &graceful));
        assert!(!should_delete_during_update(cm, &json!({"metadata": {}})));
        let ns = refkube_resources::registry::lookup("", "v1", "namespaces").unwrap();
        let terminating =
            json!({"metadata": {"deletionTimestamp": "t"}, "spec": {"finalizers": ["kubernetes"]}});
        assert!(!should_delete_during_update(ns, &terminating));
    }
}
