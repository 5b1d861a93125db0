//! SelfSubjectRulesReview: what the requester may do in a namespace (`kubectl auth can-i
//! --list`). Create-only: the API server answers each create from its own handler and
//! stores nothing, so this entry only puts the kind in discovery and OpenAPI.

use crate::ResourceInfo;
use crate::registry::{CREATE_ONLY, NONE};
use crate::strategy::{Strategy, TypeFns};

pub struct SelfSubjectRulesReview;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "authorization.k8s.io",
    "SelfSubjectRulesReview",
    "selfsubjectrulesreviews",
    "selfsubjectrulesreview",
    false,
    NONE,
    NONE,
    NONE,
    CREATE_ONLY,
    &SelfSubjectRulesReview,
);

impl Strategy for SelfSubjectRulesReview {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<
            k8s_openapi::api::authorization::v1::SelfSubjectRulesReview,
        >())
    }
}
