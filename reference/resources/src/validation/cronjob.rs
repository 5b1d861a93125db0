//! CronJob validation (upstream `ValidateCronJobCreate` / `Update` in
//! `pkg/apis/batch/validation`): the name's 52-character limit, the schedule as
//! robfig/cron parses it, the time zone, the concurrency policy, history limits and the
//! job template. An update skips the name limit, checks the time zone only when it
//! changed, and accepts `TZ=`/`CRON_TZ=` in the schedule when the stored schedule had it
//! already (objects from before upstream refused it).

use super::{Errs, child, pod, str_at};
use crate::cron;
use serde_json::{Value, json};

/// 63 (a Job name) less the 11 characters of `-<minutes>` the controller appends.
const MAX_NAME: usize = 52;
const POLICIES: &[&str] = &["Allow", "Forbid", "Replace"];

pub fn cron_job(obj: &Value, errs: &mut Errs) {
    spec(obj, None, errs);
    let name = str_at(obj, "/metadata/name");
    if name.len() > MAX_NAME {
        errs.invalid(
            "metadata.name",
            &json!(name),
            "must be no more than 52 characters",
        );
    }
}

/// `ValidateCronJobUpdate`: the spec rules against the stored spec, no name limit.
pub fn cron_job_update(old: &Value, new: &Value, errs: &mut Errs) {
    spec(new, Some(old.get("spec").unwrap_or(&Value::Null)), errs);
}

fn spec(obj: &Value, old_spec: Option<&Value>, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let schedule = str_at(spec, "/schedule");
    let zone = spec.get("timeZone").filter(|z| !z.is_null());
    if schedule.is_empty() {
        errs.required("spec.schedule", "");
    } else {
        let allow_tz = old_spec.is_some_and(|o| str_at(o, "/schedule").contains("TZ"));
        schedule_format(schedule, allow_tz, zone.is_some(), errs);
    }
    errs.non_negative(
        obj,
        "/spec/startingDeadlineSeconds",
        "spec.startingDeadlineSeconds",
    );
    let old_zone = old_spec
        .and_then(|o| o.get("timeZone"))
        .filter(|z| !z.is_null());
    if old_spec.is_none() || old_zone != zone {
        time_zone(zone, errs);
    }
    match spec.get("concurrencyPolicy").and_then(Value::as_str) {
        Some(p) if POLICIES.contains(&p) => {}
        None | Some("") => errs.required("spec.concurrencyPolicy", ""),
        Some(p) => errs.not_supported("spec.concurrencyPolicy", &json!(p), POLICIES),
    }
    job_template(spec.get("jobTemplate").unwrap_or(&Value::Null), errs);
    for f in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        errs.non_negative(obj, &format!("/spec/{f}"), &child("spec", f));
    }
}

fn schedule_format(schedule: &str, allow_tz: bool, has_zone: bool, errs: &mut Errs) {
    if let Err(e) = cron::parse_standard(schedule) {
        errs.invalid("spec.schedule", &json!(schedule), &e);
    }
    if allow_tz && schedule.contains("TZ") && has_zone {
        errs.invalid(
            "spec.schedule",
            &json!(schedule),
            "cannot use both timeZone field and TZ or CRON_TZ in schedule",
        );
    } else if !allow_tz && schedule.contains("TZ") {
        errs.invalid(
            "spec.schedule",
            &json!(schedule),
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        );
    }
}

/// A name part as the IANA naming rules allow (with the legacy digits and `+`).
fn valid_zone_part(p: &str) -> bool {
    (1..=14).contains(&p.len())
        && p != "."
        && p != ".."
        && !p.starts_with('-')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
}

fn time_zone(zone: Option<&Value>, errs: &mut Errs) {
    let Some(z) = zone else { return };
    let name = z.as_str().unwrap_or_default();
    let f = "spec.timeZone";
    if name.is_empty() {
        errs.invalid(f, z, "timeZone must be nil or non-empty string");
        return;
    }
    if !name.split('/').all(valid_zone_part) {
        errs.invalid(f, z, &format!("unknown time zone {name}"));
        return;
    }
    if name.eq_ignore_ascii_case("Local") {
        errs.invalid(
            f,
            z,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        );
    }
    if let Err(e) = cron::load_zone(name) {
        errs.invalid(f, z, &e);
    }
}

/// `ValidateJobTemplateSpec`: a job spec whose selector the Job will generate.
fn job_template(tpl: &Value, errs: &mut Errs) {
    let spec = tpl.get("spec").unwrap_or(&Value::Null);
    let at = "spec.jobTemplate.spec";
    for f in ["parallelism", "completions", "backoffLimit"] {
        errs.non_negative(spec, &format!("/{f}"), &child(at, f));
    }
    if let Some(sel) = spec.get("selector").filter(|s| !s.is_null()) {
        errs.invalid(
            &child(at, "selector"),
            sel,
            "`selector` will be auto-generated",
        );
    }
    if spec.get("manualSelector") == Some(&json!(true)) {
        errs.not_supported(
            &child(at, "manualSelector"),
            &json!(true),
            &["nil", "false"],
        );
    }
    let pod_spec = spec.pointer("/template/spec").unwrap_or(&Value::Null);
    pod::pod_spec(pod_spec, &format!("{at}.template.spec"), errs);
    let restart = str_at(pod_spec, "/restartPolicy");
    if restart != "OnFailure" && restart != "Never" {
        errs.not_supported(
            &format!("{at}.template.spec.restartPolicy"),
            &json!(restart),
            &["OnFailure", "Never"],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cj(spec: Value) -> Value {
        let mut s = json!({"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox"}]}}}}});
        for (k, v) in spec.as_object().unwrap() {
            s[k] = v.clone();
        }
        let mut obj = json!({"metadata": {"name": "cj", "namespace": "default"}, "spec": s});
        let info = crate::registry::lookup("batch", "v1", "cronjobs").unwrap();
        crate::defaults::apply_defaults(info, &mut obj, &Default::default());
        obj
    }

    fn check(obj: &Value) -> Vec<String> {
        let mut errs = Errs::default();
        cron_job(obj, &mut errs);
        errs.0
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn a_valid_cronjob_passes() {
        assert_eq!(check(&cj(json!({}))), Vec::<String>::new());
        assert!(check(&cj(json!({"schedule": "@hourly", "timeZone": "UTC"}))).is_empty());
    }

    #[test]
    fn schedules_are_parsed_as_robfig_does() {
        assert_eq!(
            check(&cj(json!({"schedule": "61 * * * *"}))),
            [
                "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"
            ]
        );
        assert_eq!(
            check(&cj(json!({"schedule": "TZ=UTC * * * * *"}))),
            [
                "spec.schedule: Invalid value: \"TZ=UTC * * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
            ]
        );
        assert_eq!(
            check(&cj(json!({"schedule": ""}))),
            ["spec.schedule: Required value"]
        );
    }

    #[test]
    fn time_zones_and_policies_use_upstream_messages() {
        assert_eq!(
            check(&cj(json!({"timeZone": ""}))),
            ["spec.timeZone: Invalid value: \"\": timeZone must be nil or non-empty string"]
        );
        assert_eq!(
            check(&cj(json!({"timeZone": "Mars/Olympus"}))),
            ["spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"]
        );
        assert_eq!(
            check(&cj(json!({"concurrencyPolicy": "Sometimes"}))),
            [
                "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\""
            ]
        );
        assert_eq!(
            check(&cj(json!({"successfulJobsHistoryLimit": -1}))),
            [
                "spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0"
            ]
        );
    }

    #[test]
    fn long_names_and_always_restarts_are_rejected() {
        let mut obj = cj(json!({}));
        obj["metadata"]["name"] = json!("c".repeat(53));
        assert!(check(&obj)[0].ends_with("must be no more than 52 characters"));
        let mut obj = cj(json!({}));
        obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        assert_eq!(
            check(&obj),
            [
                "spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
            ]
        );
    }
}
