//! The one-component commands: `refkube scheduler`, `controller-manager`, `kubelet`,
//! `proxy`, and `node` (a node's kubelet and kube-proxy in one process), each an
//! ordinary API client of whatever API server a kubeconfig names (refkube's or a real
//! kube-apiserver), as the separate binaries are upstream. Each takes `--pace upstream`
//! (the default) or `--pace fast` (the in-process test cluster's timings, from
//! [`crate::pace`]); timing flags given explicitly win over the pace.
//!
//! Modules: [`control_plane`] (scheduler and controller manager), [`kubelet`],
//! [`proxy`], [`node`], [`parts`] (agents sharing a process). Entry point: [`run`] with
//! a parsed [`ComponentCommand`].

pub mod control_plane;
pub mod kubelet;
pub mod node;
pub mod parts;
pub mod proxy;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::components::{VERSION, client_as, config_as};
use control_plane::{ControllerManagerArgs, SchedulerArgs};
use kubelet::KubeletArgs;
use node::NodeArgs;
use proxy::ProxyArgs;

/// The components that run on their own.
#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Run only the scheduler against an API server.
    Scheduler(SchedulerArgs),
    /// Run only the controller manager against an API server.
    ControllerManager(ControllerManagerArgs),
    /// Run one node's kubelet against an API server.
    Kubelet(KubeletArgs),
    /// Run one node's kube-proxy against an API server.
    Proxy(ProxyArgs),
    /// Run one node (its kubelet and kube-proxy, and with --node-routes the routes to
    /// other nodes' pods) against an API server: what a node container runs.
    Node(NodeArgs),
}

/// How a component finds the API server.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Kubeconfig of the API server (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

/// Runs a component until SIGINT or SIGTERM.
pub async fn run(cmd: ComponentCommand) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    match cmd {
        ComponentCommand::Scheduler(a) => {
            let client = client(&a.client, &format!("kube-scheduler/{VERSION}")).await?;
            Ok(refkube_scheduler::run(a.config()?, client, shutdown).await?)
        }
        ComponentCommand::ControllerManager(a) => {
            let config = client_config(&a.client).await?;
            let root_ca = a.root_ca(&config)?;
            let agent = format!("kube-controller-manager/{VERSION}");
            let client = client_as(&config, &agent)?;
            let credentials = if a.use_service_account_credentials {
                Some(config_as(&config, &agent)?)
            } else {
                None
            };
            let config = a
                .config()
                .root_ca(root_ca)
                .cluster_signing(a.cluster_signing()?)
                .service_account_credentials(credentials);
            Ok(refkube_controllers::run(config, client, shutdown).await?)
        }
        ComponentCommand::Kubelet(a) => kubelet::run(a, shutdown).await,
        ComponentCommand::Proxy(a) => proxy::run(a, shutdown).await,
        ComponentCommand::Node(a) => node::run(a, shutdown).await,
    }
}

/// Resolves on Ctrl-C or SIGTERM. SIGTERM matters in a container: `docker stop` sends
/// it, and a PID 1 without a handler ignores it until the engine kills it 10 s later.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// A client from `--kubeconfig` (or the usual inference) sending `agent`.
async fn client(a: &ClientArgs, agent: &str) -> anyhow::Result<kube::Client> {
    Ok(client_as(&client_config(a).await?, agent)?)
}

/// The client configuration `--kubeconfig` (or the usual inference) gives.
async fn client_config(a: &ClientArgs) -> anyhow::Result<kube::Config> {
    let config = match &a.kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?
        }
        None => kube::Config::infer()
            .await
            .context("no --kubeconfig, and none could be inferred")?,
    };
    Ok(config)
}

#[cfg(test)]
mod tests {
    use crate::cli::Cli;
    use clap::{CommandFactory, Parser};

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_component_takes_a_pace() {
        for argv in [
            vec!["scheduler"],
            vec!["controller-manager"],
            vec!["kubelet", "--node-name=node-1"],
            vec!["proxy"],
            vec!["node", "--node-name=node-1"],
        ] {
            let argv = ["refkube"]
                .into_iter()
                .chain(argv)
                .chain(["--pace", "fast"]);
            assert!(
                Cli::try_parse_from(argv.clone()).is_ok(),
                "{:?}",
                argv.collect::<Vec<_>>()
            );
        }
        assert!(Cli::try_parse_from(["refkube", "proxy", "--pace", "slow"]).is_err());
    }
}
