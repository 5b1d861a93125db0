//! Owner references and the adopt/release rules of `BaseControllerRefManager.ClaimObject`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{Value, json};

/// The controller owner reference (`controller: true`) of an object, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// The queue key (`namespace/name`) of an object's controller when it is of `kind`.
pub fn controller_key(meta: &ObjectMeta, kind: &str) -> Option<String> {
    let r = controller_of(meta).filter(|r| r.kind == kind)?;
    Some(format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        r.name
    ))
}

/// Identity of an owning object, enough to build its owner reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// `apps/v1`, `v1`, `batch/v1`, ...
    pub api_version: String,
    /// `ReplicaSet`, `Deployment`, ...
    pub kind: String,
    /// The owner's name.
    pub name: String,
    /// The owner's UID.
    pub uid: String,
}

impl Owner {
    /// Builds an owner from parts.
    pub fn new(api_version: &str, kind: &str, name: &str, uid: &str) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            uid: uid.into(),
        }
    }

    /// The controller reference controllers put on what they create:
    /// `controller: true, blockOwnerDeletion: true` (`metav1.NewControllerRef`).
    pub fn controller_ref(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }
}

/// What the claim rules say to do with one candidate object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours and matching (or ours while we are being deleted): count it.
    Keep,
    /// An orphan that matches: adopt it, then count it.
    Adopt,
    /// Ours but no longer matching: release it (drop our owner reference).
    Release,
    /// Not ours (another controller, or an orphan we may not take).
    Ignore,
}

/// Inputs to one claim decision.
#[derive(Clone, Copy, Debug)]
pub struct ClaimInput<'a> {
    /// UID of the claiming controller.
    pub owner_uid: &'a str,
    /// The claiming controller has a deletionTimestamp.
    pub owner_deleting: bool,
    /// The candidate's labels match the controller's selector.
    pub matches: bool,
    /// The candidate's controller reference UID, if it has one.
    pub controller_uid: Option<&'a str>,
    /// The candidate has a deletionTimestamp.
    pub object_deleting: bool,
}

/// `ClaimObject`: keep, adopt, release or ignore one candidate.
pub fn claim(input: ClaimInput<'_>) -> Claim {
    match input.controller_uid {
        Some(uid) if uid != input.owner_uid => Claim::Ignore,
        Some(_) => {
            if input.matches {
                Claim::Keep
            } else if input.owner_deleting {
                // A deleting owner keeps what it has rather than orphaning it mid-teardown.
                Claim::Ignore
            } else {
                Claim::Release
            }
        }
        None => {
            if input.owner_deleting || !input.matches || input.object_deleting {
                Claim::Ignore
            } else {
                Claim::Adopt
            }
        }
    }
}

/// Merge patch that adds `owner` as controller to an object with these owner references.
/// The UID and resourceVersion act as preconditions, so a stale cache never adopts the
/// wrong (or a changed) object.
pub fn adopt_patch(meta: &ObjectMeta, owner: &Owner) -> Value {
    let mut refs: Vec<OwnerReference> = meta.owner_references.clone().unwrap_or_default();
    refs.retain(|r| r.uid != owner.uid);
    refs.push(owner.controller_ref());
    owner_refs_patch(meta, refs)
}

/// Merge patch that removes the owner reference with `owner_uid`.
pub fn release_patch(meta: &ObjectMeta, owner_uid: &str) -> Value {
    let mut refs: Vec<OwnerReference> = meta.owner_references.clone().unwrap_or_default();
    refs.retain(|r| r.uid != owner_uid);
    owner_refs_patch(meta, refs)
}

fn owner_refs_patch(meta: &ObjectMeta, refs: Vec<OwnerReference>) -> Value {
    let refs_value = if refs.is_empty() {
        Value::Null
    } else {
        json!(refs)
    };
    json!({"metadata": {
        "ownerReferences": refs_value,
        "uid": meta.uid,
        "resourceVersion": meta.resource_version,
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(controller_uid: Option<&str>, matches: bool) -> ClaimInput<'_> {
        ClaimInput {
            owner_uid: "rs",
            owner_deleting: false,
            matches,
            controller_uid,
            object_deleting: false,
        }
    }

    #[test]
    fn an_object_controlled_by_someone_else_is_ignored() {
        assert_eq!(claim(input(Some("other"), true)), Claim::Ignore);
    }

    #[test]
    fn our_matching_object_is_kept_even_while_we_are_deleted() {
        assert_eq!(claim(input(Some("rs"), true)), Claim::Keep);
        assert_eq!(
            claim(ClaimInput {
                owner_deleting: true,
                ..input(Some("rs"), true)
            }),
            Claim::Keep
        );
    }

    #[test]
    fn our_object_that_stopped_matching_is_released_unless_we_are_deleted() {
        assert_eq!(claim(input(Some("rs"), false)), Claim::Release);
        assert_eq!(
            claim(ClaimInput {
                owner_deleting: true,
                ..input(Some("rs"), false)
            }),
            Claim::Ignore
        );
    }

    #[test]
    fn a_matching_orphan_is_adopted_unless_either_side_is_being_deleted() {
        assert_eq!(claim(input(None, true)), Claim::Adopt);
        assert_eq!(claim(input(None, false)), Claim::Ignore);
        assert_eq!(
            claim(ClaimInput {
                object_deleting: true,
                ..input(None, true)
            }),
            Claim::Ignore
        );
        assert_eq!(
            claim(ClaimInput {
                owner_deleting: true,
                ..input(None, true)
            }),
            Claim::Ignore
        );
    }

    #[test]
    fn the_adopt_patch_adds_a_blocking_controller_reference() {
        let meta = ObjectMeta {
            uid: Some("pod-uid".into()),
            resource_version: Some("7".into()),
            ..Default::default()
        };
        let patch = adopt_patch(&meta, &Owner::new("apps/v1", "ReplicaSet", "web", "rs"));
        assert_eq!(patch["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(
            patch["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
            true
        );
        assert_eq!(patch["metadata"]["resourceVersion"], "7");
        let released = release_patch(
            &ObjectMeta {
                owner_references: Some(vec![
                    Owner::new("apps/v1", "ReplicaSet", "web", "rs").controller_ref(),
                ]),
                ..meta
            },
            "rs",
        );
        assert_eq!(released["metadata"]["ownerReferences"], Value::Null);
    }
}
