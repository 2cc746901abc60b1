#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reqverdicts.sh: the request verdicts (DESIGN 12, issue 16) from labelled scenarios through a
# real nginx, a real agent following its access log and a real collector.  A server namespace
# runs nginx (nginx-light, log `combined`: pages 200, /old 301, 304 on If-Modified-Since,
# 404 for anything else), fleetstat-agent (--access-log, --interval 5, --tier web; its
# connection counts from sock_diag there) and fleetstat-collector on its loopback.  From a
# client namespace, each scenario from its own address:
#   198.19.0.10     NAT egress: 300 keep-alive connections, a request a second on each, 200
#                   user agents, 86% 200, 7% 304, 4% 301, 3% 404 (tests/tools/reqclients.py nat)
#   198.19.0.20     scraper: one user agent, 50 requests/s over 2 keep-alive connections, 60%
#                   to missing pages (reqclients.py scraper)
#   198.19.0.30     request flood: ab -k -c 20 (one user agent, as fast as it goes)
#   198.19.0.41-43  ordinary clients: a few requests each with curl
# After three reports with all of them running, the collector's suspects (JSON): the NAT
# egress nat-egress (>= 150 user agents, "user agents" in why), the scraper scraper (1 user
# agent, 4xx >= 40%, 30-70 requests/s), the flood flood, the ordinary clients not listed;
# --format ipset lists the flood and neither the NAT egress nor the scraper; top-ips gives the
# NAT egress about a request a second a connection; summary's requesters start with the flood;
# /metrics passes promtool and has the tier's requests a second, the flood among its requesters.
#
# usage: bash tests/integration/reqverdicts.sh BUILD_DIR      (root: network namespaces)
# shellcheck disable=SC2016  # nginx's $variables, in single quotes on purpose
set -euo pipefail

BUILD=$(cd "${1:?usage: reqverdicts.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "reqverdicts.sh: SKIP: needs root for network namespaces"
	exit 77
fi
for tool in nginx ab curl ip ss sqlite3 python3; do
	command -v "$tool" >/dev/null || fail "$tool missing (deploy/install-deps.sh installs it)"
done
# The other binaries may be being rebuilt: wait a little for each (bounded).
for b in fleetstat-agent fleetstat-collector fleetstat; do
	fs_wait_for 60 test -x "$BUILD/$b" || fail "$BUILD/$b not built"
done
started=$(date +%s)
fs_tmpdir

srv=fsrqv$$-s
cli=fsrqv$$-c
SRV=198.18.0.1
NAT=198.19.0.10
SCRAPER=198.19.0.20
FLOOD=198.19.0.30
ORDINARY=(198.19.0.41 198.19.0.42 198.19.0.43)
INTERVAL=5
FLOOD_SECS=40 # ab's time limit: past the queries (it is stopped then)
nginx_pid=""
CLIENT_PIDS=()

# At exit (lib.sh has killed the agent and the collector by PID): the clients by PID, nginx's
# master by PID, then whatever is left in the namespaces by PID, then the namespaces.
_reqv_cleanup() {
	local i p
	for p in "${CLIENT_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${CLIENT_PIDS[@]}"; do
		for ((i = 0; i < 20; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	fs_netns_down "$srv" "$cli" "$nginx_pid" "$T/nginx/nginx.pid"
}
fs_on_exit _reqv_cleanup
in_srv() { ip netns exec "$srv" "$@"; }
in_cli() { ip netns exec "$cli" "$@"; }

# The network: a veth pair; the client's scenario addresses routed to it from the server.
fs_veth_pair "$srv" "$cli"
ip -n "$srv" addr add "$SRV/24" dev veth-s
ip -n "$cli" addr add 198.18.0.2/24 dev veth-c
for a in "$NAT" "$SCRAPER" "$FLOOD" "${ORDINARY[@]}"; do
	ip -n "$cli" addr add "$a/32" dev veth-c
done
fs_veth_up "$srv" "$cli"
ip -n "$srv" route add 198.19.0.0/24 via 198.18.0.2 dev veth-s
# Permanent neighbours: 300 connects at once to an unresolved neighbour overflow its queue.
mac_s=$(ip -n "$srv" -o link show veth-s | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
mac_c=$(ip -n "$cli" -o link show veth-c | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
ip -n "$srv" neigh replace 198.18.0.2 lladdr "$mac_c" nud permanent dev veth-s
ip -n "$cli" neigh replace "$SRV" lladdr "$mac_s" nud permanent dev veth-c

# The site and nginx: pages (200), /old (301), 304 for an If-Modified-Since after a page's
# time, 404 for anything else; log `combined` to $T/logs/access.log.
N=$T/nginx
L=$T/logs
mkdir -p "$L"
fs_web_site "$N" "fleetstat request verdicts"
{ fs_nginx_conf "$N" 2 4096; sed "s|@N@|$N|g; s|@L@|$L|g; s|@SRV@|$SRV|g"; } >"$N/nginx.conf" <<'EOF'
    access_log @L@/access.log combined;
    keepalive_timeout 120s;
    keepalive_requests 10000000;
    if_modified_since before;
    server {
        listen @SRV@:8080 default_server;
        server_name www.example;
        root @N@/www;
        index index.html;
        location = /old { return 301 /index.html; }
        location / { try_files $uri $uri/ =404; }
    }
}
EOF
# `ip netns exec` execs nginx itself: $! is nginx's master.
ip netns exec "$srv" nginx -p "$N" -e "$T/nginx-error.log" -c "$N/nginx.conf" -g 'daemon off;' \
	>"$T/nginx-stdout.log" 2>&1 &
nginx_pid=$!
listening() {
	kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited: $(tail -3 "$T/nginx-error.log")"
	[[ $(in_srv ss -Hltn) == *"$SRV:8080 "* ]]
}
fs_wait_for 10 listening || fail "nginx not listening on $SRV:8080 in 10 s"
fs_wait_for 5 test -e "$L/access.log" || fail "nginx made no $L/access.log"

# The collector and the agent, in the server namespace (the collector on its loopback).
# (Started with `ip netns exec` itself, not through a function: $! is then the process, as
# `ip netns exec` execs it, not a subshell.)
ip netns exec "$srv" "$BUILD/fleetstat-collector" --listen 127.0.0.1:7400 --http 127.0.0.1:7401 \
	--db "$T/fleetstat.db" >>"$T/collector.log" 2>&1 &
# shellcheck disable=SC2034  # lib.sh's: it kills them by PID at exit
COL_PID=$!
fs_wait_for 10 in_srv bash -c 'exec 4<>/dev/tcp/127.0.0.1/7400' 2>/dev/null ||
	fail "the collector did not listen on 127.0.0.1:7400 in $srv"
mkdir -m 700 "$T/state"
ip netns exec "$srv" "$BUILD/fleetstat-agent" --collector 127.0.0.1:7400 --tier web --hostname web1 \
	--interval "$INTERVAL" --state-dir "$T/state" --access-log "$L/access.log" \
	--log-format combined >>"$T/agent.log" 2>&1 &
AGENT_PID[web1]=$!
FS() { in_srv "$BUILD/fleetstat" --server http://127.0.0.1:7401 "$@"; }
reports_since() { in_srv sqlite3 "$T/fleetstat.db" "SELECT count(*) FROM reports WHERE collected_at_ms > $1" 2>/dev/null || echo 0; }
have_report() { [ "$(reports_since 0)" -ge 1 ]; }
fs_wait_for 20 have_report || fail "no report from the agent in 20 s"

# The scenarios.  $! is the client itself (ip netns exec execs it); SIGTERM makes it print
# its figures and exit.
ip netns exec "$cli" python3 "$here/../tools/reqclients.py" nat --server "$SRV:8080" \
	--source "$NAT" --conns 300 --agents 200 --period 1 --duration 120 \
	>"$T/nat.out" 2>"$T/nat.log" &
CLIENT_PIDS+=($!)
ip netns exec "$cli" python3 "$here/../tools/reqclients.py" scraper --server "$SRV:8080" \
	--source "$SCRAPER" --conns 2 --rate 50 --missing 0.6 --duration 120 \
	>"$T/scraper.out" 2>"$T/scraper.log" &
CLIENT_PIDS+=($!)
ready() { [ "$(cat "$T/nat.out" "$T/scraper.out" 2>/dev/null | grep -c '^ready ')" -eq 2 ]; }
fs_wait_for 35 ready || fail "the NAT and scraper clients not connected in 35 s: $(cat "$T"/nat.out "$T"/scraper.out)"
# The flood (niced: the paced clients keep their pace on 2 CPUs): ab's -t alone stops at
# 50000 requests, the -n after it lifts that; SIGINT makes it print its figures so far.
ip netns exec "$cli" nice -n 5 ab -k -c 20 -t "$FLOOD_SECS" -n 100000000 -B "$FLOOD" "http://$SRV:8080/" \
	>"$T/ab.out" 2>"$T/ab.log" &
ab_pid=$!
CLIENT_PIDS+=("$ab_pid")
for a in "${ORDINARY[@]}"; do
	in_cli curl -sS --interface "$a" -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
		-A "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0" \
		"http://$SRV:8080/" "http://$SRV:8080/shop/item.html" "http://$SRV:8080/img/logo.png" \
		"http://$SRV:8080/old" >>"$T/curl.log" 2>&1 || fail "curl from $a: $(tail -3 "$T/curl.log")"
done
t_all=$(date +%s%3N)
echo "clients: $(cat "$T/nat.out" "$T/scraper.out" | tr '\n' ' ')ab from $FLOOD, curl from ${ORDINARY[*]}"

# Three reports with all of them running (the first may have begun before them: a fourth).
three() {
	kill -0 "$ab_pid" 2>/dev/null || fail "ab ended early: $(tail -5 "$T/ab.out" "$T/ab.log")"
	[ "$(reports_since "$t_all")" -ge 4 ]
}
fs_wait_for $((5 * INTERVAL + 10)) three || fail "fewer than 4 reports in $((5 * INTERVAL + 10)) s after the clients started"

FS suspects --format json --since 5m >"$T/suspects.json" || fail "suspects --format json exited $?"
FS suspects --format ipset --since 5m >"$T/ipset.txt" || fail "suspects --format ipset exited $?"
FS top-ips --format json >"$T/top-ips.json" || fail "top-ips --format json exited $?"
rc=0
FS summary --format json --since 5m >"$T/summary.json" || rc=$?
[ "$rc" -le 2 ] || fail "summary --format json exited $rc"
# /metrics: valid exposition with the web tier's requests a second and its busiest requester.
in_srv curl -sf http://127.0.0.1:7401/metrics >"$T/metrics.txt" || fail "GET /metrics"
promtool check metrics <"$T/metrics.txt" || fail "promtool check metrics"
grep -Eq '^fleetstat_tier_requests_per_second\{tier="web",class="2xx"\} [1-9][0-9]*\.[0-9]+$' \
	"$T/metrics.txt" || fail "metrics: no 2xx requests a second for the web tier"
grep -Eq "^fleetstat_tier_requester_requests_per_second\\{tier=\"web\",ip=\"$FLOOD\"\\} [0-9]{3,}" \
	"$T/metrics.txt" || fail "metrics: the flood $FLOOD is not among the web tier's requesters"

# The clients' own figures: stop them (each prints its "done" line), then ab (SIGINT: its
# figures so far).
kill -TERM "${CLIENT_PIDS[0]}" "${CLIENT_PIDS[1]}"
kill -INT "$ab_pid"
for p in "${CLIENT_PIDS[@]}"; do
	for ((i = 0; i < 100; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null && echo "reqverdicts.sh: a client (PID $p) still running 10 s after its signal: killed" >&2
	wait "$p" 2>/dev/null || true
done
CLIENT_PIDS=()
ab_rate=$(awk '/^Requests per second:/ {print $4}' "$T/ab.out")
ab_done=$(awk '/^Complete requests:/ {print $3}' "$T/ab.out")
echo "nat client:     $(grep '^done' "$T/nat.out" || echo "no figures: $(tail -2 "$T/nat.log")")"
echo "scraper client: $(grep '^done' "$T/scraper.out" || echo "no figures: $(tail -2 "$T/scraper.log")")"
echo "ab:             ${ab_done:-?} requests, ${ab_rate:-?} requests/s"

python3 - "$T" "$NAT" "$SCRAPER" "$FLOOD" "${ORDINARY[@]}" <<'PY' || fail "the verdicts above"
import json, os, sys

T, NAT, SCRAPER, FLOOD, ORDINARY = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
bad = 0


def check(ok, msg):
    global bad
    if not ok:
        print("FAIL  " + msg)
        bad += 1
    return ok


def load(name):
    return json.load(open(os.path.join(T, name)))


sus = load("suspects.json")
v = {x["ip"]: x for x in sus.get("suspects", [])}
CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]


def share(q, *cls):
    return sum(q["by_status"][c] for c in cls) / q["total"] if q.get("total") else 0.0


# One line per scenario, for the CI log.
for label, ip in (("nat", NAT), ("scraper", SCRAPER), ("flood", FLOOD)):
    x = v.get(ip)
    if x is None:
        print(f"  {label:8} {ip:12} not a suspect")
        continue
    q = x.get("requests") or {}
    fig = ""
    if q:
        fig = (f" [requests {q.get('total')} rate {q.get('rate')}/s user_agents {q.get('user_agents')}"
               f" 4xx {share(q, '4xx'):.2f} per_connection {q.get('per_connection')}]")
    print(f"  {label:8} {ip:12} {x['verdict']:10} {x['why']}{fig}")

for label, ip in (("nat", NAT), ("scraper", SCRAPER), ("flood", FLOOD)):
    x = v.get(ip)
    if not check(x is not None, f"{label} {ip} not in suspects: {sorted(v)}"):
        continue
    for k in ("ip", "verdict", "why", "requests"):
        check(k in x, f"{label} {ip}: no {k!r} in {x}")
    q = x.get("requests") or {}
    for k in ("total", "upper_bound", "rate", "by_status", "user_agents", "user_agents_capped",
              "per_connection"):
        check(k in q, f"{label} {ip}: no requests.{k!r} in {q}")
    if "by_status" in q:
        check(sorted(q["by_status"]) == sorted(CLASSES), f"{label} {ip}: by_status keys {sorted(q['by_status'])}")
        check(sum(q["by_status"].values()) == q.get("total"),
              f"{label} {ip}: by_status sums to {sum(q['by_status'].values())}, total {q.get('total')}")
    check(q.get("upper_bound", 0) >= q.get("total", 0), f"{label} {ip}: upper_bound {q.get('upper_bound')} < total {q.get('total')}")

x = v.get(NAT)
if x:
    q = x.get("requests") or {}
    check(x["verdict"] == "nat-egress", f"NAT egress {NAT}: verdict {x['verdict']!r}, want 'nat-egress': {x}")
    check((q.get("user_agents") or 0) >= 150, f"NAT egress {NAT}: requests.user_agents {q.get('user_agents')}, want >= 150")
    check("user agents" in x["why"], f"NAT egress {NAT}: why {x['why']!r} lacks 'user agents'")
    if q.get("total"):
        check(share(q, "4xx", "5xx") < 0.05, f"NAT egress {NAT}: 4xx+5xx share {share(q, '4xx', '5xx'):.3f}, want < 0.05 (the scenario)")
x = v.get(SCRAPER)
if x:
    q = x.get("requests") or {}
    check(x["verdict"] == "scraper", f"scraper {SCRAPER}: verdict {x['verdict']!r}, want 'scraper': {x}")
    check(q.get("user_agents") == 1, f"scraper {SCRAPER}: requests.user_agents {q.get('user_agents')}, want 1")
    if q.get("total"):
        check(share(q, "4xx") >= 0.4, f"scraper {SCRAPER}: 4xx share {share(q, '4xx'):.3f}, want >= 0.4")
    check(30 <= (q.get("rate") or 0) <= 70, f"scraper {SCRAPER}: requests.rate {q.get('rate')}, want 30 to 70")
x = v.get(FLOOD)
if x:
    check(x["verdict"] == "flood", f"flood {FLOOD}: verdict {x['verdict']!r}, want 'flood': {x}")
    check(((x.get("requests") or {}).get("rate") or 0) >= 300,
          f"flood {FLOOD}: requests.rate {(x.get('requests') or {}).get('rate')}, want well over 200 (the scenario)")
for ip in ORDINARY:
    check(ip not in v, f"ordinary client {ip} in suspects: {v.get(ip)}")

# --format ipset: the flood, neither the NAT egress nor the scraper.
ipset = open(os.path.join(T, "ipset.txt")).read().splitlines()
adds = [l.split()[3] for l in ipset if l.startswith("ipset add ")]
check(FLOOD in adds, f"ipset lacks the flood {FLOOD}: {adds}")
for label, ip in (("NAT egress", NAT), ("scraper", SCRAPER)):
    check(ip not in adds, f"ipset lists the {label} {ip}: {adds}")
for ip in ORDINARY:
    check(ip not in adds, f"ipset lists the ordinary client {ip}")

# top-ips: the NAT egress with its requests, about one a second a connection.
top = {x["ip"]: x for x in load("top-ips.json").get("ips", [])}
n = top.get(NAT)
if check(n is not None, f"top-ips lacks the NAT egress {NAT}: {sorted(top)}"):
    q = n.get("requests")
    if check(q is not None, f"top-ips: the NAT egress has no requests: {n}"):
        pc = q.get("per_connection")
        check(pc is not None and 0.3 <= pc <= 3,
              f"top-ips: the NAT egress's requests.per_connection {pc}, want 0.3 to 3: {q}")
        print(f"  top-ips  {NAT:12} requests {q.get('total')} rate {q.get('rate')}/s "
              f"per_connection {pc} over {n.get('states', {}).get('ESTABLISHED', n.get('established'))} ESTABLISHED")

# summary: the flood first among the requesters.
summ = load("summary.json")
req = summ.get("requesters")
if check(isinstance(req, list) and req, f"summary has no requesters: {str(summ)[:400]}"):
    check(req[0].get("ip") == FLOOD, f"summary's first requester {req[0]}, want the flood {FLOOD}")
    print("  summary requesters: " + ", ".join(f"{r.get('ip')} {r.get('rate')}/s" for r in req))
sys.exit(1 if bad else 0)
PY

echo "reqverdicts: ok (NAT egress, scraper, flood and ${#ORDINARY[@]} ordinary clients through nginx," \
	"agent and collector; $(($(date +%s) - started)) s)"
