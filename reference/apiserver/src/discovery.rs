//! Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/{g}`, `/apis/{g}/{v}`) and
//! `/version`, generated from the refkube-resources registry; and aggregated discovery
//! (`apidiscovery.k8s.io/v2`), which `/api` and `/apis` answer when Accept asks for it,
//! built from the same per-version resource lists, so the two always agree.
//!
//! Entry points: [`respond`], [`document`], [`aggregated`], [`version`].

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use refkube_resources::ResourceInfo;
use refkube_resources::registry;
use refkube_resources::types::go;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::negotiate::{AGGREGATED_DISCOVERY_V2, DiscoveryFormat};
use crate::status::ApiError;

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

/// Every served kind: the built-in registry, then the custom kinds (each group's
/// versions in upstream's kube-aware priority order, highest first).
fn served(custom: &[&'static ResourceInfo]) -> Vec<&'static ResourceInfo> {
    let mut out: Vec<&'static ResourceInfo> = registry::all().iter().collect();
    let mut extra = custom.to_vec();
    extra.sort_by(|a, b| {
        (
            a.group,
            std::cmp::Reverse(version_priority(a.version)),
            a.version,
        )
            .cmp(&(
                b.group,
                std::cmp::Reverse(version_priority(b.version)),
                b.version,
            ))
    });
    out.extend(extra);
    out
}

/// Upstream's `CompareKubeAwareVersionStrings` as a sort key: GA before beta before
/// alpha, higher numbers first; anything else last.
fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    let minor = |t: &str| t.parse::<u32>().ok();
    match tail {
        "" => (3, major, 0),
        t => match (t.strip_prefix("beta"), t.strip_prefix("alpha")) {
            (Some(n), _) => minor(n).map_or((0, 0, 0), |n| (2, major, n)),
            (_, Some(n)) => minor(n).map_or((0, 0, 0), |n| (1, major, n)),
            _ => (0, 0, 0),
        },
    }
}

fn group_versions(all: &[&'static ResourceInfo]) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in all {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

fn group_doc(group: &str, all: &[&'static ResourceInfo]) -> Option<Value> {
    let versions: Vec<Value> = group_versions(all)
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
                "status" | "approval" => (r.group, r.version, r.kind, &["get", "patch", "update"]),
                "scale" => ("autoscaling", "v1", "Scale", &["get", "patch", "update"]),
                "binding" => ("", "v1", "Binding", &["create"]),
                "eviction" => ("policy", "v1", "Eviction", &["create"]),
                "log" => ("", "v1", "Pod", &["get"]),
                "exec" => ("", "v1", "PodExecOptions", &["create", "get"]),
                "portforward" => ("", "v1", "PodPortForwardOptions", &["create", "get"]),
                "attach" => ("", "v1", "PodAttachOptions", &["create", "get"]),
                "ephemeralcontainers" => (r.group, r.version, r.kind, &["get", "patch", "update"]),
                "token" => ("authentication.k8s.io", "v1", "TokenRequest", &["create"]),
                "proxy" if r.kind == "Node" => (
                    "",
                    "v1",
                    "NodeProxyOptions",
                    &["create", "delete", "get", "patch", "update"],
                ),
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

fn resource_list(group: &str, version: &str, all: &[&'static ResourceInfo]) -> Option<Value> {
    let mut resources = Vec::new();
    for r in all
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

/// Answers `GET` of a discovery path: the aggregated document when `/api` or `/apis`
/// is asked for it, otherwise the plain document (404 for an unknown group).
pub fn respond(
    segments: &[String],
    headers: &HeaderMap,
    server_address: &str,
    custom: &crate::crd::Served,
) -> Response {
    let root = match segments {
        [r] if r == "api" => Some(true),
        [r] if r == "apis" => Some(false),
        _ => None,
    };
    if let Some(core) = root {
        match crate::negotiate::discovery_format(headers) {
            Err(e) => return e.into_response(),
            Ok(DiscoveryFormat::Aggregated) => {
                let doc = match &custom.aggregated {
                    Some(docs) => &docs[usize::from(core)],
                    None => builtin_aggregated(core),
                };
                return aggregated_response(doc, headers);
            }
            Ok(DiscoveryFormat::Plain) => {}
        }
    }
    match document(segments, server_address, &custom.kinds) {
        Some(d) => crate::negotiate::json(StatusCode::OK, &d),
        None => ApiError::no_route().into_response(),
    }
}

/// The discovery document at `segments` (`["api"]`, `["apis","apps","v1"]`...), in
/// Go's field order.
pub fn document(
    segments: &[String],
    server_address: &str,
    custom: &[&'static ResourceInfo],
) -> Option<Value> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let all = served(custom);
    let plain = || plain_document(&s, server_address, &all);
    let (go_type, mut doc) = match s.as_slice() {
        ["api"] => ("meta/v1.APIVersions", plain()?),
        ["apis"] => ("meta/v1.APIGroupList", plain()?),
        ["apis", _] => ("meta/v1.APIGroup", plain()?),
        _ => ("meta/v1.APIResourceList", plain()?),
    };
    go::normalize_as(go_type, &mut doc);
    Some(doc)
}

fn plain_document(
    s: &[&str],
    server_address: &str,
    all: &[&'static ResourceInfo],
) -> Option<Value> {
    match s {
        ["api"] => Some(json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        })),
        ["api", v] => resource_list("", v, all),
        ["apis"] => {
            let mut names: Vec<&str> = Vec::new();
            for (g, _) in group_versions(all) {
                if !g.is_empty() && !names.contains(&g) {
                    names.push(g);
                }
            }
            let groups: Vec<Value> = names
                .into_iter()
                .filter_map(|g| group_doc(g, all))
                .collect();
            Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        }
        ["apis", g] if !g.is_empty() => group_doc(g, all).map(|mut d| {
            d["kind"] = json!("APIGroup");
            d["apiVersion"] = json!("v1");
            d
        }),
        ["apis", g, v] if !g.is_empty() => resource_list(g, v, all),
        _ => None,
    }
}

/// Upstream's `ConvertGroupVersionIntoToDiscovery`: one entry per resource of an
/// `APIResourceList`, its subresources folded into it. `responseKind` carries the group
/// and version only where the list names them (a subresource served as another group's
/// kind), as upstream's does.
fn resources_of(list: &Value) -> Vec<Value> {
    let entries = list["resources"].as_array().cloned().unwrap_or_default();
    let gvk = |r: &Value| json!({"group": r["group"], "version": r["version"], "kind": r["kind"]});
    let scope = |r: &Value| {
        if r["namespaced"] == true {
            "Namespaced"
        } else {
            "Cluster"
        }
    };
    let mut out: Vec<Value> = Vec::new();
    for r in entries.iter().filter(|r| !name_of(r).contains('/')) {
        out.push(json!({
            "resource": r["name"], "responseKind": gvk(r), "scope": scope(r),
            "singularResource": r["singularName"], "verbs": r["verbs"],
            "shortNames": r["shortNames"], "categories": r["categories"],
        }));
    }
    for r in &entries {
        let Some((parent, sub)) = name_of(r).split_once('/') else {
            continue;
        };
        let entry = json!({"subresource": sub, "responseKind": gvk(r), "verbs": r["verbs"]});
        if let Some(p) = out.iter_mut().find(|p| p["resource"] == parent) {
            match p["subresources"].as_array_mut() {
                Some(subs) => subs.push(entry),
                None => p["subresources"] = json!([entry]),
            }
        }
    }
    out
}

fn name_of(r: &Value) -> &str {
    r["name"].as_str().unwrap_or_default()
}

/// The `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList` of `/api` (`core`: the core
/// group alone) or `/apis` (every other group, in discovery order), in Go's form.
pub fn aggregated(core: bool, custom: &[&'static ResourceInfo]) -> Value {
    let all = served(custom);
    let gvs = group_versions(&all);
    let mut names: Vec<&str> = Vec::new();
    for &(g, _) in &gvs {
        if g.is_empty() == core && !names.contains(&g) {
            names.push(g);
        }
    }
    let items: Vec<Value> = names
        .into_iter()
        .map(|g| {
            let versions: Vec<Value> = gvs
                .iter()
                .filter(|(vg, _)| *vg == g)
                .filter_map(|&(_, v)| {
                    let list = resource_list(g, v, &all)?;
                    Some(json!({"version": v, "resources": resources_of(&list), "freshness": "Current"}))
                })
                .collect();
            json!({"metadata": {"name": g}, "versions": versions})
        })
        .collect();
    let mut doc = json!({
        "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {}, "items": items,
    });
    go::normalize_as("apidiscovery/v2.APIGroupDiscoveryList", &mut doc);
    doc
}

/// One aggregated document, serialised, with its entity tag.
pub struct Aggregated {
    body: Vec<u8>,
    /// Upstream's: the upper-case hex SHA-512 of the document, in double quotes.
    etag: HeaderValue,
}

impl Aggregated {
    /// Serialises the document of `/api` (`core`) or `/apis` with `custom` kinds.
    pub fn build(core: bool, custom: &[&'static ResourceInfo]) -> Self {
        let body = crate::negotiate::json_bytes(&aggregated(core, custom)).unwrap_or_default();
        let hash: String = Sha512::digest(&body)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let etag = HeaderValue::from_str(&format!("\"{hash}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        Self { body, etag }
    }
}

/// The documents of the built-in kinds alone, serialised once; with CRDs, the
/// documents are rebuilt when the served kinds change ([`crate::crd::CustomKinds`]).
fn builtin_aggregated(core: bool) -> &'static Aggregated {
    static DOCS: OnceLock<[Aggregated; 2]> = OnceLock::new();
    let docs = DOCS.get_or_init(|| [false, true].map(|c| Aggregated::build(c, &[])));
    &docs[usize::from(core)]
}

/// The aggregated document as upstream's `ServeHTTPWithETag` serves it: an `ETag`, and
/// 304 Not Modified without a body when the client's `If-None-Match` names it, so
/// clients re-read discovery only when it changed.
fn aggregated_response(doc: &Aggregated, headers: &HeaderMap) -> Response {
    let cached = headers.get(header::IF_NONE_MATCH) == Some(&doc.etag);
    let mut resp = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, AGGREGATED_DISCOVERY_V2)],
            doc.body.clone(),
        )
            .into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, doc.etag.clone());
    // The same URL answers two documents, chosen by Accept.
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_v1_lists_pods_and_their_subresources() {
        let d = document(&["api".into(), "v1".into()], "x", &[]).unwrap();
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
    fn aggregated_discovery_has_what_the_per_group_documents_have() {
        let apis = aggregated(false, &[]);
        assert_eq!(apis["apiVersion"], "apidiscovery.k8s.io/v2");
        let apps = apis["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["metadata"]["name"] == "apps")
            .unwrap();
        let v1 = &apps["versions"][0];
        assert_eq!(v1["version"], "v1");
        assert_eq!(v1["freshness"], "Current");
        let deploy = v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        assert_eq!(
            *deploy,
            json!({"resource": "deployments",
                "responseKind": {"group": "", "version": "", "kind": "Deployment"},
                "scope": "Namespaced", "singularResource": "deployment",
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "shortNames": ["deploy"], "categories": ["all"],
                "subresources": [
                    {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": "Deployment"},
                     "verbs": ["get", "patch", "update"]},
                    {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                     "verbs": ["get", "patch", "update"]}]})
        );
        let keys: Vec<&str> = deploy
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "resource",
                "responseKind",
                "scope",
                "singularResource",
                "verbs",
                "shortNames",
                "categories",
                "subresources"
            ]
        );
        // Every resource of every per-group document is in the aggregated one.
        for (g, v) in registry::group_versions() {
            let list = resource_list(g, v, &served(&[])).unwrap();
            let doc = aggregated(g.is_empty(), &[]);
            let item = doc["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["metadata"]["name"].as_str().unwrap_or_default() == g)
                .unwrap();
            let served: Vec<&Value> = item["versions"][0]["resources"]
                .as_array()
                .unwrap()
                .iter()
                .collect();
            for r in list["resources"].as_array().unwrap() {
                let name = name_of(r);
                let found = match name.split_once('/') {
                    None => served.iter().any(|s| s["resource"] == name),
                    Some((p, sub)) => served.iter().any(|s| {
                        s["resource"] == p
                            && s["subresources"]
                                .as_array()
                                .is_some_and(|a| a.iter().any(|x| x["subresource"] == sub))
                    }),
                };
                assert!(found, "{g}/{v} {name} missing from aggregated discovery");
            }
        }
    }

    #[test]
    fn the_core_group_is_alone_under_api_with_an_empty_name() {
        let api = aggregated(true, &[]);
        let items = api["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        // Go writes the empty ObjectMeta's zero creationTimestamp as null.
        assert_eq!(items[0]["metadata"], json!({"creationTimestamp": null}));
        let pods = items[0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        let subs: Vec<&str> = pods["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["subresource"].as_str().unwrap())
            .collect();
        assert_eq!(
            subs,
            [
                "status",
                "binding",
                "eviction",
                "log",
                "proxy",
                "exec",
                "portforward",
                "attach",
                "ephemeralcontainers"
            ]
        );
    }

    #[test]
    fn apps_group_prefers_v1() {
        let d = document(&["apis".into(), "apps".into()], "x", &[]).unwrap();
        assert_eq!(d["preferredVersion"]["groupVersion"], "apps/v1");
        assert!(document(&["apis".into(), "nope".into()], "x", &[]).is_none());
    }
}
