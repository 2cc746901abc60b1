#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scaleout.sh: ingest into PostgreSQL through two collectors, beside SQLite through one, in the
# same run: FS_BENCH_AGENTS (default 1000) simulated agents (tests/tools/loadgen, 20 top IPs a
# report, token auth) flood as fast as acks allow for FS_BENCH_SECONDS (default 20):
#   sqlite      one collector, its SQLite file, one loadgen with every agent
#   postgresql  two collectors on one throwaway PostgreSQL 15 cluster (tests/tools/pgcluster.sh:
#               fsync on, the Debian defaults but shared_buffers 128MB), two loadgens with half
#               the agents each
# Prints a markdown table: acked reports/s (steady window, summed), ack latency p50/p99 (the
# worse loadgen's), bytes on disk per report (the file; the database's size), the collectors'
# CPU and the server's.  Both loadgens, the collectors and PostgreSQL share this machine's cores.
# Exit 0 when every loadgen saw every report acked and the collectors exited 0 on SIGTERM.
#
# usage: bash tests/bench/scaleout.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: scaleout.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
agents=${FS_BENCH_AGENTS:-1000}
secs=${FS_BENCH_SECONDS:-20}
target=20000    # acked reports/s through two collectors into PostgreSQL, from the issue
pgcluster=$here/../tools/pgcluster.sh

tmp=$(mktemp -d)
pgdir=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	bash "$pgcluster" stop "$pgdir" || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

token="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
(umask 077 && printf '%s\n' "$token" >"$tmp/token")
free_port() { "$here/../../deploy/free-port"; }
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}
# CPU of the PostgreSQL server's processes (the postmaster's children), in seconds.
pg_cpu() {
	local pm sum=0 c
	pm=$(head -1 "$pgdir/data/postmaster.pid")
	for c in $pm $(pgrep -P "$pm" || true); do
		[[ -r /proc/$c/stat ]] && sum=$(awk -v s="$sum" -v v="$(proc_cpu "$c")" 'BEGIN { print s + v }')
	done
	echo "$sum"
}

uri=$(bash "$pgcluster" start "$pgdir")
fail=0
: >"$tmp/rows"

# run NAME DB NCOLLECTORS: collectors on DB, one loadgen per collector with its share of agents.
run() {
	local name=$1 db=$2 n=$3 i
	local -a ports=() cpids=() lpids=()
	for ((i = 0; i < n; i++)); do
		ports+=("$(free_port)")
		"$build/fleetstat-collector" --listen "127.0.0.1:${ports[$i]}" --http off --db "$db" \
			--token-file "$tmp/token" >"$tmp/$name-col$i.log" 2>&1 &
		cpids+=($!)
		pids+=($!)
	done
	for ((i = 0; i < n; i++)); do
		local k
		for ((k = 0; k < 100; k++)); do
			(exec 3<>"/dev/tcp/127.0.0.1/${ports[$i]}") 2>/dev/null && break
			sleep 0.1
		done
	done
	local c0=() p0 t0 t1
	for ((i = 0; i < n; i++)); do c0+=("$(proc_cpu "${cpids[$i]}")"); done
	p0=$(pg_cpu)
	t0=$(date +%s.%N)
	for ((i = 0; i < n; i++)); do
		"$build/loadgen" --collector "127.0.0.1:${ports[$i]}" --agents $((agents / n)) \
			--duration "$secs" --token-file "$tmp/token" --connect-rate 500 --flood --json \
			>"$tmp/$name-$i.json" 2>"$tmp/$name-$i.loadgen.log" &
		lpids+=($!)
	done
	for ((i = 0; i < n; i++)); do
		wait "${lpids[$i]}" || { echo "scaleout.sh: $name: loadgen $i failed" >&2; fail=1; }
	done
	t1=$(date +%s.%N)
	local ccpu=0
	for ((i = 0; i < n; i++)); do
		ccpu=$(awk -v s="$ccpu" -v a="$(proc_cpu "${cpids[$i]}")" -v b="${c0[$i]}" 'BEGIN { print s + a - b }')
	done
	local pcpu
	pcpu=$(awk -v a="$(pg_cpu)" -v b="$p0" 'BEGIN { print a - b }')
	for ((i = 0; i < n; i++)); do
		kill -TERM "${cpids[$i]}"
		wait "${cpids[$i]}" || { echo "scaleout.sh: $name: collector $i exited nonzero" >&2; fail=1; }
	done
	pids=()
	local bytes reports
	if [[ $db == postgresql* ]]; then
		reports=$(psql -X -At "$db" -c "SELECT count(*) FROM reports")
		bytes=$(psql -X -At "$db" -c "SELECT pg_database_size(current_database())")
	else
		reports=$(sqlite3 "$db" "SELECT count(*) FROM reports")
		bytes=$(stat -c %s "$db")
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$n" "$reports" "$bytes" "$ccpu" "$pcpu" \
		"$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" "$tmp/$name" >>"$tmp/rows"
}

run sqlite "$tmp/fleetstat.db" 1
run postgresql "$uri" 2

python3 - "$tmp/rows" "$target" "$(nproc)" "$agents" "$secs" <<'PY'
import glob, json, sys
rows, target, ncpu, agents, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
print(f"Ingest, {agents} agents flooding for {secs} s ({ncpu} CPUs shared by everything)\n")
print("| backend | collectors | acked reports/s | ack p50 | ack p99 | reports stored "
      "| bytes on disk per report | collectors' CPU | PostgreSQL's CPU |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
pg = None
for line in open(rows):
    name, n, reports, size, ccpu, pcpu, wall, base = line.rstrip("\n").split("\t")
    js = [json.load(open(f)) for f in sorted(glob.glob(base + "-[0-9].json"))]
    rate = sum(j["acked_per_s"] for j in js)
    p50 = max(j["latency_ms"]["p50"] for j in js)
    p99 = max(j["latency_ms"]["p99"] for j in js)
    acked = sum(j["acked"] for j in js)
    ok = all(j["ok"] for j in js) and acked == int(reports)
    wall = float(wall)
    pc = f"{float(pcpu):.1f} s ({100 * float(pcpu) / wall:.0f}%)" if name == "postgresql" else "-"
    print(f"| {name} | {n} | {rate:,.0f} | {p50:,.0f} ms | {p99:,.0f} ms | {int(reports):,} "
          f"| {int(size) / max(int(reports), 1):,.0f} | {float(ccpu):.1f} s "
          f"({100 * float(ccpu) / wall:.0f}%) | {pc} |")
    if not ok:
        print(f"\n{name}: NOT OK: {acked} acked, {reports} stored\n")
    if name == "postgresql":
        pg = rate
if pg is not None:
    print(f"\nTarget: at least {target:,} acked reports/s into PostgreSQL through two collectors: "
          f"{'met' if pg >= target else 'NOT met'} ({pg:,.0f}/s).")
PY
exit "$fail"
