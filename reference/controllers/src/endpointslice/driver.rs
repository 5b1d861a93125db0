//! The EndpointSlice driver: watches Services, Pods, Nodes (zones) and EndpointSlices and
//! applies the slice plan. Entry point: [`start`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use tokio::task::JoinHandle;

use super::plan::{CONTROLLER_NAME, MANAGED_BY, SERVICE_NAME, ZONE_LABEL, plan};
use crate::endpoints::watch_services_and_pods;
use crate::runtime::context::Ctx;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, spawn_resync, spawn_watch, split_key,
};

/// Upstream `--concurrent-service-endpoint-syncs` default.
pub const DEFAULT_WORKERS: usize = 5;
const NAME: &str = "endpointslice";

struct SliceController {
    client: kube::Client,
    services: Arc<Informer<Service>>,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    slices: Arc<Informer<EndpointSlice>>,
    max_per_slice: usize,
}

fn managed_service(slice: &EndpointSlice) -> Option<String> {
    let labels = slice.metadata.labels.as_ref()?;
    (labels.get(MANAGED_BY).map(String::as_str) == Some(CONTROLLER_NAME))
        .then(|| labels.get(SERVICE_NAME).cloned())
        .flatten()
}

/// Starts the EndpointSlice controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let services = ctx.informers.get::<Service>();
    let pods = ctx.informers.get::<Pod>();
    let nodes = ctx.informers.get::<Node>();
    let slices = ctx.informers.get::<EndpointSlice>();
    let mut tasks = Vec::new();
    let resync = {
        let (s, q) = (services.clone(), queue.clone());
        move || enqueue_all(&s, &q)
    };
    tasks.extend(watch_services_and_pods(
        &services,
        &pods,
        &queue,
        resync.clone(),
    ));
    let q = queue.clone();
    tasks.push(spawn_watch(
        &slices,
        move |c: &Change<EndpointSlice>| {
            if let Some(slice) = c.latest()
                && let Some(svc) = managed_service(slice)
            {
                q.add(format!("{}/{svc}", slice.namespace().unwrap_or_default()));
            }
        },
        resync.clone(),
    ));
    // A node's zone label feeds every endpoint on it.
    let (q, s) = (queue.clone(), services.clone());
    let zone_resync = resync.clone();
    tasks.push(spawn_watch(
        &nodes,
        move |c: &Change<Node>| {
            let zone = |n: &Option<Arc<Node>>| {
                n.as_ref().and_then(|n| n.labels().get(ZONE_LABEL).cloned())
            };
            if zone(&c.old) != zone(&c.new) {
                enqueue_all(&s, &q);
            }
        },
        zone_resync,
    ));
    tasks.push(spawn_resync(
        services.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(SliceController {
        client: ctx.client.clone(),
        services,
        pods,
        nodes,
        slices,
        max_per_slice: ctx.config.max_endpoints_per_slice,
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for SliceController {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        let ns = ns.unwrap_or_default();
        // Slices of a deleted service go with it through their owner reference (GC).
        let Some(svc) = self.services.get(Some(ns), name) else {
            return Ok(None);
        };
        let existing: Vec<Arc<EndpointSlice>> = self
            .slices
            .list()
            .into_iter()
            .filter(|s| {
                s.metadata.namespace.as_deref() == Some(ns)
                    && managed_service(s).as_deref() == Some(name)
            })
            .collect();
        let zones: HashMap<String, String> = self
            .nodes
            .list()
            .iter()
            .filter_map(|n| Some((n.name_any(), n.labels().get(ZONE_LABEL)?.clone())))
            .collect();
        let Some(p) = plan(
            &svc,
            &self.pods.list(),
            &zones,
            &existing,
            self.max_per_slice,
        ) else {
            return Ok(None);
        };
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), ns);
        for slice in &p.update {
            api.replace(&slice.name_any(), &PostParams::default(), slice)
                .await?;
        }
        for slice in &p.create {
            api.create(&PostParams::default(), slice).await?;
        }
        for name in &p.delete {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }
}
