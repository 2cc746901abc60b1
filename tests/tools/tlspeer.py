#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tlspeer.py: an agent built on Python's ssl module (a TLS stack other than the collector's
own code): connects over TLS, reads the Challenge, says Hello (with the token's HMAC when
given one), sends --reports reports a second apart in collection time and waits for each
Ack. Prints one JSON line: {"welcome": bool, "acked": [seqs], "error": "..."}.
usage: tlspeer.py --port P --ca FILE [--cert FILE --key FILE] [--name NAME] [--token-file F]
                  [--reports N] [--plaintext]
Traffic goes to 127.0.0.1 only."""
import argparse
import hashlib
import hmac
import json
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pbwire import hello, parse, read_frame, report  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--ca")
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--name", default="127.0.0.1")
ap.add_argument("--token-file")
ap.add_argument("--reports", type=int, default=3)
ap.add_argument("--tier", default="tlspeer")
ap.add_argument("--plaintext", action="store_true", help="no TLS: a plaintext agent")
args = ap.parse_args()
out = {"welcome": False, "acked": [], "error": ""}


def done(error=""):
    out["error"] = error
    print(json.dumps(out))
    sys.exit(0)


raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
if args.plaintext:
    s = raw
else:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    try:
        s = ctx.wrap_socket(raw, server_hostname=args.name)
    except (ssl.SSLError, OSError) as e:
        done("handshake: %s" % e)
ch = read_frame(s, 5)
if not isinstance(ch, tuple) or ch[0] != 1:
    done("no Challenge: %r" % (ch,))
nonce = parse(ch[1])[2][0]
agent_id = os.urandom(16)
auth = b""
if args.token_file:
    token = open(args.token_file, "rb").read().split(b"\n")[0]
    auth = hmac.new(token, nonce + agent_id, hashlib.sha256).digest()
s.sendall(hello(agent_id, auth, tier=args.tier, hostname="tlspeer"))
w = read_frame(s, 5)
if not isinstance(w, tuple) or w[0] != 3:
    done("no Welcome: %r" % (w,))
out["welcome"] = True
t0 = int(time.time() * 1000) - 1000 * args.reports
for seq in range(1, args.reports + 1):
    s.sendall(report(seq, t0 + 1000 * seq, [(bytes([192, 0, 2, seq % 250 + 1]), 3)]))
deadline = time.time() + 15
while len(out["acked"]) < args.reports and time.time() < deadline:
    f = read_frame(s, max(0.1, deadline - time.time()))
    if not isinstance(f, tuple):
        done("after %d acks: %r" % (len(out["acked"]), f))
    if f[0] == 5:
        out["acked"].append(parse(f[1])[1][0])
    elif f[0] == 6:
        done("Error frame: %r" % parse(f[1]))
if not args.plaintext:
    s.unwrap() if hasattr(s, "unwrap") else None
done()
