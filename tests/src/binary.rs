//! Finding the programs the tests run: the built `switchd` and `sipp`.
//!
//! The `switchd` binary belongs to another package, so Cargo's
//! `CARGO_BIN_EXE_*` does not reach it; the test command
//! (`scripts/test.sh`) builds the whole workspace first, and the tests find
//! the binary next to their own executable (`target/<profile>/deps/..`).
//! `SWITCHD_BIN` overrides the path.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The path of the `switchd` binary; panics with the command that builds it
/// when it is missing.
pub fn switchd() -> PathBuf {
    workspace_binary("switchd", "SWITCHD_BIN")
}

/// The path of the `switchctl` binary (`SWITCHCTL_BIN` overrides it); panics
/// with the command that builds it when it is missing.
pub fn switchctl() -> PathBuf {
    workspace_binary("switchctl", "SWITCHCTL_BIN")
}

/// A binary of this workspace named `name`, or the file `env` points at.
fn workspace_binary(name: &str, env: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{env}={} is not a file", path.display());
        return path;
    }
    let candidates = candidates(name);
    for candidate in &candidates {
        if candidate.is_file() {
            warn_if_stale(candidate);
            return candidate.clone();
        }
    }
    panic!(
        "the {name} binary is not built (looked at {candidates:?}).\n\
         Build it first: `cargo build -p {name} --bin {name}` \
         (scripts/test.sh builds the whole workspace before testing), \
         or point {env} at it."
    );
}

/// Warns (once per process) when a source file of the daemon's crates is
/// newer than the binary: the tests would exercise old code.
fn warn_if_stale(binary: &Path) {
    static CHECKED: std::sync::Once = std::sync::Once::new();
    CHECKED.call_once(|| {
        let Some(built) = modified(binary) else {
            return;
        };
        let crates = crate::workspace_root().join("crates");
        if let Some(newer) = newest_source(&crates).filter(|(time, _)| *time > built) {
            eprintln!(
                "[harness] warning: {} is newer than {}; run `cargo build -p switchd` \
                 (scripts/test.sh does) to test the current code",
                newer.1.display(),
                binary.display()
            );
        }
    });
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The most recently modified `.rs` or `Cargo.toml` file under `dir`.
fn newest_source(dir: &Path) -> Option<(SystemTime, PathBuf)> {
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_source = path.extension().is_some_and(|e| e == "rs")
                || path.file_name().is_some_and(|n| n == "Cargo.toml");
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let time = if is_source { modified(&path) } else { None };
            match (time, &newest) {
                (Some(time), Some((newest_time, _))) if time <= *newest_time => {}
                (Some(time), _) => newest = Some((time, path)),
                (None, _) => {}
            }
        }
    }
    newest
}

/// Where the binary should be: the profile directory of the running test
/// executable, then the workspace's `target/debug`.
fn candidates(name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/<test-exe>
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            out.push(profile_dir.join(name));
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"));
    out.push(target.join("debug").join(name));
    out
}

/// The path of `sipp`; panics naming the Debian package when missing.
pub fn sipp() -> PathBuf {
    find_in_path("sipp").unwrap_or_else(|| {
        panic!(
            "sipp is not installed: `apt-get install sip-tester` (scripts/test.sh does it as root)"
        )
    })
}

/// `name` found in `$PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Whether `program --version`-like probing can run it at all.
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}
