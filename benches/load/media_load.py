#!/usr/bin/env python3
"""Drives media-load.sh's call pairs and measures the relay's CPU and loss.

Standard library only. Five subcommands:

  switchd            Subscribes to switchd's events, answers each parked
                     inbound call, originates its partner to the echoing
                     sipp uas, bridges the pair, then measures.
  rtpengine-setup    Creates N call pairs in rtpengine over its ng protocol
                     (bencode over UDP) and writes sipp's injection file with
                     the relay port each caller must send to.
  rtpengine-measure  Waits for media on every pair, measures, deletes them.
  bare-setup         Writes sipp's injection file with the bare relay's
                     caller-facing port of each pair (bare-relay's layout).
  bare-measure       Waits for media on every pair of the bare relay (its
                     stats file), then measures.

The measurement is the same for every relay: the daemon's utime+stime from
/proc/PID/stat over WINDOW seconds, divided by calls x WINDOW, and the RTP
packet counters the relay itself reports, taken at both ends of the window.
Every socket here is either a Unix socket or UDP to 127.0.0.1.
"""

import argparse
import json
import os
import select
import socket
import sys
import time

from rtpengine_ng import Ng, sdp, sdp_port

PACKETS_PER_SECOND = 50  # G.711 at 20 ms per packet


def log(msg):
    print(f"media-load: {msg}", file=sys.stderr, flush=True)


class Cpu:
    """utime and stime of the whole process (all threads), in milliseconds."""

    def __init__(self, pid):
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        # The command name may hold spaces; fields resume after its ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        tick_ms = 1000.0 / os.sysconf("SC_CLK_TCK")
        self.user = int(fields[11]) * tick_ms  # utime, field 14
        self.system = int(fields[12]) * tick_ms  # stime, field 15

    def __sub__(self, earlier):
        delta = Cpu.__new__(Cpu)
        delta.user = self.user - earlier.user
        delta.system = self.system - earlier.system
        return delta

    @property
    def total(self):
        return self.user + self.system


class MachineCpu:
    """Busy time of the whole machine (every process, the kernel's softirqs
    included), in milliseconds, from /proc/stat."""

    def __init__(self):
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
        ticks = [int(x) for x in fields]
        tick_ms = 1000.0 / os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal ...
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        self.busy = (sum(ticks[:8]) - idle) * tick_ms

    def __sub__(self, earlier):
        delta = MachineCpu.__new__(MachineCpu)
        delta.busy = self.busy - earlier.busy
        return delta


def relay_counts(d):
    """The four packet counts of a relay over the window, and its drops."""
    return {
        "packets in from callers": d["caller_in"],
        "packets relayed to callees": d["callee_out"],
        "packets in from callees (echo)": d["callee_in"],
        "packets relayed to callers": d["caller_out"],
        "relay drops (in - relayed, both ways)":
            d["caller_in"] - d["callee_out"] + d["callee_in"] - d["caller_out"],
    }


def report(label, calls, window, cpu, counts):
    """Prints one relay's figures; `counts` maps a name to a packet delta."""
    per_call_second = cpu.total / (calls * window)
    print(f"{label}: {calls} bridged G.711 calls, {window:.1f} s window")
    print(f"{label}: CPU {cpu.total:.0f} ms (user {cpu.user:.0f}, system {cpu.system:.0f})"
          f" = {per_call_second:.3f} ms per call-second"
          f" ({cpu.total / window / 10:.1f} % of one core)")
    machine = getattr(cpu, "machine", None)
    if machine is not None:
        # Forwarding in the kernel is charged to whoever's send delivers the
        # packet (on loopback, sipp): the whole machine shows what it saves.
        print(f"{label}: whole machine busy {machine.busy:.0f} ms"
              f" = {machine.busy / (calls * window):.3f} ms per call-second"
              f" (relay, sipp and kernel together)")
    expected = calls * PACKETS_PER_SECOND * window
    for name, value in counts.items():
        print(f"{label}: {name}: {value}")
    caller_in = counts.get("packets in from callers", 0)
    callee_in = counts.get("packets in from callees (echo)", 0)
    print(f"{label}: caller packets/s per call: {caller_in / (calls * window):.1f}"
          f" (sipp sends {PACKETS_PER_SECOND}); expected about {expected:.0f} per direction")
    if caller_in:
        lost = caller_in - callee_in
        # Counters are read while media flows: a few packets in flight at
        # either edge of the window may show up as a difference either way.
        print(f"{label}: round-trip loss (caller in - echo in, +/- packets in flight):"
              f" {lost} = {100.0 * lost / caller_in:.3f} %")
    return per_call_second


def measure_window(pid, window, read_counts, counts_cost_the_relay=True):
    """The relay's CPU over about `window` seconds, with its counts at both ends.

    Returns (cpu delta, seconds measured, counts before, counts after).
    Counts that cost the relay CPU to read (control queries) are read
    outside the CPU window; counts that cost it nothing (a stats file) are
    read right before each CPU reading, so that both cover the same time.
    """
    before = read_counts()
    cpu_before = Cpu(pid)
    machine_before = MachineCpu()
    t0 = time.monotonic()
    time.sleep(window)
    if not counts_cost_the_relay:
        after = read_counts()
    cpu_after = Cpu(pid)
    machine_after = MachineCpu()
    elapsed = time.monotonic() - t0
    if counts_cost_the_relay:
        after = read_counts()
    cpu = cpu_after - cpu_before
    cpu.machine = machine_after - machine_before
    return cpu, elapsed, before, after


def write_result(path, per_call_second):
    with open(path, "w") as f:
        f.write(f"{per_call_second:.3f}\n")


def write_injection(path, caller_ports):
    """sipp's injection file for the uas: the port each call's SDP advertises."""
    with open(path, "w") as f:
        f.write("\n".join(["SEQUENTIAL"] + [f"{port};" for port in caller_ports]) + "\n")


# ---------------------------------------------------------------- switchd


class Control:
    """Newline-delimited JSON over switchd's Unix control socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        self.replies = {}
        self.events = []

    def send(self, cmd, **args):
        req_id = self.next_id
        self.next_id += 1
        self.sock.sendall((json.dumps({"id": req_id, "cmd": cmd, **args}) + "\n").encode())
        return req_id

    def pump(self, timeout):
        """Reads what arrives within `timeout` seconds into replies/events."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return
        data = self.sock.recv(1 << 20)
        if not data:
            raise SystemExit("media-load: switchd closed the control socket")
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if not line.strip():
                continue
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg)
            else:
                self.replies[msg.get("id")] = msg

    def call(self, cmd, timeout=10.0, **args):
        req_id = self.send(cmd, **args)
        deadline = time.monotonic() + timeout
        while req_id not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"media-load: no reply to {cmd} within {timeout} s")
            self.pump(left)
        reply = self.replies.pop(req_id)
        if not reply.get("ok"):
            raise SystemExit(f"media-load: {cmd} failed: {reply.get('error')}")
        return reply


def switchd_counts(ctl, pairs):
    """Sums the media counters of the bridged legs, by role."""
    legs = {leg["id"]: leg for leg in ctl.call("legs")["legs"]}
    sums = {"caller_in": 0, "caller_out": 0, "callee_in": 0, "callee_out": 0,
            "caller_lost": 0, "callee_lost": 0}
    for a, b in pairs.items():
        for role, leg_id in (("caller", a), ("callee", b)):
            media = legs.get(leg_id, {}).get("media") or {}
            sums[f"{role}_in"] += media.get("packets_in", 0)
            sums[f"{role}_out"] += media.get("packets_out", 0)
            sums[f"{role}_lost"] += media.get("lost", 0)
    return sums, ctl.call("stats")["stats"]


def run_switchd(args):
    ctl = Control(args.socket)
    ctl.call("subscribe")
    open(args.ready_file, "w").close()
    log(f"subscribed; waiting for {args.calls} inbound calls")

    callee_of = {}    # inbound leg -> outbound leg
    answered = set()
    bridge_ids = {}   # request id -> inbound leg
    bridged = set()
    pending = {}      # request id -> what it was, for error reports
    deadline = time.monotonic() + args.setup_timeout
    while len(bridged) < args.calls:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"media-load: only {len(bridged)} of {args.calls} pairs bridged after "
                f"{args.setup_timeout} s ({len(callee_of)} inbound, {len(answered)} legs answered)")
        ctl.pump(0.2)
        for rid in [r for r in ctl.replies if r in pending]:
            reply = ctl.replies.pop(rid)
            what = pending.pop(rid)
            if not reply.get("ok"):
                raise SystemExit(f"media-load: {what} failed: {reply.get('error')}")
            if rid in bridge_ids:
                bridged.add(bridge_ids.pop(rid))
        events, ctl.events = ctl.events, []
        for ev in events:
            name = ev["event"]
            if name == "leg.incoming":
                a = ev["leg"]["id"]
                b = f"load-b{len(callee_of)}"
                callee_of[a] = b
                pending[ctl.send("answer", leg=a)] = f"answer {a}"
                pending[ctl.send("originate", to=f"sip:echo@{args.uas}", leg=b,
                                 ring_timeout=20)] = f"originate {b}"
            elif name == "leg.answered":
                answered.add(ev["leg"])
            elif name == "leg.hungup":
                raise SystemExit(f"media-load: leg hung up during setup: {ev}")
            elif name == "gap":
                raise SystemExit("media-load: event gap during setup")
        for a, b in callee_of.items():
            if a in answered and b in answered and a not in bridged \
                    and a not in bridge_ids.values():
                rid = ctl.send("bridge", leg=a, other=b)
                bridge_ids[rid] = a
                pending[rid] = f"bridge {a} {b}"
    log(f"{args.calls} pairs bridged; {args.warmup} s warm-up")

    time.sleep(args.warmup)
    cpu, window, (before, stats_before), (after, stats_after) = measure_window(
        args.pid, args.window, lambda: switchd_counts(ctl, callee_of))
    d = {k: after[k] - before[k] for k in before}
    counts = relay_counts(d)
    counts["sequence gaps seen by the daemon (lost)"] = d["caller_lost"] + d["callee_lost"]
    for name in sorted(stats_after):
        if any(w in name for w in ("drop", "refused", "rtp_", "media_")) \
                and isinstance(stats_after[name], int):
            delta = stats_after[name] - stats_before.get(name, 0)
            if delta and ("drop" in name or "refused" in name):
                counts[f"stats {name} (delta)"] = delta
    write_result(args.result_file, report(args.label, args.calls, window, cpu, counts))

    for a, b in callee_of.items():
        pending[ctl.send("hangup", leg=a)] = f"hangup {a}"
        pending[ctl.send("hangup", leg=b)] = f"hangup {b}"
    end = time.monotonic() + 5
    while pending and time.monotonic() < end:
        ctl.pump(0.2)
        for rid in [r for r in ctl.replies if r in pending]:
            ctl.replies.pop(rid)
            pending.pop(rid)


# -------------------------------------------------------------- rtpengine


def run_rtpengine_setup(args):
    ng = Ng(args.ng_port)
    ng.call("ping")
    caller_ports = []
    for i in range(args.calls):
        # No ICE: sipp does not speak it, and switchd adds none either.
        call = {"call-id": f"load-{i}", "from-tag": f"a{i}", "ICE": "remove"}
        offer = ng.call("offer", sdp=sdp(args.uac_port, 1000 + i), **call)
        # What the callee would be told: the relay port it sends to.
        callee_side = sdp_port(offer["sdp"])
        answer = ng.call("answer", sdp=sdp(args.uas_port, 5000 + i), **call,
                         **{"to-tag": f"b{i}"})
        caller_side = sdp_port(answer["sdp"])
        caller_ports.append(caller_side)
        if i == 0:
            log(f"rtpengine pair 0: caller sends to {caller_side}, callee to {callee_side}")
    write_injection(args.inf, caller_ports)
    log(f"rtpengine: {args.calls} call pairs offered and answered")


def rtpengine_counts(ng, calls):
    """Packets rtpengine received from callers and from callees."""
    caller_in = callee_in = 0
    flowing = 0
    for i in range(calls):
        reply = ng.call("query", **{"call-id": f"load-{i}"})
        per_tag = {}
        for tag, info in (reply.get("tags") or {}).items():
            packets = 0
            for media in info.get("medias", []):
                for stream in media.get("streams", []):
                    stats = stream.get("stats") or {}
                    # Only RTP streams (even ports); RTCP is counted apart.
                    if stream.get("local port", 0) % 2 == 0:
                        packets += stats.get("packets", 0)
            per_tag[tag] = packets
        a, b = per_tag.get(f"a{i}", 0), per_tag.get(f"b{i}", 0)
        caller_in += a
        callee_in += b
        flowing += 1 if a and b else 0
    return {"caller_in": caller_in, "callee_in": callee_in}, flowing


def run_rtpengine_measure(args):
    ng = Ng(args.ng_port)
    deadline = time.monotonic() + args.setup_timeout
    while True:
        _, flowing = rtpengine_counts(ng, args.calls)
        if flowing == args.calls:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"media-load: rtpengine: media flows on only {flowing} of "
                             f"{args.calls} pairs after {args.setup_timeout} s")
        time.sleep(0.5)
    log(f"rtpengine: media flows on all {args.calls} pairs; {args.warmup} s warm-up")
    if args.dump_query:
        print(json.dumps(ng.call("query", **{"call-id": "load-0"}), default=repr)[:3000],
              file=sys.stderr)
    time.sleep(args.warmup)
    cpu, window, (before, _), (after, _) = measure_window(
        args.pid, args.window, lambda: rtpengine_counts(ng, args.calls))
    counts = {
        "packets in from callers": after["caller_in"] - before["caller_in"],
        "packets in from callees (echo)": after["callee_in"] - before["callee_in"],
    }
    write_result(args.result_file, report("rtpengine", args.calls, window, cpu, counts))
    for i in range(args.calls):
        ng.call("delete", **{"call-id": f"load-{i}", "from-tag": f"a{i}"})


# ------------------------------------------------------------- bare relay


def bare_caller_port(base, pair):
    """Pair `pair`'s caller-facing port in bare-relay's layout (base + 4i)."""
    return base + 4 * pair


def run_bare_setup(args):
    write_injection(args.inf, [bare_caller_port(args.base, i) for i in range(args.calls)])
    log(f"bare relay: callers send to ports {bare_caller_port(args.base, 0)}.."
        f"{bare_caller_port(args.base, args.calls - 1)}")


def read_bare_stats(path):
    """The bare relay's last stats line, or None before its first one."""
    try:
        with open(path) as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return None


def fresh_bare_stats(path, pid, after=None, timeout=5.0):
    """Waits for a stats line newer than `after` (a previous line), so that
    it describes the relay as of now, within the polling interval."""
    deadline = time.monotonic() + timeout
    while True:
        stats = read_bare_stats(path)
        if stats is not None and (after is None or stats["uptime_ms"] > after["uptime_ms"]):
            return stats
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise SystemExit(f"media-load: the bare relay (pid {pid}) has exited")
        if time.monotonic() > deadline:
            raise SystemExit(f"media-load: no new bare relay stats in {path} within {timeout} s")
        time.sleep(0.005)


def run_bare_measure(args):
    deadline = time.monotonic() + args.setup_timeout
    stats = None
    while True:
        stats = fresh_bare_stats(args.stats_file, args.pid, stats)
        if stats["pairs_flowing"] >= args.calls:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"media-load: {args.label}: media flows on only "
                             f"{stats['pairs_flowing']} of {args.calls} pairs after "
                             f"{args.setup_timeout} s")
    log(f"{args.label}: media flows on all {args.calls} pairs; {args.warmup} s warm-up")
    time.sleep(args.warmup)

    def read_counts():
        # The next line written from now on, not the one already there
        # (up to 500 ms old): the CPU reading follows it at once.
        return fresh_bare_stats(args.stats_file, args.pid, read_bare_stats(args.stats_file))

    cpu, window, before, after = measure_window(args.pid, args.window, read_counts,
                                                counts_cost_the_relay=False)
    d = {k: after[k] - before[k] for k in after if isinstance(after[k], int)}
    log(f"{args.label}: the counts cover {d['uptime_ms'] / 1000:.2f} s,"
        f" the CPU reading {window:.2f} s")
    counts = relay_counts(d)
    counts.update({
        "dropped before the caller was learned": d["unlearned_drops"],
        "send errors": d["send_errors"],
        "receive errors": d["recv_errors"],
    })
    write_result(args.result_file, report(args.label, args.calls, window, cpu, counts))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--calls", type=int, required=True)
    for mode in ("switchd", "rtpengine-measure", "bare-measure"):
        s = sub.add_parser(mode, parents=[common])
        s.add_argument("--pid", type=int, required=True)
        s.add_argument("--window", type=float, default=20)
        s.add_argument("--warmup", type=float, default=3)
        s.add_argument("--setup-timeout", type=float, default=60)
        s.add_argument("--result-file", required=True)
        if mode == "switchd":
            s.add_argument("--socket", required=True)
            s.add_argument("--uas", required=True, help="host:port of the echoing uas")
            s.add_argument("--ready-file", required=True)
            s.add_argument("--label", default="switchd", help="name in the report")
        elif mode == "rtpengine-measure":
            s.add_argument("--ng-port", type=int, required=True)
            s.add_argument("--dump-query", action="store_true")
        else:
            s.add_argument("--stats-file", required=True, help="bare-relay's --stats-file")
            s.add_argument("--label", default="bare relay", help="name in the report")
    s = sub.add_parser("rtpengine-setup", parents=[common])
    s.add_argument("--ng-port", type=int, required=True)
    s.add_argument("--uac-port", type=int, required=True, help="the callers' RTP port")
    s.add_argument("--uas-port", type=int, required=True, help="the callees' RTP port")
    s.add_argument("--inf", required=True, help="sipp injection file to write")
    s = sub.add_parser("bare-setup", parents=[common])
    s.add_argument("--base", type=int, required=True, help="bare-relay's --base")
    s.add_argument("--inf", required=True, help="sipp injection file to write")
    args = p.parse_args()
    {"switchd": run_switchd, "rtpengine-setup": run_rtpengine_setup,
     "rtpengine-measure": run_rtpengine_measure, "bare-setup": run_bare_setup,
     "bare-measure": run_bare_measure}[args.mode](args)


if __name__ == "__main__":
    main()
