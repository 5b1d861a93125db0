//! The label selector lexer and parser, following upstream's `labels.Parse` token by
//! token (including its `Values` context, where `in`/`notin` are plain identifiers),
//! and `NewRequirement`'s checks with their field-error wording.
//!
//! Entry points: [`parse`], [`new_requirement`].

use super::selector::{Operator, Requirement};
use crate::names::{is_qualified_name, is_valid_label_value};

/// Parses a selector string into requirements (unsorted), or upstream's error text.
pub fn parse(s: &str) -> Result<Vec<Requirement>, String> {
    Parser {
        toks: lex(s),
        pos: 0,
    }
    .parse()
}

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
pub fn new_requirement(
    key: String,
    op: Operator,
    values: Vec<String>,
) -> Result<Requirement, String> {
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

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
