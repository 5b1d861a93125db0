//! Health steps: what the API server says when its store loses its majority (a write is
//! refused with a Status, promptly; `/readyz` fails naming etcd; `componentstatuses`
//! marks the stopped members unhealthy) and that it recovers.
//!
//! Entry points: the step functions; the pure readings are [`failed_checks`],
//! [`status_of`] and [`component_health`]. Health endpoints and componentstatuses
//! cannot be watched, so these steps poll, every [`POLL`], within the bound the step
//! states. The refused write must see the API server's first answer: a client that
//! retries 429/503/504 (kube's default) hides it, so targets should build the harness's
//! client without retries (`kube::Config::default_retry = false`).

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;
use cucumber::then;
use http_body_util::BodyExt as _;
use kube::api::DynamicObject;
use kube::core::Status;
use tokio::time::Instant;

use super::{Outcome, list, name_of};
use crate::world::KubeWorld;

/// How often a health probe is repeated.
pub const POLL: Duration = Duration::from_millis(250);

/// Why a raw request got no usable answer.
#[derive(Debug, thiserror::Error)]
enum SendError {
    /// The scenario has no client.
    #[error("{0}")]
    NoClient(anyhow::Error),
    /// The request could not be built.
    #[error("{0}")]
    Build(#[from] http::Error),
    /// The request failed.
    #[error("{0}")]
    Send(#[from] kube::Error),
    /// The answer's body could not be read.
    #[error("reading the answer: {0}")]
    Read(kube::Error),
    /// Nothing came back in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// Why a probe has not seen what it waits for (yet).
#[derive(Debug, thiserror::Error)]
enum NotYet {
    /// No usable answer.
    #[error(transparent)]
    Send(#[from] SendError),
    /// An answer, but not the one waited for.
    #[error("{path} answered {code}:\n{body}")]
    Answered {
        path: String,
        code: u16,
        body: String,
    },
    /// componentstatuses could not be listed.
    #[error("listing componentstatuses: {0}")]
    List(kube::Error),
    /// Components not in the wanted state, each with why.
    #[error("{}", .0.join("; "))]
    Components(Vec<String>),
    /// The last probe was still running at the deadline.
    #[error("the last probe got no answer before the deadline")]
    NoAnswer,
}

/// Why an error answer is not a Kubernetes `Status`.
#[derive(Debug, thiserror::Error)]
pub enum NotAStatus {
    /// The body is not JSON.
    #[error("the {code} answer is not JSON: {body:?}")]
    NotJson {
        /// HTTP status.
        code: u16,
        /// The body, abbreviated.
        body: String,
    },
    /// JSON, but not `kind: Status`.
    #[error("the {code} answer is not a Status: {body}")]
    OtherKind {
        /// HTTP status.
        code: u16,
        /// The body, abbreviated.
        body: String,
    },
    /// `kind: Status` that does not deserialize.
    #[error("the {code} answer is a malformed Status ({source})")]
    Malformed {
        /// HTTP status.
        code: u16,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// A Status without a message.
    #[error("the {code} Status has no message: {body}")]
    NoMessage {
        /// HTTP status.
        code: u16,
        /// The body, abbreviated.
        body: String,
    },
}

/// Runs `probe` (given the time left) every [`POLL`] until it returns `Ok` or `deadline`
/// passes; the error is the probe's last explanation of why not yet.
async fn poll<T, F, Fut>(deadline: Duration, mut probe: F) -> Result<T, NotYet>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, NotYet>>,
{
    let end = Instant::now() + deadline;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let last = match tokio::time::timeout(left, probe(left)).await {
            Ok(Ok(t)) => return Ok(t),
            Ok(Err(why)) => why,
            Err(_) => NotYet::NoAnswer,
        };
        if Instant::now() + POLL >= end {
            return Err(last);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Sends a raw request through the scenario's client (its authentication, its address)
/// and returns the HTTP status and body, whatever they are.
async fn send(
    world: &KubeWorld,
    request: http::Request<Vec<u8>>,
    within: Duration,
) -> Result<(u16, String), SendError> {
    let client = world.client().map_err(SendError::NoClient)?;
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, kube::client::Body::from(body));
    let exchange = async {
        let response = client.send(request).await?;
        let code = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(SendError::Read)?
            .to_bytes();
        Ok((code, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(within, exchange)
        .await
        .map_err(|_| SendError::Timeout(within))?
}

/// The checks a verbose health endpoint reports as failed (`[-]etcd failed: reason
/// withheld` → `etcd`).
pub fn failed_checks(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.trim().strip_prefix("[-]"))
        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

/// The Kubernetes `Status` an error answer carries, or why the answer is not one (not
/// JSON, not `kind: Status`, or without a message).
pub fn status_of(code: u16, body: &str) -> Result<Status, NotAStatus> {
    let value: serde_json::Value = serde_json::from_str(body).map_err(|_| NotAStatus::NotJson {
        code,
        body: abbreviate(body),
    })?;
    if value.get("kind").and_then(|k| k.as_str()) != Some("Status") {
        return Err(NotAStatus::OtherKind {
            code,
            body: abbreviate(body),
        });
    }
    let status: Status =
        serde_json::from_value(value).map_err(|source| NotAStatus::Malformed { code, source })?;
    if status.message.trim().is_empty() {
        return Err(NotAStatus::NoMessage {
            code,
            body: abbreviate(body),
        });
    }
    Ok(status)
}

fn abbreviate(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// Whether the component status `name` is Healthy (`Some(true)`), unhealthy
/// (`Some(false)`, with its message or error), or absent (`None`).
pub fn component_health(items: &[DynamicObject], name: &str) -> Option<(bool, String)> {
    let cs = items.iter().find(|c| name_of(c) == name)?;
    let cond = cs
        .data
        .pointer("/conditions")
        .and_then(|c| c.as_array())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Healthy"))
        });
    let text = |k: &str| {
        cond.and_then(|c| c.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let healthy = text("status") == "True";
    let detail = [text("message"), text("error")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Some((healthy, detail))
}

#[then(expr = "a write fails within {int} seconds with a Kubernetes Status error")]
async fn write_refused(world: &mut KubeWorld, secs: u64) -> Outcome {
    let bound = Duration::from_secs(secs);
    let body = serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"generateName": "without-majority-"},
        "data": {"written": "while the store has no majority"}
    }))?;
    let request = http::Request::post(format!("/api/v1/namespaces/{}/configmaps", world.namespace))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json")
        .body(body)?;
    let started = Instant::now();
    let (code, body) = send(world, request, bound).await.map_err(|e| {
        anyhow!(
            "the write did not fail cleanly within {secs}s: {e} (if the API server did refuse it \
             with 429, 503 or 504, the target's client may have retried: kube clients do by \
             default, so a target should build the harness's client with `default_retry = false`)"
        )
    })?;
    let took = started.elapsed();
    if (200..300).contains(&code) {
        fail!(
            "the write was acknowledged ({code}) after {took:?}, though the store should have no majority: {}",
            abbreviate(&body)
        );
    }
    let status = status_of(code, &body).map_err(|e| anyhow!("{e}"))?;
    if !(500..600).contains(&code) {
        fail!(
            "the write was refused with {code} {:?} ({:?}) after {took:?}; a store without a majority is a server-side failure (5xx)",
            status.reason,
            status.message
        );
    }
    world.last_error = Some(kube::Error::Api(Box::new(status)));
    Ok(())
}

async fn health(world: &KubeWorld, path: &str, left: Duration) -> Result<(u16, String), SendError> {
    let request = http::Request::get(path).body(Vec::new())?;
    send(world, request, left).await
}

#[then(expr = "within {int} seconds {string} reports not ready, naming {string}")]
async fn not_ready(world: &mut KubeWorld, secs: u64, path: String, check: String) -> Outcome {
    let world: &KubeWorld = world;
    let outcome = poll(Duration::from_secs(secs), |left| {
        let (path, check) = (&path, &check);
        async move {
            let (code, body) = health(world, path, left).await?;
            let failed = failed_checks(&body);
            if code != 200 && failed.iter().any(|f| f.contains(check.as_str())) {
                Ok(())
            } else {
                Err(NotYet::Answered {
                    path: path.clone(),
                    code,
                    body: body.trim_end().to_string(),
                })
            }
        }
    })
    .await;
    outcome.map_err(|last| {
        anyhow!("{path} did not report a failed {check:?} check within {secs}s; last: {last}")
    })?;
    Ok(())
}

#[then(expr = "within {int} seconds {string} reports ready")]
async fn ready(world: &mut KubeWorld, secs: u64, path: String) -> Outcome {
    let world: &KubeWorld = world;
    let outcome = poll(Duration::from_secs(secs), |left| {
        let path = &path;
        async move {
            match health(world, path, left).await? {
                (200, _) => Ok(()),
                (code, body) => Err(NotYet::Answered {
                    path: path.clone(),
                    code,
                    body: body.trim_end().to_string(),
                }),
            }
        }
    })
    .await;
    outcome.map_err(|last| anyhow!("{path} did not report ready within {secs}s; last: {last}"))?;
    Ok(())
}

/// Polls componentstatuses until every component in `names` has `healthy` health.
async fn statuses(world: &KubeWorld, secs: u64, names: &str, healthy: bool) -> Outcome {
    let names = list(&world.expand(names));
    if names.is_empty() {
        fail!("name at least one component");
    }
    let (_, api) = world.api("ComponentStatus")?;
    let outcome = poll(Duration::from_secs(secs), |_| {
        let (api, names) = (&api, &names);
        async move {
            let items = api
                .list(&Default::default())
                .await
                .map_err(NotYet::List)?
                .items;
            let mut wrong = Vec::new();
            for n in names {
                match component_health(&items, n) {
                    Some((h, _)) if h == healthy => {}
                    Some((_, detail)) => wrong.push(format!("{n}: {detail:?}")),
                    None => wrong.push(format!(
                        "{n} is not listed (listed: {:?})",
                        items.iter().map(name_of).collect::<Vec<_>>()
                    )),
                }
            }
            if wrong.is_empty() {
                Ok(())
            } else {
                Err(NotYet::Components(wrong))
            }
        }
    })
    .await;
    let want = if healthy { "healthy" } else { "unhealthy" };
    outcome.map_err(|last| {
        anyhow!("componentstatuses did not show {names:?} {want} within {secs}s; last: {last}")
    })?;
    Ok(())
}

#[then(expr = "within {int} seconds the component statuses {string} are unhealthy")]
async fn unhealthy(world: &mut KubeWorld, secs: u64, names: String) -> Outcome {
    statuses(world, secs, &names, false).await
}

#[then(expr = "within {int} seconds the component statuses {string} are healthy")]
async fn healthy(world: &mut KubeWorld, secs: u64, names: String) -> Outcome {
    statuses(world, secs, &names, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_checks_are_read_from_the_verbose_listing() {
        let body = "[+]ping ok\n[-]etcd failed: reason withheld\n[+]log ok\nreadyz check failed\n";
        assert_eq!(failed_checks(body), vec!["etcd"]);
        assert!(failed_checks("[+]ping ok\nreadyz check passed\n").is_empty());
    }

    #[test]
    fn only_a_status_with_a_message_counts_as_a_kubernetes_error() {
        let ok = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcdserver: request timed out","reason":"Timeout","code":504}"#;
        let s = status_of(504, ok).unwrap();
        assert_eq!(s.reason, "Timeout");
        let why = |code, body| status_of(code, body).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            why(502, "<html>Bad Gateway</html>"),
            Err(r#"the 502 answer is not JSON: "<html>Bad Gateway</html>""#.into())
        );
        assert_eq!(
            why(500, r#"{"kind":"ConfigMap"}"#),
            Err(r#"the 500 answer is not a Status: {"kind":"ConfigMap"}"#.into())
        );
        assert_eq!(
            why(500, r#"{"kind":"Status","code":500}"#),
            Err(r#"the 500 Status has no message: {"kind":"Status","code":500}"#.into())
        );
    }

    #[test]
    fn component_health_reads_the_healthy_condition() {
        let items: Vec<DynamicObject> = serde_json::from_value(serde_json::json!([
            {"apiVersion": "v1", "kind": "ComponentStatus", "metadata": {"name": "etcd-0"},
             "conditions": [{"type": "Healthy", "status": "False", "error": "connection refused"}]},
            {"apiVersion": "v1", "kind": "ComponentStatus", "metadata": {"name": "etcd-2"},
             "conditions": [{"type": "Healthy", "status": "True", "message": "{\"health\":\"true\"}"}]}
        ]))
        .unwrap();
        assert_eq!(
            component_health(&items, "etcd-0"),
            Some((false, "connection refused".into()))
        );
        assert_eq!(component_health(&items, "etcd-2").map(|h| h.0), Some(true));
        assert_eq!(component_health(&items, "etcd-1"), None);
    }
}
