//! Figures of benches that criterion does not measure (the end-to-end scheduler runs):
//! written as JSON under `target/bench-figures/`, read back by `bench-compare`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One bench's latest figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The value (median of the runs).
    pub value: f64,
    /// Its unit, e.g. `pods/s`.
    pub unit: String,
    /// True when a bigger value is better (throughputs).
    pub higher_is_better: bool,
    /// Written by the quick (smoke) mode: sizes shrunk, not comparable.
    pub quick: bool,
    /// Seconds since the epoch when written.
    pub written_at: u64,
}

/// The target directory cargo builds into (`CARGO_TARGET_DIR`, else the workspace's).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The file holding the figures of bench binary `bench`.
pub fn path(bench: &str) -> PathBuf {
    target_dir()
        .join("bench-figures")
        .join(format!("{bench}.json"))
}

/// Reads a bench binary's figures (empty when it never wrote any).
pub fn read(bench: &str) -> std::io::Result<BTreeMap<String, Figure>> {
    match std::fs::read(path(bench)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

/// Records `figure` under `id`, keeping the bench's other figures.
pub fn write(bench: &str, id: &str, figure: Figure) -> std::io::Result<()> {
    let mut all = read(bench)?;
    all.insert(id.to_string(), figure);
    let file = path(bench);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(&all).map_err(std::io::Error::other)?;
    std::fs::write(file, text)
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
