#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# rotate.sh: a real nginx's access log rotated the two ways logrotate does it, with a real
# agent following it into a real collector.  nginx (nginx-light) runs in a network namespace
# made here, on its loopback, logging `combined`; curl there makes requests from addresses of
# its own (127.0.0.2-9), a known number each, a keep-alive connection a batch:
#   .2 .3   before any rotation
#   .4      after the rename (access.log -> access.log.1), nginx still writing in the old file
#   .5      after `nginx -s reopen` (a new access.log)
#   .6      after copytruncate (access.log copied to access.log.2, then truncated; nginx goes on
#           appending at the new end)
#   .7      while the agent is stopped (SIGTERM), .8 after it started again from its state
#   .9      requests within one agent poll of a rotation by rename and reopen
# `fleetstat requests` then counts each address as many times as curl asked and as the awk
# one-liner over the logs as rotated (access.log.1, .2, .3 and access.log): every request
# once, none twice.
#
# usage: bash tests/integration/rotate.sh BUILD_DIR      (root: a network namespace)
set -euo pipefail

BUILD=$(cd "${1:?usage: rotate.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "rotate.sh: SKIP: needs root for a network namespace"
	exit 77
fi
for tool in nginx curl ip ss python3; do
	command -v "$tool" >/dev/null || fail "$tool missing (deploy/install-deps.sh installs it)"
done
fs_fleet_env
ns=fsrot$$
N=$T/nginx
L=$T/logs
nginx_pid=""
_rotate_cleanup() { fs_netns_down "$ns" "$ns" "$nginx_pid" "$N/nginx.pid"; }
fs_on_exit _rotate_cleanup
in_ns() { ip netns exec "$ns" "$@"; }

ip netns add "$ns" && ip -n "$ns" link set lo up || fail "namespace $ns"
mkdir -p "$L"
mkdir -p "$N/tmp"
{ fs_nginx_conf "$N" 1 256; sed "s|@L@|$L|g"; } >"$N/nginx.conf" <<'EOF'
    access_log @L@/access.log combined;
    server {
        listen 127.0.0.1:8080 default_server;
        location / { return 200 "ok\n"; }
    }
}
EOF
nginx_cmd=(nginx -p "$N" -e "$T/nginx-error.log" -c "$N/nginx.conf")
# `ip netns exec` execs nginx itself: $! is nginx's master.
ip netns exec "$ns" "${nginx_cmd[@]}" -g 'daemon off;' >"$T/nginx-stdout.log" 2>&1 &
nginx_pid=$!
listening() {
	kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited: $(tail -3 "$T/nginx-error.log")"
	[[ $(in_ns ss -Hltn) == *"127.0.0.1:8080 "* ]]
}
fs_wait_for 10 listening || fail "nginx not listening in 10 s"
fs_wait_for 5 test -e "$L/access.log" || fail "nginx made no access.log"
reopen() {
	in_ns "${nginx_cmd[@]}" -s reopen 2>>"$T/nginx-error.log" || fail "nginx -s reopen"
	fs_wait_for 5 test -e "$L/access.log" || fail "nginx did not reopen access.log in 5 s"
}

declare -A SENT=()
# get N ADDR: N requests from 127.0.0.ADDR on one keep-alive connection, all logged.
get() {
	local before
	before=$(cat "$L"/access.log* | wc -l)
	in_ns curl -sS --interface "127.0.0.$2" "http://127.0.0.1:8080/p[1-$1]" >/dev/null 2>>"$T/curl.log" ||
		fail "curl from 127.0.0.$2: $(tail -2 "$T/curl.log")"
	SENT[127.0.0.$2]=$((${SENT[127.0.0.$2]:-0} + $1))
	# nginx logs a request when it has answered it: by now, all but a moment's.
	logged() { [ "$(cat "$L"/access.log* | wc -l)" -ge $((before + $1)) ]; }
	fs_wait_for 5 logged "$1" || fail "nginx did not log $1 requests from 127.0.0.$2"
}
start_agent() {
	fs_agent_start agent --collector "127.0.0.1:$PORT" --interval 1 --tier web --hostname web1 \
		--state-dir "$T/state" --access-log "$L/access.log" --log-format combined
}
read_by_agent() { sleep 1.4; }   # a poll of the agent's (1 s) and a little

fs_collector_start --listen "127.0.0.1:$PORT" --db "$DB"
mkdir -m 700 "$T/state"
start_agent
reported() { [ "$(fs_sql "SELECT count(*) FROM reports")" -gt 0 ]; }
fs_wait_for 15 reported || fail "no report from the agent: $(tail -3 "$T/agent.log")"

get 30 2
get 20 3
read_by_agent
# logrotate's default: rename, the server goes on in the old file until it reopens.
mv "$L/access.log" "$L/access.log.1"
get 15 4
read_by_agent
reopen
get 25 5
read_by_agent
# logrotate's copytruncate: copied, then truncated under the writer (paused between: what
# comes between the two is lost to every reader, logrotate says so).
cp "$L/access.log" "$L/access.log.2"
: >"$L/access.log"
get 10 6
read_by_agent
# The agent stopped, requests meanwhile, started again from its state directory.
fs_agent_kill agent TERM
get 12 7
start_agent
get 8 8
# A rename and a reopen within one poll, requests on both sides of it.
get 5 9
mv "$L/access.log" "$L/access.log.3"
get 6 9
reopen
get 7 9

want=0
for a in "${!SENT[@]}"; do want=$((want + SENT[$a])); done
fs_wait_for 20 fs_requests_counted "$want" ||
	fail "the collector has $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"]["total"])' "$T/req.json" 2>/dev/null || echo '?') requests, curl made $want"
sleep 2.5   # two more reports: nothing may come twice
fs_requests_counted "$want" || fail "requests went away"
# What curl asked, what the one-liner counts over nginx's own logs, what the collector stored.
for a in "${!SENT[@]}"; do echo "$a ${SENT[$a]}"; done | LC_ALL=C sort >"$T/sent.counts"
awk '{++S[$1]} END {for (a in S) print a, S[a]}' "$L/access.log.1" "$L/access.log.2" "$L/access.log.3" \
	"$L/access.log" |
	LC_ALL=C sort >"$T/awk.counts"
fs_requests_per_ip "$want" >"$T/got.counts" || fail "the stored requests are not exact"
diff "$T/sent.counts" "$T/awk.counts" >"$T/diff" ||
	fail "nginx's logs (awk) differ from what curl asked (curl < > awk): $(cat "$T/diff")"
diff "$T/sent.counts" "$T/got.counts" >"$T/diff" ||
	fail "requests per IP differ from what curl asked (curl < > fleetstat): $(cat "$T/diff")"
fs_agent_kill agent TERM
echo "rotate: ok ($want requests from 8 addresses, each counted once across nginx's rename and" \
	"reopen, copytruncate, an agent restart, and a rename with a reopen within one poll)"
