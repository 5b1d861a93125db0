//! What a Service write takes from the ClusterIP and NodePort ranges, decided on
//! bitmaps without any I/O.
//!
//! Entry points: [`needs`] (read the request: carried-over, headless, requested or any
//! address; requested or any node ports), then [`take_ip`] / [`take_ports`] (mark them
//! in a bitmap), then [`fill`] (write the result into the Service).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use refkube_resources::validation::Cause;
use serde_json::{Value, json};

use super::bitmap::Bitmap;

/// The configured ranges and the offset ↔ value mapping of their bitmaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranges {
    net: Ipv4Net,
    ports: (u16, u16),
}

impl Ranges {
    pub fn new(net: Ipv4Net, ports: (u16, u16)) -> Self {
        Self {
            net: net.trunc(),
            ports,
        }
    }

    /// Usable addresses: all but the network and broadcast addresses, as upstream.
    pub fn ip_size(&self) -> usize {
        let host_bits = 32 - u32::from(self.net.prefix_len());
        if host_bits < 2 {
            return 0;
        }
        ((1u64 << host_bits) - 2) as usize
    }

    /// Offset 0: the `kubernetes` Service's address.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.net.network()).wrapping_add(1))
    }

    pub fn ip_offset(&self, ip: Ipv4Addr) -> Option<usize> {
        let off = u32::from(ip).checked_sub(u32::from(self.net.network()))?;
        let off = usize::try_from(off).ok()?.checked_sub(1)?;
        (self.net.contains(&ip) && off < self.ip_size()).then_some(off)
    }

    pub fn ip_at(&self, off: usize) -> Ipv4Addr {
        let off = u32::try_from(off).unwrap_or(u32::MAX);
        Ipv4Addr::from(u32::from(self.first_ip()).wrapping_add(off))
    }

    pub fn port_size(&self) -> usize {
        let (lo, hi) = self.ports;
        if hi < lo { 0 } else { usize::from(hi - lo) + 1 }
    }

    pub fn port_offset(&self, port: u16) -> Option<usize> {
        let (lo, hi) = self.ports;
        (lo..=hi).contains(&port).then(|| usize::from(port - lo))
    }

    pub fn port_at(&self, off: usize) -> u16 {
        let off = u16::try_from(off).unwrap_or(u16::MAX);
        self.ports.0.saturating_add(off)
    }

    /// The text upstream stores as the ClusterIP RangeAllocation's `range`.
    pub fn ip_range_text(&self) -> String {
        self.net.to_string()
    }

    /// The text upstream stores as the NodePort RangeAllocation's `range`.
    pub fn port_range_text(&self) -> String {
        format!("{}-{}", self.ports.0, self.ports.1)
    }
}

/// The address a Service asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpNeed {
    Any,
    Exactly(Ipv4Addr),
}

/// A node port a Service asks for: `ports[index]`, a given port or any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortNeed {
    pub index: usize,
    pub want: Option<u16>,
}

/// Everything a Service write must take from the ranges (empty: nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub ip: Option<IpNeed>,
    pub ports: Vec<PortNeed>,
}

fn invalid(field: &str, message: String) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message,
        field: field.to_string(),
    }
}

fn ip_cause(requested: &str, why: &str) -> Cause {
    invalid(
        "spec.clusterIPs",
        format!(
            "Invalid value: []string{{\"{requested}\"}}: failed to allocate IP {requested}: {why}"
        ),
    )
}

fn port_range_cause(r: &Ranges, index: usize, port: u64) -> Cause {
    let (lo, hi) = r.ports;
    invalid(
        &format!("spec.ports[{index}].nodePort"),
        format!(
            "Invalid value: {port}: provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
        ),
    )
}

/// Reads what `svc` (being created, or updated from `old`) needs, filling in what needs
/// no allocation (the old address on update, `clusterIPs: [None]` for headless,
/// `ipFamilies`), and rejects requests no allocator could ever satisfy.
pub fn needs(r: &Ranges, svc: &mut Value, old: Option<&Value>) -> Result<Needs, Vec<Cause>> {
    let spec = &mut svc["spec"];
    if !spec.is_object() {
        *spec = json!({});
    }
    let ty = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    if ty == "ExternalName" {
        return Ok(Needs::default());
    }
    let mut out = Needs::default();
    let requested = spec["clusterIP"].as_str().unwrap_or("").to_string();
    let old_spec = old.map(|o| &o["spec"]);
    let old_ip = old_spec
        .and_then(|s| s["clusterIP"].as_str())
        .filter(|s| !s.is_empty());
    match (old_ip, requested.as_str()) {
        // An update keeps its address; a changed one is for validation to reject
        // (spec.clusterIP is immutable).
        (Some(old_ip), r) => {
            if r.is_empty() {
                spec["clusterIP"] = json!(old_ip);
                spec["clusterIPs"] = old_spec
                    .map(|s| s["clusterIPs"].clone())
                    .unwrap_or_default();
            }
        }
        (None, "None") => spec["clusterIPs"] = json!(["None"]),
        (None, "") => out.ip = Some(IpNeed::Any),
        (None, req) => {
            let ip: Ipv4Addr = req
                .parse()
                .map_err(|_| vec![ip_cause(req, "must be a valid IP address")])?;
            if r.ip_offset(ip).is_none() {
                let why = format!(
                    "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                    r.net
                );
                return Err(vec![ip_cause(req, &why)]);
            }
            out.ip = Some(IpNeed::Exactly(ip));
            spec["clusterIPs"] = json!([req]);
        }
    }
    if spec["clusterIP"] != "None" {
        if spec.get("ipFamilies").is_none_or(Value::is_null) {
            spec["ipFamilies"] = json!(["IPv4"]);
        }
        if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
            spec["ipFamilyPolicy"] = json!("SingleStack");
        }
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        let old_ports = old.map(super::node_ports).unwrap_or_default();
        for (index, p) in spec["ports"].as_array().into_iter().flatten().enumerate() {
            match p["nodePort"].as_u64().filter(|n| *n > 0) {
                Some(n) => {
                    let port = u16::try_from(n)
                        .ok()
                        .filter(|p| r.port_offset(*p).is_some());
                    let Some(port) = port else {
                        return Err(vec![port_range_cause(r, index, n)]);
                    };
                    if !old_ports.contains(&port) {
                        out.ports.push(PortNeed {
                            index,
                            want: Some(port),
                        });
                    }
                }
                None => out.ports.push(PortNeed { index, want: None }),
            }
        }
    }
    Ok(out)
}

/// Marks the address `need` asks for in `bm`; `cursor` is where a search for any free
/// address starts (this server's last pick + 1, so freed addresses are not reused at
/// once).
pub fn take_ip(r: &Ranges, bm: &mut Bitmap, need: IpNeed, cursor: usize) -> Result<usize, Cause> {
    match need {
        IpNeed::Any => {
            // Offset 0 stays for the `kubernetes` Service, as upstream reserves it.
            let off = bm.next_free(cursor, |i| i == 0).ok_or_else(|| {
                invalid(
                    "spec.clusterIPs",
                    "Internal error: failed to allocate a serviceIP: range is full".into(),
                )
            })?;
            bm.set(off);
            Ok(off)
        }
        IpNeed::Exactly(ip) => {
            let req = ip.to_string();
            let off = r
                .ip_offset(ip)
                .ok_or_else(|| ip_cause(&req, "the provided IP is not in the valid range"))?;
            if !bm.set(off) {
                return Err(ip_cause(&req, "provided IP is already allocated"));
            }
            Ok(off)
        }
    }
}

/// Marks every port of `needs` in `bm`, given ports first so that a port picked for
/// "any" never takes one a later entry asks for. Returns `(index, port)` pairs.
pub fn take_ports(
    r: &Ranges,
    bm: &mut Bitmap,
    needs: &[PortNeed],
    mut cursor: usize,
) -> Result<Vec<(usize, u16)>, Cause> {
    let mut out = Vec::with_capacity(needs.len());
    for n in needs {
        let Some(port) = n.want else { continue };
        let off = r
            .port_offset(port)
            .ok_or_else(|| port_range_cause(r, n.index, u64::from(port)))?;
        if !bm.set(off) {
            return Err(invalid(
                &format!("spec.ports[{}].nodePort", n.index),
                format!("Invalid value: {port}: provided port is already allocated"),
            ));
        }
        out.push((n.index, port));
    }
    for n in needs.iter().filter(|n| n.want.is_none()) {
        let off = bm.next_free(cursor, |_| false).ok_or_else(|| {
            invalid(
                &format!("spec.ports[{}].nodePort", n.index),
                "Internal error: range is full".into(),
            )
        })?;
        bm.set(off);
        cursor = off + 1;
        out.push((n.index, r.port_at(off)));
    }
    Ok(out)
}

/// Writes the taken address and node ports into the Service.
pub fn fill(svc: &mut Value, ip: Option<Ipv4Addr>, ports: &[(usize, u16)]) {
    if let Some(ip) = ip {
        svc["spec"]["clusterIP"] = json!(ip.to_string());
        svc["spec"]["clusterIPs"] = json!([ip.to_string()]);
    }
    for (i, port) in ports {
        if let Some(p) = svc["spec"]["ports"].get_mut(*i) {
            p["nodePort"] = json!(port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges() -> Ranges {
        Ranges::new("10.0.0.0/29".parse().unwrap(), (30000, 30001))
    }

    #[test]
    fn offsets_skip_the_network_address_and_stop_before_broadcast() {
        let r = ranges();
        assert_eq!(r.ip_size(), 6);
        assert_eq!(r.ip_offset("10.0.0.1".parse().unwrap()), Some(0));
        assert_eq!(r.ip_offset("10.0.0.6".parse().unwrap()), Some(5));
        assert_eq!(r.ip_offset("10.0.0.0".parse().unwrap()), None);
        assert_eq!(r.ip_offset("10.0.0.7".parse().unwrap()), None);
        assert_eq!(r.ip_at(5), "10.0.0.6".parse::<Ipv4Addr>().unwrap());
        assert_eq!(r.port_size(), 2);
        assert_eq!(r.port_offset(30001), Some(1));
        assert_eq!(r.port_offset(29999), None);
        assert_eq!(r.ip_range_text(), "10.0.0.0/29");
        assert_eq!(r.port_range_text(), "30000-30001");
    }

    #[test]
    fn any_address_skips_the_kubernetes_one_and_fails_when_full() {
        let r = ranges();
        let mut bm = Bitmap::new(r.ip_size());
        let got: Vec<usize> = (0..5)
            .map(|_| take_ip(&r, &mut bm, IpNeed::Any, 0).unwrap())
            .collect();
        assert_eq!(got, [1, 2, 3, 4, 5]);
        let err = take_ip(&r, &mut bm, IpNeed::Any, 0).unwrap_err();
        assert!(err.message.ends_with("range is full"), "{err:?}");
        // The reserved address can still be asked for by name.
        assert_eq!(
            take_ip(&r, &mut bm, IpNeed::Exactly(r.first_ip()), 0),
            Ok(0)
        );
    }

    #[test]
    fn a_requested_address_that_is_taken_gives_upstreams_message() {
        let r = ranges();
        let mut bm = Bitmap::new(r.ip_size());
        let ip = "10.0.0.3".parse().unwrap();
        take_ip(&r, &mut bm, IpNeed::Exactly(ip), 0).unwrap();
        let err = take_ip(&r, &mut bm, IpNeed::Exactly(ip), 0).unwrap_err();
        assert_eq!(
            err.message,
            "Invalid value: []string{\"10.0.0.3\"}: failed to allocate IP 10.0.0.3: provided IP is already allocated"
        );
    }

    #[test]
    fn needs_reads_requests_and_rejects_unusable_ones() {
        let r = ranges();
        let mut any = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81, "nodePort": 30001}]}});
        let n = needs(&r, &mut any, None).unwrap();
        assert_eq!(n.ip, Some(IpNeed::Any));
        assert_eq!(
            n.ports,
            [
                PortNeed {
                    index: 0,
                    want: None
                },
                PortNeed {
                    index: 1,
                    want: Some(30001)
                }
            ]
        );
        assert_eq!(any["spec"]["ipFamilies"], json!(["IPv4"]));
        let mut out = json!({"spec": {"clusterIP": "192.168.0.1"}});
        let err = needs(&r, &mut out, None).unwrap_err();
        assert!(err[0].message.contains("not in the valid range"), "{err:?}");
        let mut bad = json!({"spec": {"clusterIP": "x"}});
        assert!(
            needs(&r, &mut bad, None).unwrap_err()[0]
                .message
                .ends_with("must be a valid IP address")
        );
        let mut port = json!({"spec": {"type": "NodePort", "ports": [{"nodePort": 80}]}});
        assert!(
            needs(&r, &mut port, None).unwrap_err()[0]
                .message
                .contains("The range of valid ports is 30000-30001")
        );
    }

    #[test]
    fn headless_and_external_name_services_need_nothing() {
        let r = ranges();
        let mut h = json!({"spec": {"clusterIP": "None"}});
        assert_eq!(needs(&r, &mut h, None).unwrap(), Needs::default());
        assert_eq!(h["spec"]["clusterIPs"], json!(["None"]));
        let mut e = json!({"spec": {"type": "ExternalName", "externalName": "x.example"}});
        assert_eq!(needs(&r, &mut e, None).unwrap(), Needs::default());
        assert!(e["spec"].get("clusterIP").is_none());
    }

    #[test]
    fn updates_keep_the_old_address_and_node_ports() {
        let r = ranges();
        let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.0.0.4", "clusterIPs": ["10.0.0.4"],
                                  "ports": [{"port": 80, "nodePort": 30000}]}});
        let mut new = json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30000}, {"port": 81}]}});
        let n = needs(&r, &mut new, Some(&old)).unwrap();
        assert_eq!(n.ip, None);
        assert_eq!(
            n.ports,
            [PortNeed {
                index: 1,
                want: None
            }]
        );
        assert_eq!(new["spec"]["clusterIP"], "10.0.0.4");
        assert_eq!(new["spec"]["clusterIPs"], json!(["10.0.0.4"]));
    }

    #[test]
    fn given_ports_are_taken_before_any_port_is_picked() {
        let r = ranges();
        let mut bm = Bitmap::new(r.port_size());
        let wants = [
            PortNeed {
                index: 0,
                want: None,
            },
            PortNeed {
                index: 1,
                want: Some(30000),
            },
        ];
        let got = take_ports(&r, &mut bm, &wants, 0).unwrap();
        assert_eq!(got, [(1, 30000), (0, 30001)]);
        let err = take_ports(&r, &mut bm, &wants[..1], 0).unwrap_err();
        assert_eq!(err.message, "Internal error: range is full");
        let err = take_ports(&r, &mut Bitmap::new(2), &[wants[1], wants[1]], 0).unwrap_err();
        assert_eq!(
            err.message,
            "Invalid value: 30000: provided port is already allocated"
        );
    }

    #[test]
    fn fill_writes_the_address_and_ports() {
        let mut s = json!({"spec": {"ports": [{"port": 80}]}});
        fill(&mut s, Some("10.0.0.2".parse().unwrap()), &[(0, 30000)]);
        assert_eq!(s["spec"]["clusterIPs"], json!(["10.0.0.2"]));
        assert_eq!(s["spec"]["ports"][0]["nodePort"], 30000);
    }
}
