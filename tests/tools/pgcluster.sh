#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pgcluster.sh: a throwaway PostgreSQL 15 cluster for tests, reachable only on a Unix socket in its own dir.
#
#   pgcluster.sh start DIR          DIR: a new empty directory of the caller's, made with its own
#                                   `mktemp -d` (not a subdirectory of a test's 700 temp dir: the
#                                   server user must reach it). Runs initdb into DIR/data, starts the
#                                   server (log DIR/pg.log, socket in DIR), creates the database
#                                   fleetstat and prints one line, its libpq URI:
#                                     postgresql:///fleetstat?host=DIR&user=postgres&port=5432
#                                   On failure: a message on stderr, exit 1, nothing left running
#                                   (DIR stays, with the log; `stop DIR` removes it).
#   pgcluster.sh stop DIR           stop the server (fast, then immediate, then SIGKILL by the PID in
#                                   postmaster.pid) and remove DIR. Idempotent; fine on a dir whose
#                                   start failed half-way. Refuses a DIR that start did not make.
#   pgcluster.sh restart-immediate DIR  a crash-like restart (pg_ctl restart -m immediate); returns
#                                   once it accepts connections again
#   pgcluster.sh standby PRIMARY DIR  a streaming replica of the cluster in PRIMARY (a dir start
#                                   made) in DIR (a new empty mktemp -d, as for start):
#                                   pg_basebackup -R, its own socket in DIR; read-only. Prints its
#                                   URI once it accepts connections; `stop DIR` removes it.
#   pgcluster.sh uri DIR            print the URI again
#   pgcluster.sh run CMD ARGS...    start a cluster in a temp dir of its own, run CMD with
#                                   FS_PG_URI (the URI) and FS_PG_DIR (the dir) exported, stop and
#                                   remove the cluster whatever happens; exits with CMD's status
#                                   (on INT/TERM: 130/143, CMD gets TERM, then KILL after 5 s)
#
# As root the server runs as the system user postgres (root cannot run it), otherwise as the
# caller. Authentication is trust on the socket, so DIR stays 700: only its owner and root get in.
# FS_PG_BIN overrides the binaries' directory (default /usr/lib/postgresql/15/bin).
# Every wait is bounded; processes are found by PID, never by name.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

PG_BIN=${FS_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=5432
MARK=.fs-pgcluster
START_SECS=30 # pg_ctl -t for start and restart
STOP_SECS=20  # pg_ctl -t for each way of stopping

# The caller's libpq settings must not steer the cluster's tools elsewhere.
unset PGDATA PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGOPTIONS PGPASSFILE

die() { echo "pgcluster: $*" >&2; exit 1; }

usage() { sed -n '4,26p' "$0" >&2; exit 2; }

# as_server CMD...: run CMD as the server's user, in DIR (the caller's cwd may be closed to it).
as_server() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$dir" && runuser -u postgres -- "$@")
	else
		(cd "$dir" && "$@")
	fi
}

# uri_of DIR [DB]: the libpq URI of database DB (default fleetstat) of the cluster in DIR, the host
# percent-encoded byte by byte but for [A-Za-z0-9/._~-].
uri_of() {
	local s=$1 db=${2:-fleetstat} out="" c i LC_ALL=C
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9/._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	echo "postgresql:///$db?host=$out&user=postgres&port=$PG_PORT"
}

# set_dir DIR: the absolute path of an existing DIR in $dir.
set_dir() {
	[ -n "${1:-}" ] || usage
	[ -d "$1" ] || die "no directory $1"
	dir=$(cd "$1" && pwd -P)
	[ "$dir" != / ] || die "refusing /"
}

# postmaster_pid: the live postmaster of $dir/data, if any, on stdout; false if none.
postmaster_pid() {
	local pid
	[ -f "$dir/data/postmaster.pid" ] || return 1
	pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	# Only the server of this data dir: a stale file's PID may since belong to anything.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/data" || return 1
	echo "$pid"
}

server_down() {
	local pid i
	pid=$(postmaster_pid) || return 0
	as_server "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t "$STOP_SECS" stop >/dev/null 2>&1 && return 0
	echo "pgcluster: fast shutdown of $dir failed; immediate" >&2
	as_server "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t "$STOP_SECS" stop >/dev/null 2>&1 && return 0
	pid=$(postmaster_pid) || return 0
	echo "pgcluster: immediate shutdown of $dir failed; SIGKILL to $pid and its children" >&2
	local kids
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	# shellcheck disable=SC2086 # kids: a list of PIDs
	kill -KILL "$pid" $kids 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "pgcluster: postmaster $pid of $dir still there after SIGKILL" >&2
	return 1
}

accepts() { "$PG_BIN/psql" -X -A -t -q "$(uri_of "$dir")" -c 'select 1' 2>/dev/null | grep -qx 1; }

wait_accepts() {
	local i
	for ((i = 0; i < START_SECS * 5; i++)); do
		accepts && return 0
		sleep 0.2
	done
	return 1
}

start_fail() {
	echo "pgcluster: $*" >&2
	[ -f "$dir/pg.log" ] && { echo "--- $dir/pg.log (last 20 lines)" >&2; tail -n 20 "$dir/pg.log" >&2; }
	server_down || true
	exit 1
}

cmd_start() {
	set_dir "${1:-}"
	[ -x "$PG_BIN/initdb" ] || die "no $PG_BIN/initdb (install postgresql-15, or set FS_PG_BIN)"
	new_dir

	as_server "$PG_BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale \
		--auth-local=trust --auth-host=reject >"$dir/initdb.log" 2>&1 ||
		{ tail -n 20 "$dir/initdb.log" >&2; die "initdb failed in $dir"; }
	local q=${dir//\'/\'\'}
	cat >>"$dir/data/postgresql.conf" <<-EOF

		# pgcluster.sh: a throwaway test cluster
		listen_addresses = ''
		unix_socket_directories = '$q'
		unix_socket_permissions = 0700
		port = $PG_PORT
		fsync = on
		max_connections = 100
		shared_buffers = 128MB
	EOF
	as_server "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t "$START_SECS" start >/dev/null 2>&1 ||
		start_fail "the server in $dir did not start within ${START_SECS} s"
	as_server "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$(uri_of "$dir" postgres)" -c 'CREATE DATABASE fleetstat' >/dev/null 2>"$dir/createdb.log" ||
		start_fail "CREATE DATABASE fleetstat failed: $(cat "$dir/createdb.log")"
	accepts || start_fail "the database fleetstat in $dir does not answer"
	uri_of "$dir"
}

# new_dir: $dir (set_dir'd) checked empty and short enough, marked, and made the server user's.
new_dir() {
	[ -z "$(ls -A "$dir")" ] || die "$dir is not empty (start wants a new mktemp -d)"
	# The socket's path must fit in sun_path (108 bytes with the NUL).
	[ $((${#dir} + ${#PG_PORT} + 10)) -le 107 ] || die "$dir is too long for a Unix socket path"
	: >"$dir/$MARK"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir" "$dir/$MARK"
		runuser -u postgres -- test -w "$dir" -a -x "$dir" ||
			die "user postgres cannot reach $dir (a parent dir closed to it?): use a separate mktemp -d"
	fi
	chmod 700 "$dir"
}

cmd_standby() {
	local primary
	set_dir "${1:-}"
	primary=$dir
	[ -e "$primary/$MARK" ] || die "$primary was not made by pgcluster.sh start"
	set_dir "${2:-}"
	new_dir
	as_server "$PG_BIN/pg_basebackup" -D "$dir/data" -R -X stream \
		-d "host=$primary port=$PG_PORT user=postgres" >"$dir/basebackup.log" 2>&1 ||
		{ tail -n 20 "$dir/basebackup.log" >&2; die "pg_basebackup from $primary failed"; }
	local q=${dir//\'/\'\'}
	# The primary's settings came with the copy; the socket is this one's own (the last wins).
	printf "\n# pgcluster.sh: a standby of %s\nunix_socket_directories = '%s'\n" \
		"$primary" "$q" >>"$dir/data/postgresql.conf"
	as_server "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t "$START_SECS" start >/dev/null 2>&1 ||
		start_fail "the standby in $dir did not start within ${START_SECS} s"
	wait_accepts || start_fail "the standby in $dir does not answer"
	uri_of "$dir"
}

cmd_stop() {
	[ -n "${1:-}" ] || usage
	[ -e "$1" ] || return 0
	set_dir "$1"
	[ -e "$dir/$MARK" ] || [ -z "$(ls -A "$dir")" ] || die "$dir was not made by pgcluster.sh start; not removing it"
	server_down || die "could not stop the server in $dir; left in place"
	rm -rf "$dir"
}

cmd_restart_immediate() {
	set_dir "${1:-}"
	[ -e "$dir/$MARK" ] || die "$dir was not made by pgcluster.sh start"
	postmaster_pid >/dev/null || die "no server running in $dir"
	as_server "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -m immediate -w -t "$START_SECS" restart >/dev/null 2>&1 ||
		die "restart of $dir failed or took over ${START_SECS} s (see $dir/pg.log)"
	wait_accepts || die "$dir does not accept connections ${START_SECS} s after its restart"
}

cmd_uri() {
	set_dir "${1:-}"
	[ -e "$dir/$MARK" ] || die "$dir was not made by pgcluster.sh start"
	uri_of "$dir"
}

# run_done: the EXIT trap of run. CMD first (TERM, then KILL after 5 s), then the cluster.
run_done() {
	local rc=$? i
	set +e
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$child" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	"$self" stop "$FS_PG_DIR" || rc=1
	exit "$rc"
}

cmd_run() {
	[ $# -gt 0 ] || usage
	local rc=0
	child=""
	FS_PG_DIR=$(mktemp -d)
	# Removed whatever happens: the trap is set before the cluster exists.
	trap run_done EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	FS_PG_URI=$("$self" start "$FS_PG_DIR") || exit 1
	export FS_PG_URI FS_PG_DIR
	# In the background, so that a signal to this script runs its trap at once rather than
	# after CMD ends; stdin stays the caller's.
	"$@" <&0 &
	child=$!
	wait "$child" || rc=$?
	child=""
	exit "$rc"
}

case ${1:-} in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
restart-immediate) shift; cmd_restart_immediate "$@" ;;
standby) shift; cmd_standby "$@" ;;
uri) shift; cmd_uri "$@" ;;
run) shift; cmd_run "$@" ;;
*) usage ;;
esac
