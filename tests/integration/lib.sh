# SPDX-License-Identifier: MIT
# lib.sh: helpers for the collector/agent integration tests (source it).
#   fs_tmpdir                 a temp dir removed at exit (sets $T)
#   fs_db_env                 DB: a SQLite file in $T, or with FS_BACKEND=pg the URI of a
#                             throwaway PostgreSQL cluster's database (fs_pg_start)
#   fs_fleet_env              fs_tmpdir, fs_db_env, and a test fleet's names: PORT, HTTP_PORT,
#                             FS (the CLI), SERVER (its --server URL)
#   fs_free_port              a free loopback TCP port
#   fs_collector_start ARGS   start fleetstat-collector (sets $COL_PID; log in $T/collector.log;
#                             HTTP on 127.0.0.1:$HTTP_PORT unless ARGS say --http)
#   fs_collector_kill [SIG]   stop it (default TERM) and wait
#   fs_col_start NAME HOST PORT ARGS
#                             one of several collectors: started with ARGS (log
#                             $T/collector-NAME.log), waited for on HOST:PORT; COLS[NAME] its PID
#   fs_col_stop NAME SIG      stop it (after TERM it must exit 0) and wait
#   fs_agent_start NAME ARGS  start an agent in daemon mode (sets AGENT_PID[NAME]; log $T/NAME.log)
#   fs_agent_kill NAME [SIG]  (after TERM the agent must exit 0)
#   fs_sql QUERY              run a query on $DB: the sqlite3 shell, or psql with FS_BACKEND=pg
#                             (group_concat(X) reads as string_agg(X::text, ','))
#   fs_pg_start               start a throwaway PostgreSQL cluster (tests/tools/pgcluster.sh) in a
#                             mktemp -d of its own, removed at exit (sets PG_DIR, PG_URI: a libpq
#                             URI of its database fleetstat; its log is PG_DIR/pg.log)
#   fs_pg_restart_immediate   restart it crash-like (pg_ctl restart -m immediate); returns once it
#                             accepts connections again
#   fs_psql QUERY             run a query on $PG_URI with psql (rows unaligned, no header)
#   fs_wait_for SECONDS CMD   run CMD every 0.2 s until it succeeds, at most SECONDS
#   fs_on_exit CMD            also run CMD at exit, after the processes are killed and before
#                             the temp dir goes (e.g. umount)
#   fs_certs DIR ca|collector NAME [SAN...]|agent NAME
#                             deploy/certs.sh, quietly; fails the test with what it said
#   fs_cert_sha256 [FILE]     a PEM certificate's SHA-256 (FILE, or stdin), lowercase hex: as
#                             the collector stores it (hosts.cert_sha256)
#   fail MSG
# FS_TLS=1 runs ingest on mutual TLS: fs_tmpdir makes a CA and certificates in $T/pki
# (deploy/certs.sh), fs_collector_start and fs_col_start add FS_COL_TLS (--tls-cert, --tls-key,
# --tls-client-ca), fs_agent_start adds FS_AGENT_TLS (--tls-ca, --tls-cert, --tls-key); a test
# that runs the agent otherwise passes "${FS_AGENT_TLS[@]}" itself (empty without FS_TLS).
# FS_KEEP=DIR copies the temp dir there at exit.  FS_VERBOSE=1 runs the collector and agents with --verbose.
# Every process started here is killed by PID at exit.

_FS_LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
declare -A AGENT_PID=() COLS=()
COL_PID=""
T=""
_FS_ON_EXIT=()

fs_on_exit() { _FS_ON_EXIT+=("$*"); }

fs_certs() {
	local out
	out=$(bash "$_FS_LIB_ROOT/deploy/certs.sh" "$@" 2>&1) || fail "certs.sh $*: $out"
}

fs_cert_sha256() {
	openssl x509 ${1:+-in "$1"} -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f
}

fail() { echo "FAIL: $*" >&2; exit 1; }

_fs_lib_cleanup() {
	local rc=$? name f
	set +e
	# On failure, the logs say why: print their ends before they go.
	if [ "$rc" -ne 0 ] && [ -n "$T" ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (last 15 lines)" >&2
			grep -v "sending report\|spooled report" "$f" | tail -25 >&2
		done
	fi
	for name in "${!AGENT_PID[@]}"; do
		kill -KILL "${AGENT_PID[$name]}" 2>/dev/null
		wait "${AGENT_PID[$name]}" 2>/dev/null
	done
	for name in "${!COLS[@]}"; do
		kill -KILL "${COLS[$name]}" 2>/dev/null
		wait "${COLS[$name]}" 2>/dev/null
	done
	if [ -n "$COL_PID" ]; then
		kill -KILL "$COL_PID" 2>/dev/null
		wait "$COL_PID" 2>/dev/null
	fi
	for f in "${_FS_ON_EXIT[@]}"; do eval "$f"; done
	# FS_KEEP=DIR keeps the temp dir (logs, database) there.
	[ -n "$T" ] && [ -n "${FS_KEEP:-}" ] && cp -a "$T" "$FS_KEEP"
	[ -n "$T" ] && rm -rf "$T"
}
trap _fs_lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

FS_COL_TLS=()
FS_AGENT_TLS=()
fs_tmpdir() {
	T=$(mktemp -d)
	chmod 700 "$T"
	[ "${FS_TLS:-0}" = 1 ] || return 0
	# The collector's certificate for the addresses the tests dial: 127.0.0.1 and ::1.
	local p=$T/pki
	fs_certs "$p" ca
	fs_certs "$p" collector c1.test 127.0.0.1 ::1
	fs_certs "$p" agent agent
	FS_COL_TLS=(--tls-cert "$p/c1.test.crt" --tls-key "$p/c1.test.key" --tls-client-ca "$p/ca.crt")
	FS_AGENT_TLS=(--tls-ca "$p/ca.crt" --tls-cert "$p/agent.crt" --tls-key "$p/agent.key")
}

fs_db_env() {
	DB=$T/fleetstat.db
	if [ "${FS_BACKEND:-sqlite}" = pg ]; then
		fs_pg_start
		DB=$PG_URI
	fi
}

fs_fleet_env() {
	fs_tmpdir
	fs_db_env
	PORT=$(fs_free_port)
	HTTP_PORT=$(fs_free_port)
	FS="$BUILD/fleetstat"
	SERVER="http://127.0.0.1:$HTTP_PORT"
}

fs_free_port() { "$_FS_LIB_ROOT/deploy/free-port"; }

fs_collector_start() {
	# Its HTTP API on a port of the test's own ($HTTP_PORT, picked once), unless given.
	local http=()
	[ -n "${HTTP_PORT:-}" ] || HTTP_PORT=$(fs_free_port)
	[[ " $* " == *" --http "* ]] || http=(--http "127.0.0.1:$HTTP_PORT")
	"$BUILD/fleetstat-collector" ${FS_VERBOSE:+--verbose} "${http[@]}" "${FS_COL_TLS[@]}" "$@" \
		>>"$T/collector.log" 2>&1 &
	COL_PID=$!
	fs_wait_for 10 fs_port_open "$PORT" || fail "collector did not listen: $(tail -5 "$T/collector.log")"
}

fs_port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

fs_col_start() {
	local name=$1 host=$2 port=$3
	shift 3
	"$BUILD/fleetstat-collector" ${FS_VERBOSE:+--verbose} "${FS_COL_TLS[@]}" "$@" \
		>>"$T/collector-$name.log" 2>&1 &
	COLS[$name]=$!
	fs_wait_for 15 fs_port_open "$port" "$host" || fail "collector $name did not listen"
}

fs_col_stop() {
	local rc=0
	kill -"$2" "${COLS[$1]}"
	{ wait "${COLS[$1]}"; } 2>/dev/null || rc=$?  # no "Killed" line from the shell
	unset "COLS[$1]"
	[ "$2" != TERM ] || [ "$rc" = 0 ] || fail "collector $1 exited $rc after SIGTERM"
}

fs_collector_kill() {
	kill -"${1:-TERM}" "$COL_PID" 2>/dev/null
	wait "$COL_PID" 2>/dev/null
	local rc=$?
	COL_PID=""
	return $rc
}

fs_agent_start() {
	local name=$1
	shift
	"$BUILD/fleetstat-agent" ${FS_VERBOSE:+--verbose} "${FS_AGENT_TLS[@]}" "$@" >>"$T/$name.log" 2>&1 &
	AGENT_PID[$name]=$!
}

# fs_agent_saved NAME TIER FILE: an agent in a UTS namespace of its own (hostname NAME) that
# reports FILE, a saved `ss -tan`, every second to the collector on $PORT: the same sockets in
# every report.
fs_agent_saved() {
	local h=$1 tier=$2 ss=$3
	mkdir -m 700 "$T/state-$h"
	# unshare without --fork execs: $! is the agent itself.
	unshare --uts sh -c "hostname $h && exec '$BUILD/fleetstat-agent' --collector 127.0.0.1:$PORT \
		--tier $tier --interval 1 --input '$ss' --state-dir '$T/state-$h'" >>"$T/$h.log" 2>&1 &
	AGENT_PID[$h]=$!
}

fs_agent_kill() {
	local name=$1
	local rc=0
	kill -"${2:-TERM}" "${AGENT_PID[$name]}" 2>/dev/null
	wait "${AGENT_PID[$name]}" 2>/dev/null || rc=$?
	unset "AGENT_PID[$name]"
	# A SIGKILLed agent exits 137 by design; after SIGTERM it must exit 0.
	[ "${2:-TERM}" != TERM ] || [ "$rc" -eq 0 ] || fail "agent $name exited $rc after SIGTERM"
}

fs_sql() {
	if [ "${FS_BACKEND:-sqlite}" = pg ]; then
		PG_URI=$DB fs_psql "$(sed -E "s/group_concat\(([^)]*)\)/string_agg((\1)::text, ',')/g" <<<"$1")"
	else
		sqlite3 -batch -noheader "$DB" "$1"
	fi
}

_FS_PGCLUSTER=$_FS_LIB_ROOT/tests/tools/pgcluster.sh
PG_DIR=""
PG_URI=""

fs_pg_start() {
	# Its own dir, not one in $T: the server's user (postgres, as root) must reach it.
	PG_DIR=$(mktemp -d)
	# Registered first, so that a start that fails half-way is undone too. FS_KEEP keeps its log.
	fs_on_exit "$(printf '%q ' _fs_pg_stop "$PG_DIR")"
	PG_URI=$("$_FS_PGCLUSTER" start "$PG_DIR") || fail "no PostgreSQL cluster"
}

_fs_pg_stop() {
	[ -n "$T" ] && [ -f "$1/pg.log" ] && cp "$1/pg.log" "$T/postgres.log"
	"$_FS_PGCLUSTER" stop "$1"
}

# fs_pg_standby: a streaming replica of fs_pg_start's cluster: REPLICA_DIR, REPLICA_URI.
fs_pg_standby() {
	REPLICA_DIR=$(mktemp -d)
	fs_on_exit "$(printf '%q ' "$_FS_PGCLUSTER" stop "$REPLICA_DIR")"
	REPLICA_URI=$("$_FS_PGCLUSTER" standby "$PG_DIR" "$REPLICA_DIR") || fail "no PostgreSQL standby"
}

# fs_pg_caught_up: the standby has replayed everything the primary has written so far.
fs_pg_caught_up() {
	local want
	want=$(fs_psql "SELECT pg_current_wal_lsn()") || return 1
	[ "$(psql -X -A -t -q "$REPLICA_URI" -c "SELECT pg_last_wal_replay_lsn() >= '$want'")" = t ]
}

fs_pg_restart_immediate() { "$_FS_PGCLUSTER" restart-immediate "$PG_DIR" || fail "PostgreSQL restart"; }

fs_psql() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_URI" -c "$1"; }

fs_wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# fs_seqs_ok TIER: that tier's seqs are 1..max, each once.
fs_seqs_ok() {
	case $(fs_sql "SELECT CASE WHEN count(*) = max(r.seq) AND count(DISTINCT r.seq) = count(*)
	               AND min(r.seq) = 1 THEN 1 ELSE 0 END
	               FROM reports r JOIN hosts h ON h.id = r.host_id WHERE h.tier = '$1'") in
	1) return 0 ;;
	*) return 1 ;;
	esac
}

# fs_veth_pair SRV CLI: namespaces SRV and CLI joined by a veth pair (veth-s in SRV, veth-c in
# CLI), loopbacks up; addresses are the caller's.
fs_veth_pair() {
	ip netns add "$1" && ip netns add "$2" &&
		ip -n "$1" link add veth-s type veth peer name veth-c netns "$2" &&
		ip -n "$1" link set lo up && ip -n "$2" link set lo up || fail "namespaces $1 and $2"
}

# fs_netns_down SRV CLI [NGINX_PID NGINX_PIDFILE]: at exit, an nginx master by PID (until its
# pid file is gone, 5 s at most), then whatever is left in the two namespaces, by PID, then
# the namespaces.
fs_netns_down() {
	local i p
	if [ -n "${3:-}" ]; then
		kill -TERM "$3" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			[ -e "$4" ] || break
			sleep 0.1
		done
		kill -KILL "$3" 2>/dev/null
		wait "$3" 2>/dev/null
	fi
	for p in $(ip netns pids "$1" 2>/dev/null) $(ip netns pids "$2" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$2" 2>/dev/null
	ip netns del "$1" 2>/dev/null
}

# fs_veth_up SRV CLI: the pair of fs_veth_pair up, waiting (5 s at most) for carrier both ends.
fs_veth_up() {
	local i s c
	ip -n "$1" link set veth-s up && ip -n "$2" link set veth-c up || fail "veth up"
	for ((i = 0; i < 50; i++)); do
		s=$(ip -n "$1" link show veth-s) c=$(ip -n "$2" link show veth-c)
		[[ $s == *LOWER_UP* && $c == *LOWER_UP* ]] && return 0
		sleep 0.1
	done
	fail "veth between $1 and $2 has no carrier in 5 s"
}

# fs_web_site DIR TITLE: a small site under DIR/www (/, /shop/item.html, /img/logo.png) for nginx.
# fs_nginx_conf DIR WORKERS CONNECTIONS: the head of an nginx.conf for a server of the test's
# own in DIR (its pid, lock and temp paths there, errors to $T/nginx-error.log), through
# "http {" and its temp paths; the test writes the rest of its http block and the closing "}".
fs_nginx_conf() {
	local n=$1
	cat <<EOF
user root;
worker_processes $2;
worker_rlimit_nofile $(($3 * 2 > 1024 ? $3 * 2 : 1024));
error_log $T/nginx-error.log warn;
pid $n/nginx.pid;
lock_file $n/nginx.lock;
events { worker_connections $3; }
http {
    types { text/html html; image/png png; }
    default_type text/plain;
    client_body_temp_path $n/tmp/body;
    proxy_temp_path $n/tmp/proxy;
    fastcgi_temp_path $n/tmp/fastcgi;
    uwsgi_temp_path $n/tmp/uwsgi;
    scgi_temp_path $n/tmp/scgi;
EOF
}

fs_web_site() {
	mkdir -p "$1/www/shop" "$1/www/img" "$1/tmp"
	echo "<html><body>$2</body></html>" >"$1/www/index.html"
	seq 1 300 >"$1/www/shop/item.html"
	head -c 4096 /dev/urandom >"$1/www/img/logo.png"
}

# fs_requests_counted N: the collector's `requests --since 1h` (into $T/req.json) totals N or more.
fs_requests_counted() {
	"$FS" --server "$SERVER" --format json requests --since 1h --limit 1000 >"$T/req.json" 2>/dev/null &&
		python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["requests"]["total"] >= int(sys.argv[2]) else 1)' \
			"$T/req.json" "$1"
}

# fs_requests_per_ip N: $T/req.json's rows as "IP COUNT" lines, sorted, after checking that they
# total N and that each is exact (no error, upper bound the count).
fs_requests_per_ip() {
	python3 - "$T/req.json" "$1" <<'EOF' | LC_ALL=C sort
import json, sys
d = json.load(open(sys.argv[1]))
assert d["requests"]["total"] == int(sys.argv[2]), (d["requests"]["total"], sys.argv[2])
for r in d["rows"]:
    assert r["error"] == 0 and r["upper_bound"] == r["requests"], r
    print(r["ip"], r["requests"])
EOF
}
