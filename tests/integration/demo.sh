#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh: the demo fleet (deploy/demo-fleet.sh --hold) as an end-to-end test:
#   - `fleetstat tiers` has rows lvs, web and db, with ESTABLISHED, SYN_RECV, TIME_WAIT and
#     CLOSE_WAIT where the demo makes them;
#   - `fleetstat suspects`, on no history: the SYN flooder is syn-flood, the connection flooder
#     conn-flood (its connections never answered), the NAT egress busy or nat-egress (its
#     connections carry requests and answers), never watch or an attack verdict;
#   - with the clients paused, each tier's sums equal the sums of `ss -tan` taken inside its
#     hosts' namespaces at the same snapshot;
#   - mutual TLS end to end: the API is HTTPS, and each host presented its own certificate;
#   - stopped by SIGTERM, it leaves no namespace, process or file behind.
# FS_DEMO_ARGS=--postgres: the same on two collectors and a PostgreSQL cluster (removed too).
#
# usage: bash tests/integration/demo.sh BUILD_DIR      (root: network namespaces)
set -euo pipefail

build=$(cd "${1:?usage: demo.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
	echo "demo.sh: SKIP: needs root for network namespaces"
	exit 77
fi
prefix=fsdt$$-
tmp=$(mktemp -d)
env=$tmp/demo.env
demo=""
paused=""

fail() {
	echo "demo.sh: FAIL: $*" >&2
	tail -20 "$tmp/demo.log" >&2 || true
	exit 1
}
cleanup() {
	set +e
	[ -z "$paused" ] || kill -CONT $paused 2>/dev/null
	if [ -n "$demo" ]; then
		kill "$demo" 2>/dev/null
		wait "$demo" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck disable=SC2086
FS_DEMO_PREFIX=$prefix "$here/../../deploy/demo-fleet.sh" --build "$build" --hold --env "$env" \
	${FS_DEMO_ARGS:-} >"$tmp/demo.log" 2>&1 &
demo=$!
for ((i = 0; i < 600; i++)); do
	[ -s "$env" ] && break
	kill -0 "$demo" 2>/dev/null || fail "the demo exited early"
	sleep 0.1
done
[ -s "$env" ] || fail "the demo did not get going in 60 s"
# shellcheck disable=SC1090
source "$env"
FS() { "$build/fleetstat" --server "$DEMO_URL" --cacert "$DEMO_CACERT" "$@"; }

# Mutual TLS end to end: the API over HTTPS, each host's certificate its own.
case $DEMO_URL in https://*) ;; *) fail "the demo's API is not HTTPS: $DEMO_URL" ;; esac
FS hosts --format json >"$tmp/hosts.json"
python3 - "$tmp/hosts.json" <<'PY' || fail "hosts' certificates: $(cat "$tmp/hosts.json")"
import json, sys
h = json.load(open(sys.argv[1]))["hosts"]
assert len(h) == 5 and all(x["cert_subject"] == f'CN={x["hostname"]},O=fleetstat' and
                           len(x["cert_sha256"]) == 64 for x in h), [(x["hostname"], x["cert_subject"]) for x in h]
print("mutual TLS: each of the 5 hosts presented its own certificate (" +
      ", ".join(x["cert_subject"] for x in h) + ")")
PY

FS tiers --format json >"$tmp/tiers.json"
python3 - "$tmp/tiers.json" <<'PY' || fail "tiers: $(cat "$tmp/tiers.json")"
import json, sys
t = {x["tier"]: x["states"] for x in json.load(open(sys.argv[1]))["tiers"]}
assert sorted(t) == ["db", "lvs", "web"], sorted(t)
want = {"lvs": ["ESTABLISHED", "SYN_RECV", "TIME_WAIT"],
        "web": ["ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT"], "db": ["ESTABLISHED"]}
for tier, states in want.items():
    for s in states:
        assert t[tier][s]["sum"] > 0, (tier, s, t[tier][s])
print("tiers: " + ", ".join(f'{k} {v["total"]["sum"]}' for k, v in sorted(t.items())))
PY

FS suspects --format json >"$tmp/suspects.json"
python3 - "$tmp/suspects.json" <<'PY' || fail "suspects: $(cat "$tmp/suspects.json")"
import json, sys
v = {x["ip"]: x["verdict"] for x in json.load(open(sys.argv[1]))["suspects"]}
assert v.get("198.19.66.6") == "syn-flood", v
assert v.get("198.19.77.7") == "conn-flood", v
assert v.get("198.19.200.1") in ("busy", "nat-egress"), v
print(f'suspects: SYN flooder {v["198.19.66.6"]}, connection flooder {v["198.19.77.7"]}, '
      f'NAT egress {v.get("198.19.200.1")}')
PY

# One snapshot: the clients paused (the proxy lets go of what they left within 5 s), ss in every
# host, the agents' next reports, ss again; equal before and after, or take another.
paused=$DEMO_LOAD_PIDS
# shellcheck disable=SC2086
kill -STOP $paused
sleep 6
ss_all() {
	local h
	for h in $DEMO_HOSTS; do
		echo "# $h"
		ip netns exec "$DEMO_PREFIX$h" ss -Htan
	done
}
ok=0
for ((try = 1; try <= 5; try++)); do
	ss_all >"$tmp/ss1.txt"
	t0=$(date +%s%3N)
	for ((i = 0; i < 50; i++)); do
		FS hosts --format json >"$tmp/hosts.json"
		python3 -c 'import json,sys; sys.exit(min(h["collected_at_ms"] for h in json.load(open(sys.argv[1]))["hosts"]) <= int(sys.argv[2]))' \
			"$tmp/hosts.json" "$t0" && break
		sleep 0.2
	done
	FS tiers --format json >"$tmp/tiers.json"
	ss_all >"$tmp/ss2.txt"
	if cmp -s <(awk '{print $1}' "$tmp/ss1.txt" | sort) <(awk '{print $1}' "$tmp/ss2.txt" | sort); then
		ok=1
		break
	fi
	echo "demo.sh: sockets moved during snapshot $try, taking another"
done
[ "$ok" -eq 1 ] || fail "no stable snapshot in 5 tries"
python3 - "$tmp/tiers.json" "$tmp/ss2.txt" "$DEMO_HOSTS" <<'PY' || fail "tier sums differ from ss -tan"
import json, sys
names = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
         "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT",
         "UNCONN": "CLOSE", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK", "CLOSING": "CLOSING"}
tier = {"lvs1": "lvs", "web1": "web", "web2": "web", "web3": "web", "db1": "db"}
ss = {}
host = None
for line in open(sys.argv[2]):
    f = line.split()
    if f[0] == "#":
        host = f[1]
        continue
    if f[0] == "LISTEN":
        continue
    t = ss.setdefault(tier[host], {})
    t[names[f[0]]] = t.get(names[f[0]], 0) + 1
got = {x["tier"]: x["states"] for x in json.load(open(sys.argv[1]))["tiers"]}
for t, states in got.items():
    for s, v in states.items():
        if s == "total":
            continue
        assert v["sum"] == ss.get(t, {}).get(s, 0), (t, s, v["sum"], ss.get(t, {}).get(s, 0))
print("snapshot: each tier's sums equal ss -tan in its namespaces: " +
      ", ".join(f"{t} {sum(v.values())}" for t, v in sorted(ss.items())))
PY
# shellcheck disable=SC2086
kill -CONT $paused
paused=""

# Stopped, it removes everything it made.
kill -TERM "$demo"
rc=0
wait "$demo" || rc=$?
demo=""
[[ $rc -eq 0 || $rc -eq 143 ]] || fail "the demo exited $rc on SIGTERM"
left=$(ip netns list | grep -c "^$DEMO_PREFIX" || true)
[ "$left" -eq 0 ] || fail "$left namespaces left: $(ip netns list | grep "^$DEMO_PREFIX")"
for pid in $DEMO_PIDS; do
	! kill -0 "$pid" 2>/dev/null || fail "process $pid is still running"
done
[ ! -e "$DEMO_DIR" ] || fail "$DEMO_DIR is still there"
[ -z "$DEMO_PGDIR" ] || [ ! -e "$DEMO_PGDIR" ] || fail "the PostgreSQL cluster $DEMO_PGDIR is still there"
echo "demo.sh: PASS"
