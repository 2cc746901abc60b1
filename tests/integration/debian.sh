#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# debian.sh: the Debian packages. A copy of this tree built with the README's one command
# (dpkg-buildpackage -us -uc -b): lintian finds no error, the programs are hardened (PIE,
# RELRO, BIND_NOW, fortified). Installed with apt-get: the programs run, the units pass
# systemd-analyze verify and are enabled, the configs are conffiles with the examples'
# content, man finds the manual pages, the token is made (0600 root). An agent started from
# its installed unit's command line reports to a collector started from its unit's. Purged:
# nothing of the packages is left but the collector's database; installed again, the
# collector finds it, and a purge with /etc/fleetstat/purge-database (or with
# FLEETSTAT_PURGE_DATABASE=yes) removes it. The machine is left as it was, on failure too
# (the packages purged at exit); a machine that has fleetstat packages or their files skips.
set -euo pipefail

BUILD=$(cd "${1:?usage: debian.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"

skip() { echo "debian.sh: SKIP: $*"; exit 77; }
# The packages are built from the tree, not from BUILD: the normal pass tests them, once.
grep -q '^FLEETSTAT_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null &&
	skip "a sanitizer build (the packages do not come from it; the normal build's pass tests them)"
[ "$(id -u)" -eq 0 ] || skip "needs root (apt-get install)"
PKGS=(fleetstat-agent fleetstat-collector fleetstat)
installed() { # installed PKG: it is known to dpkg in any state but not-installed
	case $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) in
	"" | not-installed) return 1 ;;
	esac
}
for p in "${PKGS[@]}"; do
	! installed "$p" || skip "$p is on this machine already: not touching it"
done
# Where the packages and their services keep things; the test removes them, so they must be
# the test's own.
OURS=(/etc/fleetstat /var/lib/fleetstat /var/lib/private/fleetstat /var/lib/fleetstat-agent
	/var/lib/private/fleetstat-agent)
for f in "${OURS[@]}"; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || skip "$f is there (an earlier install's?): not touching it"
done
for c in dpkg-buildpackage dh lintian apt-get systemd-analyze readelf git man; do
	command -v "$c" >/dev/null || fail "$c missing (deploy/install-deps.sh installs it)"
done
git -C "$root" rev-parse --git-dir >/dev/null 2>&1 || skip "$root is no git checkout (the copy is git's list of files)"

fs_tmpdir
WANTS=/etc/systemd/system/multi-user.target.wants
wants_was=0
[ -d "$WANTS" ] && wants_was=1
private_was=0
[ -d /var/lib/private ] && private_was=1
touched=0
# At exit, whatever happened: the packages purged with their database, what the test made as
# systemd would have removed, systemd's own directories as they were.
deb_cleanup() {
	local p left=()
	[ "$touched" = 1 ] || return 0
	for p in "${PKGS[@]}"; do installed "$p" && left+=("$p"); done
	[ ${#left[@]} -eq 0 ] || FLEETSTAT_PURGE_DATABASE=yes DEBIAN_FRONTEND=noninteractive \
		apt-get purge -y -qq "${left[@]}" >/dev/null 2>&1
	rm -rf "${OURS[@]}"
	[ "$wants_was" = 1 ] || rmdir "$WANTS" 2>/dev/null
	[ "$private_was" = 1 ] || rmdir /var/lib/private 2>/dev/null
	[ "$private_was" = 0 ] || [ -d /var/lib/private ] || mkdir -m 0700 /var/lib/private
}
fs_on_exit deb_cleanup

# The tree as git lists it (a fresh clone's, with this checkout's edits), built as the README says.
src=$T/src/fleetstat
mkdir -p "$src"
git -C "$root" ls-files -z | (cd "$root" && tar --null -T - --ignore-failed-read -cf -) | tar -C "$src" -xf -
t0=$SECONDS
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$T/dpkg-buildpackage.log" 2>&1 ||
	fail "dpkg-buildpackage -us -uc -b: $(tail -20 "$T/dpkg-buildpackage.log")"
echo "dpkg-buildpackage -us -uc -b: $((SECONDS - t0)) s"
ver=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
debs=()
for p in "${PKGS[@]}"; do
	debs+=("$T/src/${p}_${ver}_$arch.deb")
	[ -f "${debs[-1]}" ] || fail "no ${debs[-1]##*/}"
done

# lintian: no error; the warnings are the README's (section Install).
rc=0
# Its temp files (it leaves some: MLDBM caches) go with the test's.
TMPDIR=$T lintian "$T/src/fleetstat_${ver}_$arch.changes" >"$T/lintian.out" 2>&1 || rc=$?
! grep -q '^E: ' "$T/lintian.out" || fail "lintian errors: $(grep '^E: ' "$T/lintian.out")"
[ "$rc" -eq 0 ] || fail "lintian exited $rc: $(cat "$T/lintian.out")"
echo "lintian: no error, $(grep -c '^W: ' "$T/lintian.out" || true) warnings"
sed -n 's/^W: /  /p' "$T/lintian.out"

touched=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${debs[@]}" >"$T/apt-install.log" 2>&1 ||
	fail "apt-get install: $(tail -20 "$T/apt-install.log")"
for p in "${PKGS[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p")" = "install ok installed" ] || fail "$p is not installed"
	dpkg -L "$p" >>"$T/files"
done

# The programs, hardened as Debian's flags ask.
for b in fleetstat fleetstat-agent fleetstat-collector; do
	out=$("/usr/bin/$b" --version 2>&1) || fail "$b --version: $out"
	[[ $out == *"${ver%-*}"* ]] || fail "$b --version says '$out', not ${ver%-*}"
	elf=$(readelf -hdlW --dyn-syms "/usr/bin/$b")
	grep -q 'Type: *DYN' <<<"$elf" || fail "$b is no PIE"
	grep -q 'GNU_RELRO' <<<"$elf" || fail "$b has no RELRO"
	grep -q 'BIND_NOW' <<<"$elf" || fail "$b is not linked with -z now"
	grep -q '__[a-z_]*_chk@' <<<"$elf" || fail "$b has no fortified calls"
	grep -q '__stack_chk_fail@' <<<"$elf" || fail "$b has no stack protector"
done
echo "programs: --version ${ver%-*}; PIE, RELRO, BIND_NOW, fortify, stack protector"

# The units: valid, enabled, reading /etc/fleetstat; the configs conffiles, as the examples.
units=(/lib/systemd/system/fleetstat-agent.service /lib/systemd/system/fleetstat-collector.service)
systemd-analyze verify "${units[@]}" >"$T/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.out")"
for u in agent collector; do
	[ "$(readlink "$WANTS/fleetstat-$u.service")" = "/lib/systemd/system/fleetstat-$u.service" ] ||
		fail "fleetstat-$u.service is not enabled ($WANTS)"
	grep -q "^ExecStart=/usr/bin/fleetstat-$u --config /etc/fleetstat/$u.ini " \
		"/lib/systemd/system/fleetstat-$u.service" || fail "fleetstat-$u.service: ExecStart"
	grep -q '^LoadCredential=token:/etc/fleetstat/token$' "/lib/systemd/system/fleetstat-$u.service" ||
		fail "fleetstat-$u.service: LoadCredential"
	grep -q "^ /etc/fleetstat/$u.ini " <<<"$(dpkg-query --showformat='${Conffiles}\n' -W "fleetstat-$u")" ||
		fail "/etc/fleetstat/$u.ini is not a conffile of fleetstat-$u"
	cmp -s "/etc/fleetstat/$u.ini" "$root/deploy/$u.ini.example" || fail "/etc/fleetstat/$u.ini is not the example"
	cmp -s "/usr/share/doc/fleetstat-$u/examples/$u.ini.example" "$root/deploy/$u.ini.example" ||
		fail "fleetstat-$u: no examples/$u.ini.example"
	[ -s "/usr/share/doc/fleetstat-$u/README.Debian" ] || fail "fleetstat-$u: no README.Debian"
done
for f in fleetstat-summary certs.sh; do
	[ -f "/usr/share/doc/fleetstat-collector/examples/$f" ] || fail "fleetstat-collector: no examples/$f"
done
echo "units: systemd-analyze verify passes, both enabled; configs: conffiles, the examples"

# The manual pages, each in its package: fleetstat.ini(5) with fleetstat(1), which reads
# collector.ini too (the daemons' pages describe their own keys in full).
declare -A page_of=([fleetstat.1]=fleetstat [fleetstat.ini.5]=fleetstat
	[fleetstat-agent.8]=fleetstat-agent [fleetstat-collector.8]=fleetstat-collector)
for pg in "${!page_of[@]}"; do
	sec=${pg##*.}
	f=/usr/share/man/man$sec/$pg.gz
	grep -q " \.$f\$" <<<"$(dpkg-deb -c "$T/src/${page_of[$pg]}_${ver}_$arch.deb")" || fail "${page_of[$pg]} has no $f"
	# A minimal image's dpkg may leave manual pages out (path-exclude): then the package is enough.
	grep -qs '^path-exclude=/usr/share/man' /etc/dpkg/dpkg.cfg.d/* && continue
	[ "$(man -w "$sec" "${pg%.*}" 2>&1)" = "$f" ] || fail "man -w $sec ${pg%.*}: $(man -w "$sec" "${pg%.*}" 2>&1)"
done
echo "manual pages: ${!page_of[*]}, each in its package, found by man -w"

# The token: made once for both, 64 hex digits, 0600 root.
[ "$(stat -c '%a %U %G' /etc/fleetstat/token)" = "600 root root" ] ||
	fail "/etc/fleetstat/token: $(stat -c '%a %U %G' /etc/fleetstat/token 2>&1)"
grep -Eqx '[0-9a-f]{64}' /etc/fleetstat/token && [ "$(wc -l </etc/fleetstat/token)" = 1 ] ||
	fail "/etc/fleetstat/token is not one line of 64 hex digits"
token_sum=$(sha256sum </etc/fleetstat/token)

# unit_cmd UNIT DIR: the unit's ExecStart into CMD, with DIR/cred (the token copied there, as
# LoadCredential does) and DIR/state (StateDirectory) for systemd's variables.
unit_cmd() {
	local line
	install -d -m 0700 "$2" "$2/cred" "$2/state"
	install -m 0600 /etc/fleetstat/token "$2/cred/token"
	line=$(sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1.service")
	line=${line//'${CREDENTIALS_DIRECTORY}'/$2/cred}
	line=${line//'${STATE_DIRECTORY}'/$2/state}
	[[ $line != *'$'* ]] || fail "$1.service: a variable left in ExecStart: $line"
	read -ra CMD <<<"$line"
	[ "${CMD[0]}" = "/usr/bin/$1" ] || fail "$1.service runs ${CMD[0]}"
}

# The installed collector and agent, from their units' command lines: only where the collector
# listens (a free loopback port; the installed collector.ini's 0.0.0.0 wants TLS) and where
# the agent sends (the installed agent.ini names an example host) are changed.
PORT=$(fs_free_port)
HTTP_PORT=$(fs_free_port)
unit_cmd fleetstat-collector "$T/collector"
BUILD=/usr/bin fs_collector_start "${CMD[@]:1}" --listen "127.0.0.1:$PORT"
unit_cmd fleetstat-agent "$T/agent"
BUILD=/usr/bin fs_agent_start agent "${CMD[@]:1}" --collector "127.0.0.1:$PORT"
host=$(uname -n)
reported() {
	/usr/bin/fleetstat --server "http://127.0.0.1:$HTTP_PORT" --format json hosts >"$T/hosts.json" 2>/dev/null &&
		python3 - "$T/hosts.json" "$host" <<'EOF'
import json, sys
hs = json.load(open(sys.argv[1]))["hosts"]
sys.exit(0 if any(h["hostname"] == sys.argv[2] and h["tier"] == "web" for h in hs) else 1)
EOF
}
fs_wait_for 30 reported || fail "the agent's report is not in the collector's hosts: $(cat "$T/hosts.json" 2>&1)"
fs_agent_kill agent TERM
fs_collector_kill TERM || fail "the installed collector did not exit 0 on SIGTERM"
/usr/bin/fleetstat --db "$T/collector/state/fleetstat.db" --format json hosts >"$T/hosts.json" ||
	fail "fleetstat --db on the collector's database"
reported_db() { python3 -c 'import json, sys; sys.exit(0 if any(h["hostname"] == sys.argv[2] for h in json.load(open(sys.argv[1]))["hosts"]) else 1)' "$T/hosts.json" "$host"; }
reported_db || fail "the agent's host is not in the database: $(cat "$T/hosts.json")"
echo "the installed agent (its unit's command line) reported to the installed collector: $host, tier web"

# As systemd leaves them (DynamicUser=yes): the state under /var/lib/private, linked from
# /var/lib; the collector's with the database the run made. (Where systemd runs, it has made
# them when it started the units.)
state_dir() { # state_dir NAME FROM
	[ -d /var/lib/private ] || mkdir -m 0700 /var/lib/private
	install -d -m 0700 "/var/lib/private/$1"
	cp -a "$2/." "/var/lib/private/$1/"
	[ -L "/var/lib/$1" ] || ln -s "private/$1" "/var/lib/$1"
}
state_dir fleetstat-agent "$T/agent/state"
state_dir fleetstat "$T/collector/state"
db_sum=$(sha256sum </var/lib/private/fleetstat/fleetstat.db)

# Purged: nothing of theirs but the database.
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${PKGS[@]}" >"$T/apt-purge.log" 2>&1 ||
	fail "apt-get purge: $(tail -20 "$T/apt-purge.log")"
grep -q "the database in /var/lib/private/fleetstat is kept" "$T/apt-purge.log" ||
	fail "purge did not say that it kept the database"
left_over() {
	local p f
	for p in "${PKGS[@]}"; do ! installed "$p" || echo "package $p"; done
	while read -r f; do
		[ -d "$f" ] && [[ $f != *fleetstat* ]] && continue
		[ -e "$f" ] || [ -L "$f" ] && echo "$f"
	done <"$T/files"
	for f in /etc/fleetstat /var/lib/fleetstat-agent /var/lib/private/fleetstat-agent \
		"$WANTS"/fleetstat-* /etc/systemd/system/fleetstat-* \
		/var/lib/systemd/deb-systemd-helper-enabled/*fleetstat* \
		/var/lib/systemd/deb-systemd-helper-masked/*fleetstat*; do
		[ -e "$f" ] || [ -L "$f" ] && echo "$f"
	done
	return 0
}
rest=$(left_over)
[ -z "$rest" ] || fail "left after purge: $rest"
[ "$(sha256sum </var/lib/private/fleetstat/fleetstat.db)" = "$db_sum" ] && [ -L /var/lib/fleetstat ] ||
	fail "purge did not keep the collector's database"
echo "purged: nothing left but the collector's database"

# Installed again, the collector goes on with the kept database (and, alone, makes a new
# token); purged with /etc/fleetstat/purge-database, and again with FLEETSTAT_PURGE_DATABASE=yes
# in the environment, the database goes too.
for how in /etc/fleetstat/purge-database FLEETSTAT_PURGE_DATABASE=yes; do
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${debs[1]}" \
		>"$T/apt-install.log" 2>&1 || fail "apt-get install fleetstat-collector: $(tail -20 "$T/apt-install.log")"
	[ -f /etc/fleetstat/token ] && [ "$(sha256sum </etc/fleetstat/token)" != "$token_sum" ] ||
		fail "fleetstat-collector alone made no new token"
	if [ "$how" = /etc/fleetstat/purge-database ]; then # the first: the database the purge kept
		[ "$(sha256sum </var/lib/private/fleetstat/fleetstat.db)" = "$db_sum" ] || fail "the kept database changed"
	else
		state_dir fleetstat "$T/collector/state"
	fi
	env=(env)
	case $how in
	/*) touch "$how" ;;
	*) env+=("$how") ;;
	esac
	"${env[@]}" DEBIAN_FRONTEND=noninteractive apt-get purge -y -q fleetstat-collector >"$T/apt-purge.log" 2>&1 ||
		fail "apt-get purge fleetstat-collector: $(tail -20 "$T/apt-purge.log")"
	rest=$(left_over)
	for f in /var/lib/fleetstat /var/lib/private/fleetstat; do
		[ -e "$f" ] || [ -L "$f" ] && rest+=" $f"
	done
	[ -z "$rest" ] || fail "left after purge with $how: $rest"
	echo "purged with $how: the database too"
done
[ "$private_was" = 0 ] || [ -d /var/lib/private ] || fail "purge removed /var/lib/private"
echo "debian.sh: PASS ($SECONDS s)"
