#!/bin/bash
# SPDX-License-Identifier: MIT
# input.sh: `fleetstat-agent --input FILE` gives the same states for netstat, ss and /proc text.
#
# usage: bash tests/integration/input.sh BUILD_DIR      (root: network namespaces)
#
# In a namespace pair from tests/tools/netns.sh, a python3 helper (switching namespaces with
# setns) leaves the host namespace with sockets in every state netstat names but CLOSE, over
# IPv4, IPv6 and IPv4-mapped IPv6.  The script saves `netstat -n`, `netstat -an`, `ss -tan`,
# `ss -tanH` and `cat /proc/net/tcp /proc/net/tcp6` of that one snapshot and checks that
# `fleetstat-agent --input FILE --print=json` reports, in its top-level "states" object, the
# counts the plan below makes for each (LISTEN aside: netstat -n shows no listeners).
# Exits 77 (skip) when not root or when the agent binary is missing.
set -uo pipefail

build=${1:?usage: input.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
agent=$build/fleetstat-agent

if [[ $(id -u) -ne 0 ]]; then
	echo "input.sh: SKIP: needs root for network namespaces"
	exit 77
fi
if [[ ! -x $agent ]]; then
	echo "input.sh: SKIP: $agent not built"
	exit 77
fi
for tool in ip nft ss netstat python3; do
	command -v "$tool" >/dev/null || { echo "input.sh: SKIP: no $tool"; exit 77; }
done

# shellcheck source=../tools/netns.sh
source "$here/../tools/netns.sh"
prefix=fsin$$
h=$prefix-h
p=$prefix-p
work=$(mktemp -d)
fs_netns_trap "$prefix"
fs_cleanup_add "rm -rf '$work'"
fs_netns_up "$prefix" || { echo "input.sh: FAIL: fs_netns_up"; exit 1; }

b=$FS_PORT_BASE
# The plan: host-side sockets per state (what the agent must count in $h).
#   ESTABLISHED 5: 198.19.0.1-3 -> 198.18.0.1:b+0 (left unaccepted: accept queue 3),
#                  [2001:db8:f1::1] and 198.19.0.4 (mapped) -> [::]:b+10, accepted
#   SYN_SENT 2:    host -> 198.19.0.9:b+1 and [2001:db8:f1::9]:b+11 (peer drops the SYNs)
#   SYN_RECV 1:    198.19.0.5 -> b+2 (host drops the final ACK)
#   FIN_WAIT1 1:   accepted on b+3, host closes (peer drops the FIN)
#   FIN_WAIT2 1:   host -> 198.19.0.10:5000, host shuts down writing
#   TIME_WAIT 1:   host -> 198.19.0.10:5000, host closes first, then the peer
#   CLOSE_WAIT 1:  198.19.0.6 -> b+6, the peer shuts down writing
#   LAST_ACK 1:    198.19.0.7 -> b+7, the peer shuts down, the host closes (FIN dropped)
#   CLOSING 1:     198.19.0.8 -> b+8, the host closes (FIN dropped), then the peer closes
#   LISTEN 7:      b+0 b+2 b+3 b+6 b+7 b+8 (198.18.0.1) and [::]:b+10
want='{"ESTABLISHED": 5, "SYN_SENT": 2, "SYN_RECV": 1, "FIN_WAIT1": 1, "FIN_WAIT2": 1,
       "TIME_WAIT": 1, "CLOSE": 0, "CLOSE_WAIT": 1, "LAST_ACK": 1, "CLOSING": 1}'

ready=$work/ready
python3 - "$h" "$p" "$b" "$ready" <<'PY' &
import ctypes, os, socket, sys, time

H, P, B, READY = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
libc = ctypes.CDLL(None, use_errno=True)
A4, A6, S = socket.AF_INET, socket.AF_INET6, socket.SOCK_STREAM
keep = []

def enter(ns):
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns " + ns)
    os.close(fd)

def sock(ns, fam, src=None):
    enter(ns)
    s = socket.socket(fam, S)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if src is not None:
        # The peer's addresses are AnyIP routes, not configured: IPv6 needs freebind.
        s.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND
        s.bind(src)
    keep.append(s)
    return s

def listener(ns, fam, addr, v6only=None):
    enter(ns)
    s = socket.socket(fam, S)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind(addr)
    s.listen(64)
    keep.append(s)
    return s

def accept(l):
    a = l.accept()[0]
    keep.append(a)
    return a

HOST4, HOST6 = "198.18.0.1", "2001:db8:f0::1"
l0 = listener(H, A4, (HOST4, B))
for i in (1, 2, 3):
    sock(P, A4, ("198.19.0.%d" % i, 0)).connect((HOST4, B))
l10 = listener(H, A6, ("::", B + 10), 0)
sock(P, A6, ("2001:db8:f1::1", 0)).connect((HOST6, B + 10)); accept(l10)
sock(P, A4, ("198.19.0.4", 0)).connect((HOST4, B + 10)); accept(l10)
for fam, dst in ((A4, ("198.19.0.9", B + 1)), (A6, ("2001:db8:f1::9", B + 11))):
    c = sock(H, fam); c.setblocking(False)
    try:
        c.connect(dst)
    except BlockingIOError:
        pass
l2 = listener(H, A4, (HOST4, B + 2))
sock(P, A4, ("198.19.0.5", 0)).connect((HOST4, B + 2))
l3 = listener(H, A4, (HOST4, B + 3))
sock(P, A4, ("198.19.0.11", 0)).connect((HOST4, B + 3)); accept(l3).close()
ls = listener(P, A4, ("198.19.0.10", 5000))
c = sock(H, A4); c.connect(("198.19.0.10", 5000)); accept(ls); c.shutdown(socket.SHUT_WR)
enter(H); c = socket.socket(A4, S); c.connect(("198.19.0.10", 5000))
a = accept(ls); c.close(); time.sleep(0.2); a.close()
l6 = listener(H, A4, (HOST4, B + 6))
c = sock(P, A4, ("198.19.0.6", 0)); c.connect((HOST4, B + 6)); accept(l6); c.shutdown(socket.SHUT_WR)
l7 = listener(H, A4, (HOST4, B + 7))
c = sock(P, A4, ("198.19.0.7", 0)); c.connect((HOST4, B + 7)); a = accept(l7)
c.shutdown(socket.SHUT_WR); time.sleep(0.2); a.close()
l8 = listener(H, A4, (HOST4, B + 8))
c = sock(P, A4, ("198.19.0.8", 0)); c.connect((HOST4, B + 8)); a = accept(l8)
a.close(); time.sleep(0.2); c.close()
time.sleep(0.5)
open(READY, "w").write("ready\n")
time.sleep(3600)
PY
helper=$!
fs_cleanup_add "kill $helper 2>/dev/null; wait $helper 2>/dev/null"
for _ in $(seq 100); do [[ -s $ready ]] && break; kill -0 "$helper" 2>/dev/null || break; sleep 0.1; done
[[ -s $ready ]] || { echo "input.sh: FAIL: socket helper did not get ready"; exit 1; }

nsx() { ip netns exec "$h" "$@"; }
nsx netstat -n >"$work/netstat-n.txt"
nsx netstat -an >"$work/netstat-an.txt"
nsx ss -tan >"$work/ss-tan.txt"
nsx ss -tanH >"$work/ss-tanH.txt"
nsx cat /proc/net/tcp /proc/net/tcp6 >"$work/proc.txt"

fail=0
for f in netstat-n netstat-an ss-tan ss-tanH proc; do
	if ! "$agent" --input "$work/$f.txt" --print=json >"$work/$f.json" 2>"$work/$f.err"; then
		echo "input.sh: FAIL: $f: agent exited $? ($(head -c 300 "$work/$f.err"))"
		fail=1
		continue
	fi
	if ! python3 - "$f" "$work/$f.json" "$want" <<'PY'; then
import json, sys
name, path, want = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
try:
    got = json.load(open(path)).get("states")
except ValueError as e:
    sys.exit("input.sh: FAIL: %s: bad JSON: %s" % (name, e))
if not isinstance(got, dict):
    sys.exit("input.sh: FAIL: %s: no top-level states object" % name)
bad = {k: (got.get(k, 0), v) for k, v in want.items() if got.get(k, 0) != v}
extra = {k: v for k, v in got.items() if k not in want and k != "LISTEN" and v}
if bad or extra:
    sys.exit("input.sh: FAIL: %s: got/want %s, unexpected %s" % (name, bad, extra))
if name != "netstat-n" and got.get("LISTEN", 0) not in (0, 7):
    sys.exit("input.sh: FAIL: %s: LISTEN %s, want 7 (or left out)" % (name, got.get("LISTEN")))
print("input.sh: ok: %s" % name)
PY
		fail=1
	fi
done
if [[ $fail -ne 0 ]]; then
	echo "input.sh: captures kept for inspection:"; for f in "$work"/*.txt; do echo "== $f"; cat "$f"; done
	exit 1
fi
echo "input.sh: PASS"
