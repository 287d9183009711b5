#!/bin/sh
# Runs every test from a fresh Debian 12 machine: installs what is missing, builds, runs the suite
# (real FUSE mounts, real Prometheus scrapes, the kernel module in a qemu guest), then the linters
# (npm run lint: Prettier and typescript-eslint over the whole tree).
set -eu
cd "$(dirname "$0")/.."
mount-scripts/setup.sh --test

# The run's own bookkeeping (tap's exit code and output) stays in the checkout, out of /tmp, where
# the tests make and remove directories of their own.
work=.test-run
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
# set -e would end the group at a failing tap, before its code is kept: keep it whatever it is.
{ tapcode=0; npx tap || tapcode=$?; echo "$tapcode" > "$work/code"; } 2>&1 | tee "$work/out"
code=$(cat "$work/code")

# tap's own summary is "# { total: N, pass: P, fail: F, skip: S }"; say it plainly as well.
summary=$(grep -E '^# \{ total: ' "$work/out" | tail -n 1)
count() { echo "$summary" | sed -n "s/.*$1: \([0-9]*\).*/\1/p"; }
passed=$(count pass); failed=$(count fail); skipped=$(count skip)
lint=0
echo "lint: npm run lint"
npm run lint --silent || lint=$?
[ "$lint" -eq 0 ] && echo "lint: clean" || echo "lint: FAILED (npm run format fixes the formatting; eslint says what else)"
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "$code" -eq 0 ] && [ -n "$passed" ] && [ "$passed" -gt 0 ] && [ "$lint" -eq 0 ]
