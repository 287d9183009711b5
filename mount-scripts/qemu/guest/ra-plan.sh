# SPDX-License-Identifier: GPL-2.0-only
#
# The readahead bench's workloads as ra-work plans, and the per-phase
# windows set on them (round 12); sourced by ra-guest.sh, and by the host
# test (test/kmod/ra-work.test.ts).  POSIX sh: busybox in the guest.

# the two workloads, fixed work; SCALE multiplies the work (cloud is faster)
SCALE=${SCALE:-1}
s() { echo $(($1 * SCALE)); }
plan_scan() { echo "seq:$(s 48),mmap:$(s 60),seq:$(s 48),runs:$(s 30),seq:$(s 48),mix:$(s 16):$(s 40)"; }
plan_lookup() { echo "mmap:$(s 300),seq:$(s 12),runs:$(s 30),mmap:$(s 300),mix:$(s 8):$(s 40),runs:$(s 30)"; }
# a phase type neither workload has: mmap touches 64 KiB apart, backwards (records read newest first)
plan_new() { echo "rstride:$(s 600):64,seq:$(s 48),rstride:$(s 600):64,runs:$(s 30)"; }

# PLAN KB,KB,...: the plan with each phase's window appended (ra-work's @KB);
# fails unless there is one window per phase
with_windows() {
	awk -v plan="$1" -v kbs="$2" 'BEGIN {
		n = split(plan, ph, ","); m = split(kbs, kb, ",")
		if (n != m || n == 0) { print "with_windows: " n " phases, " m " windows" > "/dev/stderr"; exit 1 }
		for (i = 1; i <= n; i++) printf "%s%s@%s", (i > 1 ? "," : ""), ph[i], kb[i]
		print ""
	}'
}

# RUN lines of one repetition of one workload: the best fixed window of each
# phase (the per-phase oracle's choice), one KiB value per phase
oracle_windows() {
	awk '/^RUN .* variant=(def|f[0-9]+) .* phase=/ {
		v = $0; sub(/.* variant=/, "", v); sub(/ .*/, "", v)
		kb = (v == "def") ? 128 : substr(v, 2)
		p = $0; sub(/.* phase=/, "", p); sub(/ .*/, "", p)
		ms = $0; sub(/.* ms=/, "", ms); sub(/ .*/, "", ms)
		if (!(p in best) || ms + 0 < best[p]) { best[p] = ms + 0; win[p] = kb }
		if (p + 1 > n) n = p + 1
	}
	END { for (i = 0; i < n; i++) printf "%s%s", (i ? "," : ""), win[i]; print "" }' "$1"
}
