#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_cli.sh: fleetstat-agent's flags, config file, sources and error messages, on a
# handful of real sockets in a network namespace made here.
set -euo pipefail

build=${1:?usage: agent_cli.sh BUILD_DIR}
agent="$build/fleetstat-agent"
ns="fscli-$$"
tmp=$(mktemp -d)
holder=""

cleanup() {
	set +e
	if [ -n "$holder" ]; then
		kill "$holder" 2>/dev/null
		wait "$holder" 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error CODE PATTERN CMD...: CMD exits with CODE and says PATTERN on stderr.
expect_error() {
	local code=$1 pat=$2 rc=0; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ "$rc" -eq "$code" ] || fail "$* exited $rc, wanted $code: $(cat "$tmp/err")"
	grep -q -- "$pat" "$tmp/err" || fail "$*: stderr lacks '$pat': $(cat "$tmp/err")"
}

in_ns() { ip netns exec "$ns" "$@"; }

ip netns add "$ns"
in_ns ip link set lo up
in_ns ip addr add 198.18.0.1/32 dev lo
in_ns ip addr add 198.18.0.2/32 dev lo

# Hold: a listener with 3 connections left in its accept queue (backlog 16), 2 accepted
# connections from 198.18.0.2, one CLOSE_WAIT.  The holder prints "ready", then sleeps.
# (Started by `ip netns exec` directly, not a shell function, so that $! is python itself.)
ip netns exec "$ns" python3 -c '
import socket, sys, time
l = socket.socket(); l.bind(("198.18.0.1", 8080)); l.listen(16)
cs = []
for _ in range(5):
    c = socket.socket(); c.bind(("198.18.0.2", 0)); c.connect(("198.18.0.1", 8080)); cs.append(c)
acc = [l.accept()[0] for _ in range(2)]
acc[0].close()            # its peer, cs[0], goes to CLOSE_WAIT; acc[0] to FIN_WAIT2
print("ready", flush=True)
time.sleep(120)
' >"$tmp/holder" &
holder=$!
for _ in $(seq 50); do grep -q ready "$tmp/holder" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$tmp/holder" || fail "socket holder did not start"

json() { in_ns "$agent" --print=json "$@"; }
py() { python3 -c "$1" "$tmp/$2"; }

# netlink and /proc agree on the state table; listeners carry the accept queue.
json --source netlink >"$tmp/nl.json"
json --source proc >"$tmp/proc.json"
py '
import json, sys
nl = json.load(open(sys.argv[1])); pr = json.load(open(sys.argv[1].replace("nl.json", "proc.json")))
assert nl["source"] == "netlink" and pr["source"] == "proc", (nl["source"], pr["source"])
assert nl["states"] == pr["states"], (nl["states"], pr["states"])
s = nl["states"]
assert s["ESTABLISHED"] == 8 and s["CLOSE_WAIT"] == 1 and s["FIN_WAIT2"] == 1, s
l = [x for x in nl["listeners"] if x["port"] == 8080]
assert l and l[0]["ip"] == "198.18.0.1" and l[0]["accept_queue"] == 3 and l[0]["backlog"] == 16, nl["listeners"]
assert [x["accept_queue"] for x in pr["listeners"] if x["port"] == 8080] == [3]
ips = {e["ip"]: e for e in nl["top"]["ips"]}
# The server side sees 198.18.0.2 five times, the client side 198.18.0.1 five times.
assert ips["198.18.0.2"]["total"] == 5 and ips["198.18.0.1"]["total"] == 5, ips
assert nl["top"]["distinct_ips"] == 2 and nl["top"]["limit"] == 20
for k in ("Tcp.PassiveOpens", "TcpExt.ListenOverflows", "Sockstat.inuse"):
    assert k in nl["counters"], k
assert "net.core.somaxconn" in nl["sysctls"]
' nl.json

# --exclude and --top; the sums hold.
json --exclude 198.18.0.2 --top 1 >"$tmp/ex.json"
py '
import json, sys
r = json.load(open(sys.argv[1])); t = r["top"]
assert t["limit"] == 1 and [e["ip"] for e in t["ips"]] == ["198.18.0.1"], t
assert t["excluded"].get("ESTABLISHED") == 4 and t["excluded"].get("FIN_WAIT2") == 1, t
for s, n in r["states"].items():
    got = sum(e["states"].get(s, 0) for e in t["ips"]) + t["rest"].get(s, 0) + t["excluded"].get(s, 0)
    assert got == n, (s, got, n)
' ex.json

# The awk form is what the one-liner prints over netstat -n, in the same order rules.
in_ns "$agent" --print=awk | sort >"$tmp/awk.agent"
in_ns netstat -n | awk '/^tcp/ {++S[$NF]} END {for(a in S) print a, S[a]}' | sort >"$tmp/awk.netstat"
diff "$tmp/awk.agent" "$tmp/awk.netstat" || fail "--print=awk differs from netstat -n | awk"
in_ns "$agent" --print=table >"$tmp/table.txt"
grep -q "^ESTABLISHED *8 " "$tmp/table.txt" || fail "table lacks ESTABLISHED 8"

# Config file, and flags over it.
cat >"$tmp/agent.ini" <<'INI'
# fleetstat-agent settings
[agent]
tier = web
top = 3
exclude = 198.18.0.1/32
label = rack=r1
INI
json --config "$tmp/agent.ini" >"$tmp/c1.json"
json --config "$tmp/agent.ini" --tier db --top 2 --exclude 203.0.113.0/24 >"$tmp/c2.json"
py '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[1].replace("c1", "c2")))
assert a["tier"] == "web" and a["top"]["limit"] == 3, (a["tier"], a["top"]["limit"])
assert a["top"]["excluded"].get("ESTABLISHED") == 4 and len(a["top"]["ips"]) == 1
assert b["tier"] == "db" and b["top"]["limit"] == 2 and len(b["top"]["ips"]) == 2, b["top"]
' c1.json

# --input alone is the one-liner's offline job: the table of the saved file, exit 0, no
# network, no state dir (an unwritable one, and a collector that does not listen, prove it).
fixtures="$(cd "$(dirname "$0")/../fixtures/text" && pwd)"
rc=0
timeout 10 "$agent" --input "$fixtures/ss-tan.txt" --state-dir /proc/no-such >"$tmp/in.txt" 2>"$tmp/in.err" || rc=$?
[ "$rc" -eq 0 ] || fail "--input alone exited $rc: $(cat "$tmp/in.err")"
grep -Eq '^ESTABLISHED +21 ' "$tmp/in.txt" && grep -Eq '^total +30$' "$tmp/in.txt" ||
	fail "--input alone: not the table of ss-tan.txt: $(head -20 "$tmp/in.txt")"
[ ! -s "$tmp/in.err" ] || fail "--input alone said: $(cat "$tmp/in.err")"
timeout 10 "$agent" --input "$fixtures/ss-tan.txt" --print=awk >"$tmp/in.awk"
head -1 "$tmp/in.awk" | grep -qx 'ESTABLISHED 21' || fail "--input --print=awk: $(cat "$tmp/in.awk")"
# A config file's collector does not turn it into a daemon; --collector on the line does.
printf '[agent]\ncollector = 127.0.0.1:1\n' >"$tmp/col.ini"
timeout 10 "$agent" --config "$tmp/col.ini" --input "$fixtures/ss-tan.txt" | grep -E '^total +30$' >/dev/null ||
	fail "--input with a config file's collector did not print"
expect_error 1 "not delivered" timeout 10 "$agent" --input "$fixtures/ss-tan.txt" \
	--once --timeout 2 --collector 127.0.0.1:1 --state-dir "$tmp/state-once"
"$agent" --help | grep -- "and print it" >/dev/null || fail "--help does not say --input prints"

# A host without connections (a new network namespace): awk prints nothing, as the
# one-liner does, and exits 0; the table still says 0.
rc=0
unshare -n "$agent" --print=awk >"$tmp/empty.awk" 2>"$tmp/empty.err" || rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$tmp/empty.awk" ] ||
	fail "--print=awk with no connections: exit $rc, printed '$(cat "$tmp/empty.awk")', said $(cat "$tmp/empty.err")"
unshare -n "$agent" --print | grep -E '^total +0$' >/dev/null || fail "--print with no connections"

# Clear errors, and no output on stdout for them.
expect_error 1 "must match" "$agent" --print --tier "Web Tier"
expect_error 1 "not awk, table or json" "$agent" --print=xml
expect_error 1 "whole number from 1 to 86400" "$agent" --print --interval 0
expect_error 1 "whole number from 0 to" "$agent" --print --top -1
expect_error 1 "not an address or CIDR" "$agent" --print --exclude 10.0.0.0/33
expect_error 1 "not auto, netlink or proc" "$agent" --print --source kernel
expect_error 1 "not HOST:PORT" "$agent" --print --collector nohost
expect_error 1 "not K=V" "$agent" --print --label novalue
expect_error 2 "usage" "$agent" --no-such-flag
expect_error 1 "unexpected argument" "$agent" --print extra
printf '[agent]\nflavour = salty\n' >"$tmp/bad.ini"
expect_error 1 "unknown setting 'flavour'" "$agent" --print --config "$tmp/bad.ini"
expect_error 1 "No such file" "$agent" --print --config "$tmp/missing.ini"
# An abbreviation getopt takes (--conf) reads the file too; two config files are refused.
expect_error 1 "unknown setting 'flavour'" "$agent" --print --conf "$tmp/bad.ini"
expect_error 1 "unknown setting 'flavour'" "$agent" --print "--confi=$tmp/bad.ini"
expect_error 2 "given 2 times" "$agent" --print --config "$tmp/bad.ini" --config "$tmp/missing.ini"
expect_error 1 "No such file" "$agent" --print --input "$tmp/missing.txt"
head -c 4096 /dev/urandom >"$tmp/garbage"
expect_error 1 "not netstat, ss or /proc/net/tcp output" "$agent" --print --input "$tmp/garbage"
expect_error 1 "exclude each other" "$agent" --print --input "$tmp/garbage" --source proc
expect_error 1 "exclude each other" "$agent" --print --once
expect_error 1 "not HOST:PORT" "$agent" --once --collector 127.0.0.1
# A list of collectors: every entry checked, each error naming the entry.
expect_error 1 "entry 2 is empty" "$agent" --print --collector "127.0.0.1:7400,"
expect_error 1 "entry 2 is empty" "$agent" --print --collector "a:7400, ,b:7400"
expect_error 1 "entry 2 'b:65536' has no port from 1 to 65535" "$agent" --print --collector "a:7400,b:65536"
expect_error 1 "entry 1 'a:0' has no port" "$agent" --print --collector "a:0"
expect_error 1 "an IPv6 address goes in brackets" "$agent" --print --collector "::1:7400"
expect_error 1 "'\[::1\]:7400' is listed twice" "$agent" --print --collector "[::1]:7400,[::1]:7400"
expect_error 1 "more than 16 collectors" "$agent" --print \
	--collector "$(printf 'c%d:7400,' $(seq 1 17) | sed 's/,$//')"
printf '[agent]\ncollector = a:7400,,b:7400\n' >"$tmp/list.ini"
expect_error 1 "entry 2 is empty" "$agent" --print --config "$tmp/list.ini"
printf '[agent]\ncollector = [::1]:7400, 127.0.0.1:7400\n' >"$tmp/list.ini"
"$agent" --print=awk --config "$tmp/list.ini" >/dev/null || fail "a list of collectors in the config refused"

# --netns from the root namespace: the namespace's sockets and sysctls, under --hostname.
in_ns sysctl -qw net.core.somaxconn=1234
json --source netlink >"$tmp/in.json"
"$agent" --print=json --netns "$ns" --hostname box-1 >"$tmp/nsflag.json"
"$agent" --print=json --netns "/run/netns/$ns" --source proc >"$tmp/nspath.json"
py '
import json, sys
d = sys.argv[1].rsplit("/", 1)[0]
a, b, c = (json.load(open(f"{d}/{n}.json")) for n in ("in", "nsflag", "nspath"))
assert a["states"] == b["states"] == c["states"], (a["states"], b["states"], c["states"])
assert b["top"] == a["top"], "top lists differ"
assert b["host"] == "box-1", b["host"]
assert b["sysctls"]["net.core.somaxconn"] == "1234", b["sysctls"]
' in.json || fail "--netns"
expect_error 1 "No such file" "$agent" --print --netns "no-such-ns-$$"
expect_error 1 "not a network namespace" "$agent" --print --netns /proc/self/ns/mnt
expect_error 1 "exclude each other" "$agent" --print --netns "$ns" --input "$tmp/garbage"
expect_error 1 "not 1 to 255 printable bytes" "$agent" --print --hostname "$(printf 'a\tb')"

# --input from a pipe, a process substitution and a FIFO: read once, yet whole (its look is
# sniffed first, its text kept aside for the parse): the same as from the file, past the
# sniff's 64 KiB, for saved ss text and for an access log.
python3 - "$tmp" <<'PY'
import sys
out = sys.argv[1]
with open(f"{out}/big.ss", "w") as f:
    f.write("State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n")
    for k in range(5000):
        st = "ESTAB" if k < 3000 else "TIME-WAIT"
        f.write(f"{st} 0 0 10.9.0.1:80 192.0.2.{k % 200 + 1}:{10000 + k}\n")
with open(f"{out}/big.log", "w") as f:
    for i in range(4000):
        f.write(f'198.51.100.{i % 37 + 1} - - [08/Dec/2026:01:00:00 +0000] "GET /p/{i} HTTP/1.1"'
                f' 200 {100 + i} "-" "curl/7.88"\n')
PY
for f in big.ss big.log; do
	"$agent" --input "$tmp/$f" --print=awk >"$tmp/$f.file"
	"$agent" --input /dev/stdin --print=awk <"$tmp/$f" >"$tmp/$f.redirect"
	cat "$tmp/$f" | "$agent" --input /dev/stdin --print=awk >"$tmp/$f.pipe"
	"$agent" --input <(cat "$tmp/$f") --print=awk >"$tmp/$f.subst"
	mkfifo "$tmp/fifo"
	cat "$tmp/$f" >"$tmp/fifo" &
	"$agent" --input "$tmp/fifo" --print=awk >"$tmp/$f.fifo"
	wait $!
	rm -f "$tmp/fifo"
	for how in redirect pipe subst fifo; do
		cmp -s "$tmp/$f.file" "$tmp/$f.$how" ||
			fail "--input $f by $how: $(head -3 "$tmp/$f.$how") (from the file: $(head -3 "$tmp/$f.file"))"
	done
done
grep -qx "ESTABLISHED 3000" "$tmp/big.ss.pipe" || fail "--input /dev/stdin: $(cat "$tmp/big.ss.pipe")"

"$agent" --help | grep -- "--collector HOST:PORT" >/dev/null || fail "--help"
"$agent" --version | grep -E '^fleetstat-agent [0-9]+\.[0-9]+\.[0-9]+$' >/dev/null || fail "--version"
echo "agent_cli: ok"
