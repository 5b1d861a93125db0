//! Steps about what a container wrote: its log, read through the API server
//! (`pods/log`), as `kubectl logs` reads it.
//!
//! Entry point: the step functions.

use anyhow::Context as _;
use cucumber::then;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

use super::Outcome;
use crate::world::KubeWorld;

#[then(expr = "the log of the Pod {string} says {string}")]
async fn log_says(world: &mut KubeWorld, pod: String, text: String) -> Outcome {
    let (pod, text) = (world.expand(&pod), world.expand(&text));
    let pods: Api<Pod> = Api::namespaced(world.client()?, &world.namespace);
    let log = pods
        .logs(&pod, &LogParams::default())
        .await
        .with_context(|| format!("reading the log of the Pod {pod:?}"))?;
    if !log.contains(&text) {
        fail!("the log of the Pod {pod:?} does not say {text:?}; it is:\n{log}");
    }
    Ok(())
}
