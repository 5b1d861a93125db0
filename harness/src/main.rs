//! `kubeproof`: runs the conformance suite against a target and writes reports.
//!
//! Entry point: `kubeproof run [--target embedded|kubeconfig|containers] ...`. This file
//! only parses arguments; [`kubeproof::run`] does the work.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use kubeproof::perf::cli::{CompareArgs, PerfArgs, compare_files};
use kubeproof::targets::{
    Target,
    containers::{ContainersConfig, ContainersTarget, topology::Topology},
    embedded::{Components, EmbeddedConfig, EmbeddedTarget, PodNetworkChoice, prepare},
    kubeconfig::{KubeconfigConfig, KubeconfigTarget},
};
use kubeproof::{RunConfig, Timings};
use refkube::ClusterConfig;
use refkube::components::Pace;
use refkube::network::PodNetwork;

#[derive(Parser)]
#[command(
    name = "kubeproof",
    version,
    about = "Conformance suite for Kubernetes control-plane mechanics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the features against a target.
    Run(Box<RunArgs>),
    /// Keep a cluster of the containers target up, to drive it with kubectl.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Compare two performance files (`run --perf-json`, or saved baselines): print each
    /// figure of both and the change; exit 1 when B is worse than A beyond the tolerance.
    Compare(CompareArgs),
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Build the reference image (unless one with the same content exists) and print
    /// its name. `run --target containers` and `cluster up` do this themselves.
    Image,
    /// Start the reference in containers, write its kubeconfig, and keep it up until
    /// Ctrl-C (which removes every container and network it made).
    Up {
        /// The cluster's shape, e.g. "etcd=1,apiservers=1,nodes=1" (default: 3 etcd
        /// members, 2 API servers, 2 schedulers, 2 controller managers, 3 nodes).
        #[arg(long, default_value = "")]
        containers_topology: Topology,
        /// Where to write the administrator's kubeconfig.
        #[arg(long, default_value = "kubeproof-containers.kubeconfig")]
        kubeconfig: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetKind {
    Embedded,
    Kubeconfig,
    Containers,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Where the scenarios run.
    #[arg(long, value_enum, default_value = "embedded")]
    target: TargetKind,
    /// Kubeconfig for `--target kubeconfig` (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long)]
    context: Option<String>,
    /// Fault-injection hook for `--target kubeconfig`, as NAME=COMMAND (repeatable).
    #[arg(long = "hook", value_name = "NAME=COMMAND")]
    hooks: Vec<String>,
    /// Allow @disruptive scenarios on a kubeconfig cluster.
    #[arg(long)]
    allow_disruptive: bool,
    /// Tag expression selecting scenarios, e.g. "@apiserver and not @slow".
    #[arg(long)]
    tags: Option<String>,
    /// Regex selecting scenarios by name.
    #[arg(long)]
    name: Option<String>,
    /// Skip @slow scenarios (reported as skipped).
    #[arg(long)]
    no_slow: bool,
    /// JUnit XML report.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Cucumber JSON report.
    #[arg(long)]
    json: Option<PathBuf>,
    /// HTML report with an event timeline per scenario.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Directory of .feature files.
    #[arg(long)]
    features: Option<PathBuf>,
    /// The containers target's cluster shape, e.g. "etcd=1,apiservers=1,nodes=1"
    /// (default: 3 etcd members, 2 API servers, 2 schedulers, 2 controller managers,
    /// 3 nodes).
    #[arg(long, default_value = "")]
    containers_topology: Topology,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Run only part of the embedded reference, e.g. "control-plane,nodes=2" (default:
    /// all of it: scheduler and controller manager with standbys, two nodes with
    /// kubelets and kube-proxies, faults).
    #[arg(long, env = "KUBEPROOF_EMBEDDED")]
    embedded: Option<String>,
    /// Run the embedded reference at upstream's timings (15 s leases, 10 s probe
    /// periods, 50 s node grace ...) instead of shortened ones: much slower.
    #[arg(long)]
    upstream_timings: bool,
    /// Multiply every deadline (e.g. 0.25 for the in-process reference, 3 for slow clusters).
    #[arg(long, default_value_t = 1.0)]
    timing_scale: f64,
    /// The embedded reference's pod network: `netns` (a network namespace per pod, so a
    /// pod's containers share localhost; needs root, and runs the whole run in a network
    /// namespace of its own), `loopback` (pod IPs on this machine's loopback; no
    /// privileges), or `auto` (netns when root).
    #[arg(long, env = "KUBEPROOF_POD_NETWORK", default_value = "auto")]
    pod_network: PodNetworkChoice,
    #[command(flatten)]
    perf: PerfArgs,
}

async fn target(args: &RunArgs, network: PodNetwork) -> anyhow::Result<Arc<dyn Target>> {
    Ok(match args.target {
        TargetKind::Embedded => {
            let pace = if args.upstream_timings {
                Pace::Upstream
            } else {
                Pace::Fast
            };
            let components = match &args.embedded {
                Some(list) => list.parse()?,
                None => Components::default(),
            };
            let config = EmbeddedConfig::default().components(components).cluster(
                ClusterConfig::default()
                    .pace(pace)
                    .pod_network(network)
                    .agnhost_command(refkube::agnhost::this_executable()),
            );
            Arc::new(EmbeddedTarget::new(config))
        }
        TargetKind::Containers => Arc::new(
            ContainersTarget::new(ContainersConfig {
                topology: args.containers_topology,
                refkube: None,
            })
            .await?,
        ),
        TargetKind::Kubeconfig => {
            let mut cfg = KubeconfigConfig {
                path: args.kubeconfig.clone(),
                context: args.context.clone(),
                allow_disruptive: args.allow_disruptive,
                ..KubeconfigConfig::default()
            };
            for h in &args.hooks {
                cfg = cfg.hook(h)?;
            }
            Arc::new(KubeconfigTarget::connect(cfg).await?)
        }
    })
}

fn main() -> ExitCode {
    // The process runtime may start agnhost containers as `<this executable> agnhost`.
    refkube::agnhost::dispatch();
    // Inside the reference image this executable is `refkube`.
    kubeproof::targets::containers::dispatch_as_refkube();
    let args = match Cli::parse().command {
        Command::Run(args) => *args,
        Command::Cluster {
            command:
                ClusterCommand::Up {
                    containers_topology,
                    kubeconfig,
                },
        } => return cluster_up(containers_topology, kubeconfig),
        Command::Cluster {
            command: ClusterCommand::Image,
        } => return build_image(),
        Command::Compare(args) => {
            return match compare_files(&args) {
                Ok(true) => ExitCode::FAILURE,
                Ok(false) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("kubeproof: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
    };
    // Before the async runtime's threads exist: netns isolates this whole process.
    let network = match args.target {
        TargetKind::Embedded => prepare(args.pod_network, false),
        _ => Ok(PodNetwork::Loopback),
    };
    let network = match network {
        Ok(n) => n,
        Err(e) => {
            eprintln!("kubeproof: {e:#}");
            return ExitCode::from(2);
        }
    };
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(run_cli(args, network)),
        Err(e) => {
            eprintln!("kubeproof: cannot start the async runtime: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run_cli(args: RunArgs, network: PodNetwork) -> ExitCode {
    let outcome = async {
        // A missing baseline stops the run before it starts anything.
        let base = args.perf.load_baseline()?;
        let target = target(&args, network).await?;
        let mut config = RunConfig {
            tags: args.tags.clone(),
            name: args.name.clone(),
            include_slow: !args.no_slow,
            timings: Timings {
                // The embedded reference's fast pace runs the CronJob clock 60x.
                schedule_minute: if matches!(args.target, TargetKind::Embedded)
                    && !args.upstream_timings
                {
                    std::time::Duration::from_secs(1)
                } else {
                    std::time::Duration::from_secs(60)
                },
                ..Timings::default().scaled(args.timing_scale)
            },
            concurrency: args.concurrency,
            junit: args.junit.clone(),
            json: args.json.clone(),
            html: args.html.clone(),
            perf_scale: args.perf.perf_scale,
            perf_json: args.perf.perf_json.clone(),
            ..RunConfig::default()
        };
        if let Some(f) = &args.features {
            config.features = f.clone();
        }
        let results = kubeproof::run(config, target).await?;
        let regressed = args.perf.after_run(&results, base.as_ref())?;
        anyhow::Ok((results, regressed))
    }
    .await;
    match outcome {
        Ok((results, regressed)) if results.failed() || regressed => ExitCode::FAILURE,
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kubeproof: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `kubeproof cluster image`: builds (or finds) the reference image and prints its name.
fn build_image() -> ExitCode {
    let outcome = async {
        let target = ContainersTarget::new(ContainersConfig::default()).await?;
        println!("{}", target.image());
        anyhow::Ok(())
    };
    block_on(outcome)
}

/// `kubeproof cluster up`: the containers target's cluster, kept up until Ctrl-C.
fn cluster_up(topology: Topology, kubeconfig: PathBuf) -> ExitCode {
    let outcome = async {
        let target = ContainersTarget::new(ContainersConfig {
            topology,
            refkube: None,
        })
        .await?;
        eprintln!(
            "kubeproof: starting {} containers from {}",
            topology.containers(),
            target.image()
        );
        let cluster = target.start_cluster(topology).await?;
        std::fs::write(&kubeconfig, &cluster.kubeconfig)?;
        println!(
            "the cluster is up: kubectl --kubeconfig {} get componentstatuses,nodes",
            kubeconfig.display()
        );
        println!(
            "its containers: docker ps --filter label=io.kubeproof.cluster={}",
            cluster.name
        );
        // The target removes every container of this run on Ctrl-C or SIGTERM, then exits.
        let _keep = cluster;
        std::future::pending::<()>().await;
        anyhow::Ok(())
    };
    block_on(outcome)
}

/// Runs a `cluster` command to its end: 0, or 2 with the error.
fn block_on(outcome: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    match tokio::runtime::Runtime::new().map(|rt| rt.block_on(outcome)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("kubeproof: {e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("kubeproof: cannot start the async runtime: {e}");
            ExitCode::from(2)
        }
    }
}
