#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the kernel's own style checkers over every C source and header of
# kmod/ (the files git tracks), the way a patch to the kernel would be
# checked: checkpatch.pl --no-tree --file (errors and warnings both fail),
# then kernel-doc -Werror over the files that carry kernel-doc comments.
#
#   kmod/checkpatch.sh [FILE...]
#
# Both come from Debian's linux-source-6.1 package (the kernel tarball in
# /usr/src): the scripts and the data files checkpatch reads are extracted
# once into a cache directory.  CHECKPATCH=/path/to/scripts/checkpatch.pl
# uses another copy (kernel-doc is taken from the same directory).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mlproxy/checkpatch

find_checkpatch() {
	if [ -n "${CHECKPATCH:-}" ]; then
		echo "$CHECKPATCH"
		return
	fi
	if [ -f "$CACHE/scripts/checkpatch.pl" ] && [ -f "$CACHE/scripts/kernel-doc" ]; then
		echo "$CACHE/scripts/checkpatch.pl"
		return
	fi
	tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$tarball" ]; then
		echo "checkpatch: no /usr/src/linux-source-*.tar.xz; apt-get install linux-source-6.1" >&2
		exit 1
	fi
	top=$(basename "$tarball" .tar.xz)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	tar -xJf "$tarball" -C "$tmp" "$top/scripts/checkpatch.pl" \
		"$top/scripts/spelling.txt" "$top/scripts/const_structs.checkpatch" \
		"$top/scripts/kernel-doc"
	mkdir -p "$CACHE"
	rm -rf "$CACHE/scripts"
	mv "$tmp/$top/scripts" "$CACHE/scripts"
	echo "$CACHE/scripts/checkpatch.pl"
}

CP=$(find_checkpatch)
cd "$HERE"
if [ $# -gt 0 ]; then
	files="$*"
else
	files=$(git ls-files '*.c' '*.h')
fi
# shellcheck disable=SC2086
perl "$CP" --no-tree --quiet --terse --show-types --file $files
documented=$(grep -l '^/\*\*$' $files || true)
if [ -n "$documented" ]; then
	# shellcheck disable=SC2086
	perl "$(dirname "$CP")/kernel-doc" -none -Werror $documented
fi
echo "checkpatch: clean ($(echo $files | wc -w) files; kernel-doc checked in $(echo $documented | wc -w))"
