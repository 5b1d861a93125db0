//! Scheduling throughput: how many Pods per second the scheduler binds when a batch
//! arrives at once (clusterloader2's SchedulingThroughput). Upstream sets no SLO for it.
//!
//! Entry points: the step, and [`rate`] (pure). The harness watches the namespace's Pods,
//! creates the batch as fast as the API server takes it, and divides the batch size by the
//! time from the first create to the last binding it watched. Features run it on fake
//! nodes (`@fake-nodes`), so nothing but the scheduler does work.

use cucumber::gherkin::Step;
use cucumber::when;
use tokio::time::Instant;

use super::pods::{Seen, create_pods, pod_template, start_watch, wait_all};
use super::{millis, record, scaled};
use crate::perf::Measurement;
use crate::steps::Outcome;
use crate::world::KubeWorld;

/// The measurement's name.
pub const NAME: &str = "scheduling throughput";

/// Pods per second: `bound` Pods from `start` to the last binding (`None` without any).
pub fn rate(start: Instant, bindings: &[Instant]) -> Option<f64> {
    let last = bindings.iter().max()?;
    let secs = last.saturating_duration_since(start).as_secs_f64();
    Some(bindings.len() as f64 / secs.max(1e-3))
}

#[when(expr = "I create {int} Pods at once and measure how fast they are scheduled:")]
async fn batch(world: &mut KubeWorld, stated: usize, step: &Step) -> Outcome {
    let n = scaled(world, stated)?;
    let (template, prefix) = pod_template(world, step, "batch")?;
    let (_, api) = world.api("Pod")?;
    let table = start_watch(world, "perf-throughput-watch").await?;
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let start = Instant::now();
    // "At once": the API server's own pace is the only limit.
    create_pods(&api, &template, &names, &table, f64::INFINITY).await?;
    let deadline = world.timings.chain;
    let bound = |s: &Seen| s.scheduled.is_some();
    if let Err(waiting) = wait_all(&table, &names, deadline, bound).await {
        fail!(
            "{} of {n} Pods were not scheduled within {deadline:?}: {waiting:?}",
            waiting.len()
        );
    }
    let bindings: Vec<Instant> = table
        .0
        .lock()
        .map(|seen| {
            names
                .iter()
                .filter_map(|n| seen.get(n).and_then(|s| s.scheduled))
                .collect()
        })
        .unwrap_or_default();
    let Some(per_second) = rate(start, &bindings) else {
        fail!("no binding was watched");
    };
    let mut m = Measurement::rate(NAME, per_second, bindings.len()).at_line(step.position.line);
    // Each Pod's time from the batch's start to its binding, for the distribution.
    m.values = bindings
        .iter()
        .map(|b| millis(b.saturating_duration_since(start)))
        .collect();
    record(world, m)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_rate_is_the_batch_over_the_time_to_its_last_binding() {
        let t = Instant::now();
        let b: Vec<Instant> = [100, 300, 500]
            .iter()
            .map(|ms| t + Duration::from_millis(*ms))
            .collect();
        let r = rate(t, &b).unwrap();
        assert!((r - 6.0).abs() < 1e-9, "{r}");
        assert_eq!(rate(t, &[]), None);
    }
}
