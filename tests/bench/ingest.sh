#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ingest.sh: collector ingest end to end on loopback: loadgen plays 1,000 agents (each report
# with top-20 IPs, token auth) against a fresh collector and database, in two configurations:
#   flood  every agent sends as fast as acks allow (64 unacked), ~20 s: throughput
#   1/s    every agent sends one report a second (a fleet at a 1 s interval): latency
# each in clear and on mutual TLS (a CA and certificates from deploy/certs.sh), turn about in the
# same run, with TLS's throughput as a ratio of plaintext's (the target: at least 0.8x).
#
# usage: bash tests/bench/ingest.sh BUILD_DIR
#   FS_BENCH_AGENTS (default 1000), FS_BENCH_SECONDS (default 20), FS_BENCH_WINDOW (default 64)
# Prints a markdown table: agents, reports acked, acked reports/s (steady window), ack latency
# p50/p99, bytes on disk per report, collector peak RSS (VmHWM) and CPU, loadgen CPU.
# Both programs share this machine's cores, so loadgen's CPU is shown beside the collector's.
# Exit 0 when loadgen saw every report acked and the collector exited 0 on SIGTERM each time.
set -euo pipefail

build=$(cd "${1:?usage: ingest.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
agents=${FS_BENCH_AGENTS:-1000}
secs=${FS_BENCH_SECONDS:-20}
window=${FS_BENCH_WINDOW:-64}
target=20000    # acked reports/s, end to end, from the issue

for b in fleetstat-collector loadgen; do
	[[ -x $build/$b ]] || { echo "ingest.sh: $build/$b missing (cmake --build $build --target $b)" >&2; exit 1; }
done
for t in python3 ss; do
	command -v "$t" >/dev/null || { echo "ingest.sh: needs $t" >&2; exit 1; }
done

tmp=$(mktemp -d)
col_pid=""
lg_pid=""
cleanup() {
	# Only the processes this script started, by PID.
	local p
	for p in $lg_pid $col_pid; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

token="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
(umask 077 && printf '%s\n' "$token" >"$tmp/token")

free_port() { "$(dirname "$0")/../../deploy/free-port"; }

# utime + stime of a process, in seconds.
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
		"/proc/$1/stat"
}

fail=0
: >"$tmp/rows"

# run ID LABEL LOADGEN_ARGS...: one configuration with its own collector and database.
run() {
	local name=$1 label=$2
	shift 2
	local port db="$tmp/$name.db" log="$tmp/$name.collector.log"
	port=$(free_port)

	"$build/fleetstat-collector" --listen "127.0.0.1:$port" --db "$db" \
		--token-file "$tmp/token" "${col_extra[@]}" >"$log" 2>&1 &
	col_pid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		ss -Hltn "sport = :$port" | grep -q . && break
		kill -0 "$col_pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! ss -Hltn "sport = :$port" | grep -q .; then
		echo "ingest.sh: $name: the collector did not listen on $port:" >&2
		tail -5 "$log" >&2
		exit 1
	fi

	local cpu0 t0 cpu1 t1 lg_rc=0
	cpu0=$(proc_cpu "$col_pid")
	t0=$(date +%s.%N)
	"$build/loadgen" --collector "127.0.0.1:$port" --agents "$agents" --duration "$secs" \
		--token-file "$tmp/token" --connect-rate 500 --json "$@" \
		>"$tmp/$name.json" 2>"$tmp/$name.loadgen.log" &
	lg_pid=$!
	wait "$lg_pid" || lg_rc=$?
	lg_pid=""
	t1=$(date +%s.%N)
	cpu1=$(proc_cpu "$col_pid")
	local hwm
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$col_pid/status")

	# SIGTERM: the collector commits and acks what is queued and must exit 0.
	local col_rc=0
	kill -TERM "$col_pid"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$col_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$col_pid" 2>/dev/null; then
		echo "ingest.sh: $name: the collector did not exit within 30 s of SIGTERM" >&2
		kill -KILL "$col_pid" 2>/dev/null || true
	fi
	wait "$col_pid" || col_rc=$?
	col_pid=""

	local bytes=0 f
	for f in "$db" "$db-wal" "$db-shm"; do
		if [[ -e $f ]]; then
			bytes=$((bytes + $(stat -c %s "$f")))
		fi
	done
	if [[ $lg_rc -ne 0 ]]; then
		echo "ingest.sh: $name: loadgen exited $lg_rc:" >&2
		cat "$tmp/$name.json" "$tmp/$name.loadgen.log" >&2
		fail=1
	fi
	if [[ $col_rc -ne 0 ]]; then
		echo "ingest.sh: $name: the collector exited $col_rc after SIGTERM:" >&2
		tail -20 "$log" >&2
		fail=1
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$tmp/$name.json" "$bytes" "$hwm" \
		"$cpu0" "$cpu1" "$t0" "$t1" >>"$tmp/rows"
	rm -f "$db" "$db-wal" "$db-shm"
}

# Mutual TLS: the collector's certificate for 127.0.0.1, one agent certificate for loadgen.
pki=$tmp/pki
{
	bash "$here/../../deploy/certs.sh" "$pki" ca &&
		bash "$here/../../deploy/certs.sh" "$pki" collector c1 127.0.0.1 &&
		bash "$here/../../deploy/certs.sh" "$pki" agent lg
} >/dev/null || { echo "ingest.sh: deploy/certs.sh failed" >&2; exit 1; }
tls=(--tls-ca "$pki/ca.crt" --tls-cert "$pki/lg.crt" --tls-key "$pki/lg.key")
col_tls=(--tls-cert "$pki/c1.crt" --tls-key "$pki/c1.key" --tls-client-ca "$pki/ca.crt")

col_extra=()
run flood "flood (window $window)" --flood --window "$window"
col_extra=("${col_tls[@]}")
run flood-tls "flood (window $window), mutual TLS" --flood --window "$window" "${tls[@]}"
col_extra=()
run rate1 "1 report/s per agent" --rate 1
col_extra=("${col_tls[@]}")
run rate1-tls "1 report/s per agent, mutual TLS" --rate 1 "${tls[@]}"

python3 - "$tmp/rows" "$target" "$(nproc)" <<'PY'
import json, sys
rows, target, ncpu = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print(f"Collector ingest on loopback ({ncpu} CPUs shared by collector and loadgen)\n")
print("| configuration | agents | reports acked | acked reports/s | ack p50 | ack p99 "
      "| disk bytes/report | collector peak RSS | collector CPU | loadgen CPU |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
flood = flood_tls = None
for line in open(rows):
    name, jf, size, hwm, c0, c1, t0, t1 = line.rstrip("\n").split("\t")
    try:
        j = json.load(open(jf))
    except (OSError, ValueError):
        print(f"| {name} | loadgen gave no summary | | | | | | | | |")
        continue
    wall = float(t1) - float(t0)
    ccpu = float(c1) - float(c0)
    per = int(size) / j["acked"] if j["acked"] else 0
    lat = j["latency_ms"]
    if name.startswith("flood") and "TLS" not in name:
        flood = j["acked_per_s"]
    elif name.startswith("flood"):
        flood_tls = j["acked_per_s"]
    print(f"| {name} | {j['connected']}/{j['agents']} | {j['acked']:,} | {j['acked_per_s']:,.0f} "
          f"| {lat['p50']:.1f} ms | {lat['p99']:.1f} ms | {per:,.0f} "
          f"| {int(hwm) / 1024:,.0f} MiB | {ccpu:.1f} s ({100 * ccpu / wall:.0f}% of a core) "
          f"| {j['cpu_s']:.1f} s ({100 * j['cpu_s'] / wall:.0f}%) |")
    if not j["ok"]:
        errs = j["errors"]
        print(f"\n{name}: NOT OK: unacked {j['unacked']}, errors {json.dumps(errs)}\n")
if flood is not None:
    verdict = "met" if flood >= target else "NOT met"
    print(f"\nTarget: at least {target:,} acked reports/s with 1,000 agents: {verdict} "
          f"({flood:,.0f}/s).")
if flood and flood_tls is not None:
    r = flood_tls / flood
    print(f"Mutual TLS: {flood_tls:,.0f} acked reports/s, {r:.2f}x plaintext's "
          f"(target at least 0.8x: {'met' if r >= 0.8 else 'NOT met'}).")
PY
exit "$fail"
