//! Chain names derived from service port names, exactly as upstream computes them
//! (`portProtoHash` / `servicePortEndpointChainName` in `pkg/proxy/iptables/proxier.go`):
//! SHA-256, standard base32, first 16 characters.

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

/// Cluster-policy chain prefix.
pub const SVC_PREFIX: &str = "KUBE-SVC-";
/// Local-policy chain prefix.
pub const SVL_PREFIX: &str = "KUBE-SVL-";
/// External-destinations chain prefix.
pub const EXT_PREFIX: &str = "KUBE-EXT-";
/// loadBalancerSourceRanges firewall chain prefix.
pub const FW_PREFIX: &str = "KUBE-FW-";
/// Per-endpoint chain prefix.
pub const SEP_PREFIX: &str = "KUBE-SEP-";

fn hash16(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let mut encoded = BASE32.encode(&digest);
    encoded.truncate(16);
    encoded
}

/// `portProtoHash(spn, proto)`: `spn` is `ServicePortName.String()`, `proto` lower-case.
pub fn port_proto_hash(spn: &str, protocol: &str) -> String {
    hash16(&format!("{spn}{protocol}"))
}

/// `KUBE-SVC-<hash>`.
pub fn svc_chain(spn: &str, protocol: &str) -> String {
    format!("{SVC_PREFIX}{}", port_proto_hash(spn, protocol))
}

/// `KUBE-SVL-<hash>`.
pub fn svl_chain(spn: &str, protocol: &str) -> String {
    format!("{SVL_PREFIX}{}", port_proto_hash(spn, protocol))
}

/// `KUBE-EXT-<hash>`.
pub fn ext_chain(spn: &str, protocol: &str) -> String {
    format!("{EXT_PREFIX}{}", port_proto_hash(spn, protocol))
}

/// `KUBE-FW-<hash>`.
pub fn fw_chain(spn: &str, protocol: &str) -> String {
    format!("{FW_PREFIX}{}", port_proto_hash(spn, protocol))
}

/// `KUBE-SEP-<hash of spn + proto + "ip:port">`.
pub fn sep_chain(spn: &str, protocol: &str, endpoint: &str) -> String {
    format!(
        "{SEP_PREFIX}{}",
        hash16(&format!("{spn}{protocol}{endpoint}"))
    )
}

/// Whether a chain is one of the per-service chains kube-proxy owns (and may delete).
pub fn is_service_chain(name: &str) -> bool {
    [SVC_PREFIX, SVL_PREFIX, EXT_PREFIX, FW_PREFIX, SEP_PREFIX]
        .iter()
        .any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are the chain names in upstream's proxier_test.go expectations.
    #[test]
    fn the_service_chain_of_an_unnamed_tcp_port_matches_upstream() {
        assert_eq!(svc_chain("ns1/svc1", "tcp"), "KUBE-SVC-AQI2S6QIMU7PVVRP");
        assert_eq!(svl_chain("ns1/svc1", "tcp"), "KUBE-SVL-AQI2S6QIMU7PVVRP");
        assert_eq!(ext_chain("ns1/svc1", "tcp"), "KUBE-EXT-AQI2S6QIMU7PVVRP");
    }

    #[test]
    fn endpoint_chains_match_upstream() {
        assert_eq!(
            sep_chain("ns1/svc1", "tcp", "10.0.1.1:80"),
            "KUBE-SEP-3JOIVZTXZZRGORX4"
        );
        assert_eq!(
            sep_chain("ns1/svc1", "tcp", "10.0.1.2:80"),
            "KUBE-SEP-IO5XOSKPAXIFQXAJ"
        );
        assert_eq!(
            sep_chain("ns1/svc1", "tcp", "10.0.1.3:80"),
            "KUBE-SEP-XGJFVO3L2O5SRFNT"
        );
        assert_eq!(
            sep_chain("ns1/svc1", "tcp", "10.0.1.5:80"),
            "KUBE-SEP-EQCHZ7S2PJ72OHAY"
        );
    }

    #[test]
    fn named_ports_hash_with_their_name() {
        assert_eq!(
            svc_chain("ns1/svc1:p80", "tcp"),
            "KUBE-SVC-XPGD46QRK7WJZT7O"
        );
        assert_eq!(
            sep_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80"),
            "KUBE-SEP-SXIVWICOYRO3J4NJ"
        );
        assert_eq!(
            svc_chain("ns2/svc2:p80", "tcp"),
            "KUBE-SVC-GNZBNJ2PO5MGZ6GT"
        );
    }

    #[test]
    fn the_protocol_changes_the_hash() {
        assert_ne!(svc_chain("ns1/svc1", "tcp"), svc_chain("ns1/svc1", "udp"));
    }

    #[test]
    fn only_per_service_chains_count_as_ours_to_delete() {
        assert!(is_service_chain("KUBE-SEP-3JOIVZTXZZRGORX4"));
        assert!(!is_service_chain("KUBE-SERVICES"));
        assert!(!is_service_chain("DOCKER"));
    }
}
