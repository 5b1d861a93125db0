//! The admission chain of creates and updates: server-owned fields (the registry
//! "strategy": uid, timestamps, generation, status resets), defaulting from
//! refkube-resources, ClusterIP/NodePort allocation, then validation.
//!
//! Entry points: [`admit_create`], [`admit_update`], [`Mode`].

use refkube_resources::ResourceInfo;
use refkube_resources::validation::{self, Cause};
use serde_json::{Value, json};

use crate::ipalloc::{AllocError, Allocated};
use crate::state::AppState;
use crate::status::ApiError;

/// Which part of an object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The main resource: everything but status (for kinds with a status subresource).
    Main,
    /// The `/status` subresource: only status.
    Status,
    /// A CertificateSigningRequest's `/approval`: only its conditions.
    Approval,
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Upstream's `PrepareForCreate`: what a client may not choose on create.
fn prepare_for_create(info: &ResourceInfo, obj: &mut Value) {
    if let Some(m) = crate::keys::meta_mut(obj) {
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        m.remove("resourceVersion");
        m.remove("deletionTimestamp");
        m.remove("deletionGracePeriodSeconds");
        m.remove("selfLink");
        m.remove("generation");
    }
    // Custom resources always start at generation 1 (upstream's customresource
    // strategy); built-in kinds when they have a spec.
    if obj.get("spec").is_some() || info.custom.is_some() {
        obj["metadata"]["generation"] = json!(1);
    }
    info.strategy.prepare_for_create(info, obj);
    // The requesting user is the one part of a CSR's create that needs the request.
    if (info.group, info.plural) == (crate::certificates::GROUP, crate::certificates::PLURAL) {
        crate::certificates::prepare_for_create(obj);
    }
}

fn invalid(info: &ResourceInfo, obj: &Value, causes: Vec<Cause>) -> Result<(), ApiError> {
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            info,
            crate::keys::meta_str(obj, "name"),
            &causes,
        ))
    }
}

/// Maps an allocator error to upstream's answer: 422 for the request, 500 for the range.
fn alloc_error(info: &ResourceInfo, obj: &Value, e: AllocError) -> ApiError {
    match e {
        AllocError::Invalid(causes) => {
            ApiError::invalid(info, crate::keys::meta_str(obj, "name"), &causes)
        }
        other => ApiError::internal(other),
    }
}

/// Runs the create chain; returns what was allocated (release it if the write fails).
/// A dry run allocates nothing.
pub async fn admit_create(
    state: &AppState,
    info: &ResourceInfo,
    obj: &mut Value,
    dry_run: bool,
) -> Result<Allocated, ApiError> {
    crate::secret_data::merge_string_data(info, obj);
    prepare_for_create(info, obj);
    refkube_resources::defaults::apply_defaults(info, obj, &state.config.defaults);
    crate::serviceaccount::admission::admit(state, info, obj).await?;
    invalid(info, obj, validation::validate_create(info, obj))?;
    crate::authz::admission::admit(
        state,
        info,
        crate::authz::noderestriction::Operation::Create,
        "",
        Some(obj),
        None,
    )?;
    if info.group.is_empty() && info.plural == "services" {
        let got = state.alloc.admit_service(obj, None, dry_run).await;
        return got.map_err(|e| alloc_error(info, obj, e));
    }
    Ok(Allocated::default())
}

/// Carries server-owned fields from `old` into `new` (upstream's `rest.BeforeUpdate` and
/// `PrepareForUpdate`). Name and namespace were checked against the URL already
/// (`update::check_name`). A uid or deletion field the client changed is kept, so that
/// validation refuses it as immutable (422) instead of the change being dropped
/// silently; left out, they keep the stored values, as upstream fills them in.
pub fn prepare_for_update(info: &ResourceInfo, old: &Value, new: Value, mode: Mode) -> Value {
    let sent = new.get("metadata").cloned().unwrap_or(Value::Null);
    let mut out = match mode {
        _ if (info.group, info.plural)
            == (crate::certificates::GROUP, crate::certificates::PLURAL) =>
        {
            let mut n = new;
            crate::certificates::prepare_for_update(mode, old, &mut n);
            n
        }
        Mode::Status | Mode::Approval => {
            let mut o = old.clone();
            o["status"] = new.get("status").cloned().unwrap_or(json!({}));
            o
        }
        Mode::Main => {
            let mut n = new;
            if info.has_subresource("status") {
                match old.get("status") {
                    Some(s) => n["status"] = s.clone(),
                    None => {
                        if let Some(o) = n.as_object_mut() {
                            o.remove("status");
                        }
                    }
                }
            }
            n
        }
    };
    let stored = |f: &str| old["metadata"].get(f).filter(|v| !v.is_null()).cloned();
    let given = |f: &str| sent.get(f).filter(|v| !v.is_null() && *v != "").cloned();
    for f in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
    ] {
        let keep = match f {
            "uid" => given(f).or_else(|| stored(f)),
            // An update can never set, change or remove a deletion timestamp, nor
            // remove a grace period; setting or changing a grace period is refused.
            "deletionTimestamp" => stored(f).or_else(|| given(f)),
            "deletionGracePeriodSeconds" => given(f).or_else(|| stored(f)),
            _ => stored(f),
        };
        if let Some(m) = crate::keys::meta_mut(&mut out) {
            match keep {
                Some(v) => m.insert(f.into(), v),
                None => m.remove(f),
            };
        }
    }
    if mode == Mode::Main {
        info.strategy.prepare_for_update(old, &mut out);
    }
    out
}

/// Runs the update chain on an already merged object; returns new allocations (none
/// on a dry run).
pub async fn admit_update(
    state: &AppState,
    info: &ResourceInfo,
    old: &Value,
    new: &mut Value,
    mode: Mode,
    dry_run: bool,
) -> Result<Allocated, ApiError> {
    crate::secret_data::merge_string_data(info, new);
    refkube_resources::defaults::apply_defaults(info, new, &state.config.defaults);
    if mode == Mode::Main && info.strategy.generation_changed(info, old, new) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        new["metadata"]["generation"] = json!(g);
    }
    invalid(info, new, validation::validate_update(info, old, new))?;
    let subresource = match mode {
        Mode::Main => "",
        Mode::Status => "status",
        Mode::Approval => "approval",
    };
    crate::authz::admission::admit(
        state,
        info,
        crate::authz::noderestriction::Operation::Update,
        subresource,
        Some(new),
        Some(old),
    )?;
    if info.group.is_empty() && info.plural == "services" && mode == Mode::Main {
        let got = state.alloc.admit_service(new, Some(old), dry_run).await;
        return got.map_err(|e| alloc_error(info, new, e));
    }
    Ok(Allocated::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_updates_keep_everything_but_status() {
        let pods = refkube_resources::registry::lookup("", "v1", "pods").unwrap();
        let old = json!({"metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"x": 1}, "status": {"phase": "Pending"}});
        let new =
            json!({"metadata": {"name": "p"}, "spec": {"x": 2}, "status": {"phase": "Running"}});
        let out = prepare_for_update(pods, &old, new, Mode::Status);
        assert_eq!(out["spec"]["x"], 1);
        assert_eq!(out["metadata"]["labels"]["a"], "b");
        assert_eq!(out["status"]["phase"], "Running");
    }

    #[test]
    fn main_updates_ignore_status() {
        let pods = refkube_resources::registry::lookup("", "v1", "pods").unwrap();
        let old = json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"x": 1}, "status": {"phase": "Pending"}});
        let new =
            json!({"metadata": {"name": "p"}, "spec": {"x": 2}, "status": {"phase": "Running"}});
        let out = prepare_for_update(pods, &old, new, Mode::Main);
        assert_eq!(out["spec"]["x"], 2);
        assert_eq!(out["status"]["phase"], "Pending");
        assert_eq!(out["metadata"]["uid"], "u");
    }

    #[test]
    fn a_forged_uid_or_deletion_timestamp_is_kept_for_validation_to_refuse() {
        let cm = refkube_resources::registry::lookup("", "v1", "configmaps").unwrap();
        let old = json!({"metadata": {"name": "c", "uid": "u", "creationTimestamp": "t0"}});
        let new = json!({"metadata": {"name": "c", "uid": "forged", "creationTimestamp": "t1",
                                      "deletionTimestamp": "t2"}});
        let out = prepare_for_update(cm, &old, new, Mode::Main);
        assert_eq!(out["metadata"]["uid"], "forged");
        assert_eq!(out["metadata"]["deletionTimestamp"], "t2");
        // Upstream ignores a changed creationTimestamp rather than refusing it.
        assert_eq!(out["metadata"]["creationTimestamp"], "t0");
        let deleting = json!({"metadata": {"name": "c", "uid": "u", "deletionTimestamp": "t3",
                                           "deletionGracePeriodSeconds": 30}});
        let out = prepare_for_update(
            cm,
            &deleting,
            json!({"metadata": {"name": "c"}}),
            Mode::Main,
        );
        assert_eq!(out["metadata"]["deletionTimestamp"], "t3");
        assert_eq!(out["metadata"]["deletionGracePeriodSeconds"], 30);
    }
}
