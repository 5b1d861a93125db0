//! Content negotiation: which body formats a request may send (Content-Type) and what
//! the response is rendered as (Accept): JSON, YAML, or a server-side `Table`.
//!
//! Entry points: [`Output::from_accept`], [`body_format`], [`Output::render`].

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use refkube_resources::decode::Format;
use refkube_resources::table::IncludeObject;
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
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let mime = parts.next().unwrap_or("").to_ascii_lowercase();
            let params: Vec<(String, String)> = parts
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            let param = |k: &str| {
                params
                    .iter()
                    .find(|(pk, _)| pk == k)
                    .map(|(_, v)| v.as_str())
            };
            match mime.as_str() {
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
        match serde_yaml::to_string(obj) {
            Ok(s) => (code, [(header::CONTENT_TYPE, "application/yaml")], s).into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        }
    } else {
        json(code, obj)
    }
}

pub fn json(code: StatusCode, obj: &Value) -> Response {
    match serde_json::to_vec(obj) {
        Ok(b) => (code, [(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
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

    #[test]
    fn aggregated_discovery_falls_back_to_plain_json() {
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
