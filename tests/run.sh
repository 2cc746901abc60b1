#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh: install what is missing, build, and run every test: the builds a user or packager
# runs (gcc and clang Release, Debian's flags) compiled warning-free, unit and integration
# tests in a normal build, then all of it again built with ASan+UBSan, then each fuzz target
# briefly. Every build here treats warnings as errors (FLEETSTAT_WERROR; off for users).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$root/deploy/install-deps.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: the integration tests make network namespaces: run as root" >&2
	exit 1
fi

# ctest prints "N tests failed out of M"; we also say it in the plain form CI reads.
passed=0 failed=0
suite() {
	local name=$1 dir=$2; shift 2
	echo "== $name =="
	cmake -S "$root" -B "$dir" -DFLEETSTAT_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
	local log="$dir/ctest.log"
	if (cd "$dir" && ctest --output-on-failure 2>&1 | tee "$log"); then :; fi
	local total fail
	total=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
	fail=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
	if [ -z "$total" ]; then
		total=1 fail=1
		echo "run.sh: $name: ctest gave no summary" >&2
	fi
	passed=$((passed + total - fail))
	failed=$((failed + fail))
}

# A build that fails is one failed test, and the next goes on.
compiles() {
	local name=$1 dir=$2; shift 2
	echo "== compile: $name =="
	if { cmake -S "$root" -B "$dir" -DFLEETSTAT_WERROR=ON "$@" &&
		cmake --build "$dir" -j"$jobs"; } >"$dir.log" 2>&1; then
		passed=$((passed + 1))
	else
		tail -40 "$dir.log" >&2 || true
		echo "run.sh: $name does not compile warning-free" >&2
		failed=$((failed + 1))
	fi
}

CC=gcc compiles "gcc Release" "$root/build-gcc-release" -DCMAKE_BUILD_TYPE=Release
CC=clang compiles "clang Release" "$root/build-clang-release" -DCMAKE_BUILD_TYPE=Release
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
	LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
	compiles "Debian's dpkg-buildflags" "$root/build-dpkg" -DCMAKE_BUILD_TYPE=None

suite "build and test" "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
# detect_leaks: LeakSanitizer makes any leak a failure.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	suite "ASan+UBSan build and test" "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DFLEETSTAT_SANITIZE=ON

echo "== fuzz targets, briefly =="
# shellcheck source=fuzz/lib.sh
source "$root/tests/fuzz/lib.sh"
fs_fuzz_build "$root" "$root/build-fuzz"
for t in $(fs_fuzz_targets); do
	if fs_fuzz_run "$root" "$root/build-fuzz" "$t" -max_total_time="${FUZZ_SECONDS:-15}"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done

# What the tests keep for a reader of the run (the web view's screenshots).
for f in "$root"/build*/artifacts/*; do
	[ -f "$f" ] && echo "artifact: ${f#"$root"/}"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
