#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# https.sh: the HTTP API over HTTPS (--http-tls-cert, --http-tls-key) and the CLI's libcurl
# client. Three agents report saved socket tables once; then, with nothing changing:
#   - `fleetstat --server https://... --cacert CA` prints the same JSON as over plain HTTP (the
#     same database served by a plain collector afterwards) for tiers, hosts, top-ips, sysctl
#     and summary (same exit status too), and as --db;
#   - curl, another client, reads /api/v1/tiers and /metrics with the CA; TLS 1.1 is refused;
#   - the bearer token still holds over HTTPS (401 without it);
#   - a server certificate of another CA, or no --cacert for a private CA: one clear line, exit 3
#     (summary too); plain http:// to the HTTPS port: one line, exit 1;
#   - SIGHUP with a renewed certificate: new connections are shown it; a reload with a key
#     others may read is refused and the loaded files stay;
#   - a key file that others may read stops the collector at start, with the file named.
set -euo pipefail

BUILD=$(cd "${1:?usage: https.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v curl >/dev/null || fail "curl missing"
fs_fleet_env
D=$T/pki
fs_certs "$D" ca
fs_certs "$D" collector c1.test 127.0.0.1
fs_certs "$T/other" ca
fs_certs "$T/other" collector c1.test 127.0.0.1
printf 'h-%s\n' "$RANDOM$RANDOM" >"$T/http.token"
chmod 600 "$T/http.token"

# Three hosts' saved tables, reported once each.
python3 - "$T" <<'PY'
import sys
for n, (est, tw) in enumerate([(120, 40), (80, 600), (30, 2)], 1):
    lines = ["State Recv-Q Send-Q Local Address:Port Peer Address:Port Process"]
    for i in range(est):
        lines.append(f"ESTAB 0 0 10.0.0.{n}:443 203.0.113.{i % 7 + 1}:{20000 + i}")
    for i in range(tw):
        lines.append(f"TIME-WAIT 0 0 10.0.0.{n}:443 198.51.100.{i % 5 + 1}:{30000 + i}")
    open(f"{sys.argv[1]}/ss-{n}.txt", "w").write("\n".join(lines) + "\n")
PY
https=(--http-tls-cert "$D/c1.test.crt" --http-tls-key "$D/c1.test.key")
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --http "127.0.0.1:$HTTP_PORT" "${https[@]}" \
	--http-token-file "$T/http.token"
grep -q "on 127.0.0.1:$HTTP_PORT over HTTPS, bearer token required" "$T/collector.log" ||
	fail "the HTTPS start was not said"
for n in 1 2 3; do
	mkdir -m 700 "$T/st$n"
	"$BUILD/fleetstat-agent" --once --timeout 10 --collector "127.0.0.1:$PORT" --state-dir "$T/st$n" \
		--hostname "web$n" --tier web --input "$T/ss-$n.txt" 2>>"$T/agents.log" ||
		fail "agent $n: $(tail -2 "$T/agents.log")"
done

S="https://127.0.0.1:$HTTP_PORT"
q() { "$FS" --token-file "$T/http.token" "$@"; }
# A query's JSON without its clock: JSON saved as NAME.SUFFIX, exit status in NAME.SUFFIX.rc.
save() {   # SUFFIX ARGS...
	local sfx=$1 cmd rc
	shift
	for cmd in tiers hosts top-ips sysctl summary; do
		rc=0
		q "$@" "$cmd" --format json >"$T/$cmd.raw" 2>"$T/$cmd.err" || rc=$?
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("now_ms",None); print(json.dumps(d, sort_keys=True))' \
			"$T/$cmd.raw" >"$T/$cmd.$sfx" || fail "$cmd $*: not JSON: $(cat "$T/$cmd.err")"
		echo "$rc" >"$T/$cmd.$sfx.rc"
	done
}
save https --server "$S" --cacert "$D/ca.crt"
grep -q '"hostname": "web2"' "$T/hosts.https" || fail "hosts over HTTPS: $(cat "$T/hosts.https")"
"$FS" --db "$DB" tiers --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("now_ms"); print(json.dumps(d, sort_keys=True))' \
	>"$T/tiers.db"
cmp -s "$T/tiers.https" "$T/tiers.db" || fail "tiers: HTTPS and --db differ"

# Another client: curl with the CA; TLS 1.1 refused; the token still wanted.
curl -sSf --cacert "$D/ca.crt" -H "Authorization: Bearer $(cat "$T/http.token")" \
	"$S/api/v1/tiers?format=json" >"$T/curl.json" || fail "curl over HTTPS"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))["tiers"]' "$T/curl.json" || fail "curl: not the tiers"
curl -sSf --cacert "$D/ca.crt" -H "Authorization: Bearer $(cat "$T/http.token")" "$S/metrics" |
	grep -q '^fleetstat_' || fail "curl: /metrics over HTTPS"
if curl -sS --cacert "$D/ca.crt" --tlsv1.1 --tls-max 1.1 "$S/healthz" >/dev/null 2>&1; then
	fail "TLS 1.1 was taken"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$D/ca.crt" "$S/api/v1/tiers")
[ "$code" = 401 ] || fail "no token over HTTPS: HTTP $code, not 401"
echo "HTTPS: the CLI and curl read it with the CA; TLS 1.1 refused; no token: 401"

# Not the server it should be: one line, exit 3 (summary: 3 too); plain http to it: exit 1.
wrong() {   # WANT_RC PATTERN ARGS...
	local want=$1 pat=$2 rc=0
	shift 2
	q "$@" >/dev/null 2>"$T/wrong.err" || rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, not $want: $(cat "$T/wrong.err")"
	[ "$(grep -c . "$T/wrong.err")" = 1 ] || fail "$*: not one line: $(cat "$T/wrong.err")"
	grep -q -- "$pat" "$T/wrong.err" || fail "$*: not '$pat': $(cat "$T/wrong.err")"
	echo "  $*: exit $rc: $(cat "$T/wrong.err")"
}
wrong 3 "TLS: SSL certificate problem: .*certificate" --server "$S" --cacert "$T/other/ca.crt" tiers
wrong 3 "give --cacert with the collector's CA" --server "$S" tiers
wrong 3 "TLS:" --server "$S" --cacert "$T/other/ca.crt" summary
wrong 1 "an HTTPS server? try https://" --server "http://127.0.0.1:$HTTP_PORT" tiers
wrong 3 "TLS: .*c1.test\|TLS: .*match" --server "https://localhost:$HTTP_PORT" --cacert "$D/ca.crt" tiers

# Renewed and SIGHUP: new connections are shown the new certificate, queries go on.
shown() {
	openssl s_client -connect "127.0.0.1:$HTTP_PORT" -CAfile "$D/ca.crt" </dev/null 2>/dev/null |
		fs_cert_sha256
}
[ "$(shown)" = "$(fs_cert_sha256 "$D/c1.test.crt")" ] || fail "s_client was not shown the API's certificate"
fs_certs "$D" collector c1.test 127.0.0.1
kill -HUP "$COL_PID"
fs_wait_for 5 grep -q "SIGHUP: the HTTPS files reloaded" "$T/collector.log" ||
	fail "no reload line: $(grep SIGHUP "$T/collector.log")"
[ "$(shown)" = "$(fs_cert_sha256 "$D/c1.test.crt")" ] || fail "after SIGHUP the old certificate is still shown"
q --server "$S" --cacert "$D/ca.crt" tiers --format json >/dev/null || fail "a query after the reload"
chmod 644 "$D/c1.test.key"
kill -HUP "$COL_PID"
fs_wait_for 5 grep -q "SIGHUP: the HTTPS files not reloaded, the loaded ones stay: .*group or others" \
	"$T/collector.log" || fail "a refused reload was not said: $(grep SIGHUP "$T/collector.log")"
chmod 600 "$D/c1.test.key"
[ "$(shown)" = "$(fs_cert_sha256 "$D/c1.test.crt")" ] || fail "a refused reload changed the certificate"
echo "SIGHUP: the renewed certificate shown to new connections; a key others may read refused, the loaded one kept"
fs_collector_kill TERM || fail "the HTTPS collector did not exit 0"

# The same database over plain HTTP: the same JSON, the same exit statuses.
: >"$T/collector.log"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --http "127.0.0.1:$HTTP_PORT" \
	--http-token-file "$T/http.token"
save http --server "http://127.0.0.1:$HTTP_PORT"
for cmd in tiers hosts top-ips sysctl summary; do
	cmp -s "$T/$cmd.https" "$T/$cmd.http" || fail "$cmd: HTTPS and HTTP differ: $(diff "$T/$cmd.https" "$T/$cmd.http" | head -5)"
	cmp -s "$T/$cmd.https.rc" "$T/$cmd.http.rc" || fail "$cmd: exit $(cat "$T/$cmd.https.rc") over HTTPS, $(cat "$T/$cmd.http.rc") over HTTP"
done
echo "tiers, hosts, top-ips, sysctl, summary: the same JSON and exit status over HTTPS and HTTP"
fs_collector_kill TERM || fail "the HTTP collector did not exit 0"

# A key others may read: no start, the file named.
chmod 644 "$D/c1.test.key"
rc=0
"$BUILD/fleetstat-collector" --listen "127.0.0.1:$PORT" --db "$DB" --http "127.0.0.1:$HTTP_PORT" \
	"${https[@]}" >"$T/refused.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "the collector started with a key others may read"
grep -q "c1.test.key: group or others may read it (chmod 600)" "$T/refused.log" ||
	fail "the refused key: $(cat "$T/refused.log")"
echo "a key others may read: $(grep -o 'col: http: .*' "$T/refused.log")"
echo "https.sh: PASS"
