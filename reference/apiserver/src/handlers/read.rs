//! GET of one object and LIST of a collection (label/field selectors, paging with
//! continue tokens, resourceVersion / resourceVersionMatch rules).
//!
//! Entry points: [`get`], [`list`].

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{StatusCode, header};
use refkube_helpers::labels::LabelSelector;
use refkube_resources::fields::FieldSelector;
use refkube_resources::types::go;
use refkube_store::{ListOptions, StoreError};
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::{Value, json};

use super::{Ctx, list_merge};
use crate::cached::CachedObject;
use crate::keys;
use crate::negotiate::{Output, include_object};
use crate::status::ApiError;

/// Reads one object, 404 when absent.
pub async fn fetch(ctx: &Ctx, name: &str) -> Result<(Value, refkube_store::Revision), ApiError> {
    let info = ctx.path.info;
    let key = keys::key(info, ctx.path.namespace.as_deref(), name);
    match ctx.state.store.get(&key).await? {
        Some(kv) => Ok((keys::decode_kv(info, &kv)?, kv.mod_revision)),
        None => Err(ApiError::not_found(info, name)),
    }
}

/// GET one object (as JSON, YAML or a one-row Table).
pub async fn get(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let (obj, _) = fetch(ctx, name).await?;
    Ok(ctx.respond_object(200, obj))
}

/// Selectors of a list or watch request.
pub struct Filter {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn from_ctx(ctx: &Ctx) -> Result<Self, ApiError> {
        let labels = match ctx.query.non_empty("labelSelector") {
            Some(s) => LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => LabelSelector::default(),
        };
        let fields = match ctx.query.non_empty("fieldSelector") {
            Some(s) => FieldSelector::parse(ctx.path.info, s)
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => FieldSelector::default(),
        };
        Ok(Self {
            namespace: ctx.path.namespace.clone(),
            labels,
            fields,
        })
    }

    pub fn matches(&self, info: &refkube_resources::ResourceInfo, obj: &Value) -> bool {
        if let Some(ns) = &self.namespace
            && info.namespaced
            && keys::meta_str(obj, "namespace") != ns
        {
            return false;
        }
        (self.labels.is_empty() || self.labels.matches(&keys::labels(obj)))
            && (self.fields.is_empty() || self.fields.matches(info, obj))
    }

    /// [`Filter::matches`] for a watch cache object, from the fields it kept (the
    /// same values: both come from the kind's strategy).
    pub fn matches_cached(
        &self,
        info: &refkube_resources::ResourceInfo,
        obj: &CachedObject,
    ) -> bool {
        if let Some(ns) = &self.namespace
            && info.namespaced
            && obj.namespace() != ns
        {
            return false;
        }
        (self.labels.is_empty() || self.labels.matches(&obj.labels()))
            && self.fields.terms.iter().all(|(field, equal, value)| {
                (obj.field(info, field).unwrap_or_default() == value) == *equal
            })
    }
}

/// The resourceVersionMatch rules of ListOptions validation, for list requests.
fn validate_list_options(ctx: &Ctx) -> Result<(), ApiError> {
    let q = &ctx.query;
    let rv = q.non_empty("resourceVersion");
    let rvm = q.non_empty("resourceVersionMatch");
    if q.get("sendInitialEvents").is_some() {
        return Err(ApiError::invalid_list_options(
            "sendInitialEvents",
            "FieldValueForbidden",
            "Forbidden: sendInitialEvents is forbidden for list",
        ));
    }
    if let Some(m) = rvm {
        if rv.is_none() {
            return Err(ApiError::invalid_list_options(
                "resourceVersionMatch",
                "FieldValueForbidden",
                "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if q.non_empty("continue").is_some() {
            return Err(ApiError::invalid_list_options(
                "resourceVersionMatch",
                "FieldValueForbidden",
                "Forbidden: resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        match m {
            "Exact" if rv == Some("0") => {
                return Err(ApiError::invalid_list_options(
                    "resourceVersionMatch",
                    "FieldValueForbidden",
                    "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
            "Exact" | "NotOlderThan" => {}
            other => {
                return Err(ApiError::invalid_list_options(
                    "resourceVersionMatch",
                    "FieldValueNotSupported",
                    &format!(
                        "Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\", \"\""
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A continue token: upstream's base64 JSON `{"v","rv","start"}`.
pub fn encode_continue(rv: i64, start: &str) -> String {
    let body = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
}

pub fn decode_continue(token: &str) -> Result<(i64, String), ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad("invalid JSON"))?;
    if v["v"] != "meta.k8s.io/v1" {
        return Err(bad("server does not recognize this encoded key"));
    }
    let rv = v["rv"]
        .as_i64()
        .filter(|r| *r > 0)
        .ok_or_else(|| bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let start = v["start"].as_str().unwrap_or("").trim_end_matches('\0');
    if start.is_empty() || start.contains("..") || start.starts_with('/') {
        return Err(bad("continue key is not valid"));
    }
    Ok((rv, start.to_string()))
}

/// LIST a collection. What is listed comes from the watch cache for
/// `resourceVersion=0` and from the store otherwise (a consistent read, or one at the
/// requested revision); either way the objects the cache holds are written from its
/// bytes rather than decoded and encoded again.
pub async fn list(ctx: &Ctx) -> Result<Response, ApiError> {
    validate_list_options(ctx)?;
    let info = ctx.path.info;
    let filter = Filter::from_ctx(ctx)?;
    let q = &ctx.query;
    let limit = q.int("limit")?.unwrap_or(0).max(0) as usize;
    let rv = q.non_empty("resourceVersion");
    let cont = q.non_empty("continue");
    let cache = ctx.state.caches.get(info);

    if rv == Some("0") && cont.is_none() {
        // Served from the watch cache, like upstream (limit is ignored there).
        if let Some(cache) = &cache {
            let (objs, rev) = cache.snapshot(ctx.path.namespace.as_deref());
            let items: Vec<&CachedObject> = objs
                .iter()
                .map(|o| &**o)
                .filter(|o| filter.matches_cached(info, o))
                .collect();
            return ctx.respond_cached_list(&items, rev, None);
        }
    }

    let prefix = keys::prefix(info, ctx.path.namespace.as_deref());
    let mut start_after = None;
    let mut at = None;
    if let Some(token) = cont {
        let (rv, start) = decode_continue(token)?;
        at = Some(rv);
        start_after = Some(format!("{prefix}{start}"));
    } else if let Some(rv) = rv.filter(|r| *r != "0") {
        let n: i64 = rv
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?;
        let current = ctx.state.store.current_revision().await?;
        if q.get("resourceVersionMatch") == Some("Exact") {
            at = Some(n);
        } else if n > current {
            return Err(ApiError::too_large_resource_version(n, current));
        }
    }

    // Exactly one of the two fills: cached objects when the kind has a cache.
    let mut cached: Vec<Arc<CachedObject>> = Vec::new();
    let mut decoded: Vec<Value> = Vec::new();
    let mut more = false;
    let mut last_key = None;
    let revision = loop {
        let page = ctx
            .state
            .store
            .list(
                &prefix,
                ListOptions {
                    start_after: start_after.clone(),
                    limit,
                    at,
                },
            )
            .await
            .map_err(|e| list_error(e, cont.is_some()))?;
        at = Some(page.revision);
        let (last, cut) = match &cache {
            Some(cache) => list_merge::keep_until(
                list_merge::cached_items(cache, info, &page.items)?
                    .into_iter()
                    .map(Ok),
                |o| filter.matches_cached(info, o),
                &mut cached,
                limit,
            )?,
            None => list_merge::keep_until(
                page.items.iter().map(|kv| keys::decode_kv(info, kv)),
                |o| filter.matches(info, o),
                &mut decoded,
                limit,
            )?,
        };
        if let Some(i) = last {
            last_key = Some(page.items[i].key.clone());
            more = cut && (i + 1 < page.items.len() || page.more);
        }
        if limit == 0 || cut || !page.more {
            break page.revision;
        }
        start_after = last_key.clone();
    };
    let token = match (more, last_key) {
        (true, Some(k)) => Some(encode_continue(revision, k.trim_start_matches(&prefix))),
        _ => None,
    };
    match cache {
        Some(_) => {
            let refs: Vec<&CachedObject> = cached.iter().map(|o| &**o).collect();
            ctx.respond_cached_list(&refs, revision, token)
        }
        None => Ok(ctx.respond_list(decoded, revision, token)),
    }
}

/// A list's `metadata`: its resourceVersion and, when more remain, the continue token.
fn list_meta(rev: i64, token: Option<String>) -> Value {
    let mut meta = json!({"resourceVersion": rev.to_string()});
    if let Some(t) = token {
        meta["continue"] = json!(t);
    }
    meta
}

fn list_error(e: StoreError, with_continue: bool) -> ApiError {
    match e {
        StoreError::Compacted { .. } if with_continue => ApiError::expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to get the next page.",
        ),
        StoreError::Compacted { .. } => {
            ApiError::expired("The resourceVersion for the provided list is too old.")
        }
        StoreError::FutureRevision { requested, current } => {
            ApiError::too_large_resource_version(requested, current)
        }
        other => other.into(),
    }
}

/// A JSON object serialised with one member's value taken from borrowed data, so a
/// large member (a list's items, a watch event's object) is written out without first
/// being copied into a `Value`. Members come out in `envelope`'s own key order, so the
/// bytes equal those of the `json!` object with the member filled in.
pub(crate) struct Spliced<'a, T: ?Sized> {
    envelope: &'a Value,
    key: &'static str,
    value: &'a T,
}

impl<'a, T: ?Sized> Spliced<'a, T> {
    /// `envelope` must be an object with a (placeholder) member `key`.
    pub(crate) fn new(envelope: &'a Value, key: &'static str, value: &'a T) -> Self {
        Self {
            envelope,
            key,
            value,
        }
    }
}

impl<T: Serialize + ?Sized> Serialize for Spliced<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(members) = self.envelope else {
            return self.envelope.serialize(serializer);
        };
        // Same calls as serde_json's own `impl Serialize for Value` for an object.
        let mut map = serializer.serialize_map(Some(members.len()))?;
        for (k, v) in members {
            if k == self.key {
                map.serialize_entry(k, self.value)?;
            } else {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// An object serialised without its `kind` and `apiVersion`, as the items of a list.
struct Untyped<'a>(&'a Value);

impl Serialize for Untyped<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(members) = self.0 else {
            return self.0.serialize(serializer);
        };
        let typed = |k: &str| k == "kind" || k == "apiVersion";
        let len = members.keys().filter(|k| !typed(k)).count();
        let mut map = serializer.serialize_map(Some(len))?;
        for (k, v) in members.iter().filter(|(k, _)| !typed(k)) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// `Output::render` for any serialisable body (JSON, or YAML when asked), framed as
/// upstream frames it (see [`crate::negotiate::json_bytes`] and `yaml_string`).
fn render_body<T: Serialize>(output: Output, code: StatusCode, body: &T) -> Response {
    if output == Output::Yaml {
        let yaml = serde_json::to_value(body)
            .map_err(ApiError::internal)
            .and_then(|v| crate::negotiate::yaml_string(&v).map_err(ApiError::internal));
        match yaml {
            Ok(s) => (code, [(header::CONTENT_TYPE, "application/yaml")], s).into_response(),
            Err(e) => e.into_response(),
        }
    } else {
        match crate::negotiate::json_bytes(body) {
            Ok(b) => (code, [(header::CONTENT_TYPE, "application/json")], b).into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        }
    }
}

impl Ctx {
    /// Renders a list (or a Table of it).
    pub fn respond_list(&self, items: Vec<Value>, rev: i64, token: Option<String>) -> Response {
        if self.output == Output::Table {
            return self.respond_table_list(&items, rev, token);
        }
        let refs: Vec<&Value> = items.iter().collect();
        self.respond_list_of(&refs, rev, token)
    }

    /// [`Ctx::respond_list`] for borrowed items: only a Table, which is computed from
    /// owned items, copies them.
    pub fn respond_list_of(&self, items: &[&Value], rev: i64, token: Option<String>) -> Response {
        let info = self.path.info;
        if self.output == Output::Table {
            let owned: Vec<Value> = items.iter().map(|v| (*v).clone()).collect();
            return self.respond_table_list(&owned, rev, token);
        }
        let meta = list_meta(rev, token);
        if self.output == Output::Metadata {
            let items: Vec<Value> = items
                .iter()
                .map(|o| crate::negotiate::partial_metadata(o))
                .collect();
            let envelope = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "items": null});
            return render_body(
                self.output,
                StatusCode::OK,
                &Spliced::new(&envelope, "items", &items),
            );
        }
        let envelope = json!({"kind": info.list_kind(), "apiVersion": info.api_version(), "metadata": meta, "items": null});
        // Upstream's typed lists hold items with an empty TypeMeta, which Go's encoder
        // omits: only the list names the kind.
        let items: Vec<Untyped> = items.iter().map(|o| Untyped(o)).collect();
        render_body(
            self.output,
            StatusCode::OK,
            &Spliced::new(&envelope, "items", &items),
        )
    }

    /// A list of watch cache objects, filtered on the fields the cache kept: in plain
    /// JSON the items are the cached bytes (less kind and apiVersion, as
    /// [`Ctx::respond_list_of`] writes them); other forms decode them.
    fn respond_cached_list(
        &self,
        items: &[&CachedObject],
        rev: i64,
        token: Option<String>,
    ) -> Result<Response, ApiError> {
        if self.output != Output::Json {
            let values = items
                .iter()
                .map(|o| o.value())
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(self.respond_list(values, rev, token));
        }
        let info = self.path.info;
        let envelope = json!({"kind": info.list_kind(), "apiVersion": info.api_version(), "metadata": list_meta(rev, token), "items": []});
        let mut body = serde_json::to_vec(&envelope).map_err(ApiError::internal)?;
        // One allocation for the whole body (150 000 pods are ~250 MB: growing by
        // doubling would copy it again and again).
        body.reserve(items.iter().map(|o| o.json_len() + 1).sum::<usize>() + 3);
        // The envelope ends in `[]}`, items last: the objects go between the brackets.
        body.truncate(body.len().saturating_sub(2));
        for (i, o) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            o.write_untyped(&mut body)?;
        }
        body.extend_from_slice(b"]}\n");
        Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response())
    }

    fn respond_table_list(&self, items: &[Value], rev: i64, token: Option<String>) -> Response {
        let mut t = refkube_resources::table::to_table(
            self.path.info,
            items,
            include_object(&self.query),
            chrono::Utc::now(),
        );
        t["metadata"] = list_meta(rev, token);
        go::normalize_as("meta/v1.Table", &mut t);
        self.output.render(200, &t)
    }

    /// Renders one object (or a one-row Table of it, or its PartialObjectMetadata).
    pub fn respond_object(&self, code: u16, obj: Value) -> Response {
        if self.output == Output::Table {
            let rv = keys::meta_str(&obj, "resourceVersion").to_string();
            let mut t = refkube_resources::table::to_table(
                self.path.info,
                std::slice::from_ref(&obj),
                include_object(&self.query),
                chrono::Utc::now(),
            );
            t["metadata"] = json!({"resourceVersion": rv});
            go::normalize_as("meta/v1.Table", &mut t);
            return self.output.render(code, &t);
        }
        if self.output == Output::Metadata {
            return self
                .output
                .render(code, &crate::negotiate::partial_metadata(&obj));
        }
        self.output.render(code, &obj)
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
