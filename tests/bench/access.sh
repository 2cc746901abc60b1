#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# access.sh: reading access logs.  On one generated combined log (default 1 GB,
# tests/tools/accessgen.py: 200,000 clients, Zipf-like), in one run and taking turns:
#   - the agent parsing every line and counting it (--input LOG --print=json: requests per IP
#     with status mix and user agents, per host),
#   - the agent's one-liner (--print=awk: the same output as the next),
#   - the one-liner itself, `awk '{++S[$1]} END {for (a in S) print a, S[a]}' | LC_ALL=C sort -rn -k2`,
#   - GoAccess (`goaccess LOG --log-format=COMBINED -o report.json`);
# lines per second and each beside the awk one-liner.  Then the daemon following a log written
# at 20,000 lines a second (--access-log, a real collector on loopback): its CPU.
#
# usage: bash tests/bench/access.sh BUILD_DIR [BYTES]      (default 1000000000)
set -euo pipefail

build=$(cd "${1:?usage: access.sh BUILD_DIR [BYTES]}" && pwd)
bytes=${2:-1000000000}
here=$(cd "$(dirname "$0")" && pwd)
runs=${FS_BENCH_RUNS:-3}
rate=${FS_BENCH_RATE:-20000}
follow_s=${FS_BENCH_FOLLOW_SECONDS:-30}

for t in hyperfine goaccess python3 awk; do
	command -v "$t" >/dev/null || { echo "access.sh: needs $t (deploy/install-deps.sh)" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

log=$tmp/access.log
echo "== generating $bytes bytes of combined log"
python3 "$here/../tools/accessgen.py" "$log" --bytes "$bytes"
lines=$(wc -l <"$log")
echo "$lines lines, $(du -m "$log" | cut -f1) MB; page cache warmed"
cat "$log" >/dev/null

# The outputs agree before anything is timed.
LC_ALL=C "$build/fleetstat-agent" --input "$log" --print=awk >"$tmp/agent.awk"
awk '{++S[$1]} END {for (a in S) print a, S[a]}' "$log" | LC_ALL=C sort -rn -k2 >"$tmp/awk.out"
cmp -s "$tmp/agent.awk" "$tmp/awk.out" || { echo "access.sh: --print=awk differs from awk" >&2; exit 1; }

hyperfine --runs "$runs" --warmup 1 --export-json "$tmp/h.json" \
	-n agent-parse "'$build/fleetstat-agent' --input '$log' --print=json --top 20 >/dev/null" \
	-n agent-awk "LC_ALL=C '$build/fleetstat-agent' --input '$log' --print=awk >/dev/null" \
	-n awk-one-liner "awk '{++S[\$1]} END {for (a in S) print a, S[a]}' '$log' | LC_ALL=C sort -rn -k2 >/dev/null" \
	-n goaccess "goaccess '$log' --log-format=COMBINED --no-global-config --no-progress -o '$tmp/report.json' >/dev/null 2>&1"
python3 - "$tmp/h.json" "$lines" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
lines = int(sys.argv[2])
awk = r["awk-one-liner"]["median"]
print("\n%-15s %10s %14s %12s" % ("", "median s", "lines/s", "vs awk"))
for name in ("agent-parse", "agent-awk", "awk-one-liner", "goaccess"):
    m = r[name]["median"]
    print("%-15s %10.3f %14.0f %11.2fx" % (name, m, lines / m, awk / m))
EOF

echo
echo "== the daemon following a log written at $rate lines/s for $follow_s s"
port=$("$here/../../deploy/free-port")
"$build/fleetstat-collector" --listen "127.0.0.1:$port" --http 127.0.0.1:0 --db "$tmp/f.db" \
	>"$tmp/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
: >"$tmp/live.log"
mkdir -m 700 "$tmp/state"
"$build/fleetstat-agent" --collector "127.0.0.1:$port" --interval 10 --state-dir "$tmp/state" \
	--access-log "$tmp/live.log" --source proc >"$tmp/agent.log" 2>&1 &
agent=$!
pids+=("$agent")
sleep 1
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
t0=$(ticks "$agent")
w0=$(date +%s.%N)
sent=$(python3 "$here/../tools/accessgen.py" "$tmp/live.log" --rate "$rate" --seconds "$follow_s" --ips 50000)
sleep 1.5
t1=$(ticks "$agent")
w1=$(date +%s.%N)
python3 - "$t0" "$t1" "$w0" "$w1" "$sent" "$(getconf CLK_TCK)" <<'EOF'
import sys
t0, t1, w0, w1, sent, hz = (float(x) for x in sys.argv[1:])
cpu = (t1 - t0) / hz
print("%d lines in %.1f s: the agent used %.2f s of CPU, %.1f%% of one core (%.2f us a line)"
      % (sent, w1 - w0, cpu, 100 * cpu / (w1 - w0), 1e6 * cpu / sent))
EOF
