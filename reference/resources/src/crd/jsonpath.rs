//! The part of client-go's `util/jsonpath` that printer columns use: `.field` (with
//! `\.` escapes), `.*`, `['key']`, and `[i]`, `[-i]`, `[*]`, `[a:b:c]` slices, evaluated
//! with `AllowMissingKeys(true)` as the custom resource table convertor does. Filters,
//! unions and recursive descent are not supported: a column using them fails to parse,
//! which upstream's convertor also treats as the end of the usable columns.

use serde_json::Value;

/// One step of a parsed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Field(String),
    Wildcard,
    /// `[start:end:step]`; a single index `[i]` has `end = i+1` marked derived.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        end_derived: bool,
        step: Option<i64>,
    },
}

/// Parses a column's JSONPath (upstream wraps it as `{<path>}` first).
pub(crate) fn parse(path: &str) -> Result<Vec<Step>, String> {
    let chars: Vec<char> = path.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'.') {
                    return Err("recursive descent is not supported".into());
                }
                let mut name = String::new();
                while let Some(&c) = chars.get(i) {
                    if c == '\\' {
                        // An escaped character is part of the name; the backslash is dropped.
                        if let Some(&next) = chars.get(i + 1) {
                            name.push(next);
                        }
                        i += 2;
                        continue;
                    }
                    if matches!(c, '.' | '[' | ']' | ' ' | ',' | '{' | '}' | '$' | '@') {
                        break;
                    }
                    name.push(c);
                    i += 1;
                }
                if name == "*" {
                    steps.push(Step::Wildcard);
                } else {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or_else(|| "unterminated array".to_string())?;
                let inner: String = chars[i + 1..i + close].iter().collect();
                i += close + 1;
                steps.extend(bracket(&inner)?);
            }
            c => return Err(format!("unrecognized character in action: {c:?}")),
        }
    }
    Ok(steps)
}

fn bracket(inner: &str) -> Result<Vec<Step>, String> {
    if inner.starts_with('?') {
        return Err("filters are not supported".into());
    }
    let text = if inner == "*" { ":" } else { inner };
    if text.contains(',') {
        return Err("unions are not supported".into());
    }
    if let Some(key) = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .filter(|k| !k.contains('\''))
    {
        // Upstream re-parses a dict key as `{.<key>}`, so dots in it separate fields.
        return parse(&format!(".{key}"));
    }
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 {
        return Err(format!("invalid array index {text}"));
    }
    let num = |s: &str| -> Result<Option<i64>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("invalid array index {text}"));
        }
        s.parse::<i64>()
            .map(Some)
            .map_err(|_| format!("invalid array index {text}"))
    };
    let start = num(parts[0])?;
    // `[i]` selects one element: upstream derives end = start + 1.
    let (end, end_derived) = match parts.get(1) {
        None => (Some(start.unwrap_or(0) + 1), true),
        Some(e) => (num(e)?, false),
    };
    let step = match parts.get(2) {
        None => None,
        Some(s) => num(s)?,
    };
    Ok(vec![Step::Slice {
        start,
        end,
        end_derived,
        step,
    }])
}

/// `FindResults` of one path: every matching value, in order. A missing field yields no
/// value (not an error); indexing a non-list or out of bounds is an error.
pub(crate) fn find<'a>(root: &'a Value, steps: &[Step]) -> Result<Vec<&'a Value>, String> {
    let mut cur = vec![root];
    for step in steps {
        let mut next = Vec::new();
        for v in cur {
            if v.is_null() {
                continue;
            }
            match step {
                Step::Field(name) => {
                    if let Some(found) = v.as_object().and_then(|m| m.get(name)) {
                        next.push(found);
                    }
                }
                Step::Wildcard => match v {
                    Value::Object(m) => next.extend(m.values()),
                    Value::Array(a) => next.extend(a.iter()),
                    _ => {}
                },
                Step::Slice {
                    start,
                    end,
                    end_derived,
                    step,
                } => {
                    let Some(list) = v.as_array() else {
                        return Err(format!("{} is not array or slice", type_name(v)));
                    };
                    let len = list.len() as i64;
                    let mut a = start.unwrap_or(0);
                    if a < 0 {
                        a += len;
                    }
                    let mut b = end.unwrap_or(len);
                    if b < 0 || (b == 0 && *end_derived) {
                        b += len;
                    }
                    if a == b {
                        return Ok(next);
                    }
                    if a >= len || a < 0 {
                        return Err(format!(
                            "array index out of bounds: index {a}, length {len}"
                        ));
                    }
                    if b > len || b < 0 {
                        return Err(format!(
                            "array index out of bounds: index {}, length {len}",
                            b - 1
                        ));
                    }
                    if a > b {
                        return Err(format!(
                            "starting index {a} is greater than ending index {b}"
                        ));
                    }
                    let stride = step.unwrap_or(1);
                    if stride <= 0 {
                        return Err("step must be > 0".into());
                    }
                    let (a, b) = (a as usize, b as usize);
                    next.extend(list[a..b].iter().step_by(stride as usize));
                }
            }
        }
        cur = next;
    }
    Ok(cur)
}

/// The Go type name upstream's error message shows for a decoded JSON value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "map[string]interface {}",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::Array(_) => "[]interface {}",
        Value::Null => "interface {}",
    }
}
