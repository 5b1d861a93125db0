//! DELETE of one object and of a collection: DeleteOptions (grace period,
//! preconditions, propagationPolicy → `orphan` / `foregroundDeletion` finalizers),
//! finalizers (deletionTimestamp set, object kept) and graceful pod deletion, answered
//! as upstream answers: the object while its deletion is pending, and once it is gone
//! the object or a success `Status` depending on the kind ([`returns_deleted_object`]).
//!
//! Entry points: [`delete`], [`delete_collection`], [`delete_object`].

use axum::response::Response;
use refkube_resources::ResourceInfo;
use refkube_store::StoreError;
use serde_json::{Value, json};

use super::Ctx;
use super::read::Filter;
use crate::keys;
use crate::state::AppState;
use crate::status::{ApiError, success};

/// The parts of `metav1.DeleteOptions` the server acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    /// "Orphan", "Background" or "Foreground"; from `orphanDependents` when that is set.
    pub propagation_policy: Option<String>,
    /// The deprecated `orphanDependents`, as sent: `false` makes a deferred deletion
    /// answer 202 Accepted.
    pub orphan_dependents: Option<bool>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Reads the options from the body (JSON/YAML DeleteOptions, may be empty) and query.
    pub fn from_ctx(ctx: &Ctx) -> Result<Self, ApiError> {
        let body: Value = if ctx.body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            ctx.body_value()?
        };
        Self::from_value(&body, ctx)
    }

    pub fn from_value(body: &Value, ctx: &Ctx) -> Result<Self, ApiError> {
        let mut o = Self {
            grace_period_seconds: body["gracePeriodSeconds"].as_i64(),
            propagation_policy: body["propagationPolicy"].as_str().map(str::to_string),
            orphan_dependents: body["orphanDependents"].as_bool(),
            precondition_uid: body["preconditions"]["uid"].as_str().map(str::to_string),
            precondition_rv: body["preconditions"]["resourceVersion"]
                .as_str()
                .map(str::to_string),
            dry_run: ctx.dry_run()
                || body["dryRun"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == "All")),
        };
        if let Some(g) = ctx.query.int("gracePeriodSeconds")? {
            o.grace_period_seconds = Some(g);
        }
        if let Some(p) = ctx.query.non_empty("propagationPolicy") {
            o.propagation_policy = Some(p.to_string());
        }
        // strconv.ParseBool, as the query decoder reads it.
        match ctx.query.get("orphanDependents") {
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => o.orphan_dependents = Some(true),
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") => {
                o.orphan_dependents = Some(false);
            }
            _ => {}
        }
        let invalid = |detail: String| {
            ApiError::new(
                422,
                "Invalid",
                format!("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: {detail}"),
            )
        };
        if let (Some(_), Some(p)) = (o.orphan_dependents, &o.propagation_policy) {
            return Err(invalid(format!(
                "Invalid value: {p:?}: orphanDependents and deletionPropagation cannot be both set"
            )));
        }
        if let Some(orphan) = o.orphan_dependents {
            // Upstream's garbage collection reads `false` as "do not orphan".
            o.propagation_policy = Some(if orphan { "Orphan" } else { "Background" }.into());
        }
        match o.propagation_policy.as_deref() {
            None | Some("Orphan" | "Background" | "Foreground") => Ok(o),
            Some(other) => Err(invalid(format!(
                "Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
            ))),
        }
    }

    /// Upstream answers 202 Accepted, not 200, only when the deletion is deferred and
    /// the client explicitly asked not to orphan (`orphanDependents: false`); it keeps
    /// 200 for every other deferred deletion so as not to break older clients.
    fn deferred_code(&self) -> u16 {
        if self.orphan_dependents == Some(false) {
            202
        } else {
            200
        }
    }
}

/// What a delete did.
pub enum Deleted {
    /// Removed from the store (the last state, with the delete's resourceVersion).
    Gone(Value),
    /// Kept: finalizers or a grace period are pending.
    Pending(Value),
}

/// Upstream's GC finalizers for the propagation policy.
fn apply_policy(obj: &mut Value, policy: Option<&str>) {
    let Some(policy) = policy else { return };
    let mut f = keys::finalizers(obj);
    f.retain(|x| x != "orphan" && x != "foregroundDeletion");
    match policy {
        "Orphan" => f.push("orphan".into()),
        "Foreground" => f.push("foregroundDeletion".into()),
        _ => {}
    }
    obj["metadata"]["finalizers"] = json!(f);
    if f.is_empty()
        && let Some(m) = keys::meta_mut(obj)
    {
        m.remove("finalizers");
    }
}

/// The grace period a pod gets: bound and not terminal → the requested or its own
/// terminationGracePeriodSeconds (default 30); otherwise it goes at once.
fn pod_grace(pod: &Value, requested: Option<i64>) -> i64 {
    let bound = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let terminal = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if !bound || terminal {
        return 0;
    }
    requested
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30)
        .max(0)
}

/// Deletes one object under the delete rules; retries internal write races.
pub async fn delete_object(
    state: &AppState,
    info: &ResourceInfo,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Deleted, ApiError> {
    let key = keys::key(info, ns, name);
    for _ in 0..10 {
        let Some(kv) = state.store.get(&key).await? else {
            return Err(ApiError::not_found(info, name));
        };
        let rev = kv.mod_revision;
        let old = keys::decode_kv(info, &kv)?;
        if let Some(uid) = &opts.precondition_uid
            && uid != keys::meta_str(&old, "uid")
        {
            return Err(ApiError::conflict(
                &info.qualified_resource(),
                info,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    keys::meta_str(&old, "uid")
                ),
            ));
        }
        check_resource_version(info, name, opts, rev)?;
        crate::authz::admission::admit(
            state,
            info,
            crate::authz::noderestriction::Operation::Delete,
            "",
            None,
            Some(&old),
        )?;
        if info.plural == "namespaces"
            && info.group.is_empty()
            && matches!(name, "default" | "kube-system" | "kube-public")
        {
            return Err(ApiError::forbidden(
                info,
                name,
                "this namespace may not be deleted",
            ));
        }
        let mut new = old.clone();
        apply_policy(&mut new, opts.propagation_policy.as_deref());
        if crate::crd::is_crd(info) && keys::meta_str(&old, "deletionTimestamp").is_empty() {
            crate::crd::mark_terminating(&mut new);
        }
        let grace = if info.group.is_empty() && info.plural == "pods" {
            pod_grace(&old, opts.grace_period_seconds)
        } else {
            0
        };
        let already = !keys::meta_str(&old, "deletionTimestamp").is_empty();
        let old_grace = old["metadata"]["deletionGracePeriodSeconds"].as_i64();
        let ns_pending = info.plural == "namespaces"
            && new["spec"]["finalizers"]
                .as_array()
                .is_some_and(|a| !a.is_empty());
        let keep = grace > 0 || !keys::finalizers(&new).is_empty() || ns_pending;
        if keep {
            // Shorten (never lengthen) a running grace period, as upstream does.
            if !already || old_grace.is_some_and(|g| grace < g) {
                let ts = chrono::Utc::now() + chrono::Duration::seconds(grace);
                new["metadata"]["deletionTimestamp"] =
                    json!(ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                new["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            }
            if info.plural == "namespaces" {
                new["status"]["phase"] = json!("Terminating");
            }
            refkube_resources::types::go::normalize(info, &mut new);
            if new == old || opts.dry_run {
                return Ok(Deleted::Pending(new));
            }
            match state
                .store
                .update(&key, rev, keys::encode(info, &new)?)
                .await
            {
                Ok(nrev) => {
                    keys::set_resource_version(info, &mut new, nrev);
                    return Ok(Deleted::Pending(new));
                }
                Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if opts.dry_run {
            return Ok(Deleted::Gone(old));
        }
        match state.store.delete(&key, Some(rev)).await {
            Ok((drev, _)) => {
                if info.group.is_empty() && info.plural == "services" {
                    state.alloc.release_service(&old).await;
                }
                let mut last = old;
                keys::set_resource_version(info, &mut last, drev);
                return Ok(Deleted::Gone(last));
            }
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict_modified(info, name))
}

/// Kinds whose upstream store sets `ReturnDeletedObject: true` (their
/// `pkg/registry/core/*/storage/storage.go`): a delete answers the deleted object. Every
/// other kind answers a success `Status` naming what went.
pub fn returns_deleted_object(info: &ResourceInfo) -> bool {
    info.strategy.delete_returns_object()
}

/// The success `Status` of upstream's `finalizeDelete`: `details.kind` is the resource
/// (plural), as upstream has it, and there is no `code`.
pub fn deleted_status(info: &ResourceInfo, obj: &Value) -> Value {
    let d = json!({
        "name": keys::meta_str(obj, "name"),
        "group": info.group,
        "kind": info.plural,
        "uid": keys::meta_str(obj, "uid"),
    });
    success(200, Some(d))
}

pub async fn delete(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let info = ctx.path.info;
    let opts = DeleteOptions::from_ctx(ctx)?;
    let ns = ctx.path.namespace.as_deref();
    match delete_object(&ctx.state, info, ns, name, &opts).await? {
        // Held by finalizers or a grace period: the object, with its deletionTimestamp.
        Deleted::Pending(obj) => Ok(ctx.respond_object(opts.deferred_code(), obj)),
        Deleted::Gone(obj) if returns_deleted_object(info) => Ok(ctx.respond_object(200, obj)),
        Deleted::Gone(obj) => Ok(ctx.output.render(200, &deleted_status(info, &obj))),
    }
}

/// DELETE on a collection: deletes every object the selectors match and answers the
/// list of them as they were listed, as upstream's `DeleteCollection` does.
pub async fn delete_collection(ctx: &Ctx) -> Result<Response, ApiError> {
    let info = ctx.path.info;
    if !info.verbs.contains(&"deletecollection") {
        return Err(ApiError::method_not_allowed());
    }
    let opts = DeleteOptions::from_ctx(ctx)?;
    let filter = Filter::from_ctx(ctx)?;
    let prefix = keys::prefix(info, ctx.path.namespace.as_deref());
    let list = ctx.state.store.list(&prefix, Default::default()).await?;
    let mut items = Vec::new();
    for kv in &list.items {
        let obj = keys::decode_kv(info, kv)?;
        if !filter.matches(info, &obj) {
            continue;
        }
        let ns = keys::meta_str(&obj, "namespace").to_string();
        let ns = (!ns.is_empty()).then_some(ns.as_str());
        match delete_object(&ctx.state, info, ns, keys::meta_str(&obj, "name"), &opts).await {
            // Gone in between: still in the list, as upstream lists before it deletes.
            Ok(_) => items.push(obj),
            Err(e) if e.code == 404 => items.push(obj),
            Err(e) => return Err(e),
        }
    }
    Ok(ctx.respond_list(items, list.revision, None))
}

/// The options' `preconditions.resourceVersion` against the object's revision, with
/// upstream's 409 message.
pub(super) fn check_resource_version(
    info: &ResourceInfo,
    name: &str,
    opts: &DeleteOptions,
    rev: i64,
) -> Result<(), ApiError> {
    match &opts.precondition_rv {
        Some(want) if *want != rev.to_string() => Err(ApiError::conflict(
            &info.qualified_resource(),
            info,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {rev}"
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bound_running_pods_get_a_grace_period() {
        let pod = |node: Option<&str>, phase: &str| json!({"spec": {"nodeName": node}, "status": {"phase": phase}});
        assert_eq!(pod_grace(&pod(None, "Pending"), None), 0);
        assert_eq!(pod_grace(&pod(Some("n"), "Running"), None), 30);
        assert_eq!(pod_grace(&pod(Some("n"), "Running"), Some(5)), 5);
        assert_eq!(pod_grace(&pod(Some("n"), "Succeeded"), Some(5)), 0);
    }

    #[test]
    fn propagation_policies_swap_the_gc_finalizers() {
        let mut o = json!({"metadata": {"finalizers": ["x", "orphan"]}});
        apply_policy(&mut o, Some("Foreground"));
        assert_eq!(
            o["metadata"]["finalizers"],
            json!(["x", "foregroundDeletion"])
        );
        apply_policy(&mut o, Some("Background"));
        assert_eq!(o["metadata"]["finalizers"], json!(["x"]));
        let mut bare = json!({"metadata": {}});
        apply_policy(&mut bare, Some("Background"));
        assert!(bare["metadata"].get("finalizers").is_none());
    }
}
