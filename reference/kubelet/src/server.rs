//! The kubelet's server (served over HTTPS by [`crate::server_tls`]): `GET /containerLogs/{ns}/{pod}/{container}` (what the API
//! server's `pods/log` proxies to), `/healthz`, `/pods` and `/runningpods/`
//! ([`crate::podlist`]), and the streaming endpoints `/exec`, `/attach`,
//! `/portForward` and `/run` ([`crate::streaming`]). Entry point: [`router`].
//!
//! Query parameters as upstream: `follow`, `previous`, `tailLines`, `timestamps`,
//! `limitBytes`, `sinceSeconds`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use k8s_openapi::jiff::Timestamp;
use serde::Deserialize;

use crate::logs::{ContainerLog, LogLine, LogStore};

/// Log query options (`PodLogOptions` as query parameters).
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct LogQuery {
    /// Stream until the container exits.
    #[serde(default)]
    pub follow: bool,
    /// The previous instance's log.
    #[serde(default)]
    pub previous: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Prefix each line with its RFC3339Nano time.
    #[serde(default)]
    pub timestamps: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<usize>,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<i64>,
}

fn format_line(line: &LogLine, timestamps: bool) -> String {
    if timestamps {
        format!("{} {}\n", line.time, line.text)
    } else {
        format!("{}\n", line.text)
    }
}

fn plain(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// Renders lines from `log` per `query`: the whole answer, or a stream when following.
fn render(log: Arc<ContainerLog>, query: LogQuery) -> Response {
    let start = query.tail_lines.map_or(0, |n| log.tail_start(n));
    let since = query
        .since_seconds
        .map(|s| Timestamp::now().as_second().saturating_sub(s));
    let keep = move |line: &LogLine| since.is_none_or(|s| line.time.as_second() >= s);
    let timestamps = query.timestamps;
    let mut budget = query.limit_bytes.unwrap_or(usize::MAX);
    let mut take = move |text: String| -> Option<String> {
        if budget == 0 {
            return None;
        }
        let cut: String = if text.len() > budget {
            text[..budget].to_string()
        } else {
            text
        };
        budget -= cut.len();
        Some(cut)
    };
    if !query.follow {
        let chunk = log.read_from(start);
        let body: String = chunk
            .lines
            .iter()
            .filter(|l| keep(l))
            .map_while(|l| take(format_line(l, timestamps)))
            .collect();
        return plain(StatusCode::OK, body);
    }
    let rx = log.subscribe();
    let stream = futures::stream::unfold(
        (log, rx, start, false, take),
        move |(log, mut rx, cursor, done, mut take)| async move {
            if done {
                return None;
            }
            loop {
                rx.borrow_and_update();
                let chunk = log.read_from(cursor);
                if !chunk.lines.is_empty() {
                    let text: String = chunk
                        .lines
                        .iter()
                        .filter(|l| keep(l))
                        .map(|l| format_line(l, timestamps))
                        .collect();
                    let text = take(text)?;
                    let item: Result<Bytes, Infallible> = Ok(Bytes::from(text));
                    return Some((item, (log, rx, chunk.next, false, take)));
                }
                if chunk.closed || rx.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|e| plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn container_logs(
    State(logs): State<Arc<LogStore>>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    Query(query): Query<LogQuery>,
) -> Response {
    match logs.get(&namespace, &pod, &container, query.previous) {
        Some(log) => render(log, query),
        None if query.previous && logs.get(&namespace, &pod, &container, false).is_some() => plain(
            StatusCode::BAD_REQUEST,
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found"),
        ),
        None if logs.has_pod(&namespace, &pod) => plain(
            StatusCode::BAD_REQUEST,
            format!(
                "container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating"
            ),
        ),
        None => plain(
            StatusCode::NOT_FOUND,
            format!("pod \"{namespace}/{pod}\" is not running on this node"),
        ),
    }
}

/// The kubelet's routes.
pub fn router(
    logs: Arc<LogStore>,
    runtime: Arc<dyn crate::runtime::Runtime>,
    pods: crate::podlist::PodSnapshot,
) -> Router {
    let pod_lists = Router::new()
        .route("/pods", get(crate::podlist::get_pods))
        .route("/pods/", get(crate::podlist::get_pods))
        .route("/runningpods", get(crate::podlist::get_running))
        .route("/runningpods/", get(crate::podlist::get_running))
        .with_state(pods);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(container_logs),
        )
        .with_state(logs)
        .merge(pod_lists)
        .merge(crate::streaming::router(runtime))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn log_with(lines: &[&str], closed: bool) -> Arc<ContainerLog> {
        let log = Arc::new(ContainerLog::new(100));
        for l in lines {
            log.push(*l);
        }
        if closed {
            log.close();
        }
        log
    }

    #[tokio::test]
    async fn tail_lines_returns_only_the_last_lines() {
        let q = LogQuery {
            tail_lines: Some(2),
            ..LogQuery::default()
        };
        assert_eq!(
            body(render(log_with(&["a", "b", "c"], false), q)).await,
            "b\nc\n"
        );
    }

    #[tokio::test]
    async fn timestamps_prefix_each_line() {
        let q = LogQuery {
            timestamps: true,
            ..LogQuery::default()
        };
        let text = body(render(log_with(&["a"], false), q)).await;
        let (ts, rest) = text.split_once(' ').unwrap();
        assert!(ts.parse::<Timestamp>().is_ok(), "{ts}");
        assert_eq!(rest, "a\n");
    }

    #[tokio::test]
    async fn limit_bytes_cuts_the_answer() {
        let q = LogQuery {
            limit_bytes: Some(3),
            ..LogQuery::default()
        };
        assert_eq!(body(render(log_with(&["abcdef"], false), q)).await, "abc");
    }

    #[tokio::test]
    async fn follow_streams_new_lines_until_the_container_exits() {
        let log = log_with(&["first"], false);
        let writer = log.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            writer.push("second");
            writer.close();
        });
        let q = LogQuery {
            follow: true,
            ..LogQuery::default()
        };
        let text = tokio::time::timeout(std::time::Duration::from_secs(5), body(render(log, q)))
            .await
            .unwrap();
        assert_eq!(text, "first\nsecond\n");
    }
}
