#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""reqclients.py: labelled HTTP request populations for the request verdicts (DESIGN 12).

  reqclients.py nat --server ADDR:PORT --source ADDR [--conns 300] [--agents 200]
                    [--period 1] [--duration SEC]
      A NAT egress: --conns keep-alive connections from ADDR, each a request every --period s
      (first one jittered), connection i with user agent i % --agents (every agent in use),
      a normal status mix: per 100 requests 86 pages (200), 7 conditional (If-Modified-Since
      in the future: 304 with nginx's `if_modified_since before`), 4 /old (301), 3 missing
      pages (404).
  reqclients.py scraper --server ADDR:PORT --source ADDR [--conns 2] [--rate 50]
                        [--missing 0.6] [--duration SEC]
      A scraper: one user agent, --rate requests a second in all over --conns keep-alive
      connections, paced on a clock of their own (no drift), --missing of them to pages that
      are not there (404), the rest to pages that are.
  Prints "ready KIND N" on stdout once all N connections are up, and at the end (--duration,
  default 600, or SIGTERM) one line "done KIND requests=N 2xx=.. 3xx=.. 4xx=.. 5xx=..
  other=.. reconnects=.. failures=.. seconds=S rate=R user_agents=U", then exits 0.  Exits 1
  if the N are not up within 30 s.  A connection the server closes is opened again (counted).
Stdlib only (Python 3.11+: asyncio.timeout); meant for the namespaces of
tests/integration/reqverdicts.sh."""
import argparse
import asyncio
import os
import random
import signal
import socket
import sys

from scenario import addr_port, raise_nofile   # the same directory

CONNECT_WITHIN = 30.0  # seconds for all N connections
IN_FLIGHT = 64         # connects at once
ANSWER_WITHIN = 10.0   # seconds for a response
STOP_WITHIN = 5.0      # seconds for the connections' tasks to end once stopped
HOST = "www.example"
FUTURE = "Fri, 31 Dec 2037 23:59:59 GMT"
PAGES = ["/", "/index.html", "/shop/item.html", "/img/logo.png"]




class Stats:
    def __init__(self):
        self.requests = 0
        self.cls = dict.fromkeys(["2xx", "3xx", "4xx", "5xx", "other"], 0)
        self.reconnects = 0
        self.failures = 0
        self.agents = set()

    def add(self, status, ua):
        self.requests += 1
        c = f"{status // 100}xx" if 2 <= status // 100 <= 5 else "other"
        self.cls[c] += 1
        self.agents.add(ua)


async def open_from(host, port, source):
    fam = socket.AF_INET6 if ":" in source else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    try:
        sock.bind((source, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


async def read_response(reader):
    """One HTTP/1.1 response: its status; the body read (Content-Length or chunked)."""
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("closed by the server")
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise ValueError(f"bad status line {line!r}")
    status = int(parts[1])
    length, chunked, close = 0, False, False
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
        elif name == b"connection" and value == b"close":
            close = True
    if status == 304 or status // 100 == 1:
        return status, close
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


class Conn:
    """A keep-alive connection from source, opened again when the server closes it."""

    def __init__(self, args, host, port):
        self.args, self.host, self.port = args, host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await open_from(self.host, self.port, self.args.source)

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def request(self, stats, path, ua, extra=""):
        for attempt in range(3):
            try:
                if self.writer is None:
                    await self.open()
                    stats.reconnects += 1
                self.writer.write((f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: {ua}\r\n"
                                   f"Accept: */*\r\n{extra}\r\n").encode())
                await self.writer.drain()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
                # comes as the response does, and the task goes on (a client that never ended).
                async with asyncio.timeout(ANSWER_WITHIN):
                    status, close = await read_response(self.reader)
                stats.add(status, ua)
                if close:
                    self.close()
                return
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                self.close()
        stats.failures += 1
        await asyncio.sleep(0.2)


async def connect_all(args, host, port):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONNECT_WITHIN
    gate = asyncio.Semaphore(IN_FLIGHT)
    conns = [Conn(args, host, port) for _ in range(args.conns)]

    async def one(c):
        async with gate:
            while True:
                try:
                    await asyncio.wait_for(c.open(), max(0.1, deadline - loop.time()))
                    return
                except (OSError, asyncio.TimeoutError) as e:
                    if loop.time() >= deadline:
                        raise TimeoutError(str(e) or "timed out") from None
                    await asyncio.sleep(0.2)

    try:
        await asyncio.gather(*(one(c) for c in conns))
    except TimeoutError as e:
        up = sum(c.writer is not None for c in conns)
        print(f"reqclients {args.kind}: only {up} of {args.conns} connections to {args.server} "
              f"from {args.source} within {CONNECT_WITHIN:.0f} s ({e})", file=sys.stderr)
        for c in conns:
            c.close()
        return None
    return conns


def nat_agent(i):
    v = 100 + i % 30
    return (f"Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0 "
            f"natclient/{i}")


async def nat(c, i, args, stats, stop):
    loop = asyncio.get_running_loop()
    ua = nat_agent(i % args.agents)
    t = loop.time() + random.uniform(0, args.period)
    k = 0
    while not stop.is_set():
        await asyncio.sleep(max(0.0, t - loop.time()))
        m = (7 * i + k) % 100
        if m < 3:
            await c.request(stats, f"/gone/{i}-{k}.html", ua)
        elif m < 10:
            await c.request(stats, "/index.html", ua, f"If-Modified-Since: {FUTURE}\r\n")
        elif m < 14:
            await c.request(stats, "/old", ua)
        else:
            await c.request(stats, PAGES[(i + k) % len(PAGES)], ua)
        k += 1
        t = max(t + args.period, loop.time() - args.period)  # late: no burst to catch up


SCRAPER_UA = "Mozilla/5.0 (compatible; fleetstat-test-scraper/1.0; +http://www.example/bot)"


async def scraper(c, i, args, stats, stop):
    loop = asyncio.get_running_loop()
    period = args.conns / args.rate
    t = loop.time() + i * period / args.conns
    k = 0
    miss = round(args.missing * 100)
    while not stop.is_set():
        await asyncio.sleep(max(0.0, t - loop.time()))
        n = k * args.conns + i
        if n * 37 % 100 < miss:  # 37 is prime to 100: the missing ones spread evenly
            await c.request(stats, f"/catalog/item-{n}.html", SCRAPER_UA)
        else:
            await c.request(stats, PAGES[n % len(PAGES)], SCRAPER_UA)
        k += 1
        t = max(t + period, loop.time() - 1.0)


async def run(args):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, port = addr_port(args.server)
    conns = await connect_all(args, host, port)
    if conns is None:
        return 1
    stats = Stats()
    work = nat if args.kind == "nat" else scraper
    started = loop.time()
    tasks = [asyncio.create_task(work(c, i, args, stats, stop)) for i, c in enumerate(conns)]
    print(f"ready {args.kind} {len(conns)}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), args.duration)
    except asyncio.TimeoutError:
        pass
    stop.set()
    secs = loop.time() - started
    broken = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
    for t in tasks:
        t.cancel()
    _, stuck = await asyncio.wait(tasks, timeout=STOP_WITHIN)
    for c in conns:
        c.close()
    if stuck:
        print(f"reqclients {args.kind}: {len(stuck)} connections' tasks did not end in "
              f"{STOP_WITHIN:.0f} s", file=sys.stderr)
    if broken:
        print(f"reqclients {args.kind}: {len(broken)} connections broke: {broken[0].exception()!r}",
              file=sys.stderr)
    cls = " ".join(f"{k}={v}" for k, v in stats.cls.items())
    print(f"done {args.kind} requests={stats.requests} {cls} reconnects={stats.reconnects} "
          f"failures={stats.failures} seconds={secs:.1f} rate={stats.requests / max(secs, 0.001):.1f} "
          f"user_agents={len(stats.agents)}", flush=True)
    if stuck:  # asyncio.run would wait for them: leave now, the figures printed
        sys.stderr.flush()
        os._exit(0)
    return 0


def main():
    ap = argparse.ArgumentParser(description="labelled HTTP request populations (see the file's head)")
    ap.add_argument("kind", choices=["nat", "scraper"])
    ap.add_argument("--server", required=True, metavar="ADDR:PORT")
    ap.add_argument("--source", required=True, metavar="ADDR")
    ap.add_argument("--conns", type=int)
    ap.add_argument("--agents", type=int, default=200, help="nat: distinct user agents")
    ap.add_argument("--period", type=float, default=1.0, help="nat: seconds between a connection's requests")
    ap.add_argument("--rate", type=float, default=50.0, help="scraper: requests a second in all")
    ap.add_argument("--missing", type=float, default=0.6, help="scraper: share to missing pages")
    ap.add_argument("--duration", type=float, default=600.0)
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    if args.conns is None:
        args.conns = 300 if args.kind == "nat" else 2
    if args.conns < 1 or args.agents < 1 or args.period <= 0 or args.rate <= 0 \
            or not 0 <= args.missing <= 1:
        ap.error("--conns, --agents, --period, --rate must be positive, --missing in [0, 1]")
    random.seed(args.seed)
    raise_nofile()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
