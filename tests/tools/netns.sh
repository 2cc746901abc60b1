# SPDX-License-Identifier: MIT
# netns.sh: two-namespace test network for sockgen (a bash library: source it, do not run it).
#
#   fs_netns_up PREFIX      create PREFIX-h ("host", whose sockets are measured) and PREFIX-p
#                           ("peers"), joined by a veth pair; returns nonzero (after undoing
#                           what it did) on failure
#   fs_netns_down PREFIX    delete both namespaces; idempotent, never fails
#   fs_netns_trap PREFIX    make sure fs_netns_down PREFIX runs when the calling shell exits
#                           (EXIT, and INT/TERM/HUP turned into exit)
#   fs_netns_test NAME PREFIX  a test's set-up: exit 77 (SKIP) unless root, then fs_netns_trap and
#                           fs_netns_up PREFIX, sets h=PREFIX-h and tmp (a temp dir removed at exit)
#   fs_cleanup_add CMD...   also run CMD at that exit, before the namespaces go (last added
#                           runs first), e.g. fs_cleanup_add "kill $pid; wait $pid"
#
# Addresses (only the benchmarking ranges of RFC 2544 and the documentation range of RFC 3849):
#   host  veth-h 198.18.0.1/30  2001:db8:f0::1/64
#   peer  veth-p 198.18.0.2/30  2001:db8:f0::2/64, and on lo the whole of 198.19.0.0/16 and
#         2001:db8:f1::/64 as local addresses ("AnyIP" local routes), which the host reaches
#         via the peer. Nothing is routed anywhere else.
#
# Ports (FS_PORT_BASE, default 40000, must match sockgen --port-base). State index i:
#   0 ESTABLISHED 1 SYN_SENT 2 SYN_RECV 3 FIN_WAIT1 4 FIN_WAIT2 5 TIME_WAIT 6 CLOSE_WAIT
#   7 LAST_ACK 8 CLOSING
#   base+i     host AF_INET listener for state i (for SYN_SENT: the peer port the host dials)
#   base+10+i  host AF_INET6 dual-stack listener for state i (IPv6 and IPv4-mapped peers)
# base..base+19 are reserved (ip_local_reserved_ports) in both namespaces so no ephemeral
# port ever collides with them. nftables (table inet fs_sockgen, input hook) drops:
#   host:  pure ACKs to the SYN_RECV ports   (the handshake never completes: request sockets)
#   peer:  pure SYNs to the SYN_SENT ports   (the host's connect never completes)
#          FINs from the FIN_WAIT1, LAST_ACK and CLOSING ports (the host's FIN is never acked)
# RST is never dropped, so aborting a socket (SO_LINGER 0) always cleans up both ends.

FS_PORT_BASE=${FS_PORT_BASE:-40000}
_FS_CLEANUP=()

_fs_check_prefix() {
	if [[ ! $1 =~ ^[A-Za-z0-9_.-]{1,32}$ ]]; then
		echo "netns.sh: bad prefix '$1' (want 1-32 of [A-Za-z0-9_.-])" >&2
		return 1
	fi
}

# Each step of the setup; the first failure stops it.
_fs_netns_setup() {
	local h=$1-h p=$1-p b=$FS_PORT_BASE ns

	ip netns add "$h" || return 1
	ip netns add "$p" || return 1
	ip -n "$h" link add veth-h type veth peer name veth-p netns "$p" || return 1
	for ns in "$h" "$p"; do
		ip -n "$ns" link set lo up || return 1
	done

	ip -n "$h" addr add 198.18.0.1/30 dev veth-h || return 1
	ip -n "$h" -6 addr add 2001:db8:f0::1/64 dev veth-h nodad || return 1
	ip -n "$p" addr add 198.18.0.2/30 dev veth-p || return 1
	ip -n "$p" -6 addr add 2001:db8:f0::2/64 dev veth-p nodad || return 1
	ip -n "$h" link set veth-h up || return 1
	ip -n "$p" link set veth-p up || return 1

	# Permanent neighbours: a burst of connects to an unresolved neighbour overflows its
	# small pending queue, and the lost SYNs only come back after a 1 s retransmit.
	local mac_h mac_p
	mac_h=$(ip -n "$h" -o link show veth-h | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	mac_p=$(ip -n "$p" -o link show veth-p | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	[[ -n $mac_h && -n $mac_p ]] || return 1
	ip -n "$h" neigh replace 198.18.0.2 lladdr "$mac_p" nud permanent dev veth-h || return 1
	ip -n "$h" -6 neigh replace 2001:db8:f0::2 lladdr "$mac_p" nud permanent dev veth-h || return 1
	ip -n "$p" neigh replace 198.18.0.1 lladdr "$mac_h" nud permanent dev veth-p || return 1
	ip -n "$p" -6 neigh replace 2001:db8:f0::1 lladdr "$mac_h" nud permanent dev veth-p || return 1

	# A queue in front of each veth end. Without one (veth is noqueue) a burst of timer
	# retransmits overflows the receiving CPU's backlog (net.core.netdev_max_backlog, a
	# global 1000) and veth returns NET_XMIT_DROP to TCP, and a request socket whose
	# SYN-ACK retransmit fails locally is deleted: 6000 SYN_RECV fell to 1900 in 16 s.
	# Behind a qdisc such overflow is an ordinary silent loss, which every held state
	# expects anyway.
	tc -n "$h" qdisc add dev veth-h root pfifo limit 1000000 || return 1
	tc -n "$p" qdisc add dev veth-p root pfifo limit 1000000 || return 1

	# AnyIP: the peer answers for every address of both ranges without configuring them.
	ip -n "$p" route add local 198.19.0.0/16 dev lo || return 1
	ip -n "$p" -6 route add local 2001:db8:f1::/64 dev lo || return 1
	ip -n "$h" route add 198.19.0.0/16 via 198.18.0.2 dev veth-h || return 1
	ip -n "$h" -6 route add 2001:db8:f1::/64 via 2001:db8:f0::2 dev veth-h || return 1

	# Per-namespace sysctls. Held sockets keep their fds, so the retry counts that bound
	# them are tcp_retries2 (FIN_WAIT1, LAST_ACK, CLOSING: hours), tcp_syn_retries
	# (SYN_SENT, 127 is the maximum) and tcp_synack_retries (SYN_RECV). The request queue
	# must stay under half the listen backlog or the kernel prunes old requests early,
	# and syncookies off makes an overflow visible instead of creating no request socket.
	for ns in "$h" "$p"; do
		ip netns exec "$ns" sysctl -q -w \
			net.ipv4.ip_local_port_range="1024 65535" \
			net.ipv4.ip_local_reserved_ports="$b-$((b + 19))" \
			net.ipv4.tcp_syn_retries=127 \
			net.ipv4.tcp_synack_retries=100 \
			net.ipv4.tcp_retries2=100 \
			net.ipv4.tcp_orphan_retries=100 \
			net.ipv4.tcp_syncookies=0 \
			net.ipv4.tcp_max_syn_backlog=4194304 \
			net.ipv4.tcp_max_tw_buckets=4194304 \
			net.core.somaxconn=4194304 >/dev/null || return 1
	done

	ip netns exec "$h" nft -f - <<-EOF || return 1
		table inet fs_sockgen {
			chain input {
				type filter hook input priority filter; policy accept;
				tcp dport { $((b + 2)), $((b + 12)) } tcp flags & (fin | syn | rst | ack) == ack drop comment "SYN_RECV"
			}
		}
	EOF
	ip netns exec "$p" nft -f - <<-EOF || return 1
		table inet fs_sockgen {
			chain input {
				type filter hook input priority filter; policy accept;
				tcp dport { $((b + 1)), $((b + 11)) } tcp flags & (syn | ack) == syn drop comment "SYN_SENT"
				tcp sport { $((b + 3)), $((b + 13)), $((b + 7)), $((b + 17)), $((b + 8)), $((b + 18)) } tcp flags & fin == fin drop comment "FIN_WAIT1 LAST_ACK CLOSING"
			}
		}
	EOF

	# Wait (bounded) until both ends of the link report carrier.
	local i
	for ((i = 0; i < 50; i++)); do
		if ip -n "$h" link show veth-h | grep -q LOWER_UP &&
			ip -n "$p" link show veth-p | grep -q LOWER_UP; then
			return 0
		fi
		sleep 0.1
	done
	echo "netns.sh: veth between $h and $p has no carrier" >&2
	return 1
}

fs_netns_up() {
	local prefix=${1:?usage: fs_netns_up PREFIX}

	_fs_check_prefix "$prefix" || return 1
	if ip netns list | grep -qE "^($prefix-h|$prefix-p)( |$)"; then
		echo "netns.sh: $prefix-h or $prefix-p already exists" >&2
		return 1
	fi
	if ! _fs_netns_setup "$prefix"; then
		echo "netns.sh: setting up $prefix-h/$prefix-p failed" >&2
		fs_netns_down "$prefix"
		return 1
	fi
}

fs_netns_down() {
	local prefix=${1:?usage: fs_netns_down PREFIX} ns

	_fs_check_prefix "$prefix" || return 0
	for ns in "$prefix-p" "$prefix-h"; do
		[[ -e /run/netns/$ns ]] || continue
		# Let FINs through first: a socket orphaned by a killed process then finishes
		# quickly instead of keeping the (already invisible) namespace alive for hours.
		ip netns exec "$ns" nft flush ruleset >/dev/null 2>&1
		ip netns del "$ns" >/dev/null 2>&1
	done
	return 0
}

fs_cleanup_add() {
	_FS_CLEANUP+=("$*")
}

_fs_run_cleanup() {
	local i
	for ((i = ${#_FS_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${_FS_CLEANUP[i]}" || true
	done
	_FS_CLEANUP=()
}

fs_netns_trap() {
	local prefix=${1:?usage: fs_netns_trap PREFIX}

	_fs_check_prefix "$prefix" || return 1
	fs_cleanup_add "fs_netns_down '$prefix'"
	trap _fs_run_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# fs_sockgen_start SOCKGEN PREFIX DIR [SOCKGEN_ARGS...]
#   Start sockgen between PREFIX-h and PREFIX-p with its stdin on a FIFO that this shell
#   holds open on fd 3, and wait (at most FS_SOCKGEN_WAIT seconds, default 300) for READY.
#   Output goes to DIR/sockgen.out and DIR/sockgen.err; FS_SOCKGEN_PID is its PID, which the
#   exit cleanup kills. fs_sockgen_stop closes fd 3 and waits for sockgen to let go.
fs_netns_test() {
	local name=${1:?usage: fs_netns_test NAME PREFIX}
	prefix=${2:?usage: fs_netns_test NAME PREFIX}
	if [[ $(id -u) -ne 0 ]]; then
		echo "$name: SKIP: needs root for network namespaces"
		exit 77
	fi
	h=$prefix-h
	tmp=$(mktemp -d)
	fs_netns_trap "$prefix"
	fs_cleanup_add "rm -rf '$tmp'"
	fs_netns_up "$prefix"
}

fs_sockgen_start() {
	local bin=$1 prefix=$2 dir=$3 i
	shift 3
	mkfifo "$dir/sockgen.in" || return 1
	"$bin" --host-ns "$prefix-h" --peer-ns "$prefix-p" "$@" \
		<"$dir/sockgen.in" >"$dir/sockgen.out" 2>"$dir/sockgen.err" &
	FS_SOCKGEN_PID=$!
	fs_cleanup_add "kill $FS_SOCKGEN_PID 2>/dev/null; wait $FS_SOCKGEN_PID 2>/dev/null"
	exec 3>"$dir/sockgen.in"
	for ((i = 0; i < ${FS_SOCKGEN_WAIT:-300} * 10; i++)); do
		grep -q '^READY$' "$dir/sockgen.out" && return 0
		kill -0 "$FS_SOCKGEN_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "netns.sh: sockgen did not get ready:" >&2
	cat "$dir/sockgen.err" >&2
	return 1
}

fs_sockgen_stop() {
	exec 3>&-
	wait "$FS_SOCKGEN_PID"
}
