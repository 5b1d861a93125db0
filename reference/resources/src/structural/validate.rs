//! kube-openapi's `SchemaValidator` as the CRD handler runs it, and
//! `kubeOpenAPIResultToFieldErrors`, which turns its errors into the field errors a
//! client sees in a 422 Invalid.
//!
//! Paths follow kube-openapi: properties join with `.`, items append `[i]`, and keys
//! under `additionalProperties` or `required` are joined with a leading `.` even at the
//! root (stripped again when converted to a field path). Errors with no field (anyOf,
//! oneOf, allOf, not, range checks) get upstream's `<nil>` field and an empty value.

use super::gofmt::{bad_value, quote};
use super::schema::Schema;
use super::validate_collections::{object_validator, slice_validator};
use super::validate_props::{
    format_validator, number_validator, props_validator, string_validator,
};
use crate::validation::Cause;
use serde_json::Value;

/// kube-openapi's error codes, reduced to what decides the field error's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    InvalidType,
    Required,
    TooLong,
    Enum,
    MaxItems,
    TooManyProperties,
    /// Every other `*errors.Validation` (min/max, pattern, uniqueness, ...).
    Other,
    /// A plain error with no field (anyOf/oneOf/allOf/not, range checks).
    Plain,
}

/// One kube-openapi error.
#[derive(Clone, Debug)]
pub(crate) struct OErr {
    pub code: Code,
    pub name: String,
    pub value: Option<Value>,
    pub values: Vec<Value>,
    pub valid: i64,
    pub message: String,
}

impl OErr {
    pub fn new(code: Code, name: &str, value: Option<Value>, message: String) -> OErr {
        OErr {
            code,
            name: name.to_string(),
            value,
            values: Vec::new(),
            valid: -1,
            message,
        }
    }
    pub fn plain(message: String) -> OErr {
        OErr::new(Code::Plain, "", None, message)
    }
    /// `errors.InvalidType` with a string value (`typeFailWithData`).
    pub fn invalid_type(name: &str, type_name: &str, value: &str) -> OErr {
        OErr::new(
            Code::InvalidType,
            name,
            Some(Value::String(value.to_string())),
            format!(
                "{name} in body must be of type {type_name}: {}",
                quote(value)
            ),
        )
    }
}

/// kube-openapi's `Result`: errors deduplicated by message, plus the match count that
/// decides which failed anyOf/oneOf branch is reported.
#[derive(Default, Debug)]
pub(crate) struct Res {
    pub errs: Vec<OErr>,
    pub count: usize,
}

impl Res {
    pub fn add(&mut self, e: OErr) {
        if !self.errs.iter().any(|x| x.message == e.message) {
            self.errs.push(e);
        }
    }
    pub fn merge(&mut self, other: Res) {
        for e in other.errs {
            self.add(e);
        }
        self.count += other.count;
    }
    pub fn is_valid(&self) -> bool {
        self.errs.is_empty()
    }
    /// `errorHelp.sErr`: a result holding one error and no matches.
    pub fn err(e: OErr) -> Res {
        Res {
            errs: vec![e],
            count: 0,
        }
    }
}

/// The JSON kind of a decoded value, as Go's unstructured decoding types it
/// (integers are int64, every other number float64).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Str,
    Int,
    Float,
    Array,
    Object,
}

pub(crate) fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::String(_) => Kind::Str,
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(_) => Kind::Float,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// Validates a custom object against its schema; the causes of upstream's 422.
pub fn validate(obj: &Value, schema: &Schema) -> Vec<Cause> {
    to_causes(&node(obj, schema, ""), None)
}

/// Validates a value with every field path under `prefix` (defaults in a CRD schema).
pub(crate) fn validate_under(obj: &Value, schema: &Schema, prefix: &str) -> Vec<Cause> {
    to_causes(&node(obj, schema, ""), Some(prefix))
}

/// `SchemaValidator.Validate`.
pub(crate) fn node(data: &Value, s: &Schema, path: &str) -> Res {
    let mut r = Res::default();
    if data.is_null() {
        r.merge(type_validator(data, s, path));
        r.merge(common_validator(data, s, path));
        return r;
    }
    let k = kind(data);
    let run = |r: &mut Res, sub: Res| {
        r.merge(sub);
        r.count += 1;
    };
    if !s.types().is_empty() || !s.format.is_empty() {
        run(&mut r, type_validator(data, s, path));
    }
    run(&mut r, props_validator(data, s, path));
    if k == Kind::Str {
        run(&mut r, string_validator(data, s, path));
        if super::formats::is_string_format(&s.format) {
            run(&mut r, format_validator(data, s, path));
        }
    }
    if k == Kind::Int || k == Kind::Float {
        run(&mut r, number_validator(data, s, path));
    }
    if k == Kind::Array {
        run(&mut r, slice_validator(data, s, path));
    }
    run(&mut r, common_validator(data, s, path));
    if k == Kind::Object {
        run(&mut r, object_validator(data, s, path));
    }
    r.count += 1;
    r
}

/// `swag.IsFloat64AJSONInteger`.
pub(crate) fn is_json_integer(f: f64) -> bool {
    f.is_finite() && f.abs() <= (1u64 << 53) as f64 && f.fract() == 0.0
}

/// `typeValidator.Validate`.
fn type_validator(data: &Value, s: &Schema, path: &str) -> Res {
    let types = s.types();
    let k = kind(data);
    if k == Kind::Null {
        if !types.is_empty() && !types.contains(&"null") && !s.nullable {
            return Res::err(OErr::invalid_type(path, &types.join(","), "null"));
        }
        return Res {
            errs: vec![],
            count: 1,
        };
    }
    let (sch_type, format) = match k {
        Kind::Bool => ("boolean", ""),
        Kind::Str => ("string", ""),
        Kind::Int => ("integer", "int64"),
        Kind::Float => ("number", "float64"),
        Kind::Array => ("array", ""),
        _ => ("object", ""),
    };
    let is_float_int = k == Kind::Float
        && data.as_f64().is_some_and(is_json_integer)
        && types.contains(&"integer");
    let is_int_float = k == Kind::Int && types.contains(&"number");
    let fmt = s.format.as_str();
    if k != Kind::Str
        && k != Kind::Array
        && !fmt.is_empty()
        && !(types.contains(&sch_type) || format == fmt || is_float_int || is_int_float)
    {
        return Res::err(OErr::invalid_type(path, fmt, format));
    }
    let numeric = types.contains(&"number") || types.contains(&"integer");
    if !numeric && !fmt.is_empty() && (k == Kind::Str || k == Kind::Array) {
        return Res {
            errs: vec![],
            count: 1,
        };
    }
    if !(types.contains(&sch_type) || is_float_int || is_int_float) {
        return Res::err(OErr::invalid_type(path, &types.join(","), sch_type));
    }
    Res {
        errs: vec![],
        count: 1,
    }
}

/// Go's conversion-then-DeepEqual enum match (a float converts to an int by truncation).
fn enum_matches(data: &Value, e: &Value) -> bool {
    match (data, e) {
        (Value::Number(d), Value::Number(n)) if n.is_i64() || n.is_u64() => match d.as_i64() {
            Some(d) => Some(d) == n.as_i64(),
            None => d.as_f64().map(|f| f.trunc() as i64) == n.as_i64(),
        },
        (Value::Number(d), Value::Number(n)) => d.as_f64() == n.as_f64(),
        (Value::Null, _) => false,
        _ => data == e,
    }
}

/// `basicCommonValidator`: enum.
fn common_validator(data: &Value, s: &Schema, path: &str) -> Res {
    let Some(values) = s.enum_.as_ref().filter(|v| !v.is_empty()) else {
        return Res::default();
    };
    if values.iter().any(|e| enum_matches(data, e)) {
        return Res::default();
    }
    let listed: Vec<String> = values.iter().map(super::gofmt::json).collect();
    let mut e = OErr::new(
        Code::Enum,
        path,
        Some(data.clone()),
        format!("{path} in body should be one of [{}]", listed.join(" ")),
    );
    e.values = values.clone();
    Res::err(e)
}

/// `kubeOpenAPIResultToFieldErrors`, with `prefix` as the field path it is given
/// (none for custom objects, whose errors then start at the root).
pub(crate) fn to_causes(r: &Res, prefix: Option<&str>) -> Vec<Cause> {
    r.errs.iter().map(|e| to_cause(e, prefix)).collect()
}

fn to_cause(e: &OErr, prefix: Option<&str>) -> Cause {
    let root = prefix.unwrap_or("<nil>").to_string();
    let field = if e.code == Code::Plain || e.name.is_empty() || e.name == "." {
        root
    } else {
        let name = e.name.strip_prefix('.').unwrap_or(&e.name);
        match prefix {
            Some(p) if !p.is_empty() => format!("{p}.{name}"),
            _ => name.to_string(),
        }
    };
    let value = e.value.clone().unwrap_or(Value::String(String::new()));
    let (reason, message) = match e.code {
        Code::Required => ("FieldValueRequired", "Required value".to_string()),
        Code::Enum => {
            let supported: Vec<String> = e
                .values
                .iter()
                .map(|v| match v {
                    Value::String(s) => quote(s),
                    other => quote(&super::gofmt::json(other)),
                })
                .collect();
            let head = format!("Unsupported value: {}", bad_value(&value));
            let msg = if supported.is_empty() {
                head
            } else {
                format!("{head}: supported values: {}", supported.join(", "))
            };
            ("FieldValueNotSupported", msg)
        }
        Code::TooLong => {
            let unit = if e.valid == 1 { "byte" } else { "bytes" };
            let msg = if e.valid >= 0 {
                format!("Too long: may not be more than {} {unit}", e.valid)
            } else {
                "Too long: value is too long".to_string()
            };
            ("FieldValueTooLong", msg)
        }
        Code::MaxItems | Code::TooManyProperties => {
            let unit = if e.valid == 1 { "item" } else { "items" };
            let actual = value.as_i64().unwrap_or(-1);
            (
                "FieldValueTooMany",
                format!("Too many: {actual}: must have at most {} {unit}", e.valid),
            )
        }
        Code::InvalidType => (
            "FieldValueTypeInvalid",
            format!("Invalid value: {}: {}", bad_value(&value), e.message),
        ),
        Code::Other | Code::Plain => (
            "FieldValueInvalid",
            format!("Invalid value: {}: {}", bad_value(&value), e.message),
        ),
    };
    Cause {
        reason,
        message,
        field,
    }
}
