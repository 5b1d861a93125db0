//! The controller manager: leader election over `kube-system/kube-controller-manager`,
//! then every enabled controller on shared informers until shutdown. Entry point: [`run`].

use std::future::Future;
use std::sync::Arc;

use refkube_common::leader_election::{LeaderElectionError, LeaderElector, RunOutcome, hostname};
use tokio::sync::watch;

use crate::config::ControllerManagerConfig;
use crate::inventory::CONTROLLERS;
use crate::runtime::context::Ctx;
use crate::runtime::credentials::{ClientBuilder, service_account};
use crate::runtime::informers::SharedInformers;
use crate::runtime::queue::WorkQueue;

/// Why the controller manager stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// `--controllers` named a controller that does not exist.
    #[error("unknown controller {0:?}")]
    UnknownController(String),
    /// The leader election configuration was rejected.
    #[error("leader election: {0}")]
    LeaderElection(#[from] LeaderElectionError),
    /// Leadership was lost; upstream exits so a fresh process campaigns again.
    #[error("leaderelection lost")]
    LostLeadership,
}

/// Runs the controller manager until `shutdown` completes.
pub async fn run(
    config: ControllerManagerConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ControllerError> {
    if let Some(names) = &config.controllers
        && let Some(bad) = names
            .iter()
            .find(|n| n.as_str() != "*" && crate::inventory::find(n).is_none())
    {
        return Err(ControllerError::UnknownController(bad.clone()));
    }
    let config = Arc::new(config);
    match config.leader_election.clone() {
        None => {
            run_controllers(config, client, shutdown).await;
            Ok(())
        }
        Some(le) => {
            let elector = LeaderElector::new(client.clone(), le)?;
            let outcome = elector
                .run(
                    move |token| async move {
                        run_controllers(config, client, token.cancelled_owned()).await
                    },
                    shutdown,
                )
                .await;
            match outcome {
                RunOutcome::Shutdown => Ok(()),
                RunOutcome::LostLeadership => Err(ControllerError::LostLeadership),
            }
        }
    }
}

/// Starts every enabled controller, then the informers; stops all on `stop`.
async fn run_controllers(
    config: Arc<ControllerManagerConfig>,
    client: kube::Client,
    stop: impl Future<Output = ()>,
) {
    let informers = Arc::new(SharedInformers::new(client.clone()));
    let (synced_tx, synced) = watch::channel(false);
    let ctx = Ctx {
        client,
        informers: informers.clone(),
        config: config.clone(),
        host: hostname(),
        synced,
    };
    let builder = (config.service_account_credentials.clone())
        .map(|api| ClientBuilder::new(ctx.client.clone(), *api));
    let mut queues = Vec::new();
    let mut tasks = Vec::new();
    for entry in CONTROLLERS.iter().filter(|c| config.is_enabled(c.name)) {
        let Some(ctx) = controller_ctx(&ctx, builder.as_ref(), entry.name) else {
            continue;
        };
        let queue = WorkQueue::new(config.rate_limiter);
        tasks.extend((entry.start)(&ctx, queue.clone()));
        queues.push(queue);
        tracing::info!(controller = entry.name, "started controller");
    }
    tasks.extend(informers.start());
    let sync_informers = informers.clone();
    tasks.push(tokio::spawn(async move {
        sync_informers.wait_for_sync().await;
        let _ = synced_tx.send(true);
    }));
    stop.await;
    for q in &queues {
        q.shutdown();
    }
    for t in &tasks {
        t.abort();
    }
}

/// The context controller `name` starts with: with service account credentials, its
/// own client (the informers stay the manager's, as upstream's shared informers use the
/// root client); `None` when that client cannot be built, which upstream treats as fatal
/// for the controller (`ClientOrDie`) rather than falling back to broader credentials.
fn controller_ctx(ctx: &Ctx, builder: Option<&ClientBuilder>, name: &str) -> Option<Ctx> {
    let Some(builder) = builder else {
        return Some(ctx.clone());
    };
    let Some(sa) = service_account(name) else {
        tracing::error!(controller = name, "no service account; not started");
        return None;
    };
    match builder.client(sa) {
        Ok(client) => Some(Ctx {
            client,
            ..ctx.clone()
        }),
        Err(e) => {
            tracing::error!(controller = name, error = %e, "no client; not started");
            None
        }
    }
}
