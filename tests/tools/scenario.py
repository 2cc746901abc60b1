#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scenario.py: labelled TCP populations for the agent's activity counts (DESIGN 12).

  scenario.py serve --listen ADDR:PORT [--listen ...]
      An HTTP-ish keep-alive server: each complete request (a "GET ..." line, later an empty
      line) gets "HTTP/1.1 200 OK" with a 300-byte body; an incomplete one is never answered.
  scenario.py client --server ADDR:PORT --source ADDR --kind KIND --conns N
                     [--period SEC] [--duration SEC]
      N connections from ADDR (one remote IP per population), then per KIND:
        nat, ordinary  a complete request every --period s (default 1), reading the answer
        flood          nothing, ever
        slowloris      "GET / HTTP/1.1" once, then a header line every --period s (default 10),
                       never the empty line
      Prints "ready KIND N" on stdout once all N are up; runs until --duration (default 600)
      or SIGTERM, then closes everything and exits 0.  Exits 1 if N are not up within 30 s.
Stdlib only; meant for the test namespaces of tests/tools/netns.sh."""
import argparse
import asyncio
import random
import resource
import signal
import socket
import sys

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)  # <linux/in.h>; not named in Python 3.11
BODY = b"x" * 300
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
REQUEST = b"GET / HTTP/1.1\r\nHost: scenario\r\n\r\n"
CONNECT_WITHIN = 30.0  # seconds for all N connections
IN_FLIGHT = 64         # connects at once: far below any listen backlog


def addr_port(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def stop_event():
    """An event set by SIGTERM or SIGINT."""
    ev = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ev.set)
    return ev


# --- server ---

async def handle(reader, writer):
    in_request = False
    try:
        while line := await reader.readline():
            if line.startswith(b"GET "):
                in_request = True
            elif line in (b"\r\n", b"\n") and in_request:
                in_request = False
                writer.write(RESPONSE)
                await writer.drain()
    except (ConnectionError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def serve(args):
    stop = stop_event()
    servers = []
    for spec in args.listen:
        host, port = addr_port(spec)
        servers.append(await asyncio.start_server(handle, host, port, backlog=4096,
                                                  reuse_address=True))
    print("listening " + " ".join(args.listen), flush=True)
    await stop.wait()
    for s in servers:
        s.close()
    return 0


# --- client ---

async def open_from(host, port, source):
    """A connection from source.  IPv6 binds an address of an AnyIP local route (netns.sh's
    2001:db8:f1::/64) only with IP_FREEBIND; IPv4 takes the route as local."""
    fam = socket.AF_INET6 if ":" in source else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        sock.bind((source, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


async def connect_all(args, host, port):
    """N connections from --source, IN_FLIGHT at a time, retrying failures until the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONNECT_WITHIN
    gate = asyncio.Semaphore(IN_FLIGHT)
    conns = []

    async def one():
        async with gate:
            while True:
                try:
                    conns.append(await asyncio.wait_for(
                        open_from(host, port, args.source), max(0.1, deadline - loop.time())))
                    if len(conns) % 100 == 0:
                        print(f"scenario {args.kind}: {len(conns)} up", file=sys.stderr)
                    return
                except (OSError, asyncio.TimeoutError) as e:
                    if loop.time() >= deadline:
                        raise TimeoutError(str(e) or "timed out") from None
                    await asyncio.sleep(0.2)

    try:
        await asyncio.gather(*(one() for _ in range(args.conns)))
    except TimeoutError as e:
        print(f"scenario {args.kind}: only {len(conns)} of {args.conns} connections to "
              f"{args.server} from {args.source} within {CONNECT_WITHIN:.0f} s ({e})",
              file=sys.stderr)
        for _, w in conns:
            w.close()
        return None
    return conns


async def nat(reader, writer, period):
    """A complete request every period (first one jittered), reading each answer."""
    await asyncio.sleep(random.uniform(0, period))
    while True:
        writer.write(REQUEST)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        await asyncio.sleep(period)


async def slowloris(reader, writer, period):
    """The request line at once, then one header line every period (jittered), never the end."""
    writer.write(b"GET / HTTP/1.1\r\n")
    await writer.drain()
    await asyncio.sleep(random.uniform(0, period))
    while True:
        writer.write(b"X-a: b\r\n")
        await writer.drain()
        await asyncio.sleep(period)


async def client(args):
    stop = stop_event()
    host, port = addr_port(args.server)
    period = args.period if args.period is not None else (10.0 if args.kind == "slowloris" else 1.0)
    conns = await connect_all(args, host, port)
    if conns is None:
        return 1
    work = {"nat": nat, "ordinary": nat, "slowloris": slowloris}.get(args.kind)
    tasks = [asyncio.create_task(work(r, w, period)) for r, w in conns] if work else []
    print(f"ready {args.kind} {len(conns)}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), args.duration)
    except asyncio.TimeoutError:
        pass
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
    for t in tasks:
        t.cancel()
    for _, w in conns:
        w.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    if failed:
        print(f"scenario {args.kind}: {len(failed)} connections failed: {failed[0].exception()!r}",
              file=sys.stderr)
    return 0


def main():
    ap = argparse.ArgumentParser(description="labelled TCP populations (see the file's head)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--listen", action="append", required=True, metavar="ADDR:PORT")
    c = sub.add_parser("client")
    c.add_argument("--server", required=True, metavar="ADDR:PORT")
    c.add_argument("--source", required=True, metavar="ADDR")
    c.add_argument("--kind", required=True, choices=["nat", "flood", "slowloris", "ordinary"])
    c.add_argument("--conns", type=int, required=True)
    c.add_argument("--period", type=float)
    c.add_argument("--duration", type=float, default=600.0)
    args = ap.parse_args()
    raise_nofile()
    sys.exit(asyncio.run(serve(args) if args.cmd == "serve" else client(args)))


if __name__ == "__main__":
    main()
