#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo-fleet.sh: a real fleet on one machine, in network namespaces (root).
#
#   hosts    lvs1 (a TCP load balancer), web1..web3 (web servers; web2 leaks sockets into
#            CLOSE_WAIT), db1 (takes a connection from the web hosts per request: TIME_WAIT on
#            the web side, and a small pool of idle ones)
#   clients  "users": 200 ordinary users (198.19.1.1-200), and a NAT egress 198.19.200.1 with
#            300 steady connections; "bad": a SYN flooder 198.19.66.6 (lvs1's nftables drop its
#            final ACKs: SYN_RECV) and a connection flooder 198.19.77.7 (400 idle connections)
#   fleet    one real fleetstat-agent per host (--netns, with its tier), and the collector in
#            the root namespace on SQLite, both on 127.0.0.1; with --postgres two collectors
#            on one throwaway PostgreSQL cluster (tests/tools/pgcluster.sh), every agent
#            listing both (half of them in each order). Mutual TLS end to end: a CA made
#            for the run (deploy/certs.sh), a certificate per agent (CN=its host), the
#            collector's for 127.0.0.1; the HTTP API over HTTPS, queried with that CA
#
# All of it is joined by a bridge in a namespace of its own; nothing is routed anywhere else.
# After a few intervals it prints `fleetstat summary`, `top-ips`, `suspects` and `tiers`, then
# removes every namespace and process it made; also on Ctrl-C and on error.
#
# usage: deploy/demo-fleet.sh [--build DIR] [--hold] [--env FILE] [--postgres]
#   --build DIR  the build with the binaries (default: build/ of the checkout)
#   --postgres   two collectors on PostgreSQL (postgresql-15 installed; removed at the end)
#   --hold       keep the fleet running after the tables, until Ctrl-C or SIGTERM
#   --env FILE   write the fleet's names (namespaces, PIDs, database, API URL) there, for tests
# FS_DEMO_PREFIX (default fsdemo-) prefixes the namespaces' names.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
hold=0
envfile=""
postgres=0
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(cd "${2:?--build DIR}" && pwd); shift 2 ;;
	--hold) hold=1; shift ;;
	--env) envfile=${2:?--env FILE}; shift 2 ;;
	--postgres) postgres=1; shift ;;
	*) echo "usage: demo-fleet.sh [--build DIR] [--hold] [--env FILE] [--postgres]" >&2; exit 2 ;;
	esac
done
P=${FS_DEMO_PREFIX:-fsdemo-}
INTERVAL=2
say() { echo "demo-fleet: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[[ $P =~ ^[a-z0-9-]{1,16}$ ]] || die "FS_DEMO_PREFIX '$P' is not 1-16 of [a-z0-9-]"
for b in fleetstat-agent fleetstat-collector fleetstat fleetstat-demo; do
	[ -x "$build/$b" ] || die "$build/$b is missing: build first (deploy/quickstart.sh does)"
done
for c in ip nft python3; do command -v "$c" >/dev/null || die "$c is missing (deploy/install-deps.sh)"; done
if ip netns list | grep -q "^$P"; then
	die "namespaces named $P* exist (another demo, or one left behind): $(ip netns list | grep "^$P" | cut -d' ' -f1 | tr '\n' ' ')"
fi

dir=$(mktemp -d /tmp/fleetstat-demo.XXXXXX)
pgdir=""
pids=()
made=()
cleanup() {
	local rc=$? pid ns i
	set +e
	trap - EXIT INT TERM HUP
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	for ((i = 0; i < 50; i++)); do
		local alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	for ns in "${made[@]}"; do ip netns del "$ns" 2>/dev/null; done
	[ -z "$pgdir" ] || bash "$root/tests/tools/pgcluster.sh" stop "$pgdir" >/dev/null
	if [ "$rc" -ne 0 ] && [ -d "$dir" ]; then
		for f in "$dir"/*.log; do [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -5 "$f"; } >&2; done
	fi
	rm -rf "$dir"
	[ -z "$envfile" ] || rm -f "$envfile"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A process in namespace $1 (or the root one, "-"), logged to $dir/$2.log; its PID is kept.
# Started by `ip netns exec` itself, not a shell function, so that $! is the process.
run() {
	local ns=$1 log=$2
	shift 2
	if [ "$ns" = - ]; then
		"$@" >"$dir/$log.log" 2>&1 &
	else
		ip netns exec "$P$ns" "$@" >"$dir/$log.log" 2>&1 &
	fi
	pids+=($!)
}

# ---- the network ------------------------------------------------------------------------
ns_add() {
	ip netns add "$P$1"
	made+=("$P$1")
	ip -n "$P$1" link set lo up
}
ns_add sw
ip -n "${P}sw" link add br0 type bridge
ip -n "${P}sw" link set br0 up
# join NAME ADDR: NAME's eth0 on the bridge, ADDR/24 (198.18.0.0/24, a benchmarking range).
join() {
	ns_add "$1"
	ip -n "${P}sw" link add "v-$1" type veth peer name eth0 netns "$P$1"
	ip -n "${P}sw" link set "v-$1" master br0 up
	ip -n "$P$1" addr add "$2/24" dev eth0
	ip -n "$P$1" link set eth0 up
}
declare -A ADDR=([lvs1]=198.18.0.10 [web1]=198.18.0.21 [web2]=198.18.0.22 [web3]=198.18.0.23
	[db1]=198.18.0.30 [users]=198.18.0.100 [bad]=198.18.0.101)
HOSTS=(lvs1 web1 web2 web3 db1)
declare -A TIER=([lvs1]=lvs [web1]=web [web2]=web [web3]=web [db1]=db)
for n in "${HOSTS[@]}" users bad; do join "$n" "${ADDR[$n]}"; done
# The clients' own addresses, on their loopback; lvs1 reaches them through them.
ip -n "${P}users" route add local 198.19.1.0/24 dev lo
ip -n "${P}users" addr add 198.19.200.1/32 dev lo
ip -n "${P}bad" addr add 198.19.66.6/32 dev lo
ip -n "${P}bad" addr add 198.19.77.7/32 dev lo
for net in 198.19.1.0/24 198.19.200.0/24; do ip -n "${P}lvs1" route add "$net" via "${ADDR[users]}"; done
for net in 198.19.66.0/24 198.19.77.0/24; do ip -n "${P}lvs1" route add "$net" via "${ADDR[bad]}"; done

# lvs1 as many are: no SYN cookies, and its half-open connections kept for minutes.
ip netns exec "${P}lvs1" sysctl -qw net.ipv4.tcp_syncookies=0 net.ipv4.tcp_synack_retries=10 \
	net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
for n in web1 web2; do ip netns exec "$P$n" sysctl -qw net.core.somaxconn=4096; done
ip netns exec "${P}web3" sysctl -qw net.core.somaxconn=1024   # the odd one out: drift
# The SYN flood: lvs1 drops the flooder's final ACKs, so its connections stay half-open.
ip netns exec "${P}lvs1" nft -f - <<'NFT'
table inet fsdemo {
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr 198.19.66.6 tcp dport 80 tcp flags & (fin | syn | rst | ack) == ack drop comment "SYN flood: no final ACK"
	}
}
NFT

# ---- the collector and the agents -------------------------------------------------------
free_port() { "$root/deploy/free-port"; }
PORT=$(free_port)
HTTP=$(free_port)
URL=https://127.0.0.1:$HTTP
DB=$dir/fleetstat.db
# Mutual TLS: the run's own CA, the collector's certificate, one per agent.
PKI=$dir/pki
{
	bash "$root/deploy/certs.sh" "$PKI" ca && bash "$root/deploy/certs.sh" "$PKI" collector collector 127.0.0.1 &&
		for n in "${HOSTS[@]}"; do bash "$root/deploy/certs.sh" "$PKI" agent "$n" || exit 1; done
} >/dev/null || die "deploy/certs.sh could not make the certificates"
TLS_COL=(--tls-cert "$PKI/collector.crt" --tls-key "$PKI/collector.key" --tls-client-ca "$PKI/ca.crt"
         --http-tls-cert "$PKI/collector.crt" --http-tls-key "$PKI/collector.key")
COLLECTORS=127.0.0.1:$PORT
if [ "$postgres" -eq 1 ]; then
	pgdir=$(mktemp -d)
	DB=$(bash "$root/tests/tools/pgcluster.sh" start "$pgdir") || die "no PostgreSQL cluster"
	PORT2=$(free_port)
	HTTP2=$(free_port)
fi
cat >"$dir/collector.ini" <<INI
[suspects]
# The fleet's own network: the web hosts' connections come from the load balancer, the db's
# from the web hosts.
allow = 198.18.0.0/24
[thresholds]
web.CLOSE_WAIT = 50,1000
stale = 1,3
INI
run - collector "$build/fleetstat-collector" --listen "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP" \
	--db "$DB" --config "$dir/collector.ini" "${TLS_COL[@]}"
if [ "$postgres" -eq 1 ]; then
	run - collector2 "$build/fleetstat-collector" --listen "127.0.0.1:$PORT2" \
		--http "127.0.0.1:$HTTP2" --db "$DB" --config "$dir/collector.ini" "${TLS_COL[@]}"
fi
for p in $PORT ${PORT2:-}; do
	for ((i = 0; i < 50; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
		sleep 0.1
	done
done
k=0
for n in "${HOSTS[@]}"; do
	list=127.0.0.1:$PORT
	if [ "$postgres" -eq 1 ]; then
		# Half the agents prefer each collector; each fails over to the other.
		list=127.0.0.1:$PORT,127.0.0.1:$PORT2
		[ $((k++ % 2)) -eq 1 ] && list=127.0.0.1:$PORT2,127.0.0.1:$PORT
	fi
	run - "agent-$n" "$build/fleetstat-agent" --netns "$P$n" --hostname "$n" --tier "${TIER[$n]}" \
		--interval "$INTERVAL" --collector "$list" --state-dir "$dir/state-$n" \
		--tls-ca "$PKI/ca.crt" --tls-cert "$PKI/$n.crt" --tls-key "$PKI/$n.key"
done

# ---- servers, then clients --------------------------------------------------------------
D=$build/fleetstat-demo
ready() {
	local log
	for log in "$@"; do
		for ((i = 0; i < 50; i++)); do grep -q '^ready$' "$dir/$log.log" 2>/dev/null && break; sleep 0.1; done
		grep -q '^ready$' "$dir/$log.log" || die "$log did not start: $(tail -3 "$dir/$log.log")"
	done
}
run db1 db "$D" db --listen "${ADDR[db1]}:5432"
ready db
for n in web1 web2 web3; do
	leak=()
	[ "$n" = web2 ] && leak=(--leak)
	run "$n" "$n" "$D" web --listen "${ADDR[$n]}:8080" --db "${ADDR[db1]}:5432" --db-pool 5 "${leak[@]}"
done
ready web1 web2 web3
run lvs1 lvs1 "$D" proxy --listen "${ADDR[lvs1]}:80" --backend "${ADDR[web1]}:8080" \
	--backend "${ADDR[web2]}:8080" --backend "${ADDR[web3]}:8080"
ready lvs1
LB=${ADDR[lvs1]}:80
run users users "$D" users --from 198.19.1.1-198.19.1.200 --to "$LB" --keep 150 --rate 30
run users nat "$D" hold --from 198.19.200.1 --to "$LB" --count 300 --every 5
run bad synflood "$D" hold --from 198.19.66.6 --to "$LB" --count 300
run bad connflood "$D" hold --from 198.19.77.7 --to "$LB" --count 400
LOAD_PIDS="${pids[*]: -4}"

if [ -n "$envfile" ]; then
	cat >"$envfile.tmp" <<ENV
DEMO_DIR=$dir
DEMO_DB=$DB
DEMO_PGDIR=$pgdir
DEMO_URL=$URL
DEMO_CACERT=$PKI/ca.crt
DEMO_PREFIX=$P
DEMO_HOSTS="${HOSTS[*]}"
DEMO_LOAD_PIDS="$LOAD_PIDS"
DEMO_PIDS="${pids[*]}"
DEMO_NAMESPACES="${made[*]}"
ENV
fi

# ---- a few intervals, then the tables ---------------------------------------------------
FS() { "$build/fleetstat" --server "$URL" --cacert "$PKI/ca.crt" "$@"; }
reporting() { [ "$(FS hosts --format json | python3 -c 'import json,sys; print(sum(not h["stale"] for h in json.load(sys.stdin)["hosts"]))')" -eq ${#HOSTS[@]} ]; }
for ((i = 0; i < 100; i++)); do reporting 2>/dev/null && break; sleep 0.2; done
reporting || die "not every agent reports: $(FS hosts 2>&1 | tail -6)"
store="one collector on SQLite"
[ "$postgres" -eq 0 ] || store="two collectors on PostgreSQL"
say "the fleet runs: 5 hosts, 4 kinds of client, $store, mutual TLS; waiting 4 intervals for the load to settle"
sleep $((4 * INTERVAL))
[ -z "$envfile" ] || mv "$envfile.tmp" "$envfile"

show() { echo; echo "\$ fleetstat $*"; FS "$@" --format table || true; }
echo
echo "\$ fleetstat summary --since 5m"
rc=0
FS summary --since 5m --format table || rc=$?
echo "(exit $rc: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"
show top-ips --limit 8
show suspects
show tiers

if [ "$hold" -eq 1 ]; then
	say "holding: fleetstat --server $URL --cacert $PKI/ca.crt <query>; the web view: $URL/"
	say "(its certificate is from $PKI/ca.crt) | Ctrl-C ends it and removes everything"
	# Bounded: the load programs stop by themselves after an hour anyway.
	sleep 3600 &
	pids+=($!)
	wait $! || true
fi
