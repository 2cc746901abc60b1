#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent.sh: fleetstat-agent's collection against `ss -tan`, the netstat|awk one-liner and
# the bare kernel dump (dumpcount), on the same generated sockets, in one run.
#
# usage: bash tests/bench/agent.sh BUILD_DIR [SIZES...]     (root; default sizes 10000 100000)
# Prints a markdown table per size: wall (median; mean ± sd), CPU (user+sys), peak RSS, and
# the agent's median wall time over each command's.
set -euo pipefail

build=${1:?usage: agent.sh BUILD_DIR [SIZES...]}
shift
sizes=("${@:-10000}")
[[ $# -gt 0 ]] || sizes=(10000 100000)
here=$(cd "$(dirname "$0")" && pwd)
runs=${FS_BENCH_RUNS:-15}
build=$(cd "$build" && pwd)

for t in hyperfine /usr/bin/time ss netstat python3; do
	command -v "$t" >/dev/null || { echo "agent.sh: needs $t (deploy/install-deps.sh)" >&2; exit 1; }
done

# shellcheck source=../tools/netns.sh
source "$here/../tools/netns.sh"

# TIME_WAIT sockets expire 60 s after they are made, so the benchmark's mix leaves them
# out: every tool sees exactly the same sockets for the whole run.
mix="ESTABLISHED=60,SYN_RECV=8,FIN_WAIT2=8,CLOSE_WAIT=8,SYN_SENT=4,FIN_WAIT1=4,LAST_ACK=4,CLOSING=4"
oneliner="netstat -n | awk '/^tcp/ {++S[\$NF]} END {for(a in S) print a, S[a]}'"

bench_size() {
	local n=$1 prefix=fsb$$-$1 tmp
	tmp=$(mktemp -d)
	fs_netns_trap "$prefix"
	fs_cleanup_add "rm -rf '$tmp'"
	fs_netns_up "$prefix"
	local h=$prefix-h

	fs_sockgen_start "$build/sockgen" "$prefix" "$tmp" --total "$n" --mix "$mix" \
		--quiet --max-hold 900 || exit 1

	# Sanity: all four agree on the counts before anything is timed.
	local a b c
	a=$(ip netns exec "$h" "$build/fleetstat-agent" --print=awk | sort)
	b=$(ip netns exec "$h" sh -c "$oneliner" | sort)
	c=$(ip netns exec "$h" "$build/dumpcount" | sort)
	if [[ $a != "$b" || $a != "$c" ]]; then
		echo "counts differ: agent/netstat/dumpcount" >&2
		paste <(echo "$a") <(echo "$b") <(echo "$c") >&2
		exit 1
	fi

	# hyperfine runs inside the namespace, so `ip netns exec` is not timed.
	ip netns exec "$h" hyperfine --style none --warmup 3 --runs "$runs" \
		--export-json "$tmp/hf.json" \
		-n agent "$build/fleetstat-agent --print=awk" \
		-n "agent --threads 1" "$build/fleetstat-agent --print=awk --threads 1" \
		-n dumpcount "$build/dumpcount" \
		-n "ss -tan" "ss -tan" \
		-n "netstat|awk" "$oneliner" >/dev/null 2>"$tmp/hf.err" ||
		{ cat "$tmp/hf.err" >&2; exit 1; }
	for cmd in agent agent1 dumpcount ss oneliner; do
		local line
		case $cmd in
		agent) line="$build/fleetstat-agent --print=awk" ;;
		agent1) line="$build/fleetstat-agent --print=awk --threads 1" ;;
		dumpcount) line="$build/dumpcount" ;;
		ss) line="ss -tan" ;;
		oneliner) line="$oneliner" ;;
		esac
		# GNU time reports the largest resident set among the processes it waited for.
		ip netns exec "$h" /usr/bin/time -f "%M" -o "$tmp/rss.$cmd" sh -c "$line" >/dev/null
	done
	python3 - "$tmp" "$n" <<'PY'
import json, sys
tmp, n = sys.argv[1], int(sys.argv[2])
res = {r["command"]: r for r in json.load(open(tmp + "/hf.json"))["results"]}
rss = {k: int(open(f"{tmp}/rss.{f}").read().split()[-1]) / 1024
       for k, f in [("agent", "agent"), ("agent --threads 1", "agent1"),
                    ("dumpcount", "dumpcount"), ("ss -tan", "ss"),
                    ("netstat|awk", "oneliner")]}
a = res["agent"]["median"]
print(f"\n### {n:,} sockets ({len(res['agent']['times'])} runs each)\n")
print("| command | wall ms, median | mean ± sd | CPU ms (user+sys) | peak RSS MiB | agent wall / this |")
print("|---|---:|---:|---:|---:|---:|")
for k in ["agent", "agent --threads 1", "dumpcount", "ss -tan", "netstat|awk"]:
    r = res[k]
    print(f"| {k} | {r['median']*1e3:.1f} | {r['mean']*1e3:.1f} ± {r['stddev']*1e3:.1f} | "
          f"{(r['user'] + r['system'])*1e3:.1f} | {rss[k]:.1f} | {a / r['median']:.2f}x |")
PY
	fs_sockgen_stop || true
	fs_netns_down "$prefix"
}

echo "fleetstat-agent collection benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, kernel $(uname -r)"
for n in "${sizes[@]}"; do
	bench_size "$n"
done
