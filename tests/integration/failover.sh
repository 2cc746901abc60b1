#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# failover.sh: two real collectors on loopback (A on 127.0.0.1, B on [::1]), each with its own
# SQLite file, and one agent with --collector A,B at a 1 s interval.  With A down at start it
# reports to B; with both up it stays on B; B SIGKILLed: it moves to A within the backoff and
# keeps reporting; B back and A SIGKILLed: back to B.  Every seq the agent made is stored in A or
# B or still in its spool, 1..last without a gap; each collector's failure and each switch is
# logged once.
set -euo pipefail

BUILD=$(cd "${1:?usage: failover.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fs_tmpdir
read -r PA PB HA HB <<<"$("$_FS_LIB_ROOT/deploy/free-port" 4 | tr '\n' ' ')"
A="127.0.0.1:$PA"
B="[::1]:$PB"
declare -A listen=([a]=$A [b]=$B) http=([a]=$HA [b]=$HB) host=([a]=127.0.0.1 [b]=::1)
declare -A port=([a]=$PA [b]=$PB)
st=$T/state
mkdir -m 700 "$st"

col_start() {
	fs_col_start "$1" "${host[$1]}" "${port[$1]}" --listen "${listen[$1]}" --db "$T/$1.db" \
		--http "127.0.0.1:${http[$1]}"
}
col_stop() { fs_col_stop "$@"; }
# stored X: how many reports X's database holds (none before it exists).
stored() {
	[ -e "$T/$1.db" ] || { echo 0; return; }
	sqlite3 -batch -noheader "$T/$1.db" "SELECT count(*) FROM reports"
}
seqs() { sqlite3 -batch -noheader "$T/$1.db" "SELECT seq FROM reports ORDER BY seq"; }
more_than() { [ "$(stored "$1")" -gt "$2" ]; }
now_ms() { date +%s%3N; }
log=$T/agent.log
said() { grep -cF -- "$1" "$log" || true; }

# Moves the agent off X (SIGKILL) and waits, bounded, for its first report in Y's database.
# A lost connection is not a failed round: the agent goes on to the next collector at once, so
# it arrives within the first round's backoff (at most 1 s) plus the next tick (1 s); 5 s
# leave room for a loaded machine.
declare -a killed_at=()
fail_over() {
	local from=$1 to=$2 n t0 t1
	n=$(stored "$to")
	t0=$(now_ms)
	killed_at+=("$t0")
	col_stop "$from" KILL
	fs_wait_for 15 more_than "$to" "$n" || fail "no report reached $to after $from was killed"
	t1=$(now_ms)
	[ $((t1 - t0)) -le 5000 ] || fail "$from killed: the first report reached $to after $((t1 - t0)) ms"
	echo "$from killed: reports go to $to, the first stored after $((t1 - t0)) ms"
	n=$(stored "$to")
	fs_wait_for 10 more_than "$to" $((n + 2)) || fail "$to stopped receiving reports"
}

# A down: the agent tries it, moves on to B and stays there.
col_start b
fs_agent_start agent --collector "$A,$B" --interval 1 --tier failover --hostname failover1 \
	--state-dir "$st"
fs_wait_for 15 more_than b 2 || fail "nothing reached B with A down"
[ "$(said "collector $A: connect: connection refused; trying $B")" = 1 ] ||
	fail "A's failure not said once"
[ "$(said "reporting to collector $B")" = 1 ] || fail "the switch to B not said once"
echo "A down at start: reports go to B ($(stored b) stored)"

# Both up: it stays on the collector it has.
col_start a
nb=$(stored b)
sleep 4
[ "$(stored a)" = 0 ] || fail "with both up the agent went to A"
more_than b $((nb + 2)) || fail "with both up B stopped receiving reports"
echo "both up for 4 s: A got nothing, B $(( $(stored b) - nb )) more"

fail_over b a
col_start b
na=$(stored a) nb=$(stored b)
sleep 3
[ "$(stored b)" = "$nb" ] || fail "B back: the agent left A, which works"
more_than a "$na" || fail "A stopped receiving reports"
fail_over a b

fs_agent_kill agent TERM
sleep 1
col_stop b TERM  # A was killed above

# Each collector's failure said once (warnings: --verbose adds debug lines of every attempt) (A twice: at start, and when it was killed after it had
# taken the agent), each switch once, and no failure of B after it came back.
[ "$(said "warning: agent: collector $A:")" = 2 ] ||
	fail "A's failures said $(said "warning: agent: collector $A:") times, not 2"
[ "$(said "warning: agent: collector $B:")" = 1 ] ||
	fail "B's failure said $(said "warning: agent: collector $B:") times, not 1"
[ "$(said "reporting to collector $A (instead of $B)")" = 1 ] || fail "switch to A not said once"
[ "$(said "reporting to collector $B (instead of $A)")" = 1 ] || fail "switch back to B not said once"

# The seqs.  Each database holds a seq at most once ((host, seq) unique).  Together they hold
# 1..k without a gap, and with the spool (reports made but not acked when the agent stopped)
# every seq the agent made, 1..last.  A seq may be in both only if it was sent to a collector
# that stored it and was SIGKILLed before its Ack went out, and then resent from the spool to
# the other: so it was collected in the seconds before a kill (a report is in flight from its
# collection, each second, until its Ack, milliseconds later on a quiet collector; 5 s of
# margin).  Each database's hosts: the one agent.
for x in a b; do
	[ "$(sqlite3 -batch -noheader "$T/$x.db" "SELECT count(DISTINCT seq) = count(*) FROM reports")" = 1 ] ||
		fail "$x holds a seq twice"
	[ "$(sqlite3 -batch -noheader "$T/$x.db" "SELECT count(*) FROM hosts")" = 1 ] || fail "$x: not one host"
done
last=$(sed -n 's/^seq //p' "$st/state")
"$BUILD/fleetstat-agent" --print-spool --state-dir "$st" | sed -n 's/^seq=\([0-9]*\) .*/\1/p' >"$T/spooled"
sort -n -u <(seqs a) <(seqs b) <"$T/spooled" >"$T/all"
[ "$(cat "$T/all")" = "$(seq 1 "$last")" ] ||
	fail "stored and spooled seqs are not 1..$last: $(comm -13 "$T/all" <(seq 1 "$last") | head -5 | tr '\n' ' ') missing"
k=$(sort -n -u <(seqs a) <(seqs b) | tail -1)
[ "$(sort -n -u <(seqs a) <(seqs b))" = "$(seq 1 "$k")" ] || fail "the stored seqs have a gap below $k"
comm -12 <(seqs a | sort) <(seqs b | sort) | sort -n >"$T/both"
while read -r s; do
	c=$(sqlite3 -batch -noheader "$T/a.db" "SELECT collected_at_ms FROM reports WHERE seq = $s")
	near=0
	for t in "${killed_at[@]}"; do
		[ "$c" -gt $((t - 5000)) ] && [ "$c" -le "$t" ] && near=1
	done
	[ "$near" = 1 ] || fail "seq $s is stored in both, yet was collected at $c, not just before a kill (${killed_at[*]})"
done <"$T/both"
echo "seqs 1..$last: $(seqs a | wc -l) stored in A, $(seqs b | wc -l) in B, $(wc -l <"$T/spooled") spooled;" \
	"$(wc -l <"$T/both") in both (resent after a kill before its Ack)"
echo "failover.sh: PASS"
