//! Event chains as text for golden snapshots: milestones in causal order, with every
//! volatile detail (uids, resourceVersions, timestamps, generated name suffixes, IPs, node
//! names) redacted.
//!
//! Entry points: [`milestones`] (pure), [`normalize_name`], [`chain_text`].

use std::collections::BTreeSet;

use regex::Regex;

use crate::observe::Observation;

/// One milestone in an object's life, as the chain shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Milestone {
    /// Index in the causal log where it was first observed.
    pub index: usize,
    /// The object's kind.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// `created`, `scheduled`, `running`, `ready`, `has-endpoints`, `terminating` (deletion
    /// began: deletionTimestamp set, or deleted outright), `deleted`.
    pub what: String,
    /// The controlling owner, `Kind/name`, if any.
    pub owner: Option<String>,
}

/// The milestones an observation reaches.
fn reached(o: &Observation) -> Vec<&'static str> {
    let mut out = Vec::new();
    match o.event.as_str() {
        "ADDED" => out.push("created"),
        // An object deleted at once (no finalizers, no kubelet to wait for) was never seen
        // terminating; its deletion still began there, so it reaches both.
        "DELETED" => out.extend(["terminating", "deleted"]),
        _ => {}
    }
    if o.event != "DELETED" && !o.field("/metadata/deletionTimestamp").is_empty() {
        out.push("terminating");
    }
    if o.kind == "Pod" {
        if !o.field("/spec/nodeName").is_empty() {
            out.push("scheduled");
        }
        if o.field("/status/phase") == "Running" {
            out.push("running");
        }
        let ready = o
            .object
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.get("type").and_then(|t| t.as_str()) == Some("Ready")
                        && c.get("status").and_then(|s| s.as_str()) == Some("True")
                })
            });
        if ready {
            out.push("ready");
        }
    }
    if o.kind == "Endpoints" && !o.field("/subsets/0/addresses/0/ip").is_empty() {
        out.push("has-endpoints");
    }
    out
}

/// The first time each object reaches each milestone, in causal order.
pub fn milestones(causal: &[Observation], kinds: &[&str]) -> Vec<Milestone> {
    let mut seen: BTreeSet<(String, String, &str)> = BTreeSet::new();
    let mut out = Vec::new();
    for (index, o) in causal.iter().enumerate() {
        if !kinds.is_empty() && !kinds.contains(&o.kind.as_str()) {
            continue;
        }
        for what in reached(o) {
            if seen.insert((o.kind.clone(), o.name.clone(), what)) {
                let owner = o
                    .object
                    .pointer("/metadata/ownerReferences")
                    .and_then(|r| r.as_array())
                    .and_then(|refs| {
                        refs.iter()
                            .find(|r| r.get("controller").and_then(|c| c.as_bool()) == Some(true))
                    })
                    .map(|r| {
                        format!(
                            "{}/{}",
                            r.get("kind").and_then(|k| k.as_str()).unwrap_or(""),
                            r.get("name").and_then(|n| n.as_str()).unwrap_or("")
                        )
                    });
                out.push(Milestone {
                    index,
                    kind: o.kind.clone(),
                    name: o.name.clone(),
                    what: what.to_string(),
                    owner,
                });
            }
        }
    }
    out
}

/// Redacts generated suffixes: `web-7d4b9c8f6d-x2kqz` → `web-<hash>-<suffix>`, and
/// `web-7d4b9c8f6d` → `web-<hash>`. StatefulSet ordinals (`web-0`) are kept.
pub fn normalize_name(name: &str) -> String {
    // Upstream's generated suffixes use utilrand's alphabet (no vowels, no 0/1/3); hashes
    // use SafeEncodeString's digits [456789bcdf].
    const SUFFIX: &str = "[bcdfghjklmnpqrstvwxz2456789]{5}";
    const HASH: &str = "[456789bcdf]{6,10}";
    let pod = Regex::new(&format!("^(.+)-{HASH}-{SUFFIX}$")).ok();
    let rs = Regex::new(&format!("^(.+)-{HASH}$")).ok();
    let generated = Regex::new(&format!("^(.+)-{SUFFIX}$")).ok();
    let caps = |re: &Option<Regex>| {
        re.as_ref()
            .and_then(|r| r.captures(name))
            .map(|c| c[1].to_string())
    };
    if let Some(base) = caps(&pod) {
        format!("{base}-<hash>-<suffix>")
    } else if let Some(base) = caps(&rs) {
        format!("{base}-<hash>")
    } else if let Some(base) = caps(&generated) {
        format!("{base}-<suffix>")
    } else {
        name.to_string()
    }
}

/// The chain as snapshot text: one line per milestone.
pub fn chain_text(milestones: &[Milestone]) -> String {
    milestones
        .iter()
        .map(|m| {
            let owner = m
                .owner
                .as_deref()
                .map(|o| {
                    let (k, n) = o.split_once('/').unwrap_or((o, ""));
                    format!(" (controlled by {k}/{})", normalize_name(n))
                })
                .unwrap_or_default();
            format!("{}/{} {}{owner}", m.kind, normalize_name(&m.name), m.what)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn obs(
        seq: usize,
        kind: &str,
        name: &str,
        event: &str,
        object: serde_json::Value,
    ) -> Observation {
        Observation {
            seq,
            at: Duration::from_millis(seq as u64),
            kind: kind.into(),
            name: name.into(),
            event: event.into(),
            resource_version: (100 + seq).to_string(),
            object,
        }
    }

    #[test]
    fn generated_suffixes_are_redacted_and_ordinals_kept() {
        assert_eq!(
            normalize_name("web-7d4b9c8f6d-x2kqz"),
            "web-<hash>-<suffix>"
        );
        assert_eq!(normalize_name("web-7d4b9c8f6d"), "web-<hash>");
        assert_eq!(normalize_name("web-0"), "web-0");
        assert_eq!(normalize_name("web"), "web");
    }

    #[test]
    fn each_milestone_is_listed_once_at_its_first_observation() {
        let pod = |node: &str, phase: &str| {
            json!({"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9b8c7f4", "controller": true}]},
                   "spec": {"nodeName": node}, "status": {"phase": phase}})
        };
        let log = vec![
            obs(0, "ReplicaSet", "web-5d9b8c7f4", "ADDED", json!({})),
            obs(1, "Pod", "web-5d9b8c7f4-x2kqz", "ADDED", pod("", "Pending")),
            obs(
                2,
                "Pod",
                "web-5d9b8c7f4-x2kqz",
                "MODIFIED",
                pod("n1", "Pending"),
            ),
            obs(
                3,
                "Pod",
                "web-5d9b8c7f4-x2kqz",
                "MODIFIED",
                pod("n1", "Running"),
            ),
            obs(
                4,
                "Pod",
                "web-5d9b8c7f4-x2kqz",
                "MODIFIED",
                pod("n1", "Running"),
            ),
        ];
        let text = chain_text(&milestones(&log, &[]));
        assert_eq!(
            text,
            "ReplicaSet/web-<hash> created\n\
             Pod/web-<hash>-<suffix> created (controlled by ReplicaSet/web-<hash>)\n\
             Pod/web-<hash>-<suffix> scheduled (controlled by ReplicaSet/web-<hash>)\n\
             Pod/web-<hash>-<suffix> running (controlled by ReplicaSet/web-<hash>)"
        );
    }
}
