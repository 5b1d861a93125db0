//! Table printers for the non-workload kinds: nodes, namespaces, services, endpoints,
//! endpoint slices, leases, component statuses, config maps, secrets and service
//! accounts.

use super::{
    Column, Ctx, Printer, Row, age_col, arr_at, col, doc, format_labels, int_at, name, name_col,
    str_at,
};
use k8s_openapi::api::{
    coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
};
use serde_json::{Value, json};

/// The columns and row printer of nodes.
pub(crate) fn nodes() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Status", "string", 0, "The status of the node"),
            col("Roles", "string", 0, "The roles of the node"),
            age_col(),
            col(
                "Version",
                "string",
                0,
                doc::<core::NodeSystemInfo>("kubeletVersion"),
            ),
            col(
                "Internal-IP",
                "string",
                1,
                doc::<core::NodeStatus>("addresses"),
            ),
            col(
                "External-IP",
                "string",
                1,
                doc::<core::NodeStatus>("addresses"),
            ),
            col(
                "OS-Image",
                "string",
                1,
                doc::<core::NodeSystemInfo>("osImage"),
            ),
            col(
                "Kernel-Version",
                "string",
                1,
                doc::<core::NodeSystemInfo>("kernelVersion"),
            ),
            col(
                "Container-Runtime",
                "string",
                1,
                doc::<core::NodeSystemInfo>("containerRuntimeVersion"),
            ),
        ],
        print_node as Printer,
    )
}

/// The columns and row printer of namespaces.
pub(crate) fn namespaces() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Status", "string", 0, "The status of the namespace"),
            age_col(),
        ],
        print_namespace,
    )
}

/// The columns and row printer of services.
pub(crate) fn services() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Type", "string", 0, doc::<core::ServiceSpec>("type")),
            col(
                "Cluster-IP",
                "string",
                0,
                doc::<core::ServiceSpec>("clusterIP"),
            ),
            col(
                "External-IP",
                "string",
                0,
                doc::<core::ServiceSpec>("externalIPs"),
            ),
            col("Port(s)", "string", 0, doc::<core::ServiceSpec>("ports")),
            age_col(),
            col(
                "Selector",
                "string",
                1,
                doc::<core::ServiceSpec>("selector"),
            ),
        ],
        print_service,
    )
}

/// The columns and row printer of endpoints.
pub(crate) fn endpoints() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Endpoints", "string", 0, doc::<core::Endpoints>("subsets")),
            age_col(),
        ],
        print_endpoints,
    )
}

/// The columns and row printer of endpoint slices.
pub(crate) fn endpoint_slices() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col(
                "AddressType",
                "string",
                0,
                doc::<discovery::EndpointSlice>("addressType"),
            ),
            col(
                "Ports",
                "string",
                0,
                doc::<discovery::EndpointSlice>("ports"),
            ),
            col(
                "Endpoints",
                "string",
                0,
                doc::<discovery::EndpointSlice>("endpoints"),
            ),
            age_col(),
        ],
        print_endpoint_slice,
    )
}

/// The columns and row printer of leases.
pub(crate) fn leases() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col(
                "Holder",
                "string",
                0,
                doc::<coordination::LeaseSpec>("holderIdentity"),
            ),
            age_col(),
        ],
        print_lease,
    )
}

/// The columns and row printer of component statuses.
pub(crate) fn component_statuses() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Status", "string", 0, "Status of the component conditions"),
            col(
                "Message",
                "string",
                0,
                "Message of the component conditions",
            ),
            col("Error", "string", 0, "Error of the component conditions"),
        ],
        print_component_status,
    )
}

/// The columns and row printer of config maps.
pub(crate) fn config_maps() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Data", "integer", 0, doc::<core::ConfigMap>("data")),
            age_col(),
        ],
        print_config_map,
    )
}

/// The columns and row printer of secrets.
pub(crate) fn secrets() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Type", "string", 0, doc::<core::Secret>("type")),
            col("Data", "integer", 0, doc::<core::Secret>("data")),
            age_col(),
        ],
        print_secret,
    )
}

/// The columns and row printer of service accounts.
pub(crate) fn service_accounts() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col(
                "Secrets",
                "integer",
                0,
                doc::<core::ServiceAccount>("secrets"),
            ),
            age_col(),
        ],
        print_service_account,
    )
}

fn none_if_empty(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s.to_string()
    }
}

fn unknown_if_empty(s: &str) -> String {
    if s.is_empty() {
        "<unknown>".to_string()
    } else {
        s.to_string()
    }
}

/// STATUS: `Ready`/`NotReady`/`Unknown`, plus `SchedulingDisabled` when cordoned.
fn print_node(node: &Value, ctx: &Ctx) -> Row {
    let mut status: Vec<String> = Vec::new();
    if let Some(c) = arr_at(node, "/status/conditions")
        .iter()
        .rev()
        .find(|c| str_at(c, "/type") == "Ready")
    {
        status.push(if str_at(c, "/status") == "True" {
            "Ready".into()
        } else {
            "NotReady".into()
        });
    }
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled".into());
    }
    let mut roles: Vec<String> = Vec::new();
    if let Some(labels) = node.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.push(role.to_string());
                }
            } else if let Some(v) = v
                .as_str()
                .filter(|v| k == "kubernetes.io/role" && !v.is_empty())
            {
                roles.push(v.to_string());
            }
        }
    }
    roles.sort();
    roles.dedup();
    let address = |ty: &str| {
        arr_at(node, "/status/addresses")
            .iter()
            .find(|a| str_at(a, "/type") == ty)
            .map(|a| str_at(a, "/address"))
            .unwrap_or_default()
    };
    vec![
        json!(name(node)),
        json!(status.join(",")),
        json!(if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles.join(",")
        }),
        json!(ctx.age(node)),
        json!(str_at(node, "/status/nodeInfo/kubeletVersion")),
        json!(none_if_empty(address("InternalIP"))),
        json!(none_if_empty(address("ExternalIP"))),
        json!(unknown_if_empty(str_at(node, "/status/nodeInfo/osImage"))),
        json!(unknown_if_empty(str_at(
            node,
            "/status/nodeInfo/kernelVersion"
        ))),
        json!(unknown_if_empty(str_at(
            node,
            "/status/nodeInfo/containerRuntimeVersion"
        ))),
    ]
    .into()
}

fn print_namespace(ns: &Value, ctx: &Ctx) -> Row {
    vec![
        json!(name(ns)),
        json!(str_at(ns, "/status/phase")),
        json!(ctx.age(ns)),
    ]
    .into()
}

/// Upstream's `getServiceExternalIP`.
fn service_external_ip(svc: &Value) -> String {
    let external: Vec<&str> = arr_at(svc, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match str_at(svc, "/spec/type") {
        "ClusterIP" | "NodePort" | "" => none_if_empty(&external.join(",")),
        "LoadBalancer" => {
            let mut ips: Vec<&str> = arr_at(svc, "/status/loadBalancer/ingress")
                .iter()
                .filter_map(|i| {
                    let ip = str_at(i, "/ip");
                    let host = str_at(i, "/hostname");
                    if !ip.is_empty() {
                        Some(ip)
                    } else if !host.is_empty() {
                        Some(host)
                    } else {
                        None
                    }
                })
                .collect();
            ips.extend(external);
            if ips.is_empty() {
                "<pending>".to_string()
            } else {
                ips.join(",")
            }
        }
        "ExternalName" => str_at(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

fn print_service(svc: &Value, ctx: &Ctx) -> Row {
    let ty = match str_at(svc, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = arr_at(svc, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or(str_at(svc, "/spec/clusterIP"));
    let ports: Vec<String> = arr_at(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = match str_at(p, "/protocol") {
                "" => "TCP",
                p => p,
            };
            match int_at(p, "/nodePort") {
                0 => format!("{}/{proto}", int_at(p, "/port")),
                np => format!("{}:{np}/{proto}", int_at(p, "/port")),
            }
        })
        .collect();
    vec![
        json!(name(svc)),
        json!(ty),
        json!(none_if_empty(cluster_ip)),
        json!(service_external_ip(svc)),
        json!(none_if_empty(&ports.join(","))),
        json!(ctx.age(svc)),
        json!(format_labels(svc.pointer("/spec/selector"))),
    ]
    .into()
}

/// Upstream's `listWithMoreString`: at most three entries then `+ N more...`.
fn list_with_more(list: &[String], count: usize, empty: &str) -> String {
    const MAX: usize = 3;
    let shown = list.iter().take(MAX).cloned().collect::<Vec<_>>().join(",");
    if count > MAX {
        format!("{shown} + {} more...", count - MAX)
    } else if shown.is_empty() {
        empty.to_string()
    } else {
        shown
    }
}

fn join_host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// Upstream's `formatEndpoints`: `ip:port` per address and port.
fn print_endpoints(ep: &Value, ctx: &Ctx) -> Row {
    let subsets = arr_at(ep, "/subsets");
    let text = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        let mut list = Vec::new();
        for ss in subsets {
            let addrs: Vec<&str> = arr_at(ss, "/addresses")
                .iter()
                .map(|a| str_at(a, "/ip"))
                .collect();
            let ports = arr_at(ss, "/ports");
            if ports.is_empty() {
                list.extend(addrs.iter().map(|a| a.to_string()));
            }
            for p in ports {
                list.extend(addrs.iter().map(|a| join_host_port(a, int_at(p, "/port"))));
            }
        }
        list_with_more(&list, list.len(), "")
    };
    vec![json!(name(ep)), json!(text), json!(ctx.age(ep))].into()
}

fn print_endpoint_slice(es: &Value, ctx: &Ctx) -> Row {
    let ports: Vec<String> = arr_at(es, "/ports")
        .iter()
        .map(|p| match p.get("port").and_then(Value::as_i64) {
            Some(n) => n.to_string(),
            None => p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("*")
                .to_string(),
        })
        .collect();
    let addrs: Vec<String> = arr_at(es, "/endpoints")
        .iter()
        .flat_map(|e| {
            arr_at(e, "/addresses")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    vec![
        json!(name(es)),
        json!(str_at(es, "/addressType")),
        json!(list_with_more(&ports, ports.len(), "<unset>")),
        json!(list_with_more(&addrs, addrs.len(), "<unset>")),
        json!(ctx.age(es)),
    ]
    .into()
}

fn print_lease(lease: &Value, ctx: &Ctx) -> Row {
    vec![
        json!(name(lease)),
        json!(str_at(lease, "/spec/holderIdentity")),
        json!(ctx.age(lease)),
    ]
    .into()
}

fn print_component_status(cs: &Value, _ctx: &Ctx) -> Row {
    let (mut status, mut message, mut error) = ("Unknown", "", "");
    if let Some(c) = arr_at(cs, "/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == "Healthy")
    {
        status = if str_at(c, "/status") == "True" {
            "Healthy"
        } else {
            "Unhealthy"
        };
        message = str_at(c, "/message");
        error = str_at(c, "/error");
    }
    vec![json!(name(cs)), json!(status), json!(message), json!(error)].into()
}

fn map_len(obj: &Value, ptr: &str) -> usize {
    obj.pointer(ptr)
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len)
}

fn print_config_map(cm: &Value, ctx: &Ctx) -> Row {
    let data = map_len(cm, "/data") + map_len(cm, "/binaryData");
    vec![json!(name(cm)), json!(data), json!(ctx.age(cm))].into()
}

fn print_secret(secret: &Value, ctx: &Ctx) -> Row {
    let data = map_len(secret, "/data") + map_len(secret, "/stringData");
    vec![
        json!(name(secret)),
        json!(str_at(secret, "/type")),
        json!(data),
        json!(ctx.age(secret)),
    ]
    .into()
}

fn print_service_account(sa: &Value, ctx: &Ctx) -> Row {
    vec![
        json!(name(sa)),
        json!(arr_at(sa, "/secrets").len()),
        json!(ctx.age(sa)),
    ]
    .into()
}
