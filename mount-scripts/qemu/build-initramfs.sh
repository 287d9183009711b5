#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the guest initramfs: static busybox, node and the shared libraries
# it needs, libfuse + fusermount, fuse.ko, the mlproxy_kmod module, the
# production part of the project (bin/, dist/, package.json, the runtime
# node_modules) and the guest scripts.
#
# usage: build-initramfs.sh KVER KMOD_KO OUT.cpio[.lz4]
set -euo pipefail
trap 'echo "build-initramfs: failed at line $LINENO" >&2' ERR

KVER=$1
KO=$2
OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/mlp-initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

mkdir -p "$STAGE"/{bin,sbin,dev,proc,sys,tmp,run,etc,root,lib/modules,mnt/mlproxy,opt/mlproxy,usr/bin}

# busybox, with the applet links made here so the guest needs no setup.
cp /bin/busybox "$STAGE/bin/busybox"
for applet in $("$STAGE/bin/busybox" --list); do
	[ -e "$STAGE/bin/$applet" ] || ln -s busybox "$STAGE/bin/$applet"
done

# Copy a file together with every shared library ldd says it needs,
# keeping their absolute paths.
copy_with_libs() {
	local f=$1 dest=${2:-$1} lib
	mkdir -p "$STAGE$(dirname "$dest")"
	cp -L "$f" "$STAGE$dest"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$STAGE$lib" ] && continue
		mkdir -p "$STAGE$(dirname "$lib")"
		cp -L "$lib" "$STAGE$lib"
	done
}

NODE=$(command -v node)
# node ships with debug info; the stripped copy is a third of the size.
mkdir -p "$STAGE/usr/bin"
strip -o "$STAGE/usr/bin/node" "$NODE" 2>/dev/null || cp -L "$NODE" "$STAGE/usr/bin/node"
for lib in $(ldd "$NODE" | grep -o '/[^ ]*'); do
	mkdir -p "$STAGE$(dirname "$lib")"
	cp -L "$lib" "$STAGE$lib"
done
copy_with_libs "$(command -v fusermount)" /usr/bin/fusermount
for lib in libfuse.so.2 libgcc_s.so.1; do
	# awk reads to the end: an early exit would SIGPIPE ldconfig and fail the pipe under pipefail
	p=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found { print $NF; found = 1 }')
	if [ -n "$p" ]; then copy_with_libs "$p"; fi
done

# fuse.ko (uncompressed on Debian 6.1; decompress if a later kernel ships .ko.xz/.zst)
FUSE_KO=$(find "/lib/modules/$KVER/kernel/fs/fuse" -name 'fuse.ko*' | head -1)
[ -n "$FUSE_KO" ] || { echo "build-initramfs: no fuse.ko for $KVER" >&2; exit 1; }
case "$FUSE_KO" in
*.xz) xz -dc "$FUSE_KO" >"$STAGE/lib/modules/fuse.ko" ;;
*.zst) zstd -qdc "$FUSE_KO" >"$STAGE/lib/modules/fuse.ko" ;;
*.gz) gzip -dc "$FUSE_KO" >"$STAGE/lib/modules/fuse.ko" ;;
*) cp "$FUSE_KO" "$STAGE/lib/modules/fuse.ko" ;;
esac
cp "$KO" "$STAGE/lib/modules/mlproxy_kmod.ko"

# The project: runtime files only.  node_modules keeps the production
# dependency tree (npm ls --omit=dev) minus source maps, typings, docs and
# browser bundles nothing loads under node.
cd "$ROOT"
[ -f dist/cli.js ] || { echo "build-initramfs: dist/cli.js missing (npm run build)" >&2; [ -n "${MLP_ALLOW_NO_DIST:-}" ] || exit 1; }
cp -r bin package.json "$STAGE/opt/mlproxy/"
[ -d dist ] && cp -r dist "$STAGE/opt/mlproxy/"
# The native text scan where it is built (native/build-text-scan.mjs); without it, or on a guest CPU without
# SSSE3, the WebAssembly build of the scan serves.
ADDON=build/text-scan/build/Release/text_scan.node
if [ -f "$ADDON" ]; then
	mkdir -p "$STAGE/opt/mlproxy/$(dirname "$ADDON")"
	cp "$ADDON" "$STAGE/opt/mlproxy/$ADDON"
fi
mapfile -t PKGS < <(npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$ROOT/||" | grep '^node_modules/' | sort -u)
[ "${#PKGS[@]}" -gt 0 ] || { echo "build-initramfs: npm ls found no runtime packages" >&2; exit 1; }
tar -cf - \
	--exclude='*.map' --exclude='*.d.ts' --exclude='*.md' --exclude='*.html' \
	--exclude='*.min.js' --exclude='*.es2017*' --exclude='*.fesm*' --exclude='miniprogram' \
	--exclude='tsconfig*.json' --exclude='*.tsbuildinfo' \
	--exclude='prebuilds/darwin-*' --exclude='test' --exclude='tests' \
	"${PKGS[@]}" | tar -C "$STAGE/opt/mlproxy" -xf -

cp "$HERE/guest/init" "$STAGE/init"
cp "$HERE/guest/scenarios.sh" "$STAGE/scenarios.sh"
cp "$HERE/guest/hang-server.cjs" "$STAGE/opt/mlproxy/hang-server.cjs"
chmod +x "$STAGE/init" "$STAGE/scenarios.sh"
echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
echo "root:x:0:" >"$STAGE/etc/group"
: >"$STAGE/etc/mtab"
# Another harness may add files (ra-run.sh: mount-scripts/qemu/ra-stage.sh).
if [ -n "${MLP_INITRAMFS_EXTRA:-}" ]; then "$MLP_INITRAMFS_EXTRA" "$STAGE" "$KVER"; fi

(cd "$STAGE" && find . -print0 | cpio --null -o -H newc --quiet) >"$OUT.tmp"
case "$OUT" in
*.lz4) lz4 -l -q -f "$OUT.tmp" "$OUT" && rm -f "$OUT.tmp" ;;
*) mv "$OUT.tmp" "$OUT" ;;
esac
