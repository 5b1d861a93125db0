//! SelfSubjectAccessReview: whether the requester may do something (`kubectl auth can-i`).
//! Create-only: the API server answers each create from its own handler and stores nothing,
//! so this entry only puts the kind in discovery and OpenAPI.

use crate::ResourceInfo;
use crate::registry::{CREATE_ONLY, NONE};
use crate::strategy::{Strategy, TypeFns};

pub struct SelfSubjectAccessReview;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "authorization.k8s.io",
    "SelfSubjectAccessReview",
    "selfsubjectaccessreviews",
    "selfsubjectaccessreview",
    false,
    NONE,
    NONE,
    NONE,
    CREATE_ONLY,
    &SelfSubjectAccessReview,
);

impl Strategy for SelfSubjectAccessReview {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<
            k8s_openapi::api::authorization::v1::SelfSubjectAccessReview,
        >())
    }
}
