//! `SetDefaults_CronJob`: concurrencyPolicy Allow, suspend false, history limits 3 and
//! 1; the job template's pod spec gets the pod defaults (its Job spec does not: the
//! Job's own defaults apply when the controller creates it).

use super::{obj_mut, set_if_absent, set_if_empty, template};
use serde_json::{Value, json};

pub(crate) fn cron_job(obj: &mut Value) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    set_if_empty(spec, "concurrencyPolicy", json!("Allow"));
    set_if_absent(spec, "suspend", json!(false));
    set_if_absent(spec, "successfulJobsHistoryLimit", json!(3));
    set_if_absent(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = spec
        .pointer_mut("/jobTemplate/spec")
        .filter(|s| s.is_object())
    {
        template(job_spec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_defaults_fill_what_is_unset() {
        let mut cj = json!({"spec": {"schedule": "@hourly", "jobTemplate": {"spec": {
            "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}}});
        cron_job(&mut cj);
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(cj["spec"]["suspend"], false);
        assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
        assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
        let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(pod["dnsPolicy"], "ClusterFirst");
        assert!(
            cj["spec"]["jobTemplate"]["spec"]
                .get("completions")
                .is_none()
        );
        let mut set =
            json!({"spec": {"concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 0}});
        cron_job(&mut set);
        assert_eq!(set["spec"]["concurrencyPolicy"], "Forbid");
        assert_eq!(set["spec"]["successfulJobsHistoryLimit"], 0);
    }
}
