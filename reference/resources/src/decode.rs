//! Decoding request bodies: JSON or YAML into a checked object, with upstream's
//! `fieldValidation` (Strict, Warn, Ignore) for unknown and duplicate fields.
//!
//! Entry point: [`decode`]. The body is first read into an order-preserving tree (so
//! duplicate keys are seen and errors come out in document order), unknown fields are
//! found by walking the k8s-openapi JSON schema of the kind (`decode/tree.rs`), and the
//! object is then round-tripped through the typed struct, which catches type errors and
//! normalises the object.

mod goerr;
mod tree;

use crate::ResourceInfo;
use crate::types::{self, Typed};
use serde_json::Value;
use tree::Node;

/// The `fieldValidation` query parameter. Upstream's default for kubectl is Strict, for
/// other clients Warn... the server default when absent is `Warn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    /// Parses the query parameter value (`Strict`, `Warn`, `Ignore`, case as upstream).
    pub fn parse(s: &str) -> Result<Self, DecodeError> {
        match s {
            "Strict" => Ok(Self::Strict),
            "Warn" | "" => Ok(Self::Warn),
            "Ignore" => Ok(Self::Ignore),
            other => Err(DecodeError(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
            ))),
        }
    }
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
    info: &ResourceInfo,
    body: &[u8],
    format: Format,
    validation: FieldValidation,
) -> Result<Decoded, DecodeError> {
    let node = match format {
        Format::Json => tree::parse_json(body),
        Format::Yaml => tree::parse_yaml(body),
    }
    .map_err(|e| DecodeError(format!("couldn't get version/kind; json parse error: {e}")))?;
    let Node::Obj(_) = node else {
        return Err(DecodeError(
            "couldn't get version/kind; json parse error: the body must be a JSON object"
                .to_string(),
        ));
    };
    let mut problems = Vec::new();
    if validation != FieldValidation::Ignore {
        let schema = types::schema(info);
        let root = schema.as_deref();
        tree::check(&node, root, root, "", &mut problems);
    }
    let mut object = node.into_value();
    check_type_meta(info, &mut object)?;
    if let Some(custom) = info.custom {
        // Custom resources are pruned to their schema whatever fieldValidation says;
        // it only decides whether the dropped fields are reported.
        let pruned = custom.prune(&mut object);
        if validation != FieldValidation::Ignore {
            problems.extend(pruned);
        }
    }
    let cannot = || {
        format!(
            "{} in version {:?} cannot be handled as a {}",
            info.kind, info.version, info.kind
        )
    };
    if validation == FieldValidation::Strict && !problems.is_empty() {
        return Err(DecodeError(format!(
            "{}: strict decoding error: {}",
            cannot(),
            problems.join(", ")
        )));
    }
    let object = normalise(info, object).map_err(|e| DecodeError(format!("{}: {e}", cannot())))?;
    let warnings = if validation == FieldValidation::Warn {
        problems
    } else {
        Vec::new()
    };
    Ok(Decoded { object, warnings })
}

/// Parses a YAML (or JSON) body into a plain value, with the alias budget of
/// [`decode`]'s YAML path: every server path that reads YAML goes through here.
pub fn yaml_value(body: &[u8]) -> Result<Value, DecodeError> {
    tree::parse_yaml(body)
        .map(Node::into_value)
        .map_err(DecodeError)
}

/// Checks an already-built object (the result of a PATCH) the way [`decode`] checks a
/// body: upstream validates patched objects against `fieldValidation` too, so a patch
/// that introduces `spec.foo` fails under Strict and warns under Warn.
pub fn decode_value(
    info: &ResourceInfo,
    object: &Value,
    validation: FieldValidation,
) -> Result<Decoded, DecodeError> {
    let body = serde_json::to_vec(object).map_err(|e| DecodeError(e.to_string()))?;
    decode(info, &body, Format::Json, validation)
}

/// Checks `apiVersion` and `kind` against the endpoint's, filling them in when absent.
fn check_type_meta(info: &ResourceInfo, object: &mut Value) -> Result<(), DecodeError> {
    let want_version = info.api_version();
    match object.get("apiVersion") {
        None | Some(Value::Null) => object["apiVersion"] = Value::String(want_version),
        Some(Value::String(v)) if *v == want_version => {}
        Some(other) => {
            let got = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string);
            return Err(DecodeError(format!(
                "the API version in the data ({got}) does not match the expected API version ({want_version})"
            )));
        }
    }
    match object.get("kind") {
        None | Some(Value::Null) => object["kind"] = Value::String(info.kind.to_string()),
        Some(Value::String(k)) if k == info.kind => {}
        Some(other) => {
            let got = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string);
            return Err(DecodeError(format!(
                "the kind in the data ({got}) does not match the expected kind ({})",
                info.kind
            )));
        }
    }
    Ok(())
}

/// Round-trips `object` through `T`: type errors name the field as Go does (with the
/// kind's `schema`), unknown fields drop out.
pub(crate) fn round_trip<T: Typed>(object: Value, schema: Option<&Value>) -> Result<Value, String> {
    let original = object.clone();
    let typed: T = serde_path_to_error::deserialize(object).map_err(|e| {
        let steps: Vec<goerr::Step> = e
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Map { key } => Some(goerr::Step::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(goerr::Step::Index(*index)),
                _ => None,
            })
            .collect();
        let inner = e.inner().to_string();
        let go = schema
            .filter(|_| inner.starts_with("invalid type:"))
            .and_then(|root| goerr::describe(&original, &steps, root));
        let path = e.path().to_string();
        match go {
            Some(message) => message,
            None if path == "." => inner,
            None => format!("{path}: {inner}"),
        }
    })?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Round-trips `object` through `info`'s typed struct: type errors name the field as
/// Go does (`json: cannot unmarshal string into Go struct field
/// DeploymentSpec.spec.replicas of type int32`), unknown fields drop out.
pub fn normalise(info: &ResourceInfo, object: Value) -> Result<Value, String> {
    let schema = types::schema(info);
    match types::type_fns(info) {
        Some(t) => (t.round_trip)(object, schema.as_deref()),
        None => Ok(object),
    }
}

#[cfg(test)]
mod tests;
