"""rtpengine's ng control protocol, as media_load.py uses it.

Standard library only: bencoding, one request and its reply over UDP to
127.0.0.1, and the minimal SDP offered and answered for a G.711 pair.
"""

import os
import socket


def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value)}")


def bdecode(data, i=0):
    """Decodes one value at data[i:]; returns (value, next index)."""
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        out, i = [], i + 1
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            v, i = bdecode(data, i)
            out[k if isinstance(k, str) else k.decode(errors="replace")] = v
        return out, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    raw = data[colon + 1:colon + 1 + n]
    try:
        return raw.decode(), colon + 1 + n
    except UnicodeDecodeError:
        return raw, colon + 1 + n


class Ng:
    """rtpengine's ng control protocol: "cookie <bencoded dict>" over UDP."""

    def __init__(self, port):
        self.addr = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.seq = 0

    def call(self, command, **args):
        self.seq += 1
        cookie = f"{os.getpid()}_{self.seq}".encode()
        self.sock.sendto(cookie + b" " + bencode({"command": command, **args}), self.addr)
        while True:
            data, _ = self.sock.recvfrom(1 << 20)
            if data.startswith(cookie + b" "):
                reply, _ = bdecode(data, len(cookie) + 1)
                if reply.get("result") not in ("ok", "pong"):
                    raise SystemExit(f"media-load: rtpengine {command}: {reply}")
                return reply


def sdp(port, session):
    return ("v=0\r\n"
            f"o=- {session} 1 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "c=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=ptime:20\r\n")


def sdp_port(text):
    for line in text.splitlines():
        if line.startswith("m=audio "):
            return int(line.split()[1])
    raise SystemExit(f"media-load: no m=audio in rtpengine's SDP: {text!r}")
