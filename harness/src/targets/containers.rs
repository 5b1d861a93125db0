//! The `containers` target slot: reference images as containers (not built yet).
//!
//! Entry point: [`ContainersTarget`]. Until the containers target lands, it lacks every
//! capability a scenario can ask for and refuses sessions, so each scenario is reported as
//! skipped with the reason "containers target not yet available" — never passed.

use async_trait::async_trait;

use super::{Capability, Session, SessionNeeds, Target, TargetError};

/// The reason every scenario is skipped on this target.
pub const NOT_AVAILABLE: &str = "containers target not yet available";

/// The placeholder containers target.
#[derive(Debug, Default)]
pub struct ContainersTarget;

#[async_trait]
impl Target for ContainersTarget {
    fn name(&self) -> &str {
        "containers"
    }

    fn lacks(&self, _cap: Capability) -> Option<String> {
        Some(NOT_AVAILABLE.into())
    }

    fn unavailable(&self) -> Option<String> {
        Some(NOT_AVAILABLE.into())
    }

    async fn session(&self, _needs: &SessionNeeds) -> Result<Box<dyn Session>, TargetError> {
        Err(TargetError::Unavailable(NOT_AVAILABLE.into()))
    }

    async fn shutdown(&self) {}
}
