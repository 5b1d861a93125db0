//! The Endpoints driver: watches Services, Pods and Endpoints; creates, replaces or
//! deletes each service's Endpoints. Entry point: [`start`].

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use kube::api::{Api, DeleteParams, PostParams};
use tokio::task::JoinHandle;

use super::plan::{OVER_CAPACITY, desired_endpoints, up_to_date};
use super::watch_services_and_pods;
use crate::runtime::context::Ctx;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, enqueue_all, key_of, spawn_resync, spawn_watch, split_key,
};

/// Upstream `--concurrent-endpoint-syncs` default.
pub const DEFAULT_WORKERS: usize = 5;
const NAME: &str = "endpoints";

struct EndpointsController {
    client: kube::Client,
    services: Arc<Informer<Service>>,
    pods: Arc<Informer<Pod>>,
    endpoints: Arc<Informer<Endpoints>>,
}

/// Starts the Endpoints controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let services = ctx.informers.get::<Service>();
    let pods = ctx.informers.get::<Pod>();
    let endpoints = ctx.informers.get::<Endpoints>();
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
    // Someone else changing or deleting an Endpoints object: put it back.
    let q = queue.clone();
    tasks.push(spawn_watch(
        &endpoints,
        move |c: &Change<Endpoints>| {
            c.latest()
                .into_iter()
                .for_each(|e| q.add(key_of(e.as_ref())))
        },
        resync,
    ));
    tasks.push(spawn_resync(
        services.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(EndpointsController {
        client: ctx.client.clone(),
        services,
        pods,
        endpoints,
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for EndpointsController {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        let ns = ns.unwrap_or_default();
        let api: Api<Endpoints> = Api::namespaced(self.client.clone(), ns);
        let Some(svc) = self.services.get(Some(ns), name) else {
            // The service is gone: so are its endpoints.
            if self.endpoints.get(Some(ns), name).is_some() {
                match api.delete(name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(None);
        };
        let pods = self.pods.list();
        let Some(desired) = desired_endpoints(&svc, &pods) else {
            return Ok(None);
        };
        match self.endpoints.get(Some(ns), name) {
            None => {
                api.create(&PostParams::default(), &desired).await?;
            }
            Some(current) if up_to_date(&current, &desired) => {}
            Some(current) => {
                let mut next = (*current).clone();
                next.subsets = desired.subsets;
                next.metadata.labels = desired.metadata.labels;
                let mut annotations = next.metadata.annotations.take().unwrap_or_default();
                annotations.remove(OVER_CAPACITY);
                annotations.extend(desired.metadata.annotations.unwrap_or_default());
                next.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
                api.replace(name, &PostParams::default(), &next).await?;
            }
        }
        Ok(None)
    }
}
