#!/bin/sh
# Puts the `mlproxy` command on PATH: a link DIR/mlproxy to this checkout's bin/mlproxy.js.
# Usage: install-command.sh [DIR]   (default /usr/local/bin, which every login shell has on PATH)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/usr/local/bin}
mkdir -p "$dir"
ln -sfn "$root/bin/mlproxy.js" "$dir/mlproxy"
echo "setup: $dir/mlproxy -> $root/bin/mlproxy.js"
