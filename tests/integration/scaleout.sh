#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scaleout.sh: two real collectors on one throwaway PostgreSQL, five real agents listing both
# (--collector A,B; three in that order, two B,A), 1 s interval.  Each collector SIGKILLed
# three times in turn and started again; then PostgreSQL restarted crash-like (pg_ctl restart
# -m immediate) under that load.  Once every spool has drained: each agent's seqs are stored
# 1..k exactly once, and with what is still spooled they are every seq it made (nothing acked
# was lost); both collectors said the database went away, once each, and that they store again.
set -euo pipefail

BUILD=$(cd "${1:?usage: scaleout.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fs_tmpdir
fs_pg_start
DB=$PG_URI
FS_BACKEND=pg   # fs_sql reads the cluster
read -r PA PB HA HB <<<"$("$_FS_LIB_ROOT/deploy/free-port" 4 | tr '\n' ' ')"
declare -A port=([a]=$PA [b]=$PB) http=([a]=$HA [b]=$HB)

col_start() {
	fs_col_start "$1" 127.0.0.1 "${port[$1]}" --listen "127.0.0.1:${port[$1]}" --db "$DB" \
		--http "127.0.0.1:${http[$1]}"
}
col_stop() { fs_col_stop "$@"; }
stored() { fs_sql "SELECT count(*) FROM reports"; }
more_than() { [ "$(stored)" -gt "$1" ]; }
# per_host: each host's reports stored, in host order; all_gained BEFORE N: each host has N more.
per_host() { fs_sql "SELECT count(r.seq) FROM hosts h LEFT JOIN reports r ON r.host_id = h.id GROUP BY h.hostname ORDER BY h.hostname" | tr '\n' ' '; }
all_gained() {
	local -a was now
	read -r -a was <<<"$1"
	read -r -a now <<<"$(per_host)"
	[ "${#now[@]}" = 5 ] || return 1
	for i in 0 1 2 3 4; do
		[ "${now[$i]}" -ge $((${was[$i]:-0} + $2)) ] || return 1
	done
}

col_start a
col_start b
for i in 1 2 3 4 5; do
	mkdir -m 700 "$T/state$i"
	list="127.0.0.1:$PA,127.0.0.1:$PB"
	[ "$i" -gt 3 ] && list="127.0.0.1:$PB,127.0.0.1:$PA"
	fs_agent_start "a$i" --collector "$list" --interval 1 --tier "scale$i" \
		--hostname "scale$i" --state-dir "$T/state$i" --input "$here/../fixtures/text/ss-tan.txt"
done
fs_wait_for 20 more_than 20 || fail "the agents' reports did not arrive"

for round in 1 2 3; do
	for x in a b; do
		# With x down every agent reports through the other one: each host gains reports.
		was=$(per_host)
		col_stop "$x" KILL
		fs_wait_for 20 all_gained "$was" 3 ||
			fail "round $round: with $x down not every host reported: $was -> $(per_host)"
		col_start "$x"
		echo "round $round: collector $x killed and started again ($(stored) stored)"
	done
done

# PostgreSQL crashes and recovers under the load: the collectors' commits fail, the agents
# spool, then everything spooled is stored once.
n=$(stored)
api_hosts() { "$BUILD/fleetstat" --server "http://127.0.0.1:${http[a]}" --format json hosts; }
api_hosts >/dev/null || fail "the API did not answer before the restart"   # a reader is kept
fs_pg_restart_immediate
echo "PostgreSQL restarted crash-like with $n stored"
fs_wait_for 30 more_than $((n + 10)) || fail "nothing stored after PostgreSQL came back"
# The API's kept reader lost its session: the first query after it still answers.
api_hosts >"$T/hosts.json" || fail "the API's first query after the restart failed"
[ "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["hosts"]))' "$T/hosts.json")" = 5 ] ||
	fail "the API's hosts after the restart: $(cat "$T/hosts.json")"

# Every spool drained at once (each agent acked up to its newest report), bounded.
spools_empty() {
	local i
	for i in 1 2 3 4 5; do
		[ -d "$T/state$i/spool" ] || return 1
		[ -z "$(find "$T/state$i/spool" -type f -print -quit)" ] || return 1
	done
}
fs_wait_for 30 spools_empty || fail "the spools did not drain"
for i in 1 2 3 4 5; do
	fs_agent_kill "a$i" TERM
done
sleep 1
col_stop a TERM
col_stop b TERM

for i in 1 2 3 4 5; do
	fs_seqs_ok "scale$i" || fail "scale$i: seqs have a gap or a duplicate: $(fs_sql "SELECT group_concat(seq) FROM (SELECT seq FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = 'scale$i' ORDER BY seq) s")"
	last=$(sed -n 's/^seq //p' "$T/state$i/state")
	k=$(fs_sql "SELECT max(r.seq) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = 'scale$i'")
	spooled=$("$BUILD/fleetstat-agent" --print-spool --state-dir "$T/state$i" | grep -c '^seq=' || true)
	[ "$((k + spooled))" = "$last" ] || fail "scale$i: stored 1..$k, $spooled spooled, made $last"
	echo "scale$i: seqs 1..$k stored once each ($spooled spooled, $last made)"
done
[ "$(fs_sql "SELECT count(*) FROM hosts")" = 5 ] || fail "not five hosts"

# Each collector said once that the database went away, and that it stores again.
for x in a b; do
	away=$(grep -c "cannot store reports" "$T/collector-$x.log" || true)
	back=$(grep -c "storing again" "$T/collector-$x.log" || true)
	[ "$away" = "$back" ] && [ "$away" -le 1 ] ||
		fail "collector $x: 'cannot store' said $away times, 'storing again' $back"
done
[ "$(( $(grep -c "cannot store reports" "$T/collector-a.log" "$T/collector-b.log" |
	awk -F: '{ s += $2 } END { print s }') ))" -ge 1 ] || fail "no collector noticed the restart"
echo "scaleout.sh: PASS"
