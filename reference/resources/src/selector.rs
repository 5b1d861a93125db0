//! Label selectors as `?labelSelector=` carries them (every operator upstream's
//! `labels.Parse` accepts) and as `metav1.LabelSelector` objects express them.
//!
//! Entry points: [`LabelSelector::parse`], [`LabelSelector::matches`],
//! [`LabelSelector::from_object`]. `Display` prints upstream's `Selector.String()`.

use crate::names::{is_qualified_name, is_valid_label_value};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A parsed label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

/// One requirement: `key op values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Operator,
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// A selector string that does not parse; the message is upstream's wording.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct SelectorError(pub String);

/// Lexer tokens of upstream's `labels` parser.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Not,
    NotEquals,
    Equals,
    DoubleEquals,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
    In,
    NotIn,
    End,
}

impl Tok {
    fn literal(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Not => "!".into(),
            Tok::NotEquals => "!=".into(),
            Tok::Equals => "=".into(),
            Tok::DoubleEquals => "==".into(),
            Tok::Gt => ">".into(),
            Tok::Lt => "<".into(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Comma => ",".into(),
            Tok::In => "in".into(),
            Tok::NotIn => "notin".into(),
            Tok::End => String::new(),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            out.push(Tok::End);
            return out;
        }
        let c = chars[i];
        if is_special(c) {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let (tok, len) = match two.as_str() {
                "!=" => (Tok::NotEquals, 2),
                "==" => (Tok::DoubleEquals, 2),
                _ => match c {
                    '!' => (Tok::Not, 1),
                    '=' => (Tok::Equals, 1),
                    '>' => (Tok::Gt, 1),
                    '<' => (Tok::Lt, 1),
                    '(' => (Tok::Open, 1),
                    ')' => (Tok::Close, 1),
                    _ => (Tok::Comma, 1),
                },
            };
            out.push(tok);
            i += len;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(match word.as_str() {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Ident(word),
            });
        }
    }
}

/// Upstream's parser: `Values` context turns `in`/`notin` into identifiers.
struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_values(&self) -> Tok {
        as_value(self.toks.get(self.pos).cloned().unwrap_or(Tok::End))
    }
    fn next_raw(&mut self) -> Tok {
        let t = self.toks.get(self.pos).cloned().unwrap_or(Tok::End);
        self.pos += 1;
        t
    }
    fn next_values(&mut self) -> Tok {
        as_value(self.next_raw())
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            match self.peek_values() {
                Tok::Ident(_) | Tok::Not => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    match self.next_values() {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let t = self.peek_values();
                            if !matches!(t, Tok::Ident(_) | Tok::Not) {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.literal()
                                ));
                            }
                        }
                        t => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.literal()
                            ));
                        }
                    }
                }
                Tok::End => return Ok(reqs),
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.literal()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut negated = false;
        let mut tok = self.next_values();
        if tok == Tok::Not {
            negated = true;
            tok = self.next_values();
        }
        let Tok::Ident(key) = tok else {
            return Err(format!("found '{}', expected: identifier", tok.literal()));
        };
        let errs = is_qualified_name(&key);
        if !errs.is_empty() {
            return Err(format!("key: Invalid value: {key:?}: {}", errs.join("; ")));
        }
        if matches!(self.peek_values(), Tok::End | Tok::Comma) || negated {
            let op = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return new_requirement(key, op, Vec::new());
        }
        let op = match self.next_raw() {
            Tok::In => Operator::In,
            Tok::NotIn => Operator::NotIn,
            Tok::Equals | Tok::DoubleEquals => Operator::Equals,
            Tok::NotEquals => Operator::NotEquals,
            Tok::Gt => Operator::GreaterThan,
            Tok::Lt => Operator::LessThan,
            t => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.literal()
                ));
            }
        };
        let values = match op {
            Operator::In | Operator::NotIn => self.set_values()?,
            _ => self.exact_value()?,
        };
        new_requirement(key, op, values)
    }

    /// Upstream's `parseValues` + `parseIdentifiersList`, including their treatment of
    /// empty entries (`(a,)` selects `a` or the empty value).
    fn set_values(&mut self) -> Result<Vec<String>, String> {
        let t = self.next_values();
        if t != Tok::Open {
            return Err(format!("found '{}' expected: '('", t.literal()));
        }
        let mut values: Vec<String> = Vec::new();
        match self.peek_values() {
            Tok::Close => {
                self.pos += 1;
                return Ok(vec![String::new()]);
            }
            Tok::Ident(_) | Tok::Comma => {}
            t => {
                return Err(format!(
                    "found '{}', expected: ',', ')' or identifier",
                    t.literal()
                ));
            }
        }
        loop {
            match self.next_values() {
                Tok::Ident(v) => {
                    values.push(v);
                    match self.peek_values() {
                        Tok::Comma => continue,
                        Tok::Close => break,
                        t => return Err(format!("found '{}', expected: ',' or ')'", t.literal())),
                    }
                }
                Tok::Comma => {
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    match self.peek_values() {
                        Tok::Close => {
                            values.push(String::new());
                            break;
                        }
                        Tok::Comma => {
                            self.pos += 1;
                            values.push(String::new());
                        }
                        _ => {}
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        t.literal()
                    ));
                }
            }
        }
        let t = self.next_values();
        if t != Tok::Close {
            return Err(format!("found '{}', expected: ')'", t.literal()));
        }
        values.sort();
        values.dedup();
        Ok(values)
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        if matches!(self.peek_values(), Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        match self.next_values() {
            Tok::Ident(v) => Ok(vec![v]),
            t => Err(format!("found '{}', expected: identifier", t.literal())),
        }
    }
}

fn as_value(t: Tok) -> Tok {
    match t {
        Tok::In => Tok::Ident("in".into()),
        Tok::NotIn => Tok::Ident("notin".into()),
        t => t,
    }
}

/// Upstream's `NewRequirement` checks, with its field-error wording.
fn new_requirement(key: String, op: Operator, values: Vec<String>) -> Result<Requirement, String> {
    let errs = is_qualified_name(&key);
    if !errs.is_empty() {
        return Err(format!("key: Invalid value: {key:?}: {}", errs.join("; ")));
    }
    let quoted = || {
        format!(
            "[]string{{{}}}",
            values
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match op {
        Operator::In | Operator::NotIn if values.is_empty() => {
            return Err(format!(
                "values: Invalid value: {}: for 'in', 'notin' operators, values set can't be empty",
                quoted()
            ));
        }
        Operator::Equals | Operator::NotEquals if values.len() != 1 => {
            return Err(format!(
                "values: Invalid value: {}: exact-match compatibility requires one single value",
                quoted()
            ));
        }
        Operator::GreaterThan | Operator::LessThan => {
            if values.len() != 1 {
                return Err(format!(
                    "values: Invalid value: {}: for 'Gt', 'Lt' operators, exactly one value is required",
                    quoted()
                ));
            }
            if values[0].parse::<i64>().is_err() {
                return Err(format!(
                    "values[0]: Invalid value: {:?}: for 'Gt', 'Lt' operators, the value must be an integer",
                    values[0]
                ));
            }
        }
        _ => {}
    }
    for (i, v) in values.iter().enumerate() {
        let errs = is_valid_label_value(v);
        if !errs.is_empty() {
            return Err(format!(
                "values[{i}][{key}]: Invalid value: {v:?}: {}",
                errs.join("; ")
            ));
        }
    }
    Ok(Requirement { key, op, values })
}

impl Requirement {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.op {
            Operator::Equals | Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotEquals | Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = self.values.first().map(String::as_str).unwrap_or_default();
        match self.op {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Equals => write!(f, "{}={one}", self.key),
            Operator::NotEquals => write!(f, "{}!={one}", self.key),
            Operator::GreaterThan => write!(f, "{}>{one}", self.key),
            Operator::LessThan => write!(f, "{}<{one}", self.key),
            Operator::In | Operator::NotIn => {
                let mut vals = self.values.clone();
                vals.sort();
                let op = if self.op == Operator::In {
                    "in"
                } else {
                    "notin"
                };
                write!(f, "{} {op} ({})", self.key, vals.join(","))
            }
        }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(ToString::to_string).collect();
        write!(f, "{}", parts.join(","))
    }
}

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h,i>1` as upstream does.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            toks: lex(s),
            pos: 0,
        };
        let mut requirements = parser.parse().map_err(SelectorError)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// Builds a selector from a `metav1.LabelSelector` JSON object (matchLabels and
    /// matchExpressions). A null selector is `None` (matches nothing, as upstream).
    pub fn from_object(v: &Value) -> Result<Option<Self>, SelectorError> {
        if v.is_null() {
            return Ok(None);
        }
        let obj = v
            .as_object()
            .ok_or_else(|| SelectorError("label selector must be an object".into()))?;
        let mut requirements = Vec::new();
        if let Some(labels) = obj.get("matchLabels").and_then(Value::as_object) {
            for (k, val) in labels {
                let val = val.as_str().unwrap_or_default().to_string();
                requirements.push(
                    new_requirement(k.clone(), Operator::Equals, vec![val])
                        .map_err(SelectorError)?,
                );
            }
        }
        for expr in obj
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = expr
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let raw_op = expr
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let op = match raw_op {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            let values: Vec<String> = expr
                .get("values")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if matches!(op, Operator::Exists | Operator::DoesNotExist) && !values.is_empty() {
                return Err(SelectorError(
                    "values: Invalid value: values set must be empty for exists and does not exist"
                        .into(),
                ));
            }
            requirements.push(new_requirement(key, op, values).map_err(SelectorError)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Some(Self { requirements }))
    }

    /// Builds the equality selector of a plain map (`spec.selector` of an RC or a Service).
    pub fn from_map(map: &BTreeMap<String, String>) -> Self {
        let requirements = map
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                op: Operator::Equals,
                values: vec![v.clone()],
            })
            .collect();
        Self { requirements }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Matches an object's `metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(&labels_of(obj))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// An object's `metadata.labels` as a map (non-string values are ignored).
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
