#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-deps.sh: install every Debian package fleetstat's build, tests and quickstart need.
# Idempotent: installs only what is missing, and runs `apt-get update` only then.
set -euo pipefail

pkgs=(
	build-essential dpkg-dev cmake pkg-config # toolchain; dpkg-buildflags
	libuv1-dev libprotobuf-c-dev protobuf-c-compiler libinih-dev  # libraries
	libssl-dev libsqlite3-dev sqlite3 libmicrohttpd-dev libcurl4-openssl-dev
	libcmocka-dev                             # unit tests
	clang libclang-rt-14-dev                  # libFuzzer targets
	iproute2 nftables net-tools procps python3  # integration tests: netns, rules, ss, netstat
	curl prometheus                           # the HTTP API; promtool checks /metrics
	systemd                                   # systemd-analyze verify checks the units
	e2fsprogs util-linux                      # an ext4 loop device whose journal aborts
	hyperfine time                            # benchmarks
	postgresql-15 libpq-dev                   # the PostgreSQL backend; its tests start throwaway clusters
	openssl                                   # deploy/certs.sh; TLS peers in the tests
	nginx-light apache2-utils goaccess        # access logs: a real web server, ab, a peer counter
	libjs-dygraphs                            # the web view's charts (served from its installed path)
	chromium                                  # the web view's test: a real headless browser
	scdoc man-db groff-base                   # the manual pages (doc/man): built, rendered by man -l
	debhelper lintian                         # the Debian packages (dpkg-buildpackage) and their check
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
