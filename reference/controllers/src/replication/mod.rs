//! The ReplicationController controller: upstream runs the ReplicaSet logic on RCs
//! (`pkg/controller/replication` wraps `replicaset.ReplicaSetController`); so does this.
//! Entry point: [`start`].

use std::sync::Arc;

use k8s_openapi::api::core::v1::ReplicationController;
use tokio::task::JoinHandle;

use crate::runtime::context::Ctx;
use crate::runtime::queue::WorkQueue;

/// Starts the RC controller on the shared ReplicaSet driver.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    crate::replicaset::driver::start::<ReplicationController>(ctx, queue)
}
