//! Bearer-token authentication from a static token file in upstream's CSV format
//! (`token,user,uid,"group1,group2"`).
//!
//! Entry points: [`TokenAuth::load`], [`TokenAuth::parse`], [`TokenAuth::authenticate`].
//! Without a token file (loopback only) every request acts as `system:admin`; with one,
//! a missing or unknown token is 401, except for the health and version endpoints,
//! which anonymous users may read as upstream's `system:public-info-viewer` allows.

use std::collections::HashMap;
use std::path::Path;

/// Who made a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// Further facts about the user (upstream's `user.Info.GetExtra`), as impersonation
    /// (`Impersonate-Extra-*`) and access reviews carry them.
    pub extra: std::collections::BTreeMap<String, Vec<String>>,
}

impl User {
    pub fn admin() -> Self {
        Self {
            name: "system:admin".into(),
            uid: String::new(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            ..Default::default()
        }
    }
    pub fn anonymous() -> Self {
        Self {
            name: "system:anonymous".into(),
            uid: String::new(),
            groups: vec!["system:unauthenticated".into()],
            ..Default::default()
        }
    }
}

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The file could not be read.
    #[error("reading token file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A line has fewer than three fields or an empty token.
    #[error("token file line {line}: expected token,user,uid[,\"groups\"]")]
    Malformed { line: usize },
}

#[derive(Clone, Debug, Default)]
pub struct TokenAuth {
    tokens: HashMap<String, User>,
}

/// Splits one CSV line, honouring double quotes.
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

impl TokenAuth {
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let mut tokens = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f = csv_fields(line);
            if f.len() < 3 || f[0].is_empty() || f[1].is_empty() {
                return Err(AuthError::Malformed { line: i + 1 });
            }
            let mut groups: Vec<String> = f
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            groups.push("system:authenticated".into());
            tokens.insert(
                f[0].clone(),
                User {
                    name: f[1].clone(),
                    uid: f[2].clone(),
                    groups,
                    ..Default::default()
                },
            );
        }
        Ok(Self { tokens })
    }

    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// The user of an `Authorization` header value; None when it is not a known token.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<User> {
        self.tokens.get(bearer_token(authorization)?).cloned()
    }
}

/// The token of an `Authorization: Bearer <token>` header, read as upstream's
/// bearer-token authenticator does: the scheme in any case (`bearer`, `BEARER`), the
/// token the second space-separated word, and an empty one no token at all.
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let mut parts = authorization?.trim().split(' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_use_upstreams_csv_format() {
        let a = TokenAuth::parse("# comment\nabc,alice,1,\"devs,ops\"\nxyz,bob,2\n").unwrap();
        let u = a.authenticate(Some("Bearer abc")).unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.groups, ["devs", "ops", "system:authenticated"]);
        assert_eq!(a.authenticate(Some("Bearer xyz")).unwrap().uid, "2");
        assert!(a.authenticate(Some("Bearer nope")).is_none());
        assert!(a.authenticate(None).is_none());
    }

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case() {
        let a = TokenAuth::parse("abc,alice,1\n").unwrap();
        for header in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "  Bearer abc  ",
            "Bearer abc extra",
        ] {
            assert_eq!(
                a.authenticate(Some(header)).map(|u| u.name),
                Some("alice".to_string()),
                "{header:?}"
            );
        }
        for header in [
            "Bearer",
            "Bearer ",
            "Bearer  abc",
            "Basic abc",
            "Bearerabc",
            "abc",
        ] {
            assert!(a.authenticate(Some(header)).is_none(), "{header:?}");
        }
    }

    #[test]
    fn malformed_lines_are_rejected() {
        assert!(TokenAuth::parse("onlytoken\n").is_err());
    }
}
