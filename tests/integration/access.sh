#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# access.sh: `fleetstat-agent --input` on a real web server's access logs equals the operators'
# one-liners and GoAccess.  A real nginx in a network namespace made here (198.18.0.1:8080 and
# [2001:db8:acc::1]:8080) serves shop/api/www.example (200 static files, 301, 302, 403, 404,
# 503; 400 without a Host over HTTP/1.1) to a client namespace with 8 IPv4 addresses and one
# IPv6 address, each making its own number of requests (two pairs tie) with various user
# agents (quotes and backslashes in some), Host headers (upper case, with a port, none: the
# server_name, the IP: bracketed over IPv6), referers, a Basic-auth user; plus a 200-request
# `ab` burst from one address and what scanners send (a TLS ClientHello, bytes past ASCII).
# nginx writes three logs: access.log (combined), hosts.log (combined and "$host") and
# urls.log ($scheme://$host$request_uri).
# Then:
#   - --print=awk equals `awk '{++S[$1]} ...' | LC_ALL=C sort -rn -k2` byte for byte, on the
#     log and on a copy with garbage, binary and empty lines appended;
#   - --print=json: per IP, requests, status classes, bytes and user agents equal what awk
#     computes from the log; totals equal the line count; the same through the format given
#     by name, as an nginx log_format string and as an Apache LogFormat string;
#   - GoAccess's hosts panel gives the same hits per IP, and its bandwidth the same bytes;
#   - --by domain on hosts.log equals `awk -F / '{++S[$3]} ...' urls.log` host by host, and
#     --print=awk --by domain on urls.log its `| LC_ALL=C sort -k2` byte for byte;
#   - the copy's malformed lines are counted as malformed (the empty one as nothing), and
#     change no request count;
#   - the default table shows the heaviest IP with its count; bad formats are refused.
#
# usage: bash tests/integration/access.sh BUILD_DIR      (root: network namespaces)
# shellcheck disable=SC2016  # nginx's $variables, in single quotes on purpose
set -euo pipefail

BUILD=$(cd "${1:?usage: access.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
agent=$BUILD/fleetstat-agent
if [ "$(id -u)" -ne 0 ]; then
	echo "access.sh: SKIP: needs root for network namespaces"
	exit 77
fi
for tool in nginx goaccess ab curl ip ss python3 awk; do
	command -v "$tool" >/dev/null || fail "$tool missing (deploy/install-deps.sh installs it)"
done
[ -x "$agent" ] || fail "$agent not built"
started=$(date +%s)
fs_tmpdir

srv=fsacc$$-s
cli=fsacc$$-c
nginx_pid=""
SRV4=198.18.0.1
SRV6=2001:db8:acc::1
# The client's addresses and how many requests each makes (ties: .14 and .15, .12 and ::11).
# 198.18.0.16 also sends the ab burst.
CLIENTS=(198.18.0.11 198.18.0.12 198.18.0.13 198.18.0.14 198.18.0.15 198.18.0.16 198.18.0.17
	198.18.0.18 2001:db8:acc::11)
COUNTS=(8 13 18 23 23 33 38 43 13)
AB_ADDR=198.18.0.16
AB_N=200
RAW_ADDR=198.18.0.13 # and 2 raw requests
RAW_N=2

# At exit: nginx (its master by PID, then whatever of it is left in the namespace, by PID),
# then the namespaces.
_access_cleanup() {
	fs_netns_down "$srv" "$cli" "$nginx_pid" "$T/nginx/nginx.pid"
}
fs_on_exit _access_cleanup

# The network: server and client namespaces joined by a veth pair.
fs_veth_pair "$srv" "$cli"
ip -n "$srv" addr add "$SRV4/24" dev veth-s
ip -n "$srv" -6 addr add "$SRV6/64" dev veth-s nodad
for a in "${CLIENTS[@]}"; do
	case $a in
	*:*) ip -n "$cli" -6 addr add "$a/64" dev veth-c nodad ;;
	*) ip -n "$cli" addr add "$a/24" dev veth-c ;;
	esac
done
fs_veth_up "$srv" "$cli"

# The site, and nginx's config: nginx writes in $T/nginx, its logs in $T/logs, its errors in
# $T/nginx-error.log (shown by lib.sh on failure).
N=$T/nginx
L=$T/logs
mkdir -p "$L"
fs_web_site "$N" "fleetstat access test"
{ fs_nginx_conf "$N" 2 256; sed "s|@N@|$N|g; s|@L@|$L|g; s|@SRV4@|$SRV4|g; s|@SRV6@|$SRV6|g"; } \
	>"$N/nginx.conf" <<'EOF'
    log_format withhost '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$host"';
    log_format urls '$scheme://$host$request_uri';
    access_log @L@/access.log combined;
    access_log @L@/hosts.log withhost;
    access_log @L@/urls.log urls;
    server {
        listen @SRV4@:8080 default_server;
        listen [@SRV6@]:8080 default_server;
        server_name shop.example api.example www.example;
        root @N@/www;
        location = /old { return 301 /index.html; }
        location = /go { return 302 http://www.example/; }
        location = /private { return 403; }
        location = /busy { return 503; }
        location / { try_files $uri =404; }
    }
}
EOF
# `ip netns exec` execs nginx itself: $! is nginx's master.
ip netns exec "$srv" nginx -p "$N" -e "$T/nginx-error.log" -c "$N/nginx.conf" -g 'daemon off;' \
	>"$T/nginx-stdout.log" 2>&1 &
nginx_pid=$!
listening() {
	local l
	kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited"
	l=$(ip netns exec "$srv" ss -Hltn)
	[[ $l == *"$SRV4:8080 "* && $l == *"[$SRV6]:8080 "* ]]
}
fs_wait_for 10 listening || fail "nginx not listening on $SRV4:8080 and [$SRV6]:8080 in 10 s"

# The traffic: one curl per client address, a request per --next group of its config (so one
# keep-alive connection carries them), each with its own path, Host, user agent and referer.
python3 - "$T" "$SRV4" "$SRV6" "${#CLIENTS[@]}" "${CLIENTS[@]}" "${COUNTS[@]}" <<'PY'
import sys
out, srv4, srv6, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
clients, counts = sys.argv[5:5 + n], [int(c) for c in sys.argv[5 + n:5 + 2 * n]]
paths = ["/index.html", "/shop/item.html", "/img/logo.png", "/missing/page", "/old",
         "/go?to=/shop/item.html&x=a/b", "/busy", "/index.html?q=a/b/c", "/private", "/"]
# None: curl's own Host (the server's address); "": none, over HTTP/1.0 (nginx's $host is
# then the server_name) and over HTTP/1.1 (400 Bad Request)
hosts = ["shop.example", "api.example", "www.example", "SHOP.Example", "api.example:8080",
         None, "", "www.example", ""]
uas = [None,  # curl's own
       "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
       "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
       'odd "quoted" agent \\ with a backslash',
       "",  # no User-Agent header at all: "-"
       "python-requests/2.28.1"]


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


for i, (addr, count) in enumerate(zip(clients, counts)):
    base = f"http://[{srv6}]:8080" if ":" in addr else f"http://{srv4}:8080"
    groups = []
    for j in range(count):
        g = [f"url = {q(base + paths[(i + j) % len(paths)])}", "output = /dev/null", "globoff",
             f"interface = {q(addr)}", "silent", "show-error"]
        h = hosts[(3 * i + j) % len(hosts)]
        if h == "":
            g.append('header = "Host:"')
            if j % 2:
                g.append("http1.0")
        elif h is not None:
            g.append(f"header = {q('Host: ' + h)}")
        ua = uas[(i + 7 * j) % len(uas)]
        if ua is not None:
            g.append(f"user-agent = {q(ua)}")
        if j % 4 == 1:
            g.append(f"referer = {q('http://www.example/from/' + str(j))}")
        if j % 5 == 2:
            g.append('user = "alice:secret"')
        groups.append("\n".join(g))
    open(f"{out}/curl-{i}.conf", "w").write("\nnext\n".join(groups) + "\n")
PY
for i in "${!CLIENTS[@]}"; do
	ip netns exec "$cli" curl --config "$T/curl-$i.conf" >"$T/curl-$i.out" 2>&1 ||
		fail "curl from ${CLIENTS[$i]}: $(tail -3 "$T/curl-$i.out")"
done
ip netns exec "$cli" ab -q -n "$AB_N" -c 10 -B "$AB_ADDR" -H 'Host: api.example' \
	"http://$SRV4:8080/shop/item.html" >"$T/ab.out" 2>&1 || fail "ab: $(tail -3 "$T/ab.out")"
# What scanners send: a TLS ClientHello to the plain port (nginx logs "\x16\x03..." 400) and
# a request line with bytes past ASCII (logged as \xHH, 400), each on its own connection.
ip netns exec "$cli" python3 - "$RAW_ADDR" "$SRV4" >"$T/raw.out" 2>&1 <<'PY' || fail "raw requests: $(tail -3 "$T/raw.out")"
import socket, sys
src, dst = sys.argv[1], sys.argv[2]
for payload in (bytes.fromhex("16030100a5010000a10303") + bytes(range(32)),
                b"GET /caf\xc3\xa9/\x7f\xff HTTP/1.0\r\n\r\n"):
    s = socket.create_connection((dst, 8080), timeout=5, source_address=(src, 0))
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()
PY
planned=$((AB_N + RAW_N))
for c in "${COUNTS[@]}"; do planned=$((planned + c)); done

# Stop nginx (gracefully: every request logged) and wait for it: the master removes its pid
# file once its workers are gone.
kill -QUIT "$nginx_pid"
for ((i = 0; i < 100; i++)); do
	[ -e "$N/nginx.pid" ] || break
	sleep 0.1
done
[ ! -e "$N/nginx.pid" ] || fail "nginx did not stop in 10 s after SIGQUIT"
rc=0
wait "$nginx_pid" || rc=$?
nginx_pid=""
[ "$rc" -eq 0 ] || fail "nginx exited $rc after SIGQUIT"
left=$(ip netns pids "$srv")
[ -z "$left" ] || fail "nginx processes left in $srv: $left"

A=$L/access.log
H=$L/hosts.log
U=$L/urls.log
lines=$(wc -l <"$A")
[ "$lines" -eq "$planned" ] || fail "nginx logged $lines requests, $planned were made"
for f in "$H" "$U"; do
	[ "$(wc -l <"$f")" -eq "$lines" ] || fail "$(basename "$f") has $(wc -l <"$f") lines, access.log $lines"
done

# The copy with malformed lines: garbage, binary bytes, an empty line (not a line to the agent),
# no client address, a status that is not one, a line cut short.  5 malformed, 1 blank.
cp "$A" "$L/access-bad.log"
{
	echo 'this is not a log line at all'
	printf '\x00\x01\x02\xff\xfe\x7f binary\x1b[0m junk\x00\n'
	echo
	echo 'not-an-ip - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/7.88.1"'
	echo '198.18.0.11 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 2x0 5 "-" "curl/7.88.1"'
	echo '198.18.0.12 - - [07/Dec/2026:10:00:00 +0000] "GET /cut'
} >>"$L/access-bad.log"
BAD_LINES=5

# same_bytes WHAT WANT GOT: the files are equal byte for byte, else a diff.
same_bytes() {
	cmp -s "$2" "$3" && return 0
	echo "--- $1: want (the one-liner) vs got (the agent)" >&2
	diff -a -u "$2" "$3" | head -40 >&2 || true
	fail "$1 differs from the one-liner"
}

# a. --print=awk: the one-liner on $1, byte for byte, on the log and on the copy.
for f in "$A" "$L/access-bad.log"; do
	b=$(basename "$f" .log)
	awk '{++S[$1]} END {for (a in S) print a, S[a]}' "$f" | LC_ALL=C sort -rn -k2 >"$T/$b.awk"
	LC_ALL=C "$agent" --input "$f" --print=awk >"$T/$b.agent-awk" 2>"$T/$b.agent-awk.err" ||
		fail "--input $b.log --print=awk exited $?: $(cat "$T/$b.agent-awk.err")"
	same_bytes "--input $b.log --print=awk" "$T/$b.awk" "$T/$b.agent-awk"
done
naddr=$(wc -l <"$T/access.awk")
[ "$naddr" -eq "${#CLIENTS[@]}" ] || fail "the log has $naddr client addresses, ${#CLIENTS[@]} made requests"

# b. --print=json, and the same through the format named, as nginx's log_format and as Apache's
# LogFormat; hosts.log through its own format.
combined_nginx='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
combined_apache='%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"'
withhost='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$host"'
json() { # OUT ARGS...: the agent's JSON into $T/OUT.json
	local out=$1
	shift
	"$agent" "$@" --print=json >"$T/$out.json" 2>"$T/$out.err" ||
		fail "fleetstat-agent $* --print=json exited $?: $(cat "$T/$out.err")"
}
json auto --input "$A" --top 200
json named --input "$A" --log-format combined --top 200
json nginxfmt --input "$A" --log-format "$combined_nginx" --top 200
json apachefmt --input "$A" --log-format "$combined_apache" --top 200
json withhost --input "$H" --log-format "$withhost" --top 200
json domains --input "$H" --log-format "$withhost" --by domain --top 200
json bad --input "$L/access-bad.log" --log-format combined --top 200

# What awk says, per IP: requests, status class, bytes, distinct user agents ("-" is none).
# (Status and bytes are the words after the request's closing quote: nginx escapes a quote
# inside it as \x22, and a request of fewer than 3 words, like the TLS junk's, moves $9.)
awk -F '"' '{split($1, a, " "); split($3, f, " "); print a[1], substr(f[1], 1, 1), f[2]}' "$A" \
	>"$T/ip-status-bytes.txt"
awk -F '"' '{split($1, a, " "); print a[1] "\t" $6}' "$A" >"$T/ip-ua.txt"
awk -F / '{++S[$3]} END {for (k in S) print k, S[k]}' "$U" >"$T/urls.awk"
awk -F '"' '{++S[$(NF - 1)]} END {for (k in S) print k, S[k]}' "$H" >"$T/hosts.awk"

# c. GoAccess on the same log.
goaccess "$A" --log-format=COMBINED --no-global-config --no-progress --no-parsing-spinner \
	-o "$T/goaccess.json" >"$T/goaccess.out" 2>&1 || fail "goaccess: $(tail -5 "$T/goaccess.out")"

python3 - "$T" "$lines" "$BAD_LINES" "$RAW_N" <<'PY' || fail "the checks above"
import collections, json, os, sys

T, LINES, BAD, RAW = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
bad = 0


def check(ok, msg):
    global bad
    if not ok:
        print("FAIL  " + msg)
        bad += 1
    return ok


def load(name):
    return json.load(open(os.path.join(T, name + ".json")))


CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]
want_req = collections.Counter()
want_cls = collections.defaultdict(lambda: dict.fromkeys(CLASSES, 0))
want_bytes = collections.Counter()
for line in open(os.path.join(T, "ip-status-bytes.txt")):
    ip, c, b = line.split()
    want_req[ip] += 1
    want_cls[ip][c + "xx" if c in "12345" else "other"] += 1
    want_bytes[ip] += 0 if b == "-" else int(b)
want_uas = collections.defaultdict(set)
for line in open(os.path.join(T, "ip-ua.txt")):
    ip, ua = line.rstrip("\n").split("\t")
    if ua != "-":
        want_uas[ip].add(ua)
total_cls = dict.fromkeys(CLASSES, 0)
for ip in want_cls:
    for k in CLASSES:
        total_cls[k] += want_cls[ip][k]


def check_ips(name, r):
    """r's per-IP entries and totals equal awk's."""
    ok = check(r.get("source") == "access-log", f"{name}: source {r.get('source')!r}, want 'access-log'")
    q = r.get("requests") or {}
    ok &= check(r.get("lines") == LINES and q.get("total") == LINES,
                f"{name}: lines {r.get('lines')}, requests.total {q.get('total')}, want {LINES} (the log's lines)")
    ok &= check(q.get("by_status") == total_cls, f"{name}: requests.by_status {q.get('by_status')}, want {total_cls}")
    ok &= check(sum((q.get("by_status") or {}).values()) == q.get("total"),
                f"{name}: requests.by_status sums to {sum((q.get('by_status') or {}).values())}, "
                f"requests.total {q.get('total')}")
    ok &= check(q.get("bytes") == sum(want_bytes.values()),
                f"{name}: requests.bytes {q.get('bytes')}, want {sum(want_bytes.values())}")
    ok &= check(q.get("malformed") == {"shape": 0, "client": 0, "status": 0, "too_long": 0},
                f"{name}: requests.malformed {q.get('malformed')}, want all 0")
    ok &= check(r.get("distinct_ips") == len(want_req),
                f"{name}: distinct_ips {r.get('distinct_ips')}, want {len(want_req)}")
    ok &= check(r.get("unlisted_max") == 0, f"{name}: unlisted_max {r.get('unlisted_max')}, want 0")
    ips = r.get("ips", [])
    got = {e["ip"]: e for e in ips}
    ok &= check(len(got) == len(ips), f"{name}: an IP listed twice: {[e['ip'] for e in ips]}")
    ok &= check(set(got) == set(want_req),
                f"{name}: IPs missing {sorted(set(want_req) - set(got))}, extra {sorted(set(got) - set(want_req))}")
    reqs = [e["requests"] for e in ips]
    ok &= check(reqs == sorted(reqs, reverse=True), f"{name}: IPs not heaviest first: {reqs}")
    for ip in sorted(set(got) & set(want_req)):
        e = got[ip]
        ok &= check(e["requests"] == want_req[ip] and e["error"] == 0,
                    f"{name}: {ip} requests {e['requests']} error {e['error']}, awk {want_req[ip]} (error 0)")
        ok &= check(e["by_status"] == want_cls[ip], f"{name}: {ip} by_status {e['by_status']}, awk {want_cls[ip]}")
        ok &= check(sum(e["by_status"].values()) == e["requests"],
                    f"{name}: {ip} by_status sums to {sum(e['by_status'].values())}, requests {e['requests']}")
        ok &= check(e["bytes"] == want_bytes[ip], f"{name}: {ip} bytes {e['bytes']}, awk {want_bytes[ip]}")
        ok &= check(e["user_agents"] == len(want_uas[ip]) and e["user_agents_capped"] is False,
                    f"{name}: {ip} user_agents {e['user_agents']} (capped {e['user_agents_capped']}), "
                    f"awk {len(want_uas[ip])}")
    return ok


# b. The JSON, IP by IP, and through every way of naming the format.
auto = load("auto")
check_ips("--input access.log", auto)
check(auto.get("format") == "combined", f"--input access.log: format {auto.get('format')!r}, want 'combined'")
for name, what in (("named", "--log-format combined"), ("nginxfmt", "--log-format (nginx's combined)"),
                   ("apachefmt", "--log-format (Apache's combined)"),
                   ("withhost", "--input hosts.log --log-format withhost")):
    check_ips(what, load(name))

# c. GoAccess's hosts panel: hits per visitor IP.
ga = load("goaccess")
ga_hits = {d["data"]: d["hits"]["count"] for d in ga["hosts"]["data"]}
check(ga["general"].get("valid_requests") == LINES and ga["general"].get("failed_requests") == 0,
      f"goaccess: valid {ga['general'].get('valid_requests')}, failed {ga['general'].get('failed_requests')}, "
      f"want {LINES} and 0")
check(ga["general"].get("bandwidth") == auto["requests"]["bytes"],
      f"goaccess: bandwidth {ga['general'].get('bandwidth')}, agent bytes {auto['requests']['bytes']}")
agent_reqs = {e["ip"]: e["requests"] for e in auto["ips"]}
check(ga_hits == agent_reqs, f"goaccess hosts hits {sorted(ga_hits.items())}, agent {sorted(agent_reqs.items())}")

# d. Requested hosts: the agent on hosts.log ($host) equals awk -F / $3 on urls.log.
# A request nginx could not parse (the raw ones) has no $request_uri: urls.log says
# "http://shop.example-" ("-" for the empty value), $3 "shop.example-".
def awk_counts(name):
    c = {}
    for line in open(os.path.join(T, name), encoding="latin-1"):
        k, _, n = line.rstrip("\n").rpartition(" ")
        c[k] = int(n)
    return c


want_hosts, unparsed = collections.Counter(), 0
for k, n in awk_counts("urls.awk").items():
    if k.endswith("-"):
        k, unparsed = k[:-1], unparsed + n
    want_hosts[k] += n
want_hosts = dict(want_hosts)
check(unparsed == RAW, f"urls.log: {unparsed} requests without a URI, {RAW} were sent")
check(awk_counts("hosts.awk") == want_hosts,
      f"hosts.log's $host {sorted(awk_counts('hosts.awk').items())}, urls.log's {sorted(want_hosts.items())}")
dom = load("domains")
hosts = dom.get("hosts", [])
got_hosts = {h["host"]: h["requests"] for h in hosts}
check(len(got_hosts) == len(hosts), f"--by domain: a host listed twice: {[h['host'] for h in hosts]}")
check(got_hosts == want_hosts, f"--by domain: hosts {sorted(got_hosts.items())}, awk on urls.log {sorted(want_hosts.items())}")
check(all(h["error"] == 0 for h in hosts), f"--by domain: errors {[(h['host'], h['error']) for h in hosts if h['error']]}")
check(dom.get("hosts_unlisted_max") == 0, f"--by domain: hosts_unlisted_max {dom.get('hosts_unlisted_max')}, want 0")
check(sum(got_hosts.values()) == LINES and (dom.get("requests") or {}).get("total") == LINES,
      f"--by domain: hosts sum to {sum(got_hosts.values())}, requests {dom.get('requests')}, want {LINES}")
check(len(want_hosts) >= 5, f"only {len(want_hosts)} hosts in urls.log: {sorted(want_hosts)}")

# e. The copy with malformed lines: counted there, nowhere else.
b = load("bad")
bq, aq = b.get("requests") or {}, auto["requests"]
m = bq.get("malformed") or {}
check(m.get("shape", 0) + m.get("client", 0) + m.get("status", 0) == BAD and m.get("too_long") == 0,
      f"access-bad.log: requests.malformed {m}, want shape + client + status = {BAD} (the empty line is none), "
      "too_long 0")
check(b.get("lines") == LINES + BAD, f"access-bad.log: lines {b.get('lines')}, want {LINES + BAD} (blank one aside)")
for k in ("total", "by_status", "bytes"):
    check(bq.get(k) == aq.get(k), f"access-bad.log: requests.{k} {bq.get(k)}, without the malformed lines {aq.get(k)}")
for k in ("distinct_ips", "ips"):
    check(b.get(k) == auto.get(k), f"access-bad.log: {k} {b.get(k)}, without the malformed lines {auto.get(k)}")
sys.exit(1 if bad else 0)
PY

# d. --by domain --print=awk on urls.log: the one-liner, byte for byte.
LC_ALL=C sort -k2 "$T/urls.awk" >"$T/urls.sorted"
LC_ALL=C "$agent" --input "$U" --by domain --print=awk >"$T/urls.agent-awk" 2>"$T/urls.agent-awk.err" ||
	fail "--input urls.log --by domain --print=awk exited $?: $(cat "$T/urls.agent-awk.err")"
same_bytes "--input urls.log --by domain --print=awk" "$T/urls.sorted" "$T/urls.agent-awk"

# f. The table: the heaviest IP with its count, the first two columns of a row.
read -r top_ip top_n <"$T/access.awk"
"$agent" --input "$A" >"$T/table.txt" 2>"$T/table.err" || fail "--input access.log (table) exited $?: $(cat "$T/table.err")"
awk -v ip="$top_ip" -v n="$top_n" '$1 == ip && $2 == n {f = 1} END {exit !f}' "$T/table.txt" ||
	fail "the table has no row '$top_ip $top_n':
$(head -30 "$T/table.txt")"

# g. Formats the agent must refuse.
expect_error() { # PATTERN CMD...: CMD exits non-zero and says PATTERN on stderr
	local pat=$1 rc=0
	shift
	"$@" >"$T/refused.out" 2>"$T/refused.err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$* exited 0, wanted an error: $(head -5 "$T/refused.out")"
	[ -z "$pat" ] || grep -q -- "$pat" "$T/refused.err" || fail "$*: stderr lacks '$pat': $(cat "$T/refused.err")"
	[ -s "$T/refused.err" ] || fail "$*: exited $rc with nothing on stderr"
}
expect_error "client address" "$agent" --input "$A" --log-format '$remote_user $status'
expect_error "" "$agent" --input "$A" --log-format combined --log-client x_forwarded_for

echo "access: ok ($lines requests from $naddr addresses, nginx + ab + goaccess agree with the agent," \
	"$(wc -l <"$T/hosts.awk") hosts, $BAD_LINES malformed lines; $(($(date +%s) - started)) s)"
