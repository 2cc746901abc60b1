#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# query.sh: a real collector and five real agents in three tiers (lvs, web x3, db), each agent in
# a UTS namespace of its own (its hostname) collecting from a saved `ss -tan` of its own, so
# every report of an agent holds the same sockets.  Checks:
#   - fleetstat tiers: per tier, sum, mean, max and max_host equal what the agents' own
#     `--print=json --input` of the same files say; a stopped agent turns stale and leaves the sums;
#   - hosts, top-ips (a NAT-like IP spread over the web hosts: count = the sum of the agents' own
#     counts), trend: --server and --db give the same JSON;
#   - by port: tiers --by port sums each (tier, direction, port) as the agents' own reports split
#     them, hosts --by port is each agent's own, trend --port and /metrics agree;
#   - /metrics passes promtool check metrics and counts the reports;
#   - the HTTP API wants the bearer token when one is set; bad parameters get a 400.
set -euo pipefail

BUILD=$(cd "${1:?usage: query.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v promtool >/dev/null || fail "promtool missing (deploy/install-deps.sh installs it)"
command -v unshare >/dev/null || fail "unshare missing"
fs_fleet_env
printf 'q-%s\n' "$RANDOM$RANDOM" >"$T/http.token"
chmod 600 "$T/http.token"

# Saved `ss -tan` text per host: counts per state, and the 203.0.113.50 NAT-like peer on the
# web hosts, a SYN_RECV-heavy 198.51.100.66 on web2.
python3 - "$T" "$here/../tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from sstext import ss_text
out = sys.argv[1]
hosts = {
    # host: ({state: n}, extra peers [(ip, state, n)])
    "lvs1": ({"ESTAB": 400, "TIME-WAIT": 900, "FIN-WAIT-1": 50, "SYN-RECV": 7}, []),
    "web1": ({"ESTAB": 120, "TIME-WAIT": 40, "CLOSE-WAIT": 3}, [("203.0.113.50", "ESTAB", 90)]),
    "web2": ({"ESTAB": 80, "CLOSE-WAIT": 600}, [("203.0.113.50", "ESTAB", 70),
                                                ("198.51.100.66", "SYN-RECV", 250)]),
    "web3": ({"ESTAB": 60, "FIN-WAIT-2": 5}, [("203.0.113.50", "ESTAB", 40)]),
    "db1": ({"ESTAB": 30, "TIME-WAIT": 2}, []),
}
for h, (states, extra) in hosts.items():
    more = []
    # By service: the web hosts ask the db on :3306 and a cache on :6379 (outbound); db1 also
    # listens on :3306, with the web hosts' connections there (inbound).
    if h.startswith("web"):
        n3306 = {"web1": 25, "web2": 40, "web3": 10}[h]
        more += [f"ESTAB 0 0 10.9.0.1:{41000 + i} 10.9.0.9:3306" for i in range(n3306)]
        more += [f"TIME-WAIT 0 0 10.9.0.1:{42000 + i} 10.9.0.8:6379" for i in range(7)]
    if h == "db1":
        more.append("LISTEN 0 128 0.0.0.0:3306 0.0.0.0:*")
        more += [f"ESTAB 0 0 10.9.0.9:3306 10.9.0.{i % 3 + 2}:{41000 + i}" for i in range(75)]
    ss_text(f"{out}/{h}.ss", states, extra, more)
PY

# The collector's thresholds: web2's 600 CLOSE_WAIT make the web tier CRITICAL.
cat >"$T/collector.ini" <<'INI'
[thresholds]
web.CLOSE_WAIT = 300,600
*.SYN_RECV = 5000,10000
ListenOverflows = 10,100
INI
# Calm: the heavy peers are known (allowed), the CLOSE_WAIT level is high.
cat >"$T/calm.ini" <<'INI'
[thresholds]
web.CLOSE_WAIT = 5000
stale = 3,5
[suspects]
allow = 203.0.113.50, 198.51.100.66/32
INI
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --http-token-file "$T/http.token" \
	--config "$T/collector.ini"
declare -A TIER=([lvs1]=lvs [web1]=web [web2]=web [web3]=web [db1]=db)
for h in "${!TIER[@]}"; do
	fs_agent_saved "$h" "${TIER[$h]}" "$T/$h.ss"
	"$BUILD/fleetstat-agent" --print=json --tier "${TIER[$h]}" --input "$T/$h.ss" >"$T/$h.json"
done
reported() { [ "$(fs_sql "SELECT count(DISTINCT host_id) FROM reports")" -eq 5 ]; }
fs_wait_for 20 reported || fail "not every agent reported"

q() { "$FS" --token-file "$T/http.token" --server "$SERVER" "$@"; }
# tiers against the agents' own reports.
q tiers --format json >"$T/tiers.json"
python3 - "$T" <<'PY' || fail "tiers differ from the agents' own reports"
import json, sys
t = sys.argv[1]
tier = {"lvs1": "lvs", "web1": "web", "web2": "web", "web3": "web", "db1": "db"}
own = {h: json.load(open(f"{t}/{h}.json")) for h in tier}
got = {x["tier"]: x for x in json.load(open(f"{t}/tiers.json"))["tiers"]}
assert sorted(got) == ["db", "lvs", "web"], sorted(got)
for name in got:
    hs = [h for h in tier if tier[h] == name]
    g = got[name]
    assert g["hosts"] == len(hs) and g["stale"] == 0, g
    for st, v in g["states"].items():
        vals = {h: (sum(n for s, n in own[h]["states"].items() if s != "LISTEN")
                    if st == "total" else own[h]["states"].get(st, 0)) for h in hs}
        want_max = max(vals.values())
        assert v["sum"] == sum(vals.values()), (name, st, v, vals)
        assert v["max"] == want_max and vals[v["max_host"]] == want_max, (name, st, v, vals)
        assert abs(v["mean"] - sum(vals.values()) / len(hs)) < 0.051, (name, st, v)
web = got["web"]["states"]
assert web["CLOSE_WAIT"]["max_host"] == "web2" and web["CLOSE_WAIT"]["sum"] == 603, web
print("tiers: equal to the agents' own reports")
PY

# By service: tiers --by port sums each port over the tier's hosts as the agents' own reports
# split them; hosts --by port is each agent's own; trend --port and /metrics say the same.
q tiers --by port --format json >"$T/tiers-port.json"
q hosts --by port --format json >"$T/hosts-port.json"
# A bucket that all three web hosts reported in (they report every second).
trend_port() {
	q trend --port 3306 --tier web --since 30s --step 2s --format json >"$T/trend-port.json" &&
		python3 -c 'import json, sys; sys.exit(0 if any(b["hosts"] == 3 for b in
			json.load(open(sys.argv[1]))["buckets"]) else 1)' "$T/trend-port.json"
}
fs_wait_for 20 trend_port || fail "trend --port: no bucket with the three web hosts"
q tiers --by port >"$T/tiers-port.txt"
python3 - "$T" <<'PY' || fail "by port: $(cat "$T/tiers-port.txt")"
import json, sys
t = sys.argv[1]
tier = {"lvs1": "lvs", "web1": "web", "web2": "web", "web3": "web", "db1": "db"}
own = {h: json.load(open(f"{t}/{h}.json"))["ports"] for h in tier}
want = {}
for h, p in own.items():
    for d in ("inbound", "outbound"):
        for e in p[d]:
            w = want.setdefault((tier[h], d, e["port"]), {"hosts": 0, "states": {}, "max": 0})
            w["hosts"] += 1
            w["max"] = max(w["max"], e["total"])
            for s, n in e["states"].items():
                w["states"][s] = w["states"].get(s, 0) + n
got = {}
for x in json.load(open(f"{t}/tiers-port.json"))["tiers"]:
    for e in x["ports"]:
        got[(x["tier"], e["direction"], e["port"])] = {"hosts": e["hosts"], "states": e["states"],
                                                      "max": e["max"]}
assert got == want, (got, want)
assert want[("web", "outbound", 3306)]["states"] == {"ESTABLISHED": 75}, want
assert want[("db", "inbound", 3306)]["states"] == {"ESTABLISHED": 75}, want
assert want[("web", "inbound", 80)]["hosts"] == 3, want
hosts = {x["hostname"]: x["ports"] for x in json.load(open(f"{t}/hosts-port.json"))["hosts"]}
for h in tier:
    assert hosts[h] == own[h], (h, hosts[h], own[h])
tr = json.load(open(f"{t}/trend-port.json"))
full = [b for b in tr["buckets"] if b["hosts"] == 3]
assert tr["port"] == 3306 and full and all(b["mean"] == 75 and b["max"] == 75 for b in full), tr
print(f"by port: {len(got)} (tier, direction, port) sums equal the agents' own; hosts --by port"
      " equal; trend --port 3306 over the web tier 75")
PY

# top-ips: the NAT-like peer over the web hosts, exact; and by SYN_RECV.
q top-ips --tier web --format json >"$T/top.json"
q top-ips --state SYN_RECV --limit 1 --format json >"$T/top-syn.json"
python3 - "$T" <<'PY' || fail "top-ips"
import json, sys
t = sys.argv[1]
top = json.load(open(f"{t}/top.json"))
nat = [x for x in top["ips"] if x["ip"] == "203.0.113.50"][0]
own = sum(e["total"] for h in ("web1", "web2", "web3")
          for e in json.load(open(f"{t}/{h}.json"))["top"]["ips"] if e["ip"] == "203.0.113.50")
assert nat["count"] == own == 200 and nat["hosts"] == 3 and nat["tiers"] == ["web"], (nat, own)
assert top["ips"][0]["ip"] == "198.51.100.66" and top["ips"][0]["count"] == 250, top["ips"][0]
syn = json.load(open(f"{t}/top-syn.json"))
assert [x["ip"] for x in syn["ips"]] == ["198.51.100.66"] and syn["state"] == "SYN_RECV", syn
print("top-ips: the merged counts equal the agents' own")
PY

# sysctl: an agent collecting live (no --input) sends this kernel's tuning; its tier's majority
# is the kernel's own value, with no drift.  (Agents reading saved text send none.)
mkdir -m 700 "$T/state-live1"
unshare --uts sh -c "hostname live1 && exec '$BUILD/fleetstat-agent' --once --tier live \
	--collector 127.0.0.1:$PORT --state-dir '$T/state-live1'" >>"$T/live1.log" 2>&1 ||
	fail "the live agent's --once"
q sysctl --name net.core.somaxconn --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
want = open("/proc/sys/net/core/somaxconn").read().strip()
live = [t for t in r["tiers"] if t["tier"] == "live"][0]["sysctls"]
assert len(live) == 1 and live[0]["hosts"] == 1 and live[0]["majority"] == want, live
assert live[0]["drift"] == [], live
' || fail "sysctl"

# A stopped agent goes stale after 3 intervals and leaves the sums.
fs_agent_kill db1 TERM
sleep 4
# The four running agents report every second: a report may land between the two reads, so
# each pair is taken again (a few times) until both saw the same reports.
same() {
	python3 - "$T/srv.json" "$T/db.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for x in (a, b):
    x.pop("now_ms")
# The trend's window follows the clock; the two ran a moment apart.
if "buckets" in a and a["from_ms"] != b["from_ms"]:
    sys.exit(0)
sys.exit(0 if a == b else 1)
PY
}
for cmd in "tiers" "hosts" "top-ips --limit 5" "trend --state ESTABLISHED --since 2m --step 10s" \
	"trend --tier web --since 1m" "hosts --tier web" "sysctl" "sysctl --name net.core.somaxconn"; do
	read -ra args <<<"$cmd"
	ok=0
	# Both within one of the agents' 1 s intervals: a busy machine may need a few tries.
	for _ in $(seq 1 15); do
		q "${args[@]}" --format json >"$T/srv.json"
		"$FS" --db "$DB" "${args[@]}" --format json >"$T/db.json"
		if same; then ok=1; break; fi
	done
	[ "$ok" = 1 ] || fail "--server and --db differ: $cmd: $(diff "$T/srv.json" "$T/db.json" | head -c 600)"
done
q tiers --format json | python3 -c '
import json, sys
db = [x for x in json.load(sys.stdin)["tiers"] if x["tier"] == "db"][0]
assert db["hosts"] == 0 and db["stale"] == 1 and db["stale_hosts"] == ["db1"], db
assert db["states"]["total"]["sum"] == 0, db
' || fail "a stopped agent is not stale"
q tiers --format table | grep -E '^web +3 +0 +CLOSE_WAIT +603 ' >/dev/null || fail "tiers table"
q top-ips --format csv | sed -n 1p | grep '^REMOTE IP,COUNT,UPPER_BOUND,HOSTS,TIERS' >/dev/null || fail "csv"

# summary: CRITICAL by the collector's thresholds and by an attack verdict (the SYN_RECV-heavy
# peer), through the API and on the database with the same config; OK under calm thresholds;
# UNKNOWN with no answer.
rc=0
q summary --since 10m >"$T/summary.txt" || rc=$?
[ "$rc" -eq 2 ] || fail "summary over the API exited $rc, wanted 2: $(cat "$T/summary.txt")"
grep -q '^CRITICAL web CLOSE_WAIT peak: 603 (threshold 600)$' "$T/summary.txt" ||
	fail "summary text: $(cat "$T/summary.txt")"
grep -q 'db1 (db), last seen' "$T/summary.txt" || fail "summary: the stale agent"
rc=0
"$FS" --db "$DB" --config "$T/collector.ini" summary --since 10m --format json >"$T/summary.json" ||
	rc=$?
[ "$rc" -eq 2 ] || fail "summary on --db exited $rc, wanted 2"
python3 - "$T/summary.json" <<'PY' || fail "summary json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == "CRITICAL" and s["exit_code"] == 2, s
assert [a["what"] for a in s["alerts"]] == ["web CLOSE_WAIT peak", "attack verdicts"], s["alerts"]
# The NAT-like peer is new, but a collector with no history calls it watch, not an attack.
assert [(a["ip"], a["verdict"], a["hosts"]) for a in s["attacks"]] == [
    ("198.51.100.66", "syn-flood", 1)], s["attacks"]
web = [t for t in s["tiers"] if t["tier"] == "web"][0]
assert web["peaks"]["CLOSE_WAIT"] == 603 and web["peaks"]["SYN_RECV"] == 250, web
assert [x["hostname"] for x in s["stale"]] == ["db1"], s["stale"]
assert all(c["per_min"]["TcpExt.ListenOverflows"] in (None, 0) for c in s["counters"]), s
PY
rc=0
"$FS" --db "$DB" --config "$T/calm.ini" summary --since 10m >"$T/calm.txt" || rc=$?
[ "$rc" -eq 0 ] || fail "calm summary exited $rc, wanted 0: $(cat "$T/calm.txt")"
grep -q '^fleetstat summary: OK' "$T/calm.txt" || fail "calm summary text"
rc=0
"$FS" --server "http://127.0.0.1:$(fs_free_port)" summary >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "summary with no collector exited $rc, wanted 3 (UNKNOWN)"

# /metrics: valid exposition, with the fleet and the collector's figures.
curl -sf -H "Authorization: Bearer $(cat "$T/http.token")" "$SERVER/metrics" >"$T/metrics.txt" ||
	fail "GET /metrics"
promtool check metrics <"$T/metrics.txt" || fail "promtool check metrics"
# The summary's attack is in the tier's attack verdicts and among the suspects' series; each
# host's kernel counters are counters, with the value of its latest report.
grep -q '^fleetstat_tier_attackers{tier="web",verdict="syn-flood"} 1$' "$T/metrics.txt" ||
	fail "/metrics: web's syn-flood: $(grep '^fleetstat_tier_attackers' "$T/metrics.txt")"
grep -q '^fleetstat_suspect_connections{ip="198.51.100.66",verdict="syn-flood"} [1-9]' \
	"$T/metrics.txt" || fail "/metrics: the syn-flood's series"
grep -q '^fleetstat_host_listen_overflows_total{host="live1",tier="live",id="[0-9]*"} [0-9]' \
	"$T/metrics.txt" || fail "/metrics: live1's ListenOverflows (it collects live): $(grep overflows "$T/metrics.txt")"
# The alerting rules of deploy/prometheus name only metrics that /metrics exports.
for m in $(grep -o 'fleetstat_[a-z_]*' "$here/../../deploy/prometheus/fleetstat.rules.yml" | sort -u); do
	grep -q "^# TYPE $m " "$T/metrics.txt" || fail "deploy/prometheus/fleetstat.rules.yml: $m is not exported"
done
# The Grafana dashboard: JSON, each panel's query valid PromQL (promtool checks them as
# recording rules, the tier variable at "all") naming only metrics /metrics exports.
python3 - "$here/../../deploy/grafana/fleetstat.json" "$T/metrics.txt" >"$T/dashboard.rules.yml" \
	2>"$T/dashboard.err" <<'EOF' ||
import json, re, sys
d = json.load(open(sys.argv[1]))
exported = set(re.findall(r"^# TYPE (\S+) ", open(sys.argv[2]).read(), re.M))
exprs = [t["expr"] for p in d["panels"] for t in p["targets"]]
exprs.append(re.sub(r"label_values\((\w+), (\w+)\)", r"count by (\2) (\1)",
                    d["templating"]["list"][0]["query"]["query"]))
missing = {m for e in exprs for m in re.findall(r"fleetstat_[a-z_]+", e)} - exported
if missing:
    sys.exit("not exported: " + " ".join(sorted(missing)))
print("groups:\n  - name: dashboard\n    rules:")
for i, e in enumerate(exprs):
    print(f"      - record: dashboard:panel{i}\n        expr: {json.dumps(e.replace('$tier', '.*'))}")
EOF
	fail "deploy/grafana/fleetstat.json: $(tail -1 "$T/dashboard.err")"
promtool check rules "$T/dashboard.rules.yml" >"$T/promtool.log" 2>&1 ||
	fail "deploy/grafana/fleetstat.json: a query promtool refuses: $(cat "$T/promtool.log")"
grep -q '^fleetstat_tier_sockets{tier="web",state="close_wait"} 603$' "$T/metrics.txt" ||
	fail "metrics: web close_wait"
grep -Eq '^fleetstat_host_stale\{host="db1",tier="db",id="[0-9]+"\} 1$' "$T/metrics.txt" ||
	fail "metrics: stale"
grep -q '^fleetstat_tier_port_sockets{tier="web",direction="outbound",port="3306",state="established"} 75$' \
	"$T/metrics.txt" || fail "metrics: the web tier's :3306"
grep -q '^fleetstat_tier_port_sockets{tier="web",direction="inbound",port="80",state="close_wait"} 603$' \
	"$T/metrics.txt" || fail "metrics: the web tier's :80"
stored=$(sed -n 's/^fleetstat_collector_reports_stored_total \([0-9]*\)$/\1/p' "$T/metrics.txt")
[ "${stored:-0}" -ge 10 ] || fail "metrics: reports stored '$stored'"

# The bearer token; bad requests.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$SERVER/api/v1/tiers")" = 401 ] || fail "no token: not 401"
[ "$(code -H 'Authorization: Bearer wrong' "$SERVER/metrics")" = 401 ] || fail "wrong token"
[ "$(code "$SERVER/healthz")" = 200 ] || fail "healthz"
auth=(-H "Authorization: Bearer $(cat "$T/http.token")")
[ "$(code "${auth[@]}" "$SERVER/api/v1/tiers?since=soon")" = 400 ] || fail "bad since: not 400"
[ "$(code "${auth[@]}" "$SERVER/api/v1/tiers?colour=red")" = 400 ] || fail "unknown param"
[ "$(code "${auth[@]}" "$SERVER/api/v1/trend?step=9223372036854775s")" = 400 ] ||
	fail "a step that would overflow: not 400"
curl -s "${auth[@]}" "$SERVER/api/v1/tiers?tier=web&tier=db" >"$T/twice.txt"
[ "$(code "${auth[@]}" "$SERVER/api/v1/tiers?tier=web&tier=db")" = 400 ] &&
	grep -q "tier: given twice" "$T/twice.txt" || fail "a parameter given twice: $(cat "$T/twice.txt")"
[ "$(code "${auth[@]}" "$SERVER/api/v1/summary?format=csv")" = 400 ] || fail "summary as csv: not 400"
rc=0
"$FS" --db "$DB" summary --format csv >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "not a format of summary (table, json, html)" "$T/err" ||
	fail "summary --format csv: rc $rc: $(cat "$T/err")"
# A parameter the query does not take is refused, naming those it takes.
curl -s "${auth[@]}" "$SERVER/api/v1/tiers?step=5m" >"$T/nostep.txt"
[ "$(code "${auth[@]}" "$SERVER/api/v1/tiers?step=5m")" = 400 ] &&
	grep -q '"bad parameter: step: tiers takes only tier, by, format"' "$T/nostep.txt" ||
	fail "?step on tiers: $(cat "$T/nostep.txt")"
for via in --db --server; do
	rc=0
	if [ "$via" = --db ]; then "$FS" --db "$DB" tiers --step 5m >/dev/null 2>"$T/err" || rc=$?
	else q tiers --step 5m >/dev/null 2>"$T/err" || rc=$?; fi
	[ "$rc" -eq 2 ] && grep -q "^fleetstat: --step: tiers takes only --tier, --by, --format$" "$T/err" ||
		fail "tiers --step ($via): rc $rc: $(cat "$T/err")"
done
[ "$(code "${auth[@]}" "$SERVER/api/v1/healthz")" = 404 ] || fail "unknown query under api"
# summary?tier=: that tier's peaks and stale agents, not only its attacks and advice.
curl -sf "${auth[@]}" "$SERVER/api/v1/summary?tier=web&format=json" >"$T/summary-web.json" ||
	fail "summary?tier=web"
python3 - "$T/summary-web.json" <<'PY' || fail "summary?tier=web: $(cat "$T/summary-web.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["tier"] == "web", s
assert [t["tier"] for t in s["tiers"]] == ["web"], s["tiers"]
assert s["stale"] == [], s["stale"]    # db1 is stale, but not of the web tier
PY
[ "$(code "${auth[@]}" "$SERVER/api/v1/drop-table")" = 404 ] || fail "unknown query"
[ "$(code "${auth[@]}" -X POST "$SERVER/api/v1/tiers")" = 405 ] || fail "POST"
rc=0
"$FS" --server "$SERVER" tiers >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "HTTP 401" "$T/err" || fail "the CLI without the token: rc $rc"
if grep -q -- "$(cat "$T/http.token")" "$T"/*.log; then fail "the token is in a log"; fi

for h in lvs1 web1 web2 web3; do fs_agent_kill "$h" TERM; done
fs_collector_kill TERM || fail "collector did not exit 0 on SIGTERM"
echo "query.sh: PASS"
