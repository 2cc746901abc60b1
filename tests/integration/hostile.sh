#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# hostile.sh: a collector under hostile clients (tests/tools/hostile.py: garbage, frame lengths
# 0 and 0xFFFFFFFF, truncated frames, a Hello at one byte a second, 5,000 idle connections, 500
# Hellos with wrong tokens, reports with a 7-byte IP, a tier with spaces, seq going backwards,
# a timestamp a day ahead, 100,000 top entries, a client that never reads its acks) while a
# real agent reports every second.  Checks: every report of the agent is stored once, within 3
# intervals of its collection, and acked (its spool drains); each hostile client got what it
# deserved; the collector's RSS stayed under the bound; /metrics counts each refusal by reason.
# With FS_TLS=1 (mutual TLS, lib.sh) every client speaks through TLS, 2,000 of them idle after
# their handshake, and three more kinds come: half a ClientHello then silence, garbage instead
# of a ClientHello, and plaintext agents: each closed (the plaintext ones told why in clear).
set -euo pipefail

BUILD=$(cd "${1:?usage: hostile.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
RSS_BOUND_MIB=${FS_RSS_BOUND_MIB:-160}
fs_fleet_env
# Under ASan (shadow memory, a quarantine of freed blocks) the same collector takes about four
# times the memory: the bound is four times the release build's.
# (Not `ldd | grep -q`: under pipefail, grep leaving early can kill ldd with SIGPIPE and the
# pipeline fail, which kept the release bound for an ASan build.)
case $(ldd "$BUILD/fleetstat-collector") in *libasan*) RSS_BOUND_MIB=$((4 * RSS_BOUND_MIB)) ;; esac
# 5,000 idle connections and the rest: as many descriptors as the hard limit gives, up to 16384.
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 8192 ] || fail "this needs 8192 file descriptors, the hard limit is $(ulimit -Hn)"
printf 'h-%s\n' "$RANDOM$RANDOM" >"$T/token"
chmod 600 "$T/token"

fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --token-file "$T/token"
fs_agent_start good --collector "127.0.0.1:$PORT" --tier web --interval 1 --token-file "$T/token" \
	--state-dir "$T/state"
good_count() { fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = 'web'"; }
# The agent's first report is stored before the clients start (asked again at every try).
good_stored() { [ "$(good_count)" -gt 0 ] 2>/dev/null; }
fs_wait_for 10 good_stored || fail "no report of the agent stored within 10 s (stored: '$(good_count)')"
start_ms=$(date +%s%3N)

# The collector's RSS, every 200 ms while the clients do their worst.
( while kill -0 "$COL_PID" 2>/dev/null; do
	awk '/^VmRSS/ {print $2}' "/proc/$COL_PID/status" 2>/dev/null
	sleep 0.2
done ) >"$T/rss.txt" &
sampler=$!
fs_on_exit "kill $sampler 2>/dev/null; wait $sampler 2>/dev/null"

IDLE=5000
tls=()
if [ "${FS_TLS:-0}" = 1 ]; then
	IDLE=2000
	tls=(--tls-ca "$T/pki/ca.crt" --tls-cert "$T/pki/agent.crt" --tls-key "$T/pki/agent.key")
fi
python3 "$here/../tools/hostile.py" --port "$PORT" --token-file "$T/token" --idle "$IDLE" \
	--hellos 500 --seconds 15 "${tls[@]}" >"$T/hostile.json" || fail "hostile.py: $(cat "$T/hostile.json")"
sleep 3   # the agent's last reports of the storm: acked within 3 intervals
end_ms=$(date +%s%3N)
kill "$sampler"
wait "$sampler" 2>/dev/null || true

python3 - "$T/hostile.json" "$IDLE" "${FS_TLS:-0}" <<'PY' || fail "the hostile clients: $(cat "$T/hostile.json")"
import json, sys
r = json.load(open(sys.argv[1]))
idle, tls = int(sys.argv[2]), sys.argv[3] == "1"
def only(kind, outcome, n):
    assert r.get(kind) == {outcome: n}, (kind, r.get(kind))
only("garbage", "error+close", 50)
only("zero", "error+close", 10)
only("huge", "error+close", 10)
only("truncated", "sent and closed", 10)
only("wrong_token", "refused", 500)
for k in ("bad_ip", "backwards", "ahead", "many_ips"):
    only(k, "error+close", 5)
only("bad_tier", "hello refused", 5)
assert list(r["slow"]) and list(r["slow"])[0].startswith("error+close after"), r["slow"]
assert r["idle_open"] == idle and r["idle_challenged"] == idle, (r["idle_open"], r["idle_challenged"])
assert r["no_reader_sent"] > 0, r
if tls:
    only("half_handshake", "closed", 50)
    only("tls_garbage", "closed", 50)
    only("plaintext", "error+close", 10)
print(f"hostile clients: each refused as it deserved; {idle} idle connections challenged and held;"
      f" the client that never reads its acks sent {r['no_reader_sent']} reports" +
      ("; over TLS, with 50 half handshakes, 50 garbage ClientHellos and 10 plaintext agents"
       " closed" if tls else ""))
PY

# The good agent: every report stored once, in order, within 3 intervals; its spool drained.
fs_seqs_ok web || fail "the agent's seqs are not 1..k once each"
late=$(fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id
	WHERE h.tier = 'web' AND r.collected_at_ms >= $start_ms AND r.received_at_ms - r.collected_at_ms > 3000")
during=$(fs_sql "SELECT count(*) FROM reports r JOIN hosts h ON h.id = r.host_id
	WHERE h.tier = 'web' AND r.collected_at_ms BETWEEN $start_ms AND $end_ms")
[ "$late" -eq 0 ] || fail "$late of the agent's reports took longer than 3 intervals"
secs=$(( (end_ms - start_ms) / 1000 ))
[ "$during" -ge $((secs - 3)) ] || fail "only $during of the agent's reports in $secs s"
spool() { [ "$(find "$T/state/spool" -type f | wc -l)" -le 2 ]; }
fs_wait_for 5 spool || fail "the agent's spool did not drain"
max_rss=$(sort -n "$T/rss.txt" | tail -1)
[ $((max_rss / 1024)) -lt "$RSS_BOUND_MIB" ] || fail "collector RSS $((max_rss / 1024)) MiB, over $RSS_BOUND_MIB"
echo "good agent: $during reports in $secs s, each stored within 3 intervals; collector peak RSS $((max_rss / 1024)) MiB (bound $RSS_BOUND_MIB)"

# /metrics counts each refusal by reason.
curl -sf "$SERVER/metrics" >"$T/metrics.txt" || fail "/metrics"
# No token (loopback): a name other than loopback's is a page elsewhere rebinding one to here.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: rebound.example:${SERVER##*:}" "$SERVER/metrics")
[ "$code" = 403 ] || fail "GET /metrics for Host rebound.example: $code, wanted 403"
curl -sf -o /dev/null -H "Host: localhost:${SERVER##*:}" "$SERVER/metrics" || fail "Host localhost refused"
python3 - "$T/metrics.txt" <<'PY' || fail "/metrics: $(grep rejected "$T/metrics.txt")"
import re, sys
m = {k: float(v) for k, v in re.findall(r'fleetstat_collector_rejected_frames_total\{reason="(\w+)"\} (\S+)', open(sys.argv[1]).read())}
assert m["bad_frame"] >= 70, m          # garbage, zero, huge, 100,000 entries
assert m["auth_failed"] >= 500, m
assert m["invalid"] >= 20, m            # 7-byte IP, tier, backwards, ahead
assert m["bad_protocol"] >= 1, m        # the slow Hello's handshake timeout
print("/metrics: refusals by reason:", {k: int(v) for k, v in m.items() if v})
PY
fs_agent_kill good TERM
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"
echo "hostile.sh: PASS"
