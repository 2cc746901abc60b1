#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sockgen-demo.sh: run sockgen between fresh namespaces and compare ss with the netstat|awk one-liner.
#
# usage: sockgen-demo.sh [-b BUILD_DIR] [-n PER_STATE | -t TOTAL] [-- SOCKGEN_ARGS...]
#   -b BUILD_DIR  where sockgen was built (default /tmp/bgen)
#   -n PER_STATE  --count all=PER_STATE (default 2000, i.e. 18,000 host sockets)
#   -t TOTAL      --total TOTAL --mix default instead
# Needs root. Exits 0 when all nine states hold the requested counts and ss and netstat agree.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=netns.sh
. "$here/netns.sh"

build=/tmp/bgen
sizing=(--count all=2000)
while getopts "b:n:t:h" opt; do
	case $opt in
	b) build=$OPTARG ;;
	n) sizing=(--count "all=$OPTARG") ;;
	t) sizing=(--total "$OPTARG" --mix default) ;;
	*) sed -n '4,9p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
sockgen=$build/sockgen
[[ -x $sockgen ]] || { echo "demo: no $sockgen (build the sockgen target)" >&2; exit 1; }

prefix=fsdemo$$
tmp=$(mktemp -d)
fs_netns_trap "$prefix"
fs_cleanup_add "rm -rf '$tmp'"
fs_netns_up "$prefix"
host=$prefix-h

meminfo() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
free0=$(meminfo MemFree)
slab0=$(meminfo Slab)
sunr0=$(meminfo SUnreclaim)

# sockgen holds its sockets until its stdin reaches EOF: give it a FIFO whose
# write end this shell keeps open on fd 3.
mkfifo "$tmp/in"
start=$(date +%s%N)
"$sockgen" --host-ns "$host" --peer-ns "$prefix-p" "${sizing[@]}" "$@" \
	<"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
pid=$!
fs_cleanup_add "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
exec 3>"$tmp/in"

for ((i = 0; i < 1800; i++)); do # 180 s
	grep -q '^READY$' "$tmp/out" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
ready=$(date +%s%N)
cat "$tmp/err" >&2
if ! grep -q '^READY$' "$tmp/out"; then
	echo "demo: sockgen did not get READY" >&2
	exit 1
fi
json=$(sed -n 2p "$tmp/out")
echo "sockgen READY after $(((ready - start) / 1000000)) ms: $json"

# Memory: sockgen's own (parent and workers) and the kernel's (sockets live in slab).
rss=0
for p in $pid $(cat /proc/$pid/task/*/children 2>/dev/null); do
	rss=$((rss + $(awk '$1 == "VmRSS:" {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
done
echo "memory: sockgen RSS $((rss / 1024)) MiB (all processes);" \
	"kernel Slab +$((($(meminfo Slab) - slab0) / 1024)) MiB" \
	"(unreclaimable +$((($(meminfo SUnreclaim) - sunr0) / 1024)) MiB);" \
	"MemFree -$(((free0 - $(meminfo MemFree)) / 1024)) MiB"

t=$(date +%s%N)
ip netns exec "$host" ss -Htan | awk '{++S[$1]} END {for (a in S) print a, S[a]}' >"$tmp/ss"
t_ss=$((($(date +%s%N) - t) / 1000000))
t=$(date +%s%N)
ip netns exec "$host" netstat -n | awk '/^tcp/ {++S[$NF]} END {for(a in S) print a, S[a]}' >"$tmp/netstat"
t_ns=$((($(date +%s%N) - t) / 1000000))

# One table: requested (sockgen's JSON), ss -tan (names mapped to netstat's), netstat|awk.
tr -d '{}"' <<<"$json" | tr ',:' '\n ' >"$tmp/want"
awk -v t_ss="$t_ss" -v t_ns="$t_ns" '
	BEGIN {
		split("ESTAB:ESTABLISHED SYN-SENT:SYN_SENT SYN-RECV:SYN_RECV FIN-WAIT-1:FIN_WAIT1 " \
		      "FIN-WAIT-2:FIN_WAIT2 TIME-WAIT:TIME_WAIT CLOSE-WAIT:CLOSE_WAIT " \
		      "LAST-ACK:LAST_ACK CLOSING:CLOSING CLOSE:CLOSE UNCONN:CLOSE LISTEN:LISTEN", m, " ")
		for (i in m) { split(m[i], kv, ":"); name[kv[1]] = kv[2] }
	}
	FILENAME ~ /want$/    { want[$1] = $2; order[++n] = $1; next }
	FILENAME ~ /ss$/      { k = ($1 in name) ? name[$1] : $1; ss[k] += $2; seen[k] = 1; next }
	FILENAME ~ /netstat$/ { ns[$1] += $2; seen[$1] = 1; next }
	END {
		printf "%-12s %9s %9s %9s\n", "STATE", "requested", "ss -tan", "netstat"
		bad = 0
		for (i = 1; i <= n; i++) {
			k = order[i]
			printf "%-12s %9d %9d %9d\n", k, want[k], ss[k], ns[k]
			if (want[k] != ss[k] || ss[k] != ns[k] || want[k] == 0) bad = 1
			delete seen[k]
		}
		for (k in seen) {
			printf "%-12s %9s %9d %9d\n", k, "-", ss[k], ns[k]
			if (k != "LISTEN") bad = 1
		}
		printf "(ss -tan | awk took %d ms, netstat -n | awk %d ms)\n", t_ss, t_ns
		exit bad
	}' "$tmp/want" "$tmp/ss" "$tmp/netstat" && ok=1 || ok=0

# EOF on sockgen's stdin: it resets everything and exits 0.
exec 3>&-
for ((i = 0; i < 300; i++)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
rc=0
wait "$pid" || rc=$?
echo "sockgen exited $rc after EOF"
if ((ok && rc == 0)); then
	echo "demo: OK"
else
	echo "demo: FAILED" >&2
	exit 1
fi
