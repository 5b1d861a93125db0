//! The audit log: one JSON line per request, shaped like upstream's
//! `audit.k8s.io/v1 Event`, so later work can read who wrote what with which client.
//!
//! Entry points: [`AuditLog::open`], [`AuditLog::record`]. Lines are written by one
//! background task in request order; stage is `ResponseComplete`, or `ResponseStarted`
//! for watches and streamed logs (the record is written when the stream starts). An
//! impersonated request names its real requester in `user` and the user it acted as
//! in `impersonatedUser`, as upstream's impersonation filter logs it.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use tokio::sync::mpsc;

/// What one audit record describes.
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub verb: String,
    pub request_uri: String,
    pub user: String,
    pub groups: Vec<String>,
    pub user_agent: String,
    pub source_ip: String,
    pub object_ref: Option<Value>,
    /// The user the request acted as, when it impersonated one.
    pub impersonated: Option<crate::auth::User>,
    pub code: u16,
    pub streaming: bool,
    pub received: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug)]
pub struct AuditLog {
    tx: mpsc::UnboundedSender<String>,
}

impl AuditLog {
    /// Opens (appends to) the log file and starts the writer task.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // The log names every user and request: private to the server's user, as
        // upstream's log writer (lumberjack) creates it.
        let file = std::os::unix::fs::OpenOptionsExt::mode(
            std::fs::OpenOptions::new().create(true).append(true),
            0o600,
        )
        .open(path)?;
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::task::spawn_blocking(move || {
            let mut w = std::io::BufWriter::new(file);
            while let Some(line) = rx.blocking_recv() {
                let ok = w
                    .write_all(line.as_bytes())
                    .and_then(|()| w.write_all(b"\n"));
                // Flush when the queue is drained so readers see complete lines promptly.
                if ok.is_err() || (rx.is_empty() && w.flush().is_err()) {
                    tracing::warn!("audit log write failed");
                }
            }
        });
        Ok(Self { tx })
    }

    pub fn record(&self, r: Record) {
        let _ = self.tx.send(event(r, chrono::Utc::now()).to_string());
    }
}

/// Upstream's `authentication.k8s.io/v1 UserInfo`: empty fields are left out.
fn user_info(u: &crate::auth::User) -> Value {
    let mut out = json!({"username": u.name});
    if !u.uid.is_empty() {
        out["uid"] = json!(u.uid);
    }
    if !u.groups.is_empty() {
        out["groups"] = json!(u.groups);
    }
    if !u.extra.is_empty() {
        out["extra"] = json!(u.extra);
    }
    out
}

/// The audit event of one request, finished at `now`.
fn event(r: Record, now: chrono::DateTime<chrono::Utc>) -> Value {
    let ts =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut ev = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": uuid::Uuid::new_v4().to_string(),
        "stage": if r.streaming { "ResponseStarted" } else { "ResponseComplete" },
        "requestURI": r.request_uri,
        "verb": r.verb,
        "user": {"username": r.user, "groups": r.groups},
        "sourceIPs": [r.source_ip],
        "userAgent": r.user_agent,
        "responseStatus": {"metadata": {}, "code": r.code},
        "requestReceivedTimestamp": ts(r.received),
        "stageTimestamp": ts(now),
    });
    if let Some(o) = r.object_ref {
        ev["objectRef"] = o;
    }
    if let Some(u) = &r.impersonated {
        ev["impersonatedUser"] = user_info(u);
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::User;

    #[tokio::test]
    async fn the_log_file_is_private_to_the_server() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let _log = AuditLog::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn an_impersonated_request_names_both_users() {
        let acting = User {
            name: "jane".into(),
            groups: vec!["devs".into(), "system:authenticated".into()],
            ..Default::default()
        };
        let r = Record {
            user: "system:admin".into(),
            groups: vec!["system:masters".into()],
            impersonated: Some(acting),
            code: 200,
            ..Default::default()
        };
        let ev = event(r, chrono::Utc::now());
        assert_eq!(
            ev["user"],
            json!({"username": "system:admin", "groups": ["system:masters"]})
        );
        assert_eq!(
            ev["impersonatedUser"],
            json!({"username": "jane", "groups": ["devs", "system:authenticated"]})
        );
        let plain = event(Record::default(), chrono::Utc::now());
        assert!(plain.get("impersonatedUser").is_none());
    }
}
