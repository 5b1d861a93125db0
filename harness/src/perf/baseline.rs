//! Named baselines: performance files kept in a directory, `<dir>/<name>.json`.
//!
//! Entry points: [`save`], [`load`]. The directory is `--baseline-dir`, by default
//! [`DEFAULT_DIR`] under the current directory.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::file::PerfFile;

/// Where baselines go unless `--baseline-dir` says otherwise.
pub const DEFAULT_DIR: &str = ".kubeproof/baselines";

/// The file of baseline `name` in `dir`; names are file-name safe words.
pub fn path(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        bail!("invalid baseline name {name:?}: use letters, digits, '.', '_' and '-'");
    }
    Ok(dir.join(format!("{name}.json")))
}

/// Saves `file` as baseline `name` in `dir` (replacing an older one); returns its path.
pub fn save(dir: &Path, name: &str, file: &PerfFile) -> anyhow::Result<PathBuf> {
    let p = path(dir, name)?;
    file.write(&p)?;
    Ok(p)
}

/// The names of the baselines saved in `dir`, sorted.
pub fn saved(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Loads baseline `name` from `dir`; a missing one is an error naming those that exist.
pub fn load(dir: &Path, name: &str) -> anyhow::Result<PerfFile> {
    let p = path(dir, name)?;
    if !p.exists() {
        let known = saved(dir);
        bail!(
            "no baseline {name:?} in {} (saved there: {}); save one with --save-baseline {name}",
            dir.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    PerfFile::read(&p).with_context(|| format!("baseline {name:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_baseline_loads_back_and_a_missing_one_names_the_saved_ones() {
        let dir = tempfile::tempdir().unwrap();
        let file = PerfFile {
            schema: super::super::file::SCHEMA.into(),
            target: "embedded".into(),
            date: "2025-01-01T00:00:00Z".into(),
            commit: Some("abc".into()),
            scale: 1.0,
            measurements: vec![],
            not_taken: vec![],
        };
        let p = save(dir.path(), "main", &file).unwrap();
        assert!(p.ends_with("main.json"));
        assert_eq!(load(dir.path(), "main").unwrap(), file);
        let err = load(dir.path(), "other").unwrap_err().to_string();
        assert!(err.contains("saved there: main"), "{err}");
    }

    #[test]
    fn names_cannot_escape_the_directory() {
        assert!(path(Path::new("d"), "../x").is_err());
        assert!(path(Path::new("d"), "").is_err());
        assert!(path(Path::new("d"), "v1.2_rc-1").is_ok());
    }
}
