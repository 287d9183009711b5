#!/bin/sh
# Installs everything mlproxy needs on a Debian 12 machine, as root, and builds it. Idempotent.
#   mount-scripts/setup.sh          the server: libfuse2, fuse, node modules, the FUSE binding, the text scan, dist/
#   mount-scripts/setup.sh --test   also what the tests use: Prometheus (promtool) and the qemu guest kit
#                                   (libc6-dev: the static readahead workload; e2fsprogs: its disk image),
#                                   and clang + lld, to check the committed WebAssembly text scan against its C source
set -eu
cd "$(dirname "$0")/.."

# g++, make and python3 build the FUSE binding from source with our fix (native/build-fuse-binding.mjs) and the
# native text scan (native/build-text-scan.mjs).
packages="libfuse2 fuse g++ make python3"
if [ "${1:-}" = "--test" ]; then
  packages="$packages prometheus linux-image-amd64 linux-headers-amd64 linux-source-6.1 qemu-system-x86 busybox-static cpio kmod gcc make libfuse-dev pkg-config libc6-dev e2fsprogs lz4 clang lld gcc-multilib"
fi

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
echo "setup: building"
node native/build-fuse-binding.mjs
node native/build-text-scan.mjs
npm run build --silent
mount-scripts/install-command.sh
