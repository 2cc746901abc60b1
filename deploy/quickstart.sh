#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# quickstart.sh: install what is missing, build, and show fleetstat at work on SQLite.
# As root: the demo fleet (deploy/demo-fleet.sh): lvs, web and db hosts in network namespaces
# with real clients, attackers and a NAT gateway, a real agent per host and a collector.
# Otherwise: this host, with a collector and a local agent.  Either way it removes all it
# started when it ends.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}

"$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" \
	--target fleetstat-agent fleetstat-collector fleetstat fleetstat-demo >/dev/null

echo "== fleetstat-agent --print=table (this host, now) =="
"$build/fleetstat-agent" --print=table
echo
echo "== the same as the netstat | awk one-liner prints it: fleetstat-agent --print=awk =="
"$build/fleetstat-agent" --print=awk
echo

if [ "$(id -u)" -eq 0 ]; then
	echo "== the demo fleet: deploy/demo-fleet.sh =="
	exec "$root/deploy/demo-fleet.sh" --build "$build"
fi

# Not root: a collector on SQLite and this host's agent, on loopback, for a few reports.
tmp=$(mktemp -d /tmp/fleetstat-quickstart.XXXXXX)
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
free_port() { "$root/deploy/free-port"; }
port=$(free_port)
http=$(free_port)
"$build/fleetstat-collector" --listen "127.0.0.1:$port" --http "127.0.0.1:$http" \
	--db "$tmp/fleetstat.db" >"$tmp/collector.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 50; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$build/fleetstat-agent" --collector "127.0.0.1:$port" --tier local --interval 1 \
	--state-dir "$tmp/agent" >"$tmp/agent.log" 2>&1 &
pids+=($!)
fs() { "$build/fleetstat" --server "http://127.0.0.1:$http" "$@"; }
for ((i = 0; i < 50; i++)); do
	fs hosts --format json 2>/dev/null | grep -q '"hostname"' && break
	sleep 0.2
done
sleep 2
echo "== a collector on SQLite and this host's agent, on loopback (as root: the demo fleet) =="
for q in "hosts" "top-ips --limit 5" "tiers"; do
	echo
	echo "\$ fleetstat $q"
	# shellcheck disable=SC2086
	fs $q --format table
done
