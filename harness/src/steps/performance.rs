//! Performance steps (`features/performance/`): measurements taken as clusterloader2 takes
//! them, from what the target's API shows, and the thresholds the features state.
//!
//! Entry points: the threshold steps here (`the p99 pod startup latency is at most 5s`,
//! `the scheduling throughput is at least 10 Pods per second`), [`record`] for the
//! measuring steps, which live one per measurement in the submodules, and
//! [`selector_of`]. Sizes a feature states go through [`scaled`] (`--perf-scale`).

mod api;
mod failover;
mod network;
mod pods;
mod scale_up;
mod startup;
mod throughput;
mod watchers;

use std::time::Duration;

use anyhow::anyhow;
use cucumber::then;
use kube::api::DynamicObject;

use super::Outcome;
use crate::perf::threshold::parse_duration_ms;
use crate::perf::{Measurement, PER_SECOND, Stat, Threshold, human_ms};
use crate::world::KubeWorld;

/// Milliseconds, as measurements keep them (to the microsecond).
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A size the feature states, multiplied by the run's `--perf-scale` (at least 1).
pub fn scaled(world: &KubeWorld, stated: usize) -> anyhow::Result<usize> {
    Ok(world.perf()?.size(stated))
}

/// The label selector (`k=v,...`) of a workload's `spec.selector.matchLabels`.
pub fn selector_of(workload: &DynamicObject) -> anyhow::Result<String> {
    let labels = workload
        .data
        .pointer("/spec/selector/matchLabels")
        .and_then(|m| m.as_object())
        .filter(|m| !m.is_empty())
        .ok_or_else(|| anyhow!("the workload has no spec.selector.matchLabels"))?;
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    Ok(pairs.join(","))
}

/// Keeps a measurement of the scenario.
pub fn record(world: &KubeWorld, m: Measurement) -> anyhow::Result<()> {
    world.perf()?.record(&world.namespace, m);
    Ok(())
}

/// Applies `threshold` to every measurement of the scenario that answers to `name`;
/// fails with each one that does not meet it.
fn check_all(world: &KubeWorld, name: &str, threshold: Threshold) -> Outcome {
    let perf = world.perf()?;
    let outcome = perf.update(&world.namespace, |ms| {
        let known: Vec<String> = ms.iter().map(|m| m.name.clone()).collect();
        let mut matched = 0;
        let mut failures = Vec::new();
        for m in ms.iter_mut().filter(|m| m.answers_to(name)) {
            matched += 1;
            let value = m.stat(threshold.stat, threshold.phase.as_deref());
            if !m.check(threshold.clone()) {
                failures.push(explain(m, &threshold, value));
            }
        }
        if matched == 0 {
            return Err(anyhow!(
                "no measurement {name:?} was taken in this scenario (taken: {known:?})"
            ));
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("{}", failures.join("\n")))
        }
    });
    outcome.map_err(Into::into)
}

/// `the p99 pod startup latency is 6.10s, over the threshold of at most 5.00s (10
/// samples: p50 ..., p90 ..., p99 ...)`.
fn explain(m: &Measurement, t: &Threshold, value: Option<f64>) -> String {
    let show = |v: f64| {
        if m.unit == PER_SECOND {
            format!("{v:.1}/s")
        } else {
            human_ms(v)
        }
    };
    let what = match &t.phase {
        Some(p) => format!("the {} of the phase {p:?} of {}", t.stat.as_str(), m.name),
        None if t.stat == Stat::Rate => format!("the {}", m.name),
        None => format!("the {} {}", t.stat.as_str(), m.name),
    };
    let side = match t.bound {
        crate::perf::Bound::AtMost => "over",
        crate::perf::Bound::AtLeast => "under",
    };
    match value {
        Some(v) => format!(
            "{what} is {}, {side} the threshold of {} {} ({})",
            show(v),
            t.bound,
            show(t.value),
            m.figures()
        ),
        None => format!("{what} could not be computed: {}", m.figures()),
    }
}

#[then(regex = r"^the (?:(p50|p90|p99) )?(.+?) is at most (\S+)$")]
async fn at_most(world: &mut KubeWorld, stat: String, name: String, limit: String) -> Outcome {
    let stat: Stat = stat.parse()?;
    let ms = parse_duration_ms(&limit)?;
    check_all(world, &name, Threshold::at_most(stat, ms))
}

#[then(regex = r"^the (.+?) is at least ([0-9.]+) (\S+) per second$")]
async fn at_least(world: &mut KubeWorld, name: String, rate: String, _what: String) -> Outcome {
    let rate: f64 = rate
        .parse()
        .map_err(|_| anyhow!("{rate:?} is not a number"))?;
    check_all(world, &name, Threshold::at_least(Stat::Rate, rate))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_selector_is_the_workloads_match_labels() {
        let d: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "scaled", "tier": "web"}}}
        }))
        .expect("a Deployment");
        assert_eq!(selector_of(&d).expect("labels"), "app=scaled,tier=web");
        let bare: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {}
        }))
        .expect("a Deployment");
        assert!(selector_of(&bare).is_err());
    }

    #[test]
    fn a_failure_says_the_figure_the_threshold_and_the_samples() {
        let m = Measurement::latency("pod startup latency", vec![100.0, 6100.0]);
        let t = Threshold::at_most(Stat::P99, 5000.0);
        assert_eq!(
            explain(&m, &t, Some(6100.0)),
            "the p99 pod startup latency is 6.10s, over the threshold of at most 5.00s (2 samples: p50 100ms, p90 6.10s, p99 6.10s)"
        );
        let r = Measurement::rate("scheduling throughput", 4.0, 30);
        let t = Threshold::at_least(Stat::Rate, 10.0);
        assert_eq!(
            explain(&r, &t, Some(4.0)),
            "the scheduling throughput is 4.0/s, under the threshold of at least 10.0/s (4.0/s over 30 samples)"
        );
    }
}
