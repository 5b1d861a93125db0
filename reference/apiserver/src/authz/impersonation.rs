//! Impersonation (upstream's `filters/impersonation.go`): `Impersonate-User`,
//! `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-<key>` make a request
//! act as another user, when the requester may `impersonate` each of them (users,
//! serviceaccounts and groups in the core group; uids and `userextras/<key>` in
//! `authentication.k8s.io`). This is what `kubectl --as --as-group` sends.
//!
//! Entry point: [`impersonate`].

use http::HeaderMap;

use super::attributes::Attributes;
use super::{Authorizer, forbidden};
use crate::auth::User;
use crate::status::ApiError;
use crate::watchcache::WatchCaches;

pub const USER_HEADER: &str = "impersonate-user";
pub const GROUP_HEADER: &str = "impersonate-group";
pub const UID_HEADER: &str = "impersonate-uid";
pub const EXTRA_PREFIX: &str = "impersonate-extra-";

const SA_PREFIX: &str = "system:serviceaccount:";

/// Percent-decoding of an extra key (upstream unescapes header names).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The user a request acts as: the requester when it carries no impersonation
/// headers, the impersonated user when each part is allowed, else a 403 (or 400 for
/// groups, uid or extras without a user).
pub fn impersonate(
    authorizer: &Authorizer,
    caches: &WatchCaches,
    requester: &User,
    headers: &HeaderMap,
) -> Result<User, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let user = values(USER_HEADER).into_iter().next();
    let groups = values(GROUP_HEADER);
    let uid = values(UID_HEADER).into_iter().next();
    let mut extra = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(EXTRA_PREFIX)
            && let Ok(v) = value.to_str()
        {
            extra
                .entry(unescape(key).to_lowercase())
                .or_default()
                .push(v.to_string());
        }
    }
    let Some(name) = user else {
        if groups.is_empty() && uid.is_none() && extra.is_empty() {
            return Ok(requester.clone());
        }
        return Err(ApiError::internal(
            "requested impersonation of groups, uid or extras without impersonating a user",
        ));
    };
    let check = |a: Attributes| -> Result<(), ApiError> {
        let d = authorizer.authorize(caches, &a);
        if d.allowed() {
            Ok(())
        } else {
            Err(forbidden::error(&a, &d.reason))
        }
    };
    let mut out_groups = Vec::new();
    match name.strip_prefix(SA_PREFIX).and_then(|r| r.split_once(':')) {
        Some((ns, sa)) => {
            check(
                Attributes::resource(requester, "impersonate", "", "serviceaccounts").named(ns, sa),
            )?;
            // The groups of an account are known, so they stand in for none given.
            if groups.is_empty() {
                out_groups.push("system:serviceaccounts".to_string());
                out_groups.push(format!("system:serviceaccounts:{ns}"));
            }
        }
        None => {
            check(Attributes::resource(requester, "impersonate", "", "users").named("", &name))?
        }
    }
    for g in &groups {
        check(Attributes::resource(requester, "impersonate", "", "groups").named("", g))?;
        out_groups.push(g.clone());
    }
    if let Some(uid) = &uid {
        check(
            Attributes::resource(requester, "impersonate", "authentication.k8s.io", "uids")
                .named("", uid),
        )?;
    }
    for (key, vals) in &extra {
        for v in vals {
            check(
                Attributes::resource(
                    requester,
                    "impersonate",
                    "authentication.k8s.io",
                    "userextras",
                )
                .named("", v)
                .subresource(key),
            )?;
        }
    }
    if name == "system:anonymous" {
        if !out_groups.iter().any(|g| g == "system:unauthenticated") {
            out_groups.push("system:unauthenticated".into());
        }
    } else if !out_groups
        .iter()
        .any(|g| g == "system:authenticated" || g == "system:unauthenticated")
    {
        out_groups.push("system:authenticated".into());
    }
    Ok(User {
        name,
        uid: uid.unwrap_or_default(),
        groups: out_groups,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::Mode;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[tokio::test]
    async fn a_privileged_user_acts_as_another_with_its_groups() {
        let store: std::sync::Arc<dyn refkube_store::Store> =
            std::sync::Arc::new(refkube_store::memory::MemoryStore::new());
        let caches = WatchCaches::start(store, 10).await.unwrap();
        let authz = Authorizer::new(Mode::defaults());
        let admin = User::admin();
        let jane = impersonate(
            &authz,
            &caches,
            &admin,
            &headers(&[
                ("Impersonate-User", "jane"),
                ("Impersonate-Group", "devs"),
                ("Impersonate-Extra-Scopes", "a"),
            ]),
        )
        .unwrap();
        assert_eq!(jane.name, "jane");
        assert_eq!(jane.groups, ["devs", "system:authenticated"]);
        assert_eq!(jane.extra["scopes"], ["a"]);
        let sa = impersonate(
            &authz,
            &caches,
            &admin,
            &headers(&[("Impersonate-User", "system:serviceaccount:web:ci")]),
        )
        .unwrap();
        assert_eq!(
            sa.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:web",
                "system:authenticated"
            ]
        );
        assert_eq!(
            impersonate(&authz, &caches, &admin, &HeaderMap::new()).unwrap(),
            admin
        );
        let e = impersonate(
            &authz,
            &caches,
            &jane,
            &headers(&[("Impersonate-User", "bob")]),
        )
        .unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            r#"users "bob" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope"#
        );
    }
}
