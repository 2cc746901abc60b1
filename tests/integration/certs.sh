#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# certs.sh: deploy/certs.sh makes a CA, a collector certificate for its names and addresses and
# agent certificates that openssl verifies for their purposes (and not for the other), keys
# mode 600; it will not replace a CA; and openssl's own server and client complete a mutual TLS
# handshake with them over loopback (and refuse an agent certificate of another CA).
set -euo pipefail

BUILD=$(cd "${1:?usage: certs.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v openssl >/dev/null || fail "openssl missing"
: "$BUILD"
fs_tmpdir
C=$_FS_LIB_ROOT/deploy/certs.sh
D=$T/pki

bash "$C" "$D" ca >/dev/null || fail "certs.sh ca"
bash "$C" "$D" collector c1.test 127.0.0.1 ::1 >/dev/null || fail "certs.sh collector"
bash "$C" "$D" agent web1 >/dev/null || fail "certs.sh agent"
for k in ca c1.test web1; do
	[ "$(stat -c %a "$D/$k.key")" = 600 ] || fail "$k.key is mode $(stat -c %a "$D/$k.key")"
	[ "$(stat -c %a "$D/$k.crt")" = 644 ] || fail "$k.crt is mode $(stat -c %a "$D/$k.crt")"
done
if bash "$C" "$D" ca 2>"$T/err"; then fail "a second CA replaced the first"; fi
grep -q "exists" "$T/err" || fail "replacing the CA: $(cat "$T/err")"
if bash "$C" "$D" agent 'web1;rm' 2>/dev/null; then fail "a name with ';' was taken"; fi

verify() { openssl verify -CAfile "$D/ca.crt" "$@" >/dev/null 2>&1; }
verify -purpose sslserver -verify_hostname c1.test "$D/c1.test.crt" || fail "c1.test: not a server certificate for c1.test"
verify -purpose sslserver -verify_ip 127.0.0.1 "$D/c1.test.crt" || fail "c1.test: not for 127.0.0.1"
verify -purpose sslserver -verify_ip ::1 "$D/c1.test.crt" || fail "c1.test: not for ::1"
if verify -purpose sslserver -verify_hostname c2.test "$D/c1.test.crt"; then fail "c1.test passes for c2.test"; fi
verify -purpose sslclient "$D/web1.crt" || fail "web1: not a client certificate"
if verify -purpose sslserver "$D/web1.crt"; then fail "web1 passes as a server"; fi
if verify -purpose sslclient "$D/c1.test.crt"; then fail "the collector's passes as a client"; fi

# openssl's server asks for a client certificate of the CA; its client dials with web1's, then
# with one of another CA. The server's stdin: a FIFO this shell holds open (no EOF, no process).
port=$(fs_free_port)
mkfifo "$T/in"
exec 3<>"$T/in"
openssl s_server -accept "127.0.0.1:$port" -cert "$D/c1.test.crt" -key "$D/c1.test.key" \
	-CAfile "$D/ca.crt" -Verify 1 -verify_return_error -naccept 2 <&3 >"$T/server.log" 2>&1 &
srv=$!
fs_on_exit "kill $srv 2>/dev/null || true"
listening() { grep -q '^ACCEPT' "$T/server.log"; }
fs_wait_for 10 listening || fail "openssl s_server did not listen: $(cat "$T/server.log")"
echo hello | timeout 10 openssl s_client -brief -connect "127.0.0.1:$port" -CAfile "$D/ca.crt" \
	-verify_hostname c1.test -verify_return_error -cert "$D/web1.crt" -key "$D/web1.key" \
	>"$T/client.log" 2>&1 || fail "mutual TLS with certs.sh's certificates: $(tail -3 "$T/client.log")"
grep -q '^Verification: OK' "$T/client.log" || fail "the client did not verify c1.test: $(cat "$T/client.log")"
bash "$C" "$T/other" ca >/dev/null && bash "$C" "$T/other" agent web9 >/dev/null || fail "another CA"
# In TLS 1.3 the client may finish its side before the server's refusal comes: the server says.
echo hello | timeout 10 openssl s_client -brief -connect "127.0.0.1:$port" -CAfile "$D/ca.crt" \
	-cert "$T/other/web9.crt" -key "$T/other/web9.key" >"$T/client2.log" 2>&1 || true
wait "$srv" || true
exec 3>&-
grep -q '^hello' "$T/server.log" || fail "the server did not read web1's line: $(cat "$T/server.log")"
grep -q 'certificate verify failed' "$T/server.log" || fail "the server did not say why it refused web9"
grep -q '^ *1 server accepts that finished' "$T/server.log" ||
	fail "not exactly web1's handshake finished: $(grep 'accepts that finished' "$T/server.log")"
echo "certs.sh: PASS"
