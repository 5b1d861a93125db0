//! A target whose sessions hand out a changed client: the one place where the self-tests'
//! deliberately broken targets (a label dropped, writes slowed) plug a tower service in
//! front of a real target, everything else passing through to it unchanged.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Capability, Fault, Session, SessionNeeds, Target, TargetError};

/// Builds a session's client from the wrapped target's own client.
pub type ClientWrap = Arc<dyn Fn(kube::Client) -> kube::Client + Send + Sync>;

/// Wraps `inner`; every session's client is `wrap` applied to the inner session's.
pub struct WrappedTarget {
    name: &'static str,
    inner: Arc<dyn Target>,
    wrap: ClientWrap,
}

impl WrappedTarget {
    /// A target named `name` (as reports show it) that is `inner` seen through `wrap`.
    pub fn new(name: &'static str, inner: Arc<dyn Target>, wrap: ClientWrap) -> Self {
        Self { name, inner, wrap }
    }
}

#[async_trait]
impl Target for WrappedTarget {
    fn name(&self) -> &str {
        self.name
    }

    fn lacks(&self, cap: Capability) -> Option<String> {
        self.inner.lacks(cap)
    }

    fn unavailable(&self) -> Option<String> {
        self.inner.unavailable()
    }

    async fn session(&self, needs: &SessionNeeds) -> Result<Box<dyn Session>, TargetError> {
        let inner = self.inner.session(needs).await?;
        let client = (self.wrap)(inner.client());
        Ok(Box::new(WrappedSession { inner, client }))
    }

    async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}

struct WrappedSession {
    inner: Box<dyn Session>,
    client: kube::Client,
}

#[async_trait]
impl Session for WrappedSession {
    fn client(&self) -> kube::Client {
        self.client.clone()
    }

    async fn inject(&self, fault: &Fault) -> Result<(), TargetError> {
        self.inner.inject(fault).await
    }

    async fn audit_log(&self) -> Result<Vec<serde_json::Value>, TargetError> {
        self.inner.audit_log().await
    }

    async fn release(self: Box<Self>) {
        self.inner.release().await;
    }
}
