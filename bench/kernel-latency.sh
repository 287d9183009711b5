#!/bin/bash
# The kernel's view: boots the module and mlproxy under qemu (mount-scripts/qemu/run-all.sh, guest
# scenario 8), where the module times its own recommendation transactions while the model trains and
# while it idles, and writes those numbers into docs/performance.md (bench/kernel-latency.mjs).
#   bench/kernel-latency.sh            scenario 8 only
#   bench/kernel-latency.sh 5 1 4 2 3 6 7 8   the whole guest suite and the numbers in one boot
#   bench/kernel-latency.sh --print …  print the section instead of writing it
#   MLP_FUSE_NICE_BOOST=0 bench/kernel-latency.sh   the guest's server with its FUSE threads left at its own
#                                                  priority (default 10, as the server's own default)
set -euo pipefail
cd "$(dirname "$0")/.."
print=()
if [ "${1:-}" = "--print" ]; then
  print=(--print)
  shift
fi
log=$(mktemp "${TMPDIR:-/tmp}/mlp-klat.XXXXXX")
trap 'rm -f "$log"' EXIT
MLP_KEEP_LOG="$log" mount-scripts/qemu/run-all.sh "${@:-8}"
node bench/kernel-latency.mjs "$log" "${print[@]}"
