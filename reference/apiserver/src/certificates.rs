//! The CertificateSigningRequest strategy (upstream `pkg/registry/certificates`) and the
//! `CertificateApproval` and `CertificateSigning` admission plugins: a request records
//! who made it, starts without status, and each of the main resource, `/status` and
//! `/approval` changes only its own part; approving needs `approve`, issuing needs
//! `sign`, on the synthetic `signers` resource named by the request's signer.
//!
//! Entry points: [`prepare_for_create`], [`prepare_for_update`], [`admit`].

use serde_json::{Value, json};

use crate::admission::Mode;
use crate::auth::User;
use crate::authz::attributes::Attributes;
use crate::state::AppState;
use crate::status::ApiError;

pub const GROUP: &str = "certificates.k8s.io";
pub const PLURAL: &str = "certificatesigningrequests";

/// The requesting user fills `spec.username`, `uid`, `groups` and `extra`; whatever the
/// client sent there, and any status, is dropped.
pub fn prepare_for_create(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        for f in ["username", "uid", "groups", "extra"] {
            spec.remove(f);
        }
        if let Some(user) = crate::authz::request_user() {
            spec.insert("username".into(), json!(user.name));
            if !user.uid.is_empty() {
                spec.insert("uid".into(), json!(user.uid));
            }
            spec.insert("groups".into(), json!(user.groups));
            if !user.extra.is_empty() {
                spec.insert("extra".into(), json!(user.extra));
            }
        }
    }
    obj["status"] = json!({});
}

/// What each write path keeps from the stored request (`old`): the spec always; the main
/// resource the whole status, `/status` the Approved and Denied conditions (when their
/// number is unchanged; otherwise [`admit`] refuses the write), `/approval` all but the
/// conditions. Conditions written get their missing timestamps.
pub fn prepare_for_update(mode: Mode, old: &Value, new: &mut Value) {
    new["spec"] = old["spec"].clone();
    match mode {
        Mode::Main => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        },
        Mode::Status => {
            for ty in ["Approved", "Denied"] {
                preserve_instances(old, new, ty);
            }
            populate_timestamps(old, new);
        }
        Mode::Approval => {
            let conditions = new["status"].get("conditions").cloned();
            new["status"] = old.get("status").cloned().unwrap_or_else(|| json!({}));
            set_conditions(new, conditions);
            populate_timestamps(old, new);
        }
    }
}

fn indices(obj: &Value, ty: &str) -> Vec<usize> {
    obj["status"]["conditions"]
        .as_array()
        .map(|l| (0..l.len()).filter(|&i| l[i]["type"] == ty).collect())
        .unwrap_or_default()
}

/// Upstream's `preserveConditionInstances`: the stored conditions of `ty` replace the
/// written ones, position by position, when there are as many.
fn preserve_instances(old: &Value, new: &mut Value, ty: &str) {
    let (was, is) = (indices(old, ty), indices(new, ty));
    if was.len() != is.len() {
        return;
    }
    for (o, n) in was.into_iter().zip(is) {
        new["status"]["conditions"][n] = old["status"]["conditions"][o].clone();
    }
}

/// Upstream's `populateConditionTimestamps`: a missing `lastUpdateTime` is now; a
/// missing `lastTransitionTime` is the stored one of the same type and status, else now.
fn populate_timestamps(old: &Value, new: &mut Value) {
    let now = crate::admission::now_rfc3339();
    let stored = old["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(list) = new["status"]["conditions"].as_array_mut() else {
        return;
    };
    for c in list {
        let missing = |c: &Value, f: &str| c.get(f).is_none_or(|v| v.is_null() || v == "");
        if missing(c, "lastUpdateTime") {
            c["lastUpdateTime"] = json!(now);
        }
        if missing(c, "lastTransitionTime") {
            let kept = stored.iter().find(|o| {
                o["type"] == c["type"]
                    && o["status"] == c["status"]
                    && !missing(o, "lastTransitionTime")
            });
            c["lastTransitionTime"] =
                kept.map_or_else(|| json!(now), |o| o["lastTransitionTime"].clone());
        }
    }
}

fn set_conditions(obj: &mut Value, conditions: Option<Value>) {
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if let Some(status) = obj["status"].as_object_mut() {
        match conditions {
            Some(c) => status.insert("conditions".into(), c),
            None => status.remove("conditions"),
        };
    }
}

/// Upstream's status-path rule (`allowSettingApprovalConditions` false): `/status` and
/// the main resource may not add or change Approved and Denied conditions.
fn approval_conditions_unchanged(
    info: &refkube_resources::ResourceInfo,
    name: &str,
    new: &Value,
    old: &Value,
) -> Result<(), ApiError> {
    let of = |o: &Value, ty: &str| -> Vec<Value> {
        indices(o, ty)
            .into_iter()
            .map(|i| o["status"]["conditions"][i].clone())
            .collect()
    };
    let mut causes = Vec::new();
    for ty in ["Approved", "Denied"] {
        let (was, is) = (of(old, ty), of(new, ty));
        let verb = if is.len() > was.len() {
            "add"
        } else if is.len() == was.len() && is != was {
            "modify"
        } else {
            continue;
        };
        causes.push(refkube_resources::validation::Cause {
            reason: "FieldValueForbidden",
            message: format!("Forbidden: updates may not {verb} a condition of type {ty:?}"),
            field: "status.conditions".into(),
        });
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(info, name, &causes))
    }
}

/// Upstream's `IsAuthorizedForSignerName`: `verb` on the signer, or on its domain's
/// wildcard (`kubernetes.io/*`).
fn authorized_for_signer(state: &AppState, user: &User, verb: &str, signer: &str) -> bool {
    let domain = signer.split('/').next().unwrap_or_default();
    [signer.to_string(), format!("{domain}/*")]
        .iter()
        .any(|name| {
            let a = Attributes::resource(user, verb, GROUP, "signers").named("", name);
            state.authorizer.authorize(&state.caches, &a).allowed()
        })
}

/// The approval and signing admission of an update to `subresource`, judged against the
/// stored request's signer (so a changed signer name cannot widen what is allowed).
pub fn admit(
    state: &AppState,
    user: &User,
    subresource: &str,
    new: &Value,
    old: &Value,
) -> Result<(), ApiError> {
    let signer = old["spec"]["signerName"].as_str().unwrap_or_default();
    let name = old["metadata"]["name"].as_str().unwrap_or_default();
    let info = refkube_resources::registry::lookup(GROUP, "v1", PLURAL)
        .ok_or_else(|| ApiError::internal("certificatesigningrequests are not registered"))?;
    if subresource == "status" {
        approval_conditions_unchanged(info, name, new, old)?;
    }
    let (verb, what) = match subresource {
        "approval" => ("approve", "approve"),
        "status" if new["status"].get("certificate") != old["status"].get("certificate") => {
            ("sign", "sign")
        }
        _ => return Ok(()),
    };
    if authorized_for_signer(state, user, verb, signer) {
        return Ok(());
    }
    Err(ApiError::forbidden(
        info,
        name,
        &format!("user not permitted to {what} requests with signerName {signer:?}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> Value {
        json!({"metadata": {"name": "c"}, "spec": {"signerName": "s/x", "username": "u"},
               "status": {"conditions": [{"type": "Approved", "status": "True"}],
                          "certificate": "OLD"}})
    }

    #[test]
    fn each_path_changes_only_its_own_part() {
        let sent = json!({"metadata": {"name": "c"}, "spec": {"signerName": "other"},
                          "status": {"conditions": [], "certificate": "NEW"}});
        let mut main = sent.clone();
        prepare_for_update(Mode::Main, &stored(), &mut main);
        assert_eq!(main["spec"], stored()["spec"]);
        assert_eq!(main["status"], stored()["status"]);
        let mut status = sent.clone();
        prepare_for_update(Mode::Status, &stored(), &mut status);
        assert_eq!(status["spec"]["signerName"], "s/x");
        assert_eq!(status["status"]["certificate"], "NEW");
        // Removing the approval is left for admission to refuse.
        assert_eq!(status["status"]["conditions"], json!([]));
        // Written Approved conditions are the stored ones when their number is unchanged.
        let mut kept = sent.clone();
        kept["status"]["conditions"] =
            json!([{"type": "Approved", "status": "True", "reason": "x"}]);
        prepare_for_update(Mode::Status, &stored(), &mut kept);
        assert!(kept["status"]["conditions"][0].get("reason").is_none());
        let mut approval = sent;
        prepare_for_update(Mode::Approval, &stored(), &mut approval);
        assert_eq!(approval["status"]["certificate"], "OLD");
        assert_eq!(approval["status"]["conditions"], json!([]));
        let mut stamped =
            json!({"status": {"conditions": [{"type": "Approved", "status": "True"}]}});
        prepare_for_update(Mode::Approval, &json!({}), &mut stamped);
        let c = &stamped["status"]["conditions"][0];
        assert!(c["lastUpdateTime"].is_string() && c["lastTransitionTime"].is_string());
    }

    #[test]
    fn create_drops_a_forged_requestor_and_status() {
        let mut o = json!({"spec": {"username": "forged", "groups": ["system:masters"]},
                           "status": {"certificate": "X"}});
        prepare_for_create(&mut o);
        // The server's own writes have no request user: nothing is filled in.
        assert_eq!(o, json!({"spec": {}, "status": {}}));
    }
}
