//! CronJob steps: the Jobs a CronJob runs, their upstream names, and its events, with
//! deadlines counted in schedule minutes (`Timings::schedule_minute`: a real minute on a
//! real cluster, a second on the embedded reference's fast CronJob clock).
//!
//! Entry points: the step functions.

use anyhow::anyhow;
use cucumber::then;
use kube::api::{DynamicObject, ListParams};

use super::{Outcome, field, name_of};
use crate::diagnostics;
use crate::wait;
use crate::world::KubeWorld;

const SCHEDULED: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

fn minutes(world: &KubeWorld, n: u32) -> std::time::Duration {
    world.timings.expect + world.timings.schedule_minute * n
}

/// The Jobs whose controller is the CronJob `cj`.
fn jobs_of<'a>(jobs: &'a [DynamicObject], cj: &str) -> Vec<&'a DynamicObject> {
    jobs.iter()
        .filter(|j| {
            j.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.controller == Some(true) && o.kind == "CronJob" && o.name == cj)
        })
        .collect()
}

fn succeeded(job: &DynamicObject) -> bool {
    let v = serde_json::to_value(job).unwrap_or_default();
    v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Complete" && c["status"] == "True")
}

/// Why a Job's name is not upstream's `<cronjob>-<scheduled time in minutes>`, if it is not.
fn misnamed(job: &DynamicObject, cj: &str) -> Option<String> {
    let name = name_of(job);
    let Some(stamp) = job
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SCHEDULED))
    else {
        return Some(format!("{name} has no {SCHEDULED} annotation"));
    };
    let Ok(t) = stamp.parse::<k8s_openapi::jiff::Timestamp>() else {
        return Some(format!("{name}: {SCHEDULED} {stamp:?} is not RFC 3339"));
    };
    let want = format!("{cj}-{}", t.as_second().div_euclid(60));
    (name != want).then(|| format!("{name} was scheduled for {stamp}, so upstream names it {want}"))
}

#[then(
    expr = "within {int} schedule minutes the CronJob {string} has run {int} Jobs named after their schedule times"
)]
async fn ran_named(world: &mut KubeWorld, within: u32, cj: String, n: usize) -> Outcome {
    let cj = world.expand(&cj);
    let what = format!("{n} Jobs of the CronJob {cj:?}, each named <cronjob>-<minutes>");
    let mut problem = None;
    let got = world
        .wait_for("Job", "", &what, minutes(world, within), |jobs| {
            let mine = jobs_of(jobs, &cj);
            problem = mine.iter().find_map(|j| misnamed(j, &cj));
            (mine.len() >= n && problem.is_none()).then_some(())
        })
        .await;
    match (got, problem) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(p)) => Err(anyhow!("a Job of the CronJob {cj:?} is misnamed: {p}").into()),
        (Err(e), None) => Err(e.into()),
    }
}

#[then(expr = "for {int} schedule minutes the CronJob {string} never has more than {int} Job(s)")]
async fn never_more(world: &mut KubeWorld, window: u32, cj: String, max: usize) -> Outcome {
    let cj = world.expand(&cj);
    let (_, api) = world.api("Job")?;
    let what = format!("more than {max} Jobs of the CronJob {cj:?}");
    let span = world.timings.schedule_minute * window;
    match wait::never(&api, &ListParams::default(), &what, span, |jobs| {
        jobs_of(jobs, &cj).len() > max
    })
    .await
    {
        Ok(_) => Ok(()),
        Err(wait::Broken::Happened(jobs)) => Err(anyhow!(
            "the CronJob {cj:?} had more than {max} Jobs at once:\n{}",
            diagnostics::yaml_of(&jobs)
        )
        .into()),
        Err(wait::Broken::Wait(e)) => Err(anyhow!(e).into()),
    }
}

#[then(
    expr = "within {int} schedule minutes the CronJob {string} has exactly {int} succeeded Jobs left after deleting older ones"
)]
async fn history(world: &mut KubeWorld, within: u32, cj: String, n: usize) -> Outcome {
    let cj = world.expand(&cj);
    let deadline = minutes(world, within);
    let what = format!("an Event SuccessfulDelete about the CronJob {cj:?}");
    world
        .wait_for("Event", "", &what, deadline, |events| {
            events
                .iter()
                .any(|e| {
                    field(e, "reason").as_deref() == Some("SuccessfulDelete")
                        && field(e, "involvedObject.name").as_deref() == Some(cj.as_str())
                        && field(e, "message")
                            .is_some_and(|m| m.starts_with(&format!("Deleted job {cj}-")))
                })
                .then_some(())
        })
        .await?;
    let what = format!("exactly {n} succeeded Jobs of the CronJob {cj:?}");
    world
        .wait_for("Job", "", &what, deadline, |jobs| {
            let done = jobs_of(jobs, &cj)
                .into_iter()
                .filter(|j| succeeded(j))
                .count();
            (done == n).then_some(())
        })
        .await?;
    Ok(())
}
