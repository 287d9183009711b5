#!/bin/bash
# Builds kmod/ for one guest run in a private copy, DEST/kmod: at W=1 (any warning fails), with every
# global symbol of the named modules checked. A private copy because the kmod host tests (make -C kmod
# hosttest) and another guest run may be building in kmod/ at the same time.
# Usage: build-kmod.sh DEST KVER MODULE.ko...    (the build log is DEST/kbuild.log, printed on failure)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 3 ] || { echo "usage: build-kmod.sh DEST KVER MODULE.ko..." >&2; exit 2; }
dest=$1 kver=$2
shift 2
fail() { echo "build-kmod: $*" >&2; exit 1; }

mkdir -p "$dest/kmod"
cp -r "$root/kmod/." "$dest/kmod/"
make -s -C "$dest/kmod" KVER="$kver" clean >/dev/null 2>&1 || true
log=$dest/kbuild.log
if ! make -C "$dest/kmod" KVER="$kver" W=1 >"$log" 2>&1; then
	cat "$log"
	fail "module build failed"
fi
if grep -q 'warning:' "$log"; then
	grep -B2 -A4 'warning:' "$log"
	fail "module build has warnings at W=1"
fi
for ko in "$@"; do
	[ -f "$dest/kmod/$ko" ] || fail "no $dest/kmod/$ko"
	"$root/kmod/check-symbols.sh" "$dest/kmod/$ko" || fail "unprefixed global symbols in $ko"
done
