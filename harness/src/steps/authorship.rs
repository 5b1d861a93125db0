//! Who bound a Pod, and whether it held the leader Lease then: the pure rule behind
//! "every Pod was bound by the instance holding the Lease ... at the time".
//!
//! Entry points: [`LeaseHistory`] (the terms a Lease's holders served, as observed),
//! [`author_of`] (who reported an event, and when), [`judge`] (whether that instance
//! held the Lease then) and [`judge_bindings`] (every bound Pod at once).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// One holder's tenure as the harness observed it: from its `acquireTime` until the next
/// term's `acquireTime`. An empty holder is a released Lease (nobody leads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// `spec.holderIdentity` (upstream: `<hostname>_<uuid>`).
    pub holder: String,
    /// `spec.acquireTime`, as the acquiring instance wrote it.
    pub from: DateTime<Utc>,
}

/// The succession of a Lease's holders, in the order observed.
#[derive(Clone, Debug, Default)]
pub struct LeaseHistory {
    terms: Vec<Term>,
    notes: Vec<String>,
}

impl LeaseHistory {
    /// Notes one observed state of the Lease: a new term starts when the holder or its
    /// `acquireTime` changes (renewals change neither). Without an `acquireTime` the
    /// `renewTime`, then the harness's own clock (`seen`) stands in, with a note.
    pub fn observe(
        &mut self,
        holder: &str,
        acquired: Option<DateTime<Utc>>,
        renewed: Option<DateTime<Utc>>,
        seen: DateTime<Utc>,
    ) {
        let from = acquired.or(renewed).unwrap_or(seen);
        if let Some(last) = self.terms.last() {
            // Renewals keep the acquireTime; without one, the holder alone tells terms apart.
            if last.holder == holder && (last.from == from || acquired.is_none()) {
                return;
            }
            if from < last.from {
                self.note(format!(
                    "{holder:?} acquired at {from}, before its predecessor {:?} did ({}): clocks disagree",
                    last.holder, last.from
                ));
            }
        }
        match (acquired, renewed) {
            (Some(_), _) => {}
            (None, Some(r)) => self.note(format!(
                "{holder:?} wrote no acquireTime; its renewTime {r} stands in"
            )),
            (None, None) => self.note(format!(
                "{holder:?} wrote no acquireTime nor renewTime; the harness's clock ({seen}) stands in"
            )),
        }
        self.terms.push(Term {
            holder: holder.to_string(),
            from,
        });
    }

    /// Notes something about the recording (a re-list that may have missed terms...).
    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// The terms, in the order observed.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The holder at `at` (`None` before the first recorded term).
    pub fn holder_at(&self, at: DateTime<Utc>) -> Option<&str> {
        self.terms
            .iter()
            .rev()
            .find(|t| t.from <= at)
            .map(|t| t.holder.as_str())
    }

    /// The history as a table, for failure messages.
    pub fn describe(&self) -> String {
        let mut out = String::from("Lease holders as observed (holder since acquireTime):");
        for t in &self.terms {
            let who = if t.holder.is_empty() {
                "(released)"
            } else {
                &t.holder
            };
            let _ = write!(out, "\n  {} {who}", t.from.to_rfc3339());
        }
        for n in &self.notes {
            let _ = write!(out, "\n  note: {n}");
        }
        out
    }
}

/// Who reported an event, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// `reportingInstance` (else `source.host`).
    pub instance: String,
    /// `reportingComponent` (else `source.component`).
    pub component: String,
    /// When the event happened, to within `precision` after it.
    pub at: DateTime<Utc>,
    /// The event time's uncertainty: the true time lies in `[at, at + precision]`.
    pub precision: chrono::Duration,
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(|s| s.as_str()).unwrap_or("")
}

fn time(v: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text(v, pointer))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Why an event cannot be attributed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthorError {
    /// Neither `reportingInstance` nor `source.host`.
    #[error("the event names no reportingInstance nor source.host")]
    NoInstance,
    /// No time field at all.
    #[error("the event carries no time")]
    NoTime,
}

/// Why a binding event does not show its author holding the Lease.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotTheHolder {
    /// The event cannot be attributed.
    #[error(transparent)]
    Author(#[from] AuthorError),
    /// The author matches no holder identity.
    #[error(
        "reported by {0:?}, which names none of the Lease's holders (an instance is named by \
         its holder identity, its hostname — the part of `<hostname>_<uuid>` before `_` — \
         or `<reportingComponent>-<hostname>`)"
    )]
    Unknown(String),
    /// The author matches several holder identities.
    #[error(
        "reported by {instance:?}, which matches several holders {holders:?}: the instances cannot be told apart"
    )]
    Ambiguous {
        /// The reporting instance.
        instance: String,
        /// The holders it matches.
        holders: BTreeSet<String>,
    },
    /// The author's holder did not hold the Lease at the event's time.
    #[error("reported by {instance:?} (holder {holder:?}) at {at}, {then}")]
    NotHeld {
        /// The reporting instance.
        instance: String,
        /// The holder identity it matches.
        holder: String,
        /// The event's time (RFC 3339).
        at: String,
        /// Who held the Lease then.
        then: HeldThen,
    },
}

/// Who held the Lease at some time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeldThen {
    /// Before any recorded term.
    BeforeFirstTerm,
    /// Nobody: the Lease was released.
    Released,
    /// This holder.
    By(String),
}

impl std::fmt::Display for HeldThen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeldThen::BeforeFirstTerm => f.write_str("before the first recorded term"),
            HeldThen::Released => f.write_str("while the Lease was released"),
            HeldThen::By(h) => write!(f, "while {h:?} held the Lease"),
        }
    }
}

/// The author and time of an event (core/v1 JSON as the API serves it):
/// - instance: `reportingInstance`, else `source.host`;
/// - time: `eventTime` (microseconds; the events.k8s.io recorder sets it), else
///   `firstTimestamp`/`lastTimestamp`, which hold whole seconds, sharpened by the
///   `<object>.<unix nanos in hex>` name both client-go recorders give events when that
///   agrees with them to the second, else `metadata.creationTimestamp` (the API server's
///   clock, whole seconds).
pub fn author_of(event: &Value) -> Result<Author, AuthorError> {
    let first_non_empty = |a: &str, b: &str| {
        let (a, b) = (text(event, a), text(event, b));
        if a.is_empty() { b } else { a }.to_string()
    };
    let instance = first_non_empty("/reportingInstance", "/source/host");
    let component = first_non_empty("/reportingComponent", "/source/component");
    if instance.is_empty() {
        return Err(AuthorError::NoInstance);
    }
    let second = chrono::Duration::seconds(1);
    let (at, precision) = if let Some(t) = time(event, "/eventTime") {
        (t, chrono::Duration::microseconds(1))
    } else if let Some(t) = time(event, "/firstTimestamp").or_else(|| time(event, "/lastTimestamp"))
    {
        match time_in_name(text(event, "/metadata/name")) {
            Some(n) if n >= t && n < t + second => (n, chrono::Duration::zero()),
            _ => (t, second),
        }
    } else if let Some(t) = time(event, "/metadata/creationTimestamp") {
        (t, second)
    } else {
        return Err(AuthorError::NoTime);
    };
    Ok(Author {
        instance,
        component,
        at,
        precision,
    })
}

/// The time client-go's recorders encode in an event's name (`<object>.<nanos in hex>`).
fn time_in_name(name: &str) -> Option<DateTime<Utc>> {
    let (_, hex) = name.rsplit_once('.')?;
    let nanos = i64::from_str_radix(hex, 16).ok()?;
    Some(DateTime::from_timestamp_nanos(nanos))
}

/// The hostname part of an upstream holder identity (`<hostname>_<uuid>`).
pub fn host_of(holder: &str) -> &str {
    holder.rsplit_once('_').map_or(holder, |(host, _)| host)
}

/// Whether an event's reporting instance names the Lease holder `holder`: the identity
/// itself, its hostname (client-go's legacy recorder: `reportingInstance` = the
/// component's host), or `<reportingComponent>-<hostname>` (the events.k8s.io recorder
/// kube-scheduler uses: `reportingController + "-" + hostname`).
pub fn author_matches(instance: &str, component: &str, holder: &str) -> bool {
    if instance.is_empty() || holder.is_empty() {
        return false;
    }
    let host = host_of(holder);
    instance == holder
        || instance == host
        || (!component.is_empty() && instance == format!("{component}-{host}"))
}

/// Whether the instance that reported a binding held the Lease when it bound.
///
/// The rule: the author's instance must match exactly one holder identity ever observed
/// (see [`author_matches`]; two holders on one host cannot be told apart, which fails
/// rather than passes), and one of that holder's terms `[acquireTime, next term's
/// acquireTime)` must overlap the event's time `[at, at + precision]`. A scheduler binds
/// and then records the event, while holding the Lease: a leader that lost its Lease
/// (partitioned, expired) and still bound would report a time inside another holder's
/// term. Times are the instances' own clocks (acquireTime and the event's), so the rule
/// assumes the instances' clocks agree to within the event time's precision.
///
/// Returns the holder on success, else why not.
pub fn judge(history: &LeaseHistory, author: &Author) -> Result<String, NotTheHolder> {
    let holders: BTreeSet<&str> = history
        .terms
        .iter()
        .map(|t| t.holder.as_str())
        .filter(|h| author_matches(&author.instance, &author.component, h))
        .collect();
    let holder = match holders.len() {
        1 => holders.into_iter().next().unwrap_or_default(),
        0 => return Err(NotTheHolder::Unknown(author.instance.clone())),
        _ => {
            return Err(NotTheHolder::Ambiguous {
                instance: author.instance.clone(),
                holders: holders.into_iter().map(str::to_string).collect(),
            });
        }
    };
    let end = author.at + author.precision;
    let held = history.terms.iter().enumerate().any(|(i, t)| {
        let next = history.terms.get(i + 1).map(|n| n.from);
        t.holder == holder && t.from <= end && next.is_none_or(|n| author.at < n)
    });
    if held {
        return Ok(holder.to_string());
    }
    let then = match history.holder_at(author.at) {
        None => HeldThen::BeforeFirstTerm,
        Some("") => HeldThen::Released,
        Some(h) => HeldThen::By(h.to_string()),
    };
    Err(NotTheHolder::NotHeld {
        instance: author.instance.clone(),
        holder: holder.to_string(),
        at: author.at.to_rfc3339(),
        then,
    })
}

/// Judges every bound Pod's `Scheduled` events: `(pod, its events)`. Returns one line per
/// problem: a Pod without a `Scheduled` event, an event that cannot be attributed, an
/// author that did not hold the Lease then, or a Pod reported bound by two instances.
pub fn judge_bindings(history: &LeaseHistory, bindings: &[(String, Vec<Value>)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (pod, events) in bindings {
        if events.is_empty() {
            problems.push(format!(
                "Pod {pod:?} is bound but no Scheduled event names who bound it"
            ));
            continue;
        }
        let mut authors = BTreeSet::new();
        for ev in events {
            let name = text(ev, "/metadata/name");
            match author_of(ev)
                .map_err(NotTheHolder::from)
                .and_then(|a| judge(history, &a))
            {
                Ok(holder) => {
                    authors.insert(holder);
                }
                Err(why) => problems.push(format!("Pod {pod:?}: event {name}: {why}")),
            }
        }
        if authors.len() > 1 {
            problems.push(format!("Pod {pod:?} was reported bound by {authors:?}"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const A: &str = "sched-a_1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    const B: &str = "sched-b_6fa459ea-ee8a-3ca4-894e-db77e160355e";

    /// A held from 10:00:00, released at 10:00:30, B acquired at 10:00:31.5.
    fn history() -> LeaseHistory {
        let mut h = LeaseHistory::default();
        let seen = t("2025-01-01T10:00:00Z");
        h.observe(A, Some(t("2025-01-01T10:00:00.000000Z")), None, seen);
        // A renewal changes nothing.
        h.observe(
            A,
            Some(t("2025-01-01T10:00:00.000000Z")),
            Some(t("2025-01-01T10:00:20Z")),
            seen,
        );
        h.observe("", Some(t("2025-01-01T10:00:30.000000Z")), None, seen);
        h.observe(B, Some(t("2025-01-01T10:00:31.500000Z")), None, seen);
        h
    }

    fn author(instance: &str, at: &str, precision_ms: i64) -> Author {
        Author {
            instance: instance.into(),
            component: "default-scheduler".into(),
            at: t(at),
            precision: chrono::Duration::milliseconds(precision_ms),
        }
    }

    #[test]
    fn renewals_do_not_start_terms_but_new_holders_and_releases_do() {
        let h = history();
        let holders: Vec<&str> = h.terms().iter().map(|t| t.holder.as_str()).collect();
        assert_eq!(holders, vec![A, "", B]);
        assert_eq!(h.holder_at(t("2025-01-01T10:00:31Z")), Some(""));
        assert_eq!(h.holder_at(t("2025-01-01T09:00:00Z")), None);
    }

    #[test]
    fn an_instance_is_named_by_its_identity_its_host_or_component_dash_host() {
        assert!(author_matches("sched-a", "default-scheduler", A));
        assert!(author_matches(
            "default-scheduler-sched-a",
            "default-scheduler",
            A
        ));
        assert!(author_matches(A, "", A));
        assert!(!author_matches("sched-b", "default-scheduler", A));
        assert!(!author_matches("default-scheduler-sched-a", "", A));
        assert!(!author_matches("", "default-scheduler", A));
        assert!(!author_matches("sched-a", "default-scheduler", ""));
    }

    #[test]
    fn a_binding_within_its_authors_term_is_accepted() {
        let h = history();
        assert_eq!(
            judge(&h, &author("sched-a", "2025-01-01T10:00:10Z", 0)),
            Ok(A.to_string())
        );
        assert_eq!(
            judge(
                &h,
                &author("default-scheduler-sched-b", "2025-01-01T10:00:40Z", 0)
            ),
            Ok(B.to_string())
        );
    }

    fn judge_err(h: &LeaseHistory, a: &Author) -> String {
        judge(h, a).unwrap_err().to_string()
    }

    #[test]
    fn a_binding_by_the_old_leader_after_it_lost_the_lease_is_split_brain() {
        let h = history();
        let err = judge_err(&h, &author("sched-a", "2025-01-01T10:00:45Z", 0));
        assert!(
            err.contains(&format!("while {B:?} held the Lease")),
            "{err}"
        );
        let err = judge_err(&h, &author("sched-b", "2025-01-01T10:00:10Z", 0));
        assert!(
            err.contains(&format!("while {A:?} held the Lease")),
            "{err}"
        );
        let err = judge_err(&h, &author("sched-a", "2025-01-01T10:00:30.5Z", 0));
        assert!(err.contains("while the Lease was released"), "{err}");
    }

    #[test]
    fn a_second_precise_time_is_accepted_when_its_second_overlaps_the_term() {
        // Truncated to 10:00:31, B's term starts at 10:00:31.5: the true time may be in it.
        let h = history();
        assert!(judge(&h, &author("sched-b", "2025-01-01T10:00:31Z", 1000)).is_ok());
        assert!(judge(&h, &author("sched-b", "2025-01-01T10:00:31Z", 0)).is_err());
    }

    #[test]
    fn unknown_or_ambiguous_authors_fail_rather_than_pass() {
        let h = history();
        let err = judge_err(&h, &author("sched-c", "2025-01-01T10:00:40Z", 0));
        assert_eq!(
            err,
            "reported by \"sched-c\", which names none of the Lease's holders (an instance is \
             named by its holder identity, its hostname — the part of `<hostname>_<uuid>` before \
             `_` — or `<reportingComponent>-<hostname>`)"
        );
        let mut same_host = LeaseHistory::default();
        let now = t("2025-01-01T10:00:00Z");
        same_host.observe("host_1", Some(now), None, now);
        same_host.observe("host_2", Some(t("2025-01-01T10:01:00Z")), None, now);
        let err = judge_err(&same_host, &author("host", "2025-01-01T10:02:00Z", 0));
        assert!(err.contains("cannot be told apart"), "{err}");
    }

    #[test]
    fn an_events_time_comes_from_event_time_or_from_its_timestamp_sharpened_by_its_name() {
        let upstream = json!({
            "metadata": {"name": "p.17f0c0ffee000000"},
            "reportingComponent": "default-scheduler",
            "reportingInstance": "default-scheduler-sched-a",
            "eventTime": "2025-01-01T10:00:05.123456Z",
        });
        let a = author_of(&upstream).unwrap();
        assert_eq!(a.instance, "default-scheduler-sched-a");
        assert_eq!(a.at, t("2025-01-01T10:00:05.123456Z"));
        assert_eq!(a.precision, chrono::Duration::microseconds(1));

        let at = t("2025-01-01T10:00:05.250Z");
        let nanos = at.timestamp_nanos_opt().unwrap();
        let legacy = json!({
            "metadata": {"name": format!("p.{nanos:x}")},
            "source": {"component": "default-scheduler", "host": "sched-a"},
            "firstTimestamp": "2025-01-01T10:00:05Z",
        });
        let a = author_of(&legacy).unwrap();
        assert_eq!(
            (a.instance.as_str(), a.component.as_str()),
            ("sched-a", "default-scheduler")
        );
        assert_eq!((a.at, a.precision), (at, chrono::Duration::zero()));

        // A name that is not a time: the timestamp, to the second.
        let renamed = json!({
            "metadata": {"name": "p.custom"}, "reportingInstance": "sched-a",
            "lastTimestamp": "2025-01-01T10:00:05Z",
        });
        let a = author_of(&renamed).unwrap();
        assert_eq!(
            (a.at, a.precision),
            (t("2025-01-01T10:00:05Z"), chrono::Duration::seconds(1))
        );

        assert!(author_of(&json!({"eventTime": "2025-01-01T10:00:05Z"})).is_err());
        assert!(author_of(&json!({"reportingInstance": "x"})).is_err());
    }

    #[test]
    fn every_bound_pod_needs_exactly_one_author_who_held_the_lease() {
        let h = history();
        let ev = |host: &str, at: &str| json!({"metadata": {"name": "e"}, "reportingInstance": host, "eventTime": at});
        let bindings = vec![
            (
                "ok".to_string(),
                vec![ev("sched-a", "2025-01-01T10:00:10Z")],
            ),
            (
                "late".to_string(),
                vec![ev("sched-a", "2025-01-01T10:00:50Z")],
            ),
            ("silent".to_string(), vec![]),
            (
                "twice".to_string(),
                vec![
                    ev("sched-a", "2025-01-01T10:00:10Z"),
                    ev("sched-b", "2025-01-01T10:00:40Z"),
                ],
            ),
        ];
        let problems = judge_bindings(&h, &bindings);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("Pod \"late\": event e: reported by \"sched-a\""));
        assert!(problems[1].contains("\"silent\" is bound but no Scheduled event"));
        assert!(problems[2].contains("\"twice\" was reported bound by"));
    }
}
