#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# manpages.sh: the manual pages against the programs.  Every long flag of each program's --help
# is in its page's OPTIONS, and every flag there is one --help lists and the program takes with
# the argument the page gives it (the flag, then --help: parsed, nothing run); fleetstat(1)'s
# COMMANDS hold every command with the flags and formats --help gives it, each taken by that
# command.  Every key of fleetstat.ini(5) is taken by its program from a config file, every
# flag a daemon takes as a key is there, and so is every key of deploy/*.ini.example.
set -euo pipefail

BUILD=$(cd "${1:?usage: manpages.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
ROOT=$(cd "$here/../.." && pwd)
fs_tmpdir
NODB=$T/none/fleetstat.db  # in a directory that does not exist: opened by nothing

# Rendered as an operator reads them, and wide and ASCII: no term line wrapped or hyphenated.
for p in fleetstat.1 fleetstat.ini.5 fleetstat-agent.8 fleetstat-collector.8; do
	[ -f "$BUILD/man/$p" ] ||
		fail "$BUILD/man/$p missing: the build makes it with scdoc (deploy/install-deps.sh installs it)"
	LC_ALL=C MANWIDTH=250 man -l "$BUILD/man/$p" >"$T/$p.txt" 2>"$T/$p.err" && [ ! -s "$T/$p.err" ] ||
		fail "man -l $p: $(cat "$T/$p.err")"
done

# help_flags PROG: the long flags --help lists in its option column (not those its text names).
help_flags() {
	"$BUILD/$1" --help | awk '/^  --/ {
		n = split($0, f, /  +/)
		for (i = 1; i <= n; i++)
			for (s = f[i]; f[i] ~ /^--/ && match(s, /--[a-z][a-z0-9-]*/); s = substr(s, RSTART + RLENGTH))
				print substr(s, RSTART, RLENGTH)
	}' | sort -u
}

# terms PAGE SECTION: the term lines of a section (indented 7, its text under it indented 11),
# each with its text's paragraphs after a tab, one line a term.
terms() {
	awk -v sec="$2" '
		/^[A-Z]/ { if (t != "") print t; t = ""; on = ($0 == sec); next }
		!on { next }
		/^       [^ ]/ { if (t != "") print t; t = ""; prev = substr($0, 8); next }
		/^           [^ ]/ { if (prev != "") { t = prev; prev = "" } if (t != "") t = t "\t" substr($0, 12); next }
		{ prev = "" }
		END { if (t != "") print t }' "$T/$1.txt"
}

# sample ARG: a value to try for an argument as a page writes it (FILE, N, auto|netlink|proc:
# the first alternative).
sample() {
	local a=$1
	a=${a%%|*}
	a=${a%%\[*}
	case $a in
	FILE | PATH) echo /dev/null ;;
	DIR) echo "$T" ;;
	SEC | N) echo 5 ;;
	SIZE | BYTES) echo 1M ;;
	DUR) echo 1h ;;
	NAME) echo web1 ;;
	K=V) echo dc=ams1 ;;
	CIDR | CIDRS) echo 192.0.2.0/24 ;;
	HOST:PORT | ADDR:PORT) echo 127.0.0.1:7400 ;;
	URL) echo http://127.0.0.1:7401 ;;
	FORMAT) echo combined ;;
	T) echo web ;;
	H) echo web1 ;;
	S) echo ESTABLISHED ;;
	P) echo 443 ;;
	COUNT) echo 100 ;;
	SHARE) echo 0.5 ;;
	FACTOR | HOURS) echo 3 ;;
	RATE) echo 10 ;;
	WARNING,CRITICAL) echo 300,1000 ;;
	*[!a-z0-9_.-]* | '') fail "manpages.sh has no value to try for the argument '$1'" ;;
	*) echo "$a" ;;
	esac
}

# with_value FLAG ARG: the flag as given on a command line ("--tier=web", "--once").
with_value() {
	local a=${2#\[}
	a=${a%\]}
	a=${a#=}
	if [ -z "$a" ]; then echo "$1"; else echo "$1=$(sample "$a")"; fi
}

# check_options PROG PAGE: --help and the page's OPTIONS list the same flags, and the program
# parses each as the page writes it (then --help: exit 0, nothing done).  Leaves the page's
# flags and arguments in $T/PROG.opts ("--flag<TAB>ARG").
check_options() {
	local prog=$1 page=$2 flag arg given rc
	terms "$page" OPTIONS | cut -f1 | grep '^--' |
		sed -E 's/^(--[a-z0-9-]+)(.*)$/\1\t\2/; s/\t /\t/' >"$T/$prog.opts" || true
	help_flags "$prog" >"$T/$prog.help"
	[ -s "$T/$prog.help" ] || fail "$prog --help lists no flag"
	while read -r flag; do
		cut -f1 "$T/$prog.opts" | grep -qx -- "$flag" ||
			fail "$prog --help lists $flag; $page does not document it in OPTIONS"
	done <"$T/$prog.help"
	while IFS=$'\t' read -r flag arg; do
		grep -qx -- "$flag" "$T/$prog.help" || fail "$page documents $flag, which $prog --help does not list"
		given=$(with_value "$flag" "$arg")
		rc=0
		"$BUILD/$prog" "$given" --help >/dev/null 2>"$T/err" || rc=$?
		[ "$rc" = 0 ] || fail "$page documents '$flag $arg'; $prog $given --help exits $rc: $(head -1 "$T/err")"
	done <"$T/$prog.opts"
	echo "$page: the $(wc -l <"$T/$prog.help") flags of $prog --help, each taken"
}

check_options fleetstat-agent fleetstat-agent.8
check_options fleetstat-collector fleetstat-collector.8
check_options fleetstat fleetstat.1

# fleetstat's commands: --help's list and its table of each command's flags and formats.
"$BUILD/fleetstat" --help | awk '
	/^The options each command takes/ { table = 1; next }
	table && /^  [a-z]/ { print "flags", $0; next }
	!table && /^  [a-z][a-z-]*  / { print "cmd", $1 }' >"$T/cmds.help"
awk '$1 == "flags" { print $2 }; $1 == "cmd" { print $2 }' "$T/cmds.help" | sort -u >"$T/cmds"
# The page's: "CMD<TAB>--flag<TAB>ARG", and "CMD<TAB>--format<TAB>a|b|c" from its Formats line.
terms fleetstat.1 COMMANDS | awk -F '\t' '{
	split($1, w, " ")
	s = $1
	while (match(s, /\[--[a-z-]+( [^]]*)?\]/)) {
		g = substr(s, RSTART + 1, RLENGTH - 2)
		s = substr(s, RSTART + RLENGTH)
		f = g; sub(/ .*/, "", f)
		a = g; if (!sub(/^[^ ]* /, "", a)) a = ""
		print w[1] "\t" f "\t" a
	}
	for (i = 2; i <= NF; i++)
		if ($i ~ /^Formats: /) {
			v = substr($i, 10); sub(/\.$/, "", v); gsub(/, /, "|", v)
			print w[1] "\t--format\t" v
		}
	if (s !~ /^ *$/) print w[1] "\tjunk\t" s
	print w[1] "\t\t"
}' >"$T/cmds.page"
grep -q $'\tjunk\t' "$T/cmds.page" && fail "fleetstat.1 COMMANDS: a term line not CMD [--flag ARG]...: $(grep $'\tjunk\t' "$T/cmds.page")"
while read -r cmd; do
	grep -q "^$cmd"$'\t' "$T/cmds.page" || fail "fleetstat --help has the command $cmd; fleetstat.1 COMMANDS does not"
done <"$T/cmds"
while read -r _ cmd want; do
	for flag in $want; do
		[[ $flag == --* ]] || continue
		grep -q "^$cmd"$'\t'"$flag"$'\t' "$T/cmds.page" ||
			fail "fleetstat --help: $cmd takes $flag; fleetstat.1 COMMANDS does not list it with $cmd"
	done
	formats=$(sed -E 's/.*--format ([a-z|]+).*/\1/' <<<"$want")
	page=$(awk -F '\t' -v c="$cmd" '$1 == c && $2 == "--format" { print $3 }' "$T/cmds.page")
	[ "$formats" = "$page" ] || fail "fleetstat --help: $cmd renders $formats; fleetstat.1 says '${page:-nothing}'"
done < <(grep '^flags ' "$T/cmds.help")
# Each command and each of its flags with each of its values, as the page writes them, taken
# by that command: it goes on to the database (which cannot be opened: exit 1, summary 3), not
# a usage error (2).
while IFS=$'\t' read -r cmd flag arg; do
	grep -qx -- "$cmd" "$T/cmds" || fail "fleetstat.1 documents the command $cmd, which fleetstat --help does not list"
	if [ -n "$flag" ]; then
		grep "^flags  *$cmd " "$T/cmds.help" | grep -q -- " $flag\\( \\|$\\)" ||
			fail "fleetstat.1 lists $flag with $cmd; fleetstat --help says $cmd does not take it"
	fi
	IFS='|' read -r -a vals <<<"${arg:-}"
	[ -n "$flag" ] || vals=("")
	for v in "${vals[@]}"; do
		given=()
		[ -z "$flag" ] || given=("$flag=$(sample "$v")")
		rc=0
		"$BUILD/fleetstat" --db "$NODB" "$cmd" "${given[@]}" >/dev/null 2>"$T/err" || rc=$?
		case $rc:$cmd in
		1:* | 3:summary) ;;
		*) fail "fleetstat.1: $cmd ${given[*]} exits $rc: $(head -1 "$T/err")" ;;
		esac
	done
done <"$T/cmds.page"
echo "fleetstat.1: the $(wc -l <"$T/cmds") commands, each with its flags and formats, each taken"

# fleetstat.ini(5): "SECTION<TAB>KEY<TAB>VALUE" of each term under each [section].
awk '
	/^[A-Z]/ { on = ($0 == "DESCRIPTION") }
	on && /^   \[[a-z_]+\]$/ { sec = substr($0, 5, length($0) - 5); prev = ""; next }
	on && sec != "" && /^       [^ ]+ = / { prev = substr($0, 8); next }
	on && prev != "" && /^           [^ ]/ { k = prev; sub(/ = .*/, "", k); v = prev; sub(/^[^ ]* = /, "", v)
		print sec "\t" k "\t" v; prev = ""; next }
	{ prev = "" }' "$T/fleetstat.ini.5.txt" >"$T/keys"
[ -s "$T/keys" ] || fail "fleetstat.ini.5: no section with keys"
prog_of() {
	case $1 in
	agent | access_log) echo fleetstat-agent ;;
	collector | thresholds | suspects) echo fleetstat-collector ;;
	*) fail "fleetstat.ini.5 has a section [$1] that no program reads" ;;
	esac
}
# config_takes PROG SECTION KEY VALUE: PROG --config (a file of that one key) --help exits 0.
config_takes() {
	{
		echo "[$2]"
		[ "$2" != access_log ] || [ "$3" = path ] || echo "path = /var/log/nginx/access.log"
		echo "$3 = $4"
	} >"$T/one.ini"
	"$BUILD/$1" --config "$T/one.ini" --help >/dev/null 2>"$T/err"
}
while IFS=$'\t' read -r sec key val; do
	prog=$(prog_of "$sec")
	[ "$key" != TIER.STATE ] || key=web.CLOSE_WAIT
	value=$(sample "$val")
	config_takes "$prog" "$sec" "$key" "$value" ||
		fail "fleetstat.ini.5: [$sec] $key = $val; $prog refuses '$key = $value': $(head -1 "$T/err")"
	if [ "$sec" = thresholds ] || [ "$sec" = suspects ]; then
		"$BUILD/fleetstat" --db "$NODB" --config "$T/one.ini" tiers >/dev/null 2>"$T/err" || true
		! grep -q config "$T/err" ||
			fail "fleetstat.ini.5: [$sec] $key = $val; fleetstat --config refuses it: $(head -1 "$T/err")"
	fi
done <"$T/keys"
# Every flag a daemon takes as a key of its section is in the page (and no other is).
for prog in fleetstat-agent fleetstat-collector; do
	sec=${prog#fleetstat-}
	while IFS=$'\t' read -r flag arg; do
		case $flag in --config | --verbose | --version | --help) continue ;; esac
		key=${flag#--}
		key=${key//-/_}
		value=true
		[ -z "$arg" ] || value=$(with_value "$flag" "$arg" | sed 's/^[^=]*=//')
		if config_takes "$prog" "$sec" "$key" "$value"; then
			grep -q "^$sec"$'\t'"$key"$'\t' "$T/keys" ||
				fail "$prog takes '$key' in [$sec] of its config; fleetstat.ini.5 does not list it"
		fi
	done <"$T/$prog.opts"
done
# Every key of the example configs, set or commented out, is in the page.
for ex in agent collector; do
	awk '/^\[/ { sec = substr($1, 2, length($1) - 2); next }
		match($0, /^(# ?)?[A-Za-z_*][A-Za-z0-9_.*-]* = /) {
			k = $0; sub(/^# ?/, "", k); sub(/ = .*/, "", k); print sec "\t" k }' \
		"$ROOT/deploy/$ex.ini.example" | sort -u >"$T/$ex.example"
	[ -s "$T/$ex.example" ] || fail "deploy/$ex.ini.example: no key"
	while IFS=$'\t' read -r sec key; do
		[ "$sec" != thresholds ] || [[ $key != *.* ]] || key=TIER.STATE
		grep -q "^$sec"$'\t'"$key"$'\t' "$T/keys" ||
			fail "deploy/$ex.ini.example has [$sec] $key; fleetstat.ini.5 does not list it"
	done <"$T/$ex.example"
done
echo "fleetstat.ini.5: the $(wc -l <"$T/keys") keys, each taken; the daemons' keys and the examples' all there"
echo "manpages.sh: PASS"
