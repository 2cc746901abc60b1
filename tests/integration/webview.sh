#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# webview.sh: the collector's web view in a real browser.  A collector with a bearer token and
# four real agents in two tiers (each in a UTS namespace of its own, collecting from a saved
# `ss -tan`, so their counts hold still); then headless Chromium loads GET /:
#   - a request without the token (or with a wrong one) is refused, for the page, its files and
#     the API alike; the browser, given the token as its login's password, gets the page;
#   - the numbers of the page's tier table (its DOM after the scripts ran) equal
#     `fleetstat tiers --format json` at that moment, row by row, states left out being 0;
#   - each tier's chart was drawn, with data points; the suspects (a SYN flooder) and top IPs
#     are there; the browser reports no Content-Security-Policy violation;
#   - the tables are in the HTML as served (no script needed), and the page holds no inline
#     script: only its own files and JSON data blocks.
# The screenshot stays in BUILD_DIR/artifacts/webview.png.
set -euo pipefail

BUILD=$(cd "${1:?usage: webview.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v chromium >/dev/null || fail "chromium missing (deploy/install-deps.sh installs it)"
LIB=/usr/share/javascript/dygraphs
[ -f "$LIB/dygraph.min.js" ] || fail "libjs-dygraphs missing (deploy/install-deps.sh installs it)"
fs_fleet_env
printf 'w-%s\n' "$RANDOM$RANDOM" >"$T/http.token"
chmod 600 "$T/http.token"
TOKEN=$(cat "$T/http.token")

# web1, web2 and api1 (tier web, api), db1; a SYN flooder on web2.
python3 - "$T" "$here/../tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from sstext import ss_text
hosts = {
    "web1": ({"ESTAB": 120, "TIME-WAIT": 40, "CLOSE-WAIT": 3}, []),
    "web2": ({"ESTAB": 80, "CLOSE-WAIT": 60, "FIN-WAIT-2": 4}, [("198.51.100.66", "SYN-RECV", 250)]),
    "api1": ({"ESTAB": 33, "TIME-WAIT": 7}, []),
    "db1": ({"ESTAB": 30, "TIME-WAIT": 2}, []),
}
for h, (states, peers) in hosts.items():
    ss_text(f"{sys.argv[1]}/{h}.ss", states, peers)
PY
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB" --http-token-file "$T/http.token" \
	--web-lib "$LIB"
declare -A TIER=([web1]=web [web2]=web [api1]=api [db1]=db)
for h in "${!TIER[@]}"; do
	fs_agent_saved "$h" "${TIER[$h]}" "$T/$h.ss"
done
# A few reports each: the charts' window of 5 minutes in 10 s buckets gets points.
reported() { [ "$(fs_sql "SELECT count(*) FROM (SELECT host_id FROM reports GROUP BY host_id
	HAVING count(*) >= 12) x")" -eq 4 ]; }
fs_wait_for 40 reported || fail "not every agent reported 12 times"

# The token rule, as the API's: nothing without it, nor with another.
for path in / /static/fleetstat.js /static/dygraph.min.js /api/v1/tiers; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$SERVER$path")
	[ "$code" = 401 ] || fail "GET $path without the token: $code, wanted 401"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer x$TOKEN" "$SERVER$path")
	[ "$code" = 401 ] || fail "GET $path with a wrong token: $code, wanted 401"
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "x:x$TOKEN" "$SERVER$path")
	[ "$code" = 401 ] || fail "GET $path with a wrong password: $code, wanted 401"
done
curl -s -D "$T/noauth.head" -o /dev/null "$SERVER/" || true
grep -qi '^WWW-Authenticate: Basic realm="fleetstat"' "$T/noauth.head" ||
	fail "the page's 401 does not ask a browser to log in: $(cat "$T/noauth.head")"
curl -sf -D "$T/page.head" -o "$T/page.html" -H "Authorization: Bearer $TOKEN" "$SERVER/?since=5m" ||
	fail "GET / with the token"
grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'" \
	"$T/page.head" || fail "no strict Content-Security-Policy: $(cat "$T/page.head")"
curl -sf -o /dev/null -u "fleet:$TOKEN" "$SERVER/static/fleetstat.js" || fail "Basic credentials refused"
for q in 'window=1h' 'since=30d' 'tier'; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$SERVER/?$q")
	[ "$code" = 400 ] || fail "GET /?$q: $code, wanted 400"
done
# A table as html from the API is under the same policy as the page.
curl -sf -D "$T/html.head" -o /dev/null -H "Authorization: Bearer $TOKEN" \
	"$SERVER/api/v1/tiers?format=html" || fail "GET /api/v1/tiers?format=html"
grep -qi "^Content-Type: text/html" "$T/html.head" && grep -qi "^Content-Security-Policy: " \
	"$T/html.head" || fail "an html answer without its type or policy: $(cat "$T/html.head")"

# The browser: the page's DOM once its scripts ran, and a screenshot.  Its own profile, in its
# own process group, removed with the temp dir.
browser() {
	local rc=0
	setsid timeout 90 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$T/chromium" --hide-scrollbars --window-size=1280,1500 \
		--enable-logging=stderr --v=0 --virtual-time-budget=8000 "$@" \
		"http://fleet:$TOKEN@127.0.0.1:$HTTP_PORT/?since=5m" 2>>"$T/chromium.log" || rc=$?
	return $rc
}
browser --dump-dom >"$T/dom.html" || fail "chromium --dump-dom failed"
"$FS" --token-file "$T/http.token" --server "$SERVER" tiers --format json >"$T/tiers.json"
mkdir -p "$BUILD/artifacts"
browser --screenshot="$BUILD/artifacts/webview.png" >/dev/null || fail "chromium --screenshot failed"
[ "$(head -c 8 "$BUILD/artifacts/webview.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
	fail "the screenshot is no PNG"
if grep 'CONSOLE' "$T/chromium.log" | grep -i 'Content Security Policy\|Uncaught' >&2; then
	fail "the browser refused something of the page (above)"
fi

python3 - "$T/dom.html" "$T/page.html" "$T/tiers.json" <<'PY' || fail "the web view (above)"
import json, sys
from html.parser import HTMLParser

class Page(HTMLParser):
    """Tables by the id of their section, chart divs, scripts."""
    def __init__(self):
        super().__init__()
        self.section = None
        self.tables = {}
        self.cell = None
        self.row = None
        self.plots = []
        self.scripts = []
        self.canvases = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id")
        elif tag == "table":
            self.tables.setdefault(self.section, []).append([])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "div" and "plot" in a.get("class", "").split():
            self.plots.append(a)
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "canvas":
            self.canvases += 1
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.section][-1].append(self.row)
            self.row = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

def parse(path):
    p = Page()
    p.feed(open(path, encoding="utf-8").read())
    return p

dom, raw = parse(sys.argv[1]), parse(sys.argv[2])
want = json.load(open(sys.argv[3]))

def tier_rows(page):
    [table] = page.tables["tiers"]
    head, rows = table[0], table[1:]
    assert head == ["TIER", "HOSTS", "STALE", "STATE", "SUM", "MEAN", "MAX", "MAX_HOST"], head
    return {(r[0], r[3]): r for r in rows}

got = tier_rows(dom)
seen = set()
for t in want["tiers"]:
    for state, v in t["states"].items():
        r = got.get((t["tier"], state))
        if r is None:
            # The table leaves out the states no host of the tier has.
            assert v["sum"] == 0 and state != "total", (t["tier"], state, v)
            continue
        seen.add((t["tier"], state))
        assert int(r[1]) == t["hosts"] and int(r[2]) == t["stale"], (r, t)
        assert int(r[4]) == v["sum"] and float(r[5]) == round(v["mean"], 1), (r, v)
        assert int(r[6]) == v["max"] and r[7] == (v["max_host"] or "-"), (r, v)
assert seen == set(got), set(got) - seen
assert {t for t, _ in got} == {"web", "api", "db"}, got
# Without scripts: the same table in the HTML as served.
assert tier_rows(raw) == got
for section in ("summary", "suspects", "top-ips"):
    assert section in raw.tables, section
# The suspects: the SYN flooder, its verdict; the top IPs lead with it.
sus = {r[0]: r[1] for r in raw.tables["suspects"][0][1:]}
assert sus.get("198.51.100.66") == "syn-flood", sus
assert raw.tables["top-ips"][0][1][0] == "198.51.100.66", raw.tables["top-ips"][0][1]
# No inline script: each one a file of the page's own, or a JSON data block.
for s in raw.scripts:
    assert s.get("src", "").startswith("/static/") or s.get("type") == "application/json", s
# A chart per tier, each drawn with points.
assert sorted(p["data-tier"] for p in dom.plots) == ["api", "db", "web"], dom.plots
for p in dom.plots:
    assert p.get("data-drawn") == "1" and int(p.get("data-points", "0")) > 0, p
assert dom.canvases >= 3, dom.canvases
print("webview.sh: %d tier rows equal tiers --format json; %d charts drawn (%s points)"
      % (len(got), len(dom.plots), ", ".join(p["data-points"] for p in dom.plots)))
PY
size=$(stat -c %s "$BUILD/artifacts/webview.png")
echo "webview.sh: screenshot $BUILD/artifacts/webview.png ($size bytes)"
for h in "${!TIER[@]}"; do fs_agent_kill "$h" TERM; done

# A stored top list that does not decode costs the parts that read it, not the page or /metrics.
if [ "${FS_BACKEND:-sqlite}" = pg ]; then
	fs_sql "UPDATE reports SET top = decode('01ff', 'hex') WHERE (host_id, seq) =
		(SELECT host_id, max(seq) FROM reports GROUP BY host_id ORDER BY host_id LIMIT 1)"
else
	fs_sql "UPDATE reports SET top = x'01ff' WHERE id = (SELECT max(id) FROM reports)"
fi
curl -sf -H "Authorization: Bearer $TOKEN" "$SERVER/metrics" >"$T/metrics.txt" ||
	fail "/metrics with a stored top list that does not decode"
grep -q '^fleetstat_tier_sockets{tier="web",state="established"} 200$' "$T/metrics.txt" ||
	fail "/metrics lost the tiers' sockets: $(grep -c . "$T/metrics.txt") lines"
if grep -q '^fleetstat_tier_attackers' "$T/metrics.txt"; then
	fail "/metrics said attack verdicts it could not judge"
fi
curl -sf -H "Authorization: Bearer $TOKEN" "$SERVER/?since=15m" >"$T/broken.html" ||
	fail "the page with a stored top list that does not decode"
grep -q '<p class="error">This part could not be read: ' "$T/broken.html" ||
	fail "the page does not say which part it could not read"
grep -q '<td>web</td><td class="num">2</td>' "$T/broken.html" || fail "the page lost its tier table"

fs_collector_kill TERM || fail "the collector did not exit 0 on SIGTERM"
echo "webview.sh: PASS"
