//! Table printers for RBAC: roles use upstream's default table convertor (NAME,
//! CREATED AT); bindings are `printRoleBinding` / `printClusterRoleBinding` (NAME, ROLE,
//! AGE, and USERS, GROUPS, SERVICEACCOUNTS under `-o wide`).

use super::{Column, Ctx, Printer, Row, age_col, arr_at, col, doc, meta_doc, name, name_col};
use super::{parse_time, str_at};
use k8s_openapi::api::rbac::v1 as rbac;
use serde_json::{Value, json};

/// Roles print with upstream's default table convertor: the name and when it was made.
pub(crate) fn roles() -> (Vec<Column>, Printer) {
    let created = col("Created At", "date", 0, meta_doc("creationTimestamp"));
    (vec![name_col(), created], print_role as Printer)
}

/// The columns and row printer of role bindings.
pub(crate) fn role_bindings() -> (Vec<Column>, Printer) {
    bindings(doc::<rbac::RoleBinding>("roleRef"), "roleBinding")
}

/// The columns and row printer of cluster role bindings.
pub(crate) fn cluster_role_bindings() -> (Vec<Column>, Printer) {
    bindings(
        doc::<rbac::ClusterRoleBinding>("roleRef"),
        "clusterRoleBinding",
    )
}

fn bindings(role_ref: String, noun: &str) -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Role", "string", 0, role_ref),
            age_col(),
            col("Users", "string", 1, format!("Users in the {noun}")),
            col("Groups", "string", 1, format!("Groups in the {noun}")),
            col(
                "ServiceAccounts",
                "string",
                1,
                format!("ServiceAccounts in the {noun}"),
            ),
        ],
        print_binding,
    )
}

/// The default convertor prints the creation time itself, in UTC, not an age.
fn print_role(obj: &Value, _ctx: &Ctx) -> Row {
    let created = parse_time(str_at(obj, "/metadata/creationTimestamp"))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    vec![json!(name(obj)), json!(created)].into()
}

/// Upstream's `SubjectsStrings`: users, groups, and service accounts as `namespace/name`.
pub(crate) fn subjects_strings(obj: &Value) -> [String; 3] {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for s in arr_at(obj, "/subjects") {
        let n = str_at(s, "/name").to_string();
        match str_at(s, "/kind") {
            "User" => users.push(n),
            "Group" => groups.push(n),
            "ServiceAccount" => sas.push(format!("{}/{n}", str_at(s, "/namespace"))),
            _ => {}
        }
    }
    [users.join(", "), groups.join(", "), sas.join(", ")]
}

fn print_binding(obj: &Value, ctx: &Ctx) -> Row {
    let role_ref = format!(
        "{}/{}",
        str_at(obj, "/roleRef/kind"),
        str_at(obj, "/roleRef/name")
    );
    let [users, groups, sas] = subjects_strings(obj);
    vec![
        json!(name(obj)),
        json!(role_ref),
        json!(ctx.age(obj)),
        json!(users),
        json!(groups),
        json!(sas),
    ]
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::lookup;
    use crate::table::{IncludeObject, to_table};

    #[test]
    fn bindings_print_their_role_and_subjects() {
        let info = lookup("rbac.authorization.k8s.io", "v1", "rolebindings").unwrap();
        let b = json!({"metadata": {"name": "read-pods", "namespace": "ns",
                "creationTimestamp": "2026-01-01T00:00:00Z"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "User", "name": "jane"}, {"kind": "User", "name": "joe"},
                {"kind": "Group", "name": "devs"},
                {"kind": "ServiceAccount", "name": "default", "namespace": "ns"}]});
        let now = parse_time("2026-01-01T00:05:00Z").unwrap();
        let t = to_table(info, &[b], IncludeObject::None, now);
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"]
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "read-pods",
                "Role/pod-reader",
                "5m",
                "jane, joe",
                "devs",
                "ns/default"
            ])
        );
    }

    #[test]
    fn roles_print_their_creation_time() {
        let info = lookup("rbac.authorization.k8s.io", "v1", "clusterroles").unwrap();
        let r = json!({"metadata": {"name": "view", "creationTimestamp": "2026-01-01T00:00:00Z"}});
        let now = parse_time("2026-01-02T00:00:00Z").unwrap();
        let t = to_table(info, &[r], IncludeObject::None, now);
        assert_eq!(t["columnDefinitions"][1]["name"], "Created At");
        assert_eq!(t["columnDefinitions"][1]["type"], "date");
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["view", "2026-01-01T00:00:00Z"])
        );
    }
}
