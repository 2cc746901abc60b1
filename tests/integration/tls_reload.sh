#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tls_reload.sh: certificates renewed under load. A collector on mutual TLS takes reports from
# eight real agents (one a second each) and 200 loadgen agents (five a second each). Its
# certificate and key are renewed in place and it gets SIGHUP: no connection drops (no agent
# reconnects, the collector accepts no new one of theirs, loadgen sees no disconnect), no report
# is lost (each host's seqs stored 1..last, spools empty, every loadgen report acked), and a
# new handshake (openssl s_client) is shown the new certificate while the old sessions go on.
# A reload that fails (a broken certificate file) keeps the loaded files and says why. An
# agent's own certificate renewed and SIGHUP: its next connection presents it, the collector
# stores it and logs the change.
set -euo pipefail

BUILD=$(cd "${1:?usage: tls_reload.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v openssl >/dev/null || fail "openssl missing"
fs_fleet_env
D=$T/pki
N=8
fs_certs "$D" ca
fs_certs "$D" collector c1.test 127.0.0.1
for i in $(seq 1 $N); do fs_certs "$D" agent "a$i"; done
fs_certs "$D" agent lg
# The files the collector reads: renewed by replacing them, as a certificate manager does.
mkdir "$T/live"
install -m 644 "$D/c1.test.crt" "$T/live/col.crt"
install -m 600 "$D/c1.test.key" "$T/live/col.key"
# The certificate a new handshake is shown, as its SHA-256.
presented() {
	openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$D/ca.crt" -cert "$D/a1.crt" \
		-key "$D/a1.key" </dev/null 2>/dev/null | fs_cert_sha256
}
metric() {   # NAME: its value on /metrics
	curl -sSf "$SERVER/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --tls-cert "$T/live/col.crt" \
	--tls-key "$T/live/col.key" --tls-client-ca "$D/ca.crt"
for i in $(seq 1 $N); do
	mkdir -m 700 "$T/st$i"
	fs_agent_start "a$i" --collector "127.0.0.1:$PORT" --interval 1 --state-dir "$T/st$i" \
		--hostname "a$i" --tls-ca "$D/ca.crt" --tls-cert "$D/a$i.crt" --tls-key "$D/a$i.key"
done
# The load: 200 simulated agents at 5 reports a second each, over the reloads.
"$BUILD/loadgen" --collector "127.0.0.1:$PORT" --agents 200 --rate 5 --duration 20 --json \
	--tls-ca "$D/ca.crt" --tls-cert "$D/lg.crt" --tls-key "$D/lg.key" >"$T/loadgen.json" \
	2>"$T/loadgen.log" &
lg=$!
fs_on_exit "kill $lg 2>/dev/null; wait $lg 2>/dev/null"
lg_up() { [ "$(fs_sql "SELECT count(*) FROM hosts WHERE hostname LIKE 'loadgen-%'")" = 200 ]; }
fs_wait_for 20 lg_up || fail "loadgen's agents did not all connect: $(tail -3 "$T/loadgen.log")"
AG="hostname NOT LIKE 'loadgen-%'"
all_welcomed() { [ "$(fs_sql "SELECT count(*) FROM hosts WHERE $AG")" = "$N" ] && [ "$(fs_sql "SELECT min(last_seq) FROM hosts WHERE $AG")" -ge 2 ]; }
fs_wait_for 20 all_welcomed || fail "the agents did not all report"
old=$(presented)
[ "$old" = "$(fs_cert_sha256 "$D/c1.test.crt")" ] || fail "s_client was shown $old, not the collector's certificate"
accepted0=$(metric fleetstat_collector_connections_accepted_total)

# Renewed: a new key and certificate in the same files, then SIGHUP.
fs_certs "$D" collector c1.test 127.0.0.1
new_fp=$(fs_cert_sha256 "$D/c1.test.crt")
[ "$new_fp" != "$old" ] || fail "certs.sh did not renew the collector's certificate"
install -m 600 "$D/c1.test.key" "$T/live/col.key.new" && mv "$T/live/col.key.new" "$T/live/col.key"
install -m 644 "$D/c1.test.crt" "$T/live/col.crt.new" && mv "$T/live/col.crt.new" "$T/live/col.crt"
kill -HUP "$COL_PID"
fs_wait_for 5 grep -q "SIGHUP: TLS files reloaded; new handshakes use them ($((N + 200)) connections keep theirs)" \
	"$T/collector.log" || fail "no reload line: $(grep SIGHUP "$T/collector.log")"
[ "$(presented)" = "$new_fp" ] || fail "a new handshake was not shown the new certificate"
echo "SIGHUP: a new handshake is shown the new certificate ($new_fp)"

# A reload that fails keeps what was loaded.
echo "not a certificate" >"$T/live/col.crt"
kill -HUP "$COL_PID"
fs_wait_for 5 grep -q "SIGHUP: TLS files not reloaded, the loaded ones stay: .*col.crt" "$T/collector.log" ||
	fail "the failed reload was not said: $(grep SIGHUP "$T/collector.log" | tail -1)"
[ "$(presented)" = "$new_fp" ] || fail "after a failed reload the loaded certificate is gone"
grep "SIGHUP: TLS files not reloaded" "$T/collector.log" | sed 's/^[^:]*: warning: col: /collector: /'

# The load went on: more reports from each agent, still on their first connections.
seq0=$(fs_sql "SELECT min(last_seq) FROM hosts WHERE $AG")
more() { [ "$(fs_sql "SELECT min(last_seq) FROM hosts WHERE $AG")" -ge $((seq0 + 3)) ]; }
fs_wait_for 20 more || fail "the agents stopped reporting after the reload"
for i in $(seq 1 $N); do fs_agent_kill "a$i"; done
wait "$lg" || fail "loadgen: $(cat "$T/loadgen.json") $(tail -3 "$T/loadgen.log")"
python3 - "$T/loadgen.json" <<'PY' || fail "loadgen: $(cat "$T/loadgen.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] and r["tls"] and r["connected"] == 200 and r["errors"]["disconnects"] == 0, r
print(f"loadgen over the reloads: 200 agents, {r['acked']:,} reports sent and acked, no disconnect")
PY
accepted1=$(metric fleetstat_collector_connections_accepted_total)
# Two s_client handshakes since; /metrics is read over HTTP, which counts apart.
[ "$((accepted1 - accepted0))" = 2 ] ||
	fail "the collector accepted $((accepted1 - accepted0)) connections since the reload, not 2 (s_client's)"
if grep -l "warning" "$T"/a*.log; then fail "an agent said something went wrong"; fi
# No report lost: each host's seqs stored 1..k, and what its spool still holds (sent as it
# stopped, not acked yet) is k+1.. on, to go with the next connection.
for i in $(seq 1 $N); do
	row=$(fs_sql "SELECT count(*) || ' ' || max(r.seq) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.hostname = 'a$i'")
	read -r cnt max <<<"$row"
	[ "$cnt" = "$max" ] || fail "a$i: $cnt reports stored, seqs up to $max"
	"$BUILD/fleetstat-agent" --state-dir "$T/st$i" --print-spool | sed 's/^seq=\([0-9]*\) .*/\1/' >"$T/spool$i"
	want=$(seq $((max + 1)) $((max + $(wc -l <"$T/spool$i"))))
	[ "$(cat "$T/spool$i")" = "$want" ] || fail "a$i: stored 1..$max, spooled $(tr '\n' ' ' <"$T/spool$i")"
done
echo "$N agents over the reloads: no reconnect; every report stored (seqs 1..k) or still spooled (k+1..)"

# An agent's certificate renewed, SIGHUP to it: its next connection presents the new one.
fs_agent_start a1 --collector "127.0.0.1:$PORT" --interval 1 --state-dir "$T/st1" --hostname a1 \
	--tls-ca "$D/ca.crt" --tls-cert "$D/a1.crt" --tls-key "$D/a1.key"
old_a1=$(fs_cert_sha256 "$D/a1.crt")
stored_fp() { fs_sql "SELECT cert_sha256 FROM hosts WHERE hostname = 'a1'"; }
fs_wait_for 10 eval '[ "$(stored_fp)" = "$old_a1" ]' || fail "a1's certificate not stored"
fs_certs "$D" agent a1
kill -HUP "${AGENT_PID[a1]}"
fs_wait_for 5 grep -q "SIGHUP: TLS files reloaded" "$T/a1.log" || fail "a1 did not say it reloaded"
fs_collector_kill TERM || fail "the collector did not exit 0"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --tls-cert "$D/c1.test.crt" \
	--tls-key "$D/c1.test.key" --tls-client-ca "$D/ca.crt"
fs_wait_for 20 eval '[ "$(stored_fp)" = "$(fs_cert_sha256 "$D/a1.crt")" ]' ||
	fail "a1's renewed certificate was not stored: $(stored_fp)"
grep -q "a new certificate: CN=a1,O=fleetstat (sha256 $(fs_cert_sha256 "$D/a1.crt"); was $old_a1)" "$T/collector.log" ||
	fail "the collector did not log a1's new certificate"
fs_agent_kill a1
echo "agent SIGHUP: its next connection presented the renewed certificate; stored and logged"
echo "tls_reload.sh: PASS"
