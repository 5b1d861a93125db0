//! The naming controller (`controller/status/naming_controller.go`), the establishing
//! controller (`controller/establish`) and the finalizer's `Terminating` condition, with
//! upstream's condition types, reasons and messages, and `SetCRDCondition`.

use crate::structural::strings;
use serde_json::{Value, json};
use std::collections::HashSet;

/// `CustomResourceDefinitionNames`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrdNames {
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub kind: String,
    pub list_kind: String,
    pub categories: Vec<String>,
}

impl CrdNames {
    /// Reads `spec.names` or `status.acceptedNames` (absent fields are empty).
    pub fn from_value(v: Option<&Value>) -> Self {
        let empty = Value::Null;
        let v = v.unwrap_or(&empty);
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        CrdNames {
            plural: s("plural"),
            singular: s("singular"),
            short_names: strings(v.get("shortNames")),
            kind: s("kind"),
            list_kind: s("listKind"),
            categories: strings(v.get("categories")),
        }
    }

    /// The v1 JSON form (`plural` and `kind` always present, the rest when set).
    pub fn to_value(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("plural".into(), json!(self.plural));
        if !self.singular.is_empty() {
            m.insert("singular".into(), json!(self.singular));
        }
        if !self.short_names.is_empty() {
            m.insert("shortNames".into(), json!(self.short_names));
        }
        m.insert("kind".into(), json!(self.kind));
        if !self.list_kind.is_empty() {
            m.insert("listKind".into(), json!(self.list_kind));
        }
        if !self.categories.is_empty() {
            m.insert("categories".into(), json!(self.categories));
        }
        Value::Object(m)
    }
}

/// One `CustomResourceDefinitionCondition` (without its transition time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub type_: &'static str,
    pub status: &'static str,
    pub reason: String,
    pub message: String,
}

impl Condition {
    pub(crate) fn new(
        type_: &'static str,
        status: &'static str,
        reason: &str,
        message: &str,
    ) -> Self {
        Condition {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// What the naming controller computes for one CRD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    /// The new `status.acceptedNames` (conflicting names keep their old accepted value).
    pub names: CrdNames,
    /// `NamesAccepted`: True/NoConflicts or False/<Field>Conflict.
    pub names_accepted: Condition,
    /// `Established` as the naming controller leaves it: kept when already True,
    /// else False/Installing once names are accepted, else False/NotAccepted.
    pub established: Condition,
}

/// `Established` True as the establishing controller sets it.
pub fn established_condition() -> Condition {
    Condition::new(
        "Established",
        "True",
        "InitialNamesAccepted",
        "the initial names have been accepted",
    )
}

/// `Terminating` True as the finalizer sets it while deleting the instances.
pub fn terminating_condition() -> Condition {
    Condition::new(
        "Terminating",
        "True",
        "InstanceDeletionInProgress",
        "CustomResource deletion is in progress",
    )
}

fn find_condition<'a>(crd: &'a Value, type_: &str) -> Option<&'a Value> {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == type_)
}

/// `IsCRDConditionTrue`.
pub fn condition_is_true(crd: &Value, type_: &str) -> bool {
    find_condition(crd, type_).is_some_and(|c| c["status"] == "True")
}

/// `equalToAcceptedOrFresh`.
fn fresh(requested: &str, accepted: &str, used: &HashSet<String>) -> Result<(), String> {
    if requested == accepted || !used.contains(requested) {
        Ok(())
    } else {
        Err(format!("{requested:?} is already in use"))
    }
}

/// `calculateNamesAndConditions`: `others` are the CRDs in storage (the CRD itself may
/// be among them: its own accepted names never conflict with its request).
pub fn calculate_names(crd: &Value, others: &[Value]) -> Naming {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let mut resources = HashSet::new();
    let mut kinds = HashSet::new();
    for other in others.iter().filter(|o| o["spec"]["group"] == group) {
        let n = CrdNames::from_value(other.pointer("/status/acceptedNames"));
        resources.insert(n.plural);
        resources.insert(n.singular);
        resources.extend(n.short_names);
        kinds.insert(n.kind);
        kinds.insert(n.list_kind);
    }
    let requested = CrdNames::from_value(crd.pointer("/spec/names"));
    let accepted = CrdNames::from_value(crd.pointer("/status/acceptedNames"));
    let mut names = accepted.clone();
    let mut conflict: Option<(&str, String)> = None;
    match fresh(&requested.plural, &accepted.plural, &resources) {
        Ok(()) => names.plural = requested.plural.clone(),
        Err(m) => conflict = Some(("PluralConflict", m)),
    }
    match fresh(&requested.singular, &accepted.singular, &resources) {
        Ok(()) => names.singular = requested.singular.clone(),
        Err(m) => conflict = Some(("SingularConflict", m)),
    }
    if requested.short_names != accepted.short_names {
        let mine: HashSet<&String> = accepted.short_names.iter().collect();
        let mut msgs: Vec<String> = Vec::new();
        for short in requested.short_names.iter().filter(|s| !mine.contains(s)) {
            if let Err(m) = fresh(short, "", &resources)
                && !msgs.contains(&m)
            {
                msgs.push(m);
            }
        }
        // utilerrors.NewAggregate: one message bare, several bracketed.
        match msgs.len() {
            0 => names.short_names = requested.short_names.clone(),
            1 => conflict = Some(("ShortNamesConflict", msgs.remove(0))),
            _ => conflict = Some(("ShortNamesConflict", format!("[{}]", msgs.join(", ")))),
        }
    }
    match fresh(&requested.kind, &accepted.kind, &kinds) {
        Ok(()) => names.kind = requested.kind.clone(),
        Err(m) => conflict = Some(("KindConflict", m)),
    }
    match fresh(&requested.list_kind, &accepted.list_kind, &kinds) {
        Ok(()) => names.list_kind = requested.list_kind.clone(),
        Err(m) => conflict = Some(("ListKindConflict", m)),
    }
    names.categories = requested.categories.clone();
    let names_accepted = match &conflict {
        Some((reason, message)) => Condition::new("NamesAccepted", "False", reason, message),
        None => Condition::new("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
    };
    let mut established = match find_condition(crd, "Established") {
        Some(c) => Condition {
            type_: "Established",
            status: match c["status"].as_str() {
                Some("True") => "True",
                Some("False") => "False",
                _ => "Unknown",
            },
            reason: c["reason"].as_str().unwrap_or_default().into(),
            message: c["message"].as_str().unwrap_or_default().into(),
        },
        None => Condition::new(
            "Established",
            "False",
            "NotAccepted",
            "not all names are accepted",
        ),
    };
    if established.status != "True" && conflict.is_none() {
        established = Condition::new(
            "Established",
            "False",
            "Installing",
            "the initial names have been accepted",
        );
    }
    Naming {
        names,
        names_accepted,
        established,
    }
}

/// The naming controller's verdict alone: the accepted names, or the `NamesAccepted`
/// reason and message of the (last) conflict, e.g. `("PluralConflict", "\"foos\" is
/// already in use")`.
pub fn accepted_names(crd: &Value, others: &[Value]) -> Result<CrdNames, (String, String)> {
    let n = calculate_names(crd, others);
    if n.names_accepted.status == "True" {
        Ok(n.names)
    } else {
        Err((n.names_accepted.reason, n.names_accepted.message))
    }
}

/// The conditions a CRD settles on once the naming and establishing controllers have
/// run: `NamesAccepted`, then `Established` (True/InitialNamesAccepted when the names
/// were accepted, as the establishing controller promotes Installing right away).
pub fn status_conditions(crd: &Value, others: &[Value]) -> Vec<Condition> {
    let n = calculate_names(crd, others);
    let established = if n.names_accepted.status == "True" {
        established_condition()
    } else {
        n.established
    };
    vec![n.names_accepted, established]
}

/// `SetCRDCondition`: replaces the condition of the same type, moving
/// `lastTransitionTime` to `now` only when the status changes (or was unset).
pub fn set_condition(crd: &mut Value, cond: &Condition, now: &str) {
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    let status = obj.entry("status").or_insert_with(|| json!({}));
    if !status.is_object() {
        *status = json!({});
    }
    let conds = &mut status["conditions"];
    if !conds.is_array() {
        *conds = json!([]);
    }
    let Some(list) = conds.as_array_mut() else {
        return;
    };
    match list.iter_mut().find(|c| c["type"] == cond.type_) {
        Some(existing) => {
            let unset = existing["lastTransitionTime"]
                .as_str()
                .is_none_or(str::is_empty);
            if existing["status"] != cond.status || unset {
                existing["lastTransitionTime"] = json!(now);
            }
            existing["status"] = json!(cond.status);
            existing["reason"] = json!(cond.reason);
            existing["message"] = json!(cond.message);
        }
        None => list.push(json!({
            "type": cond.type_,
            "status": cond.status,
            "lastTransitionTime": now,
            "reason": cond.reason,
            "message": cond.message,
        })),
    }
}

/// One pass of the naming controller followed by the establishing controller over
/// `crd`; returns whether the status changed (the caller then writes it, as upstream's
/// `UpdateStatus` does). `now` is an RFC 3339 timestamp for transition times.
pub fn sync_status(crd: &mut Value, others: &[Value], now: &str) -> bool {
    let Some(obj) = crd.as_object_mut() else {
        return false;
    };
    let before = obj.get("status").cloned();
    if !obj.get("status").is_some_and(Value::is_object) {
        obj.insert("status".into(), json!({}));
    }
    let spec_names = CrdNames::from_value(crd.pointer("/spec/names"));
    let accepted = CrdNames::from_value(crd.pointer("/status/acceptedNames"));
    // The naming controller skips a CRD whose accepted names already match its spec.
    if spec_names != accepted {
        let n = calculate_names(crd, others);
        if let Some(status) = crd.get_mut("status").and_then(Value::as_object_mut) {
            status.insert("acceptedNames".into(), n.names.to_value());
        }
        set_condition(crd, &n.names_accepted, now);
        set_condition(crd, &n.established, now);
    }
    if condition_is_true(crd, "NamesAccepted") && !condition_is_true(crd, "Established") {
        set_condition(crd, &established_condition(), now);
    }
    crd.get("status").cloned() != before
}
