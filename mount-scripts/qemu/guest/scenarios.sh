#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest scenarios for mlproxy_kmod, run in one boot in the order given
# (default 5,1,7,4,2,3,6; each scenario sets up what it needs).
#   5  insmod with no mount: loads, stays in emergency, recovers on mount
#   1  the loop: samples, training, recommendations, feedback; ML beats default
#   4  garbage and out-of-range recommendations are rejected, never applied
#   2  mlproxy killed (kill -9) under load: emergency in time, recovery
#   3  mlproxy SIGSTOPped: emergency in time, no hung task, rmmod completes
#   6  a request the server took and never answers (hang-server.cjs): the
#      watchdog aborts the connection after abort_after_ms; with
#      abort_after_ms=0, rmmod aborts it and completes
#   7  in-kernel integer inference (use_qnet=1): the network is fetched,
#      validated and beats the table and the default; withdrawn or
#      corrupted, it is dropped and operations run the default; the
#      self-benchmark times 2-16-16-1 and 2-32-32-1 beside a transaction
#   8  (not in the default list; bench/kernel-latency.sh runs it) the
#      module's own transaction latency with the model training, then idle:
#      prints "KLAT <phase> key=value ..." lines for docs/performance.md
# Prints "PASS <scenario> <what>" / "FAIL <scenario> <what>" lines and
# exits non-zero if anything failed.  Every wait is bounded.

SCENARIOS=$(echo "$1" | tr ',' ' ')
MNT=/mnt/mlproxy
NAME=synth
MODEL=$MNT/models/$NAME
P=/sys/module/mlproxy_kmod/parameters
KO=/lib/modules/mlproxy_kmod.ko
PERIOD_MS=200
TIMEOUT_MS=1000
ABORT_MS=4000
HUNG_SECS=$(cat /proc/sys/kernel/hung_task_timeout_secs)
SERVER=
FAILED=0
SC=-

log() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }
pass() { echo "PASS $SC $*"; }
fail() {
	echo "FAIL $SC $*"
	FAILED=1
}
# expect DESCRIPTION COMMAND...: PASS/FAIL on the command's status
expect() {
	d=$1
	shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}

now_ms() {
	u=$(cut -d' ' -f1 /proc/uptime)
	echo $((${u%.*} * 1000 + 1${u#*.}0 - 1000))
}

param() { cat "$P/$1" 2>/dev/null || echo "?"; }

# Bounded read of an mlproxy file (a frozen server must not hang the script).
mread() { timeout 5 cat "$1" 2>/dev/null; }
mwrite() { echo "$2" | timeout 5 sh -c "cat > '$1'" 2>/dev/null; }
stat_of() { mread "$MODEL/stats" | awk -v k="$1" '$1 == k { print $2 }'; }

# wait_until SECONDS COMMAND...: poll every 0.1 s; sets WAITED_MS
wait_until() {
	_wlimit=$(($1 * 1000))
	shift
	_wt0=$(now_ms)
	while :; do
		if "$@"; then
			WAITED_MS=$(($(now_ms) - _wt0))
			return 0
		fi
		WAITED_MS=$(($(now_ms) - _wt0))
		[ "$WAITED_MS" -ge "$_wlimit" ] && return 1
		sleep 0.1
	done
}

is_param() { [ "$(param "$1")" = "$2" ]; }
param_gt() { [ "$(param "$1")" -gt "$2" ] 2>/dev/null; }
stat_gt() { [ "$(stat_of "$1")" -gt "$2" ] 2>/dev/null; }
mount_alive() { mread "$MNT/version" | grep -q '^mlproxy .* abi 1$'; }
model_exists() { [ -d "$MODEL" ]; }
ml_beats_default() {
	ml=$(param efficiency_ml_permil)
	def=$(param efficiency_default_permil)
	[ "$ml" -gt "$((def + 20))" ] 2>/dev/null
}
no_kernel_trouble() {
	! dmesg | grep -E -q 'blocked for more than|hung_task|Oops|BUG:|WARNING:|Call Trace'
}

show_params() {
	for f in mode published_mode apply_permil model_state connected last_error samples_sent \
		datasets_sent recommendations_accepted recommendations_rejected recommendations_applied \
		values_clamped feedback_sent fallbacks timeouts io_errors models_created reconnects \
		connection_aborts ops_total efficiency_ml_permil efficiency_default_permil efficiency_permil \
		efficiency_table_permil efficiency_qnet_permil qnet_accepted qnet_rejected qnet_status qnet_generation; do
		printf '%s=%s ' "$f" "$(param $f)"
	done
	echo
	echo "recommendation in use: $(param recommendation)"
}

show_server() {
	echo "server stats: $(mread "$MODEL/stats" | tr '\n' ' ')"
	echo "server state=$(mread "$MODEL/state") mode=$(mread "$MODEL/mode") apply_permil=$(mread "$MODEL/apply_permil")"
}

start_server() {
	mkdir -p $MNT
	rm -f /tmp/server.pid
	log "starting mlproxy"
	(
		cd /opt/mlproxy || exit 1
		export MLPROXY_TF_BACKEND=${MLP_TF_BACKEND:-cpu}
		MLPROXY_TEST_FAULTS=1 node bin/mlproxy.js serve --mountpoint $MNT --metrics-listen off \
			--fuse-nice-boost "${MLP_FUSE_NICE_BOOST:-10}" &
		echo $! >/tmp/server.pid
		wait $!
		echo "mlproxy exited: status $?"
	) >>/tmp/server.log 2>&1 &
	wait_until 5 test -s /tmp/server.pid
	SERVER=$(cat /tmp/server.pid)
	if wait_until 60 mount_alive; then
		log "mlproxy up (pid $SERVER) after ${WAITED_MS} ms"
		return 0
	fi
	log "mlproxy did not come up; log:"
	tail -n 30 /tmp/server.log
	return 1
}

server_gone() { ! kill -0 "$1" 2>/dev/null; }

# Remove whatever is left of the mount (a dead server leaves ENOTCONN).
clear_mount() {
	grep -q " $MNT " /proc/mounts || return 0
	fusermount -u -z $MNT 2>/dev/null || umount -l $MNT 2>/dev/null
}

stop_server() {
	if [ -n "$SERVER" ]; then
		kill -CONT "$SERVER" 2>/dev/null
		kill -9 "$SERVER" 2>/dev/null
		wait_until 5 server_gone "$SERVER"
		SERVER=
	fi
	clear_mount
}

# load_module [ABORT_AFTER_MS [MORE PARAMS...]]
load_module() {
	_abort=${1:-$ABORT_MS}
	[ $# -gt 0 ] && shift
	insmod $KO mount_path=$MNT model_name=$NAME period_ms=$PERIOD_MS \
		timeout_ms=$TIMEOUT_MS abort_after_ms=$_abort "$@"
}

# unload_module SECONDS: rmmod in the background, wait for it to finish
unload_module() {
	rmmod mlproxy_kmod &
	rm_pid=$!
	if wait_until "$1" sh -c "! [ -d /sys/module/mlproxy_kmod ]"; then
		wait $rm_pid
		return 0
	fi
	return 1
}

# Server up, module loaded and connected (for a scenario run on its own).
ensure_ready() {
	if [ -z "$SERVER" ]; then
		clear_mount
		start_server || return 1
	fi
	[ -d /sys/module/mlproxy_kmod ] || load_module || return 1
	wait_until 15 is_param connected 1
}

# ---------------------------------------------------------------------
scenario_5() {
	SC=S5
	log "== scenario 5: insmod with no mount present"
	stop_server
	expect "module loads without a mount" load_module
	sleep 1
	expect "stays in emergency without a mount" is_param mode emergency
	expect "not connected without a mount" is_param connected 0
	expect "records the failure (last_error $(param last_error))" \
		sh -c "[ \"$(param last_error)\" -lt 0 ]"
	start_server || { fail "mlproxy starts"; return; }
	expect "connects once the mount appears" wait_until 15 is_param connected 1
	expect "created its model directory" model_exists
	expect "model state running" wait_until 5 sh -c "[ \"\$(cat $MODEL/state)\" = running ]"
	mwrite "$MODEL/mode" learning
	expect "follows the published mode (learning)" wait_until 5 is_param mode learning
	expect "apply_permil in force is 100" is_param apply_permil 100
	expect "samples reach mlproxy" wait_until 10 param_gt samples_sent 0
	show_params
}

scenario_1() {
	SC=S1
	log "== scenario 1: the loop"
	ensure_ready || { fail "setup: server and module"; return; }
	[ "$(param mode)" = learning ] || mwrite "$MODEL/mode" learning
	expect "mlproxy stores samples" wait_until 20 stat_gt samples_total 0
	# the guest's first training process loads TensorFlow.js under TCG: minutes on a loaded host
	expect "mlproxy trains" wait_until 120 stat_gt train_steps 0
	expect "recommendations accepted" wait_until 20 param_gt recommendations_accepted 0
	expect "mlproxy runs inference" stat_gt inferences 0
	expect "feedback flows" wait_until 10 param_gt feedback_sent 0
	mwrite "$MODEL/mode" collaboration
	expect "collaboration in force" wait_until 5 is_param mode collaboration
	expect "apply_permil 500 in force" is_param apply_permil 500
	a0=$(param recommendations_applied)
	expect "recommendations applied to operations" wait_until 10 param_gt recommendations_applied "$a0"
	if wait_until 90 ml_beats_default; then
		pass "ML efficiency $(param efficiency_ml_permil) > default $(param efficiency_default_permil) permil after ${WAITED_MS} ms"
	else
		fail "ML efficiency $(param efficiency_ml_permil) never beat default $(param efficiency_default_permil)"
	fi
	show_params
	show_server
}

scenario_4() {
	SC=S4
	log "== scenario 4: junk recommendations"
	ensure_ready || { fail "setup: server and module"; return; }
	[ -e "$MODEL/fault" ] || { fail "fault file (MLPROXY_TEST_FAULTS=1) missing"; return; }
	mwrite "$MODEL/mode" recommendation
	expect "recommendation mode in force" wait_until 5 is_param mode recommendation
	expect "recommendations applied before the fault" wait_until 10 param_gt recommendations_applied "$(param recommendations_applied)"
	for fault in garbage out_of_range; do
		r0=$(param recommendations_rejected)
		mwrite "$MODEL/fault" $fault
		expect "$fault: rejected and counted" wait_until 5 param_gt recommendations_rejected "$((r0 + 1))"
		sleep 0.5
		a1=$(param recommendations_applied)
		sleep 2
		a2=$(param recommendations_applied)
		expect "$fault: never applied (applied $a1 -> $a2)" [ "$a1" = "$a2" ]
		expect "$fault: ops run on the default" param_gt ops_total 0
	done
	mwrite "$MODEL/fault" none
	acc=$(param recommendations_accepted)
	expect "fault cleared: accepted again" wait_until 5 param_gt recommendations_accepted "$acc"
	expect "fault cleared: applied again" wait_until 5 param_gt recommendations_applied "$(param recommendations_applied)"
	mwrite "$MODEL/mode" collaboration
	show_params
}

load_start() {
	(
		while :; do
			timeout 3 cat $MODEL/stats $MODEL/events $MODEL/state >/dev/null 2>&1
			printf '500\n250\n' | timeout 3 sh -c "cat > $MODEL/recommendation" 2>/dev/null
		done
	) &
	LOAD=$!
}

load_stop() {
	kill $LOAD 2>/dev/null
	wait $LOAD 2>/dev/null
}

# emergency_within MS: wait for emergency, PASS/FAIL against the bound
emergency_within() {
	bound=$1
	t0=$(now_ms)
	wait_until 10 is_param mode emergency
	took=$(($(now_ms) - t0))
	if [ "$(param mode)" = emergency ] && [ "$took" -le "$bound" ]; then
		pass "emergency after $took ms (bound $bound ms)"
	else
		fail "emergency not reached within $bound ms (took $took ms, mode $(param mode))"
	fi
}

scenario_2() {
	SC=S2
	log "== scenario 2: mlproxy killed under load"
	ensure_ready || { fail "setup: server and module"; return; }
	mwrite "$MODEL/mode" collaboration
	wait_until 5 is_param mode collaboration
	f0=$(param fallbacks)
	c0=$(param models_created)
	load_start
	sleep 1
	kill -9 "$SERVER"
	# poll granularity and scheduling slack on top of timeout + period
	emergency_within $((TIMEOUT_MS + PERIOD_MS + 300))
	load_stop
	wait_until 5 server_gone "$SERVER"
	SERVER=
	expect "fallback counted" param_gt fallbacks "$f0"
	sleep 2
	expect "guest keeps running, kernel clean" no_kernel_trouble
	clear_mount
	start_server || { fail "mlproxy restarts"; return; }
	expect "model recreated on the new server" wait_until 15 param_gt models_created "$c0"
	expect "reconnected" wait_until 10 is_param connected 1
	mwrite "$MODEL/mode" collaboration
	expect "resumes the published mode" wait_until 5 is_param mode collaboration
	s0=$(param samples_sent)
	expect "samples flow again" wait_until 10 param_gt samples_sent "$s0"
	acc=$(param recommendations_accepted)
	expect "recommendations flow again" wait_until 10 param_gt recommendations_accepted "$acc"
	expect "the new server hears of the fallbacks" wait_until 10 stat_gt kernel_fallbacks 0
	show_params
}

scenario_3() {
	SC=S3
	log "== scenario 3: mlproxy SIGSTOPped"
	ensure_ready || { fail "setup: server and module"; return; }
	mwrite "$MODEL/mode" collaboration
	wait_until 5 is_param mode collaboration
	to0=$(param timeouts)
	sleep 0.5
	kill -STOP "$SERVER"
	emergency_within $((TIMEOUT_MS + PERIOD_MS + 300))
	# stay frozen past the hung-task timeout: nothing may sit in D state
	sleep $((HUNG_SECS + 3))
	expect "watchdog timeouts counted ($to0 -> $(param timeouts))" param_gt timeouts "$to0"
	expect "still emergency while frozen" is_param mode emergency
	expect "no hung task, kernel clean" no_kernel_trouble
	if unload_module $((TIMEOUT_MS * 3 / 1000 + 5)); then
		pass "rmmod completes with the server frozen (${WAITED_MS} ms)"
	else
		fail "rmmod did not complete"
		return
	fi
	kill -CONT "$SERVER"
	if ! wait_until 5 mount_alive; then
		log "mount did not survive (connection aborted); restarting mlproxy"
		stop_server
		start_server || { fail "mlproxy restarts"; return; }
	fi
	expect "module loads again" load_module
	expect "reconnects after SIGCONT" wait_until 15 is_param connected 1
	mwrite "$MODEL/mode" collaboration
	expect "resumes the published mode" wait_until 5 is_param mode collaboration
	expect "kernel clean" no_kernel_trouble
	show_params
}

HANG=
start_hang_server() {
	mkdir -p $MNT
	(cd /opt/mlproxy && exec node hang-server.cjs $MNT) >>/tmp/hang.log 2>&1 &
	HANG=$!
	wait_until 30 mount_alive
}

stop_hang_server() {
	[ -n "$HANG" ] && kill -9 "$HANG" 2>/dev/null && wait "$HANG" 2>/dev/null
	HANG=
	clear_mount
}

aborts_logged() { [ "$(dmesg | grep -c 'aborted FUSE connection')" -gt "$1" ]; }

scenario_6() {
	SC=S6
	log "== scenario 6: a request the server never answers"
	if [ -d /sys/module/mlproxy_kmod ]; then
		unload_module 15 || { fail "setup: rmmod"; return; }
	fi
	stop_server
	start_hang_server || { fail "hang server starts"; cat /tmp/hang.log; return; }
	expect "module loads (abort_after_ms=2000)" load_module 2000
	expect "watchdog kills the request" wait_until 5 param_gt timeouts 0
	expect "emergency while the request is stuck" is_param mode emergency
	expect "watchdog aborts the connection" wait_until 10 param_gt connection_aborts 0
	expect "kthread free again (last_error $(param last_error))" \
		wait_until 5 sh -c "[ \"\$(cat $P/last_error)\" = -107 ] || [ \"\$(cat $P/last_error)\" = -103 ]"
	expect "no hung task, kernel clean" no_kernel_trouble
	show_params
	expect "rmmod" unload_module 10
	stop_hang_server

	start_hang_server || { fail "hang server restarts"; return; }
	n0=$(dmesg | grep -c 'aborted FUSE connection')
	expect "module loads (abort_after_ms=0)" load_module 0
	expect "watchdog kills the request" wait_until 5 param_gt timeouts 0
	expect "no abort without abort_after_ms" is_param connection_aborts 0
	if unload_module 10; then
		pass "rmmod completes with the request stuck (${WAITED_MS} ms)"
	else
		fail "rmmod did not complete"
		return
	fi
	expect "rmmod aborted the connection" aborts_logged "$n0"
	expect "no hung task, kernel clean" no_kernel_trouble
	stop_hang_server
	cat /tmp/hang.log
}

# ---------------------------------------------------------------------
KLAT_SECS=15
klat_snapshot() { echo "$(param txn_count) $(param txn_sum_us) $(param txn_log2_us)"; }
# klat_report PHASE "BEFORE" "AFTER" STEPS: the window's transactions, mean
# and log2 histogram (differences of the cumulative params)
klat_report() {
	echo "$2" "$3" | awk -v phase="$1" -v steps="$4" '{
		n = NF / 2; c = $(n + 1) - $1; s = $(n + 2) - $2; h = ""
		for (i = 3; i <= n; i++) h = h (i > 3 ? "," : "") ($(n + i) - $i)
		printf "KLAT %s transactions=%d avg_us=%d log2_us=%s train_steps=%d\n", phase, c, c ? s / c : 0, h, steps
	}'
}
klat_window() {
	b=$(klat_snapshot)
	s0=$(stat_of train_steps)
	sleep $KLAT_SECS
	a=$(klat_snapshot)
	klat_report "$1" "$b" "$a" $(($(stat_of train_steps) - s0))
	[ "$(echo "$a" | cut -d' ' -f1)" -gt "$(echo "$b" | cut -d' ' -f1)" ]
}
# A bounded control write can time out on a busy guest: ask again each poll
# (start and stop are no-ops in the state they lead to).
training_on() {
	mwrite "$MODEL/control" start
	[ "$(stat_of training)" = 1 ]
}
training_off() {
	mwrite "$MODEL/control" stop
	[ "$(stat_of training)" = 0 ]
}

# scenario 7 helpers
qnet_beats_table() {
	q=$(param efficiency_qnet_permil)
	tb=$(param efficiency_table_permil)
	def=$(param efficiency_default_permil)
	[ "$q" -gt "$((tb + 15))" ] && [ "$tb" -gt "$def" ] && ml_beats_default
} 2>/dev/null
qnet_in_use() { [ "$(param qnet_generation)" -ge 0 ] 2>/dev/null; }
qnet_dropped() { is_param qnet_generation -1; }
# applied_frozen SECONDS: recommendations_applied does not move for that long
applied_frozen() {
	a1=$(param recommendations_applied)
	sleep "$1"
	[ "$a1" = "$(param recommendations_applied)" ]
}
# bench NAME: time 100000 evaluations; print and check the result line
bench() {
	if ! echo 100000 >$P/bench_evals; then
		fail "$1: bench_evals refused"
		return
	fi
	r=$(param bench_evals)
	echo "QNET-BENCH $1 $r"
	med=$(echo "$r" | awk '{ for (i = 1; i < NF; i++) if ($i == "median_ns") print $(i + 1) }')
	txn=$(echo "$r" | awk '{ for (i = 1; i < NF; i++) if ($i == "txn_median_ns") print $(i + 1) }')
	expect "$1: timed 100000 evaluations, median $med ns, transaction $txn ns" \
		sh -c "[ '$med' -gt 0 ] && [ '$txn' -gt '$med' ]"
}

scenario_7() {
	SC=S7
	log "== scenario 7: in-kernel integer inference"
	ensure_ready || { fail "setup: server and module"; return; }
	expect "unload to reload with use_qnet=1" unload_module 15
	load_module "$ABORT_MS" use_qnet=1 || { fail "insmod use_qnet=1"; return; }
	expect "connected" wait_until 15 is_param connected 1
	mwrite "$MODEL/fault" none
	mwrite "$MODEL/mode" recommendation
	expect "recommendation mode in force" wait_until 15 is_param mode recommendation
	expect "network fetched, validated and in use" wait_until 20 qnet_in_use
	expect "network applied to operations" wait_until 10 param_gt recommendations_applied 0
	if wait_until 150 qnet_beats_table; then
		pass "network $(param efficiency_qnet_permil) > table $(param efficiency_table_permil) > default $(param efficiency_default_permil) permil; applied ML $(param efficiency_ml_permil) after ${WAITED_MS} ms"
	else
		fail "network $(param efficiency_qnet_permil) did not beat table $(param efficiency_table_permil) and default $(param efficiency_default_permil)"
	fi
	show_params
	bench 2-16-16-1

	mwrite "$MODEL/fault" qnet_withdrawn
	expect "withdrawn: network dropped" wait_until 5 qnet_dropped
	expect "withdrawn: status ENODATA" is_param qnet_status -61
	expect "withdrawn: operations run the default (applied frozen)" applied_frozen 2
	mwrite "$MODEL/fault" none
	expect "restored: network in use again" wait_until 20 qnet_in_use
	a0=$(param recommendations_applied)
	expect "restored: applied again" wait_until 5 param_gt recommendations_applied "$a0"

	r0=$(param qnet_rejected)
	mwrite "$MODEL/fault" qnet_corrupt
	expect "corrupt: rejected and counted" wait_until 20 param_gt qnet_rejected "$r0"
	expect "corrupt: network dropped" qnet_dropped
	expect "corrupt: checksum named (status $(param qnet_status))" is_param qnet_status -74
	mwrite "$MODEL/fault" none
	expect "cleared: network in use again" wait_until 20 qnet_in_use
	expect "kernel clean" no_kernel_trouble
	show_params

	# the 32-wide network: a model made by hand, reused by the module
	W=$MNT/models/q32
	mkdir $W
	printf 'inputs=2\noutputs=1\nscale=1000\nhidden=32,32\n' | timeout 5 sh -c "cat > $W/config"
	mwrite $W/control commit
	mwrite $W/control init
	expect "unload" unload_module 15
	insmod $KO mount_path=$MNT model_name=q32 period_ms=$PERIOD_MS timeout_ms=$TIMEOUT_MS use_qnet=1 ||
		{ fail "insmod model_name=q32"; return; }
	expect "32-wide network in use" wait_until 20 qnet_in_use
	sleep 3	# some recommendation transactions to time
	bench 2-32-32-1
	expect "unload after the bench" unload_module 15
}

scenario_8() {
	SC=S8
	log "== scenario 8: the module's transaction latency, training and idle"
	ensure_ready || { fail "setup: server and module"; return; }
	[ "$(param mode)" = learning ] || mwrite "$MODEL/mode" learning
	expect "mlproxy trains" wait_until 60 training_on
	expect "transactions timed while training" klat_window training
	expect "training paused" wait_until 90 training_off
	expect "transactions timed while idle" klat_window idle
	echo "KLAT total transactions=$(param txn_count) min_us=$(param txn_min_us) avg_us=$(param txn_avg_us) max_us=$(param txn_max_us) log2_us=$(param txn_log2_us | tr ' ' ',')"
	expect "the latency params refuse writes" sh -c "! echo 0 2>/dev/null > $P/txn_max_us"
	mwrite "$MODEL/control" start
}

for s in $SCENARIOS; do
	case $s in
	1 | 2 | 3 | 4 | 5 | 6 | 7 | 8) "scenario_$s" ;;
	*) SC=S$s; fail "unknown scenario" ;;
	esac
done

SC=end
if [ -d /sys/module/mlproxy_kmod ]; then
	expect "final rmmod" unload_module 15
fi
stop_server
if [ "$FAILED" != 0 ]; then
	echo "--- processes"
	ps
	echo "--- mlproxy log"
	cat /tmp/server.log 2>/dev/null
else
	echo "--- mlproxy log (tail)"
	tail -n 10 /tmp/server.log 2>/dev/null
fi
exit $FAILED
