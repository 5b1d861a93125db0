//! A target wrapper that breaks the API on purpose, to prove the suite catches it.
//!
//! Entry point: [`FaultyTarget::dropping_label`]. Every create (POST) that passes through
//! its clients loses one label before it reaches the API server, exactly as a buggy API
//! server that ignored it would behave. The harness's own tests run scenarios through it
//! and assert that they fail with a readable message.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use kube::client::Body;

use super::Target;
use super::wrapped::WrappedTarget;

/// The constructor of targets whose creates lose a label.
pub struct FaultyTarget;

impl FaultyTarget {
    /// A wrapper of `inner` whose creates drop the label `label`.
    pub fn dropping_label(inner: Arc<dyn Target>, label: impl Into<String>) -> WrappedTarget {
        let label: Arc<str> = Arc::from(label.into());
        let wrap = move |client: kube::Client| {
            let ns = client.default_namespace().to_string();
            let svc = DropLabel {
                client,
                label: label.clone(),
            };
            kube::Client::new(svc, ns)
        };
        WrappedTarget::new("faulty", inner, Arc::new(wrap))
    }
}

/// The tower service: forwards to a real client, rewriting create bodies.
#[derive(Clone)]
struct DropLabel {
    client: kube::Client,
    label: Arc<str>,
}

/// Removes `metadata.labels[label]` from a JSON object body; other bodies pass unchanged.
fn strip_label(body: &[u8], label: &str) -> Option<Vec<u8>> {
    let mut obj: serde_json::Value = serde_json::from_slice(body).ok()?;
    obj.get_mut("metadata")?
        .get_mut("labels")?
        .as_object_mut()?
        .remove(label)?;
    serde_json::to_vec(&obj).ok()
}

impl tower::Service<Request<Body>> for DropLabel {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let client = self.client.clone();
        let label = self.label.clone();
        Box::pin(async move {
            if req.method() != Method::POST {
                return client.send(req).await;
            }
            let (parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| kube::Error::Service(Box::new(e)))?
                .to_bytes();
            let rewritten = strip_label(&bytes, &label).unwrap_or_else(|| bytes.to_vec());
            client
                .send(Request::from_parts(parts, Body::from(rewritten)))
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_is_removed_and_everything_else_kept() {
        let body = br#"{"metadata":{"name":"a","labels":{"app":"web","tier":"front"}}}"#;
        let out = strip_label(body, "app").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["metadata"]["labels"],
            serde_json::json!({"tier": "front"})
        );
        assert_eq!(v["metadata"]["name"], "a");
    }

    #[test]
    fn bodies_without_the_label_are_left_alone() {
        assert!(strip_label(br#"{"metadata":{"name":"a"}}"#, "app").is_none());
        assert!(strip_label(b"not json", "app").is_none());
    }
}
