//! LocalSubjectAccessReview: a SubjectAccessReview within one namespace. Create-only: the
//! API server answers each create from its own handler and stores nothing, so this entry
//! only puts the kind in discovery and OpenAPI.

use crate::ResourceInfo;
use crate::registry::{CREATE_ONLY, NONE};
use crate::strategy::{Strategy, TypeFns};

pub struct LocalSubjectAccessReview;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "authorization.k8s.io",
    "LocalSubjectAccessReview",
    "localsubjectaccessreviews",
    "localsubjectaccessreview",
    true,
    NONE,
    NONE,
    NONE,
    CREATE_ONLY,
    &LocalSubjectAccessReview,
);

impl Strategy for LocalSubjectAccessReview {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<
            k8s_openapi::api::authorization::v1::LocalSubjectAccessReview,
        >())
    }
}
