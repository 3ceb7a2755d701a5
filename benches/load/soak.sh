#!/usr/bin/env bash
# Does switchd's memory come back to the same level after each round of
# calls? Prints its resident memory after every round and the growth per
# call over the last third of the rounds.
#
# A release build of switchd on loopback takes ROUNDS rounds of calls from
# five sipp uacs at once (benches/load/soak_uac.xml and variants; four with
# INFO=0), each holding its call for HOLD_MS and hanging up:
# - calls to "echo" get the echo route (their tone relayed back);
# - calls to "hold" are answered and hear the configured hold prompt
#   (decoded WAV, encoded each 20 ms);
# - calls to "bridge" are parked; soak_bridge.py answers each, originates a
#   partner to a sipp uas that answers with Opus and echoes (-rtp_echo),
#   bridges the two (u-law <-> Opus: decode, jitter buffer, encode),
#   records the pair (mixed and split in turn, files deleted when done) and
#   hangs the partner up when the caller hangs up;
# - calls to "collect" (benches/load/soak_collect_uac.xml) are parked;
#   the controller answers and collects one digit behind a prompt, and the
#   caller sends 1 as RFC 4733 events (sipp's dtmf_2833_1.pcap);
# - calls to "info" (benches/load/soak_info_uac.xml; left out with INFO=0)
#   are collected the same way, but their caller offers no telephone-event
#   and sends 1 as a SIP INFO (application/dtmf-relay). The controller
#   checks each digit's method as well as its value.
# After each round the script waits until switchd holds no leg, dialog,
# transaction or kernel relay direction (ended legs are kept 1 s,
# transactions linger 64 x T1 with T1 = 100 ms), then reads VmRSS from
# /proc. The control event ring is 1000 events, full within the first
# round. With the kernel relay loaded (root, KERNEL_RELAY=auto) the echo
# calls' audio goes through it: one install and one removal per call.
#
# The first rounds bring the allocator, the tables, the event ring and the
# blocking pool (recordings are finished there) to their working size, in
# steps: here memory stops moving by round 4 (some 6000 calls) at about
# 22 MiB; later steps are small (+64 KiB at round 9 in one 14-round run,
# then flat). A leak is a steady climb instead: the growth over the last
# third of the rounds, divided by the calls in them. Exits 1 when that is
# over GROWTH_LIMIT bytes per call (default 64: switchd keeps nothing per
# ended call, and allocator noise over a few thousand calls stays well
# under it).
#
# A table that holds its entries inline shows here as a late step: under
# steady churn, hashbrown rehashes once tombstones use up its slack, and
# with more than half its capacity live it doubles, after the same number
# of calls every run. The SIP transaction tables did that at round 9 (+5 MiB,
# then +1 MiB for their indexes) until they held their entries boxed.
#
# Environment: ROUNDS (default 12), RATE (calls/s per uac, default 30),
# ROUND_SECONDS (default 10), HOLD_MS (default 1000), BASE_PORT
# (default 27060: it and the next six ports), METRICS_PORT (default
# 27070); sipp's media on 27100, 27150, 27200, 27250, 27280 and 27290;
# switchd's RTP in 27300..29998.
# KERNEL_RELAY sets [rtp] kernel_relay (default auto, as shipped).
# SWITCHD_BIN runs another switchd binary instead of building one;
# KEEP_WORK=1 keeps the work directory (logs, config) for a look after.
# Loopback only; bounded in time (each round and each wait has a limit).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$PWD/benches/load

ROUNDS=${ROUNDS:-12}
INFO=${INFO:-1}
KERNEL_RELAY=${KERNEL_RELAY:-auto}
RATE=${RATE:-30}
ROUND_SECONDS=${ROUND_SECONDS:-10}
HOLD_MS=${HOLD_MS:-1000}
BASE_PORT=${BASE_PORT:-27060}
METRICS_PORT=${METRICS_PORT:-27070}
GROWTH_LIMIT=${GROWTH_LIMIT:-64}
SWITCH_PORT=$BASE_PORT

LOAD_NAME=soak
# shellcheck source=benches/load/common.sh
. "$here/common.sh"
require_tools sipp sox curl ss python3
[ "$ROUNDS" -ge 3 ] || { echo "soak: ROUNDS must be 3 or more" >&2; exit 1; }
# Growth is measured from the end of this round to the end of the last.
from=$((ROUNDS * 2 / 3))

build_switchd
work=$(mktemp -d /tmp/switchd-soak.XXXXXX)
pids=()
cleanup() {
    # The script's own status, not that of a child stopped here.
    local status=$?
    set +e
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# sipp streams tone.wav from its working directory.
sox -n -r 8000 -c 1 -e u-law "$work/tone.wav" synth 1 sine 440 vol 0.5
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/hold.wav" synth 2 sine 600 vol 0.5
cp "$here/soak_uac.xml" "$here/soak_uas.xml" "$here/soak_collect_uac.xml" \
    "$here/soak_info_uac.xml" "$work/"
mkdir "$work/recordings"

cat >"$work/switchd.toml" <<TOML
[sip]
listen = ["udp:127.0.0.1:$SWITCH_PORT"]
advertise = "127.0.0.1"
t1_ms = 100
[rtp]
port_min = 27300
port_max = 29998
kernel_relay = "$KERNEL_RELAY"
[calls]
max_legs = 5000
ended_leg_retention = 1
[media]
hold_prompt = "$work/hold.wav"
[control]
socket = "$work/control.sock"
# Small, so that the ring of past events is full within the first round
# and its growth up to the default 10000 does not read as a leak.
event_ring = 1000
[metrics]
listen = "127.0.0.1:$METRICS_PORT"
[[route]]
user = "echo"
action = "echo"
[[route]]
user = "bridge"
action = "park"
[[route]]
user = "collect"
action = "park"
[[route]]
user = "info"
action = "park"
[[route]]
user = "*"
action = "answer"
TOML

# The sum of metric $1's samples (all label sets).
metric() {
    curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { print sum + 0 }'
}

# Waits (at most 60 s) until switchd holds no call state at all.
wait_idle() {
    for _ in $(seq 120); do
        local held
        held=$(($(metric switchd_legs) + $(metric switchd_dialogs) + $(metric switchd_sip_transactions)
            + $(metric switchd_media_kernel_relay_directions)))
        [ "$held" -eq 0 ] && return 0
        sleep 0.5
    done
    echo "soak: switchd still holds calls 60 s after the round" >&2
    return 1
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }

# One uac: RATE calls/s to user $1 for the round, from SIP port $2 and
# media port $3, with scenario $4 (default soak_uac.xml); prints
# "successful failed".
uac() {
    local user=$1 port=$2 media=$3 scenario=${4:-soak_uac.xml} stat="$work/$1.csv"
    rm -f "$stat"
    (cd "$work" && "${pin_sipp[@]}" sipp -sf "$scenario" -s "$user" "127.0.0.1:$SWITCH_PORT" \
        -i 127.0.0.1 -p "$port" -mp "$media" -nostdin -d "$HOLD_MS" \
        -r "$RATE" -m $((RATE * ROUND_SECONDS)) -timeout $((ROUND_SECONDS + 30))s \
        -trace_stat -stf "$stat" -fd 1 >/dev/null 2>&1) || true
    sipp_counts "$stat"
}

echo "soak: switchd on 127.0.0.1:$SWITCH_PORT, $ROUNDS rounds of $ROUND_SECONDS s," \
    "$((4 + (INFO == 1))) x $RATE calls/s, $HOLD_MS ms each" >&2
RUST_LOG=warn "${pin_daemon[@]}" "$SWITCHD_BIN" --config "$work/switchd.toml" \
    >"$work/switchd.log" 2>&1 &
daemon_pid=$!
pids+=("$daemon_pid")
wait_udp "$SWITCH_PORT"

# The bridged calls' far end, and their controller.
(cd "$work" && exec "${pin_sipp[@]}" sipp -sf soak_uas.xml -i 127.0.0.1 -p $((BASE_PORT + 3)) \
    -mp 27250 -rtp_echo -nostdin >/dev/null 2>&1) &
pids+=($!)
wait_udp $((BASE_PORT + 3))
python3 "$here/soak_bridge.py" --socket "$work/control.sock" --uas "127.0.0.1:$((BASE_PORT + 3))" \
    --recordings "$work/recordings" --prompt "$work/hold.wav" \
    --status-file "$work/bridge.json" 2>"$work/bridge.log" &
pids+=($!)
for _ in $(seq 50); do [ -e "$work/bridge.json" ] && break; sleep 0.1; done
[ -e "$work/bridge.json" ] || { echo "soak: the controller did not start" >&2; cat "$work/bridge.log" >&2; exit 1; }

# A total of the controller's, as it stands.
bridge_total() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/bridge.json" "$1"; }
bridge_failures() { python3 -c 'import json, sys; print(sum(json.load(open(sys.argv[1]))["failed"].values()))' "$work/bridge.json"; }
bridge_methods() { python3 -c 'import json, sys; print(", ".join(f"{n} {m}" for m, n in sorted(json.load(open(sys.argv[1]))["digits_by_method"].items())) or "none")' "$work/bridge.json"; }

echo "soak: at start: $(rss_kib "$daemon_pid") KiB resident"

declare -a rss
total_failed=0
calls_measured=0
for round in $(seq "$ROUNDS"); do
    uac echo $((BASE_PORT + 1)) 27100 >"$work/echo.result" &
    echo_pid=$!
    uac hold $((BASE_PORT + 2)) 27150 >"$work/hold.result" &
    hold_pid=$!
    uac bridge $((BASE_PORT + 4)) 27200 >"$work/bridge.result" &
    bridge_pid=$!
    uac collect $((BASE_PORT + 5)) 27280 soak_collect_uac.xml >"$work/collect.result" &
    collect_pid=$!
    info_pids=()
    if [ "$INFO" = 1 ]; then
        uac info $((BASE_PORT + 6)) 27290 soak_info_uac.xml >"$work/info.result" &
        info_pids=($!)
    else
        echo "0 0" >"$work/info.result"
    fi
    wait "$echo_pid" "$hold_pid" "$bridge_pid" "$collect_pid" "${info_pids[@]}" || true
    read -r echo_ok echo_bad <"$work/echo.result"
    read -r hold_ok hold_bad <"$work/hold.result"
    read -r bridge_ok bridge_bad <"$work/bridge.result"
    read -r collect_ok collect_bad <"$work/collect.result"
    read -r info_ok info_bad <"$work/info.result"
    wait_idle || { tail -20 "$work/switchd.log" "$work/bridge.log" >&2; exit 1; }
    sleep 1.5 # the controller's status file is rewritten each second
    kill -0 "$daemon_pid" 2>/dev/null || { echo "soak: switchd died" >&2; exit 1; }
    rss[round]=$(rss_kib "$daemon_pid")
    calls=$((echo_ok + hold_ok + bridge_ok + collect_ok + info_ok))
    failed=$((echo_bad + hold_bad + bridge_bad + collect_bad + info_bad))
    total_failed=$((total_failed + failed))
    [ "$round" -gt "$from" ] && calls_measured=$((calls_measured + calls))
    echo "soak: round $round: $echo_ok echo + $hold_ok hold + $bridge_ok bridged" \
        "+ $collect_ok collect + $info_ok info calls," \
        "$failed failed; idle at ${rss[round]} KiB resident, $(threads "$daemon_pid") threads"
done

growth_kib=$((rss[ROUNDS] - rss[from]))
echo "soak: failed calls: $total_failed"
echo "soak: controller: $(bridge_total bridged) pairs bridged of $(bridge_total pairs)," \
    "$(bridge_total recorded) recordings finished ($(bridge_total record_errors) with an error)," \
    "$(bridge_total collected) digits collected of $(bridge_total collects)" \
    "($(bridge_total wrong_digits) wrong), $(bridge_failures) commands refused"
echo "soak: digits by method: $(bridge_methods)," \
    "$(bridge_total wrong_methods) by the wrong method"
if [ "$total_failed" -gt 0 ] || [ "$(bridge_total bridged)" -ne "$(bridge_total pairs)" ] ||
    [ "$(bridge_total collected)" -ne "$(bridge_total collects)" ] ||
    [ "$(bridge_total wrong_digits)" -ne 0 ] || [ "$(bridge_total wrong_methods)" -ne 0 ]; then
    echo "soak: calls failed: memory is only meaningful for a clean run" >&2
    exit 1
fi
if [ "$calls_measured" -eq 0 ]; then
    echo "soak: no call completed after round $from" >&2
    exit 1
fi
per_call=$((growth_kib * 1024 / calls_measured))
echo "soak: growth from round $from to round $ROUNDS: $growth_kib KiB over $calls_measured calls" \
    "= $per_call bytes per call (limit $GROWTH_LIMIT)"
if [ "$per_call" -gt "$GROWTH_LIMIT" ]; then
    echo "soak: memory grows with calls" >&2
    exit 1
fi
