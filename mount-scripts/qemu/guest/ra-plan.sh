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

# Round 28, the schedule search (job_search in ra-guest.sh).
# WINDOWS PHASE KB: the schedule with one phase's window (phases count from 0) replaced
window_at() {
	echo "$1" | awk -F, -v p="$2" -v kb="$3" 'BEGIN { OFS = "," } {
		if (p < 0 || p >= NF) { print "window_at: no phase " p " in " NF > "/dev/stderr"; exit 1 }
		$(p + 1) = kb; print
	}'
}

# numbers, one per line on stdin: their median (nothing for none)
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# RUN lines of fixed runs: the per-phase oracle's choice, each phase's fixed
# window with the lowest time (over several seeds its lowest median: the
# single fastest run would pick the luckiest one), one KiB value per phase
oracle_windows() {
	awk '/^RUN .* variant=(def|f[0-9]+) .* phase=/ {
		v = $0; sub(/.* variant=/, "", v); sub(/ .*/, "", v)
		kb = (v == "def") ? 128 : substr(v, 2)
		p = $0; sub(/.* phase=/, "", p); sub(/ .*/, "", p)
		ms = $0; sub(/.* ms=/, "", ms); sub(/ .*/, "", ms)
		k = kb SUBSEP p
		if (!(k in n)) { kbs[++nkb] = kb }
		t[k, ++n[k]] = ms + 0
		if (p + 1 > np) np = p + 1
	}
	function med(k,    m, i, j, x, a) {
		m = n[k]
		for (i = 1; i <= m; i++) a[i] = t[k, i]
		for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { x = a[j]; a[j] = a[j - 1]; a[j - 1] = x }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	END {
		for (p = 0; p < np; p++) {
			best = ""
			for (i = 1; i <= nkb; i++) {
				k = kbs[i] SUBSEP p
				if (!(k in n)) continue
				x = med(k)
				if (best == "" || x < best) { best = x; win = kbs[i] }
			}
			printf "%s%s", (p ? "," : ""), win
		}
		print ""
	}' "$1"
}
