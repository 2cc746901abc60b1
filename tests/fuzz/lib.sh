# SPDX-License-Identifier: MIT
# lib.sh: build and run the libFuzzer targets (a bash library: source it).
#   fs_fuzz_targets          the targets' names (frame diag text kstat query config pack tls alog)
#   fs_fuzz_build ROOT DIR   configure DIR with clang and FLEETSTAT_FUZZ, build every target
#   fs_fuzz_run ROOT DIR NAME ARGS...
#                            run fuzz_NAME on its corpus (DIR/corpus-fuzz_NAME, kept between
#                            runs) and its seeds (the unit tests' fixtures) with libFuzzer ARGS
#                            (-max_total_time=S, -runs=N); log in DIR/fuzz_NAME.log; prints
#                            "fuzz_NAME: ok (N runs, E/s)" or the failure; returns nonzero on
#                            a crash, leak or UB report
# Inputs are bounded by what reaches every branch: 64 KiB for netlink replies and frames (many
# messages, large reports), 8 KiB for /proc counter files, 4 KiB for query strings, config
# files, the store's packed columns (257 small IPs, one past a top-list minute's most, take
# 2.6 KiB) and a TLS peer's bytes (a ClientHello and the first records), 1 KiB for saved
# socket text (its parsers go line by line; a header and a dozen lines reach every branch, and
# each input is parsed five times).
FS_FUZZ_TARGETS="frame diag text kstat query config pack tls alog"

fs_fuzz_targets() { echo "$FS_FUZZ_TARGETS"; }

fs_fuzz_build() {
	local root=$1 dir=$2 t targets=()
	for t in $FS_FUZZ_TARGETS; do targets+=("fuzz_$t"); done
	CC=clang cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DFLEETSTAT_FUZZ=ON -DFLEETSTAT_WERROR=ON >/dev/null &&
		cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
}

_fs_fuzz_seeds() {
	case $2 in
	diag) echo "$1/tests/fixtures/netlink" ;;
	text) echo "$1/tests/fixtures/text" ;;
	kstat) echo "$1/tests/fixtures/kstat" ;;
	frame) [ -d "$1/tests/fixtures/frames" ] && echo "$1/tests/fixtures/frames" ;;
	query) echo "$1/tests/fixtures/query" ;;
	config) echo "$1/tests/fixtures/config" ;;
	pack) echo "$1/tests/fixtures/pack" ;;
	alog) echo "$1/tests/fixtures/alog" ;;
	esac
	return 0
}

fs_fuzz_run() {
	local root=$1 dir=$2 name=$3 max=4096 log runs secs
	shift 3
	case $name in diag | frame) max=65536 ;; kstat) max=8192 ;; text) max=1024 ;; esac
	log=$dir/fuzz_$name.log
	mkdir -p "$dir/corpus-fuzz_$name"
	# Artifacts (crashes, slow units) go beside the log, never into the checkout.
	# shellcheck disable=SC2046
	if "$dir/fuzz_$name" "$@" -max_len=$max -print_final_stats=1 -artifact_prefix="$dir/" \
		"$dir/corpus-fuzz_$name" \
		$(_fs_fuzz_seeds "$root" "$name") >"$log" 2>&1; then
		runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
		secs=$(grep -m1 -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
		echo "fuzz_$name: ok (${runs:-?} runs, ${secs:-?}/s)"
		return 0
	fi
	echo "fuzz_$name: FAILED, see $log"
	tail -30 "$log"
	return 1
}
