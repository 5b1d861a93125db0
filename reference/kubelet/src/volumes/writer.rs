//! Writing a volume's files: each one replaced atomically (written beside, then
//! renamed), so a container reading the token never sees half of one. Entry points:
//! [`write_file`], [`remove_stale`].

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Writes `content` to `path` with `mode`, creating its directory.
pub fn write_file(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode & 0o777))?;
    }
    std::fs::rename(&tmp, path)
}

/// Removes the files directly in `dir` that are not in `keep` (a ConfigMap key that
/// went away), leaving directories alone.
pub fn remove_stale(dir: &Path, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_file() && !keep.contains(&p) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_replaced_whole_with_their_mode_and_strays_removed() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("v/token");
        write_file(&token, b"one", 0o644).unwrap();
        write_file(&token, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&token).unwrap(), "two");
        let mode = std::fs::metadata(&token).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        write_file(&dir.path().join("v/old"), b"x", 0o600).unwrap();
        remove_stale(&dir.path().join("v"), std::slice::from_ref(&token));
        let left: Vec<_> = std::fs::read_dir(dir.path().join("v"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["token"]);
    }
}
