//! What the lease endpoint reconciler writes, decided without I/O: each API server's
//! lease under `/registry/masterleases/`, which leases are live, and the
//! `default/kubernetes` Endpoints and EndpointSlice that list the live servers
//! (upstream's `--endpoint-reconciler-type=lease`, `pkg/controlplane/reconcilers/lease.go`).
//!
//! Entry points: [`lease_key`], [`lease_value`], [`sort_leases`], [`endpoints`],
//! [`slice`]. The driver is `crate::lease_reconciler`.
//!
//! Our store has no TTL, so a lease carries its expiry time ([`EXPIRES_ANNOTATION`]) and
//! a reader treats an expired lease as gone; that compares wall clocks of different
//! servers, so their skew must stay well below the TTL (upstream's etcd TTL does not).
//! Upstream keys a lease by IP alone, assuming every server uses the same port; here
//! the key is `IP:port`, so several servers sharing one address (on loopback, each on
//! its own port) each keep their own lease, and servers on other ports get their own
//! Endpoints subset. With one port, as in upstream clusters, it is upstream's layout.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use chrono::{DateTime, SecondsFormat, Utc};
use refkube_store::Revision;
use serde_json::{Value, json};

/// Where the leases live (upstream's base key `/masterleases/` under `/registry`).
pub const LEASES_PREFIX: &str = "/registry/masterleases/";

/// The annotation that holds a lease's expiry time (RFC 3339).
pub const EXPIRES_ANNOTATION: &str = "refkube.io/lease-expires";

/// The label that keeps the EndpointSlice mirroring controller off these Endpoints.
const SKIP_MIRROR: &str = "endpointslice.kubernetes.io/skip-mirror";

pub fn lease_key(addr: SocketAddr) -> String {
    format!("{LEASES_PREFIX}{addr}")
}

/// A lease, stored as upstream stores one: an Endpoints object with the server's
/// address, its `generation` bumped on every renewal.
pub fn lease_value(addr: SocketAddr, expires: DateTime<Utc>, generation: i64) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {
            "name": addr.to_string(),
            "generation": generation,
            "annotations": {EXPIRES_ANNOTATION: expires.to_rfc3339_opts(SecondsFormat::Millis, true)},
        },
        "subsets": [{"addresses": [{"ip": addr.ip().to_string()}],
                     "ports": [{"name": "https", "port": addr.port(), "protocol": "TCP"}]}],
    })
}

/// A stored lease: whose it is and until when it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub addr: SocketAddr,
    pub expires: DateTime<Utc>,
}

/// Reads a lease; None when it is not one this reconciler wrote.
pub fn read_lease(value: &[u8]) -> Option<Lease> {
    let v: Value = serde_json::from_slice(value).ok()?;
    let subset = &v["subsets"][0];
    let ip: std::net::IpAddr = subset["addresses"][0]["ip"].as_str()?.parse().ok()?;
    let port = u16::try_from(subset["ports"][0]["port"].as_u64()?).ok()?;
    let expires = v["metadata"]["annotations"][EXPIRES_ANNOTATION].as_str()?;
    Some(Lease {
        addr: SocketAddr::new(ip, port),
        expires: DateTime::parse_from_rfc3339(expires).ok()?.to_utc(),
    })
}

/// Splits stored leases `(key, revision, value)` into the live servers' addresses and
/// the `(key, revision)` of the expired or unreadable ones, which are to be deleted.
pub fn sort_leases(
    leases: impl IntoIterator<Item = (String, Revision, Option<Lease>)>,
    now: DateTime<Utc>,
) -> (Vec<SocketAddr>, Vec<(String, Revision)>) {
    let mut live = Vec::new();
    let mut gone = Vec::new();
    for (key, rev, lease) in leases {
        match lease {
            Some(l) if l.expires > now => live.push(l.addr),
            _ => gone.push((key, rev)),
        }
    }
    live.sort();
    live.dedup();
    (live, gone)
}

/// One subset per port, ports ascending, addresses in lexicographic order as
/// upstream's `RepackSubsets` leaves them.
fn subsets(live: &[SocketAddr]) -> Value {
    let mut by_port: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for a in live {
        by_port
            .entry(a.port())
            .or_default()
            .push(a.ip().to_string());
    }
    let subsets: Vec<Value> = by_port
        .into_iter()
        .map(|(port, mut ips)| {
            ips.sort();
            ips.dedup();
            let addresses: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip})).collect();
            json!({"addresses": addresses,
                   "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
        })
        .collect();
    Value::Array(subsets)
}

/// The `kubernetes` Endpoints listing `live` (which must not be empty), or None when
/// `current` already lists exactly them.
pub fn endpoints(current: Option<&Value>, live: &[SocketAddr]) -> Option<Value> {
    let want = subsets(live);
    let mut out = current.cloned().unwrap_or_else(|| {
        json!({"apiVersion": "v1", "kind": "Endpoints",
               "metadata": {"name": "kubernetes", "namespace": "default"}})
    });
    let labelled = out["metadata"]["labels"][SKIP_MIRROR] == "true";
    if current.is_some() && labelled && out["subsets"] == want {
        return None;
    }
    out["metadata"]["labels"][SKIP_MIRROR] = json!("true");
    out["subsets"] = want;
    Some(out)
}

/// The `kubernetes` EndpointSlice for `endpoints`: its first subset, as upstream's
/// `EndpointsAdapter` mirrors it. None when `current` already says that.
pub fn slice(current: Option<&Value>, endpoints: &Value) -> Option<Value> {
    let subset = &endpoints["subsets"][0];
    let ips: Vec<&str> = subset["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["ip"].as_str())
        .collect();
    let v6 = ips.first().is_some_and(|ip| ip.contains(':'));
    let want = json!({
        "addressType": if v6 { "IPv6" } else { "IPv4" },
        "endpoints": ips.iter().map(|ip| json!({"addresses": [ip], "conditions": {"ready": true}})).collect::<Vec<_>>(),
        "ports": subset["ports"].as_array().cloned().unwrap_or_default(),
    });
    let mut out = current.cloned().unwrap_or_else(|| {
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "kubernetes", "namespace": "default",
                            "labels": {"kubernetes.io/service-name": "kubernetes"}}})
    });
    let fields = ["addressType", "endpoints", "ports"];
    if current.is_some() && fields.iter().all(|f| out[*f] == want[*f]) {
        return None;
    }
    for f in fields {
        out[f] = want[f].clone();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn a_lease_round_trips_through_its_stored_form() {
        let v = lease_value(addr("10.0.0.5:6443"), at(100), 3);
        assert_eq!(v["metadata"]["generation"], 3);
        let lease = read_lease(v.to_string().as_bytes()).unwrap();
        assert_eq!(lease.addr, addr("10.0.0.5:6443"));
        assert_eq!(lease.expires, at(100));
        assert_eq!(read_lease(b"{}"), None);
        assert_eq!(
            lease_key(addr("10.0.0.5:6443")),
            "/registry/masterleases/10.0.0.5:6443"
        );
    }

    #[test]
    fn expired_and_unreadable_leases_are_gone() {
        let lease = |a: &str, t| {
            Some(Lease {
                addr: addr(a),
                expires: at(t),
            })
        };
        let (live, gone) = sort_leases(
            [
                ("k2".into(), 7, lease("10.0.0.2:6443", 20)),
                ("k1".into(), 8, lease("10.0.0.1:6443", 9)),
                ("k3".into(), 9, None),
                ("k4".into(), 10, lease("10.0.0.3:6443", 10)),
            ],
            at(10),
        );
        assert_eq!(live, [addr("10.0.0.2:6443")]);
        assert_eq!(
            gone,
            [("k1".into(), 8), ("k3".into(), 9), ("k4".into(), 10)]
        );
    }

    #[test]
    fn servers_on_one_port_share_one_subset_in_upstreams_order() {
        let live = [addr("10.0.0.9:6443"), addr("10.0.0.10:6443")];
        let ep = endpoints(None, &live).unwrap();
        assert_eq!(
            ep["subsets"],
            json!([{"addresses": [{"ip": "10.0.0.10"}, {"ip": "10.0.0.9"}],
                    "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}])
        );
        assert_eq!(ep["metadata"]["labels"][SKIP_MIRROR], "true");
        assert_eq!(endpoints(Some(&ep), &live), None);
        let s = slice(None, &ep).unwrap();
        assert_eq!(s["addressType"], "IPv4");
        assert_eq!(s["endpoints"][0]["addresses"], json!(["10.0.0.10"]));
        assert_eq!(slice(Some(&s), &ep), None);
    }

    #[test]
    fn servers_on_other_ports_get_their_own_subsets() {
        let live = [addr("127.0.0.1:7000"), addr("127.0.0.1:6000")];
        let ep = endpoints(None, &live).unwrap();
        let ports: Vec<&Value> = ep["subsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["ports"][0]["port"])
            .collect();
        assert_eq!(ports, [&json!(6000), &json!(7000)]);
        // The slice mirrors the first subset only, as upstream's adapter does.
        assert_eq!(slice(None, &ep).unwrap()["ports"][0]["port"], 6000);
    }

    #[test]
    fn a_changed_list_rewrites_the_existing_object() {
        let old = endpoints(None, &[addr("10.0.0.1:6443")]).unwrap();
        let mut stored = old.clone();
        stored["metadata"]["resourceVersion"] = json!("5");
        let new = endpoints(Some(&stored), &[addr("10.0.0.2:6443")]).unwrap();
        assert_eq!(new["metadata"]["resourceVersion"], "5");
        assert_eq!(new["subsets"][0]["addresses"], json!([{"ip": "10.0.0.2"}]));
    }
}
