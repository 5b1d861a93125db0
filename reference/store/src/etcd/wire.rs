//! The JSON shapes of etcd's v3 gRPC gateway (`/v3/...`) and their conversion.
//!
//! Entry points: the response types ([`RangeResponse`], [`TxnResponse`], ...) and
//! [`b64`] / [`prefix_end`]. The gateway writes int64 fields as strings, base64-encodes
//! keys and values, and omits every field that has its default value (`false`, `0`,
//! empty lists, the `PUT` event type), so every field here has a serde default.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::{Deserialize, Deserializer};

use crate::{EventKind, KeyValue, Revision, StoreError, WatchEvent};

/// Base64 as the gateway wants keys and values.
pub(crate) fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// The end of the key range holding every key that starts with `prefix`: the prefix
/// with its last byte below 0xff incremented (etcd's `GetPrefixRangeEnd`); `\0`
/// (meaning "to the end") for an empty or all-0xff prefix.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// An int64 the gateway may write as a string or a number.
fn i64s<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        S(String),
        N(i64),
    }
    match Num::deserialize(d)? {
        Num::N(n) => Ok(n),
        Num::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Header {
    #[serde(default, deserialize_with = "i64s")]
    pub revision: Revision,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct WireKv {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, deserialize_with = "i64s")]
    pub create_revision: Revision,
    #[serde(default, deserialize_with = "i64s")]
    pub mod_revision: Revision,
}

impl WireKv {
    pub(crate) fn decode(&self) -> Result<KeyValue, StoreError> {
        let bad = |what: &str| {
            StoreError::Corrupt(format!("etcd sent a {what} that is not valid base64"))
        };
        let key = STANDARD.decode(&self.key).map_err(|_| bad("key"))?;
        let key = String::from_utf8(key)
            .map_err(|_| StoreError::Corrupt("etcd sent a key that is not UTF-8".into()))?;
        let value = STANDARD.decode(&self.value).map_err(|_| bad("value"))?;
        Ok(KeyValue {
            key,
            value: Bytes::from(value),
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct RangeResponse {
    #[serde(default)]
    pub header: Header,
    #[serde(default)]
    pub kvs: Vec<WireKv>,
    #[serde(default)]
    pub more: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct DeleteRangeResponse {
    #[serde(default)]
    pub prev_kvs: Vec<WireKv>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ResponseOp {
    pub response_range: Option<RangeResponse>,
    pub response_delete_range: Option<DeleteRangeResponse>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct TxnResponse {
    #[serde(default)]
    pub header: Header,
    #[serde(default)]
    pub succeeded: bool,
    #[serde(default)]
    pub responses: Vec<ResponseOp>,
}

impl TxnResponse {
    /// The key values of the first range response (the failure branch's read).
    pub(crate) fn range_kvs(&self) -> Result<Vec<KeyValue>, StoreError> {
        let range = self
            .responses
            .iter()
            .find_map(|r| r.response_range.as_ref());
        range.map_or(Ok(Vec::new()), |r| {
            r.kvs.iter().map(WireKv::decode).collect()
        })
    }

    /// The previous values of the first delete response.
    pub(crate) fn deleted_kvs(&self) -> Result<Vec<KeyValue>, StoreError> {
        let del = self
            .responses
            .iter()
            .find_map(|r| r.response_delete_range.as_ref());
        del.map_or(Ok(Vec::new()), |d| {
            d.prev_kvs.iter().map(WireKv::decode).collect()
        })
    }
}

/// The body of a gateway error (HTTP 4xx/5xx).
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: i32,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct WireEvent {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub kv: WireKv,
    pub prev_kv: Option<WireKv>,
}

impl WireEvent {
    /// Converts to the store's event: a put whose key was just created is `Put`, other
    /// puts `Modify`; a delete carries the last value (from `prev_kv`) at the delete's
    /// revision, as the memory engine does.
    pub(crate) fn decode(&self) -> Result<WatchEvent, StoreError> {
        let kv = self.kv.decode()?;
        let prev = self.prev_kv.as_ref().map(WireKv::decode).transpose()?;
        Ok(match self.kind.as_str() {
            "DELETE" => {
                let last = prev.clone().unwrap_or_else(|| KeyValue {
                    value: Bytes::new(),
                    ..kv.clone()
                });
                WatchEvent {
                    kind: EventKind::Delete,
                    kv: KeyValue {
                        mod_revision: kv.mod_revision,
                        ..last
                    },
                    prev,
                }
            }
            _ if kv.create_revision == kv.mod_revision => WatchEvent {
                kind: EventKind::Put,
                kv,
                prev: None,
            },
            _ => WatchEvent {
                kind: EventKind::Modify,
                kv,
                prev,
            },
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct WatchResult {
    #[serde(default)]
    pub canceled: bool,
    #[serde(default, deserialize_with = "i64s")]
    pub compact_revision: Revision,
    #[serde(default)]
    pub cancel_reason: String,
    #[serde(default)]
    pub events: Vec<WireEvent>,
}

/// One line of the `/v3/watch` stream.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct WatchLine {
    pub result: Option<WatchResult>,
    pub error: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte_below_0xff() {
        assert_eq!(prefix_end(b"/registry/"), b"/registry0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b""), vec![0]);
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }

    #[test]
    fn gateway_json_with_string_ints_and_omitted_defaults_decodes() {
        let line = r#"{"result":{"header":{"revision":"3"},"events":[
            {"kv":{"key":"L2E=","create_revision":"2","mod_revision":"2","version":"1","value":"aGk="}},
            {"type":"DELETE","kv":{"key":"L2E=","mod_revision":"3"},
             "prev_kv":{"key":"L2E=","create_revision":"2","mod_revision":"2","value":"aGk="}}]}}"#;
        let parsed: WatchLine = serde_json::from_str(line).unwrap();
        let result = parsed.result.unwrap();
        assert!(!result.canceled);
        let events: Vec<WatchEvent> = result.events.iter().map(|e| e.decode().unwrap()).collect();
        assert_eq!((events[0].kind, events[0].revision()), (EventKind::Put, 2));
        assert_eq!(
            (events[1].kind, events[1].revision()),
            (EventKind::Delete, 3)
        );
        assert_eq!(events[1].kv.value, Bytes::from("hi"));
        assert_eq!(events[1].kv.create_revision, 2);
    }

    #[test]
    fn a_compaction_cancel_decodes() {
        let line =
            r#"{"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"2"}}"#;
        let result = serde_json::from_str::<WatchLine>(line)
            .unwrap()
            .result
            .unwrap();
        assert!(result.canceled);
        assert_eq!(result.compact_revision, 2);
    }
}
