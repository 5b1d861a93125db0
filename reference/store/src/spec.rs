//! Parsing of store spec strings (`memory`, `file:DIR`, `etcd:URL[,URL...]`).
//!
//! Entry point: [`open`]. Parsing ([`Spec::parse`]) is pure and unit-tested; opening
//! does the I/O (the file backend takes its lock and replays its log; the etcd backend
//! connects lazily, on first use).

use std::path::PathBuf;
use std::sync::Arc;

use crate::etcd::{EtcdConfig, EtcdStore};
use crate::file::{FileConfig, FileStore};
use crate::memory::MemoryStore;
use crate::{Store, StoreError};

/// A parsed store spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// `memory`
    Memory,
    /// `file:DIR`
    File(PathBuf),
    /// `etcd:URL[,URL...]`, each URL `http://` or `https://`.
    Etcd(Vec<String>),
}

impl Spec {
    /// Parses a spec string, saying exactly what is wrong with a bad one.
    pub fn parse(spec: &str) -> Result<Spec, StoreError> {
        let bad = |reason: &str| StoreError::InvalidSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (kind, rest) = match spec.split_once(':') {
            Some((k, r)) => (k, Some(r)),
            None => (spec, None),
        };
        match (kind, rest) {
            ("memory", None) => Ok(Spec::Memory),
            ("memory", Some(_)) => Err(bad("memory takes no argument; use \"memory\"")),
            ("file", Some(dir)) if !dir.trim().is_empty() => Ok(Spec::File(PathBuf::from(dir))),
            ("file", _) => Err(bad(
                "file needs a directory, as in \"file:/var/lib/refkube\"",
            )),
            ("etcd", Some(urls)) => {
                let urls: Vec<String> = urls
                    .split(',')
                    .map(|u| u.trim().trim_end_matches('/').to_string())
                    .collect();
                if urls.iter().any(String::is_empty) {
                    return Err(bad(
                        "etcd needs one or more comma-separated URLs, as in \"etcd:http://127.0.0.1:2379\"",
                    ));
                }
                if let Some(u) = urls
                    .iter()
                    .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
                {
                    return Err(bad(&format!(
                        "etcd URL {u:?} must start with http:// or https://"
                    )));
                }
                Ok(Spec::Etcd(urls))
            }
            _ => Err(bad(
                "expected \"memory\", \"file:DIR\" or \"etcd:URL[,URL...]\"",
            )),
        }
    }
}

/// Opens the store a spec names, e.g. `open("file:/tmp/state")`.
///
/// Blocking for `file:` (it locks the directory and replays the log); call it at startup
/// or from `spawn_blocking`. The etcd backend does not connect until first used; use
/// [`Store::health`] to check it is reachable.
pub fn open(spec: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match Spec::parse(spec)? {
        Spec::Memory => Arc::new(MemoryStore::new()),
        Spec::File(dir) => Arc::new(FileStore::open(FileConfig::new(dir))?),
        Spec::Etcd(urls) => Arc::new(EtcdStore::new(EtcdConfig::new(urls))?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_file_and_etcd_specs_parse() {
        assert_eq!(Spec::parse("memory").unwrap(), Spec::Memory);
        assert_eq!(
            Spec::parse("file:/tmp/x").unwrap(),
            Spec::File("/tmp/x".into())
        );
        assert_eq!(
            Spec::parse("etcd:http://a:2379,https://b:2379/").unwrap(),
            Spec::Etcd(vec!["http://a:2379".into(), "https://b:2379".into()])
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, needle) in [
            ("", "expected"),
            ("redis:x", "expected"),
            ("memory:x", "no argument"),
            ("file:", "needs a directory"),
            ("file", "needs a directory"),
            ("etcd:", "one or more"),
            ("etcd:http://a,,http://b", "one or more"),
            ("etcd:a:2379", "must start with http"),
        ] {
            let err = Spec::parse(spec).unwrap_err();
            assert!(
                matches!(err, StoreError::InvalidSpec { .. }),
                "{spec}: {err}"
            );
            assert!(err.to_string().contains(needle), "{spec}: {err}");
        }
    }
}
