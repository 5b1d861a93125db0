//! Event-chain steps: the order in which the cluster's writes happened (by store
//! revision), and golden snapshots of whole chains.
//!
//! Entry points: the step functions; the pure logic is in [`crate::snapshot`].

use cucumber::gherkin::Step;
use cucumber::then;

use super::{Outcome, table_rows};
use crate::snapshot::{Milestone, chain_text, milestones};
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

/// Checks that the chain contains the wanted milestones in this order: each row is
/// matched by the first milestone after the previous row's match (so "a Pod deleted, then
/// a Pod created" finds the replacement, not the original). Returns a readable
/// explanation of the first row that cannot be matched.
pub fn check_order(chain: &[Milestone], wanted: &[(String, String, String)]) -> Result<(), String> {
    let mut from = 0;
    let mut previous: Option<&Milestone> = None;
    for (kind, pattern, what) in wanted {
        let matches = |m: &&Milestone| m.kind == *kind && m.what == *what && glob(pattern, &m.name);
        match chain[from..].iter().find(matches) {
            Some(m) => {
                from = chain
                    .iter()
                    .position(|x| std::ptr::eq(x, m))
                    .map_or(from, |i| i + 1);
                previous = Some(m);
            }
            None => {
                return Err(match (previous, chain.iter().find(matches)) {
                    (Some(p), Some(early)) => format!(
                        "{kind} {pattern} reached {what:?} ({}) only before {} {} reached {:?}",
                        early.name, p.kind, p.name, p.what
                    ),
                    _ => format!("{kind} {pattern} never reached {what:?}"),
                });
            }
        }
    }
    Ok(())
}

#[then(expr = "the observed writes happened in this causal order:")]
async fn causal_order(world: &mut KubeWorld, step: &Step) -> Outcome {
    let wanted: Vec<(String, String, String)> = table_rows(step)?
        .into_iter()
        .map(|r| {
            let get = |i: usize| world.expand(r.get(i).map(String::as_str).unwrap_or(""));
            (get(0), get(1), get(2))
        })
        .collect();
    // Events are records about writes, not links of the chain.
    let chain_of = |log: &[crate::observe::Observation]| {
        let observed: Vec<_> = log.iter().filter(|o| o.kind != "Event").cloned().collect();
        milestones(&observed, &[])
    };
    let outcome = world
        .log
        .wait_until(world.timings.expect, |log| {
            check_order(&chain_of(log), &wanted).ok()
        })
        .await;
    if let Err(log) = outcome {
        let chain = chain_of(&log);
        let why = check_order(&chain, &wanted).err().unwrap_or_default();
        fail!(
            "{why}\n--- the chain as observed (causal order) ---\n{}",
            chain_text(&chain)
        );
    }
    Ok(())
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
        assert!(check_order(&chain, &ok).is_ok());
        let inverted = [
            w("Pod", "web-*", "created"),
            w("ReplicaSet", "web-*", "created"),
        ];
        assert_eq!(
            check_order(&chain, &inverted).unwrap_err(),
            "ReplicaSet web-* reached \"created\" (web-5d9b8c7f4) only before Pod web-5d9b8c7f4-x2kqz reached \"created\""
        );
        let replaced = vec![
            m(0, "Pod", "web-a", "created"),
            m(1, "Pod", "web-a", "deleted"),
            m(2, "Pod", "web-b", "created"),
        ];
        let replacement = [w("Pod", "web-*", "deleted"), w("Pod", "web-*", "created")];
        assert!(check_order(&replaced, &replacement).is_ok());
        let missing = [w("Pod", "web-*", "running")];
        assert_eq!(
            check_order(&chain, &missing).unwrap_err(),
            "Pod web-* never reached \"running\""
        );
    }
}
