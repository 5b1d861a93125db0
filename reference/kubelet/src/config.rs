//! Kubelet configuration: [`KubeletConfig`] with upstream defaults and builder methods.
//!
//! Every timing is configurable so that tests can run the real logic with millisecond
//! timings; the defaults are upstream's (`pkg/kubelet/apis/config/v1beta1/defaults.go`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;

use crate::network::PodNetwork;

/// Which container runtime backs the kubelet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeKind {
    /// Containers are real child processes on this machine.
    #[default]
    Process,
    /// No processes: container states are simulated (for many pods on many nodes).
    Sim,
}

impl std::str::FromStr for RuntimeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "process" => Ok(RuntimeKind::Process),
            "sim" => Ok(RuntimeKind::Sim),
            other => Err(format!(
                "unknown runtime {other:?} (expected process or sim)"
            )),
        }
    }
}

/// What the process runtime does with images it has no built-in workload for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImagePolicy {
    /// The pull fails: `ErrImagePull`, then `ImagePullBackOff` (like a missing image).
    #[default]
    Strict,
    /// The container runs as a pause container (sleeps until stopped), so manifests
    /// with arbitrary images (`nginx`, ...) still get running pods.
    PauseUnknown,
}

impl std::str::FromStr for ImagePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(ImagePolicy::Strict),
            "pause-unknown" => Ok(ImagePolicy::PauseUnknown),
            other => Err(format!(
                "unknown image policy {other:?} (expected strict or pause-unknown)"
            )),
        }
    }
}

/// Node capacity as reported in `status.capacity` (and, here, `status.allocatable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// CPU quantity, e.g. `"4"`.
    pub cpu: String,
    /// Memory quantity, e.g. `"8Gi"`.
    pub memory: String,
    /// Maximum pods (upstream `--max-pods` 110).
    pub pods: u32,
    /// Ephemeral storage quantity.
    pub ephemeral_storage: String,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            cpu: "4".into(),
            memory: "8Gi".into(),
            pods: 110,
            ephemeral_storage: "100Gi".into(),
        }
    }
}

/// Timings of the kubelet's loops and back-offs.
#[derive(Debug, Clone, PartialEq)]
pub struct Timings {
    /// How often the node status is computed, and posted if it changed (upstream
    /// `nodeStatusUpdateFrequency` 10 s).
    pub node_status_update: Duration,
    /// How often an unchanged node status is posted anyway (upstream
    /// `nodeStatusReportFrequency` 5 min; the Lease is the heartbeat in between).
    pub node_status_report: Duration,
    /// The node Lease's `leaseDurationSeconds` (upstream `nodeLeaseDurationSeconds` 40).
    pub node_lease_duration: Duration,
    /// How often the Lease is renewed (upstream: 25% of the lease duration).
    pub node_lease_renew: Duration,
    /// Crash-loop and image-pull back-off start (upstream 10 s).
    pub backoff_base: Duration,
    /// Back-off ceiling (upstream `MaxContainerBackOff` 300 s).
    pub backoff_max: Duration,
    /// How long one "second" of a pod spec lasts (probe periods, delays, timeouts, grace
    /// periods). 1 s upstream; tests shrink it so specs stay valid while time runs fast.
    pub spec_second: Duration,
    /// Pod worker resync: how often a worker re-checks its pod with nothing else happening
    /// (upstream `syncFrequency` is 1 min). Container exits, probe flips, pod updates and
    /// back-off expiry wake a worker at once, so this is only the safety net and the
    /// retry of a failed status write.
    pub pod_resync: Duration,
    /// How often the static pod directory is re-read (upstream `fileCheckFrequency` 20 s).
    pub static_pod_poll: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            node_status_update: Duration::from_secs(10),
            node_status_report: Duration::from_secs(300),
            node_lease_duration: Duration::from_secs(40),
            node_lease_renew: Duration::from_secs(10),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            spec_second: Duration::from_secs(1),
            pod_resync: Duration::from_secs(10),
            static_pod_poll: Duration::from_secs(20),
        }
    }
}

impl Timings {
    /// Converts a pod-spec number of seconds into a wall-clock duration.
    pub fn spec_seconds(&self, seconds: i64) -> Duration {
        self.spec_second
            .saturating_mul(u32::try_from(seconds.max(0)).unwrap_or(u32::MAX))
    }
}

/// The kubelet's configuration.
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    /// The Node's name (`--hostname-override`).
    pub node_name: String,
    /// Extra node labels (the well-known hostname/os/arch labels are always added).
    pub labels: BTreeMap<String, String>,
    /// Taints registered with the Node (`--register-with-taints`).
    pub taints: Vec<Taint>,
    /// Node capacity.
    pub capacity: Capacity,
    /// The node's pod CIDR. `None`: use `spec.podCIDR` assigned by the control plane.
    pub pod_cidr: Option<ipnet::IpNet>,
    /// The node's InternalIP; the kubelet HTTP server binds it.
    pub node_ip: IpAddr,
    /// Kubelet HTTP port (logs); 0 picks a free port, reported in
    /// `status.daemonEndpoints.kubeletEndpoint.Port`.
    pub port: u16,
    /// Which runtime runs containers.
    pub runtime: RuntimeKind,
    /// How the process runtime networks pods: loopback addresses on the machine's own
    /// stack, or a network namespace per pod (root only).
    pub pod_network: PodNetwork,
    /// The command that runs agnhost, e.g. `["/usr/bin/refkube", "agnhost"]` or
    /// `["/path/to/agnhost"]`. Empty: `<this executable> agnhost`.
    pub agnhost_command: Vec<PathBuf>,
    /// Images without a built-in workload: fail the pull, or run as pause.
    pub image_policy: ImagePolicy,
    /// Directory of static pod manifests (`staticPodPath`); `None` disables static pods.
    pub static_pod_dir: Option<PathBuf>,
    /// Timings.
    pub timings: Timings,
    /// Lines kept per container instance in the log ring.
    pub log_lines: usize,
    /// Reported `nodeInfo.kubeletVersion`.
    pub kubelet_version: String,
    /// Where pods' volumes are written (`--root-dir`; upstream `/var/lib/kubelet`):
    /// `<root_dir>/pods/<uid>/volumes/...`. Default `$TMPDIR/refkube-kubelet`, which
    /// any user can write; kubelets of one machine may share it.
    pub root_dir: PathBuf,
}

impl Default for KubeletConfig {
    fn default() -> Self {
        KubeletConfig::for_node(1)
    }
}

impl KubeletConfig {
    /// The configuration of node number `n` (1-based): name `node-<n>`, InternalIP
    /// `127.0.1.<n>`, pod CIDR `127.100.<n>.0/24` (all loopback, so pods bind without
    /// privileges). `n` above 254 wraps into the next octet.
    pub fn for_node(n: u16) -> Self {
        let (hi, lo) = ((n / 255) as u8, (n % 255) as u8);
        let node_ip = Ipv4Addr::new(127, 0, 1 + hi, lo);
        let cidr = ipnet::Ipv4Net::new(Ipv4Addr::new(127, 100 + hi, lo, 0), 24)
            .map(ipnet::IpNet::V4)
            .ok();
        KubeletConfig {
            node_name: format!("node-{n}"),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            capacity: Capacity::default(),
            pod_cidr: cidr,
            node_ip: IpAddr::V4(node_ip),
            port: 0,
            runtime: RuntimeKind::Process,
            pod_network: PodNetwork::Loopback,
            agnhost_command: Vec::new(),
            image_policy: ImagePolicy::Strict,
            static_pod_dir: None,
            timings: Timings::default(),
            log_lines: 10_000,
            kubelet_version: "v1.33.0-refkube".into(),
            root_dir: std::env::temp_dir().join("refkube-kubelet"),
        }
    }

    /// Sets the node name.
    pub fn node_name(mut self, name: impl Into<String>) -> Self {
        self.node_name = name.into();
        self
    }
    /// Adds a node label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
    /// Adds a taint registered with the node.
    pub fn taint(mut self, taint: Taint) -> Self {
        self.taints.push(taint);
        self
    }
    /// Sets the capacity.
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = capacity;
        self
    }
    /// Sets (or clears, to use the control plane's) the pod CIDR.
    pub fn pod_cidr(mut self, cidr: Option<ipnet::IpNet>) -> Self {
        self.pod_cidr = cidr;
        self
    }
    /// Sets the node IP.
    pub fn node_ip(mut self, ip: IpAddr) -> Self {
        self.node_ip = ip;
        self
    }
    /// Sets the kubelet HTTP port (0 = pick).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Chooses the runtime.
    pub fn runtime(mut self, runtime: RuntimeKind) -> Self {
        self.runtime = runtime;
        self
    }
    /// Chooses the pod network.
    pub fn pod_network(mut self, network: PodNetwork) -> Self {
        self.pod_network = network;
        self
    }
    /// Sets the agnhost command prefix.
    pub fn agnhost_command(mut self, command: Vec<PathBuf>) -> Self {
        self.agnhost_command = command;
        self
    }
    /// Sets the image policy.
    pub fn image_policy(mut self, policy: ImagePolicy) -> Self {
        self.image_policy = policy;
        self
    }
    /// Enables static pods from `dir`.
    pub fn static_pod_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.static_pod_dir = Some(dir.into());
        self
    }
    /// Replaces the timings.
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }
    /// Sets where pods' volumes are written.
    pub fn root_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root_dir = dir.into();
        self
    }

    /// The agnhost command: the configured one, else `$REFKUBE_AGNHOST`, else found
    /// from the current executable by [`agnhost_command_for`].
    pub fn resolved_agnhost_command(&self) -> Vec<PathBuf> {
        if !self.agnhost_command.is_empty() {
            return self.agnhost_command.clone();
        }
        if let Some(path) = std::env::var_os(AGNHOST_ENV).filter(|p| !p.is_empty()) {
            return vec![PathBuf::from(path)];
        }
        match std::env::current_exe() {
            Ok(exe) => agnhost_command_for(&exe, |p| p.is_file()),
            Err(_) => vec![PathBuf::from("agnhost")],
        }
    }
}

/// Environment variable naming the agnhost executable.
pub const AGNHOST_ENV: &str = "REFKUBE_AGNHOST";

/// How to run agnhost from `exe`: the `refkube` binary runs it as `refkube agnhost`; any
/// other program (a test binary in `target/debug/deps`, say) uses an `agnhost` or
/// `refkube` binary beside it or one directory up, else assumes `exe agnhost`.
pub fn agnhost_command_for(
    exe: &std::path::Path,
    exists: impl Fn(&std::path::Path) -> bool,
) -> Vec<PathBuf> {
    let name = exe.file_stem().and_then(|n| n.to_str()).unwrap_or_default();
    if name == "refkube" || name == "agnhost" {
        return if name == "agnhost" {
            vec![exe.to_path_buf()]
        } else {
            vec![exe.to_path_buf(), "agnhost".into()]
        };
    }
    let dirs: Vec<&std::path::Path> = exe
        .parent()
        .into_iter()
        .flat_map(|d| [Some(d), d.parent()])
        .flatten()
        .collect();
    for dir in &dirs {
        let agnhost = dir.join("agnhost");
        if exists(&agnhost) {
            return vec![agnhost];
        }
    }
    for dir in &dirs {
        let refkube = dir.join("refkube");
        if exists(&refkube) {
            return vec![refkube, "agnhost".into()];
        }
    }
    vec![exe.to_path_buf(), "agnhost".into()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_n_gets_loopback_addresses_derived_from_n() {
        let c = KubeletConfig::for_node(3);
        assert_eq!(c.node_name, "node-3");
        assert_eq!(c.node_ip.to_string(), "127.0.1.3");
        assert_eq!(
            c.pod_cidr.map(|c| c.to_string()).as_deref(),
            Some("127.100.3.0/24")
        );
    }

    #[test]
    fn lease_renews_at_a_quarter_of_its_duration_by_default() {
        let t = Timings::default();
        assert_eq!(t.node_lease_renew * 4, t.node_lease_duration);
    }

    #[test]
    fn agnhost_is_found_beside_a_test_binary_or_is_the_refkube_subcommand() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            agnhost_command_for(&p("/usr/bin/refkube"), |_| false),
            [p("/usr/bin/refkube"), p("agnhost")]
        );
        let test_bin = p("/t/debug/deps/conformance-1234");
        assert_eq!(
            agnhost_command_for(&test_bin, |q| q == p("/t/debug/agnhost")),
            [p("/t/debug/agnhost")]
        );
        assert_eq!(
            agnhost_command_for(&test_bin, |q| q == p("/t/debug/refkube")),
            [p("/t/debug/refkube"), p("agnhost")]
        );
    }

    #[test]
    fn spec_seconds_scale_with_the_configured_second() {
        let t = Timings {
            spec_second: Duration::from_millis(10),
            ..Timings::default()
        };
        assert_eq!(t.spec_seconds(3), Duration::from_millis(30));
        assert_eq!(t.spec_seconds(-1), Duration::ZERO);
    }
}
