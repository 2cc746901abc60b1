#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tls.sh: TLS on the collector's ingest, against peers that are not fleetstat's code. A
# collector with mutual TLS (deploy/certs.sh's CA): openssl s_client with an agent certificate
# completes the handshake and reads the Challenge frame; an agent on Python's ssl delivers
# reports that are acked and stored; refused, each with a log line that names the peer and
# why, and nothing stored: no client certificate, one of another CA, an expired one, one
# without client-auth usage; garbage instead of a ClientHello; a plaintext agent (told so at
# the handshake timeout). The collector serves a good agent afterwards. Then fleetstat-agent:
# delivers over mutual TLS; refuses a collector certificate for another name or from another CA
# with one line, and keeps spooling; a plaintext agent against a TLS listener and a TLS agent
# against a plaintext one get one line on each side.
set -euo pipefail

BUILD=$(cd "${1:?usage: tls.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v openssl >/dev/null || fail "openssl missing"
fs_tmpdir
D=$T/pki
PEER=$_FS_LIB_ROOT/tests/tools/tlspeer.py
fs_certs "$D" ca
fs_certs "$D" collector c1.test 127.0.0.1
fs_certs "$D" agent web1
fs_certs "$D" collector web3
fs_certs "$T/other" ca
fs_certs "$T/other" agent web9
# An agent certificate that expired a second after it was made.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/old.key" \
	-subj /CN=web2 -out "$T/old.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$T/old.ext"
openssl x509 -req -in "$T/old.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -days 0 \
	-extfile "$T/old.ext" -out "$D/old.crt" 2>/dev/null || fail "the expired certificate"
DB=$T/fleetstat.db
PORT=$(fs_free_port)
fs_collector_start --verbose --listen "127.0.0.1:$PORT" --db "$DB" --handshake-timeout 2s \
	--tls-cert "$D/c1.test.crt" --tls-key "$D/c1.test.key" --tls-client-ca "$D/ca.crt"
stored() { sqlite3 "$DB" "SELECT count(*) FROM reports" 2>/dev/null || echo 0; }
stored_is() { [ "$(stored)" = "$1" ]; }

# openssl's client, with web1's certificate: the Challenge frame, decoded.
sleep 1 | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$D/ca.crt" \
	-verify_hostname c1.test -verify_return_error -cert "$D/web1.crt" -key "$D/web1.key" \
	>"$T/challenge.bin" 2>"$T/s_client.log" || fail "openssl s_client: $(tail -3 "$T/s_client.log")"
python3 - "$T/challenge.bin" "$_FS_LIB_ROOT/tests/tools" <<'PY' || fail "openssl s_client did not read a Challenge"
import struct, sys
sys.path.insert(0, sys.argv[2])
from pbwire import parse
b = open(sys.argv[1], "rb").read()
n = struct.unpack(">I", b[:4])[0]
ch = parse(b[4:4 + n])[1][0]         # Frame.challenge
assert len(parse(ch)[2][0]) == 32   # its nonce
PY
grep -q "TLSv1.3, certificate CN=web1" "$T/collector.log" || fail "the collector did not log web1's certificate"
echo "openssl s_client with web1's certificate: handshake and Challenge"

# Python's ssl, web1's certificate: three reports acked and stored.
python3 "$PEER" --port "$PORT" --ca "$D/ca.crt" --name c1.test --cert "$D/web1.crt" \
	--key "$D/web1.key" --reports 3 >"$T/peer.json" || fail "tlspeer.py"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(r["acked"][-1:] != [3] or r["error"] != "")' \
	"$T/peer.json" || fail "the Python agent: $(cat "$T/peer.json")"
fs_wait_for 5 stored_is 3 || fail "stored $(stored) reports, not 3"
echo "Python's ssl with web1's certificate: 3 reports acked and stored"

# Refused: each names the peer's address and why in one line; nothing more is stored.
handshake_lines_gt() { [ "$(grep -c "TLS handshake" "$T/collector.log" || true)" -gt "$1" ]; }
refused() {   # WHY... (the python peer's arguments follow --)
	local want=$1 n
	shift
	n=$(grep -c "TLS handshake" "$T/collector.log" || true)
	python3 "$PEER" --port "$PORT" --ca "$D/ca.crt" --name c1.test "$@" >"$T/refused.json" || true
	grep -q '"welcome": false' "$T/refused.json" || fail "$*: welcomed: $(cat "$T/refused.json")"
	fs_wait_for 5 handshake_lines_gt "$n" ||
		fail "$*: no log line"
	grep "TLS handshake" "$T/collector.log" | tail -1 | grep -q "^fleetstat-collector: col: 127\.0\.0\.1:[0-9]*: TLS handshake: .*$want" ||
		fail "$*: not '$want': $(grep "TLS handshake" "$T/collector.log" | tail -1)"
	echo "refused ($want): $(grep "TLS handshake" "$T/collector.log" | tail -1 | sed 's/^[^:]*: col: //')"
}
refused "did not return a certificate"
refused "unable to get local issuer certificate" --cert "$T/other/web9.crt" --key "$T/other/web9.key"
refused "expired" --cert "$D/old.crt" --key "$D/old.key"
refused "unsuitable certificate purpose" --cert "$D/web3.crt" --key "$D/web3.key"
[ "$(stored)" = 3 ] || fail "a refused peer's reports were stored: $(stored)"

# Garbage instead of a ClientHello: one line, and the connection goes.
python3 - "$PORT" <<'PY' || fail "garbage: the collector kept the connection"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"\x16\x03\x01\x00\x10" + bytes(range(16)) + b"GET / HTTP/1.0\r\n\r\n" * 10)
s.settimeout(5)
try:
    while s.recv(4096):
        pass
except ConnectionResetError:
    pass
PY
fs_wait_for 5 grep -q "TLS handshake: error" "$T/collector.log" || fail "garbage: no log line"
# A plaintext agent: told at the handshake timeout.
python3 "$PEER" --port "$PORT" --plaintext >"$T/plain.json" || true
grep -q '"welcome": false' "$T/plain.json" || fail "a plaintext agent was welcomed"
fs_wait_for 5 grep -q "no TLS handshake within the handshake timeout (a plaintext agent?)" "$T/collector.log" ||
	fail "no line for the plaintext agent"
echo "garbage and a plaintext agent: refused with a line each"

# Still serving.
python3 "$PEER" --port "$PORT" --ca "$D/ca.crt" --name c1.test --cert "$D/web1.crt" \
	--key "$D/web1.key" --reports 2 --tier again >"$T/peer2.json" || fail "tlspeer.py again"
grep -q '"acked": \[1, 2\]' "$T/peer2.json" || fail "the good agent afterwards: $(cat "$T/peer2.json")"
[ "$(stored)" = 5 ] || fail "stored $(stored), not 5"

# fleetstat-agent over mutual TLS: --once acked; the name checked is the --collector host
# (here an address of the certificate), or --tls-server-name.
mkdir -m 700 "$T/st"
agent() { "$BUILD/fleetstat-agent" --state-dir "$T/st" --collector "127.0.0.1:$PORT" "$@"; }
mtls=(--tls-ca "$D/ca.crt" --tls-cert "$D/web1.crt" --tls-key "$D/web1.key")
agent --once --timeout 10 "${mtls[@]}" 2>"$T/once.log" || fail "agent --once over TLS: $(cat "$T/once.log")"
agent --once --timeout 10 "${mtls[@]}" --tls-server-name c1.test 2>"$T/once.log" ||
	fail "agent --once, --tls-server-name: $(cat "$T/once.log")"
fs_wait_for 5 stored_is 7 || fail "the agent's reports: stored $(stored), not 7"
echo "fleetstat-agent over mutual TLS: acked and stored"

# Its host carries the certificate it presented; a renewed one is stored and logged.
cert_of() {   # the hostname's certificate as `fleetstat hosts` gives it: SUBJECT SHA256
	"$BUILD/fleetstat" --db "$DB" hosts --format json | python3 -c '
import json, sys
for h in json.load(sys.stdin)["hosts"]:
    if h["hostname"] == sys.argv[1]:
        print(h["cert_subject"], h["cert_sha256"])' "$1"
}
me=$(uname -n)
[ "$(cert_of "$me")" = "CN=web1,O=fleetstat $(fs_cert_sha256 "$D/web1.crt")" ] ||
	fail "hosts: $(cert_of "$me"), not web1's certificate $(fs_cert_sha256 "$D/web1.crt")"
"$BUILD/fleetstat" --db "$DB" hosts | grep "CN=web1,O=fleetstat" >/dev/null || fail "hosts' table: no CERT"
old_fp=$(fs_cert_sha256 "$D/web1.crt")
fs_certs "$D" agent web1
[ "$(fs_cert_sha256 "$D/web1.crt")" != "$old_fp" ] || fail "certs.sh did not renew web1"
agent --once --timeout 10 "${mtls[@]}" 2>"$T/once.log" || fail "agent --once, renewed certificate"
[ "$(cert_of "$me")" = "CN=web1,O=fleetstat $(fs_cert_sha256 "$D/web1.crt")" ] || fail "the renewed certificate not stored"
fs_wait_for 5 grep -q "a new certificate: CN=web1,O=fleetstat (sha256 $(fs_cert_sha256 "$D/web1.crt"); was $old_fp)" \
	"$T/collector.log" || fail "the renewed certificate was not logged"
grep "a new certificate" "$T/collector.log" | sed 's/^[^:]*: col: /collector: /'
fs_wait_for 5 stored_is 8 || fail "stored $(stored), not 8"

# The agent refuses a collector whose certificate is for another name, or from another CA:
# one line said, reports spooled, nothing stored.
spooled() { agent --print-spool | wc -l; }
spooled_ge() { [ "$(spooled)" -ge "$1" ]; }
refuses() {   # NAME WANT ARGS...
	local name=$1 want=$2 n0
	shift 2
	n0=$(spooled)
	fs_agent_start "$name" --state-dir "$T/st" --collector "127.0.0.1:$PORT" --interval 1 "$@"
	fs_wait_for 10 spooled_ge $((n0 + 3)) || fail "$name: not spooling"
	fs_agent_kill "$name"
	[ "$(grep -c warning "$T/$name.log")" = 1 ] || fail "$name: not one line: $(cat "$T/$name.log")"
	grep -q "warning: agent: collector 127.0.0.1:$PORT: .*$want.*; retrying with backoff, reports are spooled" \
		"$T/$name.log" || fail "$name: not '$want': $(cat "$T/$name.log")"
	echo "agent refuses ($name): $(grep warning "$T/$name.log" | sed 's/^[^:]*: warning: //')"
}
refuses wrong-name "hostname mismatch (the name checked: web3)" "${mtls[@]}" --tls-server-name web3
refuses other-ca "the peer's certificate: \\(self-signed certificate in certificate chain\\|unable to get local issuer\\)" --tls-ca "$T/other/ca.crt" \
	--tls-cert "$D/web1.crt" --tls-key "$D/web1.key"
refuses no-cert "certificate required (the collector wants this agent's certificate?" \
	--tls-ca "$D/ca.crt"
[ "$(stored)" = 8 ] || fail "refused agents' reports were stored: $(stored)"
# Delivered once the agent trusts the collector again: what it spooled, and one more.
n=$(($(spooled) + 9))
agent --once --timeout 10 "${mtls[@]}" 2>"$T/once.log" || fail "agent --once after refusals"
[ "$(spooled)" = 0 ] || fail "the spool did not drain: $(spooled) left"
fs_wait_for 5 stored_is "$n" || fail "stored $(stored), not $n"
echo "then trusted: its $((n - 9)) spooled reports and a new one delivered"
kill -TERM "$COL_PID"
wait "$COL_PID" || fail "the collector exited $? on SIGTERM"
COL_PID=""

# Plaintext agent against a TLS listener, TLS agent against a plaintext one: one clear line on
# each side, at once (a plaintext agent is told in clear after 5 s of silence).
: >"$T/collector.log"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --tls-cert "$D/c1.test.crt" \
	--tls-key "$D/c1.test.key" --tls-client-ca "$D/ca.crt"
agent --once --timeout 8 2>"$T/plain.log" && fail "a plaintext agent was taken by a TLS listener"
grep -q "refused: BAD_PROTOCOL: this collector speaks TLS: give the agent --tls-ca" "$T/plain.log" ||
	fail "plaintext agent, TLS listener: $(cat "$T/plain.log")"
fs_wait_for 5 grep -q "sent nothing in 5 s on a TLS listener (a plaintext agent?)" "$T/collector.log" ||
	fail "plaintext agent, TLS listener: the collector said nothing"
fs_collector_kill TERM || fail "the TLS collector did not exit 0"
grep "sent nothing" "$T/collector.log" | sed 's/^[^:]*: col: /collector: /'
: >"$T/collector.log"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
agent --once --timeout 8 "${mtls[@]}" 2>"$T/tls.log" && fail "a TLS agent was taken in clear"
grep -q "the collector answered in plaintext, not TLS" "$T/tls.log" ||
	fail "TLS agent, plaintext listener: $(cat "$T/tls.log")"
fs_wait_for 5 grep -q "a TLS handshake on a plaintext listener" "$T/collector.log" ||
	fail "TLS agent, plaintext listener: the collector said nothing"
grep "TLS handshake on a plaintext" "$T/collector.log" | sed 's/^[^:]*: col: /collector: /'
for f in plain tls; do
	[ "$(grep -c . "$T/$f.log")" = 1 ] || fail "$f agent: not one line: $(cat "$T/$f.log")"
	echo "$f agent: $(sed 's/^[^:]*: warning: //' "$T/$f.log")"
done
fs_collector_kill TERM || fail "the plaintext collector did not exit 0"
[ "$(stored)" = "$n" ] || fail "stored $(stored), not $n"

# A refusal sent before any TLS (too many connections from one address) reaches a TLS agent
# as the collector's words, not as "plaintext".
: >"$T/collector.log"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --max-conns-per-ip 1 \
	--tls-cert "$D/c1.test.crt" --tls-key "$D/c1.test.key" --tls-client-ca "$D/ca.crt"
# The slot is held once the collector has kept fd 4: a connection accepted in the same batch as
# fs_collector_start's probe, before the probe's end was read, is itself refused (it reads data).
held=""
for _ in 1 2 3 4 5; do
	exec 4<>"/dev/tcp/127.0.0.1/$PORT"
	rc=0
	read -r -t 0.5 -N 1 -u 4 _ 2>/dev/null || rc=$?
	if [ "$rc" -gt 128 ]; then held=1; break; fi
	exec 4>&-
done
[ -n "$held" ] || fail "no connection held the collector's one slot"
agent --once --timeout 8 "${mtls[@]}" 2>"$T/over.log" && fail "an agent over the limit was taken"
exec 4>&-
grep -q "refused: OVERLOADED: too many connections from this address" "$T/over.log" ||
	fail "over the limit: $(cat "$T/over.log")"
echo "over the limit: $(sed 's/^[^:]*: warning: //' "$T/over.log")"
fs_collector_kill TERM || fail "the limited collector did not exit 0"
echo "tls.sh: PASS"
