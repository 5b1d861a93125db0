//! Architecture steps: component health (`kubectl get componentstatuses`) and the rule that
//! components talk only through the API server, checked against its audit log.
//!
//! Entry points: the step functions.

use cucumber::then;

use super::{Outcome, list, name_of};
use crate::world::KubeWorld;

#[then(expr = "the component statuses include {string}")]
async fn statuses_include(world: &mut KubeWorld, names: String) -> Outcome {
    let (_, api) = world.api("ComponentStatus")?;
    let got: Vec<String> = api
        .list(&Default::default())
        .await?
        .items
        .iter()
        .map(name_of)
        .collect();
    for want in list(&names) {
        let present = if let Some(prefix) = want.strip_suffix('*') {
            got.iter().any(|g| g.starts_with(prefix))
        } else {
            got.contains(&want)
        };
        if !present {
            fail!("componentstatuses lists {got:?}, which lacks {want:?}");
        }
    }
    Ok(())
}

#[then(expr = "eventually every component status is Healthy")]
async fn all_healthy(world: &mut KubeWorld) -> Outcome {
    let what = "every component status to be Healthy";
    world
        .wait_for("ComponentStatus", "", what, world.timings.expect, |items| {
            (!items.is_empty()
                && items.iter().all(|cs| {
                    cs.data
                        .pointer("/conditions")
                        .and_then(|c| c.as_array())
                        .is_some_and(|cs| {
                            cs.iter().any(|c| {
                                c.get("type").and_then(|t| t.as_str()) == Some("Healthy")
                                    && c.get("status").and_then(|s| s.as_str()) == Some("True")
                            })
                        })
                }))
            .then_some(())
        })
        .await?;
    Ok(())
}

/// Whether an audit event is a write (`create`, `update`, `patch`, `delete`) of
/// `resource` (e.g. `pods` or `pods/binding`) in `namespace` that got a 2xx answer.
fn is_write(ev: &serde_json::Value, resource: &str, namespace: &str) -> bool {
    let verb = ev.get("verb").and_then(|v| v.as_str()).unwrap_or("");
    let r = ev
        .pointer("/objectRef/resource")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let sub = ev
        .pointer("/objectRef/subresource")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let full = if sub.is_empty() {
        r.to_string()
    } else {
        format!("{r}/{sub}")
    };
    let ns = ev
        .pointer("/objectRef/namespace")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let code = ev
        .pointer("/responseStatus/code")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    matches!(verb, "create" | "update" | "patch" | "delete")
        && full == resource
        && ns == namespace
        && (200..300).contains(&code)
}

#[then(expr = "the audit log shows writes of {string} in the scenario's namespace by {string}")]
async fn audit_writes_by(world: &mut KubeWorld, resource: String, user: String) -> Outcome {
    let log = world.audit_log().await?;
    let users: Vec<String> = log
        .iter()
        .filter(|e| is_write(e, &resource, &world.namespace))
        .filter_map(|e| {
            e.pointer("/user/username")
                .and_then(|u| u.as_str())
                .map(str::to_string)
        })
        .collect();
    let matches = |u: &String| match user.strip_suffix('*') {
        Some(prefix) => u.starts_with(prefix),
        None => *u == user,
    };
    if !users.iter().any(matches) {
        fail!(
            "no audited write of {resource} in {} by {user:?}; writers seen: {users:?}",
            world.namespace
        );
    }
    Ok(())
}

#[then(expr = "every write the scenario observed appears in the API server's audit log")]
async fn every_write_audited(world: &mut KubeWorld) -> Outcome {
    let log = world.audit_log().await?;
    let audited: Vec<(String, String)> = log
        .iter()
        .filter(|e| {
            let verb = e.get("verb").and_then(|v| v.as_str()).unwrap_or("");
            matches!(verb, "create" | "update" | "patch" | "delete")
        })
        .filter_map(|e| {
            Some((
                e.pointer("/objectRef/resource")?.as_str()?.to_string(),
                e.pointer("/objectRef/name")
                    .and_then(|n| n.as_str())
                    .unwrap_or("")
                    .to_string(),
            ))
        })
        .collect();
    for o in world.log.snapshot() {
        if o.kind == "Event" || o.kind == "Node" {
            continue;
        }
        let resource = crate::kinds::resolve(&o.kind)
            .map(|k| k.resource.plural)
            .unwrap_or_else(|_| format!("{}s", o.kind.to_ascii_lowercase()));
        // Creates with generateName are audited without a name; match on the resource.
        let found = audited
            .iter()
            .any(|(r, n)| *r == resource && (n == &o.name || n.is_empty()));
        if !found {
            fail!(
                "the {} of {}/{} (rv {}) has no audited API request: something wrote around the API server",
                o.event,
                o.kind,
                o.name,
                o.resource_version
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_successful_binding_create_is_a_write_of_pods_binding() {
        let ev = json!({"verb": "create", "objectRef": {"resource": "pods", "subresource": "binding", "namespace": "ns"}, "responseStatus": {"code": 201}});
        assert!(is_write(&ev, "pods/binding", "ns"));
        assert!(!is_write(&ev, "pods", "ns"));
        let failed = json!({"verb": "create", "objectRef": {"resource": "pods", "namespace": "ns"}, "responseStatus": {"code": 409}});
        assert!(!is_write(&failed, "pods", "ns"));
    }
}
