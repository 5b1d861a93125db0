//! The root CA publisher (`pkg/controller/certificates/rootcacertpublisher`, controller
//! `root-ca-certificate-publisher-controller`): every namespace holds the ConfigMap
//! `kube-root-ca.crt` whose `ca.crt` is the bundle pods use to verify the API server
//! (from `--root-ca-file`, else the controller manager's own client CA; empty when it
//! has none, as upstream). Entry point: [`start`]; the decision is [`plan::plan`].

pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;

use crate::runtime::context::Ctx;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, resync_all, spawn_resync, spawn_watch, spawn_watch_keys,
};
use plan::{Action, CONFIG_MAP};

const NAME: &str = "root-ca-certificate-publisher-controller";

struct Publisher {
    client: kube::Client,
    namespaces: Arc<Informer<Namespace>>,
    config_maps: Arc<Informer<ConfigMap>>,
    ca: String,
}

/// Starts the publisher (queue keys are namespace names).
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let namespaces = ctx.informers.get::<Namespace>();
    let config_maps = ctx.informers.get::<ConfigMap>();
    let resync = resync_all(&namespaces, &queue);
    let mut tasks = vec![spawn_watch_keys(&namespaces, &queue)];
    let q = queue.clone();
    // Someone changed or deleted ours: put it back.
    tasks.push(spawn_watch(
        &config_maps,
        move |c: &Change<ConfigMap>| {
            if let Some(cm) = c.latest().filter(|cm| cm.name_any() == CONFIG_MAP)
                && !c.is_add()
            {
                q.add(cm.namespace().unwrap_or_default());
            }
        },
        resync,
    ));
    tasks.push(spawn_resync(
        namespaces.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(Publisher {
        client: ctx.client.clone(),
        namespaces,
        config_maps,
        ca: ctx.config.root_ca.clone().unwrap_or_default(),
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, 1));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for Publisher {
    async fn sync(&self, ns_name: &str) -> Result<Option<Duration>, SyncError> {
        let ns = self.namespaces.get(None, ns_name);
        let existing = self.config_maps.get(Some(ns_name), CONFIG_MAP);
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns_name);
        match plan::plan(ns.as_deref(), existing.as_deref(), &self.ca) {
            Action::Nothing => {}
            Action::Create(cm) => match api.create(&PostParams::default(), &cm).await {
                Ok(_) => {}
                // Already there (the informer lags), or the namespace went away or
                // started terminating: nothing to retry, as upstream.
                Err(kube::Error::Api(s)) if matches!(s.code, 403 | 404 | 409) => {}
                Err(e) => return Err(e.into()),
            },
            Action::Update(cm) => {
                match api.replace(CONFIG_MAP, &PostParams::default(), &cm).await {
                    Ok(_) => {}
                    // A newer version arrives through the informer and is looked at again.
                    Err(kube::Error::Api(s)) if matches!(s.code, 404 | 409) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(None)
    }
}
