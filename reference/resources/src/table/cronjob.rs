//! The CronJob printer (upstream `printCronJob`): NAME, SCHEDULE, TIMEZONE, SUSPEND,
//! ACTIVE, LAST SCHEDULE, AGE, and under `-o wide` the template's containers, images and
//! selector.

use super::{Column, Ctx, Printer, Row, age_col, arr_at, col, doc, name, name_col, str_at};
use k8s_openapi::api::batch::v1 as batch;
use serde_json::{Value, json};

/// The columns and row printer of cron jobs.
pub(crate) fn cron_jobs() -> (Vec<Column>, Printer) {
    let spec = doc::<batch::CronJobSpec>;
    let status = doc::<batch::CronJobStatus>;
    (
        vec![
            name_col(),
            col("Schedule", "string", 0, spec("schedule")),
            col("Timezone", "string", 0, spec("timeZone")),
            col("Suspend", "boolean", 0, spec("suspend")),
            col("Active", "integer", 0, status("active")),
            col("Last Schedule", "string", 0, status("lastScheduleTime")),
            age_col(),
            col(
                "Containers",
                "string",
                1,
                "Names of each container in the template.",
            ),
            col(
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
            col("Selector", "string", 1, doc::<batch::JobSpec>("selector")),
        ],
        print_cron_job,
    )
}

fn print_cron_job(cj: &Value, ctx: &Ctx) -> Row {
    let last = match cj
        .pointer("/status/lastScheduleTime")
        .and_then(Value::as_str)
    {
        Some(t) => ctx.since(Some(t)),
        None => "<none>".to_string(),
    };
    let zone = cj
        .pointer("/spec/timeZone")
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let suspend = match cj.pointer("/spec/suspend").and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let containers = arr_at(cj, "/spec/jobTemplate/spec/template/spec/containers");
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, "/image")).collect();
    // Job templates never carry a selector (validation forbids it): FormatLabelSelector
    // of nil prints <none>.
    vec![
        json!(name(cj)),
        json!(str_at(cj, "/spec/schedule")),
        json!(zone),
        json!(suspend),
        json!(arr_at(cj, "/status/active").len()),
        json!(last),
        json!(ctx.age(cj)),
        json!(names.join(",")),
        json!(images.join(",")),
        json!("<none>"),
    ]
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cronjobs_print_as_upstream() {
        let (cols, print) = cron_jobs();
        let names: Vec<&str> = cols
            .iter()
            .filter(|c| c.priority == 0)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            [
                "Name",
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age"
            ]
        );
        let now = super::super::parse_time("2024-01-01T00:10:00Z").unwrap();
        let cj = json!({"metadata": {"name": "tick", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"schedule": "*/1 * * * *", "suspend": false, "jobTemplate": {"spec": {
                "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "tick-1"}], "lastScheduleTime": "2024-01-01T00:09:00Z"}});
        let row = print(&cj, &Ctx { now });
        assert_eq!(
            row.cells,
            [
                json!("tick"),
                json!("*/1 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("60s"),
                json!("10m"),
                json!("c"),
                json!("busybox"),
                json!("<none>")
            ]
        );
    }
}
