//! Content negotiation: which body formats a request may send (Content-Type) and what
//! the response is rendered as (Accept): JSON, YAML, or a server-side `Table`; and the
//! framing upstream's encoders give a body (JSON ends in a newline, YAML has its keys
//! sorted).
//!
//! Entry points: [`Output::from_accept`], [`body_format`], [`Output::render`],
//! [`discovery_format`], [`json_bytes`], [`yaml_string`].

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use refkube_resources::decode::Format;
use refkube_resources::table::IncludeObject;
use serde::Serialize;
use serde_json::Value;

use crate::status::ApiError;

/// How to render the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    /// `application/json;as=Table;v=v1;g=meta.k8s.io`.
    Table,
    /// `as=PartialObjectMetadata` / `PartialObjectMetadataList` (metadata-only clients
    /// such as kube-rs `metadata_watcher` and the garbage collector).
    Metadata,
}

impl Output {
    /// Picks the first acceptable media range of the Accept header. Protobuf alone is
    /// 406 (kubectl always offers JSON as well, so it keeps working).
    pub fn from_accept(headers: &HeaderMap) -> Result<Self, ApiError> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Ok(Self::Json);
        };
        if accept.trim().is_empty() {
            return Ok(Self::Json);
        }
        for range in media_ranges(accept) {
            let param = |k: &str| range.param(k);
            match range.mime.as_str() {
                "application/json" | "application/*" | "*/*" => match param("as") {
                    None => return Ok(Self::Json),
                    Some("Table")
                        if param("g") == Some("meta.k8s.io") && param("v") == Some("v1") =>
                    {
                        return Ok(Self::Table);
                    }
                    Some("PartialObjectMetadata" | "PartialObjectMetadataList")
                        if param("g") == Some("meta.k8s.io") && param("v") == Some("v1") =>
                    {
                        return Ok(Self::Metadata);
                    }
                    // Other conversions (v1beta1 Table, aggregated discovery) are not
                    // served: try the next media range.
                    Some(_) => continue,
                },
                "application/yaml" => return Ok(Self::Yaml),
                _ => continue,
            }
        }
        Err(ApiError::not_acceptable())
    }

    /// Renders a plain object (no Table conversion) with `code`.
    pub fn render(self, code: u16, obj: &Value) -> Response {
        render_plain(self == Self::Yaml, code, obj)
    }
}

pub fn render_plain(yaml: bool, code: u16, obj: &Value) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    if yaml {
        match yaml_string(obj) {
            Ok(s) => (code, [(header::CONTENT_TYPE, "application/yaml")], s).into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        }
    } else {
        json(code, obj)
    }
}

pub fn json(code: StatusCode, obj: &Value) -> Response {
    match json_bytes(obj) {
        Ok(b) => (code, [(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A JSON body as upstream's encoder (Go's `json.Encoder`) frames it: a newline after.
pub fn json_bytes<T: Serialize + ?Sized>(body: &T) -> serde_json::Result<Vec<u8>> {
    let mut b = serde_json::to_vec(body)?;
    b.push(b'\n');
    Ok(b)
}

/// A YAML body as upstream writes it: it converts its JSON through an unordered map,
/// so keys come out sorted.
pub fn yaml_string(body: &Value) -> Result<String, serde_yaml::Error> {
    let mut sorted = body.clone();
    sorted.sort_all_objects();
    serde_yaml::to_string(&sorted)
}

/// One range of an Accept header: the media type (lower case) and its parameters.
struct MediaRange {
    mime: String,
    params: Vec<(String, String)>,
}

impl MediaRange {
    fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    }
}

fn media_ranges(accept: &str) -> impl Iterator<Item = MediaRange> + '_ {
    accept.split(',').map(|range| {
        let mut parts = range.split(';').map(str::trim);
        let mime = parts.next().unwrap_or("").to_ascii_lowercase();
        let params = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        MediaRange { mime, params }
    })
}

/// What `GET /api` or `/apis` answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryFormat {
    /// The `APIVersions` / `APIGroupList` document.
    Plain,
    /// `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`: every group, version and
    /// resource in one document.
    Aggregated,
}

/// The media type of an aggregated discovery response, as upstream writes it.
pub const AGGREGATED_DISCOVERY_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Picks the discovery format from Accept, first acceptable range first, as upstream's
/// negotiation does. Only JSON `v2` is served: 1.33 stops serving v2beta1
/// (`AggregatedDiscoveryRemoveBetaType`), so a v2beta1 range is passed over, as is a
/// protobuf one; a range without a conversion gets the plain document (in JSON, whatever
/// the media type); nothing acceptable is 406.
pub fn discovery_format(headers: &HeaderMap) -> Result<DiscoveryFormat, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(DiscoveryFormat::Plain);
    };
    if accept.trim().is_empty() {
        return Ok(DiscoveryFormat::Plain);
    }
    for range in media_ranges(accept) {
        let json = matches!(
            range.mime.as_str(),
            "application/json" | "application/*" | "*/*"
        );
        match range.param("as") {
            None => return Ok(DiscoveryFormat::Plain),
            Some("APIGroupDiscoveryList")
                if json
                    && range.param("g") == Some("apidiscovery.k8s.io")
                    && range.param("v") == Some("v2") =>
            {
                return Ok(DiscoveryFormat::Aggregated);
            }
            Some(_) => continue,
        }
    }
    Err(ApiError::not_acceptable())
}

/// The `meta.k8s.io/v1 PartialObjectMetadata` view of an object.
pub fn partial_metadata(obj: &Value) -> Value {
    serde_json::json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

/// `?includeObject=` for Table responses.
pub fn include_object(q: &crate::request::Query) -> IncludeObject {
    match q.get("includeObject") {
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        _ => IncludeObject::Metadata,
    }
}

/// The body format of a create/update request; anything but JSON or YAML is 415.
pub fn body_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let ct = content_type(headers);
    match ct.as_str() {
        "" | "application/json" => Ok(Format::Json),
        "application/yaml" => Ok(Format::Yaml),
        _ => Err(ApiError::unsupported_media_type(&[
            "application/json",
            "application/yaml",
        ])),
    }
}

/// The media type of the body, lower-case, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Result<Output, ApiError> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, v.parse().unwrap());
        Output::from_accept(&h)
    }

    #[test]
    fn kubectl_table_accept_header_selects_table() {
        let a = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(accept(a).unwrap(), Output::Table);
    }

    fn discovery(v: &str) -> Result<DiscoveryFormat, ApiError> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, v.parse().unwrap());
        discovery_format(&h)
    }

    #[test]
    fn discovery_roots_serve_aggregated_v2_when_asked_first() {
        // What kubectl 1.33 (client-go) and kube-rs send.
        let client_go = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(discovery(client_go).unwrap(), DiscoveryFormat::Aggregated);
        assert_eq!(
            discovery("application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io")
                .unwrap(),
            DiscoveryFormat::Aggregated
        );
        assert_eq!(
            discovery("application/json").unwrap(),
            DiscoveryFormat::Plain
        );
        let protobuf_first = "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
        assert_eq!(
            discovery(protobuf_first).unwrap(),
            DiscoveryFormat::Aggregated
        );
        assert_eq!(
            discovery("application/yaml").unwrap(),
            DiscoveryFormat::Plain
        );
        assert_eq!(
            discovery_format(&HeaderMap::new()).unwrap(),
            DiscoveryFormat::Plain
        );
        // v2beta1 is no longer served: the next range decides.
        assert_eq!(
            discovery("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json").unwrap(),
            DiscoveryFormat::Plain
        );
        assert_eq!(
            discovery("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
                .unwrap_err()
                .code,
            406
        );
    }

    #[test]
    fn json_bodies_end_in_a_newline_and_yaml_keys_are_sorted() {
        let v = serde_json::json!({"kind": "Status", "apiVersion": "v1"});
        assert_eq!(
            json_bytes(&v).unwrap(),
            b"{\"kind\":\"Status\",\"apiVersion\":\"v1\"}\n"
        );
        assert_eq!(yaml_string(&v).unwrap(), "apiVersion: v1\nkind: Status\n");
    }

    #[test]
    fn resource_requests_with_the_discovery_accept_header_get_plain_json() {
        let a =
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
        assert_eq!(accept(a).unwrap(), Output::Json);
    }

    #[test]
    fn metadata_only_clients_get_partial_object_metadata() {
        let a = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(accept(a).unwrap(), Output::Metadata);
    }

    #[test]
    fn protobuf_only_is_not_acceptable() {
        assert_eq!(
            accept("application/vnd.kubernetes.protobuf")
                .unwrap_err()
                .code,
            406
        );
        assert_eq!(
            accept("application/vnd.kubernetes.protobuf, */*").unwrap(),
            Output::Json
        );
    }
}
