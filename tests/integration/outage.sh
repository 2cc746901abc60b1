#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# outage.sh: the collector is down for 60 s while two agents keep collecting; after its restart
# every report of the outage arrives, in order (seqs without a gap, stored in seq order, with
# collection times a second apart across the outage).
set -euo pipefail

BUILD=$(cd "${1:?usage: outage.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fs_tmpdir
fs_db_env
PORT=$(fs_free_port)
outage=${FS_OUTAGE_SECONDS:-60}

fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
for i in 1 2; do
	mkdir -m 700 "$T/state-$i"
	fs_agent_start "a$i" --collector "127.0.0.1:$PORT" --tier "outage$i" --interval 1 \
		--state-dir "$T/state-$i"
done
sleep 5
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"
down=$(date +%s%3N)
echo "collector down for $outage s"
sleep "$outage"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
up=$(date +%s%3N)

# Wait (bounded) until each agent has delivered a report collected after the restart: its
# reconnect backoff has doubled up to a minute during the outage, plus jitter.
after_restart() {
	[ "$(fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id
	            WHERE h.tier = '$1' AND r.collected_at_ms > $up")" -gt 2 ]
}
for i in 1 2; do
	fs_wait_for 100 after_restart "outage$i" || fail "outage$i: nothing after the restart"
done
for i in 1 2; do
	fs_agent_kill "a$i" TERM
done
sleep 1
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"

stored=id
[ "${FS_BACKEND:-sqlite}" = pg ] && stored=received_at_ms
for i in 1 2; do
	h="h.tier = 'outage$i'"
	n=$(fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE $h")
	during=$(fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id
	                 WHERE $h AND r.collected_at_ms BETWEEN $down AND $up")
	fs_seqs_ok "outage$i" || fail "outage$i: seqs have a gap or a duplicate"
	[ "$during" -ge $((outage - 5)) ] || fail "outage$i: only $during reports from the outage"
	# Stored in seq order: the row ids (PostgreSQL's rows have none: the times they were
	# received) rise with seq, and so do the collection times.
	bad=$(fs_sql "SELECT count(*) FROM reports a JOIN reports b ON a.host_id = b.host_id
	              JOIN hosts h ON h.id = a.host_id
	              WHERE $h AND a.seq < b.seq AND (a.$stored > b.$stored
	                    OR a.collected_at_ms >= b.collected_at_ms)")
	[ "$bad" = 0 ] || fail "outage$i: $bad pairs stored out of order"
	gap=$(fs_sql "SELECT max(b.collected_at_ms - a.collected_at_ms) FROM reports a JOIN reports b
	              ON a.host_id = b.host_id AND b.seq = a.seq + 1 JOIN hosts h ON h.id = a.host_id WHERE $h")
	[ "$gap" -lt 3000 ] || fail "outage$i: $gap ms between consecutive reports"
	echo "outage$i: $n reports, $during collected during the $outage s outage, in order"
done
echo "outage.sh: PASS"
