#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hostilelog.py: a hostile access log in the combined format, and what an exact count of it says.

usage: hostilelog.py OUT [--ips N] [--long-mib M] [--seed S]

Writes OUT: N distinct client IPs (default 5,000,000; 10.x.y.z) with one request each; a heavy
IP (198.51.100.200) on every 50th valid line, its statuses alternating 200 and 404; an IP
(198.51.100.201) on every 200th with a user agent of its own each time; between them, lines of
random bytes (NULs and '\\r' among them, no newline) every 5,000th line; three lines of M MiB
(default 10) before their newline: one of 'A's, one of random bytes, one a valid line of the
heavy IP with a user agent of M MiB; and a block of 4 MiB of random bytes with whatever
newlines fall in it.  The file ends with a newline.

Prints JSON on stdout: the valid lines, their bytes, the distinct IPs, the heavy and the
user-agent IPs' requests (the heavy one's by status class), the malformed lines (the random
ones that are not blank once a trailing '\\r' goes) and the lines too long (over 64 KiB, the
agent's bound; a line is its bytes before the newline), and where each of those is (start,
end past its newline, the valid lines before it).  Deterministic for a seed.
"""
import argparse
import json
import random
import sys

LINE_MAX = 64 * 1024
HEAVY = "198.51.100.200"
UA_IP = "198.51.100.201"
TAIL = ' - - [07/Dec/2026:10:00:00 +0000] "GET /item HTTP/1.1" 200 512 "-" "Mozilla/5.0"\n'
HEAVY_LINE = {
    200: HEAVY + ' - - [07/Dec/2026:10:00:00 +0000] "GET /login HTTP/1.1" 200 1000 "-" "curl/8.0"\n',
    404: HEAVY + ' - - [07/Dec/2026:10:00:00 +0000] "GET /login HTTP/1.1" 404 1000 "-" "curl/8.0"\n',
}
UA_FMT = UA_IP + ' - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 302 - "-" "hostile-agent/%d"\n'


class Truth:
    def __init__(self):
        self.valid = self.bytes = self.heavy = self.heavy_2xx = self.heavy_4xx = 0
        self.ua_requests = self.malformed = self.too_long = 0
        self.long = []

    def raw(self, data):
        """Lines of bytes that are no log lines (data ends with a newline)."""
        for piece in data.split(b"\n")[:-1]:
            if len(piece) > LINE_MAX:
                self.too_long += 1
            elif (piece[:-1] if piece.endswith(b"\r") else piece) != b"":
                self.malformed += 1   # a blank one is no line


def garbage_line(rng):
    """Random bytes, NULs and all, no newline: never a log line (it starts with a NUL)."""
    return b"\0" + rng.randbytes(rng.randint(1, 300)).replace(b"\n", b"\0") + b"\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--ips", type=int, default=5_000_000)
    ap.add_argument("--long-mib", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t = Truth()
    long_n = a.long_mib << 20
    # The long lines and the block, where a third, a half and two thirds of the IPs are written.
    specials = {
        a.ips // 3: [b"A" * long_n + b"\n"],
        a.ips // 2: [rng.randbytes(long_n).replace(b"\n", b"\0") + b"\n",
                     rng.randbytes(4 << 20) + b"\n"],
        2 * a.ips // 3: [(HEAVY + ' - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "')
                         .encode() + b"x" * long_n + b'"\n'],
    }
    octets = [str(x) for x in range(256)]
    n = 0          # valid lines so far
    with open(a.out, "wb") as f:
        for base in range(0, a.ips, 256):
            out = []
            # One 10.x.y.0/24 at a time, the other lines among its lines.
            for i in range(base, min(base + 256, a.ips)):
                if i in specials:
                    f.write("".join(out).encode("latin-1"))
                    out = []
                    for s in specials[i]:
                        t.raw(s)
                        if len(s) - 1 > LINE_MAX and b"\n" not in s[:-1]:
                            t.long.append({"start": f.tell(), "end": f.tell() + len(s), "valid_before": n})
                        f.write(s)
                n += 1
                while n % 50 == 0 or n % 200 == 125:
                    if n % 50 == 0:
                        status = 200 if n % 100 else 404
                        out.append(HEAVY_LINE[status])
                        t.heavy += 1
                        t.heavy_2xx += status == 200
                        t.heavy_4xx += status == 404
                        t.bytes += 1000
                    else:
                        out.append(UA_FMT % t.ua_requests)
                        t.ua_requests += 1
                    n += 1
                out.append("10." + octets[i >> 16 & 255] + "." + octets[i >> 8 & 255] + "." +
                           octets[i & 255] + TAIL)
                t.bytes += 512
                if n % 5000 == 1:
                    g = garbage_line(rng)
                    t.raw(g)
                    out.append(g.decode("latin-1"))
            f.write("".join(out).encode("latin-1"))
        size = f.tell()
    t.valid = n
    json.dump({"size": size, "valid": t.valid, "bytes": t.bytes, "distinct_ips": a.ips + 2,
               "heavy_ip": HEAVY, "heavy": t.heavy, "heavy_2xx": t.heavy_2xx,
               "heavy_4xx": t.heavy_4xx, "ua_ip": UA_IP, "ua_requests": t.ua_requests,
               "ua_distinct": t.ua_requests, "malformed": t.malformed, "too_long": t.too_long,
               "long": t.long},
              sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
