#!/usr/bin/env bash
# Runs every benchmark once, in order, and rewrites docs/performance.md from the results.
#   bench/run-all.sh            run the suite, write docs/performance.md
#   bench/run-all.sh --print    run the suite, print the markdown instead (no plots written)
#   BENCH_WAIT_QUIET=600 bench/run-all.sh   first wait up to 600 s for the machine to be quiet
#                                            (1-minute load average below half the CPUs)
#   BENCH_RESULTS=DIR bench/run-all.sh       also keep each benchmark's JSON (and printed section) in DIR;
#                                            node bench/report.mjs DIR rebuilds the markdown from them
# Needs `npm run build` first, and root for the FUSE benchmarks (they mount a private server each).
# Whatever way it ends, every server a benchmark started is stopped and its mount removed.
set -uo pipefail
cd "$(dirname "$0")/.."

print=0
[ "${1:-}" = "--print" ] && print=1

if [ ! -f dist/engine/infer/network.js ] || [ ! -f dist/cli.js ]; then
  echo "bench: dist/ is missing; run npm run build first" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mlproxy-bench-run.XXXXXX")
export MLPROXY_BENCH_PIDS="$work/servers"
export TMPDIR="$work/tmp"   # benchmark mountpoints live below here
mkdir -p "$TMPDIR"
: >"$MLPROXY_BENCH_PIDS"
child=""

# A benchmark stops its own server on every ordinary path; this is for one that was killed outright:
# stop any server it left running (by the pid it recorded) and remove the mount.
reap_servers() {
  while read -r pid mnt; do
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null && grep -qF "$mnt" "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 10); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    if grep -q " $mnt " /proc/mounts; then fusermount -uz "$mnt" 2>/dev/null || true; fi
  done <"$MLPROXY_BENCH_PIDS"
  : >"$MLPROXY_BENCH_PIDS"
}

cleanup() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$child" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$child" 2>/dev/null && kill -KILL "$child" 2>/dev/null
  fi
  reap_servers
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${BENCH_WAIT_QUIET:-0}" -gt 0 ]; then
  limit=$(awk "BEGIN { print $(nproc) / 2 }")
  deadline=$((SECONDS + BENCH_WAIT_QUIET))
  until awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$limit" 'BEGIN { exit !(l < m) }'; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "bench: the machine is still busy (load $(cut -d' ' -f1 /proc/loadavg)); running anyway" >&2
      break
    fi
    sleep 10
  done
fi
# The suite waits once, here; bench/ceilings.mjs reads the same variable when run alone and must not wait again for
# the load the suite's own earlier benchmarks leave in the average.
unset BENCH_WAIT_QUIET

failed=""
for bench in backends inference training fuse-latency memory dataset-write ceilings qnet-accuracy qnet-kernel; do
  echo "=== bench/$bench.mjs ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))" >&2
  node "bench/$bench.mjs" --out "$work/$bench.json" >"$work/$bench.md" &
  child=$!
  if ! wait "$child"; then
    failed="$failed $bench"
    echo "bench: $bench failed" >&2
  fi
  child=""
  reap_servers
  sed -n '/^goal /p' "$work/$bench.md" >&2
done

if [ -n "${BENCH_RESULTS:-}" ]; then
  mkdir -p "$BENCH_RESULTS"
  cp "$work"/*.json "$work"/*.md "$BENCH_RESULTS"/ 2>/dev/null || true
fi

if [ "$print" = 1 ]; then
  node bench/report.mjs "$work"
else
  # the plots go beside the doc whose sections link to them, and only when the doc is written
  node bench/report.mjs "$work" --plots docs >"$work/performance.md" && mv "$work/performance.md" docs/performance.md
  echo "bench: wrote docs/performance.md" >&2
fi

if [ -n "$failed" ]; then
  echo "bench: failed:$failed" >&2
  exit 1
fi
