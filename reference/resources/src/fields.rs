//! Field selectors (`?fieldSelector=`): which fields each resource supports and their
//! values, as upstream's `*ToSelectableFields` functions define them.
//!
//! Entry points: [`FieldSelector::parse`], [`FieldSelector::matches`],
//! [`selectable_fields`].

use crate::ResourceInfo;
use serde_json::Value;

/// A parsed field selector: a conjunction of `field=value` / `field!=value`; in each
/// term the bool is `true` for `=`/`==` and `false` for `!=`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub terms: Vec<(String, bool, String)>,
}

/// A field selector that does not parse or names an unsupported field; the message is
/// upstream's wording (for example `field label not supported: spec.foo`).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct FieldSelectorError(pub String);

/// The fields upstream's conversion functions accept for a resource.
fn supported(info: &ResourceInfo) -> Vec<&'static str> {
    info.strategy.selectable_fields().to_vec()
}

/// The value of a selectable field of `obj`, as upstream's `fields.Set` holds it: the
/// kind's own rendering where it has one, else the string at the field's path.
pub fn field_value(info: &ResourceInfo, obj: &Value, field: &str) -> String {
    info.strategy
        .field_value(obj, field)
        .unwrap_or_else(|| crate::strategy::string_at(obj, field))
}

/// The selectable fields of an Event, core/v1 and events.k8s.io/v1 alike (each API
/// accepts the other's names).
pub(crate) const EVENT_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// The events.k8s.io/v1 selectable fields: its own names and core/v1's.
pub(crate) const EVENT_V1_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reportingController",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// An Event's field as upstream's event field sets hold it; `v1` for events.k8s.io
/// objects (whose `regarding` and `deprecatedSource` hold what core calls
/// `involvedObject` and `source`).
pub(crate) fn event_field(obj: &Value, field: &str, v1: bool) -> Option<String> {
    let s = |ptr: &str| obj.pointer(ptr).and_then(Value::as_str).unwrap_or_default();
    match field {
        "source" | "reportingComponent" | "reportingController" => {
            let (source, reporting) = if v1 {
                (s("/deprecatedSource/component"), s("/reportingController"))
            } else {
                (s("/source/component"), s("/reportingComponent"))
            };
            Some(if field == "source" && !source.is_empty() {
                source.into()
            } else {
                reporting.into()
            })
        }
        f if f.starts_with("involvedObject.") || f.starts_with("regarding.") => {
            let (_, sub) = f.split_once('.').unwrap_or_default();
            let base = if v1 { "regarding" } else { "involvedObject" };
            Some(s(&format!("/{base}/{sub}")).into())
        }
        _ => None,
    }
}

/// Splits on commas not escaped by a backslash (upstream's `splitTerms`).
fn split_terms(s: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    terms.push(cur);
    terms
}

/// Upstream's `UnescapeValue`: only `\\`, `\,` and `\=` are valid escapes.
fn unescape(v: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('\\' | ',' | '=')) => out.push(e),
            Some(_) => {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: {v}"
                ));
            }
            None => {
                return Err(format!(
                    "invalid field selector: unterminated escape sequence: {v}"
                ));
            }
        }
    }
    Ok(out)
}

impl FieldSelector {
    /// Parses the selector and checks every field is selectable on `info`.
    pub fn parse(info: &ResourceInfo, s: &str) -> Result<Self, FieldSelectorError> {
        let allowed = supported(info);
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let Some((field, equal, rhs)) = split_term(part) else {
                return Err(FieldSelectorError(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape(rhs).map_err(FieldSelectorError)?;
            if !allowed.contains(&field) {
                return Err(FieldSelectorError(format!(
                    "field label not supported: {field}"
                )));
            }
            terms.push((field.to_string(), equal, value));
        }
        Ok(Self { terms })
    }

    pub fn matches(&self, info: &ResourceInfo, obj: &Value) -> bool {
        self.terms
            .iter()
            .all(|(field, equal, value)| (field_value(info, obj, field) == *value) == *equal)
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// The first `!=`, `==` or `=` in the term (upstream's `splitTerm`).
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, equal) in [("!=", false), ("==", true), ("=", true)] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], equal, rhs));
            }
        }
    }
    None
}

/// The fields selectable on `info` (metadata first), for documentation and errors.
pub fn selectable_fields(info: &ResourceInfo) -> Vec<&'static str> {
    supported(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::lookup;
    use serde_json::json;

    fn pods() -> &'static ResourceInfo {
        lookup("", "v1", "pods").unwrap()
    }

    #[test]
    fn pods_select_on_node_name_and_phase() {
        let sel =
            FieldSelector::parse(pods(), "spec.nodeName=node-1,status.phase!=Failed").unwrap();
        let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}});
        assert!(sel.matches(pods(), &pod));
        let other = json!({"spec": {"nodeName": "node-2"}, "status": {"phase": "Running"}});
        assert!(!sel.matches(pods(), &other));
    }

    #[test]
    fn an_empty_node_name_selects_unscheduled_pods() {
        let sel = FieldSelector::parse(pods(), "spec.nodeName=").unwrap();
        assert!(sel.matches(pods(), &json!({"spec": {}})));
        assert!(!sel.matches(pods(), &json!({"spec": {"nodeName": "n"}})));
    }

    #[test]
    fn an_unsupported_field_is_rejected_with_upstreams_message() {
        assert_eq!(
            FieldSelector::parse(pods(), "spec.foo=bar").unwrap_err().0,
            "field label not supported: spec.foo"
        );
        let nodes = lookup("", "v1", "nodes").unwrap();
        assert_eq!(
            FieldSelector::parse(nodes, "metadata.namespace=x")
                .unwrap_err()
                .0,
            "field label not supported: metadata.namespace"
        );
    }

    #[test]
    fn a_term_without_operator_cannot_be_understood() {
        assert_eq!(
            FieldSelector::parse(pods(), "a,b=c").unwrap_err().0,
            "invalid selector: 'a,b=c'; can't understand 'a'"
        );
    }

    #[test]
    fn escaped_commas_stay_in_the_value() {
        let sel = FieldSelector::parse(pods(), r"metadata.name=a\,b").unwrap();
        assert_eq!(
            sel.terms,
            [("metadata.name".to_string(), true, "a,b".to_string())]
        );
        assert!(FieldSelector::parse(pods(), r"metadata.name=a\x").is_err());
    }

    #[test]
    fn booleans_and_counts_are_compared_as_upstream_formats_them() {
        assert!(
            FieldSelector::parse(pods(), "spec.hostNetwork=false")
                .unwrap()
                .matches(pods(), &json!({"spec": {}}))
        );
        let nodes = lookup("", "v1", "nodes").unwrap();
        let cordoned = json!({"spec": {"unschedulable": true}});
        assert!(
            FieldSelector::parse(nodes, "spec.unschedulable=true")
                .unwrap()
                .matches(nodes, &cordoned)
        );
        let jobs = lookup("batch", "v1", "jobs").unwrap();
        assert!(
            FieldSelector::parse(jobs, "status.successful==2")
                .unwrap()
                .matches(jobs, &json!({"status": {"succeeded": 2}}))
        );
    }

    #[test]
    fn events_select_on_the_involved_object_and_source() {
        let events = lookup("", "v1", "events").unwrap();
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "web"}, "reason": "Scheduled", "reportingComponent": "default-scheduler"});
        let sel = FieldSelector::parse(
            events,
            "involvedObject.kind=Pod,involvedObject.name=web,source=default-scheduler",
        )
        .unwrap();
        assert!(sel.matches(events, &ev));
        let v1 = lookup("events.k8s.io", "v1", "events").unwrap();
        let ev1 =
            json!({"regarding": {"kind": "Node", "name": "n1"}, "reportingController": "kubelet"});
        let sel =
            FieldSelector::parse(v1, "regarding.name=n1,reportingController=kubelet").unwrap();
        assert!(sel.matches(v1, &ev1));
    }

    #[test]
    fn secrets_select_on_type_and_an_empty_selector_matches_all() {
        let secrets = lookup("", "v1", "secrets").unwrap();
        let sel = FieldSelector::parse(secrets, "type=Opaque").unwrap();
        assert!(sel.matches(secrets, &json!({"type": "Opaque"})));
        assert!(FieldSelector::parse(secrets, "").unwrap().is_empty());
    }
}
