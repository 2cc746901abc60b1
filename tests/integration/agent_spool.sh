#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_spool.sh: fleetstat-agent's spool and uplink without a real collector: spooling while
# the collector is down, the bound and dropped_reports, SIGTERM and restart, --once failures,
# and the handshake, backlog, acks and refusals against a small fake collector in Python.
set -euo pipefail

build=${1:?usage: agent_spool.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
agent="$build/fleetstat-agent"
tmp=$(mktemp -d)
pids=()

cleanup() {
	set +e
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

# A loopback port with nothing listening: bound, then released.
free_port() { "$here/../../deploy/free-port"; }

# spool_seqs DIR: the seqs of the report files in DIR/spool, ascending, one a line.
spool_seqs() { ls "$1/spool" | grep -E '^[0-9]{20}$' | sed 's/^0*//' | sort -n; }

# field NAME LINE: the value of NAME=... in a --print-spool line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# stop PID: SIGTERM, and the agent exits 0 promptly.
stop() {
	local pid=$1 rc=0
	kill -TERM "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "agent $pid still running 5 s after SIGTERM"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "agent exited $rc after SIGTERM"
}

closed=$(free_port)
st="$tmp/state"
max=4096

note "daemon, collector down: spools every second, bounded to $max bytes"
"$agent" --interval 1 --collector "127.0.0.1:$closed" --state-dir "$st" --spool-max 4K \
	--tier web --label role=test 2>"$tmp/err1" &
pid=$!; pids+=("$pid")
sleep 5.5
stop "$pid"
[ "$(stat -c %a "$st")" = 700 ] || fail "state dir mode $(stat -c %a "$st"), wanted 700"
grep -Eq '^[0-9a-f]{32}$' "$st/agent_id" || fail "agent_id: $(cat "$st/agent_id")"
k=$(sed -n 's/^seq //p' "$st/state")
dropped=$(sed -n 's/^dropped //p' "$st/state")
[ "$k" -ge 4 ] || fail "only $k reports in 5.5 s at --interval 1"
seqs=$(spool_seqs "$st")
n=$(wc -l <<<"$seqs")
first=$(head -1 <<<"$seqs")
[ "$(tail -1 <<<"$seqs")" -eq "$k" ] || fail "newest spool file $(tail -1 <<<"$seqs"), state seq $k"
[ "$seqs" = "$(seq "$first" "$k")" ] || fail "spool seqs not contiguous: $seqs"
# Nothing was acked, so every report that is gone was dropped, and counted.
[ "$dropped" -eq $((k - n)) ] || fail "dropped $dropped, but $k spooled and $n left"
[ "$dropped" -ge 1 ] || fail "the 4K bound dropped nothing ($n files)"
bytes=$(cat "$st"/spool/0* | wc -c)
[ "$n" -eq 1 ] || [ "$bytes" -le "$max" ] || fail "spool holds $bytes bytes in $n files, bound $max"
grep -q "spool full" "$tmp/err1" || fail "no warning about the full spool: $(cat "$tmp/err1")"
grep -q "connection refused" "$tmp/err1" || fail "no word on the refused connection: $(cat "$tmp/err1")"
[ "$(grep -c "connection refused" "$tmp/err1")" -eq 1 ] || fail "the outage was logged more than once"
ls "$st/spool" | grep -q '\.tmp$' && fail "temp files left in the spool"

"$agent" --print-spool --state-dir "$st" >"$tmp/ps1" || fail "--print-spool failed: $(cat "$tmp/ps1")"
[ "$(wc -l <"$tmp/ps1")" -eq "$n" ] || fail "--print-spool: $(cat "$tmp/ps1")"
last=$(tail -1 "$tmp/ps1")
[ "$(field report_seq "$last")" -eq "$k" ] || fail "file $k holds report $(field report_seq "$last")"
[ "$(field interval_ms "$last")" -eq 1000 ] || fail "interval_ms: $last"
# The newest report counts the drops made before it was collected.
[ "$(field dropped_reports "$last")" -ge 1 ] || fail "dropped_reports not counted: $last"
# Sysctls only in the first report (no connection, no change): never in a later one.
while read -r line; do
	s=$(field report_seq "$line")
	if [ "$s" -gt 1 ] && [ "$(field sysctls "$line")" -ne 0 ]; then
		# A sysctl that changed meanwhile is allowed; on a quiet test host none does.
		echo "note: report $s carries sysctls (a value changed?)"
	fi
done <"$tmp/ps1"

note "restart: leftover temp files go, foreign files stay, seqs continue, drops accumulate"
printf 'junk' >"$st/spool/00000000000000099999.tmp"
printf 'hello' >"$st/spool/README"
"$agent" --interval 1 --collector "127.0.0.1:$closed" --state-dir "$st" --spool-max 4K \
	2>"$tmp/err2" &
pid=$!; pids+=("$pid")
sleep 2.5
# A second agent on the same state dir is refused.
rc=0; "$agent" --once --collector "127.0.0.1:$closed" --state-dir "$st" 2>"$tmp/err3" || rc=$?
[ "$rc" -ne 0 ] && grep -q "another fleetstat-agent" "$tmp/err3" || fail "second agent: rc $rc: $(cat "$tmp/err3")"
stop "$pid"
[ -e "$st/spool/00000000000000099999.tmp" ] && fail "temp file not removed at start"
[ -e "$st/spool/README" ] || fail "a foreign file was deleted"
grep -q "README" "$tmp/err2" || fail "the foreign file was not logged"
k2=$(sed -n 's/^seq //p' "$st/state")
d2=$(sed -n 's/^dropped //p' "$st/state")
[ "$k2" -ge $((k + 2)) ] || fail "after restart seq $k2, before $k"
[ "$d2" -ge "$dropped" ] || fail "dropped went from $dropped to $d2"
seqs=$(spool_seqs "$st")
[ "$seqs" = "$(seq "$(head -1 <<<"$seqs")" "$k2")" ] || fail "spool seqs not contiguous: $seqs"
"$agent" --print-spool --state-dir "$st" >"$tmp/ps2"
first_new=$(grep " report_seq=$((k + 1)) " "$tmp/ps2" || true)
if [ -n "$first_new" ]; then
	[ "$(field dropped_reports "$first_new")" -ge "$dropped" ] || fail "dropped_reports reset: $first_new"
	[ "$(field sysctls "$first_new")" -gt 0 ] || fail "first report after start lacks sysctls: $first_new"
fi
rm -f "$st/spool/README"

note "--once, collector down: exits 1 at once with a clear message; the report stays"
before=$(sed -n 's/^seq //p' "$st/state")
t0=$(date +%s%N)
rc=0; "$agent" --once --timeout 3 --collector "127.0.0.1:$closed" --state-dir "$st" 2>"$tmp/err4" || rc=$?
t1=$(date +%s%N)
[ "$rc" -ne 0 ] || fail "--once against a closed port exited 0"
[ $(( (t1 - t0) / 1000000 )) -lt 4000 ] || fail "--once took $(( (t1 - t0) / 1000000 )) ms"
grep -q "not delivered to 127.0.0.1:$closed: connect: connection refused" "$tmp/err4" ||
	fail "unclear --once message: $(cat "$tmp/err4")"
[ "$(wc -l <"$tmp/err4")" -eq 1 ] || fail "--once said more than one line: $(cat "$tmp/err4")"
[ -e "$st/spool/$(printf %020d $((before + 1)))" ] || fail "--once report not in the spool"

# The fake collector: speaks the framing and just enough protobuf by hand.
cat >"$tmp/fake.py" <<'PY'
import hashlib, hmac, os, socket, struct, sys
sys.path.insert(0, os.environ["FS_TOOLS"])

port_file, mode, token_file, welcome_last, log = sys.argv[1:6]
welcome_last = int(welcome_last)
token = open(token_file, "rb").read().split(b"\n")[0] if token_file != "-" else None

from pbwire import fld_bytes, fld_varint, parse, recv_exact

def send(c, body): c.sendall(struct.pack(">I", len(body)) + body)

def logln(s):
    with open(log, "a") as f:
        f.write(s + "\n")

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(4)
with open(port_file + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = ls.accept()
    try:
        if mode == "silent":        # accepts, never says a word
            c.recv(1); continue
        nonce = os.urandom(32)
        send(c, fld_bytes(1, fld_varint(1, 1) + fld_bytes(2, nonce)))
        (n,) = struct.unpack(">I", recv_exact(c, 4))
        h = parse(parse(recv_exact(c, n))[2][0])
        aid, auth = h[2][0], h.get(7, [b""])[0]
        labels = sorted(b"=".join(parse(kv)[1] + parse(kv).get(2, [b""])) for kv in h.get(5, []))
        good = token is not None and hmac.compare_digest(
            auth, hmac.new(token, nonce + aid, hashlib.sha256).digest())
        logln("hello protocol=%d id=%s host=%s tier=%s labels=%s auth=%s version=%s" % (
            h[1][0], aid.hex(), h[3][0].decode(), h[4][0].decode(),
            ",".join(l.decode() for l in labels),
            "ok" if good else ("none" if not auth else "bad"), h[6][0].decode()))
        if mode == "authfail" or (token is not None and not good):
            send(c, fld_bytes(6, fld_varint(1, 3) + fld_bytes(2, b"authentication failed")))
            c.close(); continue
        send(c, fld_bytes(3, fld_varint(1, 1) + fld_varint(2, welcome_last)))
        while True:
            (n,) = struct.unpack(">I", recv_exact(c, 4))
            fr = parse(recv_exact(c, n))
            r = parse(fr[4][0])
            seq = r[1][0]
            logln("report seq=%d sysctls=%d dropped=%d" % (seq, len(r.get(8, [])), r.get(9, [0])[0]))
            if mode != "noack":
                send(c, fld_bytes(5, fld_varint(1, seq)))
    except EOFError:
        pass
    finally:
        c.close()
PY

# fake MODE TOKEN_FILE WELCOME_LAST: starts the fake collector; sets $fport, $fpid, $flog.
fake() {
	flog="$tmp/fake-$1.log"; : >"$flog"
	rm -f "$tmp/port"
	FS_TOOLS="$here/../tools" python3 "$tmp/fake.py" "$tmp/port" "$1" "$2" "$3" "$flog" &
	fpid=$!; pids+=("$fpid")
	for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	fport=$(cat "$tmp/port")
}
unfake() { kill "$fpid"; wait "$fpid" 2>/dev/null || true; }

note "--once, collector silent: gives up after --timeout"
fake silent - 0
t0=$(date +%s%N)
rc=0; "$agent" --once --timeout 2 --collector "127.0.0.1:$fport" --state-dir "$st" 2>"$tmp/err5" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
unfake
[ "$rc" -ne 0 ] || fail "--once against a silent collector exited 0"
[ "$ms" -ge 1900 ] && [ "$ms" -lt 4000 ] || fail "--once --timeout 2 took $ms ms"
grep -q "timed out after 2 s" "$tmp/err5" || fail "unclear timeout message: $(cat "$tmp/err5")"

echo "s3cret-token" >"$tmp/token"; chmod 600 "$tmp/token"
echo "other-token" >"$tmp/wrong"; chmod 600 "$tmp/wrong"

note "--once, wrong token: AUTH_FAILED, exit 1, the token never logged"
fake auth "$tmp/token" 0
rc=0; "$agent" --once --timeout 5 --collector "127.0.0.1:$fport" --state-dir "$st" \
	--token-file "$tmp/wrong" 2>"$tmp/err6" || rc=$?
unfake
[ "$rc" -ne 0 ] || fail "--once with a wrong token exited 0"
grep -q "AUTH_FAILED" "$tmp/err6" || fail "no AUTH_FAILED: $(cat "$tmp/err6")"
grep -q -e "other-token" -e "s3cret" "$tmp/err6" && fail "the token was logged"
grep -q "auth=bad" "$flog" || fail "fake collector saw: $(cat "$flog")"

note "--once, good token: the whole backlog in order from the oldest, acked, spool emptied"
oldest=$(spool_seqs "$st" | head -1)
pending=$(spool_seqs "$st" | wc -l)
fake auth "$tmp/token" 0
rc=0; "$agent" --once --timeout 10 --collector "127.0.0.1:$fport" --state-dir "$st" \
	--token-file "$tmp/token" --tier db --label dc=fra1 --label rack=7 2>"$tmp/err7" || rc=$?
unfake
[ "$rc" -eq 0 ] || fail "--once exited $rc: $(cat "$tmp/err7")"
[ ! -s "$tmp/err7" ] || fail "--once said something on success: $(cat "$tmp/err7")"
grep -q "hello protocol=1 id=$(cat "$st/agent_id") host=$(uname -n) tier=db labels=dc=fra1,rack=7 auth=ok" "$flog" ||
	fail "Hello: $(cat "$flog")"
k3=$(sed -n 's/^seq //p' "$st/state")
got=$(sed -n 's/^report seq=\([0-9]*\).*/\1/p' "$flog")
[ "$got" = "$(seq "$oldest" "$k3")" ] || fail "sent $(echo $got), wanted $oldest..$k3"
[ "$(wc -l <<<"$got")" -eq $((pending + 1)) ] || fail "sent $(wc -l <<<"$got"), spooled $((pending + 1))"
# The --once report is the first collected after connecting... before, in fact: it has sysctls.
grep -q "^report seq=$k3 sysctls=[1-9]" "$flog" || fail "--once report without sysctls: $(tail -1 "$flog")"
[ -z "$(spool_seqs "$st")" ] || fail "acked reports left in the spool: $(spool_seqs "$st")"

note "Welcome with a higher last_seq (state lost): seqs continue above it"
fake insecure - 1000
"$agent" --interval 1 --collector "127.0.0.1:$fport" --state-dir "$st" 2>"$tmp/err8" &
pid=$!; pids+=("$pid")
for _ in $(seq 60); do grep -q "report seq=1002" "$flog" && break; sleep 0.1; done
stop "$pid"
unfake
grep -q "auth=none" "$flog" || fail "Hello without a token carried auth: $(cat "$flog")"
grep -q "state lost or restored" "$tmp/err8" || fail "state loss not logged: $(cat "$tmp/err8")"
seqs=$(sed -n 's/^report seq=\([0-9]*\).*/\1/p' "$flog")
[ "$(head -1 <<<"$seqs")" -eq 1001 ] || fail "after Welcome{1000} the first report was $(head -1 <<<"$seqs")"
grep -q "^report seq=1001 sysctls=[1-9]" "$flog" || fail "first report after connect lacks sysctls"
grep -q "^report seq=1002 sysctls=0" "$flog" || fail "unchanged sysctls sent again: $(cat "$flog")"
[ "$(sed -n 's/^seq //p' "$st/state")" -ge 1002 ] || fail "state seq not moved on"

note "collector up but never acking: at most 64 in flight, the rest spooled"
fake noack - 0
"$agent" --interval 1 --collector "127.0.0.1:$fport" --state-dir "$st" 2>"$tmp/err9" &
pid=$!; pids+=("$pid")
sleep 3.5
stop "$pid"
unfake
sent=$(grep -c '^report' "$flog")
left=$(spool_seqs "$st" | wc -l)
[ "$sent" -ge 2 ] && [ "$left" -ge "$sent" ] || fail "noack: $sent sent, $left in the spool"

echo "agent_spool: OK"
