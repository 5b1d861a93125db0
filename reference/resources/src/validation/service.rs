//! Service validation (type, ports, session affinity, node ports) and its update rule
//! (cluster IPs may not change), plus ConfigMap/Secret data keys.

use super::{Errs, arr_at, child, pod, str_at};
use crate::names::{is_dns1123_label, regex_error};
use regex::Regex;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::LazyLock;

const SERVICE_TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

pub fn service(svc: &Value, errs: &mut Errs) {
    let spec = svc.get("spec").unwrap_or(&Value::Null);
    let ty = str_at(spec, "/type");
    if ty.is_empty() {
        errs.required("spec.type", "");
    } else if !SERVICE_TYPES.contains(&ty) {
        errs.not_supported("spec.type", &json!(ty), &SERVICE_TYPES);
    }
    let headless = str_at(spec, "/clusterIP") == "None";
    let ports = arr_at(spec, "/ports");
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.required("spec.ports", "");
    }
    let mut names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = format!("spec.ports[{i}]");
        let name = str_at(p, "/name");
        if ports.len() > 1 && name.is_empty() {
            errs.required(&child(&pp, "name"), "");
        } else if !name.is_empty() {
            // Upstream validateServicePort: a DNS-1123 label (kubectl create service
            // names ports "80-8080", which starts with a digit).
            for msg in is_dns1123_label(name) {
                errs.invalid(&child(&pp, "name"), &json!(name), &msg);
            }
            if !names.insert(name) {
                errs.duplicate(&child(&pp, "name"), &json!(name));
            }
        }
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=65535).contains(&port) {
            errs.invalid(&child(&pp, "port"), &json!(port), PORT_RANGE);
        }
        pod::protocol(p, &pp, errs);
        match p.get("targetPort") {
            Some(Value::Number(n)) if !(1..=65535).contains(&n.as_i64().unwrap_or(0)) => {
                errs.invalid(&child(&pp, "targetPort"), &json!(n), PORT_RANGE);
            }
            _ => {}
        }
        let node_port = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if node_port != 0 && ty == "ClusterIP" {
            errs.forbidden(
                &child(&pp, "nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            );
        } else if node_port != 0 && !(1..=65535).contains(&node_port) {
            errs.invalid(&child(&pp, "nodePort"), &json!(node_port), PORT_RANGE);
        }
    }
    let affinity = str_at(spec, "/sessionAffinity");
    if affinity.is_empty() {
        errs.required("spec.sessionAffinity", "");
    } else if !["ClientIP", "None"].contains(&affinity) {
        errs.not_supported(
            "spec.sessionAffinity",
            &json!(affinity),
            &["ClientIP", "None"],
        );
    }
    if ty == "ExternalName" && str_at(spec, "/externalName").is_empty() {
        errs.required("spec.externalName", "");
    }
    super::meta::labels(spec.get("selector"), "spec.selector", errs);
}

/// Cluster IPs of a service: `clusterIPs`, or `[clusterIP]` for older clients.
fn cluster_ips(svc: &Value) -> Vec<Value> {
    let ips = arr_at(svc, "/spec/clusterIPs");
    if !ips.is_empty() {
        return ips.to_vec();
    }
    match str_at(svc, "/spec/clusterIP") {
        "" => Vec::new(),
        ip => vec![json!(ip)],
    }
}

/// `validateUpgradeDowngradeClusterIPs`: a set cluster IP never changes (unless the
/// service moves to or from ExternalName).
pub fn service_update(old: &Value, new: &Value, errs: &mut Errs) {
    if str_at(old, "/spec/type") == "ExternalName" || str_at(new, "/spec/type") == "ExternalName" {
        return;
    }
    let (old_ips, new_ips) = (cluster_ips(old), cluster_ips(new));
    for (i, ip) in old_ips.iter().enumerate() {
        if new_ips.get(i).is_some_and(|n| n != ip) {
            errs.invalid(
                &format!("spec.clusterIPs[{i}]"),
                &Value::Array(new_ips.clone()),
                "may not change once set",
            );
        }
    }
}

const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
static CONFIG_KEY: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(&format!("^{CONFIG_KEY_FMT}$")).unwrap()
});

/// `IsConfigMapKey` for every key of `data` (and `binaryData` / `stringData`).
pub fn data_keys(obj: &Value, errs: &mut Errs) {
    for field in ["data", "binaryData", "stringData"] {
        for key in obj
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys())
        {
            let path = format!("{field}[{key}]");
            if key.len() > 253 {
                errs.invalid(&path, &json!(key), "must be no more than 253 characters");
            }
            if !CONFIG_KEY.is_match(key) {
                let msg = regex_error(
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                    CONFIG_KEY_FMT,
                    &["key.name", "KEY_NAME", "key-name"],
                );
                errs.invalid(&path, &json!(key), &msg);
            }
            if key == "." || key == ".." {
                errs.invalid(&path, &json!(key), "must not be '.' or '..'");
            }
        }
    }
}
