//! Field ownership (`metadata.managedFields`) and server-side apply, as upstream's
//! `k8s.io/apimachinery/pkg/util/managedfields` drives structured-merge-diff's
//! `merge.Updater`: every write records which manager set which fields; an apply
//! merges the configuration into the live object, removes what the manager applied
//! before and no longer does (unless another applier owns it), and refuses to change a
//! field another manager owns unless forced.
//!
//! Entry points: [`update`] (create, update and non-apply patch), [`apply`],
//! [`manager_from_user_agent`]. Walks are in `walk.rs`, the schema view in `schema.rs`,
//! paths and `FieldsV1` in `path.rs`, the stored entries in `entries.rs`, the
//! client-side apply annotation in `lastapplied.rs`.

pub mod entries;
pub mod lastapplied;
pub mod path;
pub mod schema;
pub mod walk;

use serde_json::{Value, json};

use crate::ResourceInfo;
use entries::{Managed, ManagerId, Owned};
use path::{Path, PathElement, Set, path_string};
use schema::Ty;
use walk::Comparison;

/// Who writes, how, and when.
#[derive(Clone, Copy, Debug)]
pub struct Op<'a> {
    pub info: &'a ResourceInfo,
    /// The `fieldManager` (or the User-Agent prefix for non-apply writes).
    pub manager: &'a str,
    /// `""` or `"status"`: subresource writers are separate managers.
    pub subresource: &'a str,
    /// RFC 3339 time of the write.
    pub now: &'a str,
}

/// Why an apply cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// 400 with this message.
    BadRequest(String),
    /// 409: fields owned by other managers would change.
    Conflicts(Vec<Conflict>),
}

/// One field an apply would take from another manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Upstream's manager identifier JSON (conflicts print sorted by it).
    pub identifier: String,
    /// `printManager`'s form of the manager.
    pub manager: String,
    /// `Path.String()`: `.spec.replicas`.
    pub field: String,
}

/// Upstream's `getConflictMessage`.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [c] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            c.manager, c.field
        );
    }
    let mut ids: Vec<&Conflict> = conflicts.iter().collect();
    ids.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    ids.dedup_by(|a, b| a.identifier == b.identifier);
    let mut lines = Vec::new();
    for m in ids {
        lines.push(format!("conflicts with {}:", m.manager));
        for c in conflicts.iter().filter(|c| c.identifier == m.identifier) {
            lines.push(format!("- {}", c.field));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Upstream's `prefixFromUserAgent`: what precedes the first `/`, printable characters
/// only, at most 128 bytes.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let mut out = String::new();
    for c in user_agent.split('/').next().unwrap_or_default().chars() {
        if c.is_control() {
            continue;
        }
        if out.len() + c.len_utf8() > 128 {
            break;
        }
        out.push(c);
    }
    out
}

/// Fields never owned (upstream's `stripMetaManager`).
fn strip(set: &mut Set) {
    let f = |s: &str| PathElement::Field(s.to_string());
    set.remove(&vec![f("apiVersion")]);
    set.remove(&vec![f("kind")]);
    set.remove(&vec![f("metadata")]);
    for m in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.remove(&vec![f("metadata"), f(m)]);
    }
}

/// The fields a write to this (sub)resource resets, so no manager owns them there
/// (the kind's `GetResetFields`, from its strategy).
fn reset_fields(op: &Op) -> Vec<Path> {
    op.info
        .strategy
        .reset_fields(op.info, op.subresource)
        .into_iter()
        .map(|p| {
            p.iter()
                .map(|s| PathElement::Field(s.to_string()))
                .collect()
        })
        .collect()
}

fn recursive_difference(set: &mut Set, prefixes: &[Path]) {
    set.retain(|p| !prefixes.iter().any(|x| p.starts_with(x)));
}

/// The schema ownership is computed with: a custom kind's own `openAPIV3Schema`, else
/// the typed kind's.
struct KindSchema(Option<std::sync::Arc<Value>>, Option<&'static Value>);

impl KindSchema {
    fn of(info: &ResourceInfo) -> Self {
        match info.custom {
            Some(c) => Self(None, Some(&c.raw_schema)),
            None => Self(crate::types::schema(info), None),
        }
    }

    fn ty(&self) -> Ty<'_> {
        Ty::root(self.1.or(self.0.as_deref()))
    }
}

/// The kind's empty object in Go's form: what a create is compared against.
fn zero_object(info: &ResourceInfo) -> Value {
    let mut v = json!({"apiVersion": info.api_version(), "kind": info.kind, "metadata": {}});
    crate::types::go::normalize(info, &mut v);
    v
}

/// `v` without `metadata.managedFields`, in Go's form.
fn plain(info: &ResourceInfo, v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    crate::types::go::normalize(info, &mut v);
    v
}

fn field_set(v: &Value, ty: Ty<'_>) -> Set {
    let mut set = Set::new();
    walk::to_set(v, ty, &mut Vec::new(), &mut set);
    set
}

fn comparison(live: &Value, new: &Value, ty: Ty<'_>, reset: &[Path]) -> Comparison {
    let mut c = Comparison::default();
    walk::compare(Some(live), Some(new), ty, &mut Vec::new(), &mut c);
    for s in [&mut c.added, &mut c.modified, &mut c.removed] {
        recursive_difference(s, reset);
    }
    c
}

/// The managers a write starts from (upstream's `decodeLiveOrNew`): a main-resource
/// write may set managedFields itself (an empty list resets them), otherwise the live
/// object's stand.
fn base_managers(op: &Op, live: Option<&Value>, new: &Value) -> Managed {
    let of =
        |v: Option<&Value>| -> Option<Value> { v?.get("metadata")?.get("managedFields").cloned() };
    let from_live = || entries::decode(&of(live).unwrap_or(Value::Null)).unwrap_or_default();
    if !op.subresource.is_empty() {
        return from_live();
    }
    match of(Some(new)) {
        Some(Value::Array(a)) if a.is_empty() => Managed::new(),
        Some(Value::Array(a)) if a.len() == 1 && a[0] == json!({}) => Managed::new(),
        Some(given) => match entries::decode(&given) {
            Ok(m) if !m.is_empty() => m,
            _ => from_live(),
        },
        None => from_live(),
    }
}

/// Removes what changed from every other manager (forced) or reports it (not forced);
/// upstream's `Updater.update`.
fn take_ownership(
    managed: &mut Managed,
    me: &ManagerId,
    c: &Comparison,
    force: bool,
) -> Result<(), Vec<Conflict>> {
    let changed: Set = c.modified.union(&c.added).cloned().collect();
    let mut conflicts = Vec::new();
    for (id, owned) in managed.iter() {
        if id == me {
            continue;
        }
        for p in owned.set.intersection(&changed) {
            conflicts.push(Conflict {
                identifier: id.identifier(),
                manager: id.describe(),
                field: path_string(p),
            });
        }
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|a, b| (&a.identifier, &a.field).cmp(&(&b.identifier, &b.field)));
        return Err(conflicts);
    }
    for (id, owned) in managed.iter_mut() {
        if id != me {
            owned
                .set
                .retain(|p| !changed.contains(p) && !c.removed.contains(p));
        }
    }
    managed.retain(|_, o| !o.set.is_empty());
    Ok(())
}

/// Records a create, update or non-apply patch by `op.manager`: returns the
/// `managedFields` to store with `new`. `live` is `None` for a create; `new` is the
/// object as it will be stored (defaulted).
pub fn update(op: &Op, live: Option<&Value>, new: &Value) -> Value {
    let schema = KindSchema::of(op.info);
    let ty = schema.ty();
    let mut managed = base_managers(op, live, new);
    let live_v = live.map_or_else(|| zero_object(op.info), |l| plain(op.info, l));
    let mut new_v = plain(op.info, new);
    if op.subresource == "status" && live.is_some() {
        // A status write stores the live object with the new status and nothing else,
        // so only status changes are the writer's.
        let status = new_v.get("status").cloned();
        new_v = live_v.clone();
        match (new_v.as_object_mut(), status) {
            (Some(o), Some(st)) => {
                o.insert("status".into(), st);
            }
            (Some(o), None) => {
                o.remove("status");
            }
            _ => {}
        }
    }
    let reset = reset_fields(op);
    let c = comparison(&live_v, &new_v, ty, &reset);
    // Every write takes what it changed, even from appliers (an Update is always forced).
    let me = ManagerId::new(op.manager, false, &op.info.api_version(), op.subresource);
    let current = ManagerId::new("\u{0}current-operation", false, "", "");
    let _ = take_ownership(&mut managed, &current, &c, true);
    let mut took: Set = c
        .modified
        .union(&c.added)
        .filter(|p| !c.removed.contains(*p))
        .cloned()
        .collect();
    strip(&mut took);
    if !took.is_empty() {
        let entry = managed.entry(me).or_insert_with(|| Owned {
            set: Set::new(),
            api_version: op.info.api_version(),
            time: None,
        });
        entry.set.extend(took);
        entry.api_version = op.info.api_version();
        entry.time = Some(op.now.to_string());
    }
    entries::cap_updaters(&mut managed);
    entries::encode(&managed)
}

/// Server-side apply of `config` by `op.manager` to `live` (`None`: the object does not
/// exist yet). Returns the object to store, with its managedFields.
///
/// `kubectl` upgrading from client-side apply does not conflict on the fields its
/// last-applied annotation still describes (upstream's `lastAppliedManager`).
pub fn apply(
    op: &Op,
    live: Option<&Value>,
    config: &Value,
    force: bool,
) -> Result<Value, ApplyError> {
    match apply_once(op, live, config, force) {
        Err(ApplyError::Conflicts(cs)) if op.manager == "kubectl" => {
            let schema = KindSchema::of(op.info);
            let ty = schema.ty();
            let allowed = live
                .and_then(|l| lastapplied::allowed_conflicts(op.info, &plain(op.info, l), l, ty));
            let Some(allowed) = allowed else {
                return Err(ApplyError::Conflicts(cs));
            };
            let allowed: Vec<String> = allowed.iter().map(|p| path_string(p)).collect();
            let left: Vec<Conflict> = cs
                .into_iter()
                .filter(|c| !allowed.contains(&c.field))
                .collect();
            if left.is_empty() {
                apply_once(op, live, config, true)
            } else {
                Err(ApplyError::Conflicts(left))
            }
        }
        other => other,
    }
}

fn apply_once(
    op: &Op,
    live: Option<&Value>,
    config: &Value,
    force: bool,
) -> Result<Value, ApplyError> {
    if config
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into(),
        ));
    }
    let schema = KindSchema::of(op.info);
    let ty = schema.ty();
    let mut managed = live
        .and_then(|l| l.get("metadata")?.get("managedFields"))
        .map(entries::decode)
        .transpose()
        .map_err(|e| ApplyError::BadRequest(format!("failed to decode managed fields: {e}")))?
        .unwrap_or_default();
    let live_v = live.map_or_else(|| zero_object(op.info), |l| plain(op.info, l));
    let reset = reset_fields(op);
    let me = ManagerId::new(op.manager, true, "", op.subresource);
    let merged = walk::merge(&live_v, config, ty);
    let last = managed.get(&me).map(|o| o.set.clone());
    let mut set = field_set(config, ty);
    recursive_difference(&mut set, &reset);
    let time = managed.get(&me).and_then(|o| o.time.clone());
    managed.insert(
        me.clone(),
        Owned {
            set,
            api_version: op.info.api_version(),
            time,
        },
    );
    let pruned = match &last {
        Some(last) if !last.is_empty() => prune(&merged, &managed, last, ty),
        _ => merged,
    };
    let c = comparison(&live_v, &pruned, ty, &reset);
    take_ownership(&mut managed, &me, &c, force).map_err(ApplyError::Conflicts)?;
    if let Some(mine) = managed.get_mut(&me) {
        strip(&mut mine.set);
        if pruned != live_v {
            mine.time = Some(op.now.to_string());
        }
    }
    managed.retain(|_, o| !o.set.is_empty());
    let mut out = pruned;
    lastapplied::sync(op.manager, &mut out, config);
    if let Some(m) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("managedFields".into(), entries::encode(&managed));
    }
    Ok(out)
}

/// Removes what the applier applied last time and no longer does, unless an applier
/// (this one included) still owns it (upstream's `Updater.prune`).
fn prune(merged: &Value, managed: &Managed, last: &Set, ty: Ty<'_>) -> Value {
    let remove = |v: &Value, s: &Set| walk::remove_items(v, s, ty, &mut Vec::new());
    let pruned = remove(merged, last);
    // addBackOwnedItems: only what no applier owns stays removed.
    let owned: Set = managed
        .iter()
        .filter(|(id, _)| id.applied)
        .flat_map(|(_, o)| o.set.iter().cloned())
        .collect();
    let merged_set = field_set(merged, ty);
    let pruned_set = field_set(&pruned, ty);
    let keep: Set = pruned_set.union(&owned).cloned().collect();
    let pruned = remove(merged, &merged_set.difference(&keep).cloned().collect());
    // addBackDanglingItems: only what this applier owned last time goes.
    let pruned_set = field_set(&pruned, ty);
    let gone: Set = merged_set
        .difference(&pruned_set)
        .filter(|p| last.contains(*p))
        .cloned()
        .collect();
    remove(merged, &gone)
}

#[cfg(test)]
mod tests;
