# Shared by the load scripts; sourced, not run. Each script sets LOAD_NAME
# (its name in messages) first. Gives: require_tools, pin_daemon and
# pin_sipp (taskset prefixes), build_switchd (sets SWITCHD_BIN), wait_udp
# and sipp_counts.

# Exits, naming it, at the first of the given tools that is not installed.
require_tools() {
    local tool hint
    for tool in "$@"; do
        command -v "$tool" >/dev/null && continue
        hint=""
        [ "$tool" = sipp ] && hint=" (apt-get install sip-tester)"
        echo "$LOAD_NAME: $tool missing$hint" >&2
        exit 1
    done
}

# The daemon (or relay) on core 0 and sipp on core 1, when there are two
# cores to pin to; no pinning otherwise.
pin_daemon=()
pin_sipp=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_daemon=(taskset -c 0)
    pin_sipp=(taskset -c 1)
fi

# Builds switchd for release unless SWITCHD_BIN names another binary (an
# older commit's, or one built with frame pointers for perf -g).
build_switchd() {
    if [ -z "${SWITCHD_BIN:-}" ]; then
        cargo build --release -p switchd --bin switchd
        SWITCHD_BIN=target/release/switchd
    fi
}

# Waits until something listens on UDP port $1, for at most 10 s.
wait_udp() {
    for _ in $(seq 100); do
        ss -H -lun "sport = :$1" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    echo "$LOAD_NAME: nothing listens on UDP port $1" >&2
    return 1
}

# "successful failed": the call totals in sipp's -trace_stat file $1.
sipp_counts() {
    awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { ok = $col["SuccessfulCall(C)"]; bad = $col["FailedCall(C)"] }
        END { print ok + 0, bad + 0 }' "$1" 2>/dev/null || echo "0 0"
}
