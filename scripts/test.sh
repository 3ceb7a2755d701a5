#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, the integration tests that
# drive the real switchd with sipp (tests/), and the doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh
# The daemon embeds the committed eBPF object: it must be what its source
# builds to.
crates/switchd/ebpf/build.sh --check

# The integration tests run the switchd binary built here (they do not build
# it themselves), so build everything first.
cargo build --workspace --all-targets

# Integration tests wait on sockets and timers more than on the CPU.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
# Unit, integration and doc tests. cargo prints one summary per test binary,
# the last often a crate without doc tests ("0 passed"); the closing line
# adds them all up.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace 2>&1 | tee "$log" || status=$?
awk '/^test result:/ {
        for (i = 1; i < NF; i++) {
            if ($(i + 1) ~ /^passed/) passed += $i
            if ($(i + 1) ~ /^failed/) failed += $i
        }
    }
    END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
