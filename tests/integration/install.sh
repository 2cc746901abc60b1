#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install.sh: `cmake --install` places the programs, the systemd units (with the prefix in
# ExecStart), the example configs, the cron example and the manual pages (which `man -l`
# renders without a warning); `systemd-analyze verify` passes on both units; the installed
# programs take the installed example configs.
set -euo pipefail

BUILD=$(cd "${1:?usage: install.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (deploy/install-deps.sh installs systemd)"
command -v man >/dev/null || fail "man missing (deploy/install-deps.sh installs man-db)"
fs_tmpdir
I=$T/inst
cmake --install "$BUILD" --prefix "$I" >"$T/install.log" || fail "cmake --install: $(tail -5 "$T/install.log")"
for f in bin/fleetstat-agent bin/fleetstat-collector bin/fleetstat \
	lib/systemd/system/fleetstat-agent.service lib/systemd/system/fleetstat-collector.service \
	etc/fleetstat/agent.ini.example etc/fleetstat/collector.ini.example \
	share/doc/fleetstat/examples/fleetstat-summary; do
	[ -f "$I/$f" ] || fail "$f was not installed"
done
for u in agent collector; do
	grep -q "^ExecStart=$I/bin/fleetstat-$u --config $I/etc/fleetstat/$u.ini " \
		"$I/lib/systemd/system/fleetstat-$u.service" || fail "fleetstat-$u.service: ExecStart"
done
# The manual pages, made by the build with scdoc.
for p in man1/fleetstat.1 man5/fleetstat.ini.5 man8/fleetstat-agent.8 man8/fleetstat-collector.8; do
	[ -f "$I/share/man/$p" ] ||
		fail "share/man/$p was not installed (the build makes the pages with scdoc: deploy/install-deps.sh installs it)"
	MANWIDTH=80 man --warnings -l "$I/share/man/$p" >/dev/null 2>"$T/man.err" ||
		fail "man -l $p: $(cat "$T/man.err")"
	[ ! -s "$T/man.err" ] || fail "man -l $p warns: $(cat "$T/man.err")"
done
echo "man -l: the four pages render without a warning"
systemd-analyze verify "$I"/lib/systemd/system/fleetstat-{agent,collector}.service \
	>"$T/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.log")"
echo "systemd-analyze verify: both units pass"

# The examples, as they are, with the installed programs (flags for what points at /etc).
"$I/bin/fleetstat-agent" --config "$I/etc/fleetstat/agent.ini.example" --print=awk >/dev/null ||
	fail "the agent refuses agent.ini.example"
printf 't-%s\n' "$RANDOM$RANDOM" >"$T/token"
chmod 600 "$T/token"
PORT=$(fs_free_port)
BUILD=$I/bin fs_collector_start --config "$I/etc/fleetstat/collector.ini.example" \
	--listen "127.0.0.1:$PORT" --db "$T/fleetstat.db" --token-file "$T/token"
fs_collector_kill TERM || fail "the collector with collector.ini.example did not exit 0 on SIGTERM"
"$I/bin/fleetstat" --db "$T/fleetstat.db" --config "$I/etc/fleetstat/collector.ini.example" \
	summary >/dev/null 2>"$T/cli.err" || [ $? -eq 3 ] || fail "fleetstat and the example: $(cat "$T/cli.err")"
echo "install.sh: PASS"
