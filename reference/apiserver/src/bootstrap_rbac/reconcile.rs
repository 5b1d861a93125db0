//! Upstream's RBAC reconciliation (`pkg/registry/rbac/reconciliation`), as its
//! `rbac/bootstrap-roles` post-start hook runs it: a missing bootstrap object is
//! created; an existing one gains the rules, subjects, labels and annotations it lacks,
//! unless its `autoupdate` annotation is "false". Nothing a user added is removed, so an
//! administrator's extra permissions survive every restart.
//!
//! Entry points: [`ensure`] (at start-up), and the pure [`reconcile_role`] and
//! [`reconcile_binding`].

use refkube_resources::ResourceInfo;
use refkube_resources::registry::lookup;
use refkube_store::StoreError;
use serde_json::{Map, Value};

use super::{AUTOUPDATE, GROUP};
use crate::handlers::create::create_object;
use crate::handlers::update::{Target, commit};
use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|s| s == "*" || s == want)
}

/// Whether `url` is named by `pattern`, where a trailing `*` matches any suffix.
fn url_matches(pattern: &str, url: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => url.starts_with(prefix),
        None => pattern == url,
    }
}

/// Whether `owner` grants everything `rule` grants, checked one verb, group, resource
/// and name (or URL) at a time as upstream's `Covers` breaks rules down.
pub fn covers(owner: &[Value], rule: &Value) -> bool {
    let verbs = strings(rule, "verbs");
    let urls = strings(rule, "nonResourceURLs");
    if !urls.is_empty() {
        return verbs.iter().all(|verb| {
            urls.iter().all(|url| {
                owner.iter().any(|o| {
                    has(&strings(o, "verbs"), verb)
                        && strings(o, "nonResourceURLs")
                            .iter()
                            .any(|p| url_matches(p, url))
                })
            })
        });
    }
    let names = strings(rule, "resourceNames");
    let names: Vec<Option<&String>> = if names.is_empty() {
        vec![None]
    } else {
        names.iter().map(Some).collect()
    };
    let (groups, resources) = (strings(rule, "apiGroups"), strings(rule, "resources"));
    verbs.iter().all(|verb| {
        groups.iter().all(|group| {
            resources.iter().all(|resource| {
                names.iter().all(|name| {
                    owner.iter().any(|o| {
                        let owned_names = strings(o, "resourceNames");
                        has(&strings(o, "verbs"), verb)
                            && has(&strings(o, "apiGroups"), group)
                            && has(&strings(o, "resources"), resource)
                            && (owned_names.is_empty()
                                || name.is_some_and(|n| owned_names.contains(n)))
                    })
                })
            })
        })
    })
}

fn protected(existing: &Value) -> bool {
    existing
        .pointer(&format!(
            "/metadata/annotations/{}",
            AUTOUPDATE.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        == Some("false")
}

/// Adds the keys of `expected`'s map at `field` that `existing` lacks; existing values
/// win, as upstream's merge does.
fn merge_map(existing: &mut Value, expected: &Value, field: &str) {
    let Some(want) = expected
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_object)
    else {
        return;
    };
    let Some(meta) = existing.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let have = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !have.is_object() {
        *have = Value::Object(Map::new());
    }
    if let Some(have) = have.as_object_mut() {
        for (k, v) in want {
            have.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

fn push_missing(existing: &mut Value, field: &str, missing: Vec<Value>) {
    if missing.is_empty() {
        return;
    }
    match existing.get_mut(field).and_then(Value::as_array_mut) {
        Some(a) => a.extend(missing),
        None => existing[field] = Value::Array(missing),
    }
}

/// The ClusterRole `existing` should become, or `None` when it needs no write.
pub fn reconcile_role(existing: &Value, expected: &Value) -> Option<Value> {
    if protected(existing) {
        return None;
    }
    let mut out = existing.clone();
    merge_map(&mut out, expected, "labels");
    merge_map(&mut out, expected, "annotations");
    let have = existing
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let missing: Vec<Value> = expected
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| !covers(&have, r))
        .cloned()
        .collect();
    push_missing(&mut out, "rules", missing);
    if let Some(want) = expected.get("aggregationRule").filter(|v| v.is_object()) {
        let have = existing
            .pointer("/aggregationRule/clusterRoleSelectors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let missing: Vec<Value> = want
            .get("clusterRoleSelectors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|s| !have.contains(s))
            .cloned()
            .collect();
        if !missing.is_empty() {
            if !out.get("aggregationRule").is_some_and(Value::is_object) {
                out["aggregationRule"] = serde_json::json!({});
            }
            push_missing(&mut out["aggregationRule"], "clusterRoleSelectors", missing);
        }
    }
    (out != *existing).then_some(out)
}

/// What reconciling a ClusterRoleBinding needs.
#[derive(Debug, PartialEq)]
pub enum BindingChange {
    None,
    Update(Value),
    /// The roleRef differs; it cannot be changed in place, so the binding is deleted
    /// and created again (keeping its subjects).
    Recreate(Value),
}

fn same_subject(a: &Value, b: &Value) -> bool {
    ["kind", "name", "namespace"]
        .iter()
        .all(|k| a.get(k).and_then(Value::as_str) == b.get(k).and_then(Value::as_str))
        && a.get("apiGroup")
            .and_then(Value::as_str)
            .unwrap_or_default()
            == b.get("apiGroup")
                .and_then(Value::as_str)
                .unwrap_or_default()
}

pub fn reconcile_binding(existing: &Value, expected: &Value) -> BindingChange {
    if protected(existing) {
        return BindingChange::None;
    }
    let mut out = existing.clone();
    merge_map(&mut out, expected, "labels");
    merge_map(&mut out, expected, "annotations");
    let have = existing
        .get("subjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let missing: Vec<Value> = expected
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| !have.iter().any(|h| same_subject(h, s)))
        .cloned()
        .collect();
    push_missing(&mut out, "subjects", missing);
    if existing.get("roleRef") != expected.get("roleRef") {
        out["roleRef"] = expected["roleRef"].clone();
        return BindingChange::Recreate(out);
    }
    if out == *existing {
        BindingChange::None
    } else {
        BindingChange::Update(out)
    }
}

fn registered(plural: &str) -> Result<&'static ResourceInfo, ApiError> {
    lookup(GROUP, "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not registered")))
}

fn name_of(obj: &Value) -> String {
    keys::meta_str(obj, "name").to_string()
}

/// Reconciles one object: created when missing, otherwise written as `change` says.
async fn reconcile_one(
    state: &AppState,
    info: &'static ResourceInfo,
    expected: Value,
    change: fn(&Value, &Value) -> BindingChange,
) -> Result<(), ApiError> {
    let name = name_of(&expected);
    let ns = keys::meta_str(&expected, "namespace").to_string();
    let ns = (!ns.is_empty()).then_some(ns.as_str());
    let key = keys::key(info, ns, &name);
    let Some(kv) = state.store.get(&key).await? else {
        let mut expected = expected;
        crate::bootstrap::record_own_write(state, info, None, &mut expected);
        return match create_object(state, info, ns, expected, false).await {
            // Another API server created it first; its next start reconciles it.
            Err(e) if e.reason == "AlreadyExists" => Ok(()),
            other => other.map(|_| ()),
        };
    };
    let existing = keys::decode_kv(info, &kv)?;
    match change(&existing, &expected) {
        BindingChange::None => Ok(()),
        BindingChange::Update(mut next) => {
            crate::bootstrap::record_own_write(state, info, Some(&existing), &mut next);
            let rev = kv.mod_revision;
            commit(
                state,
                info,
                ns,
                &name,
                &existing,
                rev,
                next,
                Target::Main,
                false,
            )
            .await
            .map(|_| ())
        }
        BindingChange::Recreate(mut next) => {
            match state.store.delete(&key, Some(kv.mod_revision)).await {
                Ok(_) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
            for field in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "managedFields",
            ] {
                if let Some(m) = keys::meta_mut(&mut next) {
                    m.remove(field);
                }
            }
            crate::bootstrap::record_own_write(state, info, None, &mut next);
            create_object(state, info, ns, next, false)
                .await
                .map(|_| ())
        }
    }
}

fn role_change(existing: &Value, expected: &Value) -> BindingChange {
    reconcile_role(existing, expected).map_or(BindingChange::None, BindingChange::Update)
}

/// Creates or tops up every bootstrap ClusterRole, ClusterRoleBinding, Role and
/// RoleBinding (the namespaces they live in exist by then).
pub async fn ensure(state: &AppState) -> Result<(), ApiError> {
    let roles = registered("clusterroles")?;
    for role in super::cluster_roles() {
        reconcile_one(state, roles, role, role_change).await?;
    }
    let bindings = registered("clusterrolebindings")?;
    for b in super::cluster_role_bindings() {
        reconcile_one(state, bindings, b, reconcile_binding).await?;
    }
    let roles = registered("roles")?;
    for role in super::roles() {
        reconcile_one(state, roles, role, role_change).await?;
    }
    let bindings = registered("rolebindings")?;
    for b in super::role_bindings() {
        reconcile_one(state, bindings, b, reconcile_binding).await?;
    }
    Ok(())
}
