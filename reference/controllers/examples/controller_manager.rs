//! Runs the reference controller manager against the cluster of the current kubeconfig
//! (`KUBECONFIG` or `~/.kube/config`), until Ctrl-C. For trying the controllers against
//! any API server; `refkube controller-manager` is the real entry point.
//!
//! ```text
//! cargo run -p refkube-controllers --example controller_manager -- [--no-leader-elect] [--controllers replicaset,deployment]
//! ```

use std::time::Duration;

use refkube_controllers::{ControllerManagerConfig, run};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = ControllerManagerConfig::default()
        .node_monitor_grace_period(Duration::from_secs(10))
        .node_startup_grace_period(Duration::from_secs(10))
        .pod_gc(Duration::from_secs(2), Duration::from_secs(2));
    if args.iter().any(|a| a == "--no-leader-elect") {
        config = config.leader_election(None);
    }
    if let Some(pos) = args.iter().position(|a| a == "--controllers")
        && let Some(list) = args.get(pos + 1)
    {
        config = config.controllers(list.split(',').map(str::to_string));
    }
    let client = kube::Client::try_default().await?;
    run(config, client, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
