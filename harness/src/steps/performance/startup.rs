//! Pod startup latency, as upstream's SLI defines it (pod_startup_latency.md): from the
//! Pod's creation to all its containers started and observed via watch.
//!
//! Entry points: the step, and [`timeline`] (pure: one Pod's phases). The harness watches
//! the namespace's Pods from before the first create, creates the Pods at the stated rate,
//! and notes for each: when its create was sent, when the watch showed it bound
//! (`spec.nodeName`), when its last container started and when the watch showed it
//! Running. The container start is the kubelet's: the latest of its `Started` events about
//! the Pod (whose whole-second timestamps client-go's recorders sharpen to the nanosecond
//! in the event's name), else the Pod's `containerStatuses[].state.running.startedAt`
//! (whole seconds).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cucumber::gherkin::Step;
use cucumber::when;
use kube::api::{DynamicObject, ListParams};
use tokio::time::Instant;

use super::pods::{Seen, create_pods, pod_template, start_watch, wait_all};
use super::{millis, record, scaled};
use crate::perf::Measurement;
use crate::steps::authorship::author_of;
use crate::steps::{Outcome, field};
use crate::world::KubeWorld;

/// The measurement's name, as threshold steps write it.
pub const NAME: &str = "pod startup latency";
/// Its phases, in order.
pub const PHASES: [&str; 3] = [
    "create → scheduled",
    "scheduled → running",
    "running → watched",
];

/// One Pod's phases in milliseconds, `[create → scheduled, scheduled → running, running →
/// watched]`, summing to its startup latency. The container start is on the kubelet's
/// clock, so it is placed on the client's timeline through the wall clock at the watch and
/// kept between scheduled and watched: the split between the last two phases is only as
/// good as the two clocks agree (and, from `startedAt`, as a whole second); their sum is
/// exact.
pub fn timeline(
    created: Instant,
    scheduled: Instant,
    watched: Instant,
    watched_wall: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
) -> [f64; 3] {
    let scheduled = scheduled.clamp(created, watched);
    let before_watch = started
        .and_then(|s| (watched_wall - s).to_std().ok())
        .unwrap_or_default();
    let running = watched
        .checked_sub(before_watch)
        .unwrap_or(scheduled)
        .clamp(scheduled, watched);
    [
        millis(scheduled - created),
        millis(running - scheduled),
        millis(watched - running),
    ]
}

/// The latest `Started` event time (sub-second only) of each Pod of `names`.
pub fn started_events(
    events: &[DynamicObject],
    names: &[String],
) -> BTreeMap<String, DateTime<Utc>> {
    let mut out: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for e in events {
        let pod = field(e, "involvedObject.name").unwrap_or_default();
        if field(e, "reason").as_deref() != Some("Started")
            || field(e, "involvedObject.kind").as_deref() != Some("Pod")
            || !names.contains(&pod)
        {
            continue;
        }
        let Some(author) = serde_json::to_value(e)
            .ok()
            .and_then(|v| author_of(&v).ok())
        else {
            continue;
        };
        if author.precision < chrono::Duration::seconds(1) {
            let latest = out.entry(pod).or_insert(author.at);
            *latest = (*latest).max(author.at);
        }
    }
    out
}

/// The kubelets' `Started` events about the Pods, waited for a moment (they are posted
/// apart from the status); Pods without one fall back to their status.
async fn kubelet_starts(world: &KubeWorld, names: &[String]) -> BTreeMap<String, DateTime<Utc>> {
    let what = "a Started event about each Pod";
    let waited = world
        .wait_for("Event", "", what, world.timings.quiet, |events| {
            let found = started_events(events, names);
            (found.len() == names.len()).then_some(found)
        })
        .await;
    if let Ok(found) = waited {
        return found;
    }
    match world.api("Event") {
        Ok((_, api)) => api
            .list(&ListParams::default())
            .await
            .map(|l| started_events(&l.items, names))
            .unwrap_or_default(),
        Err(_) => BTreeMap::new(),
    }
}

/// The scenario task watching the Pods.
const WATCH_TASK: &str = "perf-startup-watch";

#[when(expr = "I start {int} Pods at {int} per second and measure their startup latency:")]
async fn start_pods(world: &mut KubeWorld, stated: usize, rate: u32, step: &Step) -> Outcome {
    let n = scaled(world, stated)?;
    if rate == 0 {
        fail!("the creation rate must be at least 1 Pod per second");
    }
    let (template, prefix) = pod_template(world, step, "startup")?;
    let (_, api) = world.api("Pod")?;
    let table = start_watch(world, WATCH_TASK).await?;
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    create_pods(&api, &template, &names, &table, f64::from(rate)).await?;
    let deadline = world.timings.chain;
    let watched = |s: &Seen| s.watched.is_some();
    if let Err(waiting) = wait_all(&table, &names, deadline, watched).await {
        fail!(
            "{} of {n} Pods were not watched Running within {deadline:?}: {waiting:?}",
            waiting.len()
        );
    }
    if let Some(t) = world.tasks.remove(WATCH_TASK) {
        t.abort();
    }
    let seen = table.0.lock().map(|s| s.clone()).unwrap_or_default();
    let starts = kubelet_starts(world, &names).await;
    let mut totals = Vec::new();
    let mut phases: [Vec<f64>; 3] = Default::default();
    for name in &names {
        let s = seen.get(name).cloned().unwrap_or_default();
        let (Some(created), Some((watched, wall))) = (s.created, s.watched) else {
            continue;
        };
        let started = starts.get(name).copied().or(s.started);
        let p = timeline(
            created,
            s.scheduled.unwrap_or(watched),
            watched,
            wall,
            started,
        );
        totals.push(millis(watched.saturating_duration_since(created)));
        for (all, v) in phases.iter_mut().zip(p) {
            all.push(v);
        }
    }
    let mut m = Measurement::latency(NAME, totals).at_line(step.position.line);
    for (name, values) in PHASES.iter().zip(&phases) {
        m = m.phase(*name, values);
    }
    record(world, m)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn the_phases_add_up_to_the_startup_latency() {
        let t = Instant::now();
        let wall: DateTime<Utc> = "2025-01-01T00:00:10.300Z".parse().unwrap();
        let started: DateTime<Utc> = "2025-01-01T00:00:10Z".parse().unwrap();
        let p = timeline(t, at(t, 100), at(t, 900), wall, Some(started));
        assert_eq!(p, [100.0, 500.0, 300.0]);
        assert_eq!(p.iter().sum::<f64>(), 900.0);
    }

    #[test]
    fn only_sub_second_started_events_of_the_pods_count_the_latest_winning() {
        let event = |pod: &str, reason: &str, name: &str| -> DynamicObject {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name},
                "involvedObject": {"kind": "Pod", "name": pod},
                "reason": reason,
                "source": {"component": "kubelet", "host": "node-1"},
                "firstTimestamp": "2025-01-01T00:00:10Z"
            }))
            .unwrap()
        };
        // 1735689610.25 s and .5 s after the epoch, in hex nanoseconds.
        let (a, b) = (
            format!("startup-0.{:x}", 1_735_689_610_250_000_000_i64),
            format!("startup-0.{:x}", 1_735_689_610_500_000_000_i64),
        );
        let events = vec![
            event("startup-0", "Started", &a),
            event("startup-0", "Started", &b),
            event("startup-0", "Pulled", &b),
            event("other", "Started", &b),
            event("startup-1", "Started", "startup-1.zz"),
        ];
        let names = vec!["startup-0".to_string(), "startup-1".to_string()];
        let found = started_events(&events, &names);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found["startup-0"],
            "2025-01-01T00:00:10.5Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn a_container_start_outside_scheduled_and_watched_is_clamped() {
        let t = Instant::now();
        let wall: DateTime<Utc> = "2025-01-01T00:00:10Z".parse().unwrap();
        // A skewed server clock: reported "after" the watch saw it.
        let late: DateTime<Utc> = "2025-01-01T00:00:11Z".parse().unwrap();
        assert_eq!(
            timeline(t, at(t, 50), at(t, 200), wall, Some(late)),
            [50.0, 150.0, 0.0]
        );
        let early: DateTime<Utc> = "2025-01-01T00:00:05Z".parse().unwrap();
        assert_eq!(
            timeline(t, at(t, 50), at(t, 200), wall, Some(early)),
            [50.0, 0.0, 150.0]
        );
        assert_eq!(
            timeline(t, at(t, 50), at(t, 200), wall, None),
            [50.0, 150.0, 0.0]
        );
    }
}
