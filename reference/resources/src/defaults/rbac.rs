//! `SetDefaults_RoleBinding`, `SetDefaults_ClusterRoleBinding` and `SetDefaults_Subject`:
//! the API groups a client may leave out of a binding.

use serde_json::{Value, json};

use super::set_if_empty;

const GROUP: &str = "rbac.authorization.k8s.io";

/// Defaults a RoleBinding or ClusterRoleBinding: the roleRef's group, and each
/// subject's group by its kind (users and groups are RBAC's own; service accounts core).
pub fn binding(obj: &mut Value) {
    if let Some(role_ref) = obj.get_mut("roleRef").filter(|r| r.is_object()) {
        set_if_empty(role_ref, "apiGroup", json!(GROUP));
    }
    for s in obj
        .get_mut("subjects")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if matches!(
            s.get("kind").and_then(Value::as_str),
            Some("User" | "Group")
        ) {
            set_if_empty(s, "apiGroup", json!(GROUP));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_get_the_rbac_group_and_service_accounts_none() {
        let mut b = json!({"roleRef": {"kind": "Role", "name": "r"}, "subjects": [
            {"kind": "User", "name": "jane"},
            {"kind": "Group", "name": "devs", "apiGroup": ""},
            {"kind": "ServiceAccount", "name": "default", "namespace": "ns"},
            {"kind": "User", "name": "x", "apiGroup": "example.com"}
        ]});
        binding(&mut b);
        assert_eq!(b["roleRef"]["apiGroup"], GROUP);
        assert_eq!(b["subjects"][0]["apiGroup"], GROUP);
        assert_eq!(b["subjects"][1]["apiGroup"], GROUP);
        assert!(b["subjects"][2].get("apiGroup").is_none());
        assert_eq!(b["subjects"][3]["apiGroup"], "example.com");
    }
}
