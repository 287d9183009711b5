// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit tests for mlp_ra_calc.c, the readahead subsystem's arithmetic:
 * fixed-point log2, task accounting, features, the efficiency (delivered
 * bytes per task, mean of logs) and the candidate choice.  Prints TAP.
 *
 *   make -C kmod hosttest-ra
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp_ra_calc.h"
#include "hosttest/tap.h"


static void test_log2(void)
{
	ok(mlp_ra_log2fx(0) == 0 && mlp_ra_log2fx(1) == 0, "log2 of 0 and 1 is 0");
	ok(mlp_ra_log2fx(2) == 1000 && mlp_ra_log2fx(1024) == 10000, "log2 is exact at powers of two");
	ok(mlp_ra_log2fx(3) == 1500, "log2 is linear between powers (3 -> 1.5)");
	ok(mlp_ra_log2fx(2048) - mlp_ra_log2fx(128) == 4000, "2048 KiB is four doublings above 128");
	ok(mlp_ra_log2fx((u64)1 << 40) == 40000, "log2 handles large counts");
}

static void test_tasks(void)
{
	struct ra_counts c = { 0 };
	int i;

	mlp_ra_add_task_bytes(&c, 10, 100);
	mlp_ra_add_task_bytes(&c, 11, 50);
	mlp_ra_add_task_bytes(&c, 10, 100);
	ok(c.nr_tasks == 2 && c.task_bytes[0] == 200 && c.task_bytes[1] == 50, "bytes are credited per task");
	for (i = 0; i < 20; i++)
		mlp_ra_add_task_bytes(&c, 100 + i, 1);
	ok(c.nr_tasks == RA_MAX_TASKS && c.tasks_untracked_bytes == 20 - (RA_MAX_TASKS - 2),
	   "tasks beyond the table are pooled, never overflow it");
}

static void test_efficiency(void)
{
	struct ra_counts one = { 0 }, fair = { 0 }, starved = { 0 };
	s32 e1, e_fair, e_starved;

	ok(!mlp_ra_efficiency(&one, 100, &e1), "no reader: no score");
	/* one task, 1 MiB in 1 s = 1024 KiB/s */
	mlp_ra_add_task_bytes(&one, 1, 1 << 20);
	ok(mlp_ra_efficiency(&one, 1000, &e1) && e1 == mlp_ra_log2fx(1025), "score is log2(KiB/s + 1)");
	/* a scan at 8 MiB/s and a lookup reader at 1 MiB/s ... */
	mlp_ra_add_task_bytes(&fair, 1, 8 << 20);
	mlp_ra_add_task_bytes(&fair, 2, 1 << 20);
	/* ... against the scan 1.4x faster while the lookups are 7x slower */
	mlp_ra_add_task_bytes(&starved, 1, (u64)(8 << 20) * 14 / 10);
	mlp_ra_add_task_bytes(&starved, 2, (1 << 20) / 7);
	mlp_ra_efficiency(&fair, 1000, &e_fair);
	mlp_ra_efficiency(&starved, 1000, &e_starved);
	ok(e_starved < e_fair, "starving a co-running reader scores worse, though more bytes moved");
}

static void test_features(void)
{
	struct ra_counts c = { 0 };
	s32 f[RA_NR_FEATURES];

	c.reqs = 10;
	c.req_bytes = 10 * 128 * 1024;
	c.seq_reqs = 9;
	c.pages_added = 320;
	c.read_bytes = 320 * 4096;
	c.read_calls = 10;
	mlp_ra_add_task_bytes(&c, 1, c.read_bytes);
	mlp_ra_features(&c, 100, 128, f);
	ok(f[RA_F_REQ_RATE] == mlp_ra_log2fx(101), "request rate per second");
	ok(f[RA_F_REQ_KB] == mlp_ra_log2fx(129), "mean request KiB");
	ok(f[RA_F_SEQ_PERMIL] == 900 && f[RA_F_MMAP_PERMIL] == 0, "sequential share, mmap share");
	ok(f[RA_F_WASTE] == 16000, "no waste when every page read in was delivered");
	ok(f[RA_F_TASKS] == 1000 && f[RA_F_RA_KB] == 7000, "tasks and the window in force");
	ok(f[RA_F_READ_KB] == mlp_ra_log2fx(129), "mean read() KiB");
	c.fault_bytes = c.read_bytes;
	c.read_bytes = 0;
	c.pages_added = 320 * 32;
	mlp_ra_features(&c, 100, 128, f);
	ok(f[RA_F_MMAP_PERMIL] == 1000 && f[RA_F_WASTE] > 16000 + 4900, "mmap read-around waste shows as log2 of the ratio");
}

static void test_choice(void)
{
	s32 p1[RA_NR_CANDIDATES] = { 10, 30, 20, 5 };
	s32 p2[RA_NR_CANDIDATES] = { 7, 7, 7, 7 };

	ok(mlp_ra_best_candidate(p1) == 1, "the highest predicted efficiency wins");
	ok(mlp_ra_best_candidate(p2) == 0, "a tie goes to the smaller window");
	ok(mlp_ra_clamp_kb(4) == RA_MIN_KB && mlp_ra_clamp_kb(1 << 20) == RA_MAX_KB && mlp_ra_clamp_kb(512) == 512,
	   "windows are clamped to 16..2048 KiB");
	ok(mlp_ra_candidate_index(1) == 0 && mlp_ra_candidate_index(16) == 0 &&
	   mlp_ra_candidate_index(17) == 1 && mlp_ra_candidate_index(128) == 1 &&
	   mlp_ra_candidate_index(2048) == 3 && mlp_ra_candidate_index(4096) == 3,
	   "candidate index: the smallest candidate of at least kb, the largest beyond them");
	ok(mlp_ra_explore_candidate(16, 7) == 1 && mlp_ra_explore_candidate(2048, 8) == 2,
	   "exploring from either end of the set tries its only neighbour");
	ok(mlp_ra_explore_candidate(128, 0) == 0 && mlp_ra_explore_candidate(128, 1) == 2 &&
	   mlp_ra_explore_candidate(512, 0) == 1 && mlp_ra_explore_candidate(512, 1) == 3,
	   "exploring from the middle tries one step smaller or larger");
	ok(mlp_ra_explore_candidate(0, 3) == 3 && mlp_ra_explore_candidate(0, 6) == 2,
	   "without a choice any candidate may be tried");
	ok(mlp_ra_candidates_kb[0] == 16 && mlp_ra_candidates_kb[1] == 128 && mlp_ra_candidates_kb[2] == 512 && mlp_ra_candidates_kb[3] == 2048,
	   "the documented candidate set");
}

static void test_context(void)
{
	struct ra_counts scan = { 0 }, lookup = { 0 }, mmap = { 0 }, mix = { 0 }, column = { 0 };
	struct ra_counts random = { 0 }, half = { 0 };
	s32 f[RA_NR_FEATURES];
	struct ra_baseline b = { 0 };
	s32 rel = -1;
	int i;

	scan.read_bytes = 40 << 20;
	scan.read_calls = 320;			/* 128 KiB reads */
	mlp_ra_add_task_bytes(&scan, 1, scan.read_bytes);
	lookup.read_bytes = 400 * 4096;
	lookup.read_calls = 400;		/* 4 KiB reads */
	lookup.read_jumps = 25;			/* runs of 16 */
	mlp_ra_add_task_bytes(&lookup, 1, lookup.read_bytes);
	random = lookup;
	random.read_jumps = 390;		/* random 4 KiB lookups */
	half = lookup;
	half.read_jumps = 200;
	mmap.fault_bytes = 100 * 4096;
	mlp_ra_add_task_bytes(&mmap, 1, mmap.fault_bytes);
	mix = scan;
	mlp_ra_add_task_bytes(&mix, 2, 4096);
	column = mmap;
	for (i = 0; i < 100; i++)
		mlp_ra_add_fault_distance(&column, 5000 - 16 * i, 5000 - 16 * (i + 1));	/* backwards, 64 KiB apart */
	mlp_ra_add_fault_distance(&mmap, 10, 10 + 3 * RA_NEAR_PAGES);
	ok(mlp_ra_context(&scan) == 4 && mlp_ra_context(&lookup) == 0 &&
	   mlp_ra_context(&mmap) == 1 && mlp_ra_context(&mix) == 6 &&
	   mlp_ra_context(&column) == 5,
	   "contexts: large read(), small read(), mmap scattered and near, more than one task");
	ok(mlp_ra_context(&random) == 8 && mlp_ra_context(&half) == 8,
	   "small read() calls that mostly start elsewhere are another context than runs of them");
	mlp_ra_features(&random, 100, 128, f);
	ok(f[RA_F_READ_JUMP_PERMIL] == 975 && mlp_ra_context_of_features(f) == 8,
	   "the share of read() calls not continuing their file's last, and its context again from it");
	mlp_ra_features(&half, 100, 128, f);
	ok(mlp_ra_context_of_features(f) == 8, "at half the calls, counts and features agree");
	mlp_ra_features(&mmap, 100, 128, f);
	ok(f[RA_F_READ_JUMP_PERMIL] == 0, "no read() calls, no share");
	mlp_ra_features(&column, 100, 128, f);
	ok(f[RA_F_FAULT_DIST] == mlp_ra_log2fx(17), "log2 of the mean distance between faults, either way");
	mlp_ra_features(&scan, 100, 128, f);
	ok(f[RA_F_FAULT_DIST] == 0, "no faults, no distance");
	ok(!mlp_ra_relative(&b, 4, 15000, &rel), "no relative score before the default is known in the context");
	for (i = 0; i < RA_BASE_MIN; i++)
		mlp_ra_baseline_add(&b, 4, 14000);
	ok(mlp_ra_relative(&b, 4, 15000, &rel) && rel == RA_REL_BASE + 1000,
	   "a doubling over the default in the same context is RA_REL_BASE + 1000");
	ok(!mlp_ra_relative(&b, 1, 15000, &rel), "contexts are kept apart");
	for (i = 0; i < 200; i++)
		mlp_ra_baseline_add(&b, 4, 12000);
	ok(mlp_ra_relative(&b, 4, 12000, &rel) && rel > RA_REL_BASE - 50 && rel <= RA_REL_BASE,
	   "the default's running score follows a change in the context");
	ok(!mlp_ra_relative(&b, RA_NR_CONTEXTS, 1, &rel), "an out-of-range context is refused");
	/* evidence (round 10): relative differences of means are throughput changes */
	ok(mlp_ra_evidence(RA_REL_BASE) == RA_EVIDENCE_BASE, "as good as the default is RA_EVIDENCE_BASE");
	ok(mlp_ra_evidence(RA_REL_BASE + 29) == RA_EVIDENCE_BASE + 29 &&
	   29 * 1000 / RA_EVIDENCE_BASE == 20,
	   "a 2% throughput gain (0.029 of a doubling) reads +2% of RA_EVIDENCE_BASE, the promotion margin");
	ok(mlp_ra_evidence(RA_REL_BASE - RA_EVIDENCE_BASE) == 0 &&
	   mlp_ra_evidence(RA_REL_BASE - 3000) == 0 && mlp_ra_evidence(0) == 0,
	   "an interval e times worse than the default or more reads 0");
	ok(mlp_ra_evidence(RA_REL_MAX) == RA_REL_MAX - RA_REL_BASE + RA_EVIDENCE_BASE,
	   "gains keep their size");
}

/*
 * Access kinds (round 7): a window per kind (small read() calls, a scan's
 * large ones, mmap faults), set by a choice in a context of that kind.
 */
static void test_access(void)
{
	static const unsigned int kind[RA_NR_CONTEXTS] = {
		RA_ACCESS_SMALL_READ, RA_ACCESS_FAULT, RA_ACCESS_SMALL_READ, RA_ACCESS_FAULT,
		RA_ACCESS_LARGE_READ, RA_ACCESS_FAULT, RA_ACCESS_LARGE_READ, RA_ACCESS_FAULT,
		RA_ACCESS_SMALL_READ, RA_ACCESS_FAULT, RA_ACCESS_SMALL_READ, RA_ACCESS_FAULT,
		RA_ACCESS_LARGE_READ, RA_ACCESS_FAULT, RA_ACCESS_LARGE_READ, RA_ACCESS_FAULT,
	};
	const u32 pages[RA_NR_ACCESS] = { 32, 512, 4 }, over[RA_NR_ACCESS] = { 0, 5000, 1 };
	unsigned int c, bad = 0;
	u32 w = mlp_ra_windows_pack(pages);

	for (c = 0; c < RA_NR_CONTEXTS; c++)
		bad += mlp_ra_access_of_context(c) != kind[c];
	ok(!bad, "every context's kind: mmap faults, large or small read() calls, alone or shared, random or not");
	ok(mlp_ra_access_of_read(128 * 1024) == RA_ACCESS_LARGE_READ &&
	   mlp_ra_access_of_read(RA_LARGE_READ_BYTES) == RA_ACCESS_LARGE_READ &&
	   mlp_ra_access_of_read(RA_LARGE_READ_BYTES - 1) == RA_ACCESS_SMALL_READ &&
	   mlp_ra_access_of_read(4096) == RA_ACCESS_SMALL_READ,
	   "a read() is large from the size that makes a context large");
	ok(mlp_ra_window_of(w, RA_ACCESS_SMALL_READ) == 32 &&
	   mlp_ra_window_of(w, RA_ACCESS_LARGE_READ) == 512 &&
	   mlp_ra_window_of(w, RA_ACCESS_FAULT) == 4,
	   "a scan's window does not serve the faults or short runs, each kind has its own");
	w = mlp_ra_windows_pack(over);
	ok(mlp_ra_window_of(w, RA_ACCESS_SMALL_READ) == 0 &&
	   mlp_ra_window_of(w, RA_ACCESS_LARGE_READ) == RA_WINDOW_MASK &&
	   mlp_ra_window_of(w, RA_ACCESS_FAULT) == 1 && mlp_ra_window_of(w, RA_NR_ACCESS) == 0,
	   "a window too large for its field clamps without touching the others; no kind beyond");
	ok(RA_MAX_KB / 4 <= RA_WINDOW_MASK, "the largest window fits the field (4 KiB pages)");
}

/*
 * Default intervals pack 0, the device's own window, which the probes read
 * at each access: a device at 8192 KiB, beyond the field's 4092, keeps it.
 */
static void test_windows_set(void)
{
	u32 kind_kb[RA_NR_ACCESS] = { 0 };
	u32 w = mlp_ra_windows_set(kind_kb, RA_ACCESS_LARGE_READ, 8192, false);

	ok(w == 0 && !kind_kb[RA_ACCESS_SMALL_READ] && !kind_kb[RA_ACCESS_FAULT],
	   "a default interval gives every kind the device's own window (0), whatever its size");
	w = mlp_ra_windows_set(kind_kb, RA_ACCESS_FAULT, 16, true);
	ok(mlp_ra_window_of(w, RA_ACCESS_FAULT) == 4 &&
	   mlp_ra_window_of(w, RA_ACCESS_SMALL_READ) == 0 &&
	   mlp_ra_window_of(w, RA_ACCESS_LARGE_READ) == 0,
	   "a choice sets its kind's window; the others keep the device's own");
	w = mlp_ra_windows_set(kind_kb, RA_ACCESS_LARGE_READ, 2048, true);
	ok(mlp_ra_window_of(w, RA_ACCESS_FAULT) == 4 &&
	   mlp_ra_window_of(w, RA_ACCESS_LARGE_READ) == 512 &&
	   mlp_ra_window_of(w, RA_ACCESS_SMALL_READ) == 0,
	   "a second kind's choice keeps the first kind's");
	/* round 11: a model block's interval that scores its context at the default (ra_set_kind_default) */
	w = mlp_ra_windows_set(kind_kb, RA_ACCESS_FAULT, 0, true);
	ok(mlp_ra_window_of(w, RA_ACCESS_FAULT) == 0 &&
	   mlp_ra_window_of(w, RA_ACCESS_LARGE_READ) == 512,
	   "a kind set to 0 by a choice gets the device's own window; the others keep theirs");
	w = mlp_ra_windows_set(kind_kb, RA_ACCESS_FAULT, 128, false);
	ok(w == 0, "the next default interval hands every kind back to the device");
}

/* every context's sample, from counts, classified again from its features */
static void test_support_context(void)
{
	struct ra_counts c[4] = { { 0 } };
	s32 f[RA_NR_FEATURES];
	unsigned int k, agree = 0;
	int i;

	c[0].read_bytes = 40 << 20;
	c[0].read_calls = 320;
	mlp_ra_add_task_bytes(&c[0], 1, c[0].read_bytes);
	c[1].fault_bytes = 100 * 4096;
	mlp_ra_add_task_bytes(&c[1], 1, c[1].fault_bytes);
	mlp_ra_add_fault_distance(&c[1], 10, 10 + 3 * RA_NEAR_PAGES);
	c[2] = c[1];
	c[2].fault_dist = 0;
	c[2].fault_dist_n = 0;
	for (i = 0; i < 100; i++)
		mlp_ra_add_fault_distance(&c[2], 5000 - 16 * i, 5000 - 16 * (i + 1));
	c[3].read_bytes = 400 * 4096;
	c[3].read_calls = 400;
	mlp_ra_add_task_bytes(&c[3], 1, 4096);
	mlp_ra_add_task_bytes(&c[3], 2, 4096);
	for (k = 0; k < 4; k++) {
		mlp_ra_features(&c[k], 100, 128, f);
		agree += mlp_ra_context_of_features(f) == mlp_ra_context(&c[k]);
	}
	ok(agree == 4, "a sample's features give the context its counts gave (scan, mmap scattered and near, shared small reads)");
}

static void test_support(void)
{
	static struct ra_support_parser p;	/* zeroed */
	const char *text = "500 1000 0 17000 0 7000 4999\n"	/* mmap lookups at 128 KiB */
			   "1000 1000 0 17000 0 11000 3100\n"	/* at 2048 KiB */
			   "0 1000 7000 0 0 11000 6200\n"	/* scan at 2048 KiB */
			   "1000 1000 0 17000 0 4000 5400";	/* lookups at 16 KiB, no newline */
	s32 pred[RA_NR_CANDIDATES] = { 5400, 5000, 5100, 6000 };
	size_t i;
	u32 mask;

	/* fed in pieces of 7 bytes, as chunks of a read */
	for (i = 0; i < strlen(text); i += 7)
		mlp_ra_support_feed(&p, text + i, strlen(text) - i < 7 ? strlen(text) - i : 7);
	mlp_ra_support_end(&p);
	ok(p.rows == 4 && p.bad == 0, "four dataset rows parsed across chunk borders");
	ok(p.sup.n[1][3] == 1 && p.sup.n[1][0] == 1 && p.sup.n[0][1] == 1 && p.sup.n[4][3] == 1,
	   "rows counted by the context of their features and their candidate (500 permil is not mmap)");
	text = "1 2 3\nx 1 2 3 4 5 6\n1 2 3 4 5 6 7 8\n";
	mlp_ra_support_feed(&p, text, strlen(text));
	ok(p.rows == 4 && p.bad == 3, "rows with too few, bad or too many numbers are counted as bad");
	mask = mlp_ra_allowed_mask(&p.sup, 1, 128, 1);
	ok(mask == 0xb, "allowed: candidates with enough samples in the context, and the default");
	ok(mlp_ra_best_allowed(pred, mlp_ra_allowed_mask(&p.sup, 1, 128, 2)) == 1,
	   "without enough samples the default is all that is left");
	ok(mlp_ra_best_allowed(pred, mask) == 3 &&
	   mlp_ra_best_allowed(pred, mask & ~8u) == 0, "the best allowed candidate wins");
	ok(mlp_ra_best_allowed(pred, mlp_ra_allowed_mask(&p.sup, 1, 256, 5)) == -1,
	   "a default outside the set and no support: no candidate");
	ok(mlp_ra_may_differ(&p.sup, 1, 128, 1, 0) && !mlp_ra_may_differ(&p.sup, 0, 128, 1, 0) &&
	   !mlp_ra_may_differ(&p.sup, 1, 128, 2, 0),
	   "the model may differ from the default only where another window has support");
	ok(mlp_ra_explore_untried(&p.sup, 4, 16, 1) == 1 && mlp_ra_explore_untried(&p.sup, 4, 2048, 1) == 2,
	   "exploring tries the untried candidate nearest to the choice first");
	ok(mlp_ra_explore_untried(&p.sup, 1, 128, 1) == 2 && mlp_ra_explore_untried(&p.sup, 0, 128, 1) == 0,
	   "never the choice itself; a tie goes to the smaller window");
	p.sup.n[5][0] = p.sup.n[5][1] = p.sup.n[5][2] = p.sup.n[5][3] = 3;
	ok(mlp_ra_explore_untried(&p.sup, 5, 16, 3) == -1 && mlp_ra_explore_untried(&p.sup, RA_NR_CONTEXTS, 16, 3) == -1,
	   "none when every candidate has its samples (or no such context)");
	ok(mlp_ra_candidate_of_log2(9000) == 2 && mlp_ra_candidate_of_log2(8000) == -1,
	   "a sample's window maps to its candidate, other windows to none");
}

/* Round 21: the context a fresh load primes each kind of access from, and its features. */
static void test_kind_context(void)
{
	static struct ra_support sup;	/* zeroed */
	s32 alone[RA_INPUTS + 1] = { 1000, 1000, 0, 17000, 0, 4000, 5400 };	/* context 1 */
	s32 shared[RA_INPUTS + 1] = { 1000, 2000, 0, 17000, 0, 7000, 5100 };	/* context 3 */
	s32 newer[RA_INPUTS + 1] = { 990, 1000, 0, 16000, 0, 4000, 5600 };

	ok(mlp_ra_kind_context(&sup, RA_ACCESS_FAULT) == -1 &&
	   mlp_ra_kind_context(&sup, RA_ACCESS_SMALL_READ) == -1, "no samples: no context to prime from");
	mlp_ra_support_add(&sup, alone);
	mlp_ra_support_add(&sup, shared);
	mlp_ra_support_add(&sup, shared);
	ok(mlp_ra_kind_context(&sup, RA_ACCESS_FAULT) == 3, "a kind primes from its most sampled context");
	mlp_ra_support_add(&sup, alone);
	mlp_ra_support_add(&sup, newer);
	ok(mlp_ra_kind_context(&sup, RA_ACCESS_FAULT) == 1 &&
	   mlp_ra_kind_context(&sup, RA_ACCESS_LARGE_READ) == -1, "counted over every candidate; other kinds stay without");
	ok(sup.recent[1][RA_F_MMAP_PERMIL] == 990 && sup.recent[1][RA_F_FAULT_DIST] == 16000 &&
	   sup.recent[3][RA_F_TASKS] == 2000, "each context keeps its newest sample's model features");
}

/* n samples of a 4 KiB pread run interval (context 0) at kb, scores mean +- spread */
static void add_runs(struct ra_support *sup, u32 kb, unsigned int n, s32 mean,
		     s32 spread)
{
	s32 row[RA_INPUTS + 1] = { 0, 1000, mlp_ra_log2fx(4 + 1), 0, 60 };
	unsigned int i;

	row[RA_NR_MODEL_FEATURES] = mlp_ra_log2fx(kb);
	for (i = 0; i < n; i++) {
		row[RA_INPUTS] = mean + (i & 1 ? spread : -spread);
		mlp_ra_support_add(sup, row);
	}
}

/*
 * Round 9: round 8's cloud warm-up, where the network chose 512 or 2048 KiB
 * for 4 KiB pread runs (context 0) while every window's scores there were
 * below the default's (16/128/512/2048: 3107/4862/4326/4534 against 4981).
 */
static void test_guard(void)
{
	static struct ra_support sup;	/* zeroed */
	s32 pred[RA_NR_CANDIDATES] = { 4000, 5000, 5300, 5400 };
	s32 row[RA_INPUTS + 1] = { 0, 1000, 7000, 0, 0, 11000, 2000000000 };
	u32 allowed, guarded;

	add_runs(&sup, 16, 32, 3107, 1000);
	add_runs(&sup, 128, 444, 4981, 1000);
	add_runs(&sup, 512, 46, 4326, 1000);
	add_runs(&sup, 2048, 50, 4534, 1000);
	allowed = mlp_ra_allowed_mask(&sup, 0, 128, 8);
	guarded = mlp_ra_guarded_mask(&sup, 0, 128, 16, 50);
	ok(mlp_ra_support_mean(&sup, 0, 2) == 4326 && mlp_ra_support_mean(&sup, 0, 1) == 4981,
	   "the samples' mean score per context and window");
	ok(allowed == 0xf && guarded == 0xd,
	   "every window whose samples trail the default's there is guarded, never the default");
	ok(mlp_ra_best_allowed(pred, allowed & ~guarded) == 1,
	   "the network's 2048 KiB is not chosen where its samples lose: the default serves");
	ok(!mlp_ra_may_differ(&sup, 0, 128, 8, guarded),
	   "a context where only the default is left is not one the model may differ in");
	ok(mlp_ra_guarded_mask(&sup, 0, 128, 40, 50) == 0xc &&
	   mlp_ra_guarded_mask(&sup, 0, 128, 500, 50) == 0,
	   "only windows with guard_min samples on both sides are judged");
	ok(mlp_ra_guarded_mask(&sup, 0, 128, 16, 700) == 0x1,
	   "a gap within the margin is no reason");
	add_runs(&sup, 512, 2000, 5400, 1000);
	ok(!(mlp_ra_guarded_mask(&sup, 0, 128, 16, 50) & 0x4),
	   "samples that do well lift the guard (explored blocks can recover a window)");
	memset(&sup, 0, sizeof(sup));
	add_runs(&sup, 128, 400, 5000, 1000);
	add_runs(&sup, 2048, 16, 4800, 1000);
	ok(mlp_ra_guarded_mask(&sup, 0, 128, 16, 50) == 0,
	   "a gap inside two standard errors of the spread is not guarded");
	add_runs(&sup, 2048, 400, 4800, 1000);
	ok(mlp_ra_guarded_mask(&sup, 0, 128, 16, 50) == 0x8,
	   "the same gap with enough samples is");
	ok(mlp_ra_guarded_mask(&sup, 0, 256, 16, 50) == 0 &&
	   mlp_ra_guarded_mask(&sup, RA_NR_CONTEXTS, 128, 16, 50) == 0,
	   "no guard for a default outside the set or a context out of range");
	mlp_ra_support_add(&sup, row);
	ok(sup.sum[4][3] == RA_REL_MAX && sup.sumsq[4][3] == (u64)RA_REL_MAX * RA_REL_MAX,
	   "a sample's score is clamped before it is summed");
}

/*
 * Round 14: the lead and thin exploration, on round 13's second hdd boot,
 * where 512 KiB's samples after scattered faults (context 0 here) led the
 * default's by 3.5% on 37 samples and the network kept 128 KiB.
 */
static void test_lead(void)
{
	static struct ra_support sup;	/* zeroed */

	add_runs(&sup, 128, 958, 5003, 1000);
	add_runs(&sup, 512, 37, 5178, 1000);
	add_runs(&sup, 16, 40, 4990, 1000);
	ok(mlp_ra_sample_leader(&sup, 0, 1, 0xf, 32, 50, 50) == -1,
	   "a lead inside two standard errors (37 samples, +175) is no reason");
	ok(mlp_ra_explore_thin(&sup, 0, 128, 64, 0) == 3,
	   "thin exploration tries the candidate with the fewest samples: 2048 KiB's none first");
	ok(mlp_ra_explore_thin(&sup, 0, 128, 64, 0x8) == 2,
	   "never a guarded (excluded) one: then 512 KiB's 37 before 16 KiB's 40");
	ok(mlp_ra_explore_thin(&sup, 0, 128, 37, 0x8) == -1 && mlp_ra_explore_thin(&sup, 0, 128, 0, 0) == -1,
	   "none once every other candidate has its samples, or when turned off");
	ok(mlp_ra_explore_thin(&sup, 0, 16, 64, 0x8) == 2 && mlp_ra_explore_thin(&sup, 0, 512, 64, 0x8) == 0,
	   "never the choice itself");
	add_runs(&sup, 2048, 37, 5000, 1000);
	ok(mlp_ra_explore_thin(&sup, 0, 128, 64, 0) == 3,
	   "a tie goes to the larger window");
	add_runs(&sup, 512, 300, 5409, 1000);
	ok(mlp_ra_sample_leader(&sup, 0, 1, 0xf, 32, 50, 50) == 2,
	   "337 samples a third of a doubling ahead (round 13's first boot): 512 KiB leads the choice");
	ok(mlp_ra_sample_leader(&sup, 0, 1, 0xb, 32, 50, 50) == -1,
	   "only candidates in the mask (allowed, not guarded) may lead");
	ok(mlp_ra_sample_leader(&sup, 0, 2, 0xf, 32, 50, 50) == -1,
	   "the leader itself chosen: nothing leads it");
	ok(mlp_ra_sample_leader(&sup, 0, 1, 0xf, 400, 50, 50) == -1 && mlp_ra_sample_leader(&sup, 0, 1, 0xf, 0, 50, 50) == -1,
	   "too few samples on a side, or min_samples 0 (off): no lead");
	ok(mlp_ra_sample_leader(&sup, 0, 1, 0xf, 32, 500, 500) == -1,
	   "a lead within the margin is no reason");
	add_runs(&sup, 2048, 400, 6000, 1000);
	ok(mlp_ra_sample_leader(&sup, 0, 1, 0xf, 32, 50, 50) == 3,
	   "of several that lead, the highest mean");
	ok(mlp_ra_sample_leader(&sup, RA_NR_CONTEXTS, 1, 0xf, 32, 50, 50) == -1 &&
	   mlp_ra_sample_leader(&sup, 0, -1, 0xf, 32, 50, 50) == -1,
	   "no lead for a context or a choice out of range");
}

/*
 * Round 29: round 26's cloud warm-up with smaller_margin=150, where the
 * scans' context (here 0) took 16 KiB as the smaller of two alike and the
 * lead gave 2048 KiB back, its samples 89 ahead of 16 KiB's.
 */
static void test_lead_larger(void)
{
	static struct ra_support sup;	/* zeroed */

	add_runs(&sup, 16, 2000, 5100, 300);
	add_runs(&sup, 2048, 2000, 5189, 300);
	ok(mlp_ra_sample_leader(&sup, 0, 0, 0xf, 32, 50, 50) == 3,
	   "with one margin, 2048 KiB's +89 on 2000 samples leads the smaller choice");
	ok(mlp_ra_sample_leader(&sup, 0, 0, 0xf, 32, 50, 200) == -1,
	   "a larger window must lead by larger_margin: +89 is short of 200");
	ok(mlp_ra_sample_leader(&sup, 0, 3, 0xf, 32, 50, 200) == -1,
	   "2048 KiB chosen: the smaller window trails, no lead");
	add_runs(&sup, 512, 2000, 5700, 300);
	ok(mlp_ra_sample_leader(&sup, 0, 0, 0xf, 32, 50, 200) == 2,
	   "a larger window past larger_margin (+600) still leads");
	add_runs(&sup, 128, 2000, 5500, 300);
	ok(mlp_ra_sample_leader(&sup, 0, 3, 0x7, 32, 50, 1000) == 2,
	   "towards a smaller window the plain margin holds: 512 KiB leads a 2048 choice by +511");
}

/*
 * The mix (round 11): the model's evidence is thinned to the default's mix
 * of contexts, so a context the model shortened weighs as the default's time
 * there.
 */
static void mix_fill(struct ra_mix *m, unsigned int ctx, u32 def, u32 ml)
{
	u32 i;

	for (i = 0; i < def; i++)
		mlp_ra_mix_add(m, false, ctx);
	for (i = 0; i < ml; i++)
		mlp_ra_mix_add(m, true, ctx);
}

static void test_mix(void)
{
	struct ra_mix m = { 0 };
	unsigned int k;
	u32 keep_scan, keep_look;
	bool capped = true;

	ok(mlp_ra_mix_keep_permil(&m, 4, 8) == RA_SCALE, "nothing counted: every ml interval is kept");
	/* round 10's cloud warm-up: lookups 1124 / 16, scans 2937 / 139 */
	mix_fill(&m, 1, 1124, 16);
	mix_fill(&m, 4, 2937, 139);
	keep_look = mlp_ra_mix_keep_permil(&m, 1, 8);
	keep_scan = mlp_ra_mix_keep_permil(&m, 4, 8);
	ok(keep_look == RA_SCALE, "the context the model is scarcest in keeps all of its intervals");
	/* (2937 / 139) / (1124 / 16) = 0.3008 */
	ok(keep_scan == 300, "the scans are kept at the default's share per ml interval relative to the lookups'");
	ok(16 * 2937 / 1124 == 41 && 139 * keep_scan / RA_SCALE == 41,
	   "after thinning the model's mix is the default's: 16 lookups to 41 scans, as 1124 to 2937");
	mix_fill(&m, 0, 267, 7);
	ok(mlp_ra_mix_keep_permil(&m, 0, 8) == RA_SCALE && mlp_ra_mix_keep_permil(&m, 4, 8) == keep_scan,
	   "a context with fewer than min_n ml intervals is not judged and sets nobody's share");
	mix_fill(&m, 6, 3, 11);
	ok(mlp_ra_mix_keep_permil(&m, 6, 8) == RA_SCALE, "nor with fewer than min_n default intervals");
	ok(mlp_ra_mix_keep_permil(&m, 4, 0) == RA_SCALE, "min_n 0 turns thinning off");
	ok(mlp_ra_mix_keep_permil(&m, RA_NR_CONTEXTS, 8) == RA_SCALE, "an out-of-range context is kept");
	mlp_ra_mix_add(&m, true, RA_NR_CONTEXTS);
	/* near the cap every count halves; the ratios, so the shares kept, stay */
	memset(&m, 0, sizeof(m));
	mix_fill(&m, 1, 16, 4);
	mix_fill(&m, 4, 64, 32);
	m.n[0][4] = RA_MIX_N_CAP - 1;
	m.n[1][4] = RA_MIX_N_CAP / 2;
	m.n[0][1] = RA_MIX_N_CAP / 8;
	m.n[1][1] = RA_MIX_N_CAP / 64;
	keep_scan = mlp_ra_mix_keep_permil(&m, 4, 8);
	mlp_ra_mix_add(&m, false, 4);
	for (k = 0; k < RA_NR_CONTEXTS; k++)
		capped = capped && m.n[0][k] < RA_MIX_N_CAP && m.n[1][k] < RA_MIX_N_CAP;
	ok(capped && m.n[0][4] == RA_MIX_N_CAP / 2 && m.n[1][1] == RA_MIX_N_CAP / 128,
	   "a count reaching the cap halves every count");
	/* before: (2^24 - 1) / 2^23 against 2^21 / 2^18, after 2^23 / 2^22 against 2^20 / 2^17 */
	ok(keep_scan == 249 && mlp_ra_mix_keep_permil(&m, 4, 8) == 250,
	   "halving keeps the share kept (to the rounding)");
}

/*
 * Later use (round 13): a tag's share of used read-around pages, and the
 * credit an interval gets for its read-around, never for pages merely
 * read in and never for a task that did not read in the interval.
 */
static void test_later_use(void)
{
	struct ra_later_use lu = { 0 };
	struct ra_counts c = { 0 };
	unsigned int t512 = mlp_ra_lu_tag(1, RA_ACCESS_FAULT, 2), t128 = mlp_ra_lu_tag(1, RA_ACCESS_FAULT, 1);
	s32 plain, credited;
	int i;

	ok(t512 != t128 && mlp_ra_lu_tag(0, RA_ACCESS_SMALL_READ, 0) == 1 &&
	   mlp_ra_lu_tag(RA_NR_CONTEXTS - 1, RA_ACCESS_FAULT, 3) == RA_LU_NR_TAGS && RA_LU_NR_TAGS <= 255 &&
	   mlp_ra_lu_tag(3, RA_ACCESS_FAULT, 2) != t512,
	   "tags are 1..RA_LU_NR_TAGS (a byte), one per context, kind of access and candidate");
	for (i = 0; i < RA_LU_MIN_FATES - 1; i++)
		mlp_ra_later_use_fate(&lu, t512, i % 4 == 0);
	ok(mlp_ra_later_use_permil(&lu, t512) == 0, "no share before RA_LU_MIN_FATES pages met their fate");
	mlp_ra_later_use_fate(&lu, t512, false);
	ok(mlp_ra_later_use_permil(&lu, t512) == 16 * 1000 / RA_LU_MIN_FATES, "the share is used pages per mille of fates");
	ok(mlp_ra_later_use_permil(&lu, t128) == 0, "each tag keeps its own record");
	mlp_ra_later_use_fate(&lu, 0, true);
	mlp_ra_later_use_fate(&lu, RA_LU_NR_TAGS + 1, true);
	ok(lu.used[t512 - 1] == 16 && lu.used[t128 - 1] == 0, "no tag and tags out of range are ignored");
	for (i = 0; i < 3 * RA_LU_MAX_FATES; i++)
		mlp_ra_later_use_fate(&lu, t128, i % 10 == 0);
	ok(lu.used[t128 - 1] + lu.unused[t128 - 1] < RA_LU_MAX_FATES &&
	   mlp_ra_later_use_permil(&lu, t128) >= 95 && mlp_ra_later_use_permil(&lu, t128) <= 105,
	   "the record is a running one: counts halve, the share holds (100 per mille)");

	mlp_ra_add_task_credit(&c, 7, 4096);
	ok(c.nr_tasks == 0, "credit for a task that read nothing in the interval is dropped");
	mlp_ra_add_task_bytes(&c, 7, 4096);
	mlp_ra_efficiency(&c, 100, &plain);
	mlp_ra_add_task_credit(&c, 7, 4096);
	mlp_ra_efficiency(&c, 100, &credited);
	ok(c.nr_tasks == 1 && credited - plain > 900 && credited - plain <= 1000,
	   "credit counts as delivered: one page credited beside one delivered is about a doubling");
}

/*
 * Carry (round 25): a run's last sample waits for the intervals after its
 * context changed and loses their deficits against their own default;
 * the samples before it go out as they were.
 */
static void carry_row(s32 row[RA_INPUTS + 1], s32 kb_log2, s32 rel)
{
	memset(row, 0, sizeof(s32) * (RA_INPUTS + 1));
	row[RA_NR_MODEL_FEATURES] = kb_log2;
	row[RA_INPUTS] = rel;
}

/* What the carry let go, in order. */
struct carry_sink {
	s32 rows[RA_CARRY_RUN_MAX * 2][RA_INPUTS + 1];
	s32 charges[RA_CARRY_RUN_MAX * 2];
	unsigned int n;
};

static void carry_emit(void *arg, const s32 row[RA_INPUTS + 1], s32 charge)
{
	struct carry_sink *k = arg;

	memcpy(k->rows[k->n], row, sizeof(k->rows[0]));
	k->charges[k->n++] = charge;
}

static void test_carry(void)
{
	static struct ra_carry c;
	static struct carry_sink k;
	s32 a[RA_INPUTS + 1], b[RA_INPUTS + 1];

	carry_row(a, 11000, 5200);
	carry_row(b, 11000, 5300);
	mlp_ra_carry_sample(&c, a, 1, carry_emit, &k);
	ok(k.n == 0, "a run's first sample is held");
	mlp_ra_carry_sample(&c, b, 1, carry_emit, &k);
	ok(k.n == 1 && k.rows[0][RA_INPUTS] == 5200 && k.charges[0] == 0,
	   "the next sample lets the one before go unchanged");
	mlp_ra_carry_phase_end(&c, 3, false, carry_emit, &k);
	ok(k.n == 1 && c.nr_carried == 1 && !c.nr_run, "a phase end carries the run's last sample");
	mlp_ra_carry_interval(&c, 4000, carry_emit, &k);
	ok(k.n == 1, "charged by the first interval after");
	mlp_ra_carry_interval(&c, -1, carry_emit, &k);
	ok(k.n == 1, "an interval without a score counts, charging nothing");
	carry_row(a, 4000, 5100);
	mlp_ra_carry_sample(&c, a, 1, carry_emit, &k);
	ok(k.n == 1, "the new context's samples are held on their own");
	mlp_ra_carry_interval(&c, 4500, carry_emit, &k);
	ok(k.n == 2 && k.charges[1] == 1500 && k.rows[1][RA_INPUTS] == 5300 - 1500 &&
	   k.rows[1][RA_NR_MODEL_FEATURES] == 11000,
	   "after its intervals it goes, less their deficits (1000 + 500)");
	mlp_ra_carry_interval(&c, 1000, carry_emit, &k);
	ok(k.n == 2, "nothing more is charged once it went");

	/* a second change before the count ends releases what was charged so far */
	mlp_ra_carry_phase_end(&c, 3, false, carry_emit, &k);
	ok(k.n == 2 && c.nr_carried == 1, "the new context's last sample is carried");
	mlp_ra_carry_interval(&c, 6000, carry_emit, &k);
	ok(k.n == 2, "an interval above the default charges nothing");
	mlp_ra_carry_phase_end(&c, 3, false, carry_emit, &k);
	ok(k.n == 3 && k.charges[2] == 0 && k.rows[2][RA_INPUTS] == 5100 && !c.nr_carried,
	   "a change before the count ends lets it go with its charge so far");
	mlp_ra_carry_phase_end(&c, 3, false, carry_emit, &k);
	ok(k.n == 3 && !c.nr_carried, "nothing held: nothing carried");

	carry_row(a, 4000, 800);
	mlp_ra_carry_sample(&c, a, 1, carry_emit, &k);
	mlp_ra_carry_phase_end(&c, 1, false, carry_emit, &k);
	mlp_ra_carry_interval(&c, 0, carry_emit, &k);
	ok(k.n == 4 && k.rows[3][RA_INPUTS] == 0 && k.charges[3] == RA_REL_BASE,
	   "a score is never charged below 0");
	mlp_ra_carry_sample(&c, a, 1, carry_emit, &k);
	mlp_ra_carry_phase_end(&c, 0, false, carry_emit, &k);
	ok(k.n == 4 && !c.nr_carried && c.nr_run == 1,
	   "with no intervals to charge over, nothing is carried");
}

/*
 * Round 27: the charge shared by a run's newest samples, evenly, so that
 * the run's mean score falls by the debt it left.
 */
static void test_carry_run(void)
{
	static struct ra_carry c;
	static struct carry_sink k;
	s32 row[RA_INPUTS + 1];
	unsigned int i;
	s32 sum = 0;
	bool even = true;

	for (i = 0; i < 5; i++) {
		carry_row(row, 11000, 5000 + (s32)i);
		mlp_ra_carry_sample(&c, row, 3, carry_emit, &k);
	}
	ok(k.n == 2 && k.rows[0][RA_INPUTS] == 5000 && k.rows[1][RA_INPUTS] == 5001 &&
	   !k.charges[0] && !k.charges[1] && c.nr_run == 3,
	   "beyond run_samples the oldest go out uncharged, in order");
	mlp_ra_carry_phase_end(&c, 2, false, carry_emit, &k);
	mlp_ra_carry_interval(&c, 4000, carry_emit, &k);
	mlp_ra_carry_interval(&c, 4900, carry_emit, &k);
	for (i = 2; i < k.n; i++) {
		sum += k.charges[i];
		even = even && k.charges[i] >= 366 && k.charges[i] <= 368;
	}
	ok(k.n == 5 && sum == 1100 && even, "the charge (1000 + 100) is shared by the three, evenly");
	ok(k.rows[2][RA_INPUTS] == 5002 - 366 && k.rows[4][RA_INPUTS] == 5004 - 368,
	   "oldest first, the remainder on the newest");

	memset(&c, 0, sizeof(c));
	k.n = 0;
	for (i = 0; i < RA_CARRY_RUN_MAX + 10; i++) {
		carry_row(row, 4000, 5000);
		mlp_ra_carry_sample(&c, row, 1000, carry_emit, &k);
	}
	ok(k.n == 10 && c.nr_run == RA_CARRY_RUN_MAX, "run_samples beyond RA_CARRY_RUN_MAX holds that many");
	memset(&c, 0, sizeof(c));
	k.n = 0;
	carry_row(row, 4000, 5000);
	mlp_ra_carry_sample(&c, row, 0, carry_emit, &k);
	mlp_ra_carry_sample(&c, row, 0, carry_emit, &k);
	ok(k.n == 1 && c.nr_run == 1, "run_samples 0 holds the last alone");

	/* net: surpluses are credits, and a net credit raises the scores */
	memset(&c, 0, sizeof(c));
	k.n = 0;
	carry_row(row, 11000, 5000);
	mlp_ra_carry_sample(&c, row, 2, carry_emit, &k);
	mlp_ra_carry_sample(&c, row, 2, carry_emit, &k);
	mlp_ra_carry_phase_end(&c, 3, true, carry_emit, &k);
	mlp_ra_carry_interval(&c, 4800, carry_emit, &k);
	mlp_ra_carry_interval(&c, 5500, carry_emit, &k);
	mlp_ra_carry_interval(&c, -1, carry_emit, &k);
	ok(k.n == 2 && k.charges[0] == -150 && k.charges[1] == -150 &&
	   k.rows[0][RA_INPUTS] == 5150 && k.rows[1][RA_INPUTS] == 5150,
	   "net: 200 short and 500 over is a credit of 300, shared");
	k.n = 0;
	carry_row(row, 11000, RA_REL_MAX - 10);
	mlp_ra_carry_sample(&c, row, 1, carry_emit, &k);
	mlp_ra_carry_phase_end(&c, 1, true, carry_emit, &k);
	mlp_ra_carry_interval(&c, 6000, carry_emit, &k);
	ok(k.n == 1 && k.rows[0][RA_INPUTS] == RA_REL_MAX, "a credited score stops at RA_REL_MAX");
	k.n = 0;
	carry_row(row, 11000, 5000);
	mlp_ra_carry_sample(&c, row, 1, carry_emit, &k);
	mlp_ra_carry_phase_end(&c, 2, false, carry_emit, &k);
	mlp_ra_carry_interval(&c, 4800, carry_emit, &k);
	mlp_ra_carry_interval(&c, 5500, carry_emit, &k);
	ok(k.n == 1 && k.charges[0] == 200, "not net: the surplus is not counted");
}

/*
 * Recent readers (round 25): a task held up for a whole interval while
 * another reads counts as a reader that got nothing, for keep intervals
 * after its last read; an interval nobody read in stays idle.
 */
static void test_recent(void)
{
	struct ra_recent r = { 0 };
	struct ra_counts c = { 0 };
	s32 alone, held_up;
	int i;

	mlp_ra_add_task_bytes(&c, 10, 128 << 10);
	mlp_ra_add_task_bytes(&c, 20, 4096);
	ok(mlp_ra_recent_readers(&r, &c, 2) == 0 && c.nr_tasks == 2 && r.n == 2,
	   "both read: nothing added, both remembered");
	memset(&c, 0, sizeof(c));
	mlp_ra_add_task_bytes(&c, 10, 1 << 20);
	mlp_ra_efficiency(&c, 10, &alone);
	ok(mlp_ra_recent_readers(&r, &c, 2) == 1 && c.nr_tasks == 2 && c.task_pid[1] == 20 &&
	   c.task_bytes[1] == 0, "the lookup held up behind the scan is counted with no bytes");
	mlp_ra_efficiency(&c, 10, &held_up);
	ok(held_up * 2 == alone && mlp_ra_context(&c) & 2,
	   "it halves the interval's score and makes it shared");
	memset(&c, 0, sizeof(c));
	mlp_ra_add_task_bytes(&c, 10, 1 << 20);
	ok(mlp_ra_recent_readers(&r, &c, 2) == 1, "counted again in the next interval (keep 2)");
	memset(&c, 0, sizeof(c));
	mlp_ra_add_task_bytes(&c, 10, 1 << 20);
	ok(mlp_ra_recent_readers(&r, &c, 2) == 0 && c.nr_tasks == 1, "and not after keep intervals");
	memset(&c, 0, sizeof(c));
	ok(mlp_ra_recent_readers(&r, &c, 2) == 0 && c.nr_tasks == 0, "an interval nobody read in stays idle");
	memset(&c, 0, sizeof(c));
	mlp_ra_add_task_bytes(&c, 20, 4096);
	mlp_ra_recent_readers(&r, &c, 2);
	memset(&c, 0, sizeof(c));
	ok(mlp_ra_recent_readers(&r, &c, 2) == 0 && r.n == 1 && r.age[0] == 1,
	   "an idle interval ages what it remembers");
	memset(&c, 0, sizeof(c));
	mlp_ra_add_task_bytes(&c, 30, 4096);
	ok(mlp_ra_recent_readers(&r, &c, 2) == 1 && c.task_pid[1] == 20, "still within keep");
	for (i = 0; i < 8; i++) {
		memset(&c, 0, sizeof(c));
		mlp_ra_add_task_bytes(&c, 100 + i, 4096);
		mlp_ra_recent_readers(&r, &c, 50);
	}
	ok(r.n == RA_MAX_TASKS && c.nr_tasks == RA_MAX_TASKS, "no more than RA_MAX_TASKS remembered or counted");
	memset(&c, 0, sizeof(c));
	mlp_ra_add_task_bytes(&c, 10, 4096);
	ok(mlp_ra_recent_readers(&r, &c, 0) == 0 && c.nr_tasks == 1, "keep 0: off");
}

static void test_shared_read(void)
{
	static struct ra_support sup;	/* zeroed */
	struct ra_counts c = { 0 };
	s32 f[RA_NR_FEATURES], row[RA_INPUTS + 1] = { 0 };
	unsigned int ctx, merged = 0, kept = 0;

	for (ctx = 0; ctx < RA_NR_CONTEXTS; ctx++) {
		if (!(ctx & 1) && (ctx & 2))
			merged += mlp_ra_merge_shared(ctx) == RA_CTX_SHARED_READ;
		else
			kept += mlp_ra_merge_shared(ctx) == ctx;
	}
	ok(merged == 4 && kept == 12, "shared read() contexts (2, 6, 10, 14) become one; the others stay");
	ok(mlp_ra_access_of_context(RA_CTX_SHARED_READ) == RA_ACCESS_LARGE_READ,
	   "its choice sets the large reads' window, the one a co-running reader waits behind");

	/* a scan's calls and forty 4 KiB preads at random: small, random, shared */
	c.read_calls = 44;
	c.read_bytes = 4 * (128 << 10) + 40 * 4096;
	c.read_jumps = 40;
	mlp_ra_add_task_bytes(&c, 1, 4 * (128 << 10));
	mlp_ra_add_task_bytes(&c, 2, 40 * 4096);
	ok(mlp_ra_context(&c) == 10 && mlp_ra_merge_shared(mlp_ra_context(&c)) == RA_CTX_SHARED_READ,
	   "the mix's interval of small random calls is the shared read() context when merged");
	mlp_ra_features(&c, 100, 128, f);
	memcpy(row, f, sizeof(s32) * RA_NR_MODEL_FEATURES);
	row[RA_NR_MODEL_FEATURES] = mlp_ra_log2fx(128);
	row[RA_INPUTS] = RA_REL_BASE;
	mlp_ra_support_add(&sup, row);
	ok(sup.n[10][1] == 1 && sup.n[RA_CTX_SHARED_READ][1] == 0, "unmerged, its sample counts in context 10");
	sup.merge_shared = true;
	mlp_ra_support_add(&sup, row);
	ok(sup.n[10][1] == 1 && sup.n[RA_CTX_SHARED_READ][1] == 1, "merged, in the shared read() context");
}

static void test_smaller_within(void)
{
	/* cloud's scans: 16 and 512 KiB alike, the default and 2048 below */
	const s32 scan[RA_NR_CANDIDATES] = { 5162, 5001, 5190, 4951 };
	/* hdd's scans: 512 and 2048 KiB a doubling and more above 16 */
	const s32 hdd[RA_NR_CANDIDATES] = { 3100, 5000, 6900, 6950 };

	ok(mlp_ra_smaller_within(scan, 0xf, 2, 50) == 0, "16 KiB within 50 of 512's prediction is taken");
	ok(mlp_ra_smaller_within(scan, 0xf, 2, 20) == 2, "not within 20: the best stays");
	ok(mlp_ra_smaller_within(scan, 0xe, 2, 50) == 2, "a smaller candidate the model may not choose is not taken");
	ok(mlp_ra_smaller_within(scan, 0xf, 2, 0) == 2, "margin 0: off");
	ok(mlp_ra_smaller_within(hdd, 0xf, 3, 50) == 2, "hdd: 512 within 50 of 2048, 16 far below");
	ok(mlp_ra_smaller_within(hdd, 0xf, 0, 50) == 0 && mlp_ra_smaller_within(hdd, 0xf, -1, 50) == -1,
	   "the smallest, or none, stays as it is");
}

static void test_slowest(void)
{
	struct ra_counts c = { 0 }, faster = { 0 };
	s32 mean, least, alone, mean2, least2;

	ok(!mlp_ra_efficiency_slowest(&c, 10, &least), "no reader: no score");
	mlp_ra_add_task_bytes(&c, 1, 1 << 20);
	mlp_ra_efficiency(&c, 12, &mean);
	ok(mlp_ra_efficiency_slowest(&c, 12, &alone) && alone == mean, "one reader: the mean's score");
	/* the mix at 128 KiB: the scan 2 MiB, the lookups five 4 KiB preads */
	mlp_ra_add_task_bytes(&c, 1, 1 << 20);
	mlp_ra_add_task_bytes(&c, 2, 5 * 4096);
	mlp_ra_efficiency(&c, 12, &mean);
	mlp_ra_efficiency_slowest(&c, 12, &least);
	/* at 512 KiB: the scan 3 MiB, the lookups three */
	mlp_ra_add_task_bytes(&faster, 1, 3 << 20);
	mlp_ra_add_task_bytes(&faster, 2, 3 * 4096);
	mlp_ra_efficiency(&faster, 12, &mean2);
	mlp_ra_efficiency_slowest(&faster, 12, &least2);
	ok(least < mean && least == mlp_ra_log2fx(((5 * 4096 * 1000) >> 10) / 12 + 1),
	   "two readers: the lookups' score");
	ok(mean2 > mean - 100 && least2 < least - 600,
	   "the scan's gain pays for the lookups' loss by the mean, not by the slowest");
}

static void test_stream_cap(void)
{
	/* cloud's scans read 128 KiB (32 pages); virtio's largest request 1 MiB */
	ok(mlp_ra_stream_cap(4, 32, 256) == 32, "a 16 KiB window: a scan's stream keeps its read's 128 KiB");
	ok(mlp_ra_stream_cap(512, 32, 256) == 512, "a 2048 KiB window: the window");
	ok(mlp_ra_stream_cap(4, 512, 256) == 256, "a read past the device's largest request: that request");
	ok(mlp_ra_stream_cap(4, 1, 256) == 4 && mlp_ra_stream_cap(4, 32, 2) == 4,
	   "a small read, or a device whose requests are below the window: the window");
}

int main(void)
{
	printf("TAP version 13\n");
	test_log2();
	test_tasks();
	test_efficiency();
	test_features();
	test_choice();
	test_context();
	test_access();
	test_windows_set();
	test_support_context();
	test_support();
	test_kind_context();
	test_guard();
	test_lead();
	test_lead_larger();
	test_mix();
	test_later_use();
	test_carry();
	test_carry_run();
	test_recent();
	test_shared_read();
	test_smaller_within();
	test_slowest();
	test_stream_cap();
	return tap_done();
}
