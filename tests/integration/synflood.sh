#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# synflood.sh: a live SYN flood in network namespaces, seen by a real agent and collector.
# One peer address opens 300 connections to a real listener of the host namespace whose
# nftables drop the final ACKs (tests/tools/netns.sh), so the host holds 300 SYN_RECV request
# sockets from it, with tcp_syncookies=0.  The agent (netlink, every second) and the collector
# run in the host namespace; `fleetstat suspects` must call the peer syn-flood with the count
# `ss -tan` shows for it there, list it in --format ipset, and `fleetstat sysctl` must advise
# tcp_syncookies for the host.
#
# usage: bash tests/integration/synflood.sh BUILD_DIR      (root: network namespaces)
set -euo pipefail

build=$(cd "${1:?usage: synflood.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tools/netns.sh
source "$here/../tools/netns.sh"
fs_netns_test synflood.sh fssf$$
fail() {
	echo "synflood.sh: FAIL: $*" >&2
	for f in "$tmp"/*.log; do
		[[ -f $f ]] && { echo "--- $(basename "$f")" >&2; tail -15 "$f" >&2; }
	done
	exit 1
}
in_ns() { ip netns exec "$h" "$@"; }

fs_sockgen_start "$build/sockgen" "$prefix" "$tmp" --count SYN_RECV=300 --v6 0 --mapped 0 \
	--heavy 1 --heavy-share 100 --seed 11 --quiet --max-hold 300 || fail "sockgen: $(cat "$tmp/sockgen.err")"

# The collector and the agent in the host namespace, on its own loopback (without fd 3, the
# pipe whose end tells sockgen to stop).  Not through in_ns: $! must be the process itself.
ip netns exec "$h" "$build/fleetstat-collector" --listen 127.0.0.1:7400 --http 127.0.0.1:7401 \
	--db "$tmp/fleetstat.db" >"$tmp/collector.log" 2>&1 3>&- &
col=$!
fs_cleanup_add "kill $col 2>/dev/null; wait $col 2>/dev/null"
for ((i = 0; i < 50; i++)); do
	in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/7400' 2>/dev/null && break
	sleep 0.2
done
ip netns exec "$h" "$build/fleetstat-agent" --collector 127.0.0.1:7400 --tier web --interval 1 \
	--state-dir "$tmp/state" >"$tmp/agent.log" 2>&1 3>&- &
agent=$!
fs_cleanup_add "kill $agent 2>/dev/null; wait $agent 2>/dev/null"

# The flooder as ss sees it: the peer with the most SYN_RECV sockets.
read -r n_ss ip < <(in_ns ss -Htan state syn-recv | awk '{sub(/:[0-9]+$/, "", $4); print $4}' |
	sort | uniq -c | sort -rn | head -1)
[[ ${n_ss:-0} -ge 300 ]] || fail "ss shows ${n_ss:-no} SYN_RECV from one peer, wanted 300"
echo "ss: $n_ss SYN_RECV from $ip"

verdict() {
	in_ns "$build/fleetstat" --server http://127.0.0.1:7401 suspects --format json \
		>"$tmp/s.json" 2>>"$tmp/cli.log" &&
		python3 - "$tmp/s.json" "$ip" <<-'PY'
		import json, sys
		s = json.load(open(sys.argv[1]))
		v = [x for x in s["suspects"] if x["ip"] == sys.argv[2]]
		sys.exit(0 if v and v[0]["verdict"] == "syn-flood" else 1)
		PY
}
for ((i = 0; i < 100; i++)); do
	verdict && break
	sleep 0.2
done
verdict || fail "no syn-flood verdict for $ip in 20 s: $(head -c 800 "$tmp/s.json")"
python3 - "$tmp/s.json" "$ip" "$n_ss" <<'PY' || fail "suspects: $(cat "$tmp/s.json")"
import json, sys
s = json.load(open(sys.argv[1]))
x = [x for x in s["suspects"] if x["ip"] == sys.argv[2]][0]
assert x["now"] == int(sys.argv[3]) and x["syn_recv"] == int(sys.argv[3]), x
assert x["syn_recv_share"] == 1 and x["hosts"] == 1 and x["tiers"] == ["web"], x
print(f'suspects: {x["ip"]} {x["verdict"]}: {x["why"]}')
PY
in_ns "$build/fleetstat" --db "$tmp/fleetstat.db" suspects --format ipset >"$tmp/ipset.txt"
grep -q "^ipset add fleetstat-block $ip -exist  # syn-flood$" "$tmp/ipset.txt" ||
	fail "ipset: $(cat "$tmp/ipset.txt")"

# The agent sends its sysctls with the first report: SYN_RECV high with tcp_syncookies=0.
in_ns "$build/fleetstat" --server http://127.0.0.1:7401 sysctl --format json >"$tmp/sysctl.json"
python3 - "$tmp/sysctl.json" <<'PY' || fail "sysctl advice: $(cat "$tmp/sysctl.json")"
import json, sys
adv = json.load(open(sys.argv[1]))["advice"]
assert any(a["rule"] == "syncookies" for a in adv), adv
PY

# A clean exit on SIGTERM (under ASan: no leak) from both.
for pid in "$agent" "$col"; do
	kill "$pid"
	rc=0
	wait "$pid" || rc=$?
	[[ $rc -eq 0 ]] || fail "process $pid exited $rc on SIGTERM"
done
fs_sockgen_stop || fail "sockgen exited $?"
echo "synflood.sh: PASS"
