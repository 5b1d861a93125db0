//! The ClusterRole aggregation controller (`pkg/controller/clusterroleaggregation`,
//! controller `clusterrole-aggregation`): a ClusterRole with an `aggregationRule` holds
//! the union of the rules of the ClusterRoles its selectors pick, kept up to date as
//! those change. This is how `admin`, `edit` and `view` grow when an add-on labels its
//! own role `aggregate-to-view`. Entry point: [`start`]; the decision is
//! [`plan::aggregate`].

pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;

use crate::runtime::context::Ctx;
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, spawn_resync, spawn_watch};

const NAME: &str = "clusterrole-aggregation";

struct Aggregator {
    client: kube::Client,
    roles: Arc<Informer<ClusterRole>>,
}

/// Queues every aggregated role: any ClusterRole's change may alter what a selector
/// picks, and upstream re-checks them all rather than tracking who selects whom.
fn enqueue_aggregated(roles: &Informer<ClusterRole>, queue: &WorkQueue) {
    for r in roles.list() {
        if r.aggregation_rule.is_some() {
            queue.add(r.metadata.name.clone().unwrap_or_default());
        }
    }
}

/// Starts the controller (queue keys are ClusterRole names).
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let roles = ctx.informers.get::<ClusterRole>();
    let resync = {
        let (r, q) = (roles.clone(), queue.clone());
        move || enqueue_aggregated(&r, &q)
    };
    let (r, q) = (roles.clone(), queue.clone());
    let mut tasks = vec![spawn_watch(
        &roles,
        move |_: &Change<ClusterRole>| enqueue_aggregated(&r, &q),
        resync,
    )];
    tasks.push(spawn_resync(
        roles.clone(),
        queue.clone(),
        ctx.config.resync_period,
    ));
    let reconciler = Arc::new(Aggregator {
        client: ctx.client.clone(),
        roles,
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, 5));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for Aggregator {
    async fn sync(&self, name: &str) -> Result<Option<Duration>, SyncError> {
        let Some(role) = self.roles.get(None, name) else {
            return Ok(None);
        };
        let Some(rules) = plan::aggregate(&role, &self.roles.list()) else {
            return Ok(None);
        };
        let mut next = (*role).clone();
        next.rules = Some(rules);
        let api: Api<ClusterRole> = Api::all(self.client.clone());
        match api.replace(name, &PostParams::default(), &next).await {
            Ok(_) => Ok(None),
            // Deleted meanwhile; or a newer version is on its way through the informer,
            // which queues the role again.
            Err(kube::Error::Api(s)) if matches!(s.code, 404 | 409) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
