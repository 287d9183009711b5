# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The readahead benchmark's `seek` device model, sourced by ra-run.sh: builds
# nbd-seek-server.c (a read-only NBD server that times each request by the
# distance the head moves; model in its header) and starts it on the disk
# image, so that qemu reads the image through it instead of through its own
# locality-blind throttle.
#
#   seek_start WORK IMG   sets SEEK_PID (ra-run.sh's cleanup kills it) and
#                         SEEK_DRIVE (the -drive argument for qemu)
#   seek_report           the server's accounting lines, once qemu is gone
#
# Model parameters (environment; defaults put the knee, the request size
# whose transfer takes as long as an average random seek in a 1 GiB file,
# near 200 KiB, between hdd's 614 KiB and cloud's 43 KiB):
#   RA_SEEK_MIN_US 500      a short seek (settle)
#   RA_SEEK_MAX_US 4000     a full-stroke seek (the whole image)
#   RA_SEEK_RATE_MIBPS 120  transfer rate
#   RA_SEEK_RT_PRIORITY 10  SCHED_FIFO priority of the server (0: normal), so
#                           that the guest's busy vCPU threads do not delay
#                           its replies; it sleeps between them
seek_start() {
	local work=$1 img=$2 i
	gcc -O2 -Wall -Wextra -Werror -o "$work/nbd-seek-server" "$HERE/nbd-seek-server.c" -lm ||
		die "nbd-seek-server build failed"
	SEEK_SOCK=$work/nbd-seek.sock
	SEEK_LOG=$work/nbd-seek.log
	"$work/nbd-seek-server" --socket "$SEEK_SOCK" --image "$img" \
		--seek-min-us "${RA_SEEK_MIN_US:-500}" --seek-max-us "${RA_SEEK_MAX_US:-4000}" \
		--rate-mibps "${RA_SEEK_RATE_MIBPS:-120}" --rt-priority "${RA_SEEK_RT_PRIORITY:-10}" 2>"$SEEK_LOG" &
	SEEK_PID=$!
	for i in $(seq 50); do
		[ -S "$SEEK_SOCK" ] && break
		kill -0 "$SEEK_PID" 2>/dev/null || { cat "$SEEK_LOG"; die "nbd-seek-server exited"; }
		sleep 0.1
	done
	[ -S "$SEEK_SOCK" ] || die "nbd-seek-server did not create $SEEK_SOCK in 5 s"
	head -n 1 "$SEEK_LOG"
	# cache=none as for the throttled models; qemu's NBD driver opens no file, and the server's
	# reads from the host's page cache fall inside the time the model charges
	SEEK_DRIVE="file=nbd:unix:$SEEK_SOCK,if=virtio,format=raw,readonly=on,cache=none"
}

seek_report() {
	local i
	for i in $(seq 20); do # the server writes its line when it sees qemu's socket close
		grep -q '^nbd-seek: client done' "$SEEK_LOG" && break
		sleep 0.1
	done
	grep '^nbd-seek: client done' "$SEEK_LOG" | sed 's/^/ra-run: /' || true
}
