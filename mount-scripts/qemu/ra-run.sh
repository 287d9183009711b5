#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The readahead use case in one qemu TCG boot (issue 9):
#
#   mount-scripts/qemu/ra-run.sh ci|bench|overhead|sched|search hdd|cloud|seek
#
# Builds kmod/ at W=1 (warnings fail) and the static workload ra-work,
# makes (once, cached) a raw ext4 image holding two files of non-zero data,
# packs the initramfs (build-initramfs.sh + ra-stage.sh) and boots it with
# the image as a read-only virtio disk, cache=none, throttled by qemu as the
# device model:
#   hdd    200 IOPS, 120 MiB/s  (knee 614 KiB per request)
#   cloud  3000 IOPS, 125 MiB/s (knee 43 KiB)
#   seek   no throttle: the image is served by nbd-seek-server (ra-seek.sh),
#          whose seek cost grows with the distance from the last request
#          (knee about 200 KiB; RA_SEEK_* parameters)
# The guest (guest/ra-guest.sh) prints PASS/FAIL, RUN, CURVE and EVENT lines;
# this script fails on any FAIL, panic, oops or timeout.  `overhead` measures
# the module's own cost: RA_OVH_WORK (scan or lookup) under the variants
# RA_OVH_VARIANTS (comma-separated: none, emerg, noserver, dstats, and old,
# oldnoserver with the module built at RA_KO_OLD), interleaved; report with
# bench/readahead-overhead.mjs.  `sched` runs no module: both workloads
# under the default, the fixed values and per-phase schedules of windows
# set in one run (RA_SCHED1_SCAN, RA_SCHED1_LOOKUP, RA_SCHED2_*: one KiB
# value per phase of the workload, comma-separated); report with
# bench/readahead-report.mjs.  `search` runs no module either: a local
# search over per-phase schedules of windows in one run (RA_SEARCH_WORK scan,
# lookup or both, comma-separated; RA_SEARCH_REPS runs a schedule,
# RA_SEARCH_SWEEPS, RA_SEARCH_GAIN_PERMIL, RA_SEARCH_PAIRS; RA_SEARCH_WARMUP=1
# runs the bench's warm-up first; job_search in guest/ra-guest.sh), then the
# best schedule found (variant s1) timed beside the default, the fixed values
# and the oracle's windows; report with bench/readahead-report.mjs.
#
# Environment: KVER, RA_FILE_MIB (size of each data file, default 1024),
# RA_MEM_MIB (guest RAM, default 1024), RA_REPS (bench repetitions,
# default 3), RA_WARMUP_S (bench learning-curve seconds, default 150),
# RA_WARMUP_MODE (auto: the policy moves a fresh model from emergency on,
# default; or a mode pinned during the warm-up),
# RA_SCALE (work multiplier, default 1), RA_TRAIN_PAUSE (bench: 1, the
# default, pauses the server's training during the measured runs; 0 keeps it),
# RA_SETTLE (bench: 1, the default, starts a measured run with the module
# once it is connected, its start-up a once-per-load cost; 0 at once),
# RA_MEASURE_MODE (bench: the mode written after the warm-up for the
# measured auto runs: auto, the default, or a mode pinned by hand, for
# instance recommendation to measure the model applied on every block),
# RA_GUARD_MIN (bench: guard_min_samples for the module, its default if
# empty; 0 turns the guard off, for a control run),
# RA_HOG (sched: 1 runs def and f16, and each beside a nice-19 spinning
# guest process, variants hdef and hf16; a diagnostic),
# RA_TRACE (bench: 1 logs every warm-up interval, trace_intervals, with
# ra-work's phase marks, in KMSG lines after the warm-up; a diagnostic;
# printk.devkmsg=on, or the kernel's rate limit on /dev/kmsg writers drops
# marks, each workload's last phase's every time: round 27),
# RA_MODPARAMS (bench: more module parameters for its loads, comma-separated,
# after the bench's own so they override them: an experiment, for instance
# trial_max_blocks=4,interval_ms=50,block_intervals=10,settle_intervals=2),
# RA_CACHE (image cache dir, default /var/tmp/mlp-ra), RA_TIMEOUT (qemu
# seconds), RA_LOG (keep the console log there), MLP_NO_BUILD=1.
set -euo pipefail
trap 'echo "ra-run: FAIL: command failed at line $LINENO" >&2' ERR

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
JOB=${1:?usage: ra-run.sh ci|bench|overhead|sched|search hdd|cloud|seek}
DEV=${2:?usage: ra-run.sh ci|bench|overhead|sched|search hdd|cloud|seek}
FILE_MIB=${RA_FILE_MIB:-1024}
MEM_MIB=${RA_MEM_MIB:-1024}
CACHE=${RA_CACHE:-/var/tmp/mlp-ra}

case $DEV in
hdd) IOPS=200 BPS=$((120 * 1024 * 1024)) SCALE=${RA_SCALE:-1} ;;
cloud) IOPS=3000 BPS=$((125 * 1024 * 1024)) SCALE=${RA_SCALE:-1} ;;
seek) IOPS=- BPS=- SCALE=${RA_SCALE:-1} ;;
*) echo "ra-run: device model must be hdd, cloud or seek" >&2; exit 2 ;;
esac
case $JOB in
ci) TIMEOUT=${RA_TIMEOUT:-420} ;;
bench | overhead | sched | search) TIMEOUT=${RA_TIMEOUT:-3000} ;;
*) echo "ra-run: job must be ci, bench, overhead, sched or search" >&2; exit 2 ;;
esac

say() { echo "ra-run: $*"; }
die() {
	echo "ra-run: FAIL: $*" >&2
	exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlp-ra.XXXXXX")
. "$HERE/guest-boot.sh"
SEEK_PID=
cleanup() {
	guest_stop
	[ -n "$SEEK_PID" ] && kill "$SEEK_PID" 2>/dev/null && wait "$SEEK_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${KVER:-}" ]; then
	KVER=$("$ROOT/kmod/kver.sh") || die "no kernel to build for and boot"
fi
[ -n "$KVER" ] && [ -r "/boot/vmlinuz-$KVER" ] || die "no kernel image/headers (KVER=$KVER)"

# --- module (W=1, warnings fail) and workload ------------------------------
"$HERE/build-kmod.sh" "$WORK" "$KVER" mlp_ra_kmod.ko mlproxy_kmod.ko || die "module build failed"
export RA_KO=$WORK/kmod/mlp_ra_kmod.ko
export RA_WORK=$WORK/ra-work
gcc -O2 -static -Wall -Wextra -Werror -o "$RA_WORK" "$HERE/guest/ra-work.c" -lpthread || die "ra-work build failed"

# --- server ----------------------------------------------------------------------
cd "$ROOT"
[ -d node_modules ] || npm ci --no-audit --no-fund
# The guest runs the server on the FUSE binding built with our fix and the native text scan (each fast when
# current).
node native/build-fuse-binding.mjs >/dev/null
node native/build-text-scan.mjs >/dev/null
if [ ! -f dist/cli.js ] || { [ -z "${MLP_NO_BUILD:-}" ] &&
	[ -n "$(find src -newer dist/cli.js -name '*.ts' 2>/dev/null | head -n 1)" ]; }; then
	npm run build >"$WORK/npm-build.log" 2>&1 || { cat "$WORK/npm-build.log"; die "npm run build failed"; }
fi

# --- data disk: two files of non-zero data (mkfs -d skips zero blocks) -------
IMG=$CACHE/ra-disk-${FILE_MIB}m-v1.img
if [ ! -f "$IMG" ]; then
	say "making $IMG (2 x $FILE_MIB MiB of random data)"
	mkdir -p "$CACHE/src.$$"
	head -c "$((FILE_MIB * 1024 * 1024))" /dev/urandom >"$CACHE/src.$$/f1"
	head -c "$((FILE_MIB * 1024 * 1024))" /dev/urandom >"$CACHE/src.$$/f2"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d "$CACHE/src.$$" "$IMG.tmp" "$((FILE_MIB * 2 + FILE_MIB / 4 + 64))M"
	rm -rf "$CACHE/src.$$"
	mv "$IMG.tmp" "$IMG"
fi

# --- initramfs -----------------------------------------------------------------
INITRD=$WORK/initrd.cpio.lz4
MLP_INITRAMFS_EXTRA=$HERE/ra-stage.sh "$HERE/build-initramfs.sh" "$KVER" "$WORK/kmod/mlproxy_kmod.ko" "$INITRD"
say "initramfs $(du -h "$INITRD" | cut -f1); $DEV: $IOPS IOPS, $BPS B/s; RAM $MEM_MIB MiB; job $JOB"

# --- device model ------------------------------------------------------------------
DRIVE="file=$IMG,if=virtio,format=raw,readonly=on,cache=none,aio=threads,throttling.iops-total=$IOPS,throttling.bps-total=$BPS"
if [ "$DEV" = seek ]; then
	. "$HERE/ra-seek.sh"
	seek_start "$WORK" "$IMG"
	DRIVE=$SEEK_DRIVE
fi

# --- boot ------------------------------------------------------------------------
LOG=$WORK/console.log
: >"$LOG"
CMDLINE="console=ttyS0 loglevel=4 oops=panic panic=-1 softlockup_panic=1 ${RA_TRACE:+log_buf_len=64M printk.devkmsg=on RA_TRACE=1} ${RA_MODPARAMS:+RA_MODPARAMS=$RA_MODPARAMS} ${RA_HOG:+RA_HOG=1} RA_JOB=$JOB RA_SCALE=$SCALE RA_REPS=${RA_REPS:-3} RA_WARMUP_S=${RA_WARMUP_S:-150} RA_WARMUP_MODE=${RA_WARMUP_MODE:-auto} RA_TRAIN_PAUSE=${RA_TRAIN_PAUSE:-1} RA_SETTLE=${RA_SETTLE:-1} RA_MEASURE_MODE=${RA_MEASURE_MODE:-auto} RA_GUARD_MIN=${RA_GUARD_MIN:-} RA_OVH_WORK=${RA_OVH_WORK:-lookup} RA_OVH_VARIANTS=${RA_OVH_VARIANTS:-none,emerg,noserver,p0} MLP_TF_BACKEND=${MLP_TF_BACKEND:-cpu} RA_SCHED1_SCAN=${RA_SCHED1_SCAN:-} RA_SCHED1_LOOKUP=${RA_SCHED1_LOOKUP:-} RA_SCHED2_SCAN=${RA_SCHED2_SCAN:-} RA_SCHED2_LOOKUP=${RA_SCHED2_LOOKUP:-} RA_SEARCH_WORK=${RA_SEARCH_WORK:-scan,lookup} RA_SEARCH_REPS=${RA_SEARCH_REPS:-3} RA_SEARCH_SWEEPS=${RA_SEARCH_SWEEPS:-3} RA_SEARCH_GAIN_PERMIL=${RA_SEARCH_GAIN_PERMIL:-10} RA_SEARCH_PAIRS=${RA_SEARCH_PAIRS:-1} RA_SEARCH_WARMUP=${RA_SEARCH_WARMUP:-0}"
guest_boot "$LOG" "$TIMEOUT" -accel tcg -smp 2 -m "$MEM_MIB" \
	-nographic -no-reboot -nic none -kernel "/boot/vmlinuz-$KVER" -initrd "$INITRD" \
	-append "$CMDLINE" \
	-drive "$DRIVE"
[ -n "${RA_LOG:-}" ] && cp "$LOG" "$RA_LOG"
[ "$DEV" = seek ] && seek_report

# --- verdict -----------------------------------------------------------------------
tr -d '\r' <"$LOG" >"$LOG.clean"
problems=()
{ [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; } && problems+=("qemu timed out after ${TIMEOUT}s")
grep -q '^RA-GUEST-END rc=0' "$LOG.clean" || problems+=("guest did not finish cleanly (no 'RA-GUEST-END rc=0')")
grep -q '^FAIL ' "$LOG.clean" && problems+=("$(grep -c '^FAIL ' "$LOG.clean") check(s) failed")
if grep -E -q 'Kernel panic|Oops|BUG:|WARNING:|blocked for more than|general protection fault|soft lockup' "$LOG.clean"; then
	grep -E 'Kernel panic|Oops|BUG:|WARNING:|blocked for more than|general protection fault|soft lockup' "$LOG.clean" | head -n 20
	problems+=("kernel reported a panic, oops, warning or hung task")
fi
if [ "${#problems[@]}" -gt 0 ]; then
	grep -E '^dmesg: .*mlp_ra' "$LOG.clean" | tail -n 30 || true
	for p in "${problems[@]}"; do echo "ra-run: FAIL: $p"; done
	echo "ra-run: guest run took ${elapsed}s"
	exit 1
fi
echo "ra-run: PASS: $JOB on $DEV ($(grep -c '^PASS ' "$LOG.clean") checks) in ${elapsed}s"
