#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hostile.py: hostile clients against a fleetstat collector on loopback, all at once.

Frames are built by hand (protobuf wire format, 4-byte big-endian length), so that they can
be as wrong as wanted.  Each kind of client records what the collector did to it; the summary
(JSON on stdout) says, per kind, how many connections ended how:
  garbage      random bytes
  zero         a frame length of 0
  huge         a frame length of 0xFFFFFFFF
  truncated    a frame cut short, then the socket closed
  slow         a Hello at one byte a second
  idle         --idle connections (from 127.0.0.10 up) that never say a word
  wrong_token  --hellos Hellos with a wrong HMAC
  bad_ip, bad_tier, backwards, ahead, many_ips
               reports (or a Hello) with one invalid field each, after a good handshake
  no_reader    a client that sends up to 100,000 reports as fast as it can and never reads
               its acks
With --tls-ca (and --tls-cert, --tls-key: mutual TLS) every client above speaks through a TLS
session it completed (the idle ones too: handshake, then silence), and three more come:
  half_handshake  the first half of a ClientHello, then silence
  tls_garbage     random bytes instead of a ClientHello
  plaintext       a plaintext agent that waits for its Challenge
usage: hostile.py --port P --token-file F [--idle N] [--hellos N] [--seconds S]
                  [--tls-ca F [--tls-cert F --tls-key F]]
Traffic goes to 127.0.0.1 only.
"""
import argparse
import hashlib
import hmac
import json
import os
import resource
import socket
import ssl
import struct
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--token-file", required=True)
ap.add_argument("--idle", type=int, default=5000)
ap.add_argument("--hellos", type=int, default=500)
ap.add_argument("--seconds", type=float, default=15)
ap.add_argument("--tls-ca")
ap.add_argument("--tls-cert")
ap.add_argument("--tls-key")
args = ap.parse_args()
TLS = None
if args.tls_ca:
    TLS = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.tls_ca)
    TLS.minimum_version = ssl.TLSVersion.TLSv1_2
    if args.tls_cert:
        TLS.load_cert_chain(args.tls_cert, args.tls_key)
TOKEN = open(args.token_file, "rb").read().split(b"\n")[0]
ADDR = ("127.0.0.1", args.port)
results = {}
lock = threading.Lock()


def note(kind, outcome):
    with lock:
        results.setdefault(kind, {}).setdefault(outcome, 0)
        results[kind][outcome] += 1


# ---- frames -------------------------------------------------------------------------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pbwire import hello, parse, read_frame, report  # noqa: E402


def field_bytes(msg, want):
    v = parse(msg).get(want)
    return v[0] if v else None


def fate(s, timeout=5):
    """How the collector ended it: 'error+close', 'close', 'open' (nothing within timeout)."""
    saw_error = False
    deadline = time.time() + timeout
    while time.time() < deadline:
        f = read_frame(s, max(0.05, deadline - time.time()))
        if f is None:
            return "error+close" if saw_error else "close"
        if f == "timeout":
            break
        if f[0] == 6:
            saw_error = True
    return "error+open" if saw_error else "open"


def connect(src="127.0.0.1", tls=True):
    """A connection from src; with --tls-ca, through a TLS session (its handshake done)."""
    s = socket.socket()
    s.bind((src, 0))
    s.connect(ADDR)
    if TLS is not None and tls:
        s.settimeout(10)
        s = TLS.wrap_socket(s, server_hostname=ADDR[0])
    return s


def closed_within(s, timeout):
    """Whether the peer closed s (EOF or reset) within timeout, whatever it sent first."""
    s.settimeout(timeout)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True
    return False


def handshake(tier="hostile", token=TOKEN):
    """A connection past its Welcome, or (socket, why) when refused."""
    s = connect()
    ch = read_frame(s, 5)
    if not isinstance(ch, tuple) or ch[0] != 1:
        return s, "no challenge"
    nonce = field_bytes(ch[1], 2)
    agent_id = os.urandom(16)
    auth = hmac.new(token, nonce + agent_id, hashlib.sha256).digest()
    s.sendall(hello(agent_id, auth, tier=tier))
    w = read_frame(s, 5)
    if not isinstance(w, tuple) or w[0] != 3:
        return s, "refused"
    return s, None


def now_ms():
    return int(time.time() * 1000)


# ---- the clients -------------------------------------------------------------------------
def tls_garbage(n=4096):
    """n random bytes that are not the start of a TLS record still arriving: OpenSSL waits
    for the body of any 5-byte header whose version byte is 3 (whatever its type) when the
    length is past the bytes sent, and rightly so; 1 in about 270 random buffers is one,
    one run in six of the 50 sent.  So it does for an SSLv2-format ClientHello (the first
    byte's top bit set, the third byte 1: a 15-bit length, most of them past 4,094 bytes),
    1 in about 600 buffers.  Any other header is refused at once."""
    data = bytearray(os.urandom(n))
    if data[1] == 3:
        data[1] = 4
    if data[0] & 0x80 and data[2] == 1:
        data[2] = 2
    return bytes(data)


def random_garbage(n=4096):
    """n random bytes that are not the start of a frame still arriving: about 1 in 4,096
    random headers is a length the collector must wait for (up to 64 MiB, the largest
    --max-frame, past the bytes sent), and it rightly does: that is a partial frame, not
    garbage."""
    for _ in range(1000):
        data = os.urandom(n)
        length = struct.unpack(">I", data[:4])[0]
        if not (4 + length > n and length <= 64 << 20):
            return data
    raise SystemExit("hostile.py: no garbage in 1000 tries")


def garbage():
    for _ in range(50):
        s = connect()
        read_frame(s, 2)
        try:
            s.sendall(random_garbage())
        except OSError:
            pass
        note("garbage", fate(s))
        s.close()


def lengths():
    for kind, hdr in (("zero", b"\0\0\0\0"), ("huge", b"\xff\xff\xff\xff")):
        for _ in range(10):
            s = connect()
            read_frame(s, 2)
            s.sendall(hdr)
            note(kind, fate(s))
            s.close()
    for _ in range(10):
        s = connect()
        read_frame(s, 2)
        s.sendall(struct.pack(">I", 100) + b"x" * 50)
        s.close()
        note("truncated", "sent and closed")


def slow():
    s = connect()
    ch = read_frame(s, 5)
    data = hello(os.urandom(16), b"\0" * 32)
    start = time.time()
    try:
        for b in data:
            s.sendall(bytes([b]))
            time.sleep(1)
            if time.time() - start > 60:
                break
    except OSError:
        pass
    note("slow", fate(s, 2) + " after %d s" % round(time.time() - start))
    s.close()


def idle():
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.idle + 2048, args.idle + 2048))
    socks = []
    for i in range(args.idle):
        try:
            socks.append(connect("127.0.0.%d" % (10 + i // 200)))
        except OSError as e:
            note("idle", "connect failed: " + e.strerror)
    with lock:
        results["idle_open"] = len(socks)
    time.sleep(min(args.seconds, 8))
    challenged = 0
    for s in socks:
        f = read_frame(s, 0.01)
        challenged += isinstance(f, tuple) and f[0] == 1
        s.close()
    with lock:
        results["idle_challenged"] = challenged


def wrong_tokens():
    for _ in range(args.hellos):
        s, why = handshake(token=b"not-the-token")
        note("wrong_token", why or "welcomed")
        s.close()


def invalid():
    t = now_ms()
    cases = [
        ("bad_ip", "hostile", [report(1, t, [(b"\x0a\0\0\1\2\3\4", 5)])]),
        ("bad_tier", "web tier", []),
        ("backwards", "hostile", [report(5, t, [(b"\x0a\0\0\1", 5)]), report(3, t)]),
        ("ahead", "hostile", [report(1, t + 86400000)]),
        ("many_ips", "hostile",
         [report(1, t, [(struct.pack(">I", 0x0A000000 + i), 1) for i in range(100000)])]),
    ]
    for kind, tier, frames in cases:
        for _ in range(5):
            s, why = handshake(tier=tier)
            if why:
                note(kind, "hello " + why)
                s.close()
                continue
            try:
                for f in frames:
                    s.sendall(f)
            except OSError:
                pass
            note(kind, fate(s))
            s.close()


def no_reader():
    s, why = handshake()
    if why:
        note("no_reader", "hello " + why)
        return
    s.setblocking(False)
    sent = 0
    t = now_ms()
    end = time.time() + args.seconds
    pending = b""
    seq = 1
    while time.time() < end and seq <= 100000:
        if not pending:
            pending = report(seq, t, [(b"\x0a\0\0\1", 1)])
            seq += 1
        try:
            n = s.send(pending)
            pending = pending[n:]
            if not pending:
                sent += 1
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            time.sleep(0.05)
        except OSError:
            break
    with lock:
        results["no_reader_sent"] = sent
    s.close()


def client_hello():
    """A ClientHello as this TLS stack writes it, taken from memory."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = TLS.wrap_bio(inc, out, server_hostname=ADDR[0])
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tls_attacks():
    """Half a ClientHello then silence; garbage for one; a plaintext agent: each closed."""
    ch = client_hello()
    half = []
    for _ in range(50):
        s = connect(tls=False)
        s.sendall(ch[:len(ch) // 2])
        half.append(s)
    for s in half:
        note("half_handshake", "closed" if closed_within(s, 15) else "open")
        s.close()
    for _ in range(50):
        s = connect(tls=False)
        try:
            s.sendall(tls_garbage())
        except OSError:
            pass
        note("tls_garbage", "closed" if closed_within(s, 5) else "open")
        s.close()
    for _ in range(10):
        s = connect(tls=False)
        note("plaintext", fate(s, 10))
        s.close()


clients = [idle, slow, no_reader, garbage, lengths, wrong_tokens, invalid]
if TLS is not None:
    clients.append(tls_attacks)
threads = [threading.Thread(target=f) for f in clients]
for th in threads:
    th.start()
for th in threads:
    th.join()
json.dump(results, sys.stdout, indent=1, sort_keys=True)
print()
