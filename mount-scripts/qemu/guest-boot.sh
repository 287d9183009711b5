# shellcheck shell=bash
# Owns one qemu guest boot for the harness scripts (run-all.sh, ra-run.sh), which source it: qemu in the
# background under a timeout, its console streamed as it comes (without the guest's dmesg echo), and neither
# left behind when the script ends, however it ends (the caller's EXIT trap calls guest_stop).

QPID=
TPID=

# guest_boot LOG LIMIT_S QEMU_ARG...: boot and wait; sets qrc (qemu's status; 124 when the timeout killed it) and
# elapsed (seconds). The console goes to LOG and, filtered, to stdout.
guest_boot() {
	local log=$1 limit=$2 start
	shift 2
	start=$(date +%s)
	timeout -k 5 "$limit" qemu-system-x86_64 "$@" </dev/null >"$log" 2>&1 &
	QPID=$!
	tail -n +1 -f --pid="$QPID" "$log" 2>/dev/null | grep --line-buffered -v '^dmesg: ' &
	TPID=$!
	set +e
	wait "$QPID"
	qrc=$?
	set -e
	QPID=
	# let the streamer print the last lines before it goes
	sleep 0.5
	kill "$TPID" 2>/dev/null || true
	TPID=
	elapsed=$(($(date +%s) - start))
}

# For the caller's cleanup: a guest still running (the script was interrupted) is killed and reaped.
guest_stop() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	return 0
}
