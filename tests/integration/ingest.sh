#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ingest.sh: a collector and three real agents (tiers lvs, web, db) on loopback at a 1 s
# interval for 20 s: every agent's seqs 1..k are stored exactly once, each stored state table
# equals what that agent sent; a wrong token gets AUTH_FAILED, nothing stored, no token logged.
set -euo pipefail

BUILD=$(cd "${1:?usage: ingest.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fs_tmpdir
fs_db_env
PORT=$(fs_free_port)
fixtures=$here/../fixtures/text

token="tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$token" >"$T/token"
chmod 600 "$T/token"

fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --token-file "$T/token"

# Each agent reads a saved capture (--input), so what it sends is fixed and known.
declare -A input=([lvs]=ss-tan.txt [web]=malformed-netstat.txt [db]=malformed-ss.txt)
for tier in lvs web db; do
	mkdir -m 700 "$T/state-$tier"
	fs_agent_start "$tier" --collector "127.0.0.1:$PORT" --tier "$tier" --interval 1 \
		--token-file "$T/token" --state-dir "$T/state-$tier" --input "$fixtures/${input[$tier]}"
done
sleep 20
for tier in lvs web db; do
	fs_agent_kill "$tier" TERM
done
# Whatever was in flight is acked or stays spooled; give the writer a moment to commit.
sleep 1

for tier in lvs web db; do
	n=$(fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = '$tier'")
	[ "$n" -ge 15 ] || fail "$tier: only $n reports stored in 20 s at a 1 s interval"
	fs_seqs_ok "$tier" || fail "$tier: seqs are not 1..$n exactly once: $(fs_sql "SELECT group_concat(seq) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = '$tier'")"
	# What the agent sends for this input, state by state.
	want=$("$BUILD/fleetstat-agent" --print=json --input "$fixtures/${input[$tier]}" | python3 -c '
import json, sys
s = json.load(sys.stdin)["states"]
print("|".join(str(s[k]) for k in ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
      "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "CLOSING"]))')
	got=$(fs_sql "SELECT DISTINCT established || '|' || syn_sent || '|' || syn_recv || '|' ||
	              fin_wait1 || '|' || fin_wait2 || '|' || time_wait || '|' || close || '|' ||
	              close_wait || '|' || last_ack || '|' || closing
	              FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = '$tier'")
	[ "$got" = "$want" ] || fail "$tier: stored states '$got' != sent '$want'"
	echo "$tier: $n reports, seqs 1..$n once each, states $want"
done
[ "$(fs_sql 'SELECT count(*) FROM hosts')" = 3 ] || fail "expected 3 hosts"

# A wrong token: AUTH_FAILED, closed, nothing stored, and the token never logged.
printf 'not-the-token\n' >"$T/wrong"
chmod 600 "$T/wrong"
mkdir -m 700 "$T/state-bad"
before=$(fs_sql "SELECT count(*) FROM reports")
rc=0
"$BUILD/fleetstat-agent" "${FS_AGENT_TLS[@]}" --once --collector "127.0.0.1:$PORT" --tier web --timeout 10 \
	--token-file "$T/wrong" --state-dir "$T/state-bad" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
[ "$rc" -ne 0 ] || fail "--once with a wrong token exited 0"
grep -qi "auth" "$T/bad.err" || fail "agent did not say why: $(cat "$T/bad.err")"
grep -q "authentication failed" "$T/collector.log" || fail "collector did not log the refusal"
[ "$(fs_sql 'SELECT count(*) FROM reports')" = "$before" ] || fail "reports stored for a wrong token"
[ "$(fs_sql 'SELECT count(*) FROM hosts')" = 3 ] || fail "a host was registered for a wrong token"
! grep -q "$token" "$T/collector.log" "$T"/*.log "$T/bad.err" || fail "the token appears in a log"
! grep -q "not-the-token" "$T/collector.log" || fail "the wrong token appears in the log"
echo "wrong token: refused (exit $rc), nothing stored, no token in the logs"

fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"
grep -q "stopped" "$T/collector.log" || fail "collector did not stop cleanly"
echo "ingest.sh: PASS"
