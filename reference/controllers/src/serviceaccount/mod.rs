//! The ServiceAccount controller (`pkg/controller/serviceaccount`): every active namespace
//! has a `default` ServiceAccount, recreated if deleted. Entry point: [`start`].

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;

use crate::runtime::context::Ctx;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{
    Reconciler, SyncError, resync_all, spawn_resync, spawn_watch, spawn_watch_keys,
};

/// The accounts every namespace gets.
pub const DEFAULT_ACCOUNTS: [&str; 1] = ["default"];
const NAME: &str = "serviceaccount";

/// Accounts missing from an active namespace (`None` when the namespace is terminating).
pub fn missing(ns: &Namespace, existing: &[String]) -> Vec<&'static str> {
    let terminating = ns.metadata.deletion_timestamp.is_some()
        || ns.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating");
    if terminating {
        return Vec::new();
    }
    DEFAULT_ACCOUNTS
        .iter()
        .copied()
        .filter(|a| !existing.iter().any(|e| e == a))
        .collect()
}

struct Accounts {
    client: kube::Client,
    namespaces: Arc<Informer<Namespace>>,
    accounts: Arc<Informer<ServiceAccount>>,
}

/// Starts the ServiceAccount controller (queue keys are namespace names).
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let namespaces = ctx.informers.get::<Namespace>();
    let accounts = ctx.informers.get::<ServiceAccount>();
    let resync = resync_all(&namespaces, &queue);
    let mut tasks = vec![spawn_watch_keys(&namespaces, &queue)];
    let q = queue.clone();
    tasks.push(spawn_watch(
        &accounts,
        move |c: &Change<ServiceAccount>| {
            if let Some(sa) = c.old.as_ref().filter(|_| c.is_delete()) {
                q.add(sa.namespace().unwrap_or_default());
            }
        },
        resync,
    ));
    tasks.push(spawn_resync(
        namespaces.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(Accounts {
        client: ctx.client.clone(),
        namespaces,
        accounts,
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, 1));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for Accounts {
    async fn sync(&self, ns_name: &str) -> Result<Option<Duration>, SyncError> {
        let Some(ns) = self.namespaces.get(None, ns_name) else {
            return Ok(None);
        };
        let existing: Vec<String> = self
            .accounts
            .list()
            .iter()
            .filter(|a| a.metadata.namespace.as_deref() == Some(ns_name))
            .map(|a| a.name_any())
            .collect();
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), ns_name);
        for name in missing(&ns, &existing) {
            let sa = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            match api.create(&PostParams::default(), &sa).await {
                Ok(_) => {}
                // Already there, or the namespace started terminating meanwhile.
                Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 || s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_active_namespace_without_default_gets_one_and_a_terminating_one_does_not() {
        let ns = Namespace::default();
        assert_eq!(missing(&ns, &[]), vec!["default"]);
        assert!(missing(&ns, &["default".to_string()]).is_empty());
        let mut dying = Namespace::default();
        dying.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(crate::util::time::from_unix(1)),
        );
        assert!(missing(&dying, &[]).is_empty());
    }
}
