#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the mlproxy_kmod guest scenarios in one qemu boot and fail on any
# failure, panic, oops, hung-task report or timeout.
#
#   mount-scripts/qemu/run-all.sh [SCENARIO...]     (default: 5 1 7 4 2 3 6)
#
# Steps: install the host packages it needs (skipped when present), build
# kmod/ with W=1 (any warning fails), run the kmod host unit tests, build
# the server (npm run build) when dist/ is missing or stale, pack the
# initramfs, boot it under TCG and check the console.
#
# Environment: KVER (kernel version, default kmod/kver.sh: the newest with
# both headers and image installed), MLP_QEMU_TIMEOUT (seconds, default 420),
# MLP_SMP (guest CPUs, default 2), MLP_KEEP_LOG (path to keep the console log),
# MLP_TF_BACKEND (MLPROXY_TF_BACKEND of the guest's server, default cpu),
# MLP_FUSE_NICE_BOOST (the guest server's --fuse-nice-boost, default 10),
# MLP_NO_BUILD=1 (use dist/ as it is, even if src/ is newer).
set -euo pipefail
trap 'echo "run-all: FAIL: command failed at line $LINENO" >&2' ERR

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCENARIOS=${*:-5 1 7 4 2 3 6}
QEMU_TIMEOUT=${MLP_QEMU_TIMEOUT:-420}
SMP=${MLP_SMP:-2}

say() { echo "run-all: $*"; }
die() {
	echo "run-all: FAIL: $*" >&2
	exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlp-qemu.XXXXXX")
. "$HERE/guest-boot.sh"
cleanup() {
	guest_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. host packages ----------------------------------------------------
PKGS="linux-image-amd64 linux-headers-amd64 qemu-system-x86 busybox-static cpio kmod libfuse2 fuse"
missing=
for p in $PKGS; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
fi

# --- 2. kernel ------------------------------------------------------------
if [ -z "${KVER:-}" ]; then
	KVER=$("$ROOT/kmod/kver.sh") || die "no kernel to build for and boot"
fi
VMLINUZ=/boot/vmlinuz-$KVER
[ -r "$VMLINUZ" ] || die "$VMLINUZ missing (linux-image for $KVER)"
say "kernel $KVER"

# --- 3. module (W=1, warnings fail) and host unit tests --------------------
"$HERE/build-kmod.sh" "$WORK" "$KVER" mlproxy_kmod.ko || die "module build failed"
KO=$WORK/kmod/mlproxy_kmod.ko
make -s -C "$WORK/kmod" hosttest >"$WORK/hosttest.log" 2>&1 || {
	cat "$WORK/hosttest.log"
	die "kmod host unit tests failed"
}
say "module built warning-free at W=1; host unit tests pass"

# --- 4. server --------------------------------------------------------------
cd "$ROOT"
[ -d node_modules ] || npm ci --no-audit --no-fund
# The guest runs the server on the FUSE binding built with our fix and the native text scan (each fast when
# current).
node native/build-fuse-binding.mjs >/dev/null
node native/build-text-scan.mjs >/dev/null
if [ ! -f dist/cli.js ] || { [ -z "${MLP_NO_BUILD:-}" ] &&
	[ -n "$(find src -newer dist/cli.js -name '*.ts' 2>/dev/null | head -n 1)" ]; }; then
	say "npm run build"
	npm run build >"$WORK/npm-build.log" 2>&1 || {
		cat "$WORK/npm-build.log"
		die "npm run build failed"
	}
fi

# --- 5. initramfs -----------------------------------------------------------
INITRD=$WORK/initrd.cpio.lz4
"$HERE/build-initramfs.sh" "$KVER" "$KO" "$INITRD"
say "initramfs $(du -h "$INITRD" | cut -f1)"

# --- 6. boot ------------------------------------------------------------------
LOG=$WORK/console.log
: >"$LOG"
CMDLINE="console=ttyS0 loglevel=5 oops=panic panic=-1 softlockup_panic=1 MLP_SCENARIOS=$(echo "$SCENARIOS" | tr ' ' ',')"
# tfjs backend of the guest's server: cpu (the wasm backend crashed node under TCG here)
CMDLINE="$CMDLINE MLP_TF_BACKEND=${MLP_TF_BACKEND:-cpu}"
# how far the guest server raises its FUSE threads (bench/kernel-latency.sh compares 0 and 10 with it)
CMDLINE="$CMDLINE MLP_FUSE_NICE_BOOST=${MLP_FUSE_NICE_BOOST:-10}"
say "booting (timeout ${QEMU_TIMEOUT}s): scenarios $SCENARIOS"
guest_boot "$LOG" "$QEMU_TIMEOUT" -accel tcg -smp "$SMP" -m 1536 \
	-nographic -no-reboot -nic none -kernel "$VMLINUZ" -initrd "$INITRD" \
	-append "$CMDLINE"
[ -n "${MLP_KEEP_LOG:-}" ] && cp "$LOG" "$MLP_KEEP_LOG"

# --- 7. verdict ----------------------------------------------------------------
tr -d '\r' <"$LOG" >"$LOG.clean"
problems=()
[ "$qrc" = 124 ] || [ "$qrc" = 137 ] && problems+=("qemu timed out after ${QEMU_TIMEOUT}s")
grep -q '^MLP-GUEST-END rc=0' "$LOG.clean" || problems+=("guest did not finish cleanly (no 'MLP-GUEST-END rc=0')")
if grep -q '^FAIL ' "$LOG.clean"; then
	problems+=("$(grep -c '^FAIL ' "$LOG.clean") scenario check(s) failed")
fi
if grep -E -q 'Kernel panic|Oops|BUG:|WARNING:|blocked for more than|hung_task|Call Trace|general protection fault|soft lockup' "$LOG.clean"; then
	grep -E 'Kernel panic|Oops|BUG:|WARNING:|blocked for more than|hung_task|Call Trace|general protection fault|soft lockup' "$LOG.clean" | head -n 20
	problems+=("kernel reported a panic, oops, warning or hung task")
fi
for s in $SCENARIOS; do
	grep -q "^PASS S$s " "$LOG.clean" || problems+=("scenario $s printed no PASS")
done

npass=$(grep -c '^PASS ' "$LOG.clean" || true)
if [ "${#problems[@]}" -gt 0 ]; then
	echo "run-all: ---- failed checks and kernel messages"
	grep -E '^FAIL ' "$LOG.clean" || true
	grep -E '^dmesg: .*mlproxy_kmod' "$LOG.clean" | tail -n 30 || true
	for p in "${problems[@]}"; do echo "run-all: FAIL: $p"; done
	echo "run-all: $npass checks passed, guest run took ${elapsed}s"
	exit 1
fi
echo "run-all: PASS: scenarios $SCENARIOS ($npass checks) in ${elapsed}s"
