//! `refkube scheduler` and `refkube controller-manager`: their flags and the
//! configuration those make. The pace's timings come first and upstream-named flags
//! given on the command line are applied over them, so `--pace fast
//! --leader-elect-lease-duration 7s` has a 7 s lease and every other timing fast.
//! Entry points: [`SchedulerArgs::config`], [`ControllerManagerArgs::config`].

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use refkube_common::leader_election::LeaderElectionConfig;
use refkube_controllers::ControllerManagerConfig;
use refkube_controllers::config::ClusterSigning;
use refkube_scheduler::SchedulerConfig;

use super::ClientArgs;
use crate::pace::Pace;

/// Upstream's leader election flags (`--leader-elect-*`). The durations are options
/// rather than defaults so that only those given explicitly override the pace.
#[derive(Debug, Args)]
pub struct ElectionArgs {
    /// Elect a leader among replicas through a Lease before doing any work.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// How long a lease is valid without renewal [default: 15s, 2s with --pace fast].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub leader_elect_lease_duration: Option<Duration>,
    /// How long the leader retries renewing before giving up [default: 10s, 1.5s with
    /// --pace fast].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub leader_elect_renew_deadline: Option<Duration>,
    /// Time between acquire/renew attempts [default: 2s, 250ms with --pace fast].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub leader_elect_retry_period: Option<Duration>,
}

impl ElectionArgs {
    /// The election on Lease `kube-system/<lease>`, or none with `--leader-elect=false`.
    pub fn config(&self, lease: &str, pace: Pace) -> Option<LeaderElectionConfig> {
        if !self.leader_elect {
            return None;
        }
        let mut le = pace.leader_election(LeaderElectionConfig::for_component(lease));
        if let Some(d) = self.leader_elect_lease_duration {
            le.lease_duration = d;
        }
        if let Some(d) = self.leader_elect_renew_deadline {
            le.renew_deadline = d;
        }
        if let Some(d) = self.leader_elect_retry_period {
            le.retry_period = d;
        }
        Some(le)
    }
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Timings: `upstream`, or `fast` as the in-process test cluster has them
    /// (explicit timing flags still win).
    #[arg(long, value_enum, default_value_t = Pace::Upstream)]
    pub pace: Pace,
    #[command(flatten)]
    pub election: ElectionArgs,
    /// Serve pods whose `spec.schedulerName` is this. A second scheduler with another
    /// name runs beside the default one; name its Lease with `--lock-object-name`.
    #[arg(long, default_value = refkube_scheduler::DEFAULT_SCHEDULER_NAME)]
    pub scheduler_name: String,
    /// The Lease (in kube-system) replicas of this scheduler elect a leader on.
    #[arg(long, default_value = "kube-scheduler")]
    pub lock_object_name: String,
    /// A `KubeSchedulerConfiguration` file (kubescheduler.config.k8s.io/v1, YAML or
    /// JSON). Honoured: `percentageOfNodesToScore` (global, and per profile, which
    /// wins) and one profile's `schedulerName` (over `--scheduler-name`) and
    /// `plugins.multiPoint.disabled`; any other field is refused.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}

impl SchedulerArgs {
    /// The scheduler's configuration: upstream defaults, the pace, the flags, then the
    /// `--config` file.
    pub fn config(&self) -> anyhow::Result<SchedulerConfig> {
        let mut config = self
            .pace
            .scheduler(SchedulerConfig::default().scheduler_name(self.scheduler_name.clone()));
        config.leader_election = self.election.config(&self.lock_object_name, self.pace);
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let file: refkube_scheduler::config_file::KubeSchedulerConfiguration =
                serde_yaml::from_str(&text)
                    .with_context(|| format!("decoding {}", path.display()))?;
            config = file
                .apply(config)
                .with_context(|| format!("in {}", path.display()))?;
        }
        Ok(config)
    }
}

#[derive(Debug, Args)]
pub struct ControllerManagerArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Timings: `upstream`, or `fast` as the in-process test cluster has them
    /// (explicit timing flags still win).
    #[arg(long, value_enum, default_value_t = Pace::Upstream)]
    pub pace: Pace,
    #[command(flatten)]
    pub election: ElectionArgs,
    /// Controllers to run, comma-separated (`*` = all), as upstream's `--controllers`.
    #[arg(long, value_delimiter = ',')]
    pub controllers: Vec<String>,
    /// How long a node may go without a heartbeat before it is marked unhealthy
    /// [default: 50s, 3s with --pace fast].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub node_monitor_grace_period: Option<Duration>,
    /// How often node health is checked [default: 5s, 250ms with --pace fast].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub node_monitor_period: Option<Duration>,
    /// PEM CA bundle published to every namespace as ConfigMap `kube-root-ca.crt` (what
    /// pods verify the API server with) [default: the kubeconfig's CA].
    #[arg(long)]
    pub root_ca_file: Option<std::path::PathBuf>,
    /// Run each controller with its own client as service account
    /// `kube-system/<controller>` (created if missing), with tokens from TokenRequest,
    /// instead of the controller manager's own credentials.
    #[arg(long)]
    pub use_service_account_credentials: bool,
    /// PEM CA certificate the `csrsigning` controller issues certificates with
    /// (without it and the key, that controller does not run).
    #[arg(long, requires = "cluster_signing_key_file")]
    pub cluster_signing_cert_file: Option<std::path::PathBuf>,
    /// PEM private key of `--cluster-signing-cert-file` (PKCS#8).
    #[arg(long, requires = "cluster_signing_cert_file")]
    pub cluster_signing_key_file: Option<std::path::PathBuf>,
    /// The longest lifetime of an issued certificate.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "8760h")]
    pub cluster_signing_duration: Duration,
}

impl ControllerManagerArgs {
    /// The controller manager's configuration: upstream defaults, the pace, then the
    /// flags.
    pub fn config(&self) -> ControllerManagerConfig {
        let mut config = self
            .pace
            .controller_manager(ControllerManagerConfig::default())
            .leader_election(self.election.config("kube-controller-manager", self.pace));
        if let Some(d) = self.node_monitor_period {
            config = config.node_monitor_period(d);
        }
        if let Some(d) = self.node_monitor_grace_period {
            config = config.node_monitor_grace_period(d);
        }
        if !self.controllers.is_empty() {
            config = config.controllers(self.controllers.clone());
        }
        config
    }

    /// The CA of `--cluster-signing-cert-file` and `--cluster-signing-key-file`.
    pub fn cluster_signing(&self) -> anyhow::Result<Option<ClusterSigning>> {
        let (Some(cert), Some(key)) = (
            &self.cluster_signing_cert_file,
            &self.cluster_signing_key_file,
        ) else {
            return Ok(None);
        };
        let read = |p: &std::path::PathBuf| {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
        };
        Ok(Some(ClusterSigning {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
            duration: self.cluster_signing_duration,
        }))
    }

    /// The bundle `kube-root-ca.crt` publishes: `--root-ca-file`, else the CA the
    /// client trusts (upstream's fallback), else none.
    pub fn root_ca(&self, client: &kube::Config) -> anyhow::Result<Option<String>> {
        if let Some(path) = &self.root_ca_file {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("reading --root-ca-file {}", path.display()))?;
            anyhow::ensure!(
                pem.contains("-----BEGIN CERTIFICATE-----"),
                "--root-ca-file {}: no PEM certificate in it",
                path.display()
            );
            return Ok(Some(pem));
        }
        Ok(client
            .root_cert
            .as_ref()
            .map(|certs| certs.iter().map(|der| der_to_pem(der)).collect::<String>()))
    }
}

/// A DER certificate as PEM.
fn der_to_pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Scheduler {
        #[command(flatten)]
        args: SchedulerArgs,
    }

    #[derive(Debug, Parser)]
    struct ControllerManager {
        #[command(flatten)]
        args: ControllerManagerArgs,
    }

    fn scheduler(argv: &[&str]) -> SchedulerConfig {
        let argv = std::iter::once("scheduler").chain(argv.iter().copied());
        Scheduler::parse_from(argv).args.config().unwrap()
    }

    fn controller_manager(argv: &[&str]) -> ControllerManagerConfig {
        let argv = std::iter::once("controller-manager").chain(argv.iter().copied());
        ControllerManager::parse_from(argv).args.config()
    }

    #[test]
    fn the_scheduler_config_file_sets_the_percentage_of_nodes_to_score() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sched.yaml");
        std::fs::write(
            &path,
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n\
             percentageOfNodesToScore: 20\nprofiles:\n- schedulerName: default-scheduler\n  \
             percentageOfNodesToScore: 40\n",
        )
        .unwrap();
        let path = path.to_string_lossy().to_string();
        let c = scheduler(&["--config", &path]);
        assert_eq!(c.percentage_of_nodes_to_score, Some(40));
        std::fs::write(
            &path,
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n\
             percentageOfNodesToScore: 120\n",
        )
        .unwrap();
        let argv = ["scheduler", "--config", path.as_str()];
        let err = Scheduler::parse_from(argv).args.config().unwrap_err();
        assert!(
            format!("{err:#}").contains("percentageOfNodesToScore: Invalid value: 120"),
            "{err:#}"
        );
    }

    fn lease(c: &SchedulerConfig) -> Option<(Duration, Duration, Duration)> {
        c.leader_election
            .as_ref()
            .map(|le| (le.lease_duration, le.renew_deadline, le.retry_period))
    }

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn without_flags_the_timings_are_upstreams() {
        let c = scheduler(&[]);
        assert_eq!(lease(&c), Some((secs(15), secs(10), secs(2))));
        assert_eq!(c.queue, SchedulerConfig::default().queue);
        let cm = controller_manager(&[]);
        assert_eq!(cm.node_monitor_grace_period, secs(50));
        assert_eq!(cm.node_monitor_period, secs(5));
    }

    #[test]
    fn fast_pace_gives_the_in_process_clusters_timings() {
        let c = scheduler(&["--pace", "fast"]);
        assert_eq!(
            c,
            Pace::Fast.scheduler(SchedulerConfig::default()),
            "the same configuration as `ComponentsConfig::cluster` with Pace::Fast"
        );
        let cm = controller_manager(&["--pace", "fast"]);
        assert_eq!(
            format!("{cm:?}"),
            format!(
                "{:?}",
                Pace::Fast.controller_manager(ControllerManagerConfig::default())
            )
        );
    }

    #[test]
    fn explicit_flags_win_over_the_pace_and_leave_the_rest_fast() {
        let c = scheduler(&["--pace", "fast", "--leader-elect-lease-duration", "7s"]);
        assert_eq!(
            lease(&c),
            Some((
                secs(7),
                Duration::from_millis(1500),
                Duration::from_millis(250)
            ))
        );
        assert_eq!(c.queue.initial_backoff, Duration::from_millis(50));
        let cm = controller_manager(&["--node-monitor-grace-period", "20s", "--pace", "fast"]);
        assert_eq!(cm.node_monitor_grace_period, secs(20));
        assert_eq!(cm.node_monitor_period, Duration::from_millis(250));
        // Given explicitly with the upstream value, it still wins over the fast pace.
        let cm = controller_manager(&["--pace", "fast", "--node-monitor-period", "5s"]);
        assert_eq!(cm.node_monitor_period, secs(5));
    }

    #[test]
    fn the_root_ca_is_the_file_else_the_clients_ca() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.crt");
        std::fs::write(
            &file,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let argv = ["cm", "--root-ca-file", file.to_str().unwrap()];
        let args = ControllerManager::parse_from(argv).args;
        let client = kube::Config::new("https://x".parse().unwrap());
        assert!(args.root_ca(&client).unwrap().unwrap().contains("AA=="));
        let args = ControllerManager::parse_from(["cm"]).args;
        assert_eq!(args.root_ca(&client).unwrap(), None);
        let mut with_ca = client;
        with_ca.root_cert = Some(vec![vec![1, 2, 3]]);
        assert_eq!(
            args.root_ca(&with_ca).unwrap().as_deref(),
            Some("-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n")
        );
    }

    #[test]
    fn a_named_scheduler_elects_on_its_own_lease_or_not_at_all() {
        let c = scheduler(&["--scheduler-name", "my", "--lock-object-name", "my-lock"]);
        assert_eq!(c.scheduler_name, "my");
        assert_eq!(
            c.leader_election.map(|le| (le.namespace, le.name)),
            Some(("kube-system".to_string(), "my-lock".to_string()))
        );
        assert!(
            scheduler(&["--leader-elect", "false"])
                .leader_election
                .is_none()
        );
        let cm = controller_manager(&["--leader-elect=false", "--controllers", "job,node"]);
        assert!(cm.leader_election.is_none());
        assert!(cm.is_enabled("job") && !cm.is_enabled("deployment"));
    }
}
