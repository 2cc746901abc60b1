#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# query.sh: query times on a big history.  loadgen plays FS_BENCH_HOSTS agents (default 1000)
# that each deliver FS_BENCH_HISTORY (default 24h) of reports at a 10 s interval (top-20 IPs
# each: 8.64 million reports by default) through a real collector and its writer; then
# hyperfine times tiers, top-ips --since 1h and trend --since 24h --step 5m, each through the
# HTTP API (--server) and on the file (--db).
#
# usage: bash tests/bench/query.sh BUILD_DIR      (FS_BENCH_DIR: where the database goes,
#        default a temp dir under /var/tmp; it needs about 5 GB at the default size)
#        FS_BENCH_BACKEND=pg: the same on a throwaway PostgreSQL cluster (tests/tools/pgcluster.sh)
# Prints the fill's rate, bytes on disk per report, and a markdown table of query times.
set -euo pipefail

build=$(cd "${1:?usage: query.sh BUILD_DIR}" && pwd)
hosts=${FS_BENCH_HOSTS:-1000}
history=${FS_BENCH_HISTORY:-24h}
for b in fleetstat-collector fleetstat loadgen; do
	[[ -x $build/$b ]] || { echo "query.sh: $build/$b missing" >&2; exit 1; }
done
command -v hyperfine >/dev/null || { echo "query.sh: needs hyperfine" >&2; exit 1; }

tmp=$(mktemp -d "${FS_BENCH_DIR:-/var/tmp}/fs-qbench.XXXXXX")
col_pid=""
pgdir=""
cleanup() {
	if [[ -n $col_pid ]]; then
		kill -KILL "$col_pid" 2>/dev/null || true
		wait "$col_pid" 2>/dev/null || true
	fi
	[[ -z $pgdir ]] || bash "$(dirname "$0")/../tools/pgcluster.sh" stop "$pgdir" || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$(dirname "$0")/../../deploy/free-port"; }
port=$(free_port)
http=$(free_port)
db=$tmp/fleetstat.db
if [[ ${FS_BENCH_BACKEND:-sqlite} == pg ]]; then
	pgdir=$(mktemp -d "${FS_BENCH_DIR:-/var/tmp}/fs-qbench-pg.XXXXXX")
	db=$(bash "$(dirname "$0")/../tools/pgcluster.sh" start "$pgdir")
fi
"$build/fleetstat-collector" --listen "127.0.0.1:$port" --http "127.0.0.1:$http" --db "$db" \
	>"$tmp/collector.log" 2>&1 &
col_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

echo "filling: $hosts agents x $history at a 10 s interval, through the collector's writer"
t0=$(date +%s.%N)
"$build/loadgen" --collector "127.0.0.1:$port" --agents "$hosts" --flood --history "$history" \
	--step 10 --duration 7200 --connect-rate 2000 --json >"$tmp/fill.json"
t1=$(date +%s.%N)
python3 - "$tmp/fill.json" "$t0" "$t1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
secs = float(sys.argv[3]) - float(sys.argv[2])
assert r["acked"] == r["sent"] and r["unacked"] == 0, r
print(f"filled: {r['acked']:,} reports acked in {secs:.0f} s ({r['acked'] / secs:,.0f}/s)")
PY
# The collector checkpoints the WAL into the file as it goes; a clean stop folds the rest.
kill -TERM "$col_pid"
wait "$col_pid"
col_pid=""
if [[ -n $pgdir ]]; then
	reports=$(psql -X -At "$db" -c "SELECT count(*) FROM reports")
	bytes=$(psql -X -At "$db" -c "SELECT pg_database_size(current_database())")
else
	reports=$(sqlite3 "$db" "SELECT count(*) FROM reports")
	bytes=$(stat -c %s "$db")
fi
python3 -c "import sys; r, b = int(sys.argv[1]), int(sys.argv[2]); print(f'on disk: {b / 2**30:.2f} GiB, {b / r:.0f} bytes per report (raw rows, indexes, rollups)')" "$reports" "$bytes"

"$build/fleetstat-collector" --listen "127.0.0.1:$port" --http "127.0.0.1:$http" --db "$db" \
	>>"$tmp/collector.log" 2>&1 &
col_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null && break; sleep 0.1; done

fs="$build/fleetstat --format json"
queries=("tiers" "top-ips --since 1h" "trend --since 24h --step 5m")
targets=(50 500 100)
echo
echo "| query ($hosts hosts x $history) | via | median ms | mean ± sd ms | target ms |"
echo "|---|---|---:|---:|---:|"
for i in "${!queries[@]}"; do
	q=${queries[$i]}
	for via in "--db $db" "--server http://127.0.0.1:$http"; do
		hyperfine -N -w 3 -r 15 --export-json "$tmp/h.json" "$fs $via $q" >/dev/null 2>&1
		python3 - "$tmp/h.json" "$q" "${via%% *}" "${targets[$i]}" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"][0]
t = [x * 1000 for x in r["times"]]
print(f"| `{sys.argv[2]}` | {sys.argv[3]} | {statistics.median(t):.1f} | "
      f"{statistics.mean(t):.1f} ± {statistics.stdev(t):.1f} | {sys.argv[4]} |")
PY
	done
done
