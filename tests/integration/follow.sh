#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# follow.sh: a real agent follows an access log into a real collector while the log is
# written to, rotated by rename (the writer goes on in the renamed file a while, as a web
# server does until it reopens its logs), rotated by copytruncate, truncated and grown back
# past the agent's place between two reads, rotated while the agent is down, and cut in the
# middle of a line; the agent is restarted in the middle, and copytruncated while down.  Every
# line written after it began is counted exactly once: `fleetstat requests` equals the awk
# one-liner over those lines, IP by IP, and what was in the log before the agent began is not
# counted.
set -euo pipefail

BUILD=$(cd "${1:?usage: follow.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fs_fleet_env
LOG=$T/access.log
WANT=$T/want.log     # every line the agent should count, in writing order
n_lines=0

# line IP [STATUS]: one combined-format line for IP, appended to FILE (default the log) and,
# unless it is history, to what the agent should count.
line() {
	local ip=$1 status=${2:-200} file=${3:-$LOG} l
	n_lines=$((n_lines + 1))
	l="$ip - - [07/Dec/2026:10:00:00 +0000] \"GET /p/$n_lines HTTP/1.1\" $status 512 \"-\" \"ua-$((n_lines % 7))\""
	printf '%s\n' "$l" >>"$file"
	[ "${HISTORY:-0}" = 1 ] || printf '%s\n' "$l" >>"$WANT"
}
# lines COUNT IP [STATUS] [FILE]
lines() {
	local i
	for ((i = 0; i < $1; i++)); do line "$2" "${3:-200}" "${4:-$LOG}"; done
}
start_agent() {
	fs_agent_start agent --collector "127.0.0.1:$PORT" --interval 1 --tier web --hostname web1 \
		--state-dir "$T/state" --access-log "$LOG"
}
# A poll of the agent's (1 s) and a little: what was written is read.
read_by_agent() { sleep 1.4; }

fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
mkdir -m 700 "$T/state"
HISTORY=1 lines 50 192.0.2.250          # before the agent: history, not counted
: >"$WANT"
start_agent
reported() { [ "$(fs_sql "SELECT count(*) FROM reports")" -gt 0 ]; }
fs_wait_for 15 reported || fail "no report from the agent: $(tail -3 "$T/agent.log")"

# Plain appends, and a line written in two parts a poll apart.
lines 40 198.51.100.1
lines 20 198.51.100.2 404
read_by_agent
l='198.51.100.3 - - [07/Dec/2026:10:00:00 +0000] "GET /split HTTP/1.1" 200 1 "-" "ua-split"'
printf '%s' "${l:0:40}" >>"$LOG"
read_by_agent
printf '%s\n' "${l:40}" >>"$LOG"
printf '%s\n' "$l" >>"$WANT"

# Rotation by rename: the writer goes on in the renamed file, then in a new one.
read_by_agent
mv "$LOG" "$LOG.1"
lines 15 198.51.100.4 200 "$LOG.1"
read_by_agent
lines 25 198.51.100.5
read_by_agent
lines 5 198.51.100.4 200 "$LOG.1"   # the server had not reopened yet
read_by_agent

# The agent restarted in the middle: lines written while it is down, and a rename then too.
fs_agent_kill agent TERM
lines 12 198.51.100.6
mv "$LOG" "$LOG.2"
lines 8 198.51.100.7
start_agent
read_by_agent
lines 10 198.51.100.8
read_by_agent

# copytruncate: copied, then truncated, the writer paused between; then truncated and grown
# back past the agent's place before it reads again.
lines 30 198.51.100.9
cp "$LOG" "$LOG.3"
: >"$LOG"
lines 3 198.51.100.10
read_by_agent
lines 7 198.51.100.11
read_by_agent
: >"$LOG"
lines 40 198.51.100.12              # more than the file held: its size alone would not tell
read_by_agent

# copytruncate while the agent is down, the log grown back past its mark before it starts
# again: what the copy holds past the mark, then the new log from its start.
lines 6 198.51.100.13
read_by_agent
fs_agent_kill agent TERM
lines 4 198.51.100.14
cp "$LOG" "$LOG.4"
: >"$LOG"
lines 60 198.51.100.15
start_agent
read_by_agent

want_total=$(wc -l <"$WANT")
fs_wait_for 20 fs_requests_counted "$want_total" ||
	fail "the collector has $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"]["total"])' "$T/req.json" 2>/dev/null || echo '?') requests, $want_total written"
sleep 2.5   # two more reports: nothing may come twice
fs_requests_counted "$want_total" || fail "requests went away"
awk '{++S[$1]} END {for (a in S) print a, S[a]}' "$WANT" | LC_ALL=C sort >"$T/want.counts"
fs_requests_per_ip "$want_total" >"$T/got.counts" || fail "the stored requests are not exact"
diff "$T/want.counts" "$T/got.counts" >"$T/diff" ||
	fail "requests per IP differ from the one-liner over the lines written (want < > got):
$(cat "$T/diff")"
grep -q 192.0.2.250 "$T/got.counts" && fail "the log's history before the agent was counted"
fs_agent_kill agent TERM
echo "follow: ok ($want_total lines counted once each across a split line, rename, restart," \
	"rename while down, copytruncate and truncate-and-grow; history before the agent left out)"
