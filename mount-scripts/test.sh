#!/bin/sh
# Runs every test from a fresh Debian 12 machine: installs what is missing, builds, runs the suite
# (real FUSE mounts, real Prometheus scrapes, the kernel module in a qemu guest).
set -eu
cd "$(dirname "$0")/.."
mount-scripts/setup.sh --test
exec npx tap
