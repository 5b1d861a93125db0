//! ClusterIP and NodePort allocation for Services (state, so it lives here and not in
//! refkube-resources).
//!
//! Entry points: [`Allocators::admit_service`], [`Allocators::release_service`],
//! [`Allocators::load`]. The used sets are rebuilt from the store at start-up; with
//! several API servers on one store, two servers could hand out the same address in
//! the same instant (upstream avoids that with a bitmap stored in etcd).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use refkube_resources::validation::Cause;
use serde_json::{Value, json};

/// What one admission allocated, so a failed write can give it back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocated {
    pub ips: Vec<Ipv4Addr>,
    pub ports: Vec<u16>,
}

#[derive(Debug)]
pub struct Allocators {
    net: Ipv4Net,
    used_ips: HashSet<Ipv4Addr>,
    port_range: (u16, u16),
    used_ports: HashSet<u16>,
    next_ip: u32,
    next_port: u16,
}

fn invalid(field: &str, message: String) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message,
        field: field.to_string(),
    }
}

impl Allocators {
    pub fn new(net: Ipv4Net, port_range: (u16, u16)) -> Self {
        Self {
            net,
            used_ips: HashSet::new(),
            port_range,
            used_ports: HashSet::new(),
            next_ip: 0,
            next_port: port_range.0,
        }
    }

    /// The first usable address of the range: the `kubernetes` Service's ClusterIP.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.net.network()) + 1)
    }

    fn ip_in_range(&self, ip: Ipv4Addr) -> bool {
        self.net.contains(&ip) && ip != self.net.network() && ip != self.net.broadcast()
    }

    /// Marks the addresses and ports of a stored Service as used.
    pub fn load(&mut self, svc: &Value) {
        for ip in cluster_ips(svc) {
            self.used_ips.insert(ip);
        }
        for p in node_ports(svc) {
            self.used_ports.insert(p);
        }
    }

    /// Gives back what a deleted Service held.
    pub fn release_service(&mut self, svc: &Value) {
        self.release(&Allocated {
            ips: cluster_ips(svc),
            ports: node_ports(svc),
        });
    }

    pub fn release(&mut self, a: &Allocated) {
        for ip in &a.ips {
            self.used_ips.remove(ip);
        }
        for p in &a.ports {
            self.used_ports.remove(p);
        }
    }

    fn alloc_ip(&mut self) -> Option<Ipv4Addr> {
        let base = u32::from(self.net.network());
        let size = 1u32 << (32 - self.net.prefix_len().min(31) as u32);
        for _ in 0..size {
            self.next_ip = (self.next_ip % size.saturating_sub(2).max(1)) + 1;
            let ip = Ipv4Addr::from(base + self.next_ip);
            // .1 is kept for the `kubernetes` Service, as upstream reserves it.
            if ip != self.first_ip() && self.ip_in_range(ip) && !self.used_ips.contains(&ip) {
                self.used_ips.insert(ip);
                return Some(ip);
            }
        }
        None
    }

    fn alloc_port(&mut self) -> Option<u16> {
        let (lo, hi) = self.port_range;
        for _ in lo..=hi {
            let p = self.next_port;
            self.next_port = if p >= hi { lo } else { p + 1 };
            if !self.used_ports.contains(&p) {
                self.used_ports.insert(p);
                return Some(p);
            }
        }
        None
    }

    /// Allocates (or reserves the requested) ClusterIP and NodePorts of a Service being
    /// created, or, with `old`, updated (ClusterIP and existing NodePorts carry over).
    pub fn admit_service(
        &mut self,
        svc: &mut Value,
        old: Option<&Value>,
    ) -> Result<Allocated, Vec<Cause>> {
        let mut got = Allocated::default();
        let res = self.admit_inner(svc, old, &mut got);
        if res.is_err() {
            self.release(&got);
        }
        res.map(|()| got)
    }

    fn admit_inner(
        &mut self,
        svc: &mut Value,
        old: Option<&Value>,
        got: &mut Allocated,
    ) -> Result<(), Vec<Cause>> {
        let spec = &mut svc["spec"];
        if !spec.is_object() {
            *spec = json!({});
        }
        let ty = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
        if ty == "ExternalName" {
            return Ok(());
        }
        let requested = spec["clusterIP"].as_str().unwrap_or("").to_string();
        if let Some(old) = old {
            let old_ip = old["spec"]["clusterIP"].as_str().unwrap_or("");
            if requested.is_empty() && !old_ip.is_empty() {
                spec["clusterIP"] = json!(old_ip);
                spec["clusterIPs"] = old["spec"]["clusterIPs"].clone();
            }
        } else if requested == "None" {
            spec["clusterIPs"] = json!(["None"]);
        } else if requested.is_empty() {
            let ip = self.alloc_ip().ok_or_else(|| {
                vec![invalid(
                    "spec.clusterIPs",
                    "Internal error: failed to allocate a serviceIP: range is full".into(),
                )]
            })?;
            got.ips.push(ip);
            spec["clusterIP"] = json!(ip.to_string());
            spec["clusterIPs"] = json!([ip.to_string()]);
        } else {
            let field_msg = |why: String| {
                vec![invalid(
                    "spec.clusterIPs",
                    format!(
                        "Invalid value: []string{{\"{requested}\"}}: failed to allocate IP {requested}: {why}"
                    ),
                )]
            };
            let ip: Ipv4Addr = requested
                .parse()
                .map_err(|_| field_msg("must be a valid IP address".into()))?;
            if !self.ip_in_range(ip) {
                return Err(field_msg(format!(
                    "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                    self.net
                )));
            }
            if !self.used_ips.insert(ip) {
                return Err(field_msg("provided IP is already allocated".into()));
            }
            got.ips.push(ip);
            spec["clusterIPs"] = json!([requested]);
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
            let old_ports = old.map(node_ports).unwrap_or_default();
            let (lo, hi) = self.port_range;
            if let Some(ports) = spec["ports"].as_array_mut() {
                for (i, p) in ports.iter_mut().enumerate() {
                    let field = format!("spec.ports[{i}].nodePort");
                    match p["nodePort"].as_u64().filter(|n| *n > 0) {
                        Some(n) => {
                            let n = u16::try_from(n).unwrap_or(0);
                            if old_ports.contains(&n) {
                                continue;
                            }
                            if n < lo || n > hi {
                                return Err(vec![invalid(
                                    &field,
                                    format!(
                                        "Invalid value: {n}: provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
                                    ),
                                )]);
                            }
                            if !self.used_ports.insert(n) {
                                return Err(vec![invalid(
                                    &field,
                                    format!(
                                        "Invalid value: {n}: provided port is already allocated"
                                    ),
                                )]);
                            }
                            got.ports.push(n);
                        }
                        None => {
                            let n = self.alloc_port().ok_or_else(|| {
                                vec![invalid(&field, "Internal error: range is full".into())]
                            })?;
                            got.ports.push(n);
                            p["nodePort"] = json!(n);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The ClusterIPs a Service holds.
pub fn cluster_ips(svc: &Value) -> Vec<Ipv4Addr> {
    let spec = &svc["spec"];
    let mut out: Vec<Ipv4Addr> = spec["clusterIPs"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    if let Some(ip) = spec["clusterIP"].as_str().and_then(|s| s.parse().ok())
        && !out.contains(&ip)
    {
        out.push(ip);
    }
    out
}

/// The NodePorts a Service holds.
pub fn node_ports(svc: &Value) -> Vec<u16> {
    svc["spec"]["ports"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| u16::try_from(p["nodePort"].as_u64()?).ok())
                .filter(|p| *p > 0)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc() -> Allocators {
        Allocators::new("10.0.0.0/29".parse().unwrap(), (30000, 30001))
    }

    #[test]
    fn allocation_skips_the_kubernetes_address_and_fills_the_range() {
        let mut a = alloc();
        let mut got = vec![];
        for _ in 0..5 {
            let mut s = json!({"spec": {}});
            a.admit_service(&mut s, None).unwrap();
            got.push(s["spec"]["clusterIP"].as_str().unwrap().to_string());
        }
        assert_eq!(
            got,
            ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
        );
        let mut s = json!({"spec": {}});
        assert!(a.admit_service(&mut s, None).is_err());
    }

    #[test]
    fn requested_addresses_are_checked_and_released_on_delete() {
        let mut a = alloc();
        let mut s = json!({"spec": {"clusterIP": "10.0.0.3"}});
        a.admit_service(&mut s, None).unwrap();
        let mut dup = json!({"spec": {"clusterIP": "10.0.0.3"}});
        let err = a.admit_service(&mut dup, None).unwrap_err();
        assert!(
            err[0].message.ends_with("provided IP is already allocated"),
            "{err:?}"
        );
        let mut out = json!({"spec": {"clusterIP": "192.168.0.1"}});
        assert!(
            a.admit_service(&mut out, None).unwrap_err()[0]
                .message
                .contains("not in the valid range")
        );
        a.release_service(&s);
        let mut again = json!({"spec": {"clusterIP": "10.0.0.3"}});
        a.admit_service(&mut again, None).unwrap();
    }

    #[test]
    fn headless_and_external_name_services_get_no_address() {
        let mut a = alloc();
        let mut h = json!({"spec": {"clusterIP": "None"}});
        assert_eq!(a.admit_service(&mut h, None).unwrap(), Allocated::default());
        assert_eq!(h["spec"]["clusterIPs"], json!(["None"]));
        let mut e = json!({"spec": {"type": "ExternalName", "externalName": "x.example"}});
        a.admit_service(&mut e, None).unwrap();
        assert!(e["spec"].get("clusterIP").is_none());
    }

    #[test]
    fn node_ports_are_allocated_for_node_port_services_and_failures_roll_back() {
        let mut a = alloc();
        let mut s = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}});
        a.admit_service(&mut s, None).unwrap();
        assert_eq!(node_ports(&s), vec![30000, 30001]);
        let mut t = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
        assert!(a.admit_service(&mut t, None).is_err());
        // The ClusterIP taken before the port failure was given back.
        assert_eq!(a.used_ips.len(), 1);
    }
}
