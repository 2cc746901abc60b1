#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# quickstart.sh: install what is missing, build, and show this host's TCP state table.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}

"$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target fleetstat-agent >/dev/null

echo "== fleetstat-agent --print=table (this host, now) =="
"$build/fleetstat-agent" --print=table
echo
echo "== the same as the netstat | awk one-liner prints it: fleetstat-agent --print=awk =="
"$build/fleetstat-agent" --print=awk
