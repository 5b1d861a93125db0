//! `ProxyConfig`: every knob of the reference kube-proxy, with upstream defaults
//! (`pkg/proxy/apis/config/v1alpha1/defaults.go`). Entry point: [`ProxyConfig::default`].

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

/// Errors in a [`ProxyConfig`], reported before anything starts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The masquerade bit must name a bit of a 32-bit mark (upstream validates 0..=31).
    #[error("masqueradeBit must be between 0 and 31 inclusive, got {0}")]
    MasqueradeBit(u32),
    /// `minSyncPeriod` larger than `syncPeriod` makes no sense (upstream rejects it too).
    #[error("minSyncPeriod ({min:?}) must be less than or equal to syncPeriod ({max:?})")]
    SyncPeriods {
        /// The configured minimum.
        min: Duration,
        /// The configured period.
        max: Duration,
    },
    /// The sync period must be positive.
    #[error("syncPeriod must be greater than 0")]
    ZeroSyncPeriod,
    /// The cluster CIDR used by the local-traffic detector is of the other IP family.
    #[error("clusterCIDR {cidr} is not an {family} CIDR")]
    ClusterCidrFamily {
        /// The offending CIDR.
        cidr: IpNet,
        /// The proxier's family.
        family: IpFamily,
    },
    /// An unknown `--mode` string.
    #[error("unknown proxy mode {0:?}: expected \"iptables\" or \"userspace\"")]
    UnknownMode(String),
}

/// How Services are implemented on the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyMode {
    /// Only netfilter rules (`iptables-restore`); the upstream default.
    #[default]
    Iptables,
    /// A real proxy process in the data path, listening on each `ClusterIP:port`.
    Userspace,
}

impl std::str::FromStr for ProxyMode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "iptables" => Ok(Self::Iptables),
            "userspace" => Ok(Self::Userspace),
            other => Err(ConfigError::UnknownMode(other.to_string())),
        }
    }
}

impl std::fmt::Display for ProxyMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Iptables => "iptables",
            Self::Userspace => "userspace",
        })
    }
}

/// The IP family one proxier handles (upstream runs one proxier per family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub enum IpFamily {
    /// IPv4 (`iptables-restore`).
    #[default]
    V4,
    /// IPv6 (`ip6tables-restore`).
    V6,
}

impl IpFamily {
    /// Whether `ip` belongs to this family.
    pub fn contains(self, ip: &IpAddr) -> bool {
        matches!(
            (self, ip),
            (Self::V4, IpAddr::V4(_)) | (Self::V6, IpAddr::V6(_))
        )
    }
}

impl std::fmt::Display for IpFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// Configuration of one kube-proxy instance (one node, one IP family).
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// The node this proxy runs on; decides which endpoints are "local".
    pub node_name: String,
    /// The node's primary IP (used by loadBalancerSourceRanges to let the node reach its own VIP).
    pub node_ip: Option<IpAddr>,
    /// iptables (default) or userspace.
    pub mode: ProxyMode,
    /// The pod CIDR of the cluster: the "local traffic detector". `None` disables the
    /// `! -s <cidr> -j KUBE-MARK-MASQ` rule, as upstream does without a detector.
    pub cluster_cidr: Option<IpNet>,
    /// Bit of the packet mark used to flag traffic for SNAT (upstream default 14 → 0x4000).
    pub masquerade_bit: u32,
    /// SNAT all traffic to cluster IPs (upstream `--masquerade-all`, default false).
    pub masquerade_all: bool,
    /// Whether NodePorts answer on 127.0.0.0/8 (upstream `--iptables-localhost-nodeports`,
    /// default true); also adds the `KUBE-FIREWALL` anti-martian rule.
    pub localhost_node_ports: bool,
    /// Whether `MASQUERADE --random-fully` is used (upstream detects kernel support).
    pub masquerade_random_fully: bool,
    /// Whether `nf_conntrack_tcp_be_liberal` is set; when false the INVALID-drop rule is added.
    pub conntrack_tcp_be_liberal: bool,
    /// Longest time between two full syncs (upstream 30 s).
    pub sync_period: Duration,
    /// Shortest time between two syncs, to batch bursts of changes (upstream 1 s).
    pub min_sync_period: Duration,
    /// Render rules but never run `iptables-restore`; print them instead.
    pub dry_run: bool,
    /// The family this proxier serves.
    pub ip_family: IpFamily,
    /// Userspace mode: the address listeners bind to. `None` binds each Service's own
    /// ClusterIP (in `refkube up` the service CIDR is a loopback range, so no privileges
    /// are needed); `Some(ip)` binds `ip:<service port>` instead.
    pub bind_address: Option<IpAddr>,
    /// Userspace mode: how long a dial to one endpoint may take before the next is tried.
    pub endpoint_dial_timeout: Duration,
    /// Userspace mode: idle time after which a UDP client "session" is forgotten
    /// (upstream `--udp-timeout`, default 250 ms).
    pub udp_idle_timeout: Duration,
    /// The `iptables-restore` binary (or `ip6tables-restore`); tests point it at a fake.
    pub iptables_restore_path: String,
    /// The `iptables` binary used to install jump rules and `iptables-save` for stale chains.
    pub iptables_path: String,
    /// The `iptables-save` binary.
    pub iptables_save_path: String,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            node_name: String::new(),
            node_ip: None,
            mode: ProxyMode::Iptables,
            cluster_cidr: None,
            masquerade_bit: 14,
            masquerade_all: false,
            localhost_node_ports: true,
            masquerade_random_fully: false,
            conntrack_tcp_be_liberal: false,
            sync_period: Duration::from_secs(30),
            min_sync_period: Duration::from_secs(1),
            dry_run: false,
            ip_family: IpFamily::V4,
            bind_address: None,
            endpoint_dial_timeout: Duration::from_secs(1),
            udp_idle_timeout: Duration::from_millis(250),
            iptables_restore_path: "iptables-restore".into(),
            iptables_path: "iptables".into(),
            iptables_save_path: "iptables-save".into(),
        }
    }
}

impl ProxyConfig {
    /// A default configuration for `node_name`.
    pub fn new(node_name: impl Into<String>) -> Self {
        Self {
            node_name: node_name.into(),
            ..Self::default()
        }
    }
    /// Set the node name.
    pub fn node_name(mut self, name: impl Into<String>) -> Self {
        self.node_name = name.into();
        self
    }
    /// Set the node IP.
    pub fn node_ip(mut self, ip: IpAddr) -> Self {
        self.node_ip = Some(ip);
        self
    }
    /// Set the mode.
    pub fn mode(mut self, mode: ProxyMode) -> Self {
        self.mode = mode;
        self
    }
    /// Set the cluster (pod) CIDR used by the local-traffic detector.
    pub fn cluster_cidr(mut self, cidr: IpNet) -> Self {
        self.cluster_cidr = Some(cidr);
        self
    }
    /// Set the masquerade bit.
    pub fn masquerade_bit(mut self, bit: u32) -> Self {
        self.masquerade_bit = bit;
        self
    }
    /// Masquerade all service traffic.
    pub fn masquerade_all(mut self, on: bool) -> Self {
        self.masquerade_all = on;
        self
    }
    /// Allow NodePorts on localhost.
    pub fn localhost_node_ports(mut self, on: bool) -> Self {
        self.localhost_node_ports = on;
        self
    }
    /// Set the full-sync period.
    pub fn sync_period(mut self, period: Duration) -> Self {
        self.sync_period = period;
        self
    }
    /// Set the minimum time between syncs.
    pub fn min_sync_period(mut self, period: Duration) -> Self {
        self.min_sync_period = period;
        self
    }
    /// Render only (iptables mode).
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }
    /// Set the IP family, switching the iptables binaries to the matching ones.
    pub fn ip_family(mut self, family: IpFamily) -> Self {
        self.ip_family = family;
        let prefix = match family {
            IpFamily::V4 => "iptables",
            IpFamily::V6 => "ip6tables",
        };
        self.iptables_restore_path = format!("{prefix}-restore");
        self.iptables_save_path = format!("{prefix}-save");
        self.iptables_path = prefix.to_string();
        self
    }
    /// Set the userspace bind address.
    pub fn bind_address(mut self, ip: IpAddr) -> Self {
        self.bind_address = Some(ip);
        self
    }
    /// Set the per-endpoint dial timeout of the userspace proxy.
    pub fn endpoint_dial_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint_dial_timeout = timeout;
        self
    }
    /// Set the UDP idle timeout of the userspace proxy.
    pub fn udp_idle_timeout(mut self, timeout: Duration) -> Self {
        self.udp_idle_timeout = timeout;
        self
    }
    /// Use other iptables binaries (`iptables`, `iptables-save`, `iptables-restore`).
    pub fn iptables_binaries(
        mut self,
        iptables: impl Into<String>,
        save: impl Into<String>,
        restore: impl Into<String>,
    ) -> Self {
        self.iptables_path = iptables.into();
        self.iptables_save_path = save.into();
        self.iptables_restore_path = restore.into();
        self
    }

    /// The masquerade mark, `1 << masquerade_bit`.
    ///
    /// Upstream formats it with Go's `%#08x` (which gives `0x00004000`), but its tests and
    /// `iptables-save` show `0x4000`; iptables parses both to the same number, so we
    /// print the short form to match the upstream expectations byte for byte.
    pub fn masquerade_mark(&self) -> String {
        format!("{:#x}", 1u32 << self.masquerade_bit.min(31))
    }

    /// Check the configuration the way upstream's validation does.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.masquerade_bit > 31 {
            return Err(ConfigError::MasqueradeBit(self.masquerade_bit));
        }
        if self.sync_period.is_zero() {
            return Err(ConfigError::ZeroSyncPeriod);
        }
        if self.min_sync_period > self.sync_period {
            return Err(ConfigError::SyncPeriods {
                min: self.min_sync_period,
                max: self.sync_period,
            });
        }
        if let Some(cidr) = self.cluster_cidr
            && !self.ip_family.contains(&cidr.addr())
        {
            return Err(ConfigError::ClusterCidrFamily {
                cidr,
                family: self.ip_family,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_upstream() {
        let c = ProxyConfig::default();
        assert_eq!(c.mode, ProxyMode::Iptables);
        assert_eq!(c.masquerade_bit, 14);
        assert_eq!(c.masquerade_mark(), "0x4000");
        assert_eq!(c.sync_period, Duration::from_secs(30));
        assert_eq!(c.min_sync_period, Duration::from_secs(1));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn a_masquerade_bit_above_31_is_rejected() {
        let err = ProxyConfig::default().masquerade_bit(32).validate();
        assert_eq!(err, Err(ConfigError::MasqueradeBit(32)));
    }

    #[test]
    fn min_sync_period_above_sync_period_is_rejected() {
        let c = ProxyConfig::default()
            .sync_period(Duration::from_secs(1))
            .min_sync_period(Duration::from_secs(2));
        assert!(matches!(c.validate(), Err(ConfigError::SyncPeriods { .. })));
    }

    #[test]
    fn a_cluster_cidr_of_the_wrong_family_is_rejected() {
        let c = ProxyConfig::default().cluster_cidr("fd00::/64".parse().unwrap());
        assert!(matches!(
            c.validate(),
            Err(ConfigError::ClusterCidrFamily { .. })
        ));
    }

    #[test]
    fn modes_parse_from_their_flag_names() {
        assert_eq!("userspace".parse::<ProxyMode>(), Ok(ProxyMode::Userspace));
        assert_eq!("iptables".parse::<ProxyMode>(), Ok(ProxyMode::Iptables));
        assert!("ipvs".parse::<ProxyMode>().is_err());
    }

    #[test]
    fn the_ipv6_family_switches_to_ip6tables_binaries() {
        let c = ProxyConfig::default().ip_family(IpFamily::V6);
        assert_eq!(c.iptables_restore_path, "ip6tables-restore");
        assert_eq!(c.iptables_save_path, "ip6tables-save");
    }
}
