//! Re-running a test inside a private network namespace.
//!
//! Some test messages name foreign hosts in Via, Contact or SDP. The daemon
//! may answer towards them; inside a namespace of our own that holds only a
//! loopback interface, nothing can leave the machine. The test re-executes
//! its own binary under `unshare -n`, with `lo` brought up, running only
//! itself; the outer run passes when the inner one does.

use std::process::Command;

/// Set in the re-executed test's environment.
const INSIDE: &str = "SWITCHD_TESTS_IN_NETNS";

/// Whether this process runs inside the private namespace.
pub fn inside() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// Call first in a test that needs isolation, with the test's full name as
/// libtest prints it (`module::test_name`, or `test_name` at the top of the
/// test file). Returns `true` inside the namespace: run the test body. In the
/// outer process it re-runs the test there, panics when that failed, and
/// returns `false`: return at once.
pub fn isolate(test_name: &str) -> bool {
    if inside() {
        let interfaces = interfaces();
        assert_eq!(
            interfaces,
            vec!["lo".to_string()],
            "the isolated run sees interfaces other than loopback: refusing to send"
        );
        return true;
    }
    let exe = std::env::current_exe().expect("path of the test executable");
    // `sh -c` brings lo up inside the namespace, then becomes the test binary.
    let output = Command::new("unshare")
        .args([
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(&exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run unshare (util-linux): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("unshare failed") || stderr.contains("Operation not permitted") {
        panic!(
            "this test needs a private network namespace (`unshare -n`), which is not \
             permitted here: run the tests as root (CI does) or with CAP_SYS_ADMIN.\n{stderr}"
        );
    }
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the isolated run of {test_name} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    false
}

/// The network interfaces of this process's namespace (`/proc/self/net/dev`
/// is per namespace, unlike `/sys/class/net`).
pub fn interfaces() -> Vec<String> {
    let dev = std::fs::read_to_string("/proc/self/net/dev").unwrap_or_default();
    // Two header lines, then "  name: counters…".
    dev.lines()
        .skip(2)
        .filter_map(|line| {
            line.split_once(':')
                .map(|(name, _)| name.trim().to_string())
        })
        .collect()
}
