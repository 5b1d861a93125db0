//! Table printers for workloads: pods, deployments, replica sets, replication
//! controllers, daemon sets, stateful sets, jobs and controller revisions, as upstream's
//! `printPod`, `printDeployment`... print them.

use super::{
    Column, Ctx, Printer, Row, age_col, arr_at, col, format_labels, int_at, name, name_col,
    parse_time, str_at,
};
use crate::selector::LabelSelector;
use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
use serde_json::{Value, json};

const CONTAINERS_DOC: &str = "Names of each container in the template.";
const IMAGES_DOC: &str = "Images referenced by each container in the template.";

pub(super) fn printer(group: &str, plural: &str) -> Option<(Vec<Column>, Printer)> {
    use super::doc;
    let containers = || col("Containers", "string", 1, CONTAINERS_DOC);
    let images = || col("Images", "string", 1, IMAGES_DOC);
    Some(match (group, plural) {
        ("", "pods") => (
            vec![
                name_col(),
                col(
                    "Ready",
                    "string",
                    0,
                    "The aggregate readiness state of this pod for accepting traffic.",
                ),
                col(
                    "Status",
                    "string",
                    0,
                    "The aggregate status of the containers in this pod.",
                ),
                col(
                    "Restarts",
                    "string",
                    0,
                    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                ),
                age_col(),
                col("IP", "string", 1, doc::<core::PodStatus>("podIP")),
                col("Node", "string", 1, doc::<core::PodSpec>("nodeName")),
                col(
                    "Nominated Node",
                    "string",
                    1,
                    doc::<core::PodStatus>("nominatedNodeName"),
                ),
                col(
                    "Readiness Gates",
                    "string",
                    1,
                    doc::<core::PodSpec>("readinessGates"),
                ),
            ],
            print_pod as Printer,
        ),
        ("apps", "deployments") => (
            vec![
                name_col(),
                col("Ready", "string", 0, "Number of the pod with ready state"),
                col(
                    "Up-to-date",
                    "integer",
                    0,
                    doc::<apps::DeploymentStatus>("updatedReplicas"),
                ),
                col(
                    "Available",
                    "integer",
                    0,
                    doc::<apps::DeploymentStatus>("availableReplicas"),
                ),
                age_col(),
                containers(),
                images(),
                col(
                    "Selector",
                    "string",
                    1,
                    doc::<apps::DeploymentSpec>("selector"),
                ),
            ],
            print_deployment,
        ),
        ("apps", "replicasets") | ("", "replicationcontrollers") => (
            vec![
                name_col(),
                col(
                    "Desired",
                    "integer",
                    0,
                    doc::<apps::ReplicaSetSpec>("replicas"),
                ),
                col(
                    "Current",
                    "integer",
                    0,
                    doc::<apps::ReplicaSetStatus>("replicas"),
                ),
                col(
                    "Ready",
                    "integer",
                    0,
                    doc::<apps::ReplicaSetStatus>("readyReplicas"),
                ),
                age_col(),
                containers(),
                images(),
                col(
                    "Selector",
                    "string",
                    1,
                    doc::<apps::ReplicaSetSpec>("selector"),
                ),
            ],
            if plural == "replicasets" {
                print_replica_set
            } else {
                print_replication_controller
            },
        ),
        ("apps", "daemonsets") => (
            vec![
                name_col(),
                col(
                    "Desired",
                    "integer",
                    0,
                    doc::<apps::DaemonSetStatus>("desiredNumberScheduled"),
                ),
                col(
                    "Current",
                    "integer",
                    0,
                    doc::<apps::DaemonSetStatus>("currentNumberScheduled"),
                ),
                col(
                    "Ready",
                    "integer",
                    0,
                    doc::<apps::DaemonSetStatus>("numberReady"),
                ),
                col(
                    "Up-to-date",
                    "integer",
                    0,
                    doc::<apps::DaemonSetStatus>("updatedNumberScheduled"),
                ),
                col(
                    "Available",
                    "integer",
                    0,
                    doc::<apps::DaemonSetStatus>("numberAvailable"),
                ),
                col(
                    "Node Selector",
                    "string",
                    0,
                    doc::<core::PodSpec>("nodeSelector"),
                ),
                age_col(),
                containers(),
                images(),
                col(
                    "Selector",
                    "string",
                    1,
                    doc::<apps::DaemonSetSpec>("selector"),
                ),
            ],
            print_daemon_set,
        ),
        ("apps", "statefulsets") => (
            vec![
                name_col(),
                col("Ready", "string", 0, "Number of the pod with ready state"),
                age_col(),
                containers(),
                images(),
            ],
            print_stateful_set,
        ),
        ("batch", "jobs") => (
            vec![
                name_col(),
                col("Status", "string", 0, "Status of the job."),
                col(
                    "Completions",
                    "string",
                    0,
                    "The completion status of the job.",
                ),
                col(
                    "Duration",
                    "string",
                    0,
                    "Time required to complete the job.",
                ),
                age_col(),
                containers(),
                images(),
                col("Selector", "string", 1, doc::<batch::JobSpec>("selector")),
            ],
            print_job,
        ),
        ("apps", "controllerrevisions") => (
            vec![
                name_col(),
                col("Controller", "string", 0, "Controller of the object"),
                col(
                    "Revision",
                    "integer",
                    0,
                    doc::<apps::ControllerRevision>("revision"),
                ),
                age_col(),
            ],
            print_controller_revision,
        ),
        _ => return None,
    })
}

/// Upstream's `layoutContainerCells`: names and images joined by commas.
fn container_cells(obj: &Value, ptr: &str) -> [Value; 2] {
    let containers = arr_at(obj, ptr);
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, "/image")).collect();
    [json!(names.join(",")), json!(images.join(","))]
}

/// A `metav1.LabelSelector` as upstream prints it (`LabelSelectorAsSelector(..).String()`).
fn selector_string(sel: Option<&Value>) -> String {
    match sel.map(LabelSelector::from_object) {
        Some(Ok(Some(s))) => s.to_string(),
        Some(Err(_)) => "<error>".to_string(),
        _ => String::new(),
    }
}

fn is_restartable_init(spec_init: &[Value], name: &str) -> bool {
    spec_init
        .iter()
        .any(|c| str_at(c, "/name") == name && str_at(c, "/restartPolicy") == "Always")
}

fn terminated_reason(t: &Value, prefix: &str) -> String {
    let reason = str_at(t, "/reason");
    if !reason.is_empty() {
        format!("{prefix}{reason}")
    } else if int_at(t, "/signal") != 0 {
        format!("{prefix}Signal:{}", int_at(t, "/signal"))
    } else {
        format!("{prefix}ExitCode:{}", int_at(t, "/exitCode"))
    }
}

fn has_condition(obj: &Value, ty: &str) -> bool {
    arr_at(obj, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == ty && str_at(c, "/status") == "True")
}

/// Upstream's `printPod`: READY, STATUS (reason, Init:..., Terminating...), RESTARTS.
fn print_pod(pod: &Value, ctx: &Ctx) -> Row {
    let init_specs = arr_at(pod, "/spec/initContainers");
    let mut total = arr_at(pod, "/spec/containers").len();
    total += init_specs
        .iter()
        .filter(|c| str_at(c, "/restartPolicy") == "Always")
        .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut last_restart: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut sidecar_restarts = 0;
    let mut last_sidecar_restart: Option<chrono::DateTime<chrono::Utc>> = None;
    let phase = str_at(pod, "/status/phase");
    let mut reason = phase.to_string();
    if !str_at(pod, "/status/reason").is_empty() {
        reason = str_at(pod, "/status/reason").to_string();
    }
    if arr_at(pod, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".to_string();
    }
    let finished = |c: &Value| {
        c.pointer("/lastState/terminated/finishedAt")
            .and_then(Value::as_str)
            .and_then(parse_time)
    };
    let later = |a: Option<chrono::DateTime<chrono::Utc>>, b| match (a, b) {
        (Some(a), Some(b)) => Some(if b > a { b } else { a }),
        (a, b) => a.or(b),
    };

    let mut initializing = false;
    for (i, c) in arr_at(pod, "/status/initContainerStatuses")
        .iter()
        .enumerate()
    {
        restarts += int_at(c, "/restartCount");
        last_restart = later(last_restart, finished(c));
        let sidecar = is_restartable_init(init_specs, str_at(c, "/name"));
        if sidecar {
            sidecar_restarts += int_at(c, "/restartCount");
            last_sidecar_restart = later(last_sidecar_restart, finished(c));
        }
        let terminated = c.pointer("/state/terminated");
        let waiting_reason = str_at(c, "/state/waiting/reason");
        if terminated.is_some_and(|t| int_at(t, "/exitCode") == 0) {
            continue;
        } else if sidecar && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        } else if let Some(t) = terminated {
            reason = terminated_reason(t, "Init:");
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    if !initializing || has_condition(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in arr_at(pod, "/status/containerStatuses").iter().rev() {
            restarts += int_at(c, "/restartCount");
            last_restart = later(last_restart, finished(c));
            let waiting_reason = str_at(c, "/state/waiting/reason");
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = c.pointer("/state/terminated") {
                reason = terminated_reason(t, "");
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if has_condition(pod, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .to_string();
        }
    }

    let deleting = pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    if deleting && str_at(pod, "/status/reason") == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }

    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => {
            format!("{restarts} ({} ago)", super::human_duration(ctx.now - t))
        }
        _ => restarts.to_string(),
    };

    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let mut ip = arr_at(pod, "/status/podIPs")
        .first()
        .map(|p| str_at(p, "/ip"))
        .unwrap_or_default();
    if ip.is_empty() {
        ip = str_at(pod, "/status/podIP");
    }
    let gates = arr_at(pod, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conditions = arr_at(pod, "/status/conditions");
        let true_count = gates
            .iter()
            .filter(|g| {
                let ty = str_at(g, "/conditionType");
                conditions
                    .iter()
                    .find(|c| str_at(c, "/type") == ty)
                    .is_some_and(|c| str_at(c, "/status") == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    let conditions = match phase {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    };
    Row {
        cells: vec![
            json!(name(pod)),
            json!(format!("{ready}/{total}")),
            json!(reason),
            json!(restarts_str),
            json!(ctx.age(pod)),
            json!(or_none(ip)),
            json!(or_none(str_at(pod, "/spec/nodeName"))),
            json!(or_none(str_at(pod, "/status/nominatedNodeName"))),
            json!(readiness_gates),
        ],
        conditions,
    }
}

fn print_deployment(d: &Value, ctx: &Ctx) -> Row {
    let [names, images] = container_cells(d, "/spec/template/spec/containers");
    vec![
        json!(name(d)),
        json!(format!(
            "{}/{}",
            int_at(d, "/status/readyReplicas"),
            int_at(d, "/spec/replicas")
        )),
        json!(int_at(d, "/status/updatedReplicas")),
        json!(int_at(d, "/status/availableReplicas")),
        json!(ctx.age(d)),
        names,
        images,
        json!(selector_string(d.pointer("/spec/selector"))),
    ]
    .into()
}

fn print_replica_set(rs: &Value, ctx: &Ctx) -> Row {
    replica_row(rs, ctx, selector_string(rs.pointer("/spec/selector")))
}

/// Replication controllers select with a plain map (`labels.SelectorFromSet`).
fn print_replication_controller(rc: &Value, ctx: &Ctx) -> Row {
    replica_row(
        rc,
        ctx,
        super::map_pairs(rc.pointer("/spec/selector")).join(","),
    )
}

fn replica_row(rs: &Value, ctx: &Ctx, selector: String) -> Row {
    let [names, images] = container_cells(rs, "/spec/template/spec/containers");
    vec![
        json!(name(rs)),
        json!(int_at(rs, "/spec/replicas")),
        json!(int_at(rs, "/status/replicas")),
        json!(int_at(rs, "/status/readyReplicas")),
        json!(ctx.age(rs)),
        names,
        images,
        json!(selector),
    ]
    .into()
}

fn print_daemon_set(ds: &Value, ctx: &Ctx) -> Row {
    let [names, images] = container_cells(ds, "/spec/template/spec/containers");
    vec![
        json!(name(ds)),
        json!(int_at(ds, "/status/desiredNumberScheduled")),
        json!(int_at(ds, "/status/currentNumberScheduled")),
        json!(int_at(ds, "/status/numberReady")),
        json!(int_at(ds, "/status/updatedNumberScheduled")),
        json!(int_at(ds, "/status/numberAvailable")),
        json!(format_labels(
            ds.pointer("/spec/template/spec/nodeSelector")
        )),
        json!(ctx.age(ds)),
        names,
        images,
        json!(selector_string(ds.pointer("/spec/selector"))),
    ]
    .into()
}

fn print_stateful_set(s: &Value, ctx: &Ctx) -> Row {
    let [names, images] = container_cells(s, "/spec/template/spec/containers");
    vec![
        json!(name(s)),
        json!(format!(
            "{}/{}",
            int_at(s, "/status/readyReplicas"),
            int_at(s, "/spec/replicas")
        )),
        json!(ctx.age(s)),
        names,
        images,
    ]
    .into()
}

/// Upstream's `printJob` (1.28+): STATUS from conditions, COMPLETIONS, DURATION.
fn print_job(job: &Value, ctx: &Ctx) -> Row {
    let succeeded = int_at(job, "/status/succeeded");
    let completions = match job.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = int_at(job, "/spec/parallelism");
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let start = job
        .pointer("/status/startTime")
        .and_then(Value::as_str)
        .and_then(parse_time);
    let end = job
        .pointer("/status/completionTime")
        .and_then(Value::as_str)
        .and_then(parse_time);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(s), None) => super::human_duration(ctx.now - s),
        (Some(s), Some(e)) => super::human_duration(e - s),
    };
    let status = if has_condition(job, "Complete") {
        "Complete"
    } else if has_condition(job, "Failed") {
        "Failed"
    } else if job
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating"
    } else if has_condition(job, "Suspended") {
        "Suspended"
    } else if has_condition(job, "FailureTarget") {
        "FailureTarget"
    } else if has_condition(job, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    };
    let [names, images] = container_cells(job, "/spec/template/spec/containers");
    vec![
        json!(name(job)),
        json!(status),
        json!(completions),
        json!(duration),
        json!(ctx.age(job)),
        names,
        images,
        json!(selector_string(job.pointer("/spec/selector"))),
    ]
    .into()
}

/// CONTROLLER is `<kind>.<group>/<name>` of the controlling owner, lowercased kind.
fn print_controller_revision(cr: &Value, ctx: &Ctx) -> Row {
    let controller = arr_at(cr, "/metadata/ownerReferences")
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|o| {
            let group = str_at(o, "/apiVersion")
                .rsplit_once('/')
                .map(|(g, _)| g)
                .unwrap_or_default();
            let kind = str_at(o, "/kind");
            let gk = if group.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}.{group}")
            };
            format!("{}/{}", gk.to_lowercase(), str_at(o, "/name"))
        })
        .unwrap_or_else(|| "<none>".to_string());
    vec![
        json!(name(cr)),
        json!(controller),
        json!(int_at(cr, "/revision")),
        json!(ctx.age(cr)),
    ]
    .into()
}
