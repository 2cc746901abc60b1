#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""accessgen.py: a web server's access log in the combined format, for benchmarks and tests.

usage: accessgen.py OUT --bytes N [--ips N] [--seed S]      write about N bytes
       accessgen.py OUT --rate R --seconds T [--ips N]      append R lines a second for T seconds
                                                            (a server writing as it goes)

Clients are drawn from --ips addresses (default 200,000) with a Zipf-like skew (a few heavy,
NAT-like ones with hundreds of user agents; most with one or two); statuses mostly 2xx with
3xx, 4xx and some 5xx; paths, referers and user agents of realistic lengths.  Deterministic
for a seed.
"""
import argparse
import random
import sys
import time

BROWSERS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.{v}",
]
STATUSES = [200] * 70 + [304] * 10 + [301, 302] * 3 + [404] * 8 + [403, 400] + [500, 503]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def clients(n, rng):
    ips = ["%d.%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255),
                            rng.randint(1, 254)) for _ in range(n)]
    uas = [rng.choice(BROWSERS).format(v=rng.randint(90, 130)) for _ in range(600)]
    agents = []
    for i in range(n):
        k = 300 if i < 20 else rng.choice((1, 1, 1, 2, 3))   # the first 20: NAT egresses
        agents.append([rng.choice(uas) for _ in range(k)])
    return ips, agents


def line(rng, ips, agents, t):
    # Zipf-like: the index of a client falls off as 1/rank.
    k = min(int(rng.paretovariate(1.0)) - 1, len(ips) - 1)
    tm = time.gmtime(t)
    return '%s - - [%02d/%s/%d:%02d:%02d:%02d +0000] "GET /shop/item/%d?ref=%d HTTP/1.1" %d %d ' \
           '"https://www.example.org/shop/list?page=%d" "%s"\n' % (
               ips[k], tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year, tm.tm_hour, tm.tm_min,
               tm.tm_sec, rng.randint(1, 99999), rng.randint(1, 999), rng.choice(STATUSES),
               rng.randint(200, 90000), rng.randint(1, 50), rng.choice(agents[k]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--bytes", type=int)
    ap.add_argument("--rate", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--ips", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    ips, agents = clients(a.ips, rng)
    t0 = 1796601600
    if a.bytes:
        written = 0
        with open(a.out, "w") as f:
            while written < a.bytes:
                chunk = "".join(line(rng, ips, agents, t0 + written // 20000) for _ in range(20000))
                f.write(chunk)
                written += len(chunk)
        return 0
    if not a.rate or not a.seconds:
        ap.error("--bytes, or --rate and --seconds")
    start = time.monotonic()
    sent = 0
    with open(a.out, "a") as f:
        while True:
            now = time.monotonic() - start
            if now >= a.seconds:
                break
            due = int(now * a.rate) - sent
            if due > 0:
                f.write("".join(line(rng, ips, agents, int(t0 + now)) for _ in range(due)))
                f.flush()
                sent += due
            time.sleep(0.01)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
