#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# hostile_log.sh: the agent on a hostile access log (tests/tools/hostilelog.py): 5,000,000
# distinct client IPs with one request each, a heavy IP on every 50th line, an IP with a user
# agent of its own on every 200th, lines of random bytes (NULs and all), a 4 MiB block of
# random bytes, and three lines of 10 MiB before their newline (one of them a valid line of the
# heavy IP).  About 490 MiB, 5.1 million valid lines.
#   1. --input FILE --print=json, and the table: max RSS (/usr/bin/time) under OFFLINE_MIB;
#      the heavy IP's count exact (error 0, so its true count is in [requests - error,
#      requests] too) and first; the user-agent IP's agents capped at 256 and said so; the
#      totals exact: requests and bytes the valid lines', the random lines malformed, the
#      10 MiB ones too long.
#   2. The daemon following the log (--access-log, empty when it starts) while the test
#      appends the same bytes to it in 64 MiB pieces, reporting every second to a real
#      collector: `fleetstat requests` says requests = the valid lines, malformed = the random
#      and the too long ones, the heavy IP's exact count (error 0, its upper bound at least
#      that); the daemon is alive at the end, its peak RSS (VmHWM) under DAEMON_MIB, it exits 0
#      on SIGTERM and its log tells of no crash.
# The bounds are about twice what a release build takes (14.5 MiB offline, 8 MiB following),
# four times that under ASan.  Under a minute on 2 cores without sanitizers.
set -euo pipefail

BUILD=$(cd "${1:?usage: hostile_log.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
agent=$BUILD/fleetstat-agent
[ -x /usr/bin/time ] || fail "/usr/bin/time missing (deploy/install-deps.sh installs it)"
OFFLINE_MIB=${FS_OFFLINE_MIB:-32}
DAEMON_MIB=${FS_DAEMON_MIB:-16}
WAIT_S=120     # for the daemon to read the whole log (it reads 16 MiB a second at most)
# Under ASan (shadow memory, freed blocks in quarantine) four times the memory, and slower.
# (Not `ldd | grep -q`: under pipefail grep leaving early can kill ldd with SIGPIPE.)
case $(ldd "$agent") in *libasan*)
	OFFLINE_MIB=$((4 * OFFLINE_MIB)) DAEMON_MIB=$((4 * DAEMON_MIB)) WAIT_S=400 ;;
esac
started=$SECONDS
fs_fleet_env
H=$T/hostile.data   # not *.log: lib.sh shows the ends of those on failure
python3 "$here/../tools/hostilelog.py" "$H" >"$T/truth.json" || fail "hostilelog.py failed"
truth() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/truth.json" "$1"; }
VALID=$(truth valid)
HEAVY=$(truth heavy_ip)
HEAVY_N=$(truth heavy)
SIZE=$(truth size)
[ "$(stat -c %s "$H")" -eq "$SIZE" ] || fail "hostilelog.py wrote $(stat -c %s "$H") bytes, says $SIZE"

# check_counts JSON offline|collector: what the agent's --print=json or `fleetstat requests`
# says against what the log holds; prints what differs.
check_counts() {
	python3 - "$T/truth.json" "$1" "$2" <<'PY'
import json, sys

want, got, kind = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bad = []


def check(ok, msg):
    if not ok:
        bad.append(msg)


q = got["requests"]
check(q["total"] == want["valid"], f"requests.total {q['total']}, want {want['valid']} (the valid lines)")
check(q["bytes"] == want["bytes"], f"requests.bytes {q['bytes']}, want {want['bytes']}")
m = q["malformed"]
if kind == "offline":
    check(m["shape"] + m["client"] + m["status"] == want["malformed"] and m["too_long"] == want["too_long"],
          f"requests.malformed {m}, want {want['malformed']} malformed and {want['too_long']} too long")
    check(got["lines"] == want["valid"] + want["malformed"] + want["too_long"],
          f"lines {got['lines']}, want {want['valid'] + want['malformed'] + want['too_long']}")
    rows = got["ips"]
else:
    check(m == want["malformed"] + want["too_long"],
          f"requests.malformed {m}, want {want['malformed']} + {want['too_long']} too long")
    rows = got["rows"]
by_ip = {r["ip"]: r for r in rows}


def listed(what, ip, true):
    """ip's row, its true count within its stated bounds [requests - error, requests]."""
    r = by_ip.get(ip)
    if r is None:
        bad.append(f"{what} {ip} is not listed: {[r['ip'] for r in rows[:5]]}")
    else:
        check(r["requests"] - r["error"] <= true <= r["requests"],
              f"{what}: requests {r['requests']}, error {r['error']}: its {true} outside [requests - error, requests]")
    return r


h = listed("the heavy IP", want["heavy_ip"], want["heavy"])
if h is not None:
    # And those exact: it was tracked from its first line on.
    check(h["error"] == 0 and h["requests"] == want["heavy"],
          f"heavy IP: requests {h['requests']} error {h['error']}, want exactly {want['heavy']}")
    check(h.get("upper_bound", h["requests"]) >= want["heavy"],
          f"heavy IP: upper_bound {h.get('upper_bound')} under its {want['heavy']} requests")
    s = h["by_status"]
    check(s["2xx"] == want["heavy_2xx"] and s["4xx"] == want["heavy_4xx"],
          f"heavy IP: by_status {s}, want 2xx {want['heavy_2xx']} 4xx {want['heavy_4xx']}")
    check(rows[0]["ip"] == want["heavy_ip"], f"the heaviest listed is {rows[0]['ip']}, not the heavy IP")
u = listed("the user-agent IP", want["ua_ip"], want["ua_requests"])
if u is not None:
    # Distinct user agents are exact up to 256 (AG_REQS_UA_CAP), then capped, and said so.
    check(u["user_agents"] == 256 and u["user_agents_capped"] is True,
          f"user-agent IP: user_agents {u['user_agents']} capped {u['user_agents_capped']}, want 256 capped"
          f" ({want['ua_distinct']} distinct)")
for r in rows:
    check(r["error"] <= r["requests"], f"{r['ip']}: error {r['error']} over requests {r['requests']}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}

# 1. Offline: the JSON and the table, each under the bound.
rss_of() { # NAME CMD...: CMD's stdout into $T/NAME.out, its max RSS in KiB into $T/NAME.rss
	local name=$1 rc=0
	shift
	/usr/bin/time -f %M -o "$T/$name.rss" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "$* exited $rc: $(tail -5 "$T/$name.err")"
	[ ! -s "$T/$name.err" ] || fail "$*: said on stderr: $(head -5 "$T/$name.err")"
}
t0=$SECONDS
rss_of json "$agent" --input "$H" --print=json
rss_of table "$agent" --input "$H"
offline_s=$((SECONDS - t0))
out=$(check_counts "$T/json.out" offline) || fail "--input --print=json on the hostile log:
$out"
sed -n '/^CLIENT IP/{n;p;q}' "$T/table.out" >"$T/table.first"
awk -v ip="$HEAVY" -v n="$HEAVY_N" '$1 == ip && $2 == n {f = 1} END {exit !f}' "$T/table.first" ||
	fail "the table's first row is not '$HEAVY $HEAVY_N': $(sed -n '/^REQUESTS BY/,+3p' "$T/table.out")"
for name in json table; do
	kib=$(cat "$T/$name.rss")
	[ "$kib" -le $((OFFLINE_MIB * 1024)) ] ||
		fail "--input (${name}) peaked at $((kib / 1024)) MiB RSS, over the bound of $OFFLINE_MIB MiB"
done
offline_kib=$(cat "$T/json.rss")

# 2. Following: the same bytes appended to a log the daemon follows, 64 MiB at a time; the
# daemon restarted once while in the middle of the first 10 MiB line (what it had counted of
# it must not count again: it reads on from its mark, before that line).
LOG=$T/access.data
: >"$LOG"
mkdir -m 700 "$T/state"
fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
start_agent() {
	fs_agent_start agent --collector "127.0.0.1:$PORT" --interval 1 --tier web --hostname web1 \
		--state-dir "$T/state" --access-log "$LOG"
}
start_agent
# A report stored: the agent has opened the log (at its end, 0), so it reads all that comes.
reported() { [ "$(fs_sql "SELECT count(*) FROM reports")" -gt 0 ]; }
fs_wait_for 15 reported || fail "no report from the agent: $(tail -3 "$T/agent.log")"
PIECE=$((64 << 20))
append() { # FROM TO: bytes [FROM, TO) of the hostile log onto the followed one, a piece at a time
	local at=$1 n
	while [ "$at" -lt "$2" ]; do
		n=$(($2 - at < PIECE ? $2 - at : PIECE))
		dd if="$H" of="$LOG" bs=1M iflag=skip_bytes,count_bytes skip="$at" count="$n" \
			oflag=append conv=notrunc status=none || fail "appending bytes $at..$((at + n))"
		at=$((at + n))
		kill -0 "${AGENT_PID[agent]}" 2>/dev/null || fail "the agent died at byte $at: $(tail -5 "$T/agent.log")"
		sleep 2
	done
}
requests_json() {
	"$FS" --server "$SERVER" --format json requests --since 1h --limit 50 >"$T/req.json" 2>"$T/req.err"
}
# The collector has N requests or more (requests.total only grows).
counted() {
	requests_json &&
		python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["requests"]["total"] < int(sys.argv[2]))' \
			"$T/req.json" "$1"
}
got_total() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"]["total"])' "$T/req.json" 2>/dev/null || echo '?'; }
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/${AGENT_PID[agent]}/status"; }
t0=$SECONDS
long0_at=$(python3 -c 'import json, sys; l = json.load(open(sys.argv[1]))["long"][0]; print(l["start"], l["valid_before"])' "$T/truth.json")
read -r long0 before0 <<<"$long0_at"
mid=$((long0 + (5 << 20)))
append 0 "$mid"
fs_wait_for "$WAIT_S" counted "$before0" ||
	fail "after $WAIT_S s the collector has $(got_total) requests of the $before0 before the first long line"
sleep 2.5   # two more polls: the agent has read to the log's end, 5 MiB into the long line
kill -0 "${AGENT_PID[agent]}" 2>/dev/null || fail "the agent is not running: $(tail -5 "$T/agent.log")"
hwm1=$(hwm)
fs_agent_kill agent TERM
start_agent
append "$mid" "$SIZE"
[ "$(stat -c %s "$LOG")" -eq "$SIZE" ] || fail "the log has $(stat -c %s "$LOG") bytes, $SIZE appended"
fs_wait_for "$WAIT_S" counted "$VALID" ||
	fail "after $WAIT_S s the collector has $(got_total) requests of the $VALID valid lines"
follow_s=$((SECONDS - t0))
sleep 2.5   # two more reports: nothing counted twice
requests_json || fail "fleetstat requests: $(cat "$T/req.err")"
out=$(check_counts "$T/req.json" collector) || fail "fleetstat requests after the daemon followed the hostile log:
$out"
kill -0 "${AGENT_PID[agent]}" 2>/dev/null || fail "the agent is not running: $(tail -5 "$T/agent.log")"
hwm=$(hwm)
[ "$hwm1" -le "$hwm" ] || hwm=$hwm1
fs_agent_kill agent TERM
if grep -E -i "fatal|out of memory|AddressSanitizer|runtime error|assert" "$T/agent.log" >"$T/crash.txt"; then
	fail "the agent's log: $(head -5 "$T/crash.txt")"
fi
[ "$hwm" -le $((DAEMON_MIB * 1024)) ] ||
	fail "the daemon peaked at $((hwm / 1024)) MiB RSS (VmHWM), over the bound of $DAEMON_MIB MiB"
echo "hostile_log: ok ($VALID valid lines in $((SIZE >> 20)) MiB from 5,000,002 IPs, $HEAVY exact at" \
	"$HEAVY_N; --input in $offline_s s (json and table), $((offline_kib / 1024)) MiB RSS (bound" \
	"$OFFLINE_MIB); followed in $follow_s s, $((hwm / 1024)) MiB VmHWM (bound $DAEMON_MIB); $((SECONDS - started)) s)"
