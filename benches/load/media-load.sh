#!/usr/bin/env bash
# Daemon CPU per bridged G.711 call-second, and RTP loss, with CALLS call
# pairs up at once; next to rtpengine (userspace) on the same load.
#
# switchd (release build, loopback, one `park` route): sipp's uac places
# CALLS calls that each stream a looped u-law tone (50 packets/s) once
# answered; media_load.py answers each parked call, originates its partner
# to a sipp uas running -rtp_echo (which sends every packet back), and
# bridges the two legs over the control socket. Audio thus crosses the
# relay both ways: caller -> switchd -> uas -> switchd -> caller. After a
# warm-up, switchd's utime+stime (/proc/PID/stat) over WINDOW seconds is
# divided by CALLS x WINDOW; loss comes from switchd's own leg counters.
#
# rtpengine (Debian rtpengine-daemon, --table=-1: no kernel module): the
# same pairs are offered and answered over its ng protocol, sipp's uac calls
# sipp's uas directly, and the uas's SDP sends each caller's stream to the
# port rtpengine allocated, so the same media crosses rtpengine instead.
# Skipped, with a note, when rtpengine is not installed or does not start.
#
# bare relay (benches/src/bin/bare_relay/): the floor of any userspace
# relay here. It only receives and forwards (symmetric learning of the
# caller, no parsing), once with one mio poll loop and once with one tokio
# task per socket (switchd's I/O model). The load is rtpengine's: sipp's uac
# calls sipp's uas directly, and the uas's SDP points each caller at the
# relay's caller-facing port of its pair; CPU and packet counts are taken
# the same way, the counts from the relay's stats file.
#
# Loopback only; the relay on core 0 and sipp on core 1 when there are two
# cores; bounded to a few minutes; everything is killed on exit.
#
# Environment: CALLS (default 50), WINDOW seconds (default 20), WARMUP
# (default 3), CALL_RATE (calls/s while setting up, default 20), BASE_PORT
# (default 7060: SIP on it and the next two), METRICS_PORT (default 7070),
# NG_PORT (rtpengine's control port, default 7080), sipp's RTP on 7100 (uac)
# and 7110 (uas), the relays' RTP in RTP_MIN..RTP_MAX (default 7200..9998).
# Every default lies below the kernel's ephemeral range (32768 up), where
# any outgoing socket could already hold a port the relay wants.
# TELEPHONE_EVENT=1 adds RFC 4733 telephone-events to both ends' SDP.
# RTPENGINE=0 skips rtpengine; RTPENGINE_BIN overrides its path.
# SWITCHD_BIN runs another switchd binary instead of building one (say, a
# build with -C force-frame-pointers=yes, to profile it with perf -g).
# BARE_MODES picks the bare relay's loops (default "mio tokio").
# SWITCHD_MODES picks switchd's runs (default "userspace kernel"):
# "userspace" with [rtp] kernel_relay = "off", "kernel" with "on" (needs
# root; skipped with a note otherwise). Each prints the daemon's CPU and
# the whole machine's, since a packet forwarded in the kernel costs the CPU
# of whoever's send delivers it (on loopback: sipp), not the daemon's.
# BARE=0 skips the bare relay (default on; its ports are RTP_MIN up, four a
# pair: caller-facing RTP_MIN + 4i, callee-facing RTP_MIN + 4i + 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$PWD/benches/load

CALLS=${CALLS:-50}
WINDOW=${WINDOW:-20}
WARMUP=${WARMUP:-3}
CALL_RATE=${CALL_RATE:-20}
BASE_PORT=${BASE_PORT:-7060}
SWITCH_PORT=$BASE_PORT
UAS_PORT=$((BASE_PORT + 1))
UAC_PORT=$((BASE_PORT + 2))
METRICS_PORT=${METRICS_PORT:-7070}
NG_PORT=${NG_PORT:-7080}
UAC_MEDIA=7100
UAS_MEDIA=7110
RTP_MIN=${RTP_MIN:-7200}
RTP_MAX=${RTP_MAX:-9998}
RTPENGINE=${RTPENGINE:-1}
BARE=${BARE:-1}
BARE_MODES=${BARE_MODES:-mio tokio}
SWITCHD_MODES=${SWITCHD_MODES:-userspace kernel}
# Whole run: setup + warm-up + window + teardown, per relay.
SIPP_TIMEOUT=$((CALLS / CALL_RATE + WARMUP + ${WINDOW%.*} + 60))

LOAD_NAME=media-load
# shellcheck source=benches/load/common.sh
. "$here/common.sh"
require_tools sipp sox python3 ss

# Each pair takes two legs of an RTP and an RTCP port each.
if [ $((CALLS * 4)) -gt $((RTP_MAX - RTP_MIN + 1)) ]; then
    echo "media-load: $CALLS pairs need $((CALLS * 4)) RTP ports; RTP_MIN..RTP_MAX has fewer" >&2
    exit 1
fi

build_switchd
[ "$BARE" = 0 ] || cargo build --release -p switchd-benches --bin bare-relay
# The watchdog's bound: 140 s per switchd run and for rtpengine, and per bare relay
# run its setup, warm-up, window and teardown with room to spare.
# shellcheck disable=SC2086 # SWITCHD_MODES is a list
set -- $SWITCHD_MODES
WATCHDOG=$((140 * ($# + 1)))
# shellcheck disable=SC2086 # BARE_MODES is a list
set -- $BARE_MODES
[ "$BARE" = 0 ] || WATCHDOG=$((WATCHDOG + $# * (WARMUP + ${WINDOW%.*} + 30)))
work=$(mktemp -d /tmp/switchd-media-load.XXXXXX)
pids=()
# Stops the given children: SIGTERM, then SIGKILL after 5 s.
stop() {
    local pid alive
    kill "$@" 2>/dev/null || true
    for _ in $(seq 50); do
        alive=0
        for pid in "$@"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null || true
    for pid in "$@"; do
        wait "$pid" 2>/dev/null || true
    done
}
cleanup() {
    [ ${#pids[@]} -gt 0 ] && stop "${pids[@]}"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
# The whole script is bounded: a watchdog ends it after $WATCHDOG s.
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "$WATCHDOG" & nap=$!
    wait "$nap"
    echo "media-load: over $WATCHDOG s, giving up" >&2
    kill -TERM $$
) &
pids+=($!)

# One second of a 440 Hz tone, 8 kHz u-law, looped by sipp.
sox -n -r 8000 -c 1 -e u-law "$work/tone.wav" synth 1 sine 440 vol 0.5
# TELEPHONE_EVENT=1 offers and answers RFC 4733 events (payload type 101)
# next to PCMU; without them switchd listens for in-band DTMF on every leg.
for scenario in media_uac.xml media_uas.xml; do
    if [ "${TELEPHONE_EVENT:-0}" = 1 ]; then
        sed -e 's|^\( *m=audio .* RTP/AVP 0\)$|\1 101|' \
            -e 's|^\( *\)a=rtpmap:0 PCMU/8000$|&\n\1a=rtpmap:101 telephone-event/8000\n\1a=fmtp:101 0-15|' \
            "$here/$scenario" >"$work/$scenario"
    else
        cp "$here/$scenario" "$work/$scenario"
    fi
done

# Starts the echoing uas; its SDP advertises the ports in injection file $1.
start_uas() {
    (cd "$work" && exec "${pin_sipp[@]}" sipp -sf media_uas.xml -inf "$1" \
        -i 127.0.0.1 -mi 127.0.0.1 -p "$UAS_PORT" -mp "$UAS_MEDIA" -rtp_echo \
        -nostdin -m "$CALLS" -timeout "${SIPP_TIMEOUT}s" \
        -trace_err -error_file "$work/uas-errors.log" >/dev/null 2>&1) &
    pids+=($!)
    wait_udp "$UAS_PORT"
}

# Starts the streaming uac towards 127.0.0.1:$1.
start_uac() {
    (cd "$work" && exec "${pin_sipp[@]}" sipp -sf media_uac.xml -s load "127.0.0.1:$1" \
        -i 127.0.0.1 -mi 127.0.0.1 -p "$UAC_PORT" -mp "$UAC_MEDIA" \
        -nostdin -r "$CALL_RATE" -m "$CALLS" -l "$CALLS" -timeout "${SIPP_TIMEOUT}s" \
        -trace_err -error_file "$work/uac-errors.log" >/dev/null 2>&1) &
    pids+=($!)
}

# Prints the tail of a log when a phase fails.
show_logs() {
    local f
    for f in "$@"; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
    done
    return 0
}

# ---------------------------------------------------------------- switchd
declare -A switchd_per=()
# Runs switchd with [rtp] kernel_relay = $1 ("off": every packet through
# the daemon; "on": settled bridge directions forwarded by its eBPF
# program) and keeps its figure in switchd_per[$2].
run_switchd() {
    local relay=$1 label=$2
    cat >"$work/switchd.toml" <<TOML
[sip]
listen = ["udp:127.0.0.1:$SWITCH_PORT"]
advertise = "127.0.0.1"
[rtp]
port_min = $RTP_MIN
port_max = $RTP_MAX
bind = "127.0.0.1"
kernel_relay = "$relay"
[calls]
max_legs = 5000
park_timeout = 60
# On exit, do not wait for the (already stopped) peers to answer BYEs.
drain_grace = 1
[control]
socket = "$work/control.sock"
[metrics]
listen = "127.0.0.1:$METRICS_PORT"
[log]
level = "warn"
[[route]]
user = "*"
host = "*"
action = "park"
TOML

    echo "media-load: switchd (release, kernel_relay = $relay) on 127.0.0.1:$SWITCH_PORT," \
        "$CALLS bridged calls, ${WINDOW} s window" >&2
    rm -f "$work/ready" "$work/uac-errors.log" "$work/uas-errors.log"
    seq 1 "$CALLS" | awk -v p="$UAS_MEDIA" 'BEGIN { print "SEQUENTIAL" } { print p ";" }' \
        >"$work/uas-switchd.csv"
    "${pin_daemon[@]}" "$SWITCHD_BIN" --config "$work/switchd.toml" >"$work/switchd.log" 2>&1 &
    daemon_pid=$!
    pids+=($daemon_pid)
    if ! wait_udp "$SWITCH_PORT" || ! kill -0 "$daemon_pid" 2>/dev/null; then
        echo "$label: did not start"
        show_logs "$work/switchd.log"
        stop "${pids[@]:1}"
        pids=("${pids[0]}")
        return 0
    fi
    start_uas "$work/uas-switchd.csv"
    python3 "$here/media_load.py" switchd --label "$label" --calls "$CALLS" --pid "$daemon_pid" \
        --socket "$work/control.sock" --uas "127.0.0.1:$UAS_PORT" \
        --window "$WINDOW" --warmup "$WARMUP" --ready-file "$work/ready" \
        --result-file "$work/switchd.result" &
    driver_pid=$!
    pids+=($driver_pid)
    for _ in $(seq 100); do [ -e "$work/ready" ] && break; sleep 0.1; done
    start_uac "$SWITCH_PORT"
    if ! wait "$driver_pid"; then
        echo "media-load: the $label run failed" >&2
        show_logs "$work/switchd.log" "$work/uac-errors.log" "$work/uas-errors.log"
        exit 1
    fi
    switchd_per[$label]=$(cat "$work/switchd.result")
    grep -iE "warn|error|panic" "$work/switchd.log" | head -n 5 \
        | sed "s/^/media-load: $label log: /" >&2 || true
    # Lets sipp see its BYEs, then stops everything before the next relay.
    sleep 1
    stop "${pids[@]:1}"
    pids=("${pids[0]}")
}

for mode in $SWITCHD_MODES; do
    case $mode in
        userspace) run_switchd off "switchd" ;;
        kernel)
            if [ "$(id -u)" != 0 ]; then
                echo "switchd (kernel relay): skipped (loading the eBPF program needs root)"
            else
                run_switchd on "switchd (kernel relay)"
            fi
            ;;
        *) echo "media-load: unknown SWITCHD_MODES entry $mode" >&2; exit 2 ;;
    esac
done

# -------------------------------------------------------------- rtpengine
rtpengine_per=""
rtpengine_bin=${RTPENGINE_BIN:-$(command -v rtpengine || true)}
if [ "$RTPENGINE" = 0 ]; then
    echo "rtpengine: skipped (RTPENGINE=0)"
elif [ -z "$rtpengine_bin" ] || [ ! -x "$rtpengine_bin" ]; then
    echo "rtpengine: not installed (apt-get install rtpengine-daemon); switchd figures only"
else
    echo "media-load: rtpengine (userspace, --table=-1) on ng 127.0.0.1:$NG_PORT" >&2
    "${pin_daemon[@]}" "$rtpengine_bin" --config-file=none --table=-1 --foreground --log-stderr \
        --log-level=4 --interface=127.0.0.1 --listen-ng="127.0.0.1:$NG_PORT" \
        --port-min="$RTP_MIN" --port-max="$RTP_MAX" --pidfile="$work/rtpengine.pid" \
        >"$work/rtpengine.log" 2>&1 &
    rtpengine_pid=$!
    pids+=($rtpengine_pid)
    if ! wait_udp "$NG_PORT" || ! kill -0 "$rtpengine_pid" 2>/dev/null; then
        echo "rtpengine: did not start; switchd figures only"
        show_logs "$work/rtpengine.log"
    elif ! python3 "$here/media_load.py" rtpengine-setup --calls "$CALLS" --ng-port "$NG_PORT" \
            --uac-port "$UAC_MEDIA" --uas-port "$UAS_MEDIA" --inf "$work/uas-rtpengine.csv"; then
        echo "rtpengine: offer/answer failed; switchd figures only"
        show_logs "$work/rtpengine.log"
    else
        start_uas "$work/uas-rtpengine.csv"
        start_uac "$UAS_PORT"
        if python3 "$here/media_load.py" rtpengine-measure --calls "$CALLS" \
                --pid "$rtpengine_pid" --ng-port "$NG_PORT" --window "$WINDOW" \
                --warmup "$WARMUP" --result-file "$work/rtpengine.result" \
                ${DUMP_QUERY:+--dump-query}; then
            rtpengine_per=$(cat "$work/rtpengine.result")
        else
            echo "rtpengine: measurement failed; switchd figures only"
            show_logs "$work/rtpengine.log" "$work/uac-errors.log" "$work/uas-errors.log"
        fi
    fi
    stop "${pids[@]:1}"
    pids=("${pids[0]}")
fi

# ------------------------------------------------------------- bare relay
declare -A bare_per=()
if [ "$BARE" = 0 ]; then
    echo "bare relay: skipped (BARE=0)"
else
    python3 "$here/media_load.py" bare-setup --calls "$CALLS" --base "$RTP_MIN" \
        --inf "$work/uas-bare.csv"
    for mode in $BARE_MODES; do
        echo "media-load: bare relay ($mode) on 127.0.0.1:$RTP_MIN.." >&2
        rm -f "$work/uac-errors.log" "$work/uas-errors.log"
        "${pin_daemon[@]}" target/release/bare-relay --bind 127.0.0.1 --base "$RTP_MIN" \
            --pairs "$CALLS" --callee "127.0.0.1:$UAS_MEDIA" --mode "$mode" \
            --stats-file "$work/bare-$mode.json" --max-seconds "$WATCHDOG" \
            >"$work/bare-$mode.log" 2>&1 &
        bare_pid=$!
        pids+=($bare_pid)
        if ! wait_udp "$((RTP_MIN + 4 * (CALLS - 1) + 2))" || ! kill -0 "$bare_pid" 2>/dev/null; then
            echo "bare relay ($mode): did not start"
            show_logs "$work/bare-$mode.log"
        else
            start_uas "$work/uas-bare.csv"
            start_uac "$UAS_PORT"
            if python3 "$here/media_load.py" bare-measure --calls "$CALLS" --pid "$bare_pid" \
                    --stats-file "$work/bare-$mode.json" --label "bare relay ($mode)" \
                    --window "$WINDOW" --warmup "$WARMUP" \
                    --result-file "$work/bare-$mode.result"; then
                bare_per[$mode]=$(cat "$work/bare-$mode.result")
            else
                echo "bare relay ($mode): measurement failed"
                show_logs "$work/bare-$mode.log" "$work/uac-errors.log" "$work/uas-errors.log"
            fi
        fi
        stop "${pids[@]:1}"
        pids=("${pids[0]}")
    done
fi

for label in "switchd" "switchd (kernel relay)"; do
    per=${switchd_per[$label]:-}
    [ -n "$per" ] || continue
    echo "$label: $per ms CPU per bridged call-second (target <= 0.6)"
    if [ -n "$rtpengine_per" ]; then
        awk -v l="$label" -v a="$per" -v b="$rtpengine_per" \
            'BEGIN { if (b > 0) printf "ratio %s/rtpengine: %.2f\n", l, a / b }'
    fi
    if [ -n "${bare_per[mio]:-}" ]; then
        awk -v l="$label" -v a="$per" -v b="${bare_per[mio]}" \
            'BEGIN { if (b > 0) printf "ratio %s/bare-mio: %.2f\n", l, a / b }'
    fi
done
if [ -n "$rtpengine_per" ]; then
    echo "rtpengine: $rtpengine_per ms CPU per bridged call-second"
fi
for mode in $BARE_MODES; do
    if [ -n "${bare_per[$mode]:-}" ]; then
        echo "bare relay ($mode): ${bare_per[$mode]} ms CPU per bridged call-second"
    fi
done
