//! The 403 of a denied request, worded as upstream's `responsewriters.Forbidden`:
//! `pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the
//! namespace "default"`, the authorizers' reasons after a colon.
//!
//! Entry points: [`message`], [`error`].

use serde_json::json;

use super::attributes::Attributes;
use crate::status::ApiError;

/// Upstream's `forbiddenMessage`.
pub fn message(a: &Attributes) -> String {
    let user = &a.user.name;
    if !a.resource_request {
        return format!("User {user:?} cannot {} path {:?}", a.verb, a.path);
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", a.namespace)
    };
    format!(
        "User {user:?} cannot {} resource {resource:?} in API group {:?} {scope}",
        a.verb, a.api_group
    )
}

/// A `metav1.Status` 403 as upstream's `NewForbidden(groupResource, name, err)`
/// builds it.
pub fn status(group: &str, resource: &str, name: &str, why: &str) -> ApiError {
    let qualified = if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    };
    let message = match (qualified.is_empty(), name.is_empty()) {
        (true, _) => format!("forbidden: {why}"),
        (false, true) => format!("{qualified} is forbidden: {why}"),
        (false, false) => format!("{qualified} {name:?} is forbidden: {why}"),
    };
    let mut details = json!({});
    if !name.is_empty() {
        details["name"] = json!(name);
    }
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    if !resource.is_empty() {
        details["kind"] = json!(resource);
    }
    let mut e = ApiError::new(403, "Forbidden", message);
    e.details = Some(details);
    e
}

/// The 403 of a request the authorizers did not allow, with their `reason`.
pub fn error(a: &Attributes, reason: &str) -> ApiError {
    let mut why = message(a);
    if !reason.is_empty() {
        why = format!("{why}: {reason}");
    }
    status(&a.api_group, &a.resource, &a.name, &why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::User;

    fn jane() -> User {
        User {
            name: "jane".into(),
            ..Default::default()
        }
    }

    #[test]
    fn messages_are_upstreams_for_each_scope() {
        let list = Attributes::resource(&jane(), "list", "", "pods").named("default", "");
        let e = error(&list, "");
        assert_eq!(
            e.message,
            r#"pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default""#
        );
        assert_eq!(e.code, 403);
        assert_eq!(e.reason, "Forbidden");
        assert_eq!(e.details, Some(json!({"kind": "pods"})));
        let node = Attributes::resource(&jane(), "delete", "", "nodes").named("", "node-2");
        let e = error(&node, "");
        assert_eq!(
            e.message,
            r#"nodes "node-2" is forbidden: User "jane" cannot delete resource "nodes" in API group "" at the cluster scope"#
        );
        assert_eq!(e.details, Some(json!({"name": "node-2", "kind": "nodes"})));
        let log = Attributes::resource(&jane(), "get", "", "pods")
            .named("web", "p")
            .subresource("log");
        assert_eq!(
            error(&log, "").message,
            r#"pods "p" is forbidden: User "jane" cannot get resource "pods/log" in API group "" in the namespace "web""#
        );
        let deploy =
            Attributes::resource(&jane(), "create", "apps", "deployments").named("web", "");
        let e = error(
            &deploy,
            "RBAC: role.rbac.authorization.k8s.io \"x\" not found",
        );
        assert_eq!(
            e.message,
            r#"deployments.apps is forbidden: User "jane" cannot create resource "deployments" in API group "apps" in the namespace "web": RBAC: role.rbac.authorization.k8s.io "x" not found"#
        );
        assert_eq!(
            e.details,
            Some(json!({"group": "apps", "kind": "deployments"}))
        );
        let path = Attributes {
            user: jane(),
            verb: "get".into(),
            path: "/metrics".into(),
            ..Default::default()
        };
        assert_eq!(
            error(&path, "").message,
            r#"forbidden: User "jane" cannot get path "/metrics""#
        );
    }
}
