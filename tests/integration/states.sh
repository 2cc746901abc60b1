#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# states.sh: on 20,000 generated sockets in every state, fleetstat-agent equals `ss -tan`
# state by state, IP by IP and port by port (18 listening ports, inbound, and outbound
# connections to two remote ports), and the netstat -n | awk one-liner state by state.
#
# usage: bash tests/integration/states.sh BUILD_DIR      (root: network namespaces)
set -euo pipefail

build=${1:?usage: states.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
total=${FS_STATES_TOTAL:-20000}

# shellcheck source=../tools/netns.sh
source "$here/../tools/netns.sh"
fs_netns_test states.sh fsst$$

# sockgen holds the sockets until fs_sockgen_stop.
fs_sockgen_start "$build/sockgen" "$prefix" "$tmp" --total "$total" --mix default \
	--seed 7 --quiet --max-hold 600 || { echo "states.sh: FAIL: sockgen" >&2; exit 1; }
echo "sockgen: $(tail -1 "$tmp/sockgen.out")"

in_ns() { ip netns exec "$h" "$@"; }

# One snapshot: agent, ss, netstat|awk, agent again.  TIME_WAIT sockets expire 60 s after
# they were made, so a snapshot counts only if the agent saw the same before and after.
stable=0
for ((try = 1; try <= 5; try++)); do
	in_ns "$build/fleetstat-agent" --print=json --ports 64 >"$tmp/a1.json"
	in_ns ss -tan >"$tmp/ss.txt"
	in_ns netstat -n | awk '/^tcp/ {++S[$NF]} END {for(a in S) print a, S[a]}' >"$tmp/awk.txt"
	in_ns "$build/fleetstat-agent" --print=json --ports 64 >"$tmp/a2.json"
	if python3 - "$tmp/a1.json" "$tmp/a2.json" <<-'PY'; then
		import json, sys
		a, b = (json.load(open(f)) for f in sys.argv[1:3])
		key = lambda r: (r["states"], r["top"]["ips"] and [(e["ip"], e["states"]) for e in r["top"]["ips"]], r["ports"])
		sys.exit(0 if key(a) == key(b) else 1)
	PY
		stable=1
		break
	fi
	echo "states.sh: sockets moved during snapshot $try, taking another"
done
[[ $stable -eq 1 ]] || { echo "states.sh: FAIL: no stable snapshot in 5 tries" >&2; exit 1; }

python3 "$here/compare.py" "$tmp/a1.json" "$tmp/ss.txt" "$tmp/awk.txt" "$total"

# Every state the generator makes is there, and IPv6 and mapped peers were folded in.
python3 - "$tmp/a1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
want = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
        "CLOSE_WAIT", "LAST_ACK", "CLOSING"]
missing = [s for s in want if not r["states"][s]]
assert not missing, f"states missing: {missing}"
ips = [e["ip"] for e in r["top"]["ips"]]
assert any(":" in ip for ip in ips), "no IPv6 address among the top IPs"
assert r["top"]["distinct_ips"] > 1000, r["top"]["distinct_ips"]
assert r["source"] == "netlink", r["source"]
print("all nine states present; top IPs include IPv6; %d distinct IPs" % r["top"]["distinct_ips"])
PY

# The /proc fallback sees the same sockets.
in_ns "$build/fleetstat-agent" --print=json --source proc >"$tmp/p.json"
in_ns "$build/fleetstat-agent" --print=json >"$tmp/a3.json"
python3 - "$tmp/p.json" "$tmp/a3.json" <<'PY'
import json, sys
p, a = (json.load(open(f)) for f in sys.argv[1:3])
assert p["source"] == "proc"
assert p["states"] == a["states"], (p["states"], a["states"])
# /proc/net/tcp has no TCP info, so only netlink's entries carry activity.
assert all("activity" not in e for e in p["top"]["ips"])
assert all("activity" in e for e in a["top"]["ips"])
for e in a["top"]["ips"]:
    del e["activity"]
assert p["top"]["ips"] == a["top"]["ips"], "per-IP counts differ between proc and netlink"
# /proc/net/tcp lists a family's listeners before its connections: the same split by service.
assert p["ports"] == a["ports"], ("ports differ between proc and netlink", p["ports"], a["ports"])
print("--source proc equals netlink")
PY

fs_sockgen_stop || { echo "states.sh: FAIL: sockgen exited $?" >&2; exit 1; }
echo "states.sh: PASS"
