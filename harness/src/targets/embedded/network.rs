//! Which pod network the embedded reference runs, and the process isolation it needs.
//!
//! Entry points: [`PodNetworkChoice`] (`--pod-network`), [`prepare`]. The `netns` pod
//! network creates namespaces, veths and routes, so the process first moves into a
//! network namespace of its own ([`refkube::network::isolate_process`]) and the run
//! leaves the machine's network as it was. That has to happen before the async runtime
//! starts its threads, which is why [`prepare`] is synchronous and called from `main`.

use refkube::network::PodNetwork;

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

impl std::str::FromStr for PodNetworkChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "loopback" => Ok(Self::Loopback),
            "netns" => Ok(Self::Netns),
            other => Err(format!(
                "unknown pod network {other:?} (expected auto, loopback or netns)"
            )),
        }
    }
}

/// Resolves `choice` and, for `netns`, isolates this process's network. With
/// `require_netns` (CI) an `auto` that cannot have `netns` is an error rather than a
/// quiet fall-back, so the scenarios that need it never go unchecked there.
pub fn prepare(choice: PodNetworkChoice, require_netns: bool) -> anyhow::Result<PodNetwork> {
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
            Err(e) if require_netns => Err(anyhow::anyhow!(
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
    fn loopback_needs_nothing() {
        assert_eq!(
            prepare(PodNetworkChoice::Loopback, true).unwrap(),
            PodNetwork::Loopback
        );
    }
}
