//! A target made slow on purpose, to prove the performance checks catch it: every write
//! (POST, PUT, PATCH, DELETE) its clients send waits `delay` before it reaches the API
//! server, exactly as an API server that took that much longer to answer would look.
//!
//! Entry point: [`SlowedTarget::delaying_writes`]. The reference itself is untouched; the
//! latency is injected in front of it, in the harness's own client.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use http::{Method, Request, Response};
use kube::client::Body;

use crate::targets::Target;
use crate::targets::wrapped::WrappedTarget;

/// The constructor of targets whose writes are delayed.
pub struct SlowedTarget;

impl SlowedTarget {
    /// A wrapper of `inner` whose writes each take `delay` longer.
    pub fn delaying_writes(inner: Arc<dyn Target>, delay: Duration) -> WrappedTarget {
        let wrap = move |client: kube::Client| {
            let ns = client.default_namespace().to_string();
            kube::Client::new(DelayWrites { client, delay }, ns)
        };
        WrappedTarget::new("slowed", inner, Arc::new(wrap))
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
