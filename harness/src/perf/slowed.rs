//! A target made slow on purpose, to prove the performance checks catch it: every write
//! (POST, PUT, PATCH, DELETE) its clients send waits `delay` before it reaches the API
//! server, exactly as an API server that took that much longer to answer would look.
//!
//! Entry point: [`SlowedTarget::delaying_writes`]. The reference itself is untouched; the
//! latency is injected in front of it, in the harness's own client.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use http::{Method, Request, Response};
use kube::client::Body;

use crate::targets::{Capability, Fault, Session, SessionNeeds, Target, TargetError};

/// Wraps a target; writes through its sessions are delayed.
pub struct SlowedTarget {
    inner: Arc<dyn Target>,
    delay: Duration,
}

impl SlowedTarget {
    /// A wrapper of `inner` whose writes each take `delay` longer.
    pub fn delaying_writes(inner: Arc<dyn Target>, delay: Duration) -> Self {
        Self { inner, delay }
    }
}

#[async_trait]
impl Target for SlowedTarget {
    fn name(&self) -> &str {
        "slowed"
    }

    fn lacks(&self, cap: Capability) -> Option<String> {
        self.inner.lacks(cap)
    }

    fn unavailable(&self) -> Option<String> {
        self.inner.unavailable()
    }

    async fn session(&self, needs: &SessionNeeds) -> Result<Box<dyn Session>, TargetError> {
        let inner = self.inner.session(needs).await?;
        let svc = DelayWrites {
            client: inner.client(),
            delay: self.delay,
        };
        let client = kube::Client::new(svc, inner.client().default_namespace().to_string());
        Ok(Box::new(SlowedSession { inner, client }))
    }

    async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}

struct SlowedSession {
    inner: Box<dyn Session>,
    client: kube::Client,
}

#[async_trait]
impl Session for SlowedSession {
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

/// Whether a request is a write (upstream's "mutating" calls).
fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// The tower service: forwards to a real client, writes after the delay.
#[derive(Clone)]
struct DelayWrites {
    client: kube::Client,
    delay: Duration,
}

impl tower::Service<Request<Body>> for DelayWrites {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let client = self.client.clone();
        let delay = if is_write(req.method()) {
            self.delay
        } else {
            Duration::ZERO
        };
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            client.send(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_are_delayed() {
        assert!(is_write(&Method::POST));
        assert!(is_write(&Method::DELETE));
        assert!(!is_write(&Method::GET));
    }
}
