//! Parsing a resource request: the URL path into group/version/resource/namespace/name/
//! subresource, the HTTP method into a verb, and the query string.
//!
//! Entry point: [`parse_path`], [`Query::parse`].

use std::collections::HashMap;

use refkube_resources::ResourceInfo;
use refkube_resources::registry;

/// A request for a resource (collection, object or subresource).
#[derive(Clone, Debug)]
pub struct ResourcePath {
    pub info: &'static ResourceInfo,
    /// The namespace from the URL (`None` for cluster-scoped or all-namespace requests).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a path names when it is not a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/api`, `/apis`, `/api/v1`, `/apis/{g}`, `/apis/{g}/{v}`.
    Discovery(Vec<String>),
    /// Nothing is served there.
    NotFound,
}

/// Splits `/api/v1/...` or `/apis/{g}/{v}/...` and resolves the resource part among
/// the built-in kinds. Discovery paths and unserved paths come back as the [`Route`]
/// error.
pub fn parse_path(path: &str) -> Result<ResourcePath, Route> {
    parse_path_with(path, |_, _, _| None)
}

/// [`parse_path`], with `custom` resolving what the built-in registry does not serve
/// (the kinds of Established CRDs).
pub fn parse_path_with(
    path: &str,
    custom: impl Fn(&str, &str, &str) -> Option<&'static ResourceInfo>,
) -> Result<ResourcePath, Route> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api"] | ["apis"] => return Err(Route::Discovery(own(&segs))),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g] => return Err(Route::Discovery(own(&["apis", g]))),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(Route::NotFound),
    };
    if rest.is_empty() {
        return Err(Route::Discovery(own(&segs)));
    }
    let lookup = |plural: &str| {
        registry::lookup(group, version, plural).or_else(|| custom(group, version, plural))
    };
    let (info, namespace, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] if lookup(plural).is_some_and(|i| i.namespaced) => (
            lookup(plural),
            Some(ns.to_string()),
            tail.first(),
            tail.get(1),
        ),
        [plural, tail @ ..] => (lookup(plural), None, tail.first(), tail.get(1)),
        [] => return Err(Route::NotFound),
    };
    let Some(info) = info else {
        return Err(Route::NotFound);
    };
    if rest.len() > 5 || (namespace.is_none() && rest.len() > 3) {
        return Err(Route::NotFound);
    }
    Ok(ResourcePath {
        info,
        namespace,
        name: name.map(|s| s.to_string()).filter(|s| !s.is_empty()),
        subresource: sub.map(|s| s.to_string()),
    })
}

fn own(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// The query parameters the API server understands.
#[derive(Clone, Debug, Default)]
pub struct Query(pub HashMap<String, String>);

impl Query {
    pub fn parse(uri: &http::Uri) -> Self {
        let pairs: Vec<(String, String)> = uri
            .query()
            .map(|q| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (decode(k), decode(v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(pairs.into_iter().collect())
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    /// Non-empty value of `k`.
    pub fn non_empty(&self, k: &str) -> Option<&str> {
        self.get(k).filter(|v| !v.is_empty())
    }

    /// A boolean parameter as Go's strconv.ParseBool reads it.
    pub fn flag(&self, k: &str) -> bool {
        matches!(
            self.get(k),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }

    pub fn int(&self, k: &str) -> Result<Option<i64>, crate::status::ApiError> {
        match self.non_empty(k) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                crate::status::ApiError::bad_request(format!(
                    "invalid value for {k}: {v:?} is not an integer"
                ))
            }),
        }
    }
}

/// Percent-decoding of one query component (`+` is a space, as in forms).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_object_paths_resolve() {
        let p = parse_path("/api/v1/namespaces/ns/pods/x/status").unwrap();
        assert_eq!(p.info.plural, "pods");
        assert_eq!(p.namespace.as_deref(), Some("ns"));
        assert_eq!(p.name.as_deref(), Some("x"));
        assert_eq!(p.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn namespaces_themselves_are_cluster_scoped_objects() {
        let p = parse_path("/api/v1/namespaces/ns").unwrap();
        assert_eq!(p.info.plural, "namespaces");
        assert_eq!(p.name.as_deref(), Some("ns"));
        let p = parse_path("/api/v1/namespaces/ns/finalize").unwrap();
        assert_eq!(p.subresource.as_deref(), Some("finalize"));
    }

    #[test]
    fn all_namespace_lists_and_groups_resolve() {
        let p = parse_path("/apis/apps/v1/deployments").unwrap();
        assert_eq!(p.info.kind, "Deployment");
        assert!(p.namespace.is_none() && p.name.is_none());
        assert!(matches!(
            parse_path("/apis/apps/v1"),
            Err(Route::Discovery(_))
        ));
        assert!(matches!(
            parse_path("/api/v1/nothings"),
            Err(Route::NotFound)
        ));
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let q = Query::parse(&"/x?labelSelector=a%3Db%2Cc+in+(d)&watch=1".parse().unwrap());
        assert_eq!(q.get("labelSelector"), Some("a=b,c in (d)"));
        assert!(q.flag("watch"));
    }
}
