//! `ValidateCustomResourceSelectableFields`: each `selectableFields[].jsonPath` must name
//! a string, boolean or integer field of the version's schema (resolved as upstream's
//! `cel.ValidFieldPath` does, without array notation), outside `metadata`, once, and at
//! most 8 of them.

use crate::validation::Errs;
use serde_json::{Value, json};

const MAX_SELECTABLE_FIELDS: usize = 8;

/// Splits a path into `.`, `[`, `]` and the text between them (quoted strings whole).
fn tokens(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut prev = '\0';
    for c in path.chars() {
        if quoted {
            cur.push(c);
            if c == '\'' && prev != '\\' {
                quoted = false;
                out.push(std::mem::take(&mut cur));
            }
        } else if c == '\'' && cur.is_empty() {
            quoted = true;
            cur.push(c);
        } else if matches!(c, '.' | '[' | ']') {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else {
            cur.push(c);
        }
        prev = c;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn has_properties(schema: &Value) -> bool {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty())
}

/// Resolves `path` in `schema`: the field path string and the schema found (`None` when
/// the path leads through a boolean `additionalProperties`).
fn resolve<'a>(path: &str, root: &'a Value) -> Result<(Vec<String>, Option<&'a Value>), String> {
    let toks = tokens(path);
    let mut it = toks.iter();
    let mut segments: Vec<String> = Vec::new();
    let mut schema = Some(root);
    while let Some(tok) = it.next() {
        match tok.as_str() {
            "[" => return Err("array notation is not allowed".into()),
            "." => {
                let name = it
                    .next()
                    .ok_or_else(|| "unexpected end of JSON path".to_string())?;
                let Some(s) = schema else {
                    return Err("does not refer to a valid field".into());
                };
                if has_properties(s) {
                    let found = s.pointer("/properties").and_then(|p| p.get(name.as_str()));
                    schema =
                        Some(found.ok_or_else(|| "does not refer to a valid field".to_string())?);
                    segments.push(name.clone());
                } else if let Some(ap) = s.get("additionalProperties").filter(|a| !a.is_null()) {
                    schema = ap.as_object().map(|_| ap);
                    segments.push(format!("[{name}]"));
                } else {
                    return Err("does not refer to a valid field".into());
                }
            }
            other => return Err(format!("expected [ or . but got: {other}")),
        }
    }
    Ok((segments, schema))
}

/// Validates one list of selectable fields against `schema` (the version's, or the
/// shared one), reporting under `path` (`spec.versions[i].selectableFields` or
/// `spec.selectableFields`).
pub(super) fn selectable_fields(fields: &[Value], schema: &Value, path: &str, errs: &mut Errs) {
    let mut unique: Vec<String> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let field = format!("{path}[{i}].jsonPath");
        let json_path = f
            .get("jsonPath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if json_path.is_empty() {
            errs.required(&field, "");
            continue;
        }
        let value = json!(json_path);
        let (segments, found) = match resolve(json_path, schema) {
            Ok(r) => r,
            Err(e) => {
                errs.invalid(&field, &value, &format!("is an invalid path: {e}"));
                continue;
            }
        };
        if segments.first().map(String::as_str) == Some("metadata") {
            errs.invalid(&field, &value, "must not point to fields in metadata");
        }
        let ty = found.and_then(|s| s.get("type")).and_then(Value::as_str);
        if !matches!(ty, Some("string" | "boolean" | "integer")) {
            errs.invalid(
                &field,
                &value,
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            );
        }
        let key = segments.iter().fold(String::new(), |acc, s| {
            match (acc.is_empty(), s.starts_with('[')) {
                (true, _) | (false, true) => acc + s,
                (false, false) => acc + "." + s,
            }
        });
        if unique.contains(&key) {
            errs.duplicate(&field, &value);
        } else {
            unique.push(key);
        }
    }
    if unique.len() > MAX_SELECTABLE_FIELDS {
        errs.push_raw(
            "FieldValueTooMany",
            path,
            format!(
                "Too many: {}: must have at most {MAX_SELECTABLE_FIELDS} items",
                unique.len()
            ),
        );
    }
}
