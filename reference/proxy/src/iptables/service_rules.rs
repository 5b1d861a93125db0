//! The rules of one service port (a part of upstream's `syncProxyRules` loop body):
//! capture rules in KUBE-SERVICES / KUBE-NODEPORTS, REJECT/DROP rules in filter, and the
//! KUBE-SVC / KUBE-SVL / KUBE-EXT / KUBE-FW / KUBE-SEP chains. Entry point: [`render_service`].

use crate::categorize::categorize;
use crate::iptables::hash;
use crate::iptables::render::{
    Ctx, KUBE_EXTERNAL_SERVICES, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL,
    KUBE_SERVICES, probability,
};
use crate::iptables::ruleset::{Ruleset, Table};
use crate::model::{EndpointInfo, ServicePortInfo, SessionAffinity};

/// Rules matching `-m <p> -p <p> -d <ip> --dport <port>`.
fn dest_match(proto: &str, ip: impl ToString, port: u16) -> Vec<String> {
    a![
        "-m",
        proto,
        "-p",
        proto,
        "-d",
        ip.to_string(),
        "--dport",
        port
    ]
}

pub(super) fn render_service(ctx: &Ctx<'_>, svc: &ServicePortInfo, rs: &mut Ruleset) {
    let proto = svc.name.protocol.lower();
    let spn = svc.name.to_string();
    let cat = categorize(svc);
    let has_endpoints = cat.has_any;

    let cluster_chain = hash::svc_chain(&spn, proto);
    let uses_cluster_chain = !cat.cluster.is_empty() && svc.uses_cluster_endpoints();
    let local_chain = hash::svl_chain(&spn, proto);
    let uses_local_chain = !cat.local.is_empty() && svc.uses_local_endpoints();

    let (internal_chain, has_internal) = if svc.internal_policy_local {
        (local_chain.clone(), has_endpoints && !cat.local.is_empty())
    } else {
        (cluster_chain.clone(), has_endpoints)
    };
    let (external_policy_chain, has_external) = if svc.external_policy_local {
        (local_chain.clone(), has_endpoints && !cat.local.is_empty())
    } else {
        (cluster_chain.clone(), has_endpoints)
    };
    let external_chain = hash::ext_chain(&spn, proto);
    let uses_external_chain = has_endpoints && svc.externally_accessible();
    let fw_chain = hash::fw_chain(&spn, proto);
    let uses_fw_chain = has_endpoints
        && !svc.load_balancer_vips.is_empty()
        && !svc.load_balancer_source_ranges.is_empty();
    let lb_chain = if uses_fw_chain {
        fw_chain.clone()
    } else {
        external_chain.clone()
    };

    let no_endpoints = format!("\"{spn} has no endpoints\"");
    let no_local = format!("\"{spn} has no local endpoints\"");
    let (internal_target, internal_comment) = if !has_endpoints {
        ("REJECT", no_endpoints.clone())
    } else {
        ("DROP", no_local.clone())
    };
    let (external_target, external_comment) = if !has_endpoints {
        ("REJECT", no_endpoints)
    } else {
        ("DROP", no_local)
    };

    let cluster_ip_comment = format!("\"{spn} cluster IP\"");
    let (filter, nat) = (&mut rs.filter, &mut rs.nat);

    // Capture the clusterIP.
    let cip = dest_match(proto, svc.cluster_ip, svc.port);
    if has_internal {
        let mut r = a!["-m", "comment", "--comment", cluster_ip_comment];
        r.extend(cip.clone());
        r.extend(a!["-j", internal_chain]);
        nat.rule(KUBE_SERVICES, &r);
    } else {
        let mut r = a!["-m", "comment", "--comment", internal_comment];
        r.extend(cip.clone());
        r.extend(a!["-j", internal_target]);
        filter.rule(KUBE_SERVICES, &r);
    }

    // Capture externalIPs.
    for ip in &svc.external_ips {
        let m = dest_match(proto, ip, svc.port);
        if has_endpoints {
            let mut r = a![
                "-m",
                "comment",
                "--comment",
                format!("\"{spn} external IP\"")
            ];
            r.extend(m.clone());
            r.extend(a!["-j", external_chain]);
            nat.rule(KUBE_SERVICES, &r);
        }
        if !has_external {
            let mut r = a!["-m", "comment", "--comment", external_comment];
            r.extend(m);
            r.extend(a!["-j", external_target]);
            filter.rule(KUBE_EXTERNAL_SERVICES, &r);
        }
    }

    // Capture load-balancer ingress.
    for ip in &svc.load_balancer_vips {
        let m = dest_match(proto, ip, svc.port);
        if has_endpoints {
            let mut r = a![
                "-m",
                "comment",
                "--comment",
                format!("\"{spn} loadbalancer IP\"")
            ];
            r.extend(m.clone());
            r.extend(a!["-j", lb_chain]);
            nat.rule(KUBE_SERVICES, &r);
        }
        if uses_fw_chain {
            let mut r = a![
                "-m",
                "comment",
                "--comment",
                format!("\"{spn} traffic not accepted by {fw_chain}\"")
            ];
            r.extend(m);
            r.extend(a!["-j", "DROP"]);
            filter.rule(KUBE_PROXY_FIREWALL, &r);
        }
    }
    if !has_external {
        for ip in &svc.load_balancer_vips {
            let mut r = a!["-m", "comment", "--comment", external_comment];
            r.extend(dest_match(proto, ip, svc.port));
            r.extend(a!["-j", external_target]);
            filter.rule(KUBE_EXTERNAL_SERVICES, &r);
        }
    }

    // Capture nodeports.
    if svc.node_port != 0 {
        if has_endpoints {
            nat.rule(
                KUBE_NODEPORTS,
                &arr![
                    "-m",
                    "comment",
                    "--comment",
                    spn,
                    "-m",
                    proto,
                    "-p",
                    proto,
                    "--dport",
                    svc.node_port,
                    "-j",
                    external_chain
                ],
            );
        }
        if !has_external {
            filter.rule(
                KUBE_EXTERNAL_SERVICES,
                &arr![
                    "-m",
                    "comment",
                    "--comment",
                    external_comment,
                    "-m",
                    "addrtype",
                    "--dst-type",
                    "LOCAL",
                    "-m",
                    proto,
                    "-p",
                    proto,
                    "--dport",
                    svc.node_port,
                    "-j",
                    external_target
                ],
            );
        }
    }

    // Capture healthCheckNodePorts: accepted whether or not there are local endpoints.
    if svc.health_check_node_port != 0 {
        filter.rule(
            KUBE_NODEPORTS,
            &arr![
                "-m",
                "comment",
                "--comment",
                format!("\"{spn} health check node port\""),
                "-m",
                "tcp",
                "-p",
                "tcp",
                "--dport",
                svc.health_check_node_port,
                "-j",
                "ACCEPT"
            ],
        );
    }

    // Internal traffic: masquerade what does not come from a pod (off-cluster clients
    // routed to the service range), or everything with masquerade-all.
    if has_internal {
        let mut r = a!["-m", "comment", "--comment", cluster_ip_comment];
        r.extend(cip);
        if ctx.config.masquerade_all {
            r.extend(a!["-j", KUBE_MARK_MASQ]);
            nat.rule(&internal_chain, &r);
        } else if let Some(not_local) = ctx.if_not_local() {
            r.extend(not_local);
            r.extend(a!["-j", KUBE_MARK_MASQ]);
            nat.rule(&internal_chain, &r);
        }
    }

    if uses_external_chain {
        nat.chain(&external_chain);
        if !svc.external_policy_local {
            // Non-local endpoints may be on another node: masquerade.
            nat.rule(
                &external_chain,
                &arr![
                    "-m",
                    "comment",
                    "--comment",
                    format!("\"masquerade traffic for {spn} external destinations\""),
                    "-j",
                    KUBE_MARK_MASQ
                ],
            );
        } else {
            if let Some(local) = ctx.if_local() {
                // Pod → external destination skips traffic policy (as if it went out to a
                // load balancer and came back).
                let mut r = a![
                    "-m",
                    "comment",
                    "--comment",
                    format!("\"pod traffic for {spn} external destinations\"")
                ];
                r.extend(local);
                r.extend(a!["-j", cluster_chain]);
                nat.rule(&external_chain, &r);
            }
            nat.rule(
                &external_chain,
                &arr![
                    "-m",
                    "comment",
                    "--comment",
                    format!("\"masquerade LOCAL traffic for {spn} external destinations\""),
                    "-m",
                    "addrtype",
                    "--src-type",
                    "LOCAL",
                    "-j",
                    KUBE_MARK_MASQ
                ],
            );
            nat.rule(
                &external_chain,
                &arr![
                    "-m",
                    "comment",
                    "--comment",
                    format!("\"route LOCAL traffic for {spn} external destinations\""),
                    "-m",
                    "addrtype",
                    "--src-type",
                    "LOCAL",
                    "-j",
                    cluster_chain
                ],
            );
        }
        if has_external {
            nat.rule(&external_chain, &arr!["-j", external_policy_chain]);
        }
    }

    if uses_fw_chain {
        nat.chain(&fw_chain);
        let head = a![
            "-m",
            "comment",
            "--comment",
            format!("\"{spn} loadbalancer IP\"")
        ];
        let mut allow_from_node = false;
        for cidr in &svc.load_balancer_source_ranges {
            let mut r = head.clone();
            r.extend(a!["-s", cidr, "-j", external_chain]);
            nat.rule(&fw_chain, &r);
            allow_from_node |= ctx.config.node_ip.is_some_and(|ip| cidr.contains(&ip));
        }
        if allow_from_node {
            // A VIP bound locally loops back with the VIP as source; let the node reach it.
            for ip in &svc.load_balancer_vips {
                let mut r = head.clone();
                r.extend(a!["-s", ip, "-j", external_chain]);
                nat.rule(&fw_chain, &r);
            }
        }
        nat.rule(
            &fw_chain,
            &arr![
                "-m",
                "comment",
                "--comment",
                format!("\"other traffic to {spn} will be dropped by KUBE-PROXY-FIREWALL\"")
            ],
        );
    }

    if uses_cluster_chain {
        nat.chain(&cluster_chain);
        write_service_to_endpoint_rules(ctx, nat, &spn, svc, &cluster_chain, &cat.cluster);
    }
    if uses_local_chain {
        nat.chain(&local_chain);
        write_service_to_endpoint_rules(ctx, nat, &spn, svc, &local_chain, &cat.local);
    }

    // Per-endpoint chains.
    for ep in &cat.all_reachable {
        let chain = hash::sep_chain(&spn, proto, &ep.endpoint_string());
        nat.chain(&chain);
        let mut head = Vec::new();
        ctx.comment(&mut head, spn.clone());
        let mut hairpin = head.clone();
        hairpin.extend(a!["-s", ep.addr.ip(), "-j", KUBE_MARK_MASQ]);
        nat.rule(&chain, &hairpin);
        let mut dnat = head;
        if matches!(svc.session_affinity, SessionAffinity::ClientIp { .. }) {
            dnat.extend(a!["-m", "recent", "--name", chain, "--set"]);
        }
        dnat.extend(a![
            "-m",
            proto,
            "-p",
            proto,
            "-j",
            "DNAT",
            "--to-destination",
            ep.endpoint_string()
        ]);
        nat.rule(&chain, &dnat);
    }
}

/// Affinity rules first, then one probabilistic jump per endpoint (the last one certain).
fn write_service_to_endpoint_rules(
    ctx: &Ctx<'_>,
    nat: &mut Table,
    spn: &str,
    svc: &ServicePortInfo,
    chain: &str,
    endpoints: &[&EndpointInfo],
) {
    let proto = svc.name.protocol.lower();
    if let SessionAffinity::ClientIp { timeout_seconds } = svc.session_affinity {
        for ep in endpoints {
            let sep = hash::sep_chain(spn, proto, &ep.endpoint_string());
            let mut r = Vec::new();
            ctx.comment(&mut r, format!("\"{spn} -> {}\"", ep.endpoint_string()));
            r.extend(a![
                "-m",
                "recent",
                "--name",
                sep,
                "--rcheck",
                "--seconds",
                timeout_seconds,
                "--reap",
                "-j",
                sep
            ]);
            nat.rule(chain, &r);
        }
    }
    let n = endpoints.len();
    for (i, ep) in endpoints.iter().enumerate() {
        let sep = hash::sep_chain(spn, proto, &ep.endpoint_string());
        let mut r = Vec::new();
        ctx.comment(&mut r, format!("\"{spn} -> {}\"", ep.endpoint_string()));
        if i + 1 < n {
            r.extend(a![
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                probability(n - i)
            ]);
        }
        r.extend(a!["-j", sep]);
        nat.rule(chain, &r);
    }
}
