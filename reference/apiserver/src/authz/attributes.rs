//! What an authorizer decides on: upstream's `authorizer.Attributes`, derived from a
//! request by the rules of upstream's `RequestInfoFactory`.
//!
//! Entry point: [`Attributes::of_request`]. A GET of a collection is `list` (`watch`
//! with `watch=true`), a DELETE of one is `deletecollection`, and a list narrowed by
//! `fieldSelector=metadata.name=X` is about the object `X`, as upstream reads it.

use http::Method;

use crate::auth::User;
use crate::request::Query;

/// One request as the authorizers see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    pub user: User,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`, or a special verb (`impersonate`, `bind`, `escalate`...);
    /// the lower-case HTTP method for non-resource requests.
    pub verb: String,
    pub resource_request: bool,
    pub api_group: String,
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// The URL path (what non-resource rules match).
    pub path: String,
    /// The `field=value` requirements of the request's field selector.
    pub field_selector: Vec<(String, String)>,
}

/// Namespace subresources that stay on the namespace (`/namespaces/x/status`).
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

impl Attributes {
    /// The attributes of a request for `path` with `method` and `query`.
    pub fn of_request(user: User, method: &Method, path: &str, query: &Query) -> Self {
        let mut a = Attributes {
            user,
            verb: method.as_str().to_ascii_lowercase(),
            path: path.to_string(),
            ..Default::default()
        };
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let rest = match parts.as_slice() {
            ["api", v, rest @ ..] if !rest.is_empty() => {
                a.api_version = v.to_string();
                rest
            }
            ["apis", g, v, rest @ ..] if !rest.is_empty() => {
                a.api_group = g.to_string();
                a.api_version = v.to_string();
                rest
            }
            _ => return a,
        };
        a.resource_request = true;
        let mut rest = rest.to_vec();
        let mut by_method = true;
        if matches!(rest[0], "watch" | "proxy") {
            if rest.len() < 2 {
                return a;
            }
            a.verb = rest[0].to_string();
            by_method = false;
            rest.remove(0);
        } else {
            a.verb = match *method {
                Method::POST => "create",
                Method::GET | Method::HEAD => "get",
                Method::PUT => "update",
                Method::PATCH => "patch",
                Method::DELETE => "delete",
                _ => "",
            }
            .to_string();
        }
        if rest[0] == "namespaces"
            && let Some(ns) = rest.get(1)
        {
            a.namespace = ns.to_string();
            if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
                rest.drain(..2);
            }
        }
        let proxy_verb = a.verb == "proxy";
        if rest.len() >= 3 && !proxy_verb {
            a.subresource = rest[2].to_string();
        }
        if rest.len() >= 2 {
            a.name = rest[1].to_string();
        }
        a.resource = rest[0].to_string();
        a.field_selector = field_requirements(query.get("fieldSelector").unwrap_or_default());
        if a.name.is_empty() && a.verb == "get" && by_method {
            a.verb = if watch_requested(query) {
                "watch"
            } else {
                "list"
            }
            .to_string();
            if let Some((_, v)) = a
                .field_selector
                .iter()
                .find(|(k, _)| k == "metadata.name")
                .filter(|(_, v)| valid_path_segment(v))
            {
                a.name = v.clone();
            }
        }
        if a.name.is_empty() && a.verb == "delete" {
            a.verb = "deletecollection".into();
        }
        a
    }

    /// Attributes of a resource check made by the server itself (impersonation, bind,
    /// escalate, access reviews).
    pub fn resource(user: &User, verb: &str, group: &str, resource: &str) -> Self {
        Attributes {
            user: user.clone(),
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            ..Default::default()
        }
    }

    pub fn named(mut self, namespace: &str, name: &str) -> Self {
        self.namespace = namespace.into();
        self.name = name.into();
        self
    }

    pub fn subresource(mut self, subresource: &str) -> Self {
        self.subresource = subresource.into();
        self
    }
}

/// `watch` as upstream's parameter decoding reads it (`watch=1`, `watch=true`...).
fn watch_requested(query: &Query) -> bool {
    query.flag("watch")
}

/// The equality requirements of a field selector (`a=b,c==d`; `!=` is no requirement
/// of a value).
pub(super) fn field_requirements(selector: &str) -> Vec<(String, String)> {
    selector
        .split(',')
        .filter(|t| !t.contains("!="))
        .filter_map(|t| {
            let (k, v) = t.split_once("==").or_else(|| t.split_once('='))?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Upstream's `IsValidPathSegmentName`: not `.` or `..`, no `/` or `%`.
fn valid_path_segment(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '%'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(method: Method, uri: &str) -> Attributes {
        let uri: http::Uri = uri.parse().unwrap();
        Attributes::of_request(User::default(), &method, uri.path(), &Query::parse(&uri))
    }

    // Cases from upstream's requestinfo_test.go.
    #[test]
    fn resource_requests_are_read_as_upstreams_request_info_factory_reads_them() {
        /// method, url, then the expected verb, group, namespace, resource, name, subresource.
        type S = &'static str;
        type Case = (Method, S, S, S, S, S, S, S);
        let cases: &[Case] = &[
            // method, url, verb, group, namespace, resource, name, subresource
            (
                Method::GET,
                "/api/v1/namespaces",
                "list",
                "",
                "",
                "namespaces",
                "",
                "",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other",
                "get",
                "",
                "other",
                "namespaces",
                "other",
                "",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods",
                "list",
                "",
                "other",
                "pods",
                "",
                "",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods/foo",
                "get",
                "",
                "other",
                "pods",
                "foo",
                "",
            ),
            (
                Method::HEAD,
                "/api/v1/namespaces/other/pods/foo",
                "get",
                "",
                "other",
                "pods",
                "foo",
                "",
            ),
            (Method::GET, "/api/v1/pods", "list", "", "", "pods", "", ""),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods?watch=true",
                "watch",
                "",
                "other",
                "pods",
                "",
                "",
            ),
            (
                Method::GET,
                "/api/v1/watch/namespaces/other/pods",
                "watch",
                "",
                "other",
                "pods",
                "",
                "",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods/foo/status",
                "get",
                "",
                "other",
                "pods",
                "foo",
                "status",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/finalize",
                "get",
                "",
                "other",
                "namespaces",
                "other",
                "finalize",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/other/status",
                "update",
                "",
                "other",
                "namespaces",
                "other",
                "status",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/other/pods",
                "create",
                "",
                "other",
                "pods",
                "",
                "",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/other/pods/foo",
                "update",
                "",
                "other",
                "pods",
                "foo",
                "",
            ),
            (
                Method::PATCH,
                "/api/v1/namespaces/other/pods/foo",
                "patch",
                "",
                "other",
                "pods",
                "foo",
                "",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/other/pods/foo",
                "delete",
                "",
                "other",
                "pods",
                "foo",
                "",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/other/pods",
                "deletecollection",
                "",
                "other",
                "pods",
                "",
                "",
            ),
            (
                Method::GET,
                "/apis/extensions/v1beta1/namespaces/other/extensions",
                "list",
                "extensions",
                "other",
                "extensions",
                "",
                "",
            ),
            (
                Method::GET,
                "/apis/apps/v1/deployments",
                "list",
                "apps",
                "",
                "deployments",
                "",
                "",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo",
                "list",
                "",
                "other",
                "pods",
                "foo",
                "",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3D..",
                "list",
                "",
                "other",
                "pods",
                "",
                "",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods/foo/log",
                "get",
                "",
                "other",
                "pods",
                "foo",
                "log",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/ns/serviceaccounts/sa/token",
                "create",
                "",
                "ns",
                "serviceaccounts",
                "sa",
                "token",
            ),
        ];
        for (m, url, verb, group, ns, resource, name, sub) in cases {
            let a = attrs(m.clone(), url);
            assert!(a.resource_request, "{url}");
            assert_eq!(
                (
                    a.verb.as_str(),
                    a.api_group.as_str(),
                    a.namespace.as_str(),
                    a.resource.as_str(),
                    a.name.as_str(),
                    a.subresource.as_str()
                ),
                (*verb, *group, *ns, *resource, *name, *sub),
                "{m} {url}"
            );
        }
    }

    #[test]
    fn other_paths_are_non_resource_requests_with_the_method_as_verb() {
        for (m, url, verb) in [
            (Method::GET, "/healthz", "get"),
            (Method::GET, "/api", "get"),
            (Method::GET, "/apis/apps", "get"),
            (Method::GET, "/api/v1", "get"),
            (Method::GET, "/apis/apps/v1", "get"),
            (Method::POST, "/logs", "post"),
        ] {
            let a = attrs(m, url);
            assert!(!a.resource_request, "{url}");
            assert_eq!(a.verb, verb);
            assert_eq!(a.path, url);
        }
    }

    #[test]
    fn field_selectors_keep_their_equality_requirements() {
        let a = attrs(
            Method::GET,
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1,status.phase!%3DFailed",
        );
        assert_eq!(
            a.field_selector,
            vec![("spec.nodeName".to_string(), "n1".to_string())]
        );
    }
}
