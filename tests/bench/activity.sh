#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# activity.sh: what reading each connection's TCP info (DESIGN 12) costs the agent's collection,
# at 100,000 sockets with no heavy IP and with 20 heavy IPs of about 1,000 sockets each, beside
# the agent that never reads it (--activity-min off: the agent before activity), `ss -tan` and
# `ss -tin` on the same sockets in one run.
#
# usage: bash tests/bench/activity.sh BUILD_DIR [SOCKETS]     (root; default 100000)
# Per case, two tables.  The daemon's collections: the agent running (--interval 1, its reports
# spooled), each report's own collect_us (the dump and the counting), the first report of a run
# left out; runs of the agent with and without TCP info take turns.  This is what a fleet pays:
# a daemon reads the TCP info only while some IP is heavy (and in its first collection).  Then
# one-shot commands under hyperfine (process start included) beside `ss -tan` and `ss -tin`:
# `--print` is one collection, which reads the TCP info as a daemon's first does.
set -euo pipefail

build=$(cd "${1:?usage: activity.sh BUILD_DIR [SOCKETS]}" && pwd)
n=${2:-100000}
here=$(cd "$(dirname "$0")" && pwd)
runs=${FS_BENCH_RUNS:-15}

for t in hyperfine ss python3; do
	command -v "$t" >/dev/null || { echo "activity.sh: needs $t (deploy/install-deps.sh)" >&2; exit 1; }
done
# shellcheck source=../tools/netns.sh
source "$here/../tools/netns.sh"

# Without TIME_WAIT, which expires within the run (as in agent.sh).
mix="ESTABLISHED=60,SYN_RECV=8,FIN_WAIT2=8,CLOSE_WAIT=8,SYN_SENT=4,FIN_WAIT1=4,LAST_ACK=4,CLOSING=4"

# bench_case NAME SOCKGEN_ARGS...: one namespace pair, one sockgen, every command timed there.
bench_case() {
	local name=$1 prefix=fsba$$ tmp
	shift
	tmp=$(mktemp -d)
	fs_netns_trap "$prefix"
	fs_cleanup_add "rm -rf '$tmp'"
	fs_netns_up "$prefix"
	local h=$prefix-h

	fs_sockgen_start "$build/sockgen" "$prefix" "$tmp" --total "$n" --mix "$mix" --quiet \
		--max-hold 900 --plan "$tmp/plan" "$@" || exit 1

	# The case is what it says: the largest IP's ESTABLISHED against the agent's default 100.
	local top
	top=$(ip netns exec "$h" "$build/fleetstat-agent" --print=json | python3 -c '
import json, sys
r = json.load(sys.stdin)
est = [e["states"].get("ESTABLISHED", 0) for e in r["top"]["ips"]]
heavy = sum(1 for x in est if x >= 100)
acts = sum(1 for e in r["top"]["ips"] if "activity" in e)
print(max(est or [0]), heavy, acts)')
	read -r top_est heavy acts <<<"$top"
	printf '\n### %s sockets, %s: the largest IP has %s ESTABLISHED, %s IPs 100 or more\n' \
		"$n" "$name" "$top_est" "$heavy"
	# Both agents count the same.
	if [[ $(ip netns exec "$h" "$build/fleetstat-agent" --print=awk) != \
	      $(ip netns exec "$h" "$build/fleetstat-agent" --print=awk --activity-min off) ]]; then
		echo "activity.sh: the agents' counts differ" >&2
		exit 1
	fi

	# The daemon, alternately without and with TCP info; nothing listens on the collector port.
	local port round mode
	port=$("$here/../../deploy/free-port")
	for round in 1 2; do
		for mode in off default; do
			local st="$tmp/st-$mode-$round" args=()
			[[ $mode == off ]] && args=(--activity-min off)
			ip netns exec "$h" "$build/fleetstat-agent" --collector "127.0.0.1:$port" \
				--interval 1 --state-dir "$st" "${args[@]}" 2>>"$tmp/agent.log" &
			local pid=$!
			sleep "${FS_BENCH_DAEMON_SECONDS:-12}.5"
			kill -TERM "$pid"
			wait "$pid" || true
			"$build/fleetstat-agent" --print-spool --state-dir "$st" |
				sed -n "s/.* collect_us=\([0-9]*\) activity=\([0-9]*\).*/$mode \1 \2/p" |
				tail -n +2 >>"$tmp/daemon"
		done
	done
	python3 - "$tmp/daemon" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
us = {m: [int(u) for k, u, _ in rows if k == m] for m in ("off", "default")}
act = {m: sorted({int(a) for k, _, a in rows if k == m}) for m in ("off", "default")}
base = statistics.median(us["off"])
print("\n| daemon collection | reports | collect ms, median | mean ± sd | listed IPs with activity | this / without |")
print("|---|---:|---:|---:|---:|---:|")
for m, name in (("off", "--activity-min off (no TCP info)"), ("default", "default (--activity-min 100)")):
    v = us[m]
    print(f"| {name} | {len(v)} | {statistics.median(v)/1e3:.1f} | {statistics.mean(v)/1e3:.1f} ± "
          f"{statistics.stdev(v)/1e3:.1f} | {'/'.join(map(str, act[m]))} | "
          f"{statistics.median(v) / base:.3f}x |")
PY

	ip netns exec "$h" hyperfine --style none --warmup 3 --runs "$runs" \
		--export-json "$tmp/hf.json" \
		-n "agent, no TCP info" "$build/fleetstat-agent --print=awk --activity-min off" \
		-n "agent" "$build/fleetstat-agent --print=awk" \
		-n "agent --threads 1, no TCP info" "$build/fleetstat-agent --print=awk --threads 1 --activity-min off" \
		-n "agent --threads 1" "$build/fleetstat-agent --print=awk --threads 1" \
		-n "ss -tan" "ss -tan" \
		-n "ss -tin" "ss -tin" >/dev/null 2>"$tmp/hf.err" ||
		{ cat "$tmp/hf.err" >&2; exit 1; }
	python3 - "$tmp/hf.json" <<'PY'
import json, sys
path = sys.argv[1]
res = {r["command"]: r for r in json.load(open(path))["results"]}
print("\n| one-shot command | wall ms, median | mean ± sd | CPU ms (user+sys) | this / agent without TCP info |")
print("|---|---:|---:|---:|---:|")
for k, r in res.items():
    base = res["agent, no TCP info" if "threads" not in k else "agent --threads 1, no TCP info"]
    print(f"| {k} | {r['median']*1e3:.1f} | {r['mean']*1e3:.1f} ± {r['stddev']*1e3:.1f} | "
          f"{(r['user'] + r['system'])*1e3:.1f} | {r['median'] / base['median']:.3f}x |")
PY
	fs_sockgen_stop || true
	fs_netns_down "$prefix"
}

echo "fleetstat-agent TCP info benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, kernel $(uname -r)"
bench_case "no heavy IP" --heavy 0 --tail 12000
bench_case "20 heavy IPs" --heavy 20 --heavy-share 20 --heavy-even --v6 0 --mapped 0
