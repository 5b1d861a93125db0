//! The `etcd` backend: a real etcd (v3.4+) cluster through its v3 JSON gateway.
//!
//! Entry point: [`EtcdStore::new`] (or `open("etcd:http://127.0.0.1:2379,...")`). Keys
//! are stored as given (kube-apiserver's `/registry/...`). Creates, compare-and-swap
//! updates and deletes are etcd transactions comparing `create_revision` or
//! `mod_revision`, exactly as kube-apiserver's etcd3 storage does. Requests fail over
//! between members as `retry.rs` explains; a write retried after an unknown outcome
//! whose compare then fails is resolved here, by the value found (`resolve_*`).

mod client;
pub mod process;
mod retry;
mod watch;
mod wire;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::json;

use self::client::{Client, EtcdError, Reply};
use self::retry::Idempotence;
use self::wire::{RangeResponse, TxnResponse, b64, prefix_end};
use crate::{
    KeyValue, ListOptions, ListResult, MemberHealth, Revision, Store, StoreError, WatchStream,
};

/// How to reach an etcd cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Client URLs of the members, e.g. `http://127.0.0.1:2379`; tried in order.
    pub endpoints: Vec<String>,
    /// Connection timeout per endpoint (kube-apiserver's etcd dial timeout: 20 s).
    pub dial_timeout: Duration,
    /// Timeout of one unary request across all its attempts (kube-apiserver's default
    /// request timeout: 60 s).
    pub request_timeout: Duration,
    /// How long one attempt on one member may take before the request moves on (10 s:
    /// longer than etcd's own 7 s proposal timeout, so etcd reports its verdict first;
    /// a member that says nothing in that time is hung, paused or cut off).
    pub attempt_timeout: Duration,
    /// How long a request keeps retrying while every reachable member says it has no
    /// leader (7 s, etcd's own request timeout: 5 s plus two election timeouts). An
    /// election ends well within it; a store without a majority fails after it.
    pub leader_wait: Duration,
    /// Timeout of one `/health` probe (`--etcd-healthcheck-timeout`: 2 s).
    pub health_timeout: Duration,
    /// Pause before re-opening a broken watch stream on the next endpoint.
    pub watch_retry_backoff: Duration,
    /// Re-open attempts for a broken watch stream before it ends with an error.
    pub watch_retries: u32,
}

impl EtcdConfig {
    pub fn new(endpoints: Vec<String>) -> Self {
        EtcdConfig {
            endpoints,
            dial_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(10),
            leader_wait: Duration::from_secs(7),
            health_timeout: Duration::from_secs(2),
            watch_retry_backoff: Duration::from_millis(500),
            watch_retries: 10,
        }
    }

    pub fn with_dial_timeout(mut self, t: Duration) -> Self {
        self.dial_timeout = t;
        self
    }

    pub fn with_request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    pub fn with_attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = t;
        self
    }

    pub fn with_leader_wait(mut self, t: Duration) -> Self {
        self.leader_wait = t;
        self
    }

    pub fn with_health_timeout(mut self, t: Duration) -> Self {
        self.health_timeout = t;
        self
    }

    pub fn with_watch_retry(mut self, backoff: Duration, retries: u32) -> Self {
        self.watch_retry_backoff = backoff;
        self.watch_retries = retries;
        self
    }
}

/// A store backed by an etcd cluster.
#[derive(Clone)]
pub struct EtcdStore {
    client: std::sync::Arc<Client>,
}

impl EtcdStore {
    /// Builds the client; does not connect until the first request.
    pub fn new(config: EtcdConfig) -> Result<EtcdStore, StoreError> {
        if config.endpoints.is_empty() {
            return Err(StoreError::InvalidSpec {
                spec: "etcd:".into(),
                reason: "no endpoints".into(),
            });
        }
        Ok(EtcdStore {
            client: std::sync::Arc::new(Client::new(config)?),
        })
    }

    async fn range(
        &self,
        body: serde_json::Value,
        at: Option<Revision>,
    ) -> Result<RangeResponse, StoreError> {
        match self.read::<RangeResponse>("/v3/kv/range", body).await {
            Ok(r) => Ok(r),
            Err(e) => Err(self.revision_error(e, at.unwrap_or(0)).await),
        }
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T, EtcdError> {
        Ok(self.client.post(path, body, Idempotence::Read).await?.body)
    }

    /// Sends a revision-guarded transaction (see `retry.rs`).
    async fn txn(&self, body: serde_json::Value) -> Result<Reply<TxnResponse>, StoreError> {
        Ok(self
            .client
            .post("/v3/kv/txn", body, Idempotence::Guarded)
            .await?)
    }

    /// A write whose compare failed after an earlier attempt's outcome was unknown:
    /// done if the key holds exactly `value` at a revision after `expected` (that
    /// attempt applied it), otherwise unknown, never a clash it may have caused itself.
    fn resolve_uncertain(
        key: &str,
        expected: Revision,
        value: &[u8],
        first: &str,
        resp: &TxnResponse,
    ) -> Result<Revision, StoreError> {
        match resp.range_kvs()?.first() {
            Some(kv) if kv.value.as_ref() == value && kv.mod_revision > expected => {
                Ok(kv.mod_revision)
            }
            _ => Err(Self::unknown_outcome(key, first)),
        }
    }

    fn unknown_outcome(key: &str, first: &str) -> StoreError {
        StoreError::Unavailable(format!(
            "{first}; retried on another member, where {key:?} no longer matched: whether this write was applied is unknown"
        ))
    }

    /// Turns etcd's compacted / future-revision errors into the store's, with the
    /// revisions filled in (etcd's messages carry none).
    async fn revision_error(&self, e: EtcdError, requested: Revision) -> StoreError {
        if e.is_compacted() {
            let compacted = watch::probe_compacted(&self.client)
                .await
                .unwrap_or(requested + 1);
            return StoreError::Compacted {
                requested,
                compacted,
            };
        }
        if e.is_future() {
            let current = self.current_revision().await.unwrap_or(requested - 1);
            return StoreError::FutureRevision { requested, current };
        }
        e.into()
    }

    /// Reads the key in a failed transaction's range branch: NotFound or Conflict.
    fn cas_failure(key: &str, expected: Revision, resp: &TxnResponse) -> StoreError {
        match resp.range_kvs() {
            Ok(kvs) => match kvs.first() {
                None => StoreError::NotFound(key.to_string()),
                Some(kv) => StoreError::Conflict {
                    key: key.to_string(),
                    expected,
                    actual: kv.mod_revision,
                },
            },
            Err(e) => e,
        }
    }
}

#[async_trait]
impl Store for EtcdStore {
    fn backend(&self) -> &'static str {
        "etcd"
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let resp = self
            .range(json!({ "key": b64(key.as_bytes()) }), None)
            .await?;
        resp.kvs.first().map(wire::WireKv::decode).transpose()
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError> {
        let start = match &opts.start_after {
            // The smallest key after `start_after` is `start_after` + "\0".
            Some(after) if after.as_str() >= prefix => [after.as_bytes(), b"\0"].concat(),
            _ if prefix.is_empty() => vec![0],
            _ => prefix.as_bytes().to_vec(),
        };
        let mut body = json!({
            "key": b64(&start),
            "range_end": b64(&prefix_end(prefix.as_bytes())),
            "limit": opts.limit,
        });
        if let Some(at) = opts.at {
            body["revision"] = json!(at);
        }
        let resp = self.range(body, opts.at).await?;
        let items = resp
            .kvs
            .iter()
            .map(wire::WireKv::decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ListResult {
            items,
            revision: opts.at.unwrap_or(resp.header.revision),
            more: resp.more,
        })
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let k = b64(key.as_bytes());
        let Reply {
            body: resp,
            uncertain,
        } = self
            .txn(json!({
                "compare": [{ "target": "CREATE", "key": k, "create_revision": 0, "result": "EQUAL" }],
                "success": [{ "request_put": { "key": k, "value": b64(&value) } }],
                "failure": [{ "request_range": { "key": k } }],
            }))
            .await?;
        match (resp.succeeded, uncertain) {
            (true, _) => Ok(resp.header.revision),
            (false, None) => Err(StoreError::AlreadyExists(key.to_string())),
            (false, Some(first)) => Self::resolve_uncertain(key, 0, &value, &first, &resp),
        }
    }

    async fn update(
        &self,
        key: &str,
        expected: Revision,
        value: Bytes,
    ) -> Result<Revision, StoreError> {
        let k = b64(key.as_bytes());
        let Reply {
            body: resp,
            uncertain,
        } = self
            .txn(json!({
                "compare": [
                    { "target": "VERSION", "key": k, "version": 0, "result": "GREATER" },
                    { "target": "MOD", "key": k, "mod_revision": expected, "result": "EQUAL" },
                ],
                "success": [{ "request_put": { "key": k, "value": b64(&value) } }],
                "failure": [{ "request_range": { "key": k } }],
            }))
            .await?;
        match (resp.succeeded, uncertain) {
            (true, _) => Ok(resp.header.revision),
            (false, None) => Err(Self::cas_failure(key, expected, &resp)),
            (false, Some(first)) => Self::resolve_uncertain(key, expected, &value, &first, &resp),
        }
    }

    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<(Revision, KeyValue), StoreError> {
        let k = b64(key.as_bytes());
        let mut compare =
            vec![json!({ "target": "VERSION", "key": k, "version": 0, "result": "GREATER" })];
        if let Some(rev) = expected {
            compare
                .push(json!({ "target": "MOD", "key": k, "mod_revision": rev, "result": "EQUAL" }));
        }
        let Reply {
            body: resp,
            uncertain,
        } = self
            .txn(json!({
                "compare": compare,
                "success": [{ "request_delete_range": { "key": k, "prev_kv": true } }],
                "failure": [{ "request_range": { "key": k } }],
            }))
            .await?;
        if !resp.succeeded {
            // A delete leaves nothing to recognise it by: after an unknown outcome a
            // missing or changed key may be this delete's doing.
            return Err(match uncertain {
                Some(first) => Self::unknown_outcome(key, &first),
                None => Self::cas_failure(key, expected.unwrap_or(0), &resp),
            });
        }
        let prev = resp.deleted_kvs()?.into_iter().next();
        let prev = prev.ok_or_else(|| {
            StoreError::Corrupt(format!("etcd deleted {key:?} without its value"))
        })?;
        Ok((resp.header.revision, prev))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        let current = self.current_revision().await?;
        let after = if after == 0 { current } else { after };
        if after > current {
            return Err(StoreError::FutureRevision {
                requested: after,
                current,
            });
        }
        if after < current {
            // A watch from `after + 1` fails exactly when a read there does.
            let probe =
                json!({ "key": b64(b"\0"), "limit": 1, "count_only": true, "revision": after + 1 });
            if let Err(StoreError::Compacted { compacted, .. }) =
                self.range(probe, Some(after + 1)).await
            {
                return Err(StoreError::Compacted {
                    requested: after,
                    compacted,
                });
            }
        }
        Ok(watch::stream(
            self.client.clone(),
            prefix.to_string(),
            after,
        ))
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let body = json!({ "revision": revision });
        // Not guarded: resent after it applied, it would fail as compacted already.
        match self
            .client
            .post::<serde_json::Value>("/v3/kv/compaction", body, Idempotence::Unguarded)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.revision_error(e, revision).await),
        }
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        let body = json!({ "key": b64(b"\0"), "limit": 1, "count_only": true });
        Ok(self
            .read::<RangeResponse>("/v3/kv/range", body)
            .await?
            .header
            .revision)
    }

    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        // Revision 1 is readable unless something was compacted past it.
        let body = json!({ "key": b64(b"\0"), "limit": 1, "count_only": true, "revision": 1 });
        match self.read::<RangeResponse>("/v3/kv/range", body).await {
            Ok(_) => Ok(0),
            Err(e) if e.is_compacted() => watch::probe_compacted(&self.client).await,
            Err(e) => Err(e.into()),
        }
    }

    async fn health(&self) -> Vec<MemberHealth> {
        self.client.health().await
    }
}
