//! The reference's container image, built locally: no registry is needed or reached.
//!
//! Entry points: [`Rootfs::for_reference`] (what goes in), [`ensure`] (build it unless an
//! image with the same content hash exists). The image is `FROM scratch` plus each program
//! a container runs (refkube, etcd, haproxy, iproute2, util-linux, iptables, ping, busybox)
//! and the shared libraries `ldd` lists for them, so it is made from this machine's own
//! Debian packages. Its tag is a hash of everything in it, so a changed binary gives a new
//! image and an unchanged one is reused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::{BuildImageOptions, BuilderVersion};

use super::docker::{DockerError, LABEL_MANAGED};

/// The image's repository; the tag is the content hash.
pub const REPOSITORY: &str = "kubeproof/refkube";

/// Where refkube sits in the image; every component container runs it.
pub const REFKUBE: &str = "/usr/local/bin/refkube";

/// Bump when the image's layout changes in a way the file list does not show.
const LAYOUT_VERSION: &str = "1";

/// The programs taken from this machine: (program, Debian package that has it).
const PROGRAMS: &[(&str, &str)] = &[
    ("etcd", "etcd-server"),
    ("haproxy", "haproxy"),
    ("ip", "iproute2"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
    ("hostname", "hostname"),
    ("ping", "iputils-ping"),
    ("xtables-nft-multi", "iptables"),
    ("busybox", "busybox-static"),
];

/// Programs the image has when this machine has them: (program, Debian package). Without
/// `kubectl` the `registry.k8s.io/kubectl` image cannot run in the cluster.
const OPTIONAL_PROGRAMS: &[(&str, &str)] = &[("kubectl", "kubernetes-client")];

/// The names `xtables-nft-multi` answers to (it dispatches on `argv[0]`).
const IPTABLES_NAMES: &[&str] = &[
    "iptables",
    "iptables-restore",
    "iptables-save",
    "ip6tables",
    "ip6tables-restore",
    "ip6tables-save",
];

/// Why the image cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A program the image needs is not installed here.
    #[error(
        "the containers target builds its image from this machine's programs, and `{program}` is missing (apt-get install {package})"
    )]
    Missing { program: String, package: String },
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// `ldd` failed on a program.
    #[error("ldd {path}: {message}")]
    Ldd { path: String, message: String },
    /// The Docker daemon refused the build.
    #[error(transparent)]
    Docker(#[from] DockerError),
}

/// One entry of the image's file system.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    /// A copy of a file of this machine (followed through symlinks).
    File(PathBuf),
    /// Literal content.
    Data(Vec<u8>),
    /// A symbolic link to the given target.
    Symlink(String),
    /// An empty directory with the given mode.
    Dir(u32),
}

/// The image's file system: absolute path in the image → entry.
#[derive(Clone, Debug, Default)]
pub struct Rootfs {
    entries: BTreeMap<String, Entry>,
}

impl Rootfs {
    /// Everything the reference's containers run, with `refkube` taken from `refkube`
    /// (a refkube binary, or any binary that dispatches to refkube's command line when
    /// started under that name).
    pub fn for_reference(refkube: &Path) -> Result<Self, ImageError> {
        let mut fs = Rootfs::default();
        fs.add_program(REFKUBE, refkube)?;
        for (program, package) in PROGRAMS {
            let found = which(program).ok_or_else(|| ImageError::Missing {
                program: program.to_string(),
                package: package.to_string(),
            })?;
            let dest = match *program {
                "busybox" => "/bin/busybox".to_string(),
                "etcd" | "ping" | "hostname" | "unshare" | "nsenter" => {
                    format!("/usr/bin/{program}")
                }
                _ => format!("/usr/sbin/{program}"),
            };
            fs.add_program(&dest, &found)?;
        }
        for (program, _) in OPTIONAL_PROGRAMS {
            if let Some(found) = which(program) {
                fs.add_program(&format!("/usr/bin/{program}"), &found)?;
            }
        }
        for name in IPTABLES_NAMES {
            fs.entries.insert(
                format!("/usr/sbin/{name}"),
                Entry::Symlink("xtables-nft-multi".into()),
            );
        }
        // iptables loads its matches and targets (comment, statistic, addrtype ...) with
        // dlopen, which ldd cannot see.
        fs.add_dir_of_libraries(Path::new("/usr/lib/x86_64-linux-gnu/xtables"))?;
        // busybox's applets give the `busybox` image its shell and tools; the programs
        // above win where both exist, because they come earlier on PATH.
        for applet in busybox_applets(&fs)? {
            let path = format!("/bin/{applet}");
            fs.entries
                .entry(path)
                .or_insert_with(|| Entry::Symlink("busybox".into()));
        }
        fs.add_data("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n");
        fs.add_data("/etc/group", b"root:x:0:\n");
        fs.add_data("/etc/nsswitch.conf", b"hosts: files dns\n");
        for (dir, mode) in [
            ("/tmp", 0o1777),
            ("/root", 0o700),
            ("/var/lib", 0o755),
            ("/var/log", 0o755),
            ("/run", 0o755),
        ] {
            fs.entries.insert(dir.into(), Entry::Dir(mode));
        }
        Ok(fs)
    }

    /// Why the image lacks an optional program, or `None` when it has it.
    pub fn lacks(&self, program: &str) -> Option<String> {
        let (_, package) = OPTIONAL_PROGRAMS.iter().find(|(p, _)| *p == program)?;
        (!self.entries.contains_key(&format!("/usr/bin/{program}"))).then(|| {
            format!("this machine has no `{program}` to put in the reference image (apt-get install {package})")
        })
    }

    fn add_data(&mut self, path: &str, bytes: &[u8]) {
        self.entries
            .insert(path.into(), Entry::Data(bytes.to_vec()));
    }

    /// Adds a program and every shared library it loads, at the paths `ldd` names.
    fn add_program(&mut self, dest: &str, source: &Path) -> Result<(), ImageError> {
        self.entries
            .insert(dest.into(), Entry::File(source.to_path_buf()));
        for lib in shared_libraries(source)? {
            let path = lib.to_string_lossy().into_owned();
            self.entries.insert(path, Entry::File(lib));
        }
        Ok(())
    }

    fn add_dir_of_libraries(&mut self, dir: &Path) -> Result<(), ImageError> {
        let read = std::fs::read_dir(dir).map_err(|source| ImageError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        for entry in read.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "so") {
                self.add_program(&path.to_string_lossy(), &path)?;
            }
        }
        Ok(())
    }

    /// The image tag: a hash of every path, kind and content.
    pub fn tag(&self) -> Result<String, ImageError> {
        let mut h = Sha256::new();
        h.update(LAYOUT_VERSION.as_bytes());
        for (path, entry) in &self.entries {
            h.update(path.as_bytes());
            h.update([0]);
            match entry {
                Entry::File(src) => {
                    h.update(b"f");
                    h.update(read(src)?);
                }
                Entry::Data(d) => {
                    h.update(b"d");
                    h.update(d);
                }
                Entry::Symlink(t) => {
                    h.update(b"l");
                    h.update(t.as_bytes());
                }
                Entry::Dir(mode) => {
                    h.update(b"D");
                    h.update(mode.to_le_bytes());
                }
            }
            h.update([0]);
        }
        let digest = h.finalize();
        Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
    }

    /// The Docker build context: a Dockerfile and the file system under `rootfs/`.
    fn context(&self) -> Result<Vec<u8>, ImageError> {
        let mut tar = tar::Builder::new(Vec::new());
        let io = |path: &str| {
            let path = path.to_string();
            move |source| ImageError::Read { path, source }
        };
        let dockerfile = format!(
            "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nLABEL {LABEL_MANAGED}=image\n"
        );
        append(&mut tar, "Dockerfile", dockerfile.as_bytes(), 0o644).map_err(io("Dockerfile"))?;
        for (path, entry) in &self.entries {
            let name = format!("rootfs{path}");
            match entry {
                Entry::File(src) => {
                    let bytes = read(src)?;
                    append(&mut tar, &name, &bytes, 0o755).map_err(io(path))?;
                }
                Entry::Data(d) => append(&mut tar, &name, d, 0o644).map_err(io(path))?,
                Entry::Symlink(target) => {
                    let mut header = tar::Header::new_gnu();
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    header.set_mode(0o777);
                    tar.append_link(&mut header, &name, target)
                        .map_err(io(path))?;
                }
                Entry::Dir(mode) => {
                    let mut header = tar::Header::new_gnu();
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    header.set_mode(*mode);
                    tar.append_data(&mut header, &name, std::io::empty())
                        .map_err(io(path))?;
                }
            }
        }
        tar.into_inner().map_err(io("the build context"))
    }
}

fn append(
    tar: &mut tar::Builder<Vec<u8>>,
    name: &str,
    bytes: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, bytes)
}

fn read(path: &Path) -> Result<Vec<u8>, ImageError> {
    std::fs::read(path).map_err(|source| ImageError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The program's path on this machine's PATH (and the sbin directories, which a
/// non-root PATH may lack), symlinks followed.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// The absolute paths of the shared libraries (and the loader) `ldd` lists for `program`;
/// none for a static binary.
fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>, ImageError> {
    let out = std::process::Command::new("ldd")
        .arg(program)
        .output()
        .map_err(|e| ImageError::Ldd {
            path: program.display().to_string(),
            message: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // ldd exits 1 for static binaries ("not a dynamic executable").
        let err = String::from_utf8_lossy(&out.stderr);
        if text.contains("not a dynamic executable") || err.contains("not a dynamic executable") {
            return Ok(Vec::new());
        }
        return Err(ImageError::Ldd {
            path: program.display().to_string(),
            message: err.trim().to_string(),
        });
    }
    Ok(parse_ldd(&text))
}

/// `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` and `/lib64/ld-linux-x86-64.so.2
/// (0x...)` give a path; `linux-vdso.so.1 (0x...)` (in the kernel) does not.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.trim(),
                None => line,
            };
            let path = path.split(" (").next()?.trim();
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// busybox's applet names, asked of the busybox going into the image.
fn busybox_applets(fs: &Rootfs) -> Result<Vec<String>, ImageError> {
    let Some(Entry::File(busybox)) = fs.entries.get("/bin/busybox") else {
        return Ok(Vec::new());
    };
    let out = std::process::Command::new(busybox)
        .arg("--list")
        .output()
        .map_err(|source| ImageError::Read {
            path: busybox.display().to_string(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .map(str::to_string)
        .collect())
}

/// The reference image for `rootfs`, built unless one with its content hash exists.
/// Returns `repository:tag`.
pub async fn ensure(docker: &Docker, rootfs: &Rootfs) -> Result<String, ImageError> {
    let name = format!("{REPOSITORY}:{}", rootfs.tag()?);
    if docker.inspect_image(&name).await.is_ok() {
        return Ok(name);
    }
    let context = rootfs.context()?;
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: Some(name.clone()),
        rm: true,
        forcerm: true,
        // The classic builder: FROM scratch needs nothing from a registry, and it needs
        // no BuildKit session.
        version: BuilderVersion::BuilderV1,
        ..Default::default()
    };
    super::docker::build(docker, options, context).await?;
    Ok(name)
}

/// The refkube program for the image: `KUBEPROOF_REFKUBE` if set, else this executable
/// (every kubeproof binary acts as refkube when started under that name).
pub fn refkube_program() -> Result<PathBuf, ImageError> {
    if let Some(p) = std::env::var_os("KUBEPROOF_REFKUBE") {
        return Ok(PathBuf::from(p));
    }
    std::env::current_exe().map_err(|source| ImageError::Read {
        path: "this executable".into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_lines_give_library_paths_but_not_the_vdso() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n\tlibfoo.so => not found\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn the_tag_changes_with_any_content_and_only_then() {
        let mut a = Rootfs::default();
        a.add_data("/etc/x", b"one");
        let mut b = a.clone();
        assert_eq!(a.tag().unwrap(), b.tag().unwrap());
        b.add_data("/etc/x", b"two");
        assert_ne!(a.tag().unwrap(), b.tag().unwrap());
        let mut c = a.clone();
        c.entries
            .insert("/etc/y".into(), Entry::Symlink("x".into()));
        assert_ne!(a.tag().unwrap(), c.tag().unwrap());
    }

    #[test]
    fn the_context_holds_a_dockerfile_and_the_rootfs() {
        let mut fs = Rootfs::default();
        fs.add_data("/etc/passwd", b"root");
        fs.entries.insert("/tmp".into(), Entry::Dir(0o1777));
        fs.entries.insert(
            "/usr/sbin/iptables".into(),
            Entry::Symlink("xtables".into()),
        );
        let bytes = fs.context().unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "Dockerfile",
                "rootfs/etc/passwd",
                "rootfs/tmp",
                "rootfs/usr/sbin/iptables"
            ]
        );
    }

    #[test]
    fn a_missing_program_names_its_package() {
        let e = ImageError::Missing {
            program: "haproxy".into(),
            package: "haproxy".into(),
        };
        assert!(e.to_string().contains("apt-get install haproxy"), "{e}");
    }
}
