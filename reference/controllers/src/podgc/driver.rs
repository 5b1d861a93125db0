//! The pod GC driver: a pass every `--pod-gc-period` (upstream's 20 s `gcCheckPeriod`).
//! Entry point: [`start`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use tokio::task::JoinHandle;

use super::plan::{DELETION_BY_POD_GC, NODE_GONE_MESSAGE, plan};
use crate::config::ControllerManagerConfig;
use crate::runtime::context::Ctx;
use crate::runtime::informers::Informer;
use crate::runtime::queue::WorkQueue;
use crate::tainteviction::plan::with_disruption_target;
use crate::util::pods::{is_terminal, node_name};
use crate::util::time::now_seconds;

/// Starts the pod GC loop.
pub fn start(ctx: &Ctx, _queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let pods = ctx.informers.get::<Pod>();
    let nodes = ctx.informers.get::<Node>();
    let (client, config, mut synced) = (ctx.client.clone(), ctx.config.clone(), ctx.synced.clone());
    vec![tokio::spawn(async move {
        if synced.wait_for(|s| *s).await.is_err() {
            return;
        }
        let mut missing_since: HashMap<String, Instant> = HashMap::new();
        let mut tick = tokio::time::interval(config.pod_gc_period.max(Duration::from_millis(10)));
        loop {
            tick.tick().await;
            pass(&client, &pods, &nodes, &config, &mut missing_since).await;
        }
    })]
}

async fn pass(
    client: &kube::Client,
    pods: &Informer<Pod>,
    nodes: &Informer<Node>,
    config: &ControllerManagerConfig,
    missing_since: &mut HashMap<String, Instant>,
) {
    let all = pods.list();
    let known: HashSet<String> = nodes.list().iter().map(|n| n.name_any()).collect();
    let referenced: HashSet<String> = all
        .iter()
        .map(|p| node_name(p).to_string())
        .filter(|n| !n.is_empty() && !known.contains(n))
        .collect();
    missing_since.retain(|n, _| referenced.contains(n));
    let mut gone = HashSet::new();
    let node_api: Api<Node> = Api::all(client.clone());
    for n in referenced {
        let since = *missing_since.entry(n.clone()).or_insert_with(Instant::now);
        // Quarantine, then confirm with a live read: the informer may lag.
        if since.elapsed() >= config.pod_gc_quarantine
            && matches!(node_api.get_opt(&n).await, Ok(None))
        {
            gone.insert(n);
        }
    }
    let p = plan(&all, &gone, config.terminated_pod_gc_threshold);
    for pod in p.orphaned {
        let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
        let mut conditions = with_disruption_target(&pod, now_seconds());
        if let Some(c) = conditions
            .iter_mut()
            .find(|c| c.type_ == "DisruptionTarget")
        {
            c.reason = Some(DELETION_BY_POD_GC.into());
            c.message = Some(NODE_GONE_MESSAGE.into());
        }
        let mut status = json!({"conditions": conditions});
        if !is_terminal(&pod) {
            status["phase"] = json!("Failed");
        }
        if let Err(e) = api
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
        {
            tracing::debug!(pod = %pod.name_any(), error = %e, "podgc: status patch failed");
        }
        force_delete(&api, &pod).await;
    }
    for pod in p.unscheduled_terminating.iter().chain(p.terminated.iter()) {
        let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
        force_delete(&api, pod).await;
    }
}

async fn force_delete(api: &Api<Pod>, pod: &Pod) {
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    match api.delete(&pod.name_any(), &dp).await {
        Ok(_) => tracing::info!(pod = %pod.name_any(), "podgc: force-deleted"),
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => {
            tracing::info!(pod = %pod.name_any(), error = %e, "podgc: delete failed; next pass retries")
        }
    }
}
