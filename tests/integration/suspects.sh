#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# suspects.sh: a week of a web tier's history through the real ingest path, as three agents'
# spools hold it after an outage (spoolgen writes them with the agent's own state code; the
# real fleetstat-agent --once sends them, and its own fresh report, to a real collector):
#   - A 198.51.100.10: present every business hour (09:00-17:59) of the week with 300-800
#     ESTABLISHED over the 3 hosts; in the last 15 minutes 150 on each host;
#   - B 198.51.100.20: in the last 15 minutes ~500 SYN_RECV over the 3 hosts;
#   - C 198.51.100.30: in the last 15 minutes, from nothing, 400 ESTABLISHED on web1;
#   - a light peer every hour of the week (the baseline's hours have data).
# Queried at once (the week's hours still to be built, or just built): no verdict says "too
# little history"; while hours are pending A and C are watch, saying "baseline being built: N
# hours pending", B syn-flood, and the summary says so too.
# Once the collector has built the week's hours (baseline_pending_hours 0): suspects gives A
# nat-egress, B syn-flood, C conn-flood with their reasons, the same over --server and --db;
# --format ipset lists B and C and not A; an allow CIDR covering C turns its verdict off; the
# summary lists B and C and exits 2.
set -euo pipefail

BUILD=$(cd "${1:?usage: suspects.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v unshare >/dev/null || fail "unshare missing"
fs_fleet_env
NOW=$(date +%s%3N)

# The spool scripts (one report per line) and each host's `ss -tan` of now.
python3 - "$T" "$NOW" <<'PY'
import sys
out, now = sys.argv[1], int(sys.argv[2])
H, M = 3600000, 60000
b1 = (now - 15 * M) // H * H          # the window's hour; the baseline is the week before it
hosts = ["web1", "web2", "web3"]
lines = {h: [] for h in hosts}
for t in range(b1 - 7 * 24 * H, b1, H):
    lines["web1"].append(f"{t + 2 * M} 192.0.2.99 ESTABLISHED 5")
    if not 9 <= t // H % 24 <= 17:
        continue
    for i, h in enumerate(hosts, 1):
        for k, m in enumerate((5, 25, 45)):
            a = 100 + (t // H * 7 + i * 13 + k * 29) % 167      # 100-266 a host
            lines[h].append(f"{t + m * M} 198.51.100.10 ESTABLISHED {a} 192.0.2.{i} ESTABLISHED 10")
now_peers = {"web1": [("198.51.100.10", "ESTAB", 150), ("198.51.100.20", "SYN-RECV", 167),
                      ("198.51.100.30", "ESTAB", 400)],
             "web2": [("198.51.100.10", "ESTAB", 150), ("198.51.100.20", "SYN-RECV", 167)],
             "web3": [("198.51.100.10", "ESTAB", 150), ("198.51.100.20", "SYN-RECV", 166)]}
names = {"ESTAB": "ESTABLISHED", "SYN-RECV": "SYN_RECV"}
for i, h in enumerate(hosts, 1):
    for t in range(now - 14 * M, now - M, 2 * M):
        lines[h].append(f"{t} 192.0.2.{i} ESTABLISHED 10 " +
                        " ".join(f"{ip} {names[st]} {n}" for ip, st, n in now_peers[h]))
    open(f"{out}/{h}.script", "w").write("\n".join(lines[h]) + "\n")
    ss = ["State Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
          "LISTEN 0 4096 0.0.0.0:80 0.0.0.0:*"]
    k = 0
    for ip, st, n in [(f"192.0.2.{i}", "ESTAB", 10)] + now_peers[h]:
        for _ in range(n):
            k += 1
            ss.append(f"{st} 0 0 10.9.0.{i}:80 {ip}:{10000 + k}")
    open(f"{out}/{h}.ss", "w").write("\n".join(ss) + "\n")
PY

# A week and a bit of raw reports is kept: the oldest spooled reports are 7 days and an hour old.
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --retention 9d
for h in web1 web2 web3; do
	"$BUILD/spoolgen" --state-dir "$T/state-$h" --interval 600 <"$T/$h.script" 2>>"$T/$h.log" ||
		fail "spoolgen $h: $(tail -1 "$T/$h.log")"
	# The fresh report says every 10 minutes: the hosts stay fresh while the hours are built.
	unshare --uts sh -c "hostname $h && exec '$BUILD/fleetstat-agent' --once --tier web \
		--interval 600 --timeout 120 --collector 127.0.0.1:$PORT --input '$T/$h.ss' \
		--state-dir '$T/state-$h'" >>"$T/$h.log" 2>&1 || fail "$h: fleetstat-agent --once"
	left=$(find "$T/state-$h/spool" -type f | wc -l)
	[ "$left" -eq 0 ] || fail "$h: $left reports still in the spool after --once"
done

# At once, the week acked: the collector builds its hours within half a minute (every 30 s,
# and on until they are done), so now they are still to be built, unless a round just ran.
# Either way no verdict may call the stored week "too little history": the ones that rest on
# it wait, saying so; B's needs none.  Each answer is judged on its own (a round may run
# between them).
"$FS" --db "$DB" suspects --format json >"$T/early.json" || fail "suspects at once"
"$FS" --server "$SERVER" suspects --format table >"$T/early.txt" || fail "suspects at once over --server"
rc=0
"$FS" --db "$DB" summary --since 15m --format table >"$T/early-summary.txt" || rc=$?
[ "$rc" -eq 2 ] || fail "summary at once exited $rc, wanted 2: $(cat "$T/early-summary.txt")"
python3 - "$T/early.json" "$T/early.txt" "$T/early-summary.txt" <<'PY2' ||
import json, re, sys
s = json.load(open(sys.argv[1]))
text, summary = open(sys.argv[2]).read(), open(sys.argv[3]).read()
for what in (json.dumps(s), text, summary):
    assert "too little history" not in what, what
pending = s["baseline_pending_hours"]
v = {x["ip"]: x for x in s["suspects"]}
a, b, c = v["198.51.100.10"], v["198.51.100.20"], v["198.51.100.30"]
assert b["verdict"] == "syn-flood", b
assert b["pending_hours"] == 0, b   # syn-flood needs no history: final at once
for x in (a, c):
    assert x["pending_hours"] == pending, x
if pending:
    for x in (a, c):
        assert x["verdict"] == "watch", x
        assert f"baseline being built: {pending} hours pending" in x["why"], x
else:
    assert (a["verdict"], c["verdict"]) == ("nat-egress", "conn-flood"), s
# The table (a later answer): A and C wait and say so, or are final.
for ip, final in (("198.51.100.10", "nat-egress"), ("198.51.100.30", "conn-flood")):
    row = next(l for l in text.splitlines() if l.startswith(ip + " "))
    assert (re.search(r" watch .*baseline being built: [1-9][0-9]* hours pending", row) or
            f" {final} " in row), row
# The summary (later still): B listed; the note, or C listed as well.
assert "198.51.100.20   syn-flood" in summary, summary
assert (re.search(r"baseline being built: [1-9][0-9]* hours pending; 2 heavy IPs wait", summary) or
        "198.51.100.30   conn-flood" in summary), summary
print(f"at once: {pending} baseline hours pending" +
      (", A and C watch until they are built" if pending else ", already built"))
PY2
	fail "suspects at once: $(cat "$T/early.json" "$T/early.txt" "$T/early-summary.txt")"
sent=$(cat "$T"/web*.script | grep -c .)
stored=$(fs_sql "SELECT count(*) FROM reports")
[ "$stored" -eq $((sent + 3)) ] || fail "stored $stored reports, sent $sent spooled + 3 fresh"
echo "ingest: $stored reports (a week of 3 hosts, spooled) stored and acked"

# The collector builds each ended hour's per-IP levels in the background.
pending() {
	"$FS" --db "$DB" suspects --format json >"$T/s.json" &&
		python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["baseline_pending_hours"] != 0)' \
			"$T/s.json"
}
start=$SECONDS
fs_wait_for 300 pending || fail "baseline hours still pending after 300 s: $(head -c 300 "$T/s.json")"
echo "baseline: the week's hours built in $((SECONDS - start)) s"
! grep -q "baseline being built" "$T/s.json" || fail "built, yet pending: $(cat "$T/s.json")"

python3 - "$T/s.json" <<'PY' || fail "suspects: $(cat "$T/s.json")"
import json, sys
s = json.load(open(sys.argv[1]))
v = {x["ip"]: x for x in s["suspects"]}
a, b, c = v["198.51.100.10"], v["198.51.100.20"], v["198.51.100.30"]
assert a["verdict"] == "nat-egress", a
assert b["verdict"] == "syn-flood", b
assert c["verdict"] == "conn-flood", c
# The reasons, as numbers.
assert a["now"] == 450 and a["hosts"] == 3 and a["tiers"] == ["web"], a
# The baseline is the week before the window's hour; when the hour rolls while the test runs
# (the window starts 15 minutes back), the oldest spooled hour falls out of it.
assert 60 <= a["hours_present"] <= 64 and a["baseline_hours"] in (167, 168), a
assert 300 <= a["baseline_median"] <= 800 and 0.5 < a["growth"] < 1.6, a
assert b["syn_recv"] == 500 and b["syn_recv_share"] == 1 and b["hosts"] == 3, b
assert c["now"] == 400 and c["hosts"] == 1 and c["host_max"] == 400, c
assert c["hours_present"] == 0 and c["growth"] is None, c
assert "192.0.2.99" not in v, "a light peer is a suspect"
for x in (a, b, c):
    assert x["why"], x
    assert x["pending_hours"] == 0, x
print("suspects: " + ", ".join(f'{x["ip"]} {x["verdict"]}' for x in (a, b, c)))
PY

# The same answer through the collector's API.
"$FS" --server "$SERVER" suspects --format json >"$T/srv.json"
python3 - "$T/srv.json" "$T/s.json" <<'PY' || fail "--server and --db differ: $(diff "$T/srv.json" "$T/s.json" | head -c 600)"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for x in (a, b):
    x.pop("now_ms")
sys.exit(0 if a == b else 1)
PY

# deploy/collector.ini.example spells out the defaults: the same verdicts.
"$FS" --db "$DB" --config "$here/../../deploy/collector.ini.example" suspects --format json \
	>"$T/example.json" || fail "the example config: $(cat "$T/example.json")"
python3 - "$T/example.json" "$T/s.json" <<'PY' || fail "the example config changes the verdicts"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
sys.exit(0 if a["suspects"] == b["suspects"] and a["suspect_min"] == b["suspect_min"] else 1)
PY

"$FS" --db "$DB" suspects --format ipset >"$T/ipset.txt"
grep -q '^ipset add fleetstat-block 198.51.100.20 -exist  # syn-flood$' "$T/ipset.txt" ||
	fail "ipset: B missing: $(cat "$T/ipset.txt")"
grep -q '^ipset add fleetstat-block 198.51.100.30 -exist  # conn-flood$' "$T/ipset.txt" ||
	fail "ipset: C missing: $(cat "$T/ipset.txt")"
! grep -q '198.51.100.10' "$T/ipset.txt" || fail "ipset lists the NAT egress"

# The operator knows C: an allow CIDR turns its verdict off (and keeps it out of the ipset).
printf '[suspects]\nallow = 198.51.100.28/30\n' >"$T/allow.ini"
"$FS" --db "$DB" --config "$T/allow.ini" suspects --format json | python3 -c '
import json, sys
v = {x["ip"]: x["verdict"] for x in json.load(sys.stdin)["suspects"]}
assert v["198.51.100.30"] == "allowed" and v["198.51.100.20"] == "syn-flood", v' ||
	fail "allow CIDR"
! "$FS" --db "$DB" --config "$T/allow.ini" suspects --format ipset | grep 198.51.100.30 >/dev/null ||
	fail "an allowed IP is in the ipset form"

# The summary over the window lists the two attacks and goes CRITICAL.
rc=0
"$FS" --db "$DB" summary --since 15m --format json >"$T/summary.json" || rc=$?
[ "$rc" -eq 2 ] || fail "summary exited $rc, wanted 2: $(head -c 600 "$T/summary.json")"
python3 - "$T/summary.json" <<'PY' || fail "summary: $(cat "$T/summary.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert sorted((x["ip"], x["verdict"]) for x in s["attacks"]) == [
    ("198.51.100.20", "syn-flood"), ("198.51.100.30", "conn-flood")], s["attacks"]
PY
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"
echo "suspects.sh: PASS"
