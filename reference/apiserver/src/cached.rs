//! One object as the watch cache keeps it: its encoded JSON plus the few fields that
//! list and watch filters read, decoded to a `serde_json::Value` only on demand.
//!
//! Entry points: [`CachedObject::new`], [`CachedObject::value`],
//! [`CachedObject::decode`]. A decoded pod of 1.7 KB of JSON takes ~17 KiB of heap
//! (every JSON object its own `IndexMap`). Kept as the store's own bytes (shared, not
//! copied) plus its resourceVersion and filter fields it takes ~0.5 KiB more than the
//! store holds anyway (issue 11), and a plain JSON watch frame or list item is those
//! bytes as they are.

use std::collections::BTreeMap;

use bytes::Bytes;
use refkube_resources::ResourceInfo;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::keys;
use crate::status::ApiError;

/// An object's JSON as clients see it, resourceVersion included.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Json {
    /// Encoded by the cache.
    Owned(Bytes),
    /// The store's own bytes (shared with the store, not copied) with `insert` (the
    /// resourceVersion member, which the store does not keep) spliced in at `at`.
    Spliced {
        stored: Bytes,
        at: u32,
        insert: Box<[u8]>,
    },
}

/// An object's JSON and what selectors match on. Immutable: a change is a new
/// `CachedObject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedObject {
    json: Json,
    /// `metadata.resourceVersion` as a number (None when absent or not a number): with
    /// the key it names one stored version, so a list read from the store can tell
    /// when the cache holds the very object it read (see `handlers::list_merge`).
    revision: Option<i64>,
    namespace: Box<str>,
    name: Box<str>,
    /// `metadata.labels` in key order (a non-string value reads as "", as
    /// [`keys::labels`] has it).
    labels: Box<[(Box<str>, Box<str>)]>,
    /// The values of the kind's selectable fields, in the order of
    /// `info.strategy.selectable_fields()`, one after the other; `field_ends[i]` is
    /// where the i-th ends (one string and offsets: a pod's eleven fields would
    /// otherwise cost eleven boxes).
    field_values: Box<str>,
    field_ends: Box<[u32]>,
    /// Length of `{"kind":..,"apiVersion":..,` at the start of `bytes` (the leading
    /// members that are kind or apiVersion, with their comma), so that list items,
    /// which upstream writes without their TypeMeta, are the rest of the bytes;
    /// [`MIXED`] when kind or apiVersion come after another member.
    typed_len: u32,
}

impl CachedObject {
    /// Encodes `obj` and extracts its filter fields through the kind's strategy.
    pub fn new(info: &ResourceInfo, obj: &Value) -> Result<Self, ApiError> {
        Self::build(info, obj, None)
    }

    /// [`CachedObject::new`] for an object decoded from `stored`, the store's bytes:
    /// when the object's encoding is those bytes plus one inserted run (the
    /// resourceVersion), the cache keeps the store's bytes and that run instead of a
    /// second copy of the object.
    pub fn from_stored(info: &ResourceInfo, obj: &Value, stored: &Bytes) -> Result<Self, ApiError> {
        Self::build(info, obj, Some(stored))
    }

    fn build(info: &ResourceInfo, obj: &Value, stored: Option<&Bytes>) -> Result<Self, ApiError> {
        let bytes = serde_json::to_vec(obj).map_err(ApiError::internal)?;
        let typed_len = typed_prefix_len(obj, &bytes);
        let labels = keys::labels(obj)
            .into_iter()
            .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
            .collect();
        let mut field_values = String::new();
        let mut field_ends = Vec::new();
        for f in info.strategy.selectable_fields() {
            field_values.push_str(&refkube_resources::fields::field_value(info, obj, f));
            field_ends.push(u32::try_from(field_values.len()).map_err(ApiError::internal)?);
        }
        let json = match stored.and_then(|s| Some((s, splice_point(&bytes, s)?))) {
            Some((stored, (at, insert))) => Json::Spliced {
                stored: stored.clone(),
                at: u32::try_from(at).map_err(ApiError::internal)?,
                insert: insert.into(),
            },
            // `to_vec` leaves up to half its buffer spare; the cache keeps the object
            // for its lifetime, so the copy is trimmed once.
            None => Json::Owned(Bytes::from(bytes.into_boxed_slice())),
        };
        Ok(Self {
            json,
            revision: keys::meta_str(obj, "resourceVersion").parse().ok(),
            namespace: keys::meta_str(obj, "namespace").into(),
            name: keys::meta_str(obj, "name").into(),
            labels,
            field_values: field_values.into_boxed_str(),
            field_ends: field_ends.into_boxed_slice(),
            typed_len,
        })
    }

    /// Appends the object without its leading kind and apiVersion, as a typed list's
    /// items are written (see `handlers::read`'s `Untyped`). Decodes only when they are
    /// not the first members (a custom resource with a key sorting before them).
    pub fn write_untyped(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        if self.typed_len != MIXED {
            out.push(b'{');
            self.write_from(1 + self.typed_len as usize, out);
            return Ok(());
        }
        let typed = |k: &str| k == "kind" || k == "apiVersion";
        let mut v = self.value()?;
        if let Some(m) = v.as_object_mut() {
            m.retain(|k, _| !typed(k));
        }
        serde_json::to_writer(out, &v).map_err(ApiError::internal)
    }

    /// The object's JSON in (at most three) consecutive runs.
    fn parts(&self) -> [&[u8]; 3] {
        match &self.json {
            Json::Owned(b) => [b, &[], &[]],
            Json::Spliced { stored, at, insert } => {
                let (head, tail) = stored.split_at(usize::min(*at as usize, stored.len()));
                [head, insert, tail]
            }
        }
    }

    /// The length of the object's JSON.
    pub fn json_len(&self) -> usize {
        self.parts().iter().map(|p| p.len()).sum()
    }

    /// Appends the object's JSON, compact, as `serde_json::to_vec` writes the decoded
    /// object.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_from(0, out);
    }

    /// Appends the object's JSON from byte `skip` on.
    fn write_from(&self, mut skip: usize, out: &mut Vec<u8>) {
        for part in self.parts() {
            match part.get(skip..) {
                Some(rest) => {
                    out.extend_from_slice(rest);
                    skip = 0;
                }
                None => skip -= part.len(),
            }
        }
    }

    /// The object's JSON as one buffer.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_len());
        self.write_json(&mut out);
        out
    }

    /// The whole object, decoded.
    pub fn value(&self) -> Result<Value, ApiError> {
        self.decode()
    }

    /// The object decoded into any type (typed readers skip the `Value` step).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let parsed = match &self.json {
            Json::Owned(b) => serde_json::from_slice(b),
            Json::Spliced { .. } => serde_json::from_slice(&self.to_json()),
        };
        parsed
            .map_err(|e| ApiError::internal(format!("cached object {} is corrupt: {e}", self.name)))
    }

    /// `metadata.resourceVersion`, when it is a number (always, for what the watch
    /// cache holds: it is the store's mod_revision).
    pub fn revision(&self) -> Option<i64> {
        self.revision
    }

    /// `metadata.namespace` ("" when cluster-scoped).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The labels as a map, for label selectors.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A selectable field's value as field selectors compare it; None for a field
    /// `info` (the kind the object was cached as) does not select on.
    pub fn field(&self, info: &ResourceInfo, field: &str) -> Option<&str> {
        let i = info
            .strategy
            .selectable_fields()
            .iter()
            .position(|f| *f == field)?;
        let start = match i {
            0 => 0,
            _ => *self.field_ends.get(i - 1)? as usize,
        };
        let end = *self.field_ends.get(i)? as usize;
        self.field_values.get(start..end)
    }
}

/// Where `encoded` is `stored` with one run inserted: the offset and the run; None when
/// the two differ otherwise.
fn splice_point<'a>(encoded: &'a [u8], stored: &[u8]) -> Option<(usize, &'a [u8])> {
    let extra = encoded.len().checked_sub(stored.len())?;
    let at = encoded
        .iter()
        .zip(stored)
        .take_while(|(a, b)| a == b)
        .count();
    let insert = encoded.get(at..at + extra)?;
    (encoded.get(at + extra..)? == stored.get(at..)?).then_some((at, insert))
}

/// [`CachedObject::typed_len`] of an object whose kind or apiVersion is not among its
/// leading members (or that is not a JSON object): list items decode it.
const MIXED: u32 = u32::MAX;

/// The length of the leading kind/apiVersion members in `bytes`, the encoding of `obj`
/// (without the opening brace, with the comma after them when more follow); 0 when the
/// object has neither; [`MIXED`] when they are not all in front.
fn typed_prefix_len(obj: &Value, bytes: &[u8]) -> u32 {
    let Some(members) = obj.as_object() else {
        return MIXED;
    };
    let typed = members
        .keys()
        .filter(|k| *k == "kind" || *k == "apiVersion")
        .count();
    let lead: serde_json::Map<String, Value> = members
        .iter()
        .take_while(|(k, _)| *k == "kind" || *k == "apiVersion")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if lead.len() != typed {
        return MIXED;
    }
    if lead.is_empty() {
        return 0;
    }
    let Ok(mut prefix) = serde_json::to_vec(&lead) else {
        return MIXED;
    };
    prefix.pop(); // the closing brace
    if members.len() > lead.len() {
        prefix.push(b',');
    }
    match bytes.starts_with(&prefix) {
        true => u32::try_from(prefix.len() - 1).unwrap_or(MIXED),
        false => MIXED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filter_fields_are_read_at_insert_and_the_object_round_trips() {
        let pods = refkube_resources::registry::lookup("", "v1", "pods").unwrap();
        let pod = json!({"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "p", "namespace": "ns", "resourceVersion": "9",
                         "labels": {"app": "web", "tier": "db"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running"}});
        let c = CachedObject::new(pods, &pod).unwrap();
        assert_eq!((c.namespace(), c.name()), ("ns", "p"));
        assert_eq!(c.labels()["tier"], "db");
        assert_eq!(c.field(pods, "metadata.name"), Some("p"));
        assert_eq!(c.field(pods, "spec.nodeName"), Some("n1"));
        assert_eq!(c.field(pods, "spec.schedulerName"), Some(""));
        assert_eq!(c.field(pods, "status.phase"), Some("Running"));
        assert_eq!(c.field(pods, "spec.unknown"), None);
        assert_eq!(c.value().unwrap(), pod);
        assert_eq!(c.to_json(), serde_json::to_vec(&pod).unwrap());
    }

    /// The store's bytes are shared when the object is them plus its resourceVersion,
    /// and every reader sees the same JSON either way.
    #[test]
    fn store_bytes_are_shared_when_only_the_resource_version_was_added() {
        let pods = refkube_resources::registry::lookup("", "v1", "pods").unwrap();
        let mut pod = json!({"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "b"}}, "spec": {}});
        let stored = Bytes::from(serde_json::to_vec(&pod).unwrap());
        crate::keys::set_resource_version(pods, &mut pod, 42);
        let c = CachedObject::from_stored(pods, &pod, &stored).unwrap();
        let Json::Spliced {
            stored: kept,
            insert,
            ..
        } = &c.json
        else {
            panic!("not shared: {:?}", c.json);
        };
        assert_eq!(
            kept.as_ptr(),
            stored.as_ptr(),
            "the store's buffer, not a copy"
        );
        assert!(String::from_utf8_lossy(insert).contains("42"));
        assert_eq!(c.to_json(), serde_json::to_vec(&pod).unwrap());
        assert_eq!(c.value().unwrap(), pod);
        let mut untyped = Vec::new();
        c.write_untyped(&mut untyped).unwrap();
        let mut expected = pod.clone();
        expected.as_object_mut().unwrap().shift_remove("kind");
        expected.as_object_mut().unwrap().shift_remove("apiVersion");
        assert_eq!(untyped, serde_json::to_vec(&expected).unwrap());
        // Stored bytes that differ otherwise (an old resourceVersion) are not used.
        let stale = Bytes::from(serde_json::to_vec(&pod).unwrap());
        let mut newer = pod.clone();
        crate::keys::set_resource_version(pods, &mut newer, 43);
        let c = CachedObject::from_stored(pods, &newer, &stale).unwrap();
        assert!(matches!(c.json, Json::Owned(_)));
        assert_eq!(c.to_json(), serde_json::to_vec(&newer).unwrap());
    }

    /// What `write_untyped` writes must equal the object re-encoded without kind and
    /// apiVersion, wherever they are.
    #[test]
    fn untyped_items_drop_kind_and_api_version_wherever_they_are() {
        let cms = refkube_resources::registry::lookup("", "v1", "configmaps").unwrap();
        for obj in [
            json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "a"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap"}),
            json!({"kind": "ConfigMap"}),
            json!({"metadata": {"name": "a", "kind": "inner"}, "data": {}}),
            json!({"Alpha": 1, "apiVersion": "x/v1", "kind": "Thing", "spec": {}}),
            json!({}),
        ] {
            let c = CachedObject::new(cms, &obj).unwrap();
            let mut out = Vec::new();
            c.write_untyped(&mut out).unwrap();
            let mut expected = obj.clone();
            let m = expected.as_object_mut().unwrap();
            m.shift_remove("kind");
            m.shift_remove("apiVersion");
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&expected).unwrap(),
                "{obj}"
            );
        }
    }
}
