//! Which pod network the embedded reference runs, and the process isolation it needs.
//!
//! Entry points: [`PodNetworkChoice`] (`--pod-network`), [`prepare`]. The `netns` pod
//! network creates namespaces, veths and routes, so the process first moves into a
//! network namespace of its own ([`refkube::network::isolate_process`]) and the run
//! leaves the machine's network as it was. That has to happen before the async runtime
//! starts its threads, which is why [`prepare`] is synchronous and called from `main`.

use refkube::network::PodNetwork;
pub use refkube::network::installed;

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodNetworkChoice {
    /// `netns` where this process may create namespaces (root), `loopback` elsewhere.
    #[default]
    Auto,
    /// Always loopback addresses on the machine's stack.
    Loopback,
    /// Always a network namespace per pod; an error where that is impossible.
    Netns,
}

/// A `--pod-network` value that is none of the choices.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown pod network {0:?} (expected auto, loopback or netns)")]
pub struct UnknownPodNetwork(pub String);

impl std::str::FromStr for PodNetworkChoice {
    type Err = UnknownPodNetwork;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "loopback" => Ok(Self::Loopback),
            "netns" => Ok(Self::Netns),
            other => Err(UnknownPodNetwork(other.to_string())),
        }
    }
}

/// The machine's programs some scenarios need on the embedded reference beyond what the
/// pod network itself checks, with their Debian packages: kube-proxy's iptables mode
/// (`@proxy-modes`) and busybox's `ping` (`@needs-ping`).
pub const SCENARIO_TOOLS: &[(&str, &str)] = &[
    ("iptables-restore", "iptables"),
    ("ping", "iputils-ping"),
    ("kubectl", "kubernetes-client"),
];

/// Resolves `choice` and, for `netns`, isolates this process's network. With `require`
/// (CI) everything the suite can use must be here: an `auto` that cannot have `netns`,
/// or a missing [`SCENARIO_TOOLS`] program, is an error rather than a skipped scenario.
pub fn prepare(choice: PodNetworkChoice, require: bool) -> anyhow::Result<PodNetwork> {
    if require {
        let missing: Vec<String> = SCENARIO_TOOLS
            .iter()
            .filter(|(tool, _)| !installed(tool))
            .map(|(tool, package)| format!("{tool} ({package})"))
            .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "the suite needs these programs here (CI is set): {}",
                missing.join(", ")
            );
        }
    }
    match choice {
        PodNetworkChoice::Loopback => Ok(PodNetwork::Loopback),
        PodNetworkChoice::Netns => {
            refkube::network::isolate_process()?;
            Ok(PodNetwork::Netns)
        }
        PodNetworkChoice::Auto => match refkube::network::preflight() {
            Ok(()) => {
                refkube::network::isolate_process()?;
                Ok(PodNetwork::Netns)
            }
            Err(e) if require => Err(anyhow::anyhow!(
                "the netns pod network is required here (CI is set) but unavailable: {e}"
            )),
            Err(e) => {
                eprintln!(
                    "kubeproof: using the loopback pod network ({e}); scenarios tagged @shared-network-namespace will be skipped"
                );
                Ok(PodNetwork::Loopback)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_from_their_flag_names() {
        assert_eq!("auto".parse(), Ok(PodNetworkChoice::Auto));
        assert_eq!("netns".parse(), Ok(PodNetworkChoice::Netns));
        assert_eq!("loopback".parse(), Ok(PodNetworkChoice::Loopback));
        assert!("bridge".parse::<PodNetworkChoice>().is_err());
    }

    #[test]
    fn loopback_needs_nothing_but_required_tools_must_be_there() {
        let all_here = SCENARIO_TOOLS.iter().all(|(tool, _)| installed(tool));
        let prepared = prepare(PodNetworkChoice::Loopback, true);
        assert_eq!(prepared.is_ok(), all_here, "{prepared:?}");
        assert_eq!(
            prepare(PodNetworkChoice::Loopback, false).unwrap(),
            PodNetwork::Loopback
        );
    }

    #[test]
    fn only_executables_on_path_count_as_installed() {
        assert!(installed("sh"));
        assert!(!installed("no-such-program-kubeproof"));
    }
}
