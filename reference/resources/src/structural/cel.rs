//! CRD validation rules (`x-kubernetes-validations`): each rule is a CEL expression
//! evaluated with `self` bound to the value at its schema node (and `oldSelf` to the
//! correlated old value on update), as upstream's apiextensions-apiserver
//! `pkg/apiserver/schema/cel` (validation.go) does. Errors have upstream's shape:
//! `spec: Invalid value: "object": <message>`.
//!
//! The CEL crate parses and interprets; it does not type-check, so rules upstream would
//! reject at compile time for types (e.g. an undefined field) fail here at evaluation,
//! reported as upstream reports runtime errors (`no such key: x evaluating rule: ...`).

use cel::objects::OptionalValue;
use cel::{Context, Program, Value as Cel};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

use crate::validation::{Cause, Errs};

/// Where a rule's error is reported at the root of a custom resource: upstream passes a
/// nil `field.Path`, which prints as `<nil>`.
const ROOT: &str = "<nil>";

/// Whether a schema node or anything under it carries rules (the common case has none,
/// and then nothing is walked).
pub fn has_rules(schema: &Value) -> bool {
    let Some(m) = schema.as_object() else {
        return false;
    };
    if m.get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return true;
    }
    let props = m.get("properties").and_then(Value::as_object);
    props.is_some_and(|p| p.values().any(has_rules))
        || m.get("items").is_some_and(has_rules)
        || m.get("additionalProperties").is_some_and(has_rules)
}

/// Evaluates every rule of `schema` against `obj` (and `old` on update).
pub fn validate_rules(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Errs::default();
    if has_rules(schema) {
        walk(schema, obj, old, "", &mut errs);
    }
    errs.0
}

fn field(path: &str) -> &str {
    if path.is_empty() { ROOT } else { path }
}

fn walk(s: &Value, v: &Value, old: Option<&Value>, path: &str, errs: &mut Errs) {
    // Rules validate non-null values only; presence is checked from the parent.
    if v.is_null() {
        return;
    }
    let old = old.filter(|o| !o.is_null());
    node_rules(s, v, old, path, errs);
    match v {
        Value::Object(m) => {
            // An atomic map's entries are not correlated with the old map's.
            let correlate =
                s.get("x-kubernetes-map-type").and_then(Value::as_str) != Some("atomic");
            let props = s.get("properties").and_then(Value::as_object);
            let additional = s.get("additionalProperties").filter(|a| a.is_object());
            for (k, child) in m {
                let old_child = old.filter(|_| correlate).and_then(|o| o.get(k));
                if let Some(ps) = props.and_then(|p| p.get(k)) {
                    walk(
                        ps,
                        child,
                        old_child,
                        &crate::structural::child(path, k),
                        errs,
                    );
                }
                if let Some(ap) = additional {
                    walk(ap, child, old_child, &crate::structural::key(path, k), errs);
                }
            }
        }
        Value::Array(items) => {
            let Some(is) = s.get("items").filter(|i| i.is_object()) else {
                return;
            };
            for (i, item) in items.iter().enumerate() {
                let old_item = old.and_then(|o| correlated_item(s, item, o));
                walk(is, item, old_item, &crate::structural::index(path, i), errs);
            }
        }
        _ => {}
    }
}

/// Only `x-kubernetes-list-type: map` lists correlate items: by their key fields.
fn correlated_item<'a>(s: &Value, item: &Value, old: &'a Value) -> Option<&'a Value> {
    if s.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("map") {
        return None;
    }
    let keys: Vec<&str> = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    old.as_array()?
        .iter()
        .find(|o| keys.iter().all(|k| o.get(k) == item.get(k)))
}

/// The value upstream reports rule failures with: the node's schema type.
fn node_type(s: &Value) -> Value {
    json!(s.get("type").and_then(Value::as_str).unwrap_or_default())
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// `ruleErrorString`: the message if any, else the rule.
fn rule_error_string(rule: &Value) -> String {
    let msg = str_of(rule, "message").trim();
    if msg.is_empty() {
        str_of(rule, "rule").trim().to_string()
    } else {
        msg.to_string()
    }
}

fn node_rules(s: &Value, v: &Value, old: Option<&Value>, path: &str, errs: &mut Errs) {
    let Some(rules) = s.get("x-kubernetes-validations").and_then(Value::as_array) else {
        return;
    };
    let ty = node_type(s);
    let fld = field(path);
    for rule in rules {
        let src = str_of(rule, "rule");
        if src.trim().is_empty() {
            continue;
        }
        let program = match Program::compile(src) {
            Ok(p) => p,
            Err(e) => {
                errs.invalid(
                    fld,
                    &ty,
                    &format!("rule compile error: compilation failed: {e}"),
                );
                continue;
            }
        };
        let uses_old = uses_old_self(&program);
        let optional_old = rule.get("optionalOldSelf") == Some(&json!(true));
        // Transition rules run only when there is an old value to compare with, unless
        // the rule asks for `oldSelf` as an optional.
        if uses_old && old.is_none() && !optional_old {
            continue;
        }
        let ctx = context(v, old, uses_old, optional_old);
        match program.execute(&ctx) {
            Ok(Cel::Bool(true)) => continue,
            Ok(Cel::Bool(false)) => {}
            Ok(other) => {
                errs.invalid(
                    fld,
                    &ty,
                    &format!(
                        "rule did not evaluate to a bool ({other:?}) evaluating rule: {}",
                        rule_error_string(rule)
                    ),
                );
                continue;
            }
            Err(e) => {
                errs.invalid(
                    fld,
                    &ty,
                    &format!(
                        "{} evaluating rule: {}",
                        go_error(&e),
                        rule_error_string(rule)
                    ),
                );
                continue;
            }
        }
        let at = match normalized_field_path(str_of(rule, "fieldPath")) {
            Some(rel) if !rel.is_empty() => join(path, &rel),
            _ => fld.to_string(),
        };
        let detail = message_expression(rule, &ctx).unwrap_or_else(|| {
            let msg = str_of(rule, "message").trim();
            if msg.is_empty() {
                format!("failed rule: {}", rule_error_string(rule))
            } else {
                msg.to_string()
            }
        });
        match str_of(rule, "reason") {
            "FieldValueForbidden" => errs.forbidden(&at, &detail),
            "FieldValueRequired" => errs.required(&at, &detail),
            "FieldValueDuplicate" => errs.duplicate(&at, &ty),
            _ => errs.invalid(&at, &ty, &detail),
        }
    }
}

/// A runtime error in cel-go's words where the two interpreters differ only in wording
/// (`no such key: x`, `division by zero`); others as the crate words them.
fn go_error(e: &cel::ExecutionError) -> String {
    use cel::ExecutionError as E;
    match e {
        E::NoSuchKey(k) => format!("no such key: {k}"),
        E::DivisionByZero(_) => "division by zero".into(),
        E::RemainderByZero(_) => "modulus by zero".into(),
        E::Overflow(..) => "integer overflow".into(),
        other => other.to_string(),
    }
}

/// Whether a program mentions `oldSelf` (a transition rule).
pub(crate) fn uses_old_self(p: &Program) -> bool {
    p.references().has_variable("oldSelf")
}

fn context<'a>(
    v: &Value,
    old: Option<&Value>,
    uses_old: bool,
    optional_old: bool,
) -> Context<'a, 'a> {
    let mut ctx = Context::default();
    ctx.add_variable_from_value("self", to_cel(v));
    if uses_old {
        let old_val = old.map(to_cel);
        if optional_old {
            let opt = match old_val {
                Some(o) => OptionalValue::of(o),
                None => OptionalValue::none(),
            };
            ctx.add_variable_from_value("oldSelf", Cel::Opaque(Arc::new(opt)));
        } else if let Some(o) = old_val {
            ctx.add_variable_from_value("oldSelf", o);
        }
    }
    ctx
}

/// A JSON value as CEL sees it: integers are `int` (int64), as upstream types every
/// `type: integer` field; only integers beyond int64 stay `uint`.
fn to_cel(v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cel::Int(i),
            (None, Some(u)) => Cel::UInt(u),
            _ => Cel::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(m) => {
            let map: HashMap<String, Cel> = m.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            Cel::from(map)
        }
    }
}

/// `evalMessageExpression`: the trimmed string a `messageExpression` yields, or `None`
/// (upstream then falls back to the message) when it fails or is empty or multi-line.
fn message_expression(rule: &Value, ctx: &Context) -> Option<String> {
    let src = str_of(rule, "messageExpression");
    if src.trim().is_empty() {
        return None;
    }
    match Program::compile(src).ok()?.execute(ctx) {
        Ok(Cel::String(s)) => {
            let t = s.trim();
            (!t.is_empty() && !t.contains('\n')).then(|| t.to_string())
        }
        _ => None,
    }
}

/// A rule's `fieldPath` (`.spec.replicas`, `.spec['a.b']`) as field path segments
/// relative to the node: `replicas`, `spec[a.b]` style joins are done by [`join`].
/// `None` when the path does not parse.
pub(crate) fn normalized_field_path(fp: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = fp.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            out.push(r[..end].to_string());
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            out.push(r[..end].to_string());
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some(out)
}

fn join(path: &str, segments: &[String]) -> String {
    segments
        .iter()
        .fold(path.to_string(), |p, s| crate::structural::child(&p, s))
}
