//! The whole bootstrap policy against `upstream_policy.txt`, a compact table of every
//! Role, ClusterRole and binding upstream's `bootstrappolicy/testdata` golden files
//! (cluster-roles, cluster-role-bindings, namespace-roles, namespace-role-bindings,
//! controller-roles, controller-role-bindings) hold for the objects refkube creates.
//! Any edit to the policy that drifts from upstream fails here with the rendered table,
//! to be compared with the golden files before the table is changed.

use serde_json::Value;

use super::{cluster_role_bindings, cluster_roles, role_bindings, roles};

const TABLE: &str = include_str!("upstream_policy.txt");

fn list(v: &Value, key: &str) -> String {
    let items: Vec<String> = v
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| match s.as_str() {
            Some("") => "\"\"".to_string(),
            Some(s) => s.to_string(),
            None => s.to_string(),
        })
        .collect();
    if items.is_empty() {
        "-".into()
    } else {
        items.join(",")
    }
}

/// One object as table lines: a header, its labels beyond the bootstrap one, its
/// aggregation selectors, then its rules or its role and subjects in stored order.
fn render(obj: &Value) -> Vec<String> {
    let meta = &obj["metadata"];
    let ns = meta["namespace"].as_str().unwrap_or("-");
    let mut out = vec![format!(
        "{} {ns} {}",
        obj["kind"].as_str().unwrap_or("?"),
        meta["name"].as_str().unwrap_or("?")
    )];
    if let Some(labels) = meta["labels"].as_object() {
        for (k, v) in labels {
            if k != "kubernetes.io/bootstrapping" {
                out.push(format!("  label {k}={}", v.as_str().unwrap_or("?")));
            }
        }
    }
    for sel in obj
        .pointer("/aggregationRule/clusterRoleSelectors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for (k, v) in sel["matchLabels"].as_object().into_iter().flatten() {
            out.push(format!("  aggregate {k}={}", v.as_str().unwrap_or("?")));
        }
    }
    for r in obj["rules"].as_array().into_iter().flatten() {
        out.push(format!(
            "  rule {} | {} | {} | {} | {}",
            list(r, "verbs"),
            list(r, "apiGroups"),
            list(r, "resources"),
            list(r, "resourceNames"),
            list(r, "nonResourceURLs")
        ));
    }
    if let Some(role) = obj.get("roleRef") {
        out.push(format!(
            "  roleRef {}/{}",
            role["kind"].as_str().unwrap_or("?"),
            role["name"].as_str().unwrap_or("?")
        ));
    }
    for s in obj["subjects"].as_array().into_iter().flatten() {
        let name = s["name"].as_str().unwrap_or("?");
        match s["namespace"].as_str() {
            Some(ns) => out.push(format!("  subject ServiceAccount {ns}/{name}")),
            None => out.push(format!(
                "  subject {} {name}",
                s["kind"].as_str().unwrap_or("?")
            )),
        }
    }
    out
}

/// refkube's own grants of the controller roles to its single controller-manager
/// identity; upstream has no such objects, so the table leaves them out.
fn is_refkube_own(obj: &Value) -> bool {
    obj["metadata"]["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("refkube:"))
}

fn rendered() -> Vec<Vec<String>> {
    let mut objects: Vec<Vec<String>> = cluster_roles()
        .iter()
        .chain(&cluster_role_bindings())
        .chain(&roles())
        .chain(&role_bindings())
        .filter(|o| !is_refkube_own(o))
        .map(render)
        .collect();
    objects.sort();
    objects
}

fn table() -> Vec<Vec<String>> {
    let mut objects: Vec<Vec<String>> = Vec::new();
    for line in TABLE.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("  ") {
            if let Some(last) = objects.last_mut() {
                last.push(line.to_string());
            }
        } else {
            objects.push(vec![line.to_string()]);
        }
    }
    objects.sort();
    objects
}

#[test]
fn the_policy_is_upstreams_golden_data() {
    let (have, want) = (rendered(), table());
    let text = |objs: &[Vec<String>]| {
        objs.iter()
            .map(|o| o.join("\n"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for o in &want {
        assert!(
            have.contains(o),
            "upstream's\n{}\nis not what refkube creates; refkube's policy:\n{}",
            o.join("\n"),
            text(&have)
        );
    }
    for o in &have {
        assert!(
            want.contains(o),
            "refkube creates\n{}\nwhich the upstream table does not have",
            o.join("\n")
        );
    }
}

#[test]
fn the_table_is_not_empty_and_a_drift_is_caught() {
    let want = table();
    assert!(want.len() > 80, "the table lost objects: {}", want.len());
    // A one-verb change to a rendered role no longer matches its table entry.
    let mut node = cluster_roles()
        .into_iter()
        .find(|r| r["metadata"]["name"] == "system:node")
        .expect("system:node is bootstrapped");
    node["rules"][0]["verbs"] = serde_json::json!(["create", "delete"]);
    assert!(!want.contains(&render(&node)));
}
