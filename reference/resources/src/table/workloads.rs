//! Table printers for controllers: deployments, replica sets, replication controllers,
//! daemon sets, stateful sets, jobs and controller revisions, as upstream's
//! `printDeployment`, `printReplicaSet`... print them.

use super::{
    Column, Ctx, Printer, Row, age_col, arr_at, col, doc, format_labels, int_at, name, name_col,
    parse_time, str_at,
};
use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
use refkube_helpers::labels::LabelSelector;
use serde_json::{Value, json};

const CONTAINERS_DOC: &str = "Names of each container in the template.";
const IMAGES_DOC: &str = "Images referenced by each container in the template.";

fn containers() -> Column {
    col("Containers", "string", 1, CONTAINERS_DOC)
}

fn images() -> Column {
    col("Images", "string", 1, IMAGES_DOC)
}

/// The columns and row printer of deployments.
pub(crate) fn deployments() -> (Vec<Column>, Printer) {
    (
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
    )
}

/// The columns and row printer of replica sets.
pub(crate) fn replica_sets() -> (Vec<Column>, Printer) {
    replica_set_like(print_replica_set)
}

/// Replication controllers print as replica sets do.
pub(crate) fn replication_controllers() -> (Vec<Column>, Printer) {
    replica_set_like(print_replication_controller)
}

fn replica_set_like(print: Printer) -> (Vec<Column>, Printer) {
    (
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
        print,
    )
}

/// The columns and row printer of daemon sets.
pub(crate) fn daemon_sets() -> (Vec<Column>, Printer) {
    (
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
    )
}

/// The columns and row printer of stateful sets.
pub(crate) fn stateful_sets() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Ready", "string", 0, "Number of the pod with ready state"),
            age_col(),
            containers(),
            images(),
        ],
        print_stateful_set,
    )
}

/// The columns and row printer of jobs.
pub(crate) fn jobs() -> (Vec<Column>, Printer) {
    (
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
    )
}

/// The columns and row printer of controller revisions.
pub(crate) fn controller_revisions() -> (Vec<Column>, Printer) {
    (
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
    )
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

pub(super) fn has_condition(obj: &Value, ty: &str) -> bool {
    arr_at(obj, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == ty && str_at(c, "/status") == "True")
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
