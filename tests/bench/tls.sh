#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tls.sh: what mutual TLS costs the fleet, beside plaintext in the same run (root).
#   reconnect  loadgen plays FS_BENCH_AGENTS agents (default 1,000, one report a second each,
#              --reconnect) on mutual TLS; the collector is stopped (SIGTERM, and in a second
#              run killed: SIGKILL) and started again on the same database: how long until every agent has handshaken again and
#              is welcomed (recovered_s), the longest one agent waited (reconnect_max_s), and
#              whether anything acked was lost (loadgen checks every Welcome's last_seq).
#   agent      fleetstat-agent --once from a namespace holding FS_BENCH_SOCKETS sockets
#              (default 100,000; tests/tools/sockgen): peak RSS (VmHWM) over TLS and in clear.
# Ingest throughput over TLS beside plaintext is in tests/bench/ingest.sh.
#
# usage: bash tests/bench/tls.sh BUILD_DIR
# Prints markdown tables. Exit 0 when every run did what it should.
set -euo pipefail

build=$(cd "${1:?usage: tls.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
agents=${FS_BENCH_AGENTS:-1000}
sockets=${FS_BENCH_SOCKETS:-100000}
for b in fleetstat-collector fleetstat-agent loadgen sockgen; do
	[[ -x $build/$b ]] || { echo "tls.sh: $build/$b missing" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "tls.sh: needs root (network namespaces)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "tls.sh: needs /usr/bin/time" >&2; exit 1; }

# shellcheck source=../tools/netns.sh
source "$here/../tools/netns.sh"
tmp=$(mktemp -d)
col_pid=""
lg_pid=""
fs_cleanup_add "rm -rf '$tmp'"
fs_cleanup_add 'for p in $lg_pid $col_pid; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; true'
prefix=fsbt$$
fs_netns_trap "$prefix"

pki=$tmp/pki
{
	bash "$root/deploy/certs.sh" "$pki" ca && bash "$root/deploy/certs.sh" "$pki" collector c1 127.0.0.1 &&
		bash "$root/deploy/certs.sh" "$pki" agent a1
} >/dev/null
col_tls=(--tls-cert "$pki/c1.crt" --tls-key "$pki/c1.key" --tls-client-ca "$pki/ca.crt")
ag_tls=(--tls-ca "$pki/ca.crt" --tls-cert "$pki/a1.crt" --tls-key "$pki/a1.key")
port=$("$root/deploy/free-port")
http=$("$root/deploy/free-port")
fail=0

col_start() {   # ARGS...: a collector on $port and $tmp/db.sqlite, waited for
	local i
	"$build/fleetstat-collector" --listen "127.0.0.1:$port" --http "127.0.0.1:$http" \
		--db "$tmp/db.sqlite" "$@" >>"$tmp/collector.log" 2>&1 &
	col_pid=$!
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "tls.sh: the collector did not listen: $(tail -3 "$tmp/collector.log")" >&2
	exit 1
}
col_stop() {
	kill -TERM "$col_pid"
	wait "$col_pid" || { echo "tls.sh: the collector exited $? on SIGTERM" >&2; fail=1; }
	col_pid=""
}

# ---- reconnect: the collector restarted under 1,000 TLS agents -----------------------------
for sig in TERM KILL; do
	col_start "${col_tls[@]}"
	"$build/loadgen" --collector "127.0.0.1:$port" --agents "$agents" --rate 1 --duration 40 \
		--reconnect --connect-rate 1000 "${ag_tls[@]}" --json >"$tmp/reconnect-$sig.json" \
		2>"$tmp/reconnect-$sig.log" &
	lg_pid=$!
	sleep 15
	kill -"$sig" "$col_pid"
	wait "$col_pid" 2>/dev/null || [[ $sig == KILL ]] || { echo "tls.sh: the collector exited $? on SIGTERM" >&2; fail=1; }
	col_pid=""
	col_start "${col_tls[@]}"
	lg_rc=0
	wait "$lg_pid" || lg_rc=$?
	lg_pid=""
	col_stop
	[[ $lg_rc -eq 0 ]] || { echo "tls.sh: reconnect ($sig): loadgen exited $lg_rc" >&2; cat "$tmp/reconnect-$sig.json" "$tmp/reconnect-$sig.log" >&2; fail=1; }
	rm -f "$tmp"/db.sqlite*
done

# ---- agent: peak RSS at 100,000 sockets, over TLS and in clear ------------------------------
fs_netns_up "$prefix"
fs_sockgen_start "$build/sockgen" "$prefix" "$tmp" --total "$sockets" \
	--mix "ESTABLISHED=70,SYN_RECV=10,FIN_WAIT2=10,CLOSE_WAIT=10" --quiet --max-hold 900
col_start "${col_tls[@]}"
for mode in tls clear; do
	args=("${ag_tls[@]}")
	[[ $mode == tls ]] || args=()
	if [[ $mode == clear ]]; then col_stop; col_start; fi
	mkdir -p -m 700 "$tmp/st-$mode"
	/usr/bin/time -f "%M" -o "$tmp/rss.$mode" "$build/fleetstat-agent" --once --timeout 60 \
		--netns "$prefix-h" --collector "127.0.0.1:$port" --state-dir "$tmp/st-$mode" \
		"${args[@]}" 2>"$tmp/agent-$mode.log" ||
		{ echo "tls.sh: agent --once ($mode) failed: $(cat "$tmp/agent-$mode.log")" >&2; fail=1; }
done
col_stop
fs_sockgen_stop

python3 - "$tmp" "$agents" "$sockets" <<'PY'
import json, sys
tmp, agents, sockets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print(f"| {agents:,} agents on mutual TLS, the collector restarted | SIGTERM, start | SIGKILL, start |")
print("|---|---:|---:|")
r = {sig: json.load(open(f"{tmp}/reconnect-{sig}.json")) for sig in ("TERM", "KILL")}
rc = {sig: r[sig]["reconnect"] for sig in r}
def row(label, f):
    print(f"| {label} | {f('TERM')} | {f('KILL')} |")
row("connections lost (the stop, refused connects while down)", lambda k: f"{rc[k]['lost']:,}")
row("agents welcomed again / never", lambda k: f"{rc[k]['welcomed_again']:,} / {rc[k]['never_back']}")
row("all welcomed again, after the first loss", lambda k: f"{rc[k]['recovered_s']:.2f} s")
row("the longest one agent waited", lambda k: f"{rc[k]['reconnect_max_s']:.2f} s")
row("reports sent / acked (nothing acked lost)", lambda k: f"{r[k]['sent']:,} / {r[k]['acked']:,}")
row("target: all back within 10 s", lambda k: "met" if r[k]["ok"] and rc[k]["recovered_s"] <= 10 else "NOT met")
print()
rss = {m: int(open(f"{tmp}/rss.{m}").read().split()[-1]) / 1024 for m in ("tls", "clear")}
print(f"| fleetstat-agent --once at {sockets:,} sockets | peak RSS MiB |")
print("|---|---:|")
print(f"| mutual TLS | {rss['tls']:.1f} |")
print(f"| in clear | {rss['clear']:.1f} |")
print(f"| target: TLS at most 10 MiB | {'met' if rss['tls'] <= 10 else 'NOT met'} |")
PY
exit "$fail"
