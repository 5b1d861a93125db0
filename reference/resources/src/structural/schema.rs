//! The parsed form of a CRD's JSONSchemaProps: one type for the structural skeleton
//! (pruning, defaulting) and for the value validations kube-openapi applies.
//!
//! Parsing is lenient: malformed keywords are ignored here because
//! `structural_errors` reports them against the raw JSON when the CRD is written.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `additionalProperties`: either a boolean or a schema for every unnamed key.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Additional {
    /// Absent: unknown keys are pruned.
    #[default]
    Absent,
    /// `true` keeps unknown keys (unvalidated); `false` forbids them.
    Bool(bool),
    /// Every key not in `properties` follows this schema.
    Schema(Box<Schema>),
}

/// One node of a CRD schema.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    /// `type` (empty when unset).
    pub type_: String,
    /// `format`, already cleared when upstream does not support it for the type.
    pub format: String,
    pub nullable: bool,
    pub default: Option<Value>,
    pub properties: BTreeMap<String, Schema>,
    pub additional_properties: Additional,
    pub items: Option<Box<Schema>>,
    pub preserve_unknown_fields: bool,
    pub embedded_resource: bool,
    pub int_or_string: bool,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub pattern: String,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub multiple_of: Option<f64>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    pub enum_: Option<Vec<Value>>,
    pub all_of: Vec<Schema>,
    pub any_of: Vec<Schema>,
    pub one_of: Vec<Schema>,
    pub not: Option<Box<Schema>>,
}

/// String formats upstream's CRD validator keeps (`supportedVersionedFormats`, written
/// without dashes as go-openapi normalises them); anything else is stripped.
const STRING_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "k8sshortname",
    "k8slongname",
];

impl Schema {
    /// Parses a JSONSchemaProps object; anything that is not an object is an empty schema.
    pub fn from_value(v: &Value) -> Schema {
        let Some(m) = v.as_object() else {
            return Schema::default();
        };
        let mut s = Schema {
            type_: str_of(m, "type"),
            nullable: bool_of(m, "nullable"),
            default: m.get("default").filter(|d| !d.is_null()).cloned(),
            preserve_unknown_fields: bool_of(m, "x-kubernetes-preserve-unknown-fields"),
            embedded_resource: bool_of(m, "x-kubernetes-embedded-resource"),
            int_or_string: bool_of(m, "x-kubernetes-int-or-string"),
            maximum: m.get("maximum").and_then(Value::as_f64),
            exclusive_maximum: bool_of(m, "exclusiveMaximum"),
            minimum: m.get("minimum").and_then(Value::as_f64),
            exclusive_minimum: bool_of(m, "exclusiveMinimum"),
            max_length: int_of(m, "maxLength"),
            min_length: int_of(m, "minLength"),
            pattern: str_of(m, "pattern"),
            max_items: int_of(m, "maxItems"),
            min_items: int_of(m, "minItems"),
            unique_items: bool_of(m, "uniqueItems"),
            multiple_of: m.get("multipleOf").and_then(Value::as_f64),
            max_properties: int_of(m, "maxProperties"),
            min_properties: int_of(m, "minProperties"),
            required: strings(m.get("required")),
            enum_: m.get("enum").and_then(Value::as_array).cloned(),
            all_of: list_of(m, "allOf"),
            any_of: list_of(m, "anyOf"),
            one_of: list_of(m, "oneOf"),
            not: m.get("not").map(|n| Box::new(Schema::from_value(n))),
            items: m
                .get("items")
                .filter(|i| i.is_object())
                .map(|i| Box::new(Schema::from_value(i))),
            ..Schema::default()
        };
        if let Some(props) = m.get("properties").and_then(Value::as_object) {
            s.properties = props
                .iter()
                .map(|(k, v)| (k.clone(), Schema::from_value(v)))
                .collect();
        }
        s.additional_properties = match m.get("additionalProperties") {
            Some(Value::Bool(b)) => Additional::Bool(*b),
            Some(v @ Value::Object(_)) => Additional::Schema(Box::new(Schema::from_value(v))),
            _ => Additional::Absent,
        };
        s.format = supported_format(&s.types(), &str_of(m, "format"));
        s
    }

    /// The types kube-openapi checks: int-or-string becomes `integer,string`.
    pub(crate) fn types(&self) -> Vec<&str> {
        if self.int_or_string {
            vec!["integer", "string"]
        } else if self.type_.is_empty() {
            Vec::new()
        } else {
            vec![self.type_.as_str()]
        }
    }

    /// The schema unknown keys follow, if any (`additionalProperties` as a schema).
    pub(crate) fn additional_schema(&self) -> Option<&Schema> {
        match &self.additional_properties {
            Additional::Schema(s) => Some(s),
            _ => None,
        }
    }

    /// Whether unknown keys are kept (`additionalProperties` is set, true or a schema).
    /// Upstream's structural schema treats `false` the same (it is forbidden next to
    /// `properties` anyway).
    pub(crate) fn has_additional(&self) -> bool {
        !matches!(self.additional_properties, Additional::Absent)
    }
}

/// `StripUnsupportedFormatsPostProcess`: formats upstream does not know are ignored.
fn supported_format(types: &[&str], format: &str) -> String {
    if format.is_empty() {
        return String::new();
    }
    let ty = if types.len() == 1 { types[0] } else { "" };
    let keep = match ty {
        "" | "string" => STRING_FORMATS.contains(&format.replace('-', "").as_str()),
        "integer" => format == "int32" || format == "int64",
        "number" => format == "float" || format == "double",
        _ => false,
    };
    if keep {
        format.to_string()
    } else {
        String::new()
    }
}

/// The strings of a JSON list; anything else in or instead of it is ignored.
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn str_of(m: &Map<String, Value>, k: &str) -> String {
    m.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn bool_of(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn int_of(m: &Map<String, Value>, k: &str) -> Option<i64> {
    m.get(k).and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
    })
}

fn list_of(m: &Map<String, Value>, k: &str) -> Vec<Schema> {
    m.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(Schema::from_value).collect())
        .unwrap_or_default()
}
