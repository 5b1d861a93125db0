//! Controller validation: Deployment, ReplicaSet, ReplicationController, DaemonSet,
//! StatefulSet and Job specs (selectors matching templates, replica counts, strategy
//! rules) and their update-time immutability.

use super::{Errs, child, go, meta, pod, str_at};
use refkube_helpers::labels::{LabelSelector, object_labels};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Go's `%#v` of an (internal) `metav1.LabelSelector`, used in Invalid messages.
fn selector_go(sel: &Value) -> String {
    let labels = sel
        .get("matchLabels")
        .map_or_else(|| "map[string]string(nil)".to_string(), go);
    let exprs = match sel.get("matchExpressions").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => format!("[]v1.LabelSelectorRequirement{{{}}}", a.len()),
        _ => "[]v1.LabelSelectorRequirement(nil)".to_string(),
    };
    format!("&v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{exprs}}}")
}

/// The template checks shared by the replica controllers: template labels valid and
/// matched by the selector, restartPolicy Always, pod spec valid.
fn template(obj: &Value, selector: Option<&LabelSelector>, errs: &mut Errs, restart_always: bool) {
    let tpl = obj.pointer("/spec/template").unwrap_or(&Value::Null);
    if tpl.is_null() {
        errs.required("spec.template", "");
        return;
    }
    let labels: BTreeMap<String, String> = object_labels(tpl);
    if let Some(sel) = selector.filter(|s| !s.is_empty())
        && !sel.matches(&labels)
    {
        let shown = tpl
            .pointer("/metadata/labels")
            .cloned()
            .unwrap_or_else(|| json!({}));
        errs.invalid(
            "spec.template.metadata.labels",
            &shown,
            "`selector` does not match template `labels`",
        );
    }
    meta::labels(
        tpl.pointer("/metadata/labels"),
        "spec.template.metadata.labels",
        errs,
    );
    meta::annotations(
        tpl.pointer("/metadata/annotations"),
        "spec.template.metadata.annotations",
        errs,
    );
    let spec = tpl.get("spec").unwrap_or(&Value::Null);
    pod::pod_spec(spec, "spec.template.spec", errs);
    let restart = str_at(spec, "/restartPolicy");
    if restart_always && !restart.is_empty() && restart != "Always" {
        errs.not_supported(
            "spec.template.spec.restartPolicy",
            &json!(restart),
            &["Always"],
        );
    }
    if restart_always
        && spec
            .get("activeDeadlineSeconds")
            .is_some_and(|v| !v.is_null())
    {
        let v = spec
            .get("activeDeadlineSeconds")
            .cloned()
            .unwrap_or(Value::Null);
        errs.invalid(
            "spec.template.spec.activeDeadlineSeconds",
            &v,
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        );
    }
}

/// A `metav1.LabelSelector` spec.selector: required, non-empty, parseable.
fn label_selector(obj: &Value, what: &str, errs: &mut Errs) -> Option<LabelSelector> {
    let Some(sel) = obj.pointer("/spec/selector").filter(|s| !s.is_null()) else {
        errs.required("spec.selector", "");
        return None;
    };
    let parsed = match LabelSelector::from_object(sel) {
        Ok(Some(s)) => s,
        _ => {
            errs.push_raw(
                "FieldValueInvalid",
                "spec.selector",
                format!(
                    "Invalid value: {}: invalid label selector",
                    selector_go(sel)
                ),
            );
            return None;
        }
    };
    if parsed.is_empty() {
        errs.push_raw(
            "FieldValueInvalid",
            "spec.selector",
            format!(
                "Invalid value: {}: empty selector is invalid for {what}",
                selector_go(sel)
            ),
        );
    }
    Some(parsed)
}

fn replicas(obj: &Value, errs: &mut Errs) {
    errs.non_negative(obj, "/spec/replicas", "spec.replicas");
    errs.non_negative(obj, "/spec/minReadySeconds", "spec.minReadySeconds");
    errs.non_negative(
        obj,
        "/spec/revisionHistoryLimit",
        "spec.revisionHistoryLimit",
    );
}

pub fn deployment(obj: &Value, errs: &mut Errs) {
    replicas(obj, errs);
    let sel = label_selector(obj, "deployment", errs);
    template(obj, sel.as_ref(), errs, true);
    let strategy = obj.pointer("/spec/strategy").unwrap_or(&Value::Null);
    match str_at(strategy, "/type") {
        "Recreate" => {
            if strategy.get("rollingUpdate").is_some_and(|v| !v.is_null()) {
                errs.forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                );
            }
        }
        "RollingUpdate" => rolling_update(
            strategy.get("rollingUpdate").unwrap_or(&Value::Null),
            "spec.strategy.rollingUpdate",
            errs,
        ),
        "" => errs.required("spec.strategy.type", ""),
        other => errs.not_supported(
            "spec.strategy.type",
            &json!(other),
            &["Recreate", "RollingUpdate"],
        ),
    }
    if let Some(pds) = obj
        .pointer("/spec/progressDeadlineSeconds")
        .and_then(Value::as_i64)
    {
        let min_ready = obj
            .pointer("/spec/minReadySeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if pds < 0 {
            errs.invalid(
                "spec.progressDeadlineSeconds",
                &json!(pds),
                "must be greater than or equal to 0",
            );
        } else if pds <= min_ready {
            errs.invalid(
                "spec.progressDeadlineSeconds",
                &json!(pds),
                "must be greater than minReadySeconds",
            );
        }
    }
}

/// An int-or-percent: `Some(is_zero)` when valid.
fn int_or_percent(v: &Value, path: &str, errs: &mut Errs) -> Option<bool> {
    match v {
        Value::Null => Some(false),
        Value::Number(n) => {
            let n = n.as_i64().unwrap_or(-1);
            if n < 0 {
                errs.invalid(path, v, "must be greater than or equal to 0");
                return None;
            }
            Some(n == 0)
        }
        Value::String(s) => {
            let Some(p) = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
                errs.invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
                return None;
            };
            if p < 0 {
                errs.invalid(path, v, "must be greater than or equal to 0");
            } else if p > 100 {
                errs.invalid(path, v, "must not be greater than 100%");
            }
            Some(p == 0)
        }
        _ => {
            errs.invalid(path, v, "must be an integer or percentage");
            None
        }
    }
}

fn rolling_update(ru: &Value, path: &str, errs: &mut Errs) {
    let unavailable = ru.get("maxUnavailable").unwrap_or(&Value::Null);
    let surge = ru.get("maxSurge").unwrap_or(&Value::Null);
    let u = int_or_percent(unavailable, &child(path, "maxUnavailable"), errs);
    let s = int_or_percent(surge, &child(path, "maxSurge"), errs);
    if u == Some(true) && s == Some(true) {
        errs.invalid(
            &child(path, "maxUnavailable"),
            unavailable,
            "may not be 0 when `maxSurge` is 0",
        );
    }
}

pub fn replica_set(obj: &Value, errs: &mut Errs) {
    replicas(obj, errs);
    // Upstream's ReplicaSet validation reuses the Deployment wording here.
    let sel = label_selector(obj, "deployment", errs);
    template(obj, sel.as_ref(), errs, true);
}

pub fn replication_controller(obj: &Value, errs: &mut Errs) {
    replicas(obj, errs);
    let sel = obj
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty());
    let Some(sel) = sel else {
        errs.required("spec.selector", "");
        template(obj, None, errs, true);
        return;
    };
    let map: BTreeMap<String, String> = sel
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    meta::labels(obj.pointer("/spec/selector"), "spec.selector", errs);
    template(obj, Some(&LabelSelector::from_map(&map)), errs, true);
}

pub fn daemon_set(obj: &Value, errs: &mut Errs) {
    errs.non_negative(obj, "/spec/minReadySeconds", "spec.minReadySeconds");
    errs.non_negative(
        obj,
        "/spec/revisionHistoryLimit",
        "spec.revisionHistoryLimit",
    );
    let sel = label_selector(obj, "daemonset", errs);
    template(obj, sel.as_ref(), errs, true);
    let strategy = obj.pointer("/spec/updateStrategy").unwrap_or(&Value::Null);
    match str_at(strategy, "/type") {
        "OnDelete" | "" => {}
        "RollingUpdate" => rolling_update(
            strategy.get("rollingUpdate").unwrap_or(&Value::Null),
            "spec.updateStrategy.rollingUpdate",
            errs,
        ),
        other => errs.not_supported(
            "spec.updateStrategy.type",
            &json!(other),
            &["OnDelete", "RollingUpdate"],
        ),
    }
}

pub fn stateful_set(obj: &Value, errs: &mut Errs) {
    replicas(obj, errs);
    let policy = str_at(obj, "/spec/podManagementPolicy");
    if !["", "OrderedReady", "Parallel"].contains(&policy) {
        errs.push_raw(
            "FieldValueInvalid",
            "spec.podManagementPolicy",
            format!(
                "Invalid value: {}: must be 'OrderedReady' or 'Parallel'",
                go(&json!(policy))
            ),
        );
    }
    let sel = label_selector(obj, "statefulset", errs);
    template(obj, sel.as_ref(), errs, true);
}

const STS_UPDATE_FORBIDDEN: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

pub fn stateful_set_update(old: &Value, new: &Value, errs: &mut Errs) {
    let strip = |v: &Value| {
        let mut spec = v.get("spec").cloned().unwrap_or(Value::Null);
        if let Some(m) = spec.as_object_mut() {
            for k in [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ] {
                m.remove(k);
            }
        }
        spec
    };
    if strip(old) != strip(new) {
        errs.forbidden("spec", STS_UPDATE_FORBIDDEN);
    }
}

pub fn job(obj: &Value, errs: &mut Errs) {
    for f in ["parallelism", "completions", "backoffLimit"] {
        errs.non_negative(obj, &format!("/spec/{f}"), &child("spec", f));
    }
    if let Some(ads) = obj
        .pointer("/spec/activeDeadlineSeconds")
        .and_then(Value::as_i64)
        .filter(|n| *n <= 0)
    {
        errs.invalid(
            "spec.activeDeadlineSeconds",
            &json!(ads),
            "must be greater than or equal to 0",
        );
    }
    let sel = label_selector(obj, "job", errs);
    let restart = obj
        .pointer("/spec/template/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or_default();
    template(obj, sel.as_ref(), errs, false);
    if restart != "OnFailure" && restart != "Never" {
        errs.not_supported(
            "spec.template.spec.restartPolicy",
            &json!(restart),
            &["OnFailure", "Never"],
        );
    }
}

pub fn job_update(old: &Value, new: &Value, errs: &mut Errs) {
    errs.immutable(
        old.pointer("/spec/selector"),
        new.pointer("/spec/selector"),
        "spec.selector",
    );
    errs.immutable(
        old.pointer("/spec/completions"),
        new.pointer("/spec/completions"),
        "spec.completions",
    );
    // Upstream lets a suspended job change its template's scheduling directives; the
    // reference keeps the whole template immutable.
    if old.pointer("/spec/template") != new.pointer("/spec/template") {
        errs.push_raw(
            "FieldValueInvalid",
            "spec.template",
            "Invalid value: core.PodTemplateSpec{...}: field is immutable".to_string(),
        );
    }
}
