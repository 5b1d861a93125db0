//! Pod spec validation (`ValidatePodSpec` essentials: containers, ports, volumes,
//! resources, restart and DNS policy, tolerations) and `ValidatePodUpdate`'s
//! immutability rule.

use super::{Errs, arr_at, child, meta, str_at};
use crate::names::is_dns1123_label;
use refkube_helpers::quantity::Quantity;
use serde_json::{Value, json};
use std::collections::HashSet;

const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";
const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Validates a pod spec at `path` (`spec` for pods, `spec.template.spec` in templates).
pub fn pod_spec(spec: &Value, path: &str, errs: &mut Errs) {
    let volumes = volumes(spec, path, errs);
    let mut names = HashSet::new();
    for list in ["initContainers", "containers"] {
        let containers = arr_at(spec, &format!("/{list}"));
        if list == "containers" && containers.is_empty() {
            errs.required(&child(path, "containers"), "");
        }
        for (i, c) in containers.iter().enumerate() {
            container(
                c,
                &format!("{}[{i}]", child(path, list)),
                &mut names,
                &volumes,
                errs,
            );
        }
    }
    let restart = str_at(spec, "/restartPolicy");
    let restart_path = child(path, "restartPolicy");
    if restart.is_empty() {
        errs.required(&restart_path, "");
    } else if !["Always", "OnFailure", "Never"].contains(&restart) {
        errs.not_supported(
            &restart_path,
            &json!(restart),
            &["Always", "OnFailure", "Never"],
        );
    }
    let dns = str_at(spec, "/dnsPolicy");
    let dns_policies = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
    if dns.is_empty() {
        errs.required(&child(path, "dnsPolicy"), "");
    } else if !dns_policies.contains(&dns) {
        errs.not_supported(&child(path, "dnsPolicy"), &json!(dns), &dns_policies);
    }
    if let Some(ads) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && !(1..=i64::from(i32::MAX)).contains(&ads)
    {
        errs.invalid(
            &child(path, "activeDeadlineSeconds"),
            &json!(ads),
            "must be between 1 and 2147483647, inclusive",
        );
    }
    meta::labels(spec.get("nodeSelector"), &child(path, "nodeSelector"), errs);
    tolerations(spec, path, errs);
}

/// Volume names (DNS-1123 labels, unique); returns the set for mount checks.
fn volumes(spec: &Value, path: &str, errs: &mut Errs) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (i, v) in arr_at(spec, "/volumes").iter().enumerate() {
        let field = format!("{}[{i}].name", child(path, "volumes"));
        let name = str_at(v, "/name");
        if name.is_empty() {
            errs.required(&field, "");
            continue;
        }
        for msg in is_dns1123_label(name) {
            errs.invalid(&field, &json!(name), &msg);
        }
        if !seen.insert(name.to_string()) {
            errs.duplicate(&field, &json!(name));
        }
    }
    seen
}

pub(super) fn container(
    c: &Value,
    path: &str,
    names: &mut HashSet<String>,
    volumes: &HashSet<String>,
    errs: &mut Errs,
) {
    let name = str_at(c, "/name");
    let name_path = child(path, "name");
    if name.is_empty() {
        errs.required(&name_path, "");
    } else {
        for msg in is_dns1123_label(name) {
            errs.invalid(&name_path, &json!(name), &msg);
        }
        if !names.insert(name.to_string()) {
            errs.duplicate(&name_path, &json!(name));
        }
    }
    if str_at(c, "/image").trim().is_empty() {
        errs.required(&child(path, "image"), "");
    }
    for (i, p) in arr_at(c, "/ports").iter().enumerate() {
        let pp = format!("{}[{i}]", child(path, "ports"));
        match p.get("containerPort").and_then(Value::as_i64).unwrap_or(0) {
            0 => errs.required(&child(&pp, "containerPort"), ""),
            n if !(1..=65535).contains(&n) => {
                errs.invalid(&child(&pp, "containerPort"), &json!(n), PORT_RANGE)
            }
            _ => {}
        }
        let host = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        if host != 0 && !(1..=65535).contains(&host) {
            errs.invalid(&child(&pp, "hostPort"), &json!(host), PORT_RANGE);
        }
        protocol(p, &pp, errs);
    }
    for (i, m) in arr_at(c, "/volumeMounts").iter().enumerate() {
        let mp = format!("{}[{i}]", child(path, "volumeMounts"));
        let vname = str_at(m, "/name");
        if vname.is_empty() {
            errs.required(&child(&mp, "name"), "");
        } else if !volumes.contains(vname) {
            errs.not_found(&child(&mp, "name"), &json!(vname));
        }
        if str_at(m, "/mountPath").is_empty() {
            errs.required(&child(&mp, "mountPath"), "");
        }
    }
    resources(c, &child(path, "resources"), errs);
}

/// A port's protocol: required, one of SCTP, TCP, UDP.
pub fn protocol(p: &Value, path: &str, errs: &mut Errs) {
    let proto = str_at(p, "/protocol");
    if proto.is_empty() {
        errs.required(&child(path, "protocol"), "");
    } else if !["SCTP", "TCP", "UDP"].contains(&proto) {
        errs.not_supported(
            &child(path, "protocol"),
            &json!(proto),
            &["SCTP", "TCP", "UDP"],
        );
    }
}

/// A resource quantity, for comparisons (`100m`, `1Gi`, `1e3`, `2`); `None` if it is not one.
fn parse_quantity(s: &str) -> Option<Quantity> {
    Quantity::parse(s).ok()
}

/// Resources whose request must equal the limit (not overcommittable).
fn overcommit_allowed(name: &str) -> bool {
    !name.starts_with("hugepages-") && (!name.contains('/') || name.contains("kubernetes.io/"))
}

fn resources(c: &Value, path: &str, errs: &mut Errs) {
    let limits = c.pointer("/resources/limits").and_then(Value::as_object);
    let requests = c.pointer("/resources/requests").and_then(Value::as_object);
    let quantity = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let check = |map: Option<&serde_json::Map<String, Value>>, which: &str, errs: &mut Errs| {
        for (name, q) in map.into_iter().flatten() {
            let field = format!("{}[{name}]", child(path, which));
            match parse_quantity(&quantity(q)) {
                None => errs.invalid(&field, &json!(quantity(q)), QUANTITY_FORMAT),
                Some(v) if v.signum() < 0 => errs.invalid(
                    &field,
                    &json!(quantity(q)),
                    "must be greater than or equal to 0",
                ),
                Some(_) => {}
            }
        }
    };
    check(limits, "limits", errs);
    check(requests, "requests", errs);
    for (name, req) in requests.into_iter().flatten() {
        let Some(lim) = limits.and_then(|l| l.get(name)) else {
            continue;
        };
        let (Some(r), Some(l)) = (
            parse_quantity(&quantity(req)),
            parse_quantity(&quantity(lim)),
        ) else {
            continue;
        };
        let req_path = child(path, "requests");
        if r != l && !overcommit_allowed(name) {
            errs.invalid(
                &req_path,
                &json!(quantity(req)),
                &format!("must be equal to {name} limit of {}", quantity(lim)),
            );
        } else if r > l {
            errs.invalid(
                &req_path,
                &json!(quantity(req)),
                &format!(
                    "must be less than or equal to {name} limit of {}",
                    quantity(lim)
                ),
            );
        }
    }
}

fn tolerations(spec: &Value, path: &str, errs: &mut Errs) {
    for (i, t) in arr_at(spec, "/tolerations").iter().enumerate() {
        let tp = format!("{}[{i}]", child(path, "tolerations"));
        let op = str_at(t, "/operator");
        match op {
            "" | "Equal" => {}
            "Exists" if !str_at(t, "/value").is_empty() => {
                errs.invalid(
                    &child(&tp, "operator"),
                    &json!(op),
                    "value must be empty when `operator` is 'Exists'",
                );
            }
            "Exists" => {}
            other => {
                errs.not_supported(&child(&tp, "operator"), &json!(other), &["Equal", "Exists"])
            }
        }
        if str_at(t, "/key").is_empty() && op != "Exists" {
            errs.invalid(&child(&tp, "operator"), &json!(op), "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
        }
        let effect = str_at(t, "/effect");
        if !["", "NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            errs.not_supported(
                &child(&tp, "effect"),
                &json!(effect),
                &["NoExecute", "NoSchedule", "PreferNoSchedule"],
            );
        }
        if t.get("tolerationSeconds").is_some_and(|s| !s.is_null()) && effect != "NoExecute" {
            errs.invalid(
                &child(&tp, "effect"),
                &json!(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            );
        }
    }
}

const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidatePodUpdate`: only images, activeDeadlineSeconds, added tolerations and
/// scheduling-gate removal may change in a pod's spec.
pub fn pod_update(old: &Value, new: &Value, errs: &mut Errs) {
    let (Some(old_spec), Some(new_spec)) = (old.get("spec"), new.get("spec")) else {
        return;
    };
    let mut munged = new_spec.clone();
    for list in ["containers", "initContainers"] {
        let old_list = arr_at(old_spec, &format!("/{list}"));
        if let Some(items) = munged.get_mut(list).and_then(Value::as_array_mut) {
            for (i, c) in items.iter_mut().enumerate() {
                if let (Some(o), Some(m)) = (old_list.get(i), c.as_object_mut()) {
                    m.insert(
                        "image".into(),
                        o.get("image").cloned().unwrap_or(Value::Null),
                    );
                }
            }
        }
    }
    let copy = |munged: &mut Value, key: &str| match (old_spec.get(key), munged.as_object_mut()) {
        (Some(v), Some(m)) => {
            m.insert(key.into(), v.clone());
        }
        (None, Some(m)) => {
            m.remove(key);
        }
        _ => {}
    };
    copy(&mut munged, "activeDeadlineSeconds");
    copy(&mut munged, "terminationGracePeriodSeconds");
    // Scheduling gates may only be removed.
    let gates_removed = arr_at(new_spec, "/schedulingGates")
        .iter()
        .all(|g| arr_at(old_spec, "/schedulingGates").contains(g));
    if gates_removed {
        copy(&mut munged, "schedulingGates");
    }
    let old_tol = arr_at(old_spec, "/tolerations");
    if old_tol
        .iter()
        .all(|t| arr_at(new_spec, "/tolerations").contains(t))
    {
        copy(&mut munged, "tolerations");
    }
    let strip_nulls = |v: &Value| strip_nulls(v.clone());
    if strip_nulls(&munged) != strip_nulls(old_spec) {
        errs.forbidden("spec", POD_UPDATE_FORBIDDEN);
    }
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}
