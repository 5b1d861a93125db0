//! The `pods/ephemeralcontainers` subresource's rules (upstream's
//! `ValidatePodEphemeralContainersUpdate`): new ephemeral containers are containers
//! with a name unique across every container of the pod, a target that is one of the
//! pod's other containers, and none of the fields a pod's own services rely on; the
//! ones already there may be neither changed nor removed.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{Errs, arr_at, child, str_at};

/// Container fields an ephemeral container may not set, in Go's field order.
const FORBIDDEN_FIELDS: &[&str] = &[
    "ports",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
];

const NOT_FOR_EPHEMERAL: &str = "cannot be set for an Ephemeral Container";

/// Go's zero value: absent, null, or an empty object, list or string.
fn is_set(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Object(m)) => m.values().any(|v| is_set(Some(v))),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Checks the ephemeral containers of `new` against `old`'s.
pub fn update(old: &Value, new: &Value, errs: &mut Errs) {
    let spec = &new["spec"];
    let path = "spec.ephemeralContainers";
    let mut others = HashSet::new();
    for list in ["/containers", "/initContainers"] {
        for c in arr_at(spec, list) {
            others.insert(str_at(c, "/name").to_string());
        }
    }
    let volumes: HashSet<String> = arr_at(spec, "/volumes")
        .iter()
        .map(|v| str_at(v, "/name").to_string())
        .collect();
    let mut names = others.clone();
    for (i, ec) in arr_at(spec, "/ephemeralContainers").iter().enumerate() {
        let at = format!("{path}[{i}]");
        super::pod::container(ec, &at, &mut names, &volumes, errs);
        let target = str_at(ec, "/targetContainerName");
        if !target.is_empty() && !others.contains(target) {
            errs.not_found(&child(&at, "targetContainerName"), &json!(target));
        }
        for f in FORBIDDEN_FIELDS {
            if is_set(ec.get(*f)) {
                errs.forbidden(&child(&at, f), NOT_FOR_EPHEMERAL);
            }
        }
        for (j, m) in arr_at(ec, "/volumeMounts").iter().enumerate() {
            for f in ["subPath", "subPathExpr"] {
                if !str_at(m, &format!("/{f}")).is_empty() {
                    let field = format!("{at}.volumeMounts[{j}].{f}");
                    errs.forbidden(&field, NOT_FOR_EPHEMERAL);
                }
            }
        }
    }
    let now = arr_at(spec, "/ephemeralContainers");
    for was in arr_at(&old["spec"], "/ephemeralContainers") {
        let name = str_at(was, "/name");
        match now.iter().find(|c| str_at(c, "/name") == name) {
            None => errs.forbidden(
                path,
                &format!("existing ephemeral containers {name:?} may not be removed"),
            ),
            Some(c) if c != was => errs.forbidden(
                path,
                &format!("existing ephemeral containers {name:?} may not be changed"),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ephemeral: Value) -> Value {
        json!({"spec": {
            "containers": [{"name": "app", "image": "x"}],
            "ephemeralContainers": ephemeral,
        }})
    }

    fn fields(old: &Value, new: &Value) -> Vec<(String, String)> {
        let mut errs = Errs::default();
        update(old, new, &mut errs);
        errs.0.into_iter().map(|c| (c.field, c.message)).collect()
    }

    #[test]
    fn a_new_debug_container_passes() {
        let old = pod(json!([]));
        let new = pod(
            json!([{"name": "dbg", "image": "busybox", "targetContainerName": "app",
            "resources": {}}]),
        );
        assert_eq!(fields(&old, &new), []);
    }

    #[test]
    fn names_targets_forbidden_fields_and_existing_ones_are_checked() {
        let first = json!({"name": "dbg", "image": "busybox"});
        let old = pod(json!([first]));
        let new = pod(json!([
            {"name": "dbg", "image": "alpine"},
            {"name": "app", "image": "x", "targetContainerName": "nope",
             "readinessProbe": {"exec": {"command": ["true"]}}}
        ]));
        assert_eq!(
            fields(&old, &new),
            [
                (
                    "spec.ephemeralContainers[1].name".into(),
                    "Duplicate value: \"app\"".into()
                ),
                (
                    "spec.ephemeralContainers[1].targetContainerName".into(),
                    "Not found: \"nope\"".into()
                ),
                (
                    "spec.ephemeralContainers[1].readinessProbe".into(),
                    "Forbidden: cannot be set for an Ephemeral Container".into()
                ),
                (
                    "spec.ephemeralContainers".into(),
                    "Forbidden: existing ephemeral containers \"dbg\" may not be changed".into()
                ),
            ]
        );
        let removed = fields(&old, &pod(json!([])));
        assert_eq!(
            removed[0].1,
            "Forbidden: existing ephemeral containers \"dbg\" may not be removed"
        );
    }
}
