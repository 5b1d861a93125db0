//! Step definitions, one module per domain.
//!
//! Entry points: the `#[given]`/`#[when]`/`#[then]` functions in each module (collected by
//! cucumber at link time), [`Outcome`] (what every step returns) and the small parsing
//! helpers steps share.

/// Fails the step with a formatted message (the step-level `bail!`).
macro_rules! fail {
    ($($t:tt)*) => {
        return Err(anyhow::anyhow!($($t)*).into())
    };
}

pub mod apiserver;
pub mod apply;
pub mod architecture;
pub mod authorship;
pub mod background;
pub mod certificates;
pub mod chains;
pub mod common;
pub mod controllers;
pub mod crds;
pub mod cronjobs;
pub mod disruption;
pub mod exec;
pub mod gc_custom;
pub mod ha;
pub mod health;
pub mod identity;
pub mod iptables;
pub mod kubelet;
pub mod kubelet_server;
pub mod leadership;
pub mod logs;
pub mod networking;
pub mod nodes;
pub mod performance;
pub mod pods;
pub mod rbac_api;
pub mod rollout;
pub mod scheduling;
pub mod security;
pub mod service_ips;
pub mod streaming;
pub mod watch;
pub mod writer;

use std::fmt;

use kube::api::DynamicObject;

/// A failed step: an error whose message is printed in full (with its whole context chain).
pub struct Failure(pub anyhow::Error);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.into())
    }
}

/// What every step returns.
pub type Outcome = Result<(), Failure>;

/// The docstring of a step, or a clear error when the feature forgot it.
pub fn docstring(step: &cucumber::gherkin::Step) -> anyhow::Result<&str> {
    step.docstring
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("the step {:?} needs a \"\"\" docstring", step.value))
}

/// The rows of a step's table without its header, or a clear error.
pub fn table_rows(step: &cucumber::gherkin::Step) -> anyhow::Result<Vec<Vec<String>>> {
    let table = step
        .table
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the step {:?} needs a table", step.value))?;
    Ok(table.rows.iter().skip(1).cloned().collect())
}

/// A comma-separated list in step text: `"a, b and c"` → `[a, b, c]`.
pub fn list(text: &str) -> Vec<String> {
    text.replace(" and ", ",")
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A field of an object by a dotted path, `status.phase` or `spec.containers.0.image`,
/// rendered as text (`None` when absent). Keys with dots are written in brackets:
/// `metadata.labels[app.kubernetes.io/name]`.
pub fn field(obj: &DynamicObject, path: &str) -> Option<String> {
    let value = serde_json::to_value(obj).ok()?;
    let mut cur = &value;
    for part in split_path(path) {
        cur = match cur {
            serde_json::Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            other => other.get(&part)?,
        };
    }
    Some(match cur {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            parts.push(inner[..end].to_string());
            rest = inner.get(end + 1..).unwrap_or("").trim_start_matches('.');
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            parts.push(rest[..end].to_string());
            rest = rest[end..].trim_start_matches('.');
        }
    }
    parts
}

/// The object's name.
pub fn name_of(obj: &DynamicObject) -> String {
    obj.metadata.name.clone().unwrap_or_default()
}

/// The status of a condition of the given type (`True`/`False`/`Unknown`).
pub fn condition<'a>(obj: &'a DynamicObject, type_: &str) -> Option<&'a serde_json::Value> {
    obj.data
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(|t| t.as_str()) == Some(type_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_reach_into_maps_lists_and_bracketed_keys() {
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"containers": [{"image": "nginx"}]},
            "status": {"phase": "Running"}
        }))
        .unwrap();
        assert_eq!(field(&obj, "status.phase").as_deref(), Some("Running"));
        assert_eq!(
            field(&obj, "spec.containers.0.image").as_deref(),
            Some("nginx")
        );
        assert_eq!(
            field(&obj, "metadata.labels[app.kubernetes.io/name]").as_deref(),
            Some("web")
        );
        assert_eq!(field(&obj, "spec.nodeName"), None);
    }

    #[test]
    fn lists_in_step_text_split_on_commas_and_and() {
        assert_eq!(list("\"a\", \"b\" and \"c\""), vec!["a", "b", "c"]);
        assert_eq!(list("web-0, web-1"), vec!["web-0", "web-1"]);
    }
}
