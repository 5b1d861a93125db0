//! kube-openapi's number, string, format and schema-props (allOf/anyOf/oneOf/not)
//! validators, with their messages.

use super::gofmt::{float, quote};
use super::schema::Schema;
use super::validate::{Code, Kind, OErr, Res, is_json_integer, kind, node};
use serde_json::Value;

/// A number as Go holds it after decoding: int64 or float64.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn of(v: &Value) -> Option<Num> {
        match kind(v) {
            Kind::Int => v.as_i64().map(Num::Int),
            Kind::Float => v.as_f64().map(Num::Float),
            _ => None,
        }
    }
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
    fn value(self) -> Value {
        match self {
            Num::Int(i) => i.into(),
            Num::Float(f) => Value::from(f),
        }
    }
}

/// `IsValueValidAgainstRange`: whether the number fits the schema's type and format.
fn range_error(n: Num, type_name: &str, format: &str, prefix: &str, path: &str) -> Option<OErr> {
    // strconv's 'f' rendering, which the int parsers reject when it has a fraction.
    let rep = match n {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => format!("{f}"),
    };
    let ok = match (type_name, format) {
        ("integer", "int32") => rep.parse::<i32>().is_ok(),
        ("integer", _) => rep.parse::<i64>().is_ok(),
        (_, "float") => n.as_f64().abs() <= f32::MAX as f64,
        _ => true,
    };
    if ok {
        return None;
    }
    Some(OErr::plain(if format.is_empty() {
        format!("{prefix} value must be of type {type_name} (default format) in {path}")
    } else {
        format!("{prefix} value must be of type {type_name} with format {format} in {path}")
    }))
}

fn bound_message(path: &str, op: &str, bound: String) -> String {
    format!("{path} in body should be {op} {bound}")
}

/// `MaximumNativeType` / `MinimumNativeType` (or the float versions when the bound
/// itself does not fit the type).
fn bound(
    n: Num,
    limit: f64,
    exclusive: bool,
    is_max: bool,
    native: bool,
    path: &str,
) -> Option<OErr> {
    let (fails, shown) = match (n, native) {
        (Num::Int(i), true) => {
            let l = limit as i64;
            let fails = if is_max {
                i > l || (exclusive && i == l)
            } else {
                i < l || (exclusive && i == l)
            };
            (fails, l.to_string())
        }
        _ => {
            let d = n.as_f64();
            let fails = if is_max {
                d > limit || (exclusive && d == limit)
            } else {
                d < limit || (exclusive && d == limit)
            };
            (fails, float(limit))
        }
    };
    if !fails {
        return None;
    }
    let op = match (is_max, exclusive) {
        (true, false) => "less than or equal to",
        (true, true) => "less than",
        (false, false) => "greater than or equal to",
        (false, true) => "greater than",
    };
    Some(OErr::new(
        Code::Other,
        path,
        Some(n.value()),
        bound_message(path, op, shown),
    ))
}

/// `MultipleOfNativeType` / `MultipleOf`.
fn multiple_of(n: Num, factor: f64, native: bool, path: &str) -> Option<OErr> {
    let positive = |shown: String| {
        OErr::new(
            Code::Other,
            path,
            None,
            format!("factor MultipleOf declared for {path} must be positive: {shown}"),
        )
    };
    match (n, native) {
        (Num::Int(i), true) => {
            let f = factor as i64;
            if f <= 0 {
                return Some(positive(f.to_string()));
            }
            (i % f != 0).then(|| {
                let msg = format!("{path} in body should be a multiple of {f}");
                OErr::new(Code::Other, path, Some(i.into()), msg)
            })
        }
        _ => {
            if factor <= 0.0 {
                return Some(positive(float(factor)));
            }
            let d = n.as_f64();
            let mult = if factor < 1.0 {
                1.0 / factor * d
            } else {
                d / factor
            };
            (!is_json_integer(mult)).then(|| {
                let msg = format!("{path} in body should be a multiple of {}", float(factor));
                OErr::new(Code::Other, path, Some(Value::from(d)), msg)
            })
        }
    }
}

/// `numberValidator`: range of the value itself, multipleOf, minimum, maximum.
pub(crate) fn number_validator(data: &Value, s: &Schema, path: &str) -> Res {
    let mut r = Res::default();
    let Some(n) = Num::of(data) else {
        return r;
    };
    let types = s.types();
    let (type_name, format) = match types.as_slice() {
        ["integer"] if matches!(s.format.as_str(), "int32" | "int64") => {
            ("integer", s.format.as_str())
        }
        ["integer"] => ("integer", ""),
        ["number"] if matches!(s.format.as_str(), "float" | "double") => {
            ("number", s.format.as_str())
        }
        ["number"] => ("number", ""),
        _ => ("", ""),
    };
    if let Some(e) = range_error(n, type_name, format, "Checked", path) {
        r.add(e);
    }
    let limit_ok = |v: f64, prefix: &str, out: &mut Vec<OErr>| {
        let e = range_error(Num::Float(v), type_name, format, prefix, path);
        let ok = e.is_none();
        out.extend(e);
        ok
    };
    let mut multiple = Vec::new();
    let mut minimum = Vec::new();
    let mut maximum = Vec::new();
    if let Some(f) = s.multiple_of {
        let native = limit_ok(f, "MultipleOf", &mut multiple);
        multiple.extend(multiple_of(n, f, native, path));
    }
    if let Some(m) = s.maximum {
        let native = limit_ok(m, "Maximum boundary", &mut maximum);
        maximum.extend(bound(n, m, s.exclusive_maximum, true, native, path));
    }
    if let Some(m) = s.minimum {
        let native = limit_ok(m, "Minimum boundary", &mut minimum);
        minimum.extend(bound(n, m, s.exclusive_minimum, false, native, path));
    }
    for e in multiple.into_iter().chain(minimum).chain(maximum) {
        r.add(e);
    }
    r.count += 1;
    r
}

/// `stringValidator`: maxLength, minLength, pattern (the first failure only).
pub(crate) fn string_validator(data: &Value, s: &Schema, path: &str) -> Res {
    let Some(text) = data.as_str() else {
        return Res::default();
    };
    let runes = text.chars().count() as i64;
    let value = Some(Value::String(text.to_string()));
    if let Some(max) = s.max_length.filter(|m| runes > *m) {
        let msg = format!("{path} in body should be at most {max} chars long");
        let mut e = OErr::new(Code::TooLong, path, value, msg);
        e.valid = max;
        return Res::err(e);
    }
    if let Some(min) = s.min_length.filter(|m| runes < *m) {
        let msg = format!("{path} in body should be at least {min} chars long");
        return Res::err(OErr::new(Code::Other, path, value, msg));
    }
    if !s.pattern.is_empty() {
        let shown = match regex::Regex::new(&s.pattern) {
            Ok(re) if re.is_match(text) => return Res::default(),
            Ok(_) => s.pattern.clone(),
            Err(e) => format!(
                "{}, but pattern is invalid: {}",
                s.pattern,
                super::check::regexp_error(&e, &s.pattern)
            ),
        };
        let msg = format!("{path} in body should match '{shown}'");
        return Res::err(OErr::new(Code::Other, path, value, msg));
    }
    Res::default()
}

/// `formatValidator`: a string in one of the supported formats.
pub(crate) fn format_validator(data: &Value, s: &Schema, path: &str) -> Res {
    match data.as_str() {
        Some(text) if !super::formats::valid(&s.format, text) => {
            Res::err(OErr::invalid_type(path, &s.format, text))
        }
        _ => Res::default(),
    }
}

/// `schemaPropsValidator`: anyOf, oneOf, allOf, not, each against the same path.
pub(crate) fn props_validator(data: &Value, s: &Schema, path: &str) -> Res {
    let mut main = Res::default();
    let q = quote(path);
    if !s.any_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut first_success: Option<Res> = None;
        for sub in &s.any_of {
            let r = node(data, sub, path);
            if r.is_valid() {
                best = None;
                first_success = Some(r);
                break;
            }
            if best.as_ref().is_none_or(|b| r.count > b.count) {
                best = Some(r);
            }
        }
        if first_success.is_none() {
            main.add(OErr::plain(format!(
                "{q} must validate at least one schema (anyOf)"
            )));
        }
        if let Some(b) = best.or(first_success) {
            main.merge(b);
        }
    }
    if !s.one_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut first_success: Option<Res> = None;
        let mut validated = 0;
        for sub in &s.one_of {
            let r = node(data, sub, path);
            if r.is_valid() {
                validated += 1;
                best = None;
                if first_success.is_none() {
                    first_success = Some(r);
                }
                continue;
            }
            if validated == 0 && best.as_ref().is_none_or(|b| r.count > b.count) {
                best = Some(r);
            }
        }
        if validated != 1 {
            let extra = if validated == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {validated} valid alternatives")
            };
            main.add(OErr::plain(format!(
                "{q} must validate one and only one schema (oneOf). {extra}"
            )));
            if let Some(b) = best {
                main.merge(b);
            }
        } else if let Some(f) = first_success {
            main.merge(f);
        }
    }
    if !s.all_of.is_empty() {
        let mut validated = 0;
        for sub in &s.all_of {
            let r = node(data, sub, path);
            if r.is_valid() {
                validated += 1;
            }
            main.merge(r);
        }
        if validated != s.all_of.len() {
            let extra = if validated == 0 {
                ". None validated"
            } else {
                ""
            };
            main.add(OErr::plain(format!(
                "{q} must validate all the schemas (allOf){extra}"
            )));
        }
    }
    if s.not
        .as_ref()
        .is_some_and(|not| node(data, not, path).is_valid())
    {
        main.add(OErr::plain(format!(
            "{q} must not validate the schema (not)"
        )));
    }
    main.count += 1;
    main
}
