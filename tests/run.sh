#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh: install what is missing, build, and run every test: unit and integration in a
# normal build, then all of it again built with ASan+UBSan, then each fuzz target briefly.
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
	cmake -S "$root" -B "$dir" "$@" >/dev/null
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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
