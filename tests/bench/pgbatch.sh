#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pgbatch.sh: the three ways to store a batch of reports in PostgreSQL (the writer's unnest
# arrays, COPY into a staging table, libpq's pipeline mode), timed side by side by
# BUILD_DIR/pgbatch on a throwaway cluster (tests/tools/pgcluster.sh).
#
# usage: bash tests/bench/pgbatch.sh BUILD_DIR [BATCH [ROUNDS]]   (default 500 reports, 12 rounds)
set -euo pipefail

build=$(cd "${1:?usage: pgbatch.sh BUILD_DIR [BATCH [ROUNDS]]}" && pwd)
[[ -x $build/pgbatch ]] || { echo "pgbatch.sh: $build/pgbatch missing" >&2; exit 1; }
# shellcheck disable=SC2016 # FS_PG_URI is the cluster's, expanded inside
exec bash "$(dirname "$0")/../tools/pgcluster.sh" run \
	bash -c '"$0" "$FS_PG_URI" "$@"' "$build/pgbatch" "${2:-500}" "${3:-12}"
