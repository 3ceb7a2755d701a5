#!/usr/bin/env python3
"""soak.sh's controller: bridges and records, or collects a digit from,
every parked call.

Standard library only. A parked call to "collect" or "info" is answered and
given a one-digit collect with --prompt as its prompt; the digit (sent by
sipp as RFC 4733 events to "collect", as a SIP INFO to "info") is checked to
be 1 and to have come by that method. Any other parked call is answered, a
partner is originated to the echoing sipp uas (which answers with Opus, so
the bridge transcodes), the two are bridged once both are answered and the
pair is recorded (mixed and split in turn). When either leg of a pair hangs
up the other is hung up; each finished recording is checked for an error
and deleted. Totals go to --status-file (JSON, rewritten each second) until
SIGTERM.

Usage: soak_bridge.py --socket PATH --uas HOST:PORT --recordings DIR
                      --prompt WAV --status-file PATH
"""

import argparse
import json
import os
import signal
import time

from media_load import Control

# The DTMF method each collecting service's caller uses.
COLLECT_METHODS = {"collect@": "rfc4733", "info@": "info"}


def collect_method(to):
    """The DTMF method expected from a call to `to`, or None for a bridged call."""
    return next((method for user, method in COLLECT_METHODS.items() if user in to), None)


class Soak:
    """The pairs in progress and the totals so far."""

    def __init__(self, ctl, uas, recordings, prompt):
        self.ctl = ctl
        self.uas = uas
        self.recordings = recordings
        self.prompt = prompt
        self.partner = {}   # leg -> the other leg of its pair, both ways
        self.answered = set()
        self.pending = {}   # request id -> (command, leg)
        self.next_pair = 0
        self.method = {}    # collecting leg -> the DTMF method its caller uses
        self.totals = {"pairs": 0, "bridged": 0, "recorded": 0,
                       "record_errors": 0, "collects": 0, "collected": 0,
                       "wrong_digits": 0, "wrong_methods": 0,
                       "digits_by_method": {}, "failed": {}}

    def send(self, cmd, about, **args):
        """Sends `cmd`; its reply is handled as being `about` that leg."""
        self.pending[self.ctl.send(cmd, **args)] = (cmd, about)

    def on_event(self, ev):
        name = ev["event"]
        if name == "leg.incoming" and collect_method(ev["leg"]["to"]):
            leg = ev["leg"]["id"]
            self.method[leg] = collect_method(ev["leg"]["to"])
            self.totals["collects"] += 1
            self.send("answer", leg, leg=leg)
            self.send("collect", leg, leg=leg, max_digits=1, timeout=3, retries=0,
                      prompt=self.prompt)
        elif name == "collect.done":
            self.totals["collected"] += 1
            if ev["digits"] != "1":
                self.totals["wrong_digits"] += 1
        elif name == "dtmf" and ev["leg"] in self.method:
            by_method = self.totals["digits_by_method"]
            by_method[ev["method"]] = by_method.get(ev["method"], 0) + 1
            if ev["method"] != self.method[ev["leg"]]:
                self.totals["wrong_methods"] += 1
        elif name == "leg.incoming":
            a = ev["leg"]["id"]
            b = f"soak-b{self.next_pair}"
            self.next_pair += 1
            self.partner[a], self.partner[b] = b, a
            self.totals["pairs"] += 1
            self.send("answer", a, leg=a)
            self.send("originate", b, to=f"sip:echo@{self.uas}", leg=b, ring_timeout=10)
        elif name == "leg.answered":
            leg = ev["leg"]
            self.answered.add(leg)
            other = self.partner.get(leg)
            if other in self.answered:
                # The inbound leg first: the recording is named after it.
                a, b = (other, leg) if leg.startswith("soak-b") else (leg, other)
                self.send("bridge", a, leg=a, other=b)
        elif name == "leg.hungup":
            leg = ev["leg"]
            self.answered.discard(leg)
            self.method.pop(leg, None)
            other = self.partner.pop(leg, None)
            if other is not None:
                self.partner.pop(other, None)
                self.send("hangup", other, leg=other)
        elif name == "record.finished":
            self.totals["recorded"] += 1
            if ev.get("error"):
                self.totals["record_errors"] += 1
            try:
                os.remove(ev["path"])
            except OSError:
                pass

    def on_reply(self, rid, reply):
        cmd, leg = self.pending.pop(rid)
        if not reply.get("ok"):
            # A partner that hung up first makes hangup (and a late bridge
            # or record) fail: part of the churn, still counted.
            failed = self.totals["failed"]
            failed[cmd] = failed.get(cmd, 0) + 1
            return
        if cmd == "bridge":
            self.totals["bridged"] += 1
            mode = "split" if self.totals["bridged"] % 2 else "mixed"
            path = os.path.join(self.recordings, f"{leg}.wav")
            self.send("record", leg, leg=leg, path=path, mode=mode)

    def pump(self, timeout):
        self.ctl.pump(timeout)
        for rid in [r for r in self.ctl.replies if r in self.pending]:
            self.on_reply(rid, self.ctl.replies.pop(rid))
        self.ctl.replies.clear()
        events, self.ctl.events = self.ctl.events, []
        for ev in events:
            self.on_event(ev)


def write_status(path, totals):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(totals, f)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--uas", required=True)
    parser.add_argument("--recordings", required=True)
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--status-file", required=True)
    args = parser.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    ctl = Control(args.socket)
    ctl.call("subscribe")
    soak = Soak(ctl, args.uas, args.recordings, args.prompt)
    write_status(args.status_file, soak.totals)
    next_write = time.monotonic() + 1.0
    while not stop:
        soak.pump(0.2)
        if time.monotonic() >= next_write:
            write_status(args.status_file, soak.totals)
            next_write = time.monotonic() + 1.0
    write_status(args.status_file, soak.totals)


if __name__ == "__main__":
    main()
