//! TokenReview: whether a bearer token authenticates, and as whom. Create-only: the API
//! server answers each create from its own handler and stores nothing, so this entry only
//! puts the kind in discovery and OpenAPI.

use crate::ResourceInfo;
use crate::registry::{CREATE_ONLY, NONE};
use crate::strategy::{Strategy, TypeFns};

pub struct TokenReview;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "authentication.k8s.io",
    "TokenReview",
    "tokenreviews",
    "tokenreview",
    false,
    NONE,
    NONE,
    NONE,
    CREATE_ONLY,
    &TokenReview,
);

impl Strategy for TokenReview {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<
            k8s_openapi::api::authentication::v1::TokenReview,
        >())
    }
}
