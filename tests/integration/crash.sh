#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crash.sh: five agents at a 1 s interval; the collector is SIGKILLed five times at random
# moments and restarted, two agents are SIGKILLed and restarted too.  At the end every agent's
# seqs in the database run from 1 without a gap or a duplicate.
set -euo pipefail

BUILD=$(cd "${1:?usage: crash.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fs_tmpdir
fs_db_env
PORT=$(fs_free_port)
RANDOM=$$

start_agent() {
	fs_agent_start "a$1" --collector "127.0.0.1:$PORT" --tier "crash$1" --interval 1 \
		--state-dir "$T/state-$1"
}

fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
for i in 1 2 3 4 5; do
	mkdir -m 700 "$T/state-$i"
	start_agent "$i"
done

for round in 1 2 3 4 5; do
	sleep "$((1 + RANDOM % 4)).$((RANDOM % 10))"
	fs_collector_kill KILL || true
	echo "round $round: collector killed"
	if [ "$round" -le 2 ]; then
		# An agent dies too, at its own random moment.
		sleep "0.$((RANDOM % 10))"
		fs_agent_kill "a$round" KILL
		echo "round $round: agent a$round killed"
		start_agent "$round"
	fi
	sleep "0.$((RANDOM % 10))"
	fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
done

# Let the spools drain: every agent's newest spooled report reaches the database, which the
# spools all empty at once tell (a report leaves the spool when its ack comes, after its commit;
# agent/io/state.h: spool/ holds one file per unacked report, named by its 20-digit seq).
spooled() { ls -A "$T/state-$1/spool" | grep -x '[0-9]\{20\}' | sed 's/^0*//' | tr '\n' ' '; }
drained() {
	local i
	for i in 1 2 3 4 5; do
		[ -d "$T/state-$i/spool" ] || return 1  # no spool dir: nothing to tell by
		[ -z "$(spooled "$i")" ] || return 1
	done
}
# What the spools hold (seqs) and the database's last seq of each agent.
spools() {
	local i
	for i in 1 2 3 4 5; do
		printf 'a%s spool [%s] stored up to %s; ' "$i" "$(spooled "$i")" "$(fs_sql "SELECT max(seq)
			FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = 'crash$i'")"
	done
}
fs_wait_for 30 drained || fail "the spools did not drain in 30 s: $(spools)"
for i in 1 2 3 4 5; do
	fs_agent_kill "a$i" TERM
done
sleep 1
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"

for i in 1 2 3 4 5; do
	n=$(fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = 'crash$i'")
	[ "$n" -ge 10 ] || fail "crash$i: only $n reports"
	fs_seqs_ok "crash$i" || fail "crash$i: seqs have a gap or a duplicate: $(fs_sql "SELECT group_concat(seq) FROM (SELECT seq FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = 'crash$i' ORDER BY seq)")"
	echo "crash$i: seqs 1..$n, each once"
done
echo "crash.sh: PASS"
