//! The node route task, what kind's kindnetd does for a multi-machine cluster: it
//! watches Nodes through the API server and keeps, in this process's network namespace,
//! a route to every other node's pod CIDR via that node's InternalIP, as
//! [`super::routes`] plans them. Entry point: [`run`] with a [`RouteSyncConfig`].
//!
//! Only the routes tagged [`super::routes::PROTOCOL`] are read and changed. They stay in
//! place when the task stops, as kindnetd's do: a restarted task takes them over, and the
//! namespace of a node container takes them with it when it goes.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};

use super::routes::{self, Change, PROTOCOL, Routes};
use super::{NetworkError, installed, output, run as run_command};

/// What the task needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSyncConfig {
    /// This node's name: its own pod CIDR is not routed anywhere.
    pub node_name: String,
    /// How often the routing table is re-read with no Node changing, which repairs
    /// routes someone else removed.
    pub resync_period: Duration,
}

impl RouteSyncConfig {
    /// The task of node `node_name`, re-reading the table every 10 s.
    pub fn new(node_name: impl Into<String>) -> Self {
        Self {
            node_name: node_name.into(),
            resync_period: Duration::from_secs(10),
        }
    }

    /// Sets how often the routing table is re-read.
    pub fn resync_period(mut self, period: Duration) -> Self {
        self.resync_period = period;
        self
    }
}

/// Errors from reading or changing the routing table.
#[derive(Debug, thiserror::Error)]
pub enum RouteSyncError {
    /// `ip` is missing or one of its commands failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// `ip -json` printed something that is not a route list.
    #[error("reading the routing table: {0}")]
    Parse(#[from] serde_json::Error),
}

/// Keeps the routes until `shutdown` resolves. Fails at once only when `ip` is missing;
/// failures of one sync are logged and retried at the next Node change or resync.
pub async fn run(
    config: RouteSyncConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RouteSyncError> {
    if !installed("ip") {
        return Err(NetworkError::MissingTool {
            tool: "ip",
            package: "iproute2",
        }
        .into());
    }
    let (nodes, writer) = reflector::store::<Node>();
    let mut events = reflector(
        writer,
        watcher(Api::<Node>::all(client), watcher::Config::default()),
    )
    .default_backoff()
    .boxed();
    let mut tick = tokio::time::interval(config.resync_period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    // Until the first list completes the store is empty, and planning from it would
    // delete every route.
    let mut listed = false;
    let mut applied: Option<Routes> = None;
    loop {
        let mut resync = false;
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            event = events.next() => match event {
                Some(Ok(watcher::Event::InitDone)) => listed = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "node watch");
                    continue;
                }
                None => return Ok(()),
            },
            _ = tick.tick() => resync = true,
        }
        if !listed {
            continue;
        }
        let state = nodes.state();
        let desired = routes::desired(state.iter().map(AsRef::as_ref), &config.node_name);
        // Node status updates arrive every few seconds per node; only a change of the
        // plan's input, or the resync, is worth running `ip` for.
        if !resync && applied.as_ref() == Some(&desired) {
            continue;
        }
        match sync(&desired).await {
            Ok(()) => applied = Some(desired),
            Err(e) => {
                tracing::warn!(error = %e, "updating routes to other nodes' pods");
                applied = None;
            }
        }
    }
}

/// Reads this task's routes and applies the plan that turns them into `desired`.
async fn sync(desired: &Routes) -> Result<(), RouteSyncError> {
    let proto = PROTOCOL.to_string();
    let json = output(
        "listing routes to other nodes' pods",
        "ip",
        &["-4", "-json", "route", "show", "proto", &proto],
        None,
    )
    .await?;
    let changes = routes::plan(desired, &routes::parse(&json)?);
    if changes.is_empty() {
        return Ok(());
    }
    for change in &changes {
        match change {
            Change::Replace { dst, via } => tracing::info!(%dst, %via, "routing pod CIDR"),
            Change::Delete { dst, via } => tracing::info!(%dst, %via, "removing pod CIDR route"),
        }
    }
    // -force: one bad route (a gateway not on this link, say) must not keep the others
    // from being applied.
    run_command(
        "updating routes to other nodes' pods",
        "ip",
        &["-4", "-force", "-batch", "-"],
        Some(&routes::script(&changes)),
    )
    .await?;
    Ok(())
}
