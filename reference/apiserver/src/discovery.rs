//! Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/{g}`, `/apis/{g}/{v}`) and
//! `/version`, generated from the refkube-resources registry.
//!
//! Entry points: [`document`], [`version`].

use refkube_resources::ResourceInfo;
use refkube_resources::registry;
use serde_json::{Value, json};

/// The Kubernetes version the reference speaks.
pub const MAJOR: &str = "1";
pub const MINOR: &str = "33";

pub fn version() -> Value {
    json!({
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": format!("v{MAJOR}.{MINOR}.0-refkube"),
        "gitCommit": "refkube",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "refkube (rust)",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, match std::env::consts::ARCH { "x86_64" => "amd64", "aarch64" => "arm64", a => a }),
    })
}

fn group_doc(group: &str) -> Option<Value> {
    let versions: Vec<Value> = registry::group_versions()
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first()?.clone();
    Some(json!({"name": group, "versions": versions, "preferredVersion": preferred}))
}

fn subresource_entries(r: &ResourceInfo) -> Vec<Value> {
    r.subresources
        .iter()
        .map(|s| {
            let (group, version, kind, verbs): (&str, &str, &str, &[&str]) = match *s {
                "status" => (r.group, r.version, r.kind, &["get", "patch", "update"]),
                "scale" => ("autoscaling", "v1", "Scale", &["get", "patch", "update"]),
                "binding" => ("", "v1", "Binding", &["create"]),
                "eviction" => ("policy", "v1", "Eviction", &["create"]),
                "log" => ("", "v1", "Pod", &["get"]),
                "token" => ("authentication.k8s.io", "v1", "TokenRequest", &["create"]),
                "proxy" if r.kind == "Service" => (
                    "",
                    "v1",
                    "ServiceProxyOptions",
                    &["create", "delete", "get", "patch", "update"],
                ),
                "proxy" => (
                    "",
                    "v1",
                    "PodProxyOptions",
                    &["create", "delete", "get", "patch", "update"],
                ),
                _ => (r.group, r.version, r.kind, &["get"]),
            };
            let mut e = json!({
                "name": format!("{}/{s}", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": kind, "verbs": verbs,
            });
            if group != r.group || version != r.version {
                e["group"] = json!(group);
                e["version"] = json!(version);
            }
            e
        })
        .collect()
}

fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for r in registry::all()
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut e = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        resources.push(e);
        resources.extend(subresource_entries(r));
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// The discovery document at `segments` (`["api"]`, `["apis","apps","v1"]`...).
pub fn document(segments: &[String], server_address: &str) -> Option<Value> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["api"] => Some(json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        })),
        ["api", v] => resource_list("", v),
        ["apis"] => {
            let mut names: Vec<&str> = Vec::new();
            for (g, _) in registry::group_versions() {
                if !g.is_empty() && !names.contains(&g) {
                    names.push(g);
                }
            }
            let groups: Vec<Value> = names.into_iter().filter_map(group_doc).collect();
            Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        }
        ["apis", g] if !g.is_empty() => group_doc(g).map(|mut d| {
            d["kind"] = json!("APIGroup");
            d["apiVersion"] = json!("v1");
            d
        }),
        ["apis", g, v] if !g.is_empty() => resource_list(g, v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_v1_lists_pods_and_their_subresources() {
        let d = document(&["api".into(), "v1".into()], "x").unwrap();
        let names: Vec<&str> = d["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"pods")
                && names.contains(&"pods/binding")
                && names.contains(&"pods/log")
        );
    }

    #[test]
    fn apps_group_prefers_v1() {
        let d = document(&["apis".into(), "apps".into()], "x").unwrap();
        assert_eq!(d["preferredVersion"]["groupVersion"], "apps/v1");
        assert!(document(&["apis".into(), "nope".into()], "x").is_none());
    }
}
