//! Keeping client-side apply's `kubectl.kubernetes.io/last-applied-configuration`
//! annotation in step with a server-side apply by `kubectl`, as upstream's
//! `lastAppliedUpdater` does, so that a later client-side apply does not undo it.
//!
//! Entry points: [`sync`], [`allowed_conflicts`].

use serde_json::{Map, Value};

use super::path::Set;
use super::schema::Ty;
use super::walk;
use crate::ResourceInfo;

/// Upstream's `LastAppliedConfigAnnotation`.
pub const ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Rewrites the annotation of `obj` to `config` when `manager` is `kubectl` and `obj`
/// already carries a non-empty one (otherwise there is nothing to keep in step).
pub fn sync(manager: &str, obj: &mut Value, config: &Value) {
    let has = obj["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .is_some_and(|s| !s.is_empty());
    if manager != "kubectl" || !has {
        return;
    }
    let mut applied = config.clone();
    if let Some(a) = applied
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        a.remove(ANNOTATION);
    }
    // Go encodes the unstructured map with sorted keys and a trailing newline.
    let text = format!("{}\n", sorted(&applied));
    obj["metadata"]["annotations"][ANNOTATION] = Value::String(text);
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let out: Map<String, Value> = keys
                .into_iter()
                .map(|k| (k.clone(), sorted(&m[k.as_str()])))
                .collect();
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The fields `kubectl` may take over without conflict when it moves from client-side
/// to server-side apply: those its last-applied annotation holds with the live value
/// (`lastAppliedManager.allowedConflictsFromLastApplied`). `None` without a usable
/// annotation. `live_plain` is the live object in Go's form, without managedFields.
pub fn allowed_conflicts(
    info: &ResourceInfo,
    live_plain: &Value,
    live: &Value,
    ty: Ty<'_>,
) -> Option<Set> {
    let text = live["metadata"]["annotations"][ANNOTATION].as_str()?;
    let last: Value = serde_json::from_str(text).ok()?;
    if last["apiVersion"].as_str() != Some(info.api_version().as_str()) {
        return None;
    }
    let mut set = Set::new();
    walk::to_set(&last, ty, &mut Vec::new(), &mut set);
    let mut c = walk::Comparison::default();
    walk::compare(Some(&last), Some(live_plain), ty, &mut Vec::new(), &mut c);
    set.retain(|p| !c.modified.contains(p) && !c.added.contains(p) && !c.removed.contains(p));
    Some(set)
}
