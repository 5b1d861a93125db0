//! Table printers for the non-workload kinds: nodes, namespaces, services, endpoints,
//! endpoint slices, events (core and events.k8s.io), leases, volumes and claims,
//! component statuses, config maps, secrets and service accounts.

use super::{
    Column, Ctx, Printer, Row, age_col, arr_at, col, doc, format_labels, int_at, name, name_col,
    str_at,
};
use k8s_openapi::api::{
    coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
};
use serde_json::{Value, json};

pub(super) fn printer(group: &str, plural: &str) -> Option<(Vec<Column>, Printer)> {
    Some(match (group, plural) {
        ("", "nodes") => (
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
        ),
        ("", "namespaces") => (
            vec![
                name_col(),
                col("Status", "string", 0, "The status of the namespace"),
                age_col(),
            ],
            print_namespace,
        ),
        ("", "services") => (
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
        ),
        ("", "endpoints") => (
            vec![
                name_col(),
                col("Endpoints", "string", 0, doc::<core::Endpoints>("subsets")),
                age_col(),
            ],
            print_endpoints,
        ),
        ("discovery.k8s.io", "endpointslices") => (
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
        ),
        (_, "events") => (
            vec![
                col(
                    "Last Seen",
                    "string",
                    0,
                    doc::<core::Event>("lastTimestamp"),
                ),
                col("Type", "string", 0, doc::<core::Event>("type")),
                col("Reason", "string", 0, doc::<core::Event>("reason")),
                col("Object", "string", 0, doc::<core::Event>("involvedObject")),
                col(
                    "Subobject",
                    "string",
                    1,
                    doc::<core::ObjectReference>("fieldPath"),
                ),
                col("Source", "string", 1, doc::<core::Event>("source")),
                col("Message", "string", 0, doc::<core::Event>("message")),
                col(
                    "First Seen",
                    "string",
                    1,
                    doc::<core::Event>("firstTimestamp"),
                ),
                col("Count", "string", 1, doc::<core::Event>("count")),
                Column {
                    format: "name",
                    priority: 1,
                    ..name_col()
                },
            ],
            if group.is_empty() {
                print_event
            } else {
                print_events_v1_event
            },
        ),
        ("coordination.k8s.io", "leases") => (
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
        ),
        ("", "persistentvolumes") => (
            vec![
                name_col(),
                col(
                    "Capacity",
                    "string",
                    0,
                    doc::<core::PersistentVolumeSpec>("capacity"),
                ),
                col(
                    "Access Modes",
                    "string",
                    0,
                    doc::<core::PersistentVolumeSpec>("accessModes"),
                ),
                col(
                    "Reclaim Policy",
                    "string",
                    0,
                    doc::<core::PersistentVolumeSpec>("persistentVolumeReclaimPolicy"),
                ),
                col(
                    "Status",
                    "string",
                    0,
                    doc::<core::PersistentVolumeStatus>("phase"),
                ),
                col(
                    "Claim",
                    "string",
                    0,
                    doc::<core::PersistentVolumeSpec>("claimRef"),
                ),
                col("StorageClass", "string", 0, "StorageClass of the pv"),
                col(
                    "VolumeAttributesClass",
                    "string",
                    0,
                    doc::<core::PersistentVolumeSpec>("volumeAttributesClassName"),
                ),
                col(
                    "Reason",
                    "string",
                    0,
                    doc::<core::PersistentVolumeStatus>("reason"),
                ),
                age_col(),
                col(
                    "VolumeMode",
                    "string",
                    1,
                    doc::<core::PersistentVolumeSpec>("volumeMode"),
                ),
            ],
            print_pv,
        ),
        ("", "persistentvolumeclaims") => (
            vec![
                name_col(),
                col(
                    "Status",
                    "string",
                    0,
                    doc::<core::PersistentVolumeClaimStatus>("phase"),
                ),
                col(
                    "Volume",
                    "string",
                    0,
                    doc::<core::PersistentVolumeClaimSpec>("volumeName"),
                ),
                col(
                    "Capacity",
                    "string",
                    0,
                    doc::<core::PersistentVolumeClaimStatus>("capacity"),
                ),
                col(
                    "Access Modes",
                    "string",
                    0,
                    doc::<core::PersistentVolumeClaimStatus>("accessModes"),
                ),
                col("StorageClass", "string", 0, "StorageClass of the pvc"),
                col(
                    "VolumeAttributesClass",
                    "string",
                    0,
                    doc::<core::PersistentVolumeClaimSpec>("volumeAttributesClassName"),
                ),
                age_col(),
                col(
                    "VolumeMode",
                    "string",
                    1,
                    doc::<core::PersistentVolumeClaimSpec>("volumeMode"),
                ),
            ],
            print_pvc,
        ),
        ("", "componentstatuses") => (
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
        ),
        ("", "configmaps") => (
            vec![
                name_col(),
                col("Data", "integer", 0, doc::<core::ConfigMap>("data")),
                age_col(),
            ],
            print_config_map,
        ),
        ("", "secrets") => (
            vec![
                name_col(),
                col("Type", "string", 0, doc::<core::Secret>("type")),
                col("Data", "integer", 0, doc::<core::Secret>("data")),
                age_col(),
            ],
            print_secret,
        ),
        ("", "serviceaccounts") => (
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
        ),
        _ => return None,
    })
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

/// The fields `printEvent` reads, from either API (events.k8s.io names them differently).
struct EventView<'a> {
    first: Option<&'a str>,
    last: Option<&'a str>,
    event_time: Option<&'a str>,
    series: Option<&'a Value>,
    count: i64,
    object: &'a Value,
    component: &'a str,
    host: &'a str,
    message: &'a str,
}

fn print_event(ev: &Value, ctx: &Ctx) -> Row {
    let view = EventView {
        first: ev.get("firstTimestamp").and_then(Value::as_str),
        last: ev.get("lastTimestamp").and_then(Value::as_str),
        event_time: ev.get("eventTime").and_then(Value::as_str),
        series: ev.get("series").filter(|s| !s.is_null()),
        count: int_at(ev, "/count"),
        object: ev.get("involvedObject").unwrap_or(&Value::Null),
        component: first_non_empty(
            str_at(ev, "/source/component"),
            str_at(ev, "/reportingComponent"),
        ),
        host: first_non_empty(str_at(ev, "/source/host"), str_at(ev, "/reportingInstance")),
        message: str_at(ev, "/message"),
    };
    event_row(ev, &view, ctx)
}

fn print_events_v1_event(ev: &Value, ctx: &Ctx) -> Row {
    let view = EventView {
        first: ev.get("deprecatedFirstTimestamp").and_then(Value::as_str),
        last: ev.get("deprecatedLastTimestamp").and_then(Value::as_str),
        event_time: ev.get("eventTime").and_then(Value::as_str),
        series: ev.get("series").filter(|s| !s.is_null()),
        count: int_at(ev, "/deprecatedCount"),
        object: ev.get("regarding").unwrap_or(&Value::Null),
        component: first_non_empty(
            str_at(ev, "/deprecatedSource/component"),
            str_at(ev, "/reportingController"),
        ),
        host: first_non_empty(
            str_at(ev, "/deprecatedSource/host"),
            str_at(ev, "/reportingInstance"),
        ),
        message: str_at(ev, "/note"),
    };
    event_row(ev, &view, ctx)
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

fn event_row(ev: &Value, v: &EventView<'_>, ctx: &Ctx) -> Row {
    let first = if v.first.is_some() {
        ctx.since(v.first)
    } else {
        ctx.since(v.event_time)
    };
    let mut last = if v.last.is_some() {
        ctx.since(v.last)
    } else {
        first.clone()
    };
    let mut count = v.count;
    if let Some(series) = v.series {
        last = ctx.since(series.get("lastObservedTime").and_then(Value::as_str));
        count = int_at(series, "/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = str_at(v.object, "/kind").to_lowercase();
    let obj_name = str_at(v.object, "/name");
    let target = if obj_name.is_empty() {
        kind
    } else {
        format!("{kind}/{obj_name}")
    };
    let source = [v.component, v.host]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        json!(last),
        json!(str_at(ev, "/type")),
        json!(str_at(ev, "/reason")),
        json!(target),
        json!(str_at(v.object, "/fieldPath")),
        json!(source),
        json!(v.message.trim()),
        json!(first),
        json!(count),
        json!(name(ev)),
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

/// Upstream's `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    let mut out = Vec::new();
    for (mode, short) in [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ] {
        if has(mode) {
            out.push(short);
        }
    }
    out.join(",")
}

fn unset_if_missing(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .map_or_else(|| "<unset>".to_string(), str::to_string)
}

fn print_pv(pv: &Value, ctx: &Ctx) -> Row {
    let claim = match pv.pointer("/spec/claimRef") {
        Some(c) if !c.is_null() => format!("{}/{}", str_at(c, "/namespace"), str_at(c, "/name")),
        _ => String::new(),
    };
    let phase = if pv
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating"
    } else {
        str_at(pv, "/status/phase")
    };
    vec![
        json!(name(pv)),
        json!(str_at(pv, "/spec/capacity/storage")),
        json!(access_modes(arr_at(pv, "/spec/accessModes"))),
        json!(str_at(pv, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(str_at(pv, "/spec/storageClassName")),
        json!(unset_if_missing(
            pv.pointer("/spec/volumeAttributesClassName")
        )),
        json!(str_at(pv, "/status/reason")),
        json!(ctx.age(pv)),
        json!(unset_if_missing(pv.pointer("/spec/volumeMode"))),
    ]
    .into()
}

fn print_pvc(pvc: &Value, ctx: &Ctx) -> Row {
    let phase = if pvc
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating"
    } else {
        str_at(pvc, "/status/phase")
    };
    let volume = str_at(pvc, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            str_at(pvc, "/status/capacity/storage").to_string(),
            access_modes(arr_at(pvc, "/status/accessModes")),
        )
    };
    vec![
        json!(name(pvc)),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(str_at(pvc, "/spec/storageClassName")),
        json!(unset_if_missing(
            pvc.pointer("/spec/volumeAttributesClassName")
        )),
        json!(ctx.age(pvc)),
        json!(unset_if_missing(pvc.pointer("/spec/volumeMode"))),
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
