#!/usr/bin/env bash
# Highest call rate switchd sustains, next to what sipp reaches against
# itself on the same machine.
#
# Starts a release build of switchd on loopback with one `answer` route and
# drives it with sipp's stock uac at increasing rates (STEP_SECONDS per
# step); a step passes when every call completed and at most 0.1 % failed.
# Then the same ladder for sipp's uac against sipp's uas. Prints both and
# their ratio. Loopback only; bounded to a few minutes.
#
# Environment: RATES (default "100 200 400 800 1600 3200 6400 12800"),
# STEP_SECONDS (default 4), BASE_PORT (default 25060: uses it and the next
# four ports), METRICS_PORT (default 29560); sipp's media ports 26000, 26100.
set -euo pipefail
cd "$(dirname "$0")/../.."

RATES=${RATES:-"100 200 400 800 1600 3200 6400 12800"}
STEP_SECONDS=${STEP_SECONDS:-4}
BASE_PORT=${BASE_PORT:-25060}
SWITCH_PORT=$BASE_PORT
UAS_PORT=$((BASE_PORT + 1))
UAC_PORT=$((BASE_PORT + 2))
METRICS_PORT=${METRICS_PORT:-29560}

LOAD_NAME=call-rate
# shellcheck source=benches/load/common.sh
. benches/load/common.sh
require_tools sipp ss
build_switchd
work=$(mktemp -d /tmp/switchd-load.XXXXXX)
daemon_pid=""
uas_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    [ -n "$uas_pid" ] && kill "$uas_pid" 2>/dev/null && wait "$uas_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/switchd.toml" <<TOML
[sip]
listen = ["udp:127.0.0.1:$SWITCH_PORT"]
advertise = "127.0.0.1"
# Server transactions linger for Timer J/I (up to 64*T1) after the call:
# at thousands of calls per second the default table would be the limit.
max_transactions = 500000
[rtp]
port_min = 40000
port_max = 49998
[calls]
max_legs = 50000
[control]
socket = "$work/control.sock"
[metrics]
listen = "127.0.0.1:$METRICS_PORT"
[[route]]
user = "*"
host = "*"
action = "answer"
TOML

# Runs one step of sipp's uac at rate $2 against 127.0.0.1:$1; prints
# "successful failed".
step() {
    local target=$1 rate=$2 calls=$(($2 * STEP_SECONDS)) stat="$work/step.csv"
    rm -f "$stat"
    "${pin_sipp[@]}" sipp -sn uac "127.0.0.1:$target" -i 127.0.0.1 -p "$UAC_PORT" -nostdin \
        -cp $((BASE_PORT + 3)) -mp 26100 \
        -r "$rate" -m "$calls" -l $((rate * 4)) -timeout $((STEP_SECONDS + 15))s \
        -trace_stat -stf "$stat" -fd 1 >/dev/null 2>&1 || true
    sipp_counts "$stat"
}

# Climbs the rate ladder against port $1; prints the highest passing rate.
ladder() {
    local target=$1 label=$2 best=0
    for rate in $RATES; do
        read -r ok bad < <(step "$target" "$rate")
        local calls=$((rate * STEP_SECONDS))
        if [ $((ok + bad)) -eq "$calls" ] && [ $((bad * 1000)) -le "$calls" ]; then
            echo "  $label: $rate calls/s: $ok successful, $bad failed: pass" >&2
            best=$rate
        else
            echo "  $label: $rate calls/s: $ok successful, $bad failed of $calls: fail" >&2
            break
        fi
    done
    echo "$best"
}

echo "call-rate: switchd (release) on 127.0.0.1:$SWITCH_PORT, $STEP_SECONDS s per step" >&2
RUST_LOG=warn "${pin_daemon[@]}" "$SWITCHD_BIN" --config "$work/switchd.toml" \
    >"$work/switchd.log" 2>&1 &
daemon_pid=$!
wait_udp "$SWITCH_PORT"
switchd_rate=$(ladder "$SWITCH_PORT" switchd)
kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null || true
daemon_pid=""

echo "call-rate: sipp uas on 127.0.0.1:$UAS_PORT (the baseline)" >&2
"${pin_daemon[@]}" sipp -sn uas -i 127.0.0.1 -p "$UAS_PORT" -nostdin \
    -cp $((BASE_PORT + 4)) -mp 26000 >/dev/null 2>&1 &
uas_pid=$!
wait_udp "$UAS_PORT"
sipp_rate=$(ladder "$UAS_PORT" "sipp uas")
kill "$uas_pid" 2>/dev/null; wait "$uas_pid" 2>/dev/null || true
uas_pid=""

echo "switchd: $switchd_rate calls/s"
echo "sipp uas: $sipp_rate calls/s"
if [ "$sipp_rate" -gt 0 ]; then
    awk -v a="$switchd_rate" -v b="$sipp_rate" 'BEGIN { printf "ratio switchd/sipp: %.2f\n", a / b }'
fi
