#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# activity.sh: the agent's activity counts (DESIGN 12) for each listed IP equal what `ss -tin`
# shows for that peer in the same snapshot, on a mix with every case.  In the host namespace a
# keep-alive HTTP-ish server (tests/tools/scenario.py) on 198.18.0.1:8080; from the peer:
#   198.19.1.1  nat        300 connections, a request a second   (active, answered)
#   198.19.1.2  flood      400 connections that never send       (unanswered, idle)
#   198.19.1.3  slowloris  200 connections, a header every 10 s  (unanswered, active or idle)
#   198.19.1.4  ordinary   5 connections, and 198.19.1.5 the same
#   198.19.0.1  sockgen's SYN flood, 150 SYN_RECV                (no ESTABLISHED: activity 0)
#
# usage: bash tests/integration/activity.sh BUILD_DIR      (root: network namespaces)
set -euo pipefail

build=$(cd "${1:?usage: activity.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
scenario=$here/../tools/scenario.py
# shellcheck source=../tools/netns.sh
source "$here/../tools/netns.sh"
fs_netns_test activity.sh fsac$$
p=$prefix-p
fail() {
	echo "activity.sh: FAIL: $*" >&2
	for f in "$tmp"/*.err; do
		[[ -s $f ]] && { echo "--- $(basename "$f")" >&2; tail -5 "$f" >&2; }
	done
	exit 1
}

# The SYN flood first: sockgen holds its sockets until fd 3 (its stdin FIFO) closes, so
# nothing started after it may inherit fd 3.
fs_sockgen_start "$build/sockgen" "$prefix" "$tmp" --count SYN_RECV=150 --v6 0 --mapped 0 \
	--heavy 1 --heavy-share 100 --seed 11 --quiet --max-hold 300 || fail "sockgen"

# The server, then the clients; each started by `ip netns exec` itself so $! is its PID.
ip netns exec "$h" python3 "$scenario" serve --listen 198.18.0.1:8080 \
	>"$tmp/serve.out" 2>"$tmp/serve.err" 3>&- &
srv=$!
fs_cleanup_add "kill $srv 2>/dev/null; wait $srv 2>/dev/null"
for ((i = 0; i < 50; i++)); do
	grep -q '^listening' "$tmp/serve.out" && break
	kill -0 "$srv" 2>/dev/null || fail "server exited"
	sleep 0.1
done
grep -q '^listening' "$tmp/serve.out" || fail "server not listening in 5 s"

clients=()
client() { # NAME SOURCE KIND CONNS [ARGS...]
	local name=$1 src=$2 kind=$3 n=$4
	shift 4
	ip netns exec "$p" python3 "$scenario" client --server 198.18.0.1:8080 --source "$src" \
		--kind "$kind" --conns "$n" --duration 120 "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" 3>&- &
	clients+=("$!:$name:$kind:$n")
	fs_cleanup_add "kill $! 2>/dev/null; wait $! 2>/dev/null"
}
client nat 198.19.1.1 nat 300 --period 1
client flood 198.19.1.2 flood 400
client slowloris 198.19.1.3 slowloris 200 --period 10
client ord4 198.19.1.4 ordinary 5
client ord5 198.19.1.5 ordinary 5

# Each client says "ready KIND N" once its N connections are up (it gives up itself at 30 s).
for c in "${clients[@]}"; do
	IFS=: read -r pid name kind n <<<"$c"
	for ((i = 0; i < 350; i++)); do
		grep -qx "ready $kind $n" "$tmp/$name.out" && break
		kill -0 "$pid" 2>/dev/null || fail "client $name exited"
		sleep 0.1
	done
	grep -qx "ready $kind $n" "$tmp/$name.out" || fail "client $name not ready in 35 s"
done
echo "ready: nat 300, flood 400, slowloris 200, ordinary 2x5, SYN_RECV 150"

# The flood's connections must be older than the interval (5 s) before they count as idle,
# and every slowloris connection past its jittered first header.
sleep 12

# One snapshot: ss, the agent, ss again.  A connection whose count changed between the two
# ss runs (a slowloris header arriving, a last receive turning 5 s old) bounds the agent's.
# The agent twice: one dump (its choice under 20000 sockets), and split by state in two
# (--threads 2, as a daemon on a big host runs it), whose halves' activity is merged.
in_ns() { ip netns exec "$h" "$@"; }
in_ns ss -Htin state established >"$tmp/ss1.txt"
in_ns "$build/fleetstat-agent" --print=json --interval 5 >"$tmp/agent.json"
in_ns "$build/fleetstat-agent" --print=json --interval 5 --threads 2 >"$tmp/agent2.json"
in_ns ss -Htin state established >"$tmp/ss2.txt"

python3 - "$tmp" <<'PY' || fail "checks above"
import json, os, re, sys

INTERVAL = 5000
tmp = sys.argv[1]
agents = [json.load(open(os.path.join(tmp, f))) for f in ("agent.json", "agent2.json")]
# Which connections count: those of IPs listed by either run (the same IPs, checked below).
ips = {e["ip"]: e for r in reversed(agents) for e in r["top"]["ips"]}
bad = 0


def check(ok, msg):
    global bad
    print(("ok    " if ok else "FAIL  ") + msg)
    bad += not ok


def fold(addr):
    """ss's peer column to the agent's IP: no port, no brackets, ::ffff:a.b.c.d as a.b.c.d."""
    ip = addr.rpartition(":")[0].strip("[]")
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


def field(info, name):
    m = re.search(r"\b%s:(\d+)" % name, info)
    return int(m.group(1)) if m else 0  # ss leaves out a field that is 0


def snapshot(path):
    """{(local, peer): (ip, the counts of count_activity for this connection)} of listed IPs."""
    conns, key = {}, None
    for line in open(path):
        if not line[0].isspace():
            f = line.split()
            key = (f[2], f[3])
            continue
        ip = fold(key[1])
        if ip not in ips:
            continue
        rcv, snd = field(line, "lastrcv"), field(line, "lastsnd")
        br, ba = field(line, "bytes_received"), field(line, "bytes_acked")
        conns[key] = (ip, {"active": br > 0 and rcv < INTERVAL, "unanswered": ba <= 1,
                           "idle": rcv >= INTERVAL and snd >= INTERVAL,
                           "bytes_received": br, "bytes_acked": ba})
    return conns


s1, s2 = (snapshot(os.path.join(tmp, f)) for f in ("ss1.txt", "ss2.txt"))
check(set(s1) == set(s2), f"the same {len(s1)} connections of listed IPs in both ss snapshots")
check([e["ip"] for e in agents[0]["top"]["ips"]] == [e["ip"] for e in agents[1]["top"]["ips"]],
      "--threads 2 lists the same IPs")


def bounds(ip, k):
    """The connections of ip that count k in both snapshots (lo) and in either (hi): the
    agent's count lies between, and equals it when no connection changed."""
    one = [{key for key, (i, c) in s.items() if i == ip and c[k]} for s in (s1, s2)]
    return len(one[0] & one[1]), len(one[0] | one[1])


COUNTS = ("active", "unanswered", "idle")
crossed = sum(hi - lo for ip in ips for lo, hi in (bounds(ip, k) for k in COUNTS))
for run, r in zip(("", "--threads 2: "), agents):
    for e in r["top"]["ips"]:
        ip = e["ip"]
        c1 = [c for i, c in s1.values() if i == ip]
        c2 = [c for i, c in s2.values() if i == ip]
        est = e["states"].get("ESTABLISHED", 0)
        check(est == len(c1) == len(c2),
              f"{run}{ip}: ESTABLISHED {est}, ss {len(c1)} and {len(c2)}")
        a = e.get("activity")
        if a is None:
            check(False, f"{run}{ip}: no activity in the agent's entry")
            continue
        for k in COUNTS:
            lo, hi = bounds(ip, k)
            ss = f"{lo}..{hi}" if hi > lo else lo
            check(lo <= a[k] <= hi, f"{run}{ip}: {k} {a[k]}, ss {ss}")
        for k in ("bytes_received", "bytes_acked"):
            lo, hi = sum(c[k] for c in c1), sum(c[k] for c in c2)
            check(lo <= a[k] <= hi, f"{run}{ip}: {k} {a[k]}, ss {lo}..{hi}")
print(f"({crossed} connection counts changed between the two ss snapshots)")


def act(ip):
    e = ips.get(ip)
    if e is None:
        check(False, f"{ip} is not listed")
        return None
    return e["states"].get("ESTABLISHED", 0), e.get("activity") or {}


if x := act("198.19.1.2"):
    est, a = x
    check(est == a.get("unanswered") == a.get("idle") == 400 and a.get("active") == 0,
          f"flood 198.19.1.2: ESTABLISHED {est}, unanswered {a.get('unanswered')}, "
          f"idle {a.get('idle')}, active {a.get('active')} (want 400, 400, 400, 0)")
if x := act("198.19.1.3"):
    est, a = x
    # Every one sent its request line, none is ever answered: active (a header within 5 s)
    # or idle, and with headers spread over 10 s some of each.
    check(est == a.get("unanswered") == 200 and a.get("active", 0) + a.get("idle", 0) == 200
          and a.get("active", 0) > 0 and a.get("idle", 0) > 0,
          f"slowloris 198.19.1.3: ESTABLISHED {est}, unanswered {a.get('unanswered')}, "
          f"active {a.get('active')} + idle {a.get('idle')} (want 200, 200, both > 0, sum 200)")
if x := act("198.19.1.1"):
    est, a = x
    check(est == 300 and a.get("active", 0) >= 290 and a.get("unanswered") == 0,
          f"nat 198.19.1.1: ESTABLISHED {est}, active {a.get('active')}, "
          f"unanswered {a.get('unanswered')} (want 300, >= 290, 0)")
for ip in ("198.19.1.4", "198.19.1.5"):
    if x := act(ip):
        est, a = x
        check(est == 5 and a.get("unanswered") == 0,
              f"ordinary {ip}: ESTABLISHED {est}, unanswered {a.get('unanswered')} (want 5, 0)")
if x := act("198.19.0.1"):
    est, a = x
    sr = ips["198.19.0.1"]["states"].get("SYN_RECV", 0)
    check(sr == 150 and est == 0 and not any(a.values()),
          f"SYN flood 198.19.0.1: SYN_RECV {sr}, ESTABLISHED {est}, activity {a} "
          "(want 150, 0, all 0)")
sys.exit(1 if bad else 0)
PY

# Clean exits on SIGTERM: the clients close their connections, then the server, then sockgen.
for c in "${clients[@]}" "$srv:serve"; do
	IFS=: read -r pid name _ <<<"$c"
	kill "$pid"
	rc=0
	wait "$pid" || rc=$?
	[[ $rc -eq 0 ]] || fail "$name exited $rc on SIGTERM"
done
fs_sockgen_stop || fail "sockgen exited $?"
echo "activity.sh: PASS"
