#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# verdicts.sh: NAT egress or attacker from what the connections are doing (DESIGN 12), on real
# sockets in network namespaces, through a real agent and a real collector.  The host namespace
# serves HTTP (tests/tools/scenario.py serve); from the peer namespace:
#   198.19.1.1   NAT-like: 300 connections, a request and its answer on each every second
#   198.19.1.2   connection flood: 400 connections that send nothing
#   198.19.1.3   slowloris: 200 connections, a header line every 10 s, never a whole request
#   198.19.1.4-5 ordinary clients: 5 connections each, requests every second
#   198.19.0.1   SYN flood: 150 half-open connections (sockgen; the host drops the final ACKs)
# 1. A collector with no history: after three reports the flood and the slowloris are
#    conn-flood, the SYN flooder syn-flood, the NAT-like client busy (not an attack), the
#    ordinary clients not listed.
# 2. A fresh collector, the agent's spool holding a week in which the NAT-like client was there
#    every business hour: once the hours are built, the NAT-like client is nat-egress, the rest
#    as before.
#
# usage: bash tests/integration/verdicts.sh BUILD_DIR      (root: network namespaces)
set -euo pipefail

build=$(cd "${1:?usage: verdicts.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tools/netns.sh
source "$here/../tools/netns.sh"
fs_netns_test verdicts.sh fsvd$$
fail() {
	echo "verdicts.sh: FAIL: $*" >&2
	for f in "$tmp"/*.log; do
		[[ -f $f ]] && { echo "--- $(basename "$f")" >&2; tail -8 "$f" >&2; }
	done
	exit 1
}
in_ns() { ip netns exec "$h" "$@"; }
p=$prefix-p

# The SYN flooder first: sockgen takes its own ports and namespace rules.
fs_sockgen_start "$build/sockgen" "$prefix" "$tmp" --count SYN_RECV=150 --v6 0 --mapped 0 \
	--heavy 1 --heavy-share 100 --seed 5 --quiet --max-hold 600 ||
	fail "sockgen: $(cat "$tmp/sockgen.err")"

# $! must be the process itself (not ip netns exec's shell), and fd 3 (sockgen's) closed.
ip netns exec "$h" python3 "$here/../tools/scenario.py" serve --listen 198.18.0.1:8080 \
	>"$tmp/serve.log" 2>&1 3>&- &
fs_cleanup_add "kill $! 2>/dev/null; wait $! 2>/dev/null"
for ((i = 0; i < 50; i++)); do
	in_ns bash -c 'exec 4<>/dev/tcp/198.18.0.1/8080' 2>/dev/null && break
	sleep 0.1
done
client() { # SOURCE KIND N [PERIOD]
	ip netns exec "$p" python3 "$here/../tools/scenario.py" client --server 198.18.0.1:8080 \
		--source "$1" --kind "$2" --conns "$3" ${4:+--period "$4"} --duration 500 \
		>"$tmp/client-$1.out" 2>"$tmp/client-$1.log" 3>&- &
	fs_cleanup_add "kill $! 2>/dev/null; wait $! 2>/dev/null"
}
client 198.19.1.1 nat 300 1
client 198.19.1.2 flood 400
client 198.19.1.3 slowloris 200 10
client 198.19.1.4 ordinary 5 1
client 198.19.1.5 ordinary 5 1
ready() { [ "$(cat "$tmp"/client-*.out 2>/dev/null | grep -c '^ready ')" -eq 5 ]; }
for ((i = 0; i < 300; i++)); do ready && break; sleep 0.1; done
ready || fail "the clients did not all connect in 30 s"
echo "clients: $(cat "$tmp"/client-*.out | tr '\n' ' ')"

# collector_up DB [FLAGS...]; agent_up STATE_DIR: in the host namespace, on its loopback.
collector_up() {
	local db=$1
	shift
	ip netns exec "$h" "$build/fleetstat-collector" --listen 127.0.0.1:7400 \
		--http 127.0.0.1:7401 --db "$db" "$@" >>"$tmp/collector.log" 2>&1 3>&- &
	col=$!
	fs_cleanup_add "kill $col 2>/dev/null; wait $col 2>/dev/null"
	for ((i = 0; i < 50; i++)); do
		in_ns bash -c 'exec 4<>/dev/tcp/127.0.0.1/7400' 2>/dev/null && return 0
		sleep 0.2
	done
	fail "the collector did not listen"
}
agent_up() {
	ip netns exec "$h" "$build/fleetstat-agent" --collector 127.0.0.1:7400 --tier web \
		--interval 5 --state-dir "$1" >>"$tmp/agent.log" 2>&1 3>&- &
	agent=$!
	fs_cleanup_add "kill $agent 2>/dev/null; wait $agent 2>/dev/null"
}
stop() { kill "$agent" "$col"; wait "$agent" "$col" 2>/dev/null || true; }
FS() { in_ns "$build/fleetstat" --server http://127.0.0.1:7401 "$@"; }
reports() { in_ns sqlite3 "$1" "SELECT count(*) FROM reports WHERE collected_at_ms > $2" 2>/dev/null; }

# check FILE NAT_VERDICT: the labelled verdicts in a suspects JSON.
check() {
	python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
v = {x["ip"]: x for x in s["suspects"]}
want = {"198.19.1.1": sys.argv[2], "198.19.1.2": "conn-flood", "198.19.1.3": "conn-flood",
        "198.19.0.1": "syn-flood"}
got = {ip: v[ip]["verdict"] if ip in v else None for ip in want}
assert got == want, (got, want)
for ip in ("198.19.1.4", "198.19.1.5"):
    assert ip not in v, v[ip]
for ip in ("198.19.1.1", "198.19.1.2", "198.19.1.3", "198.19.0.1"):
    print(f"  {ip:12} {v[ip]['verdict']:10} {v[ip]['why']}")
PY
}

# 1. No history.
mkdir -m 700 "$tmp/state1"
collector_up "$tmp/one.db"
t0=$(date +%s%3N)
agent_up "$tmp/state1"
three() { [ "$(reports "$tmp/one.db" "$t0" || echo 0)" -ge 3 ]; }
for ((i = 0; i < 250; i++)); do three && break; sleep 0.2; done
[ "$(reports "$tmp/one.db" "$t0")" -ge 3 ] || fail "fewer than three reports in 50 s"
FS suspects --format json >"$tmp/one.json" || fail "suspects"
echo "no history, after three reports:"
check "$tmp/one.json" busy || fail "verdicts with no history: $(cat "$tmp/one.json")"
FS suspects --format ipset >"$tmp/ipset.txt"
for ip in 198.19.1.2 198.19.1.3 198.19.0.1; do
	grep -q "^ipset add fleetstat-block $ip " "$tmp/ipset.txt" || fail "ipset lacks $ip"
done
! grep -q '198.19.1.1 ' "$tmp/ipset.txt" || fail "ipset lists the NAT-like client"
FS top-ips --format json | python3 -c '
import json, sys
v = {x["ip"]: x for x in json.load(sys.stdin)["ips"]}
a = v["198.19.1.2"]["activity"]
assert a["unanswered"] == a["established"] == 400 and a["active"] == 0, a
f = a
a = v["198.19.1.1"]["activity"]
assert a["unanswered"] == 0 and a["established"] == 300, a
print(f"top-ips activity: flood {f}; NAT-like {a}")' || fail "top-ips activity"
stop

# 2. A week of history in the agent's spool: the NAT-like client every business hour (09-17
# UTC) at its level now, a light peer every hour; the collector keeps 9 days of raw reports.
mkdir -m 700 "$tmp/state2"
python3 - "$(date +%s%3N)" >"$tmp/week.script" <<'PY'
import sys
now, H, M = int(sys.argv[1]), 3600000, 60000
b1 = (now - 15 * M) // H * H
for t in range(b1 - 7 * 24 * H, b1, H):
    for m in (5, 25, 45):
        line = f"{t + m * M} 192.0.2.99 ESTABLISHED 5"
        if 9 <= t // H % 24 <= 17:
            line += " 198.19.1.1 ESTABLISHED 300"
        print(line)
PY
"$build/spoolgen" --state-dir "$tmp/state2" --interval 600 <"$tmp/week.script" \
	2>>"$tmp/spoolgen.log" || fail "spoolgen: $(tail -1 "$tmp/spoolgen.log")"
collector_up "$tmp/week.db" --retention 9d
agent_up "$tmp/state2"
built() {
	FS suspects --format json >"$tmp/week.json" 2>/dev/null &&
		python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))
sys.exit(0 if s["baseline_pending_hours"] == 0 and s["suspects"] else 1)' "$tmp/week.json"
}
start=$SECONDS
for ((i = 0; i < 300; i++)); do built && break; sleep 1; done
built || fail "the week's hours not built in 300 s: $(head -c 400 "$tmp/week.json")"
echo "a week of history ($(grep -c . "$tmp/week.script") spooled reports, built in $((SECONDS - start)) s):"
check "$tmp/week.json" nat-egress || fail "verdicts on a week: $(cat "$tmp/week.json")"
stop
