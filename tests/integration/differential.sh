#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# differential.sh: the same spooled week of three hosts (two tiers) sent through real agents
# (fleetstat-agent --once, each with a copy of the same state dir: the same agent ids and seqs)
# to a collector on SQLite and to one on PostgreSQL at once; when both have built the week's
# hour baselines, tiers, hosts, trend (raw, minutes, hours, tiers), top-ips (the window, the
# latest), suspects, sysctl and summary answer the same JSON from both databases.  Set aside:
# the query moment (now_ms) and the times of the two runs' own fresh reports and Hellos (each
# agent collects one when it runs: any number within the seconds the runs took reads "FRESH").
# A streaming replica of the PostgreSQL cluster, once it has replayed all, answers the same JSON
# as its primary (the README's reads-from-a-replica recipe).
set -euo pipefail

BUILD=$(cd "${1:?usage: differential.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v unshare >/dev/null || fail "unshare missing"
fs_tmpdir
fs_pg_start
fs_pg_standby
LITE=$T/fleetstat.db
FS="$BUILD/fleetstat"
NOW=$(date +%s%3N)

# A week: web1 and web2 (tier web), db1 (tier db), a report every 10 minutes, with a NAT-like
# IP present in business hours, CLOSE_WAIT and TIME_WAIT that come and go; in the last
# 15 minutes a SYN flood on the web tier and a connection flood on web1.
python3 - "$T" "$NOW" <<'PY'
import sys
out, now = sys.argv[1], int(sys.argv[2])
H, M = 3600000, 60000
start = (now - 7 * 24 * H) // H * H
hosts = {"web1": 1, "web2": 2, "db1": 3}
for h, i in hosts.items():
    lines = []
    for t in range(start + i * M, now - 16 * M, 10 * M):
        hour = t // H % 24
        parts = [f"{t}", f"192.0.2.{i} ESTABLISHED {20 + (t // M * 7 + i) % 30}",
                 f"192.0.2.{i} TIME_WAIT {(t // M * 13 + i) % 50}"]
        if h != "db1" and 9 <= hour <= 17:
            parts.append(f"198.51.100.10 ESTABLISHED {100 + (t // H * 11 + i * 17) % 150}")
        if (t // H) % 5 == i:
            parts.append(f"203.0.113.{i} CLOSE_WAIT {5 + (t // M) % 40}")
        lines.append(" ".join(parts))
    for t in range(now - 14 * M, now - M, 2 * M):
        parts = [f"{t}", f"192.0.2.{i} ESTABLISHED 25"]
        if h != "db1":
            parts += ["198.51.100.10 ESTABLISHED 150", "198.51.100.20 SYN_RECV 170"]
        if h == "web1":
            parts.append("198.51.100.30 ESTABLISHED 400")
        lines.append(" ".join(parts))
    open(f"{out}/{h}.script", "w").write("\n".join(lines) + "\n")
    ss = ["State Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
          "LISTEN 0 4096 0.0.0.0:80 0.0.0.0:*"]
    ss += [f"ESTAB 0 0 10.9.0.{i}:80 192.0.2.{i}:{20000 + k}" for k in range(25)]
    ss += [f"CLOSE-WAIT 1 0 10.9.0.{i}:80 203.0.113.{i}:{30000 + k}" for k in range(3)]
    open(f"{out}/{h}.ss", "w").write("\n".join(ss) + "\n")
PY

for h in web1 web2 db1; do
	"$BUILD/spoolgen" --state-dir "$T/lite-$h" --interval 600 <"$T/$h.script" 2>>"$T/$h.log" ||
		fail "spoolgen $h: $(tail -1 "$T/$h.log")"
	cp -a "$T/lite-$h" "$T/pg-$h"
done

start_collector() {   # NAME DB
	local port
	port=$(fs_free_port)
	fs_col_start "$1" 127.0.0.1 "$port" --listen "127.0.0.1:$port" --http "127.0.0.1:$(fs_free_port)" \
		--db "$2" --retention 9d
	eval "PORT_$1=$port"
}
start_collector lite "$LITE"
start_collector pg "$PG_URI"

# Both runs of a host collect their fresh report in the same minute: start early in one.
for ((i = 0; i < 60; i++)); do
	[ "$((10#$(date +%S)))" -lt 40 ] && break
	sleep 1
done
T0=$(date +%s%3N)
for h in web1 web2 db1; do
	for b in lite pg; do
		port=PORT_$b
		unshare --uts sh -c "hostname $h && exec '$BUILD/fleetstat-agent' --once \
			--tier ${h%%[0-9]*} --interval 600 --timeout 120 --collector 127.0.0.1:${!port} \
			--input '$T/$h.ss' --state-dir '$T/$b-$h'" >>"$T/$b-$h.log" 2>&1 &
		eval "agent_$b=\$!"
	done
	# shellcheck disable=SC2154
	wait "$agent_lite" || fail "$h: fleetstat-agent --once to SQLite: $(tail -2 "$T/lite-$h.log")"
	# shellcheck disable=SC2154
	wait "$agent_pg" || fail "$h: fleetstat-agent --once to PostgreSQL: $(tail -2 "$T/pg-$h.log")"
done
T1=$(date +%s%3N)
n_lite=$(sqlite3 -batch -noheader "$LITE" "SELECT count(*) FROM reports")
n_pg=$(fs_psql "SELECT count(*) FROM reports")
[ "$n_lite" = "$n_pg" ] && [ "$n_lite" -gt 3000 ] ||
	fail "reports stored: SQLite $n_lite, PostgreSQL $n_pg"

# Both collectors build the week's hour baselines within a minute or two.
built() {
	local b
	for b in "$LITE" "$PG_URI"; do
		"$FS" --db "$b" suspects --format json >"$T/pending.json" || return 1
		python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["baseline_pending_hours"] != 0)' \
			"$T/pending.json" || return 1
	done
}
fs_wait_for 150 built || fail "the hour baselines were not built within 150 s"
# Nothing more to write: the replica catches up and stays so.
fs_col_stop pg TERM
fs_wait_for 30 fs_pg_caught_up || fail "the standby did not catch up within 30 s"

queries=(
	"tiers"
	"hosts"
	"trend --since 30m --step 1m"
	"trend --since 24h --step 5m"
	"trend --since 7d --step 1h"
	"trend --since 24h --step 10m --tier web --state CLOSE_WAIT"
	"trend --since 24h --step 1h --host web2"
	"top-ips"
	"top-ips --since 1h"
	"top-ips --since 7d --state ESTABLISHED"
	"suspects"
	"suspects --since 1h --tier web"
	"sysctl"
	"summary --since 24h"
)
# same_json A B Q NAME_A NAME_B: the two answers to Q agree, the query moment and the runs' own
# fresh times aside.
same_json() {
	python3 - "$1" "$2" "$T0" "$T1" "$3" "$4" "$5" <<'PY'
import json, sys
a, b, t0, t1, q, na, nb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:8]
def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items() if k != "now_ms"}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and t0 - 1000 <= v <= t1 + 1000:
        return "FRESH"
    return v
x, y = norm(json.load(open(a))), norm(json.load(open(b)))
if x != y:
    sx, sy = json.dumps(x, sort_keys=True), json.dumps(y, sort_keys=True)
    i = next((k for k in range(min(len(sx), len(sy))) if sx[k] != sy[k]), min(len(sx), len(sy)))
    print(f"{q}: first difference at {i}:\n  {na}: ...{sx[max(0, i - 150):i + 150]}\n"
          f"  {nb}: ...{sy[max(0, i - 150):i + 150]}", file=sys.stderr)
    sys.exit(1)
PY
}

for q in "${queries[@]}"; do
	rc_l=0 rc_p=0 rc_r=0
	# shellcheck disable=SC2086
	"$FS" --db "$LITE" $q --format json >"$T/lite.json" 2>"$T/lite.err" || rc_l=$?
	# shellcheck disable=SC2086
	"$FS" --db "$PG_URI" $q --format json >"$T/pg.json" 2>"$T/pg.err" || rc_p=$?
	# shellcheck disable=SC2086
	"$FS" --db "$REPLICA_URI" $q --format json >"$T/replica.json" 2>"$T/replica.err" || rc_r=$?
	[ "$rc_l" = "$rc_p" ] || fail "$q: exit $rc_l on SQLite, $rc_p on PostgreSQL: $(cat "$T/pg.err")"
	[ "$rc_r" = "$rc_p" ] || fail "$q: exit $rc_r on the replica, $rc_p on its primary: $(cat "$T/replica.err")"
	[ "$rc_l" -le 2 ] || fail "$q: exit $rc_l: $(cat "$T/lite.err")"
	same_json "$T/lite.json" "$T/pg.json" "$q" sqlite pg || fail "$q: SQLite and PostgreSQL differ"
	same_json "$T/pg.json" "$T/replica.json" "$q" pg replica || fail "$q: the replica and its primary differ"
	echo "same JSON on SQLite, PostgreSQL and its replica: $q ($(wc -c <"$T/lite.json") bytes)"
	[ "$q" = suspects ] && cp "$T/lite.json" "$T/suspects.json"
done
# The week says something: the verdicts both backends agree on are the ones it was made for.
python3 - "$T/suspects.json" <<'PY' || fail "suspects: not the verdicts the week was made for"
import json, sys
got = {s["ip"]: s["verdict"] for s in json.load(open(sys.argv[1]))["suspects"]}
want = {"198.51.100.10": "nat-egress", "198.51.100.20": "syn-flood", "198.51.100.30": "conn-flood"}
for ip, v in want.items():
    if got.get(ip) != v:
        print(f"{ip}: {got.get(ip)}, wanted {v} (all: {got})", file=sys.stderr)
        sys.exit(1)
PY
echo "differential.sh: PASS ($n_lite reports on each backend)"
