//! How Go prints the values that end up in upstream's messages and tables: `%q`
//! strings, `%v` floats, `json.Marshal` for lists and maps, and
//! `field.Error.ErrorBody`'s bad values. Shared by the structural-schema validation and
//! the custom resources' printer columns and scale accessors.

use serde_json::Value;

/// `s` in double quotes with `"`, `\`, newline, carriage return and tab escaped as
/// both `strconv.Quote` and `encoding/json` do; any other character that `escape`
/// returns an escape for is written as that.
fn quoted(s: &str, escape: impl Fn(char) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => match escape(c) {
                Some(e) => out.push_str(&e),
                None => out.push(c),
            },
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    quoted(s, |c| {
        ((c as u32) < 0x20 || c as u32 == 0x7f).then(|| format!("\\x{:02x}", c as u32))
    })
}

/// Shortest decimal digits and decimal exponent of a finite, non-zero float:
/// `(digits, exp)` with value = 0.digits × 10^exp.
fn shortest(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits = if digits.is_empty() {
        "0".into()
    } else {
        digits
    };
    (digits, exp + 1)
}

fn fixed(digits: &str, dp: i32) -> String {
    let nd = digits.len() as i32;
    if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp >= nd {
        format!("{}{}", digits, "0".repeat((dp - nd) as usize))
    } else {
        let (a, b) = digits.split_at(dp as usize);
        format!("{a}.{b}")
    }
}

fn exponent(digits: &str, x: i32, min_exp_digits: usize) -> String {
    let (first, rest) = digits.split_at(1);
    let mant = if rest.is_empty() {
        first.to_string()
    } else {
        format!("{first}.{rest}")
    };
    let sign = if x < 0 { '-' } else { '+' };
    format!("{mant}e{sign}{:0width$}", x.abs(), width = min_exp_digits)
}

/// `strconv` keeps the sign of a negative zero.
fn zero(f: f64) -> String {
    if f.is_sign_negative() { "-0" } else { "0" }.into()
}

/// Go's `%v` for a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`).
pub(crate) fn float(f: f64) -> String {
    if f == 0.0 {
        return zero(f);
    }
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let (digits, dp) = shortest(f);
    let x = dp - 1;
    // Shortest %g switches to an exponent below 1e-4 and from 1e6 (strconv uses
    // precision 6 for this decision when printing the shortest form).
    let eprec = 6;
    if x < -4 || x >= eprec {
        format!("{sign}{}", exponent(&digits, x, 2))
    } else {
        format!("{sign}{}", fixed(&digits, dp))
    }
}

/// Go's `encoding/json` rendering of a float64.
fn json_float(f: f64) -> String {
    if f == 0.0 {
        return zero(f);
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let (digits, dp) = shortest(f);
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        format!(
            "{sign}{}",
            exponent(&digits, dp - 1, 1).replace("e-0", "e-")
        )
    } else {
        format!("{sign}{}", fixed(&digits, dp))
    }
}

/// Go's `json.Marshal` of a decoded JSON value: map keys sorted, floats Go-style, HTML
/// characters escaped.
pub(crate) fn json(v: &Value) -> String {
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => json_float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => json_string(s),
        Value::Array(a) => format!("[{}]", a.iter().map(json).collect::<Vec<_>>().join(",")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", json_string(k), json(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// `encoding/json`'s string encoder with its default `SetEscapeHTML(true)`.
fn json_string(s: &str) -> String {
    quoted(s, |c| match c {
        '\u{8}' => Some("\\b".into()),
        '\u{c}' => Some("\\f".into()),
        '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => Some(format!("\\u{:04x}", c as u32)),
        c if (c as u32) < 0x20 => Some(format!("\\u{:04x}", c as u32)),
        _ => None,
    })
}

/// `field.Error.ErrorBody`'s rendering of a bad value: simple types with `%v`/`%q`,
/// everything else as JSON.
pub(crate) fn bad_value(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => float(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => b.to_string(),
        other => json(other),
    }
}
