//! Event-chain steps: the order in which the cluster's writes happened (by store
//! revision), the delay of each hop of the chain (recorded as a performance measurement,
//! with an optional budget per hop), and golden snapshots of whole chains.
//!
//! Entry points: the step functions, [`check_order`] and [`hops`] (pure); the chain's own
//! logic is in [`crate::snapshot`].

use cucumber::gherkin::Step;
use cucumber::then;

use super::{Outcome, table_rows};
use crate::observe::Observation;
use crate::perf::threshold::parse_duration_ms;
use crate::perf::{Measurement, Stat, Threshold};
use crate::snapshot::{Milestone, chain_text, milestones};

/// The measurement the causal-order step records.
pub const HOPS: &str = "event chain latency";
use crate::world::KubeWorld;

/// Whether `name` matches `pattern`, where `*` stands for any text.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Why a chain does not show the wanted milestones in order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutOfOrder {
    /// The milestone happened, but only before the previous row's.
    #[error("{kind} {pattern} reached {what:?} ({name}) only before {previous}")]
    TooEarly {
        /// The row's kind.
        kind: String,
        /// The row's name pattern.
        pattern: String,
        /// The row's milestone.
        what: String,
        /// The object that reached it too early.
        name: String,
        /// The previous row's match, as `<kind> <name> reached "<what>"`.
        previous: String,
    },
    /// The milestone never happened.
    #[error("{kind} {pattern} never reached {what:?}")]
    Never {
        /// The row's kind.
        kind: String,
        /// The row's name pattern.
        pattern: String,
        /// The row's milestone.
        what: String,
    },
}

/// Checks that the chain contains the wanted milestones in this order: each row is
/// matched by the first milestone after the previous row's match (so "a Pod deleted, then
/// a Pod created" finds the replacement, not the original). Returns a readable
/// explanation of the first row that cannot be matched; otherwise the position in `chain`
/// of each row's match.
pub fn check_order(
    chain: &[Milestone],
    wanted: &[(String, String, String)],
) -> Result<Vec<usize>, OutOfOrder> {
    let mut from = 0;
    let mut matched = Vec::new();
    let mut previous: Option<&Milestone> = None;
    for (kind, pattern, what) in wanted {
        let matches = |m: &&Milestone| m.kind == *kind && m.what == *what && glob(pattern, &m.name);
        match chain[from..].iter().find(matches) {
            Some(m) => {
                let at = chain
                    .iter()
                    .position(|x| std::ptr::eq(x, m))
                    .unwrap_or(from);
                matched.push(at);
                from = at + 1;
                previous = Some(m);
            }
            None => {
                let (kind, pattern, what) = (kind.clone(), pattern.clone(), what.clone());
                return Err(match (previous, chain.iter().find(matches)) {
                    (Some(p), Some(early)) => OutOfOrder::TooEarly {
                        kind,
                        pattern,
                        what,
                        name: early.name.clone(),
                        previous: format!("{} {} reached {:?}", p.kind, p.name, p.what),
                    },
                    _ => OutOfOrder::Never {
                        kind,
                        pattern,
                        what,
                    },
                });
            }
        }
    }
    Ok(matched)
}

/// Each hop of a matched chain: `(from → to, milliseconds)`, named by the table's rows
/// (`labels`, one per matched milestone, so generated names stay out and the names are the
/// same from run to run), where a milestone's time is when the harness's watch received it.
/// Causal order is by store revision but each kind has its own watch, so a hop can arrive
/// a moment "before" its cause: it counts as zero.
pub fn hops(
    observed: &[Observation],
    chain: &[Milestone],
    matched: &[usize],
    labels: &[String],
) -> Vec<(String, f64)> {
    let point = |row: usize| {
        let m = chain.get(*matched.get(row)?)?;
        let at = observed.get(m.index).map(|o| o.at).unwrap_or_default();
        Some((labels.get(row)?.clone(), at))
    };
    (1..matched.len())
        .filter_map(|row| {
            let ((from, a), (to, b)) = (point(row - 1)?, point(row)?);
            Some((
                format!("{from} → {to}"),
                super::performance::millis(b.saturating_sub(a)),
            ))
        })
        .collect()
}

/// Records the chain's hops as a measurement and checks each row's budget (the optional
/// fourth column, the most the hop *to* that row may take).
fn record_hops(
    world: &KubeWorld,
    (observed, chain, matched): (&[Observation], &[Milestone], &[usize]),
    wanted: &[(String, String, String)],
    budgets: &[Option<String>],
    line: usize,
) -> Outcome {
    let labels: Vec<String> = wanted
        .iter()
        .map(|(kind, name, what)| format!("{kind} {name} {what}"))
        .collect();
    let hops = hops(observed, chain, matched, &labels);
    let total: f64 = hops.iter().map(|(_, ms)| ms).sum();
    let mut m = Measurement::latency(HOPS, vec![total]).at_line(line);
    for (name, ms) in &hops {
        m = m.phase(name.clone(), &[*ms]);
    }
    let mut over = Vec::new();
    for ((name, ms), budget) in hops.iter().zip(budgets.iter().skip(1)) {
        let Some(text) = budget.as_deref().filter(|b| !b.trim().is_empty()) else {
            continue;
        };
        let limit = parse_duration_ms(text).map_err(|e| anyhow::anyhow!("budget: {e}"))?;
        if !m.check(Threshold::at_most(Stat::Max, limit).on_phase(name.clone())) {
            over.push(format!(
                "the hop {name} took {}, over its budget of {text}",
                crate::perf::human_ms(*ms)
            ));
        }
    }
    world.perf()?.record(&world.namespace, m);
    if !over.is_empty() {
        fail!("{}", over.join("\n"));
    }
    Ok(())
}

#[then(expr = "the observed writes happened in this causal order:")]
async fn causal_order(world: &mut KubeWorld, step: &Step) -> Outcome {
    let rows = table_rows(step)?;
    let wanted: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            let get = |i: usize| world.expand(r.get(i).map(String::as_str).unwrap_or(""));
            (get(0), get(1), get(2))
        })
        .collect();
    let budgets: Vec<Option<String>> = rows.iter().map(|r| r.get(3).cloned()).collect();
    // Events are records about writes, not links of the chain.
    let observed_of = |log: &[Observation]| -> Vec<Observation> {
        log.iter().filter(|o| o.kind != "Event").cloned().collect()
    };
    let outcome = world
        .log
        .wait_until(world.timings.expect, |log| {
            let observed = observed_of(log);
            let chain = milestones(&observed, &[]);
            let matched = check_order(&chain, &wanted).ok()?;
            Some((observed, chain, matched))
        })
        .await;
    match outcome {
        Ok((observed, chain, matched)) => {
            let found = (observed.as_slice(), chain.as_slice(), matched.as_slice());
            record_hops(world, found, &wanted, &budgets, step.position.line)
        }
        Err(log) => {
            let chain = milestones(&observed_of(&log), &[]);
            let why = check_order(&chain, &wanted)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            fail!(
                "{why}\n--- the chain as observed (causal order) ---\n{}",
                chain_text(&chain)
            );
        }
    }
}

#[then(expr = "the event chain of {string} matches the snapshot {string}")]
async fn chain_snapshot(world: &mut KubeWorld, kinds: String, name: String) -> Outcome {
    let kinds = super::list(&kinds);
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    let golden = std::fs::read_to_string(format!(
        "{}/../snapshots/kubeproof/{name}.snap",
        env!("CARGO_MANIFEST_DIR")
    ))
    .ok()
    .and_then(|s| {
        s.splitn(3, "---\n")
            .nth(2)
            .map(|body| body.trim().to_string())
    });
    // Wait for the recorder to catch up with the chain before comparing it once.
    let text = match world
        .log
        .wait_until(world.timings.expect, |log| {
            let text = chain_text(&milestones(log, &kinds));
            (Some(text.trim()) == golden.as_deref()).then_some(text)
        })
        .await
    {
        Ok(text) => text,
        Err(log) => chain_text(&milestones(&log, &kinds)),
    };
    let outcome = std::panic::catch_unwind(|| {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots/kubeproof"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.as_str(), text);
        });
    });
    if outcome.is_err() {
        fail!(
            "the event chain differs from the golden snapshot {name:?} (see the diff above; `cargo insta review` to accept a deliberate change)\n--- observed ---\n{text}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(index: usize, kind: &str, name: &str, what: &str) -> Milestone {
        Milestone {
            index,
            kind: kind.into(),
            name: name.into(),
            what: what.into(),
            owner: None,
        }
    }

    fn w(kind: &str, name: &str, what: &str) -> (String, String, String) {
        (kind.into(), name.into(), what.into())
    }

    fn observed(kind: &str, name: &str, ms: u64) -> Observation {
        Observation {
            seq: 0,
            at: std::time::Duration::from_millis(ms),
            kind: kind.into(),
            name: name.into(),
            event: "ADDED".into(),
            resource_version: String::new(),
            object: serde_json::Value::Null,
        }
    }

    #[test]
    fn each_hop_takes_the_time_between_its_milestones_arrivals_never_less_than_zero() {
        let log = vec![
            observed("Deployment", "web", 10),
            observed("ReplicaSet", "web-1", 25),
            observed("Pod", "web-1-a", 20),
        ];
        let chain = vec![
            m(0, "Deployment", "web", "created"),
            m(1, "ReplicaSet", "web-1", "created"),
            m(2, "Pod", "web-1-a", "created"),
        ];
        let labels = [
            "Deployment web created",
            "ReplicaSet web-* created",
            "Pod web-* created",
        ]
        .map(String::from);
        assert_eq!(
            hops(&log, &chain, &[0, 1, 2], &labels),
            vec![
                (
                    "Deployment web created → ReplicaSet web-* created".to_string(),
                    15.0
                ),
                (
                    "ReplicaSet web-* created → Pod web-* created".to_string(),
                    0.0
                ),
            ]
        );
    }

    #[test]
    fn globs_match_generated_names() {
        assert!(glob("web-*", "web-abc-x2kqz"));
        assert!(glob("*", "anything"));
        assert!(!glob("web-*", "db-1"));
        assert!(glob("web", "web"));
    }

    #[test]
    fn a_chain_in_causal_order_passes_and_an_inverted_one_is_explained() {
        let chain = vec![
            m(0, "Deployment", "web", "created"),
            m(1, "ReplicaSet", "web-5d9b8c7f4", "created"),
            m(2, "Pod", "web-5d9b8c7f4-x2kqz", "created"),
        ];
        let ok = [
            w("Deployment", "web", "created"),
            w("ReplicaSet", "web-*", "created"),
            w("Pod", "web-*", "created"),
        ];
        assert_eq!(check_order(&chain, &ok), Ok(vec![0, 1, 2]));
        let inverted = [
            w("Pod", "web-*", "created"),
            w("ReplicaSet", "web-*", "created"),
        ];
        assert_eq!(
            check_order(&chain, &inverted).unwrap_err().to_string(),
            "ReplicaSet web-* reached \"created\" (web-5d9b8c7f4) only before Pod web-5d9b8c7f4-x2kqz reached \"created\""
        );
        let replaced = vec![
            m(0, "Pod", "web-a", "created"),
            m(1, "Pod", "web-a", "deleted"),
            m(2, "Pod", "web-b", "created"),
        ];
        let replacement = [w("Pod", "web-*", "deleted"), w("Pod", "web-*", "created")];
        assert_eq!(check_order(&replaced, &replacement), Ok(vec![1, 2]));
        let missing = [w("Pod", "web-*", "running")];
        assert_eq!(
            check_order(&chain, &missing).unwrap_err().to_string(),
            "Pod web-* never reached \"running\""
        );
    }
}
