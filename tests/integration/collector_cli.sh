#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_cli.sh: fleetstat-collector's flags, config file and refusals: no token off loopback
# unless --insecure, token files others may read, bad values; a clean stop on SIGTERM and SIGINT
# with an agent connected; the token never in the log.
set -euo pipefail

BUILD=$(cd "${1:?usage: collector_cli.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
fs_tmpdir
col="$BUILD/fleetstat-collector"
DB=$T/fleetstat.db

# expect_error CODE PATTERN CMD...: CMD exits with CODE and says PATTERN on stderr, quickly.
expect_error() {
	local code=$1 pat=$2 rc=0
	shift 2
	timeout 10 "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$code" ] || fail "$* exited $rc, wanted $code: $(cat "$T/err")"
	grep -q -- "$pat" "$T/err" || fail "$*: stderr lacks '$pat': $(cat "$T/err")"
}

secret="s3cr3t-$RANDOM$RANDOM"
printf '%s\n' "$secret" >"$T/token"
chmod 600 "$T/token"
cp "$T/token" "$T/token-open"
chmod 644 "$T/token-open"

# Off loopback: reports sealed (TLS) and agents proven (a token or client certificates), or
# --insecure says otherwise.
expect_error 1 "in clear: give --tls-cert" "$col" --listen 0.0.0.0:7499 --db "$DB"
expect_error 1 "in clear: give --tls-cert" "$col" --listen '[::]:7499' --db "$DB" \
	--token-file "$T/token"
bash "$_FS_LIB_ROOT/deploy/certs.sh" "$T/pki" ca >/dev/null
bash "$_FS_LIB_ROOT/deploy/certs.sh" "$T/pki" collector c1 >/dev/null
expect_error 1 "without a token: give --token-file or --tls-client-ca" "$col" \
	--listen 0.0.0.0:7499 --db "$DB" --tls-cert "$T/pki/c1.crt" --tls-key "$T/pki/c1.key"
expect_error 1 "needs both --tls-cert and --tls-key" "$col" --db "$DB" --tls-cert "$T/pki/c1.crt"
chmod 640 "$T/pki/c1.key"
expect_error 1 "group or others may read it" "$col" --listen 127.0.0.1:7499 --db "$DB" \
	--tls-cert "$T/pki/c1.crt" --tls-key "$T/pki/c1.key"
chmod 600 "$T/pki/c1.key"
expect_error 1 "group or others may read it" "$col" --listen 127.0.0.1:7499 --db "$DB" \
	--token-file "$T/token-open"
expect_error 1 "No such file" "$col" --db "$DB" --token-file "$T/missing"
expect_error 1 "not ADDR:PORT" "$col" --listen nowhere --db "$DB"
expect_error 1 "not a duration" "$col" --listen 127.0.0.1:7499 --retention 7x --db "$DB"
expect_error 1 "not a size" "$col" --listen 127.0.0.1:7499 --max-frame 10 --db "$DB"
expect_error 1 "not a number" "$col" --listen 127.0.0.1:7499 --max-conns many --db "$DB"
expect_error 1 "without a bearer token" "$col" --listen 127.0.0.1:7499 --http 0.0.0.0:7498 \
	--db "$DB"
expect_error 1 "not ADDR:PORT or off" "$col" --listen 127.0.0.1:7499 --http 7498 --db "$DB"
expect_error 1 "group or others may read it" "$col" --listen 127.0.0.1:7499 --db "$DB" \
	--http 0.0.0.0:7498 --http-token-file "$T/token-open"
expect_error 2 "usage" "$col" --no-such-flag
expect_error 1 "unexpected argument" "$col" extra
printf '[collector]\nflavour = salty\n' >"$T/bad.ini"
expect_error 1 "unknown setting 'flavour'" "$col" --config "$T/bad.ini"
expect_error 1 "unknown setting 'flavour'" "$col" --conf "$T/bad.ini"
expect_error 2 "given 2 times" "$col" --config "$T/bad.ini" --config "$T/bad.ini"
"$col" --help | grep -- "--token-file FILE" >/dev/null || fail "--help"
"$col" --version | grep -E '^fleetstat-collector [0-9]+\.[0-9]+\.[0-9]+$' >/dev/null || fail "--version"
# No refusal wrote a database.
[ ! -e "$DB" ] || fail "a refused start created $DB"

# --insecure takes a non-loopback address; the config file sets what flags do, flags win.
PORT=$(fs_free_port)
fs_collector_start --listen "0.0.0.0:$PORT" --insecure --db "$DB"
grep -q "in clear, no token: any agent is taken (--insecure: reports travel in clear)" \
	"$T/collector.log" || fail "--insecure start not said"
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"
# With TLS and a token, or mutual TLS alone, off loopback needs no --insecure.
PORT=$(fs_free_port)
: >"$T/collector.log"
fs_collector_start --listen "0.0.0.0:$PORT" --db "$DB" --tls-cert "$T/pki/c1.crt" \
	--tls-key "$T/pki/c1.key" --tls-client-ca "$T/pki/ca.crt"
grep -q "mutual TLS, agents must present a certificate of the client CA" "$T/collector.log" ||
	fail "a mutual TLS start not said"
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"

# --http off: no HTTP server at all.
PORT=$(fs_free_port)
: >"$T/collector.log"
fs_collector_start --listen "127.0.0.1:$PORT" --http off --db "$DB"
if grep -q "col: http:" "$T/collector.log"; then fail "--http off still serves HTTP"; fi
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"

PORT=$(fs_free_port)
cat >"$T/collector.ini" <<INI
# fleetstat-collector settings
[collector]
listen = 127.0.0.1:1
db = $DB
token_file = $T/token
retention = 2d
INI
fs_collector_start --config "$T/collector.ini" --listen "127.0.0.1:$PORT"
grep -q "agents must prove the token" "$T/collector.log" || fail "config token_file not used"

# An agent with the token gets its report stored; SIGINT then stops the collector cleanly
# with the agent still connected (every handle closed: exit 0).
mkdir -m 700 "$T/state"
timeout 30 "$BUILD/fleetstat-agent" --once --collector "127.0.0.1:$PORT" --tier web \
	--token-file "$T/token" --state-dir "$T/state" >>"$T/agent.log" 2>&1 || fail "--once failed"
fs_agent_start a --collector "127.0.0.1:$PORT" --tier web --interval 1 --token-file "$T/token" \
	--state-dir "$T/state"
stored() { [ "$(fs_sql "SELECT count(*) FROM reports")" -ge 3 ]; }
fs_wait_for 20 stored || fail "the agent's reports were not stored"
fs_collector_kill INT || fail "collector did not exit 0 on SIGINT with an agent connected"
grep -q "stopped:" "$T/collector.log" || fail "no stop line in the log"
fs_agent_kill a TERM
# --max-conns-per-ip: the fourth connection from 127.0.0.1 gets Error{OVERLOADED} and a close;
# the first three keep their Challenge and stay open, and another address is still taken.
expect_error 1 "is not a number" "$col" --max-conns-per-ip 0x3 --db "$DB"
expect_error 1 "not a size from 4K" "$col" --max-write-queue 100 --db "$DB"
PORT=$(fs_free_port)
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --http off --max-conns-per-ip 3 \
	--max-write-queue 64K
python3 - "$PORT" <<'PY' || fail "--max-conns-per-ip"
import socket, sys, time
port = int(sys.argv[1])
def fate(s):
    s.settimeout(1)
    first = s.recv(4096)
    try:
        return "closed" if s.recv(4096) == b"" else "more"
    except socket.timeout:
        return "open" if first else "silent"
# Connections accepted in one batch with fs_collector_start's probe, before its end was read,
# count it too: a second try (after the probe is gone) is the one judged.
for attempt in range(3):
    cs = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    time.sleep(0.3)
    got = [fate(s) for s in cs]
    if got == ["open", "open", "open", "closed"]:
        break
    for s in cs:
        s.close()
    time.sleep(0.5)
assert got == ["open", "open", "open", "closed"], got
o = socket.socket(); o.bind(("127.0.0.2", 0)); o.connect(("127.0.0.1", port))
assert fate(o) == "open", "another address refused"
PY
grep -q "too many connections from this address" "$T/collector.log" || fail "no log line for the limit"
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"

# The HTTP API's limits: --http-max-conns 2 turns a third client away; --http-timeout 1s drops
# a silent one.
expect_error 1 "not a number from 1 to 10000" "$col" --http-max-conns 0 --db "$DB"
expect_error 1 "not from 1s to 1d" "$col" --http-timeout 2d --db "$DB"
PORT=$(fs_free_port)
HTTP_PORT=$(fs_free_port)
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --http-max-conns 2 --http-timeout 1s
python3 - "$HTTP_PORT" <<'PY' || fail "--http-max-conns / --http-timeout"
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
time.sleep(0.2)
t = time.time()
c = socket.create_connection(("127.0.0.1", port))
c.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
c.settimeout(5)
reply = c.recv(100)
waited = time.time() - t
# Served only once the two silent clients were dropped, about a second later.
assert reply.startswith(b"HTTP/1.") and 0.3 < waited < 4, (reply, waited)
for s in idle:
    s.settimeout(1)
    assert s.recv(100) == b"", "a silent HTTP client was kept"
print(f"http: the third client served after {waited:.1f} s, when the two silent ones were dropped")
PY
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"

# --http-threads: the API's thread pool, as many workers as asked; never more than its clients.
expect_error 1 "not a number from 1 to 64" "$col" --http-threads 0 --db "$DB"
expect_error 1 "more than --http-max-conns 4" "$col" --http-threads 8 --http-max-conns 4 --db "$DB"
workers() { cat /proc/"$COL_PID"/task/*/comm | grep -c "^MHD-"; }
for n in 1 5; do
	PORT=$(fs_free_port)
	fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --http-threads "$n"
	curl -fsS "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || fail "--http-threads $n: no /healthz"
	[ "$(workers)" -eq "$n" ] || fail "--http-threads $n: $(workers) HTTP workers"
	fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"
done
if grep -q -- "$secret" "$T"/*.log; then fail "the token is in a log"; fi
echo "collector_cli.sh: PASS"
