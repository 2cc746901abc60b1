#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-long.sh: run every fuzz target for as long as asked, one after another.
#   tests/fuzz/run-long.sh [--runs N | --seconds S] [TARGET ...]
# (default --runs 10000000, every target).  The corpora stay in build-fuzz/ and grow from run
# to run.  Exit status: 0 when no target found a crash, a leak or undefined behaviour.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh
source "$root/tests/fuzz/lib.sh"
limit=(-runs=10000000)
targets=()
while [ $# -gt 0 ]; do
	case $1 in
	--runs) limit=(-runs="${2:?--runs N}"); shift 2 ;;
	--seconds) limit=(-max_total_time="${2:?--seconds S}"); shift 2 ;;
	-*) echo "usage: run-long.sh [--runs N | --seconds S] [TARGET ...]" >&2; exit 2 ;;
	*) targets+=("$1"); shift ;;
	esac
done
[ ${#targets[@]} -gt 0 ] || read -ra targets <<<"$(fs_fuzz_targets)"
fs_fuzz_build "$root" "$root/build-fuzz" >/dev/null
rc=0
for t in "${targets[@]}"; do
	start=$SECONDS
	fs_fuzz_run "$root" "$root/build-fuzz" "$t" "${limit[@]}" || rc=1
	echo "  ($((SECONDS - start)) s)"
done
exit $rc
