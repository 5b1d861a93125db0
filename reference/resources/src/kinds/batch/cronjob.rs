//! CronJob: schedule defaults, validation (an update accepts `TZ=` in a schedule only when
//! the stored one had it, as upstream's `ValidateCronJobUpdate`), an empty status on
//! create, the printer.

use crate::registry::{ALL, STD};
use crate::strategy::{Strategy, TypeFns, collect, empty_status};
use crate::table::{Column, Printer};
use crate::validation::Cause;
use crate::{ResourceInfo, defaults, defaults::DefaultsConfig, table, validation};
use serde_json::Value;

pub struct CronJob;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "batch",
    "CronJob",
    "cronjobs",
    "cronjob",
    true,
    &["cj"],
    ALL,
    &["status"],
    STD,
    &CronJob,
);

impl Strategy for CronJob {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::batch::v1::CronJob>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::cronjob::cron_job(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::cronjob::cron_job(obj, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        collect(|errs| validation::cronjob::cron_job_update(old, new, errs))
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        empty_status(obj);
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cronjob::cron_jobs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cron_job(name: &str, schedule: &str) -> Value {
        let mut obj = json!({
            "metadata": {"name": name, "namespace": "default", "resourceVersion": "1"},
            "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}},
        });
        crate::defaults::apply_defaults(&INFO, &mut obj, &Default::default());
        obj
    }

    fn messages(causes: Vec<Cause>) -> Vec<String> {
        causes
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    const TZ_REFUSED: &str = "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead";

    #[test]
    fn create_refuses_a_time_zone_in_the_schedule() {
        let obj = cron_job("cj", "TZ=UTC 0 * * * *");
        assert_eq!(
            messages(crate::validation::validate_create(&INFO, &obj)),
            [TZ_REFUSED]
        );
    }

    #[test]
    fn update_refuses_a_time_zone_added_to_the_schedule() {
        let old = cron_job("cj", "0 * * * *");
        let new = cron_job("cj", "TZ=UTC 0 * * * *");
        assert_eq!(
            messages(crate::validation::validate_update(&INFO, &old, &new)),
            [TZ_REFUSED]
        );
    }

    #[test]
    fn update_keeps_a_time_zone_the_stored_schedule_had() {
        let old = cron_job("cj", "TZ=UTC 0 * * * *");
        let mut new = old.clone();
        new["metadata"]["labels"] = json!({"a": "b"});
        assert!(crate::validation::validate_update(&INFO, &old, &new).is_empty());
        // With the timeZone field as well, the two conflict.
        new["spec"]["timeZone"] = json!("Etc/UTC");
        assert_eq!(
            messages(crate::validation::validate_update(&INFO, &old, &new)),
            [
                "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use both timeZone field and TZ or CRON_TZ in schedule"
            ]
        );
    }

    #[test]
    fn update_skips_the_name_length_limit() {
        let long = "c".repeat(60);
        let old = cron_job(&long, "0 * * * *");
        assert!(!crate::validation::validate_create(&INFO, &old).is_empty());
        assert!(crate::validation::validate_update(&INFO, &old, &old.clone()).is_empty());
    }
}
