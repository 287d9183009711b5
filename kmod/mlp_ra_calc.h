/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mlp_ra_calc: the readahead subsystem's arithmetic (features, efficiency,
 * candidate choice), as pure integer C so the host unit tests can check it.
 *
 * Every value that crosses to mlproxy is fixed point with scale 1000.  Rates
 * and sizes enter as log2 (mlp_ra_log2fx), because they span five orders of
 * magnitude between a throttled mmap lookup and a streaming scan, and
 * because a ratio (a readahead twice as good) should weigh the same at every
 * throughput.
 */
#ifndef MLP_RA_CALC_H
#define MLP_RA_CALC_H

#include "mlp_compat.h"
#ifdef __KERNEL__
#include <asm/page.h>
#endif

#define RA_SCALE		1000	/* fixed point: 1000 = 1.0 */
#define RA_NR_CANDIDATES	4
#define RA_MIN_KB		16	/* clamp range of any readahead applied */
#define RA_MAX_KB		2048
#define RA_MAX_TASKS		8	/* reading tasks tracked per interval */

/*
 * Features of an interval.  The model's inputs are the first
 * RA_NR_MODEL_FEATURES, which describe how the tasks read and which the
 * readahead cannot change, plus one candidate window.  The others follow
 * from the window in force (request size and rate, sequentiality, waste,
 * the window itself); within a block the window stays the same, so as
 * inputs they are collinear with the candidate, and a network trained on
 * them predicts the status quo for every candidate (seen in CI: it chose
 * 16 KiB for scans).  They are computed but not learned from.
 */
enum ra_feature {
	RA_F_MMAP_PERMIL,	/* delivered bytes that came by mmap faults */
	RA_F_TASKS,		/* reading tasks, x1000 */
	RA_F_READ_KB,		/* log2(mean read() KiB + 1), 0 without read() */
	RA_F_FAULT_DIST,	/* log2(mean pages between faults + 1), 0 without */
	RA_F_READ_JUMP_PERMIL,	/* read() calls not continuing their file's last, 0 without */
	RA_NR_MODEL_FEATURES,
	RA_F_REQ_RATE = RA_NR_MODEL_FEATURES, /* log2(device read requests per s + 1) */
	RA_F_REQ_KB,		/* log2(mean request KiB + 1) */
	RA_F_SEQ_PERMIL,	/* requests starting where the last one ended */
	RA_F_WASTE,		/* log2((pages read in + 1) / (pages delivered + 1)) + 16 */
	RA_F_RA_KB,		/* log2(readahead in force, KiB) */
	RA_NR_FEATURES
};
#define RA_INPUTS	(RA_NR_MODEL_FEATURES + 1)

extern const u32 mlp_ra_candidates_kb[RA_NR_CANDIDATES];

/*
 * Faults are "near" when they land on average within RA_NEAR_PAGES of the
 * fault before (1 MiB): a column read through a mapping (touches up to
 * 1 MiB apart, in order), not random lookups (a third of the file apart
 * on average).  Which faults reach the probes does not depend on the
 * window (see mlp_ra.c), so neither does the distance.  As a network
 * input it is log2 of the mean distance: a share of near faults was
 * nearly always 0 in training, and one rare near fault then stood
 * thousands of standard deviations out (the first CI run with it
 * diverged); log2 of the distance spreads from 0 (no faults) to about
 * 17 (lookups in a 1 GiB file) from the start.
 */
#define RA_NEAR_PAGES		256

/* What the probes counted in one interval. */
struct ra_counts {
	u64 reqs, req_bytes, seq_reqs;
	u64 pages_added;
	u64 read_bytes, fault_bytes;	/* delivered to tasks */
	u64 read_calls;			/* read() calls that delivered bytes */
	u64 read_jumps;			/* of them, not starting where the file's last ended */
	u64 fault_dist, fault_dist_n;	/* pages from each fault to the one before */
	unsigned int nr_tasks;
	s32 task_pid[RA_MAX_TASKS];
	u64 task_bytes[RA_MAX_TASKS];
	u64 task_credit[RA_MAX_TASKS];	/* read-around its later use pays for (later_use_credit) */
	u64 tasks_untracked_bytes;	/* readers beyond RA_MAX_TASKS */
};

/*
 * Readers of the last few intervals (round 25, recent_reader_intervals).
 * A read() or a fault is counted when it starts, so a reader held up
 * behind another's readahead for a whole interval is absent from it: the
 * interval looked like the other reader alone, was scored as such, and
 * starving the held-up reader cost nothing (cloud's mix phase: the
 * lookups behind a scan's 2048 KiB requests, seen as a scan alone).  A
 * task that read within the last few intervals and not in this one, while
 * another did, is counted in it as a reader that got nothing.
 */
struct ra_recent {
	unsigned int n;
	s32 pid[RA_MAX_TASKS];
	u8 age[RA_MAX_TASKS];		/* intervals since it last read */
};

unsigned int mlp_ra_recent_readers(struct ra_recent *r, struct ra_counts *c,
				   unsigned int keep);
s32 mlp_ra_log2fx(u64 x);
void mlp_ra_add_fault_distance(struct ra_counts *c, u64 last_pgoff, u64 pgoff);
void mlp_ra_add_task_bytes(struct ra_counts *c, s32 pid, u64 bytes);
void mlp_ra_add_task_credit(struct ra_counts *c, s32 pid, u64 bytes);
void mlp_ra_features(const struct ra_counts *c, u32 dt_ms, u32 ra_kb,
		     s32 out[RA_NR_FEATURES]);
bool mlp_ra_efficiency(const struct ra_counts *c, u32 dt_ms, s32 *eff);
bool mlp_ra_efficiency_slowest(const struct ra_counts *c, u32 dt_ms, s32 *eff);
u32 mlp_ra_clamp_kb(u32 kb);
int mlp_ra_candidate_index(u32 kb);
int mlp_ra_best_candidate(const s32 predicted[RA_NR_CANDIDATES]);
int mlp_ra_explore_candidate(u32 choice_kb, u32 rnd);

/*
 * Evidence relative to the default in the same context.  Scores of whole
 * intervals are not comparable across phases (a scan interval scores about
 * 15, a throttled mmap lookup interval about 8), and a window that finishes
 * the fast phase sooner spends more of its time in the slow one, so a raw
 * mean over intervals punishes the better window.  Each interval is
 * therefore put in a context that readahead cannot change (how the tasks
 * read: by mmap or read(), alone or with others, in small or large
 * read() calls, each continuing the file's last or not) and reported as its score minus the default's running
 * score in that context, plus RA_REL_BASE.
 */
#define RA_NR_CONTEXTS		16
/*
 * RA_REL_BASE: the score of "as good as the default".  The mode policy
 * judges the relative difference of means, so the base sets what its
 * margins mean: with 5000 (five doublings), +2% to promote is 0.1 of a
 * doubling, a 7% throughput gain; -1% to demote a 3.5% loss; -25%
 * (inadequate) a 2.4x loss.  Scores below zero (32x worse) clamp to 0.
 */
#define RA_REL_BASE		5000
/*
 * RA_EVIDENCE_BASE: where "as good as the default" sits in the evidence
 * sent as feedback (round 10).  The policy's margins are throughput
 * fractions (docs/modes.md: +2% must pay for the proxy; the issue's
 * goal: never more than 2% slower), and at RA_REL_BASE a relative 2% was
 * a 7% throughput change.  With the base at RA_SCALE / ln 2 (1443, the
 * fixed-point doubling count of one e-fold) a relative difference of
 * means is the mean natural log of the throughput ratio, which for the
 * margins' sizes is the throughput change itself: +2% to promote is a
 * 2% gain, -1% to demote a 1% loss, -25% (inadequate) a 1.28x loss.  The
 * wire carries unsigned values, so an interval more than e times worse
 * than its context's default reads 0: losses that size are far past
 * every margin.  Training samples keep RA_REL_BASE (their clamp at 0 is
 * 32x worse, so the network sees losses whole).
 */
#define RA_EVIDENCE_BASE	1443
#define RA_BASE_MIN		3	/* default intervals before a context counts */
#define RA_BASE_SHIFT		3	/* running mean: 1/8 weight per new score */

struct ra_baseline {
	s32 mean[RA_NR_CONTEXTS];
	u32 n[RA_NR_CONTEXTS];		/* scores seen, up to RA_BASE_MIN */
};

unsigned int mlp_ra_context(const struct ra_counts *c);
void mlp_ra_baseline_add(struct ra_baseline *b, unsigned int ctx, s32 eff);
bool mlp_ra_relative(const struct ra_baseline *b, unsigned int ctx, s32 eff,
		     s32 *rel);
u32 mlp_ra_evidence(s32 rel);

unsigned int mlp_ra_context_of_features(const s32 *features);

/*
 * Shared reads (round 26).  In an interval where several tasks read(), the
 * mean call size and the share of jumps blend their calls: the mix of a
 * scan and a reader of 4 KiB preads landed in four contexts (6, 14, 10,
 * and 4 when the small reader was held up the whole interval), each with a
 * quarter of the evidence, and the contexts of small or random reads set
 * the small-read window, not the scan's that held the reader up.  Merged,
 * every read() context with more than one task is RA_CTX_SHARED_READ: one
 * baseline, one mix share, one support row, one window choice (the large
 * reads', which is what a co-running reader waits behind).
 */
#define RA_CTX_SHARED_READ	6
unsigned int mlp_ra_merge_shared(unsigned int ctx);

/*
 * The mix (round 11).  Each interval is evidence relative to the default in
 * its context, but the policy averages over intervals, so each context
 * weighs by how many of its intervals reach the evidence.  A better window
 * shortens its phase, and a short phase loses more of its intervals to
 * phase changes and settling: in round 10's cloud warm-up the mmap lookups,
 * where the model's gain was (1.5x), were a quarter of the default's
 * evidence and a tenth of the model's, so the scans (no gain) drowned it.
 * The time to finish fixed work weighs each context by the time the default
 * spends there.  So an ml interval in context c is kept as evidence with
 * probability (d_c / m_c) / max_k (d_k / m_k), d and m the default's and
 * the model's eligible intervals per context: the contexts where the model
 * is over-represented are thinned until its mix is the default's.  A
 * context with fewer than min_n of either is not judged (kept, and left
 * out of the max): its ratio would be noise.  Thinning leaves every kept
 * value as it was (no weights: a weighted loss would clamp at 0 sooner).
 */
#define RA_MIX_N_CAP		(1U << 24)	/* a count here halves them all */
struct ra_mix {
	u32 n[2][RA_NR_CONTEXTS];	/* eligible intervals, [ml][ctx] */
};

void mlp_ra_mix_add(struct ra_mix *m, bool ml, unsigned int ctx);
u32 mlp_ra_mix_keep_permil(const struct ra_mix *m, unsigned int ctx, u32 min_n);

/* read() calls of this size or more are a scan's (context bit 2 for read()) */
#define RA_LARGE_READ_BYTES	(32 * 1024)

/*
 * Access kinds (round 7).  A window is chosen on the features of the
 * interval just closed, for that interval's context, and with one window
 * for every access a phase shorter than an interval was served whole with
 * the window chosen for the phase before it (on cloud, the 2048 KiB chosen
 * for a scan cost the 60 ms mmap phase after it 3x).  So the module keeps a
 * window per kind of access, the kind a context is made of: small read()
 * calls, a scan's large ones, mmap faults.  A choice sets the window of
 * its context's kind; an access gets the window of its own kind at once.
 * The three windows travel to the probes in one word, RA_WINDOW_BITS of
 * pages each (0: the device's own).
 */
enum ra_access {
	RA_ACCESS_SMALL_READ,
	RA_ACCESS_LARGE_READ,
	RA_ACCESS_FAULT,
	RA_NR_ACCESS
};
#define RA_WINDOW_BITS		10	/* pages: 2048 KiB is 512 4 KiB pages */
#ifdef __KERNEL__
#define RA_PAGE_KB		((u32)(PAGE_SIZE / 1024))
#else
#define RA_PAGE_KB		4U	/* the host tests' page, as x86's */
#endif
#define RA_WINDOW_MASK		((1U << RA_WINDOW_BITS) - 1)

unsigned int mlp_ra_access_of_context(unsigned int ctx);
unsigned int mlp_ra_access_of_read(u64 bytes);
u32 mlp_ra_windows_pack(const u32 pages[RA_NR_ACCESS]);
u32 mlp_ra_windows_set(u32 kind_kb[RA_NR_ACCESS], unsigned int kind, u32 kb,
		       bool chosen);
u32 mlp_ra_window_of(u32 windows, unsigned int access);

/*
 * Stream caps (round 30).  Linux 6.1's ondemand_readahead never shrinks a
 * sequential stream: on the expected index it takes max(ra->size, the next
 * size), so lowering a file's ra_pages leaves a scan that goes on reading
 * the same open file at the window it ramped up to.  On cloud a scan once
 * run at 2048 KiB kept it for every later scan of its run: a schedule that
 * set 2048 KiB for the first scan only and 16 for every later phase made
 * them all run as at 2048 (docs/readahead-rounds.md, round 30).  The cap is
 * what the kernel itself lets a stream grow to under the window in force:
 * the window, or the read's own size up to the device's largest request
 * (ondemand_readahead's max_pages).
 */
u32 mlp_ra_stream_cap(u32 window_pages, u32 req_pages, u32 io_pages);

/*
 * Support (round 6): training samples per context and candidate window.
 * The network is a regression over (context features, candidate); asked
 * about a candidate never tried in a context it extrapolates, and in the
 * hdd CI run of round 5 that made it choose 2048 KiB for 30 of 75 mmap
 * lookup choices, intervals 32% below the default.  The model may choose
 * only candidates with at least min_samples samples in the context of the
 * interval it saw, and the default always.  The counts are the server's
 * training buffer (read back through `dataset` at every connection, so a
 * reload in recommendation, where nothing explores, finds them) plus the
 * samples the module has made since.
 */
struct ra_support {
	u32 n[RA_NR_CONTEXTS][RA_NR_CANDIDATES];
	/*
	 * round 9: the samples' scores (relative to the default, as the
	 * evidence), their sum and sum of squares, for the guard below
	 */
	s64 sum[RA_NR_CONTEXTS][RA_NR_CANDIDATES];
	u64 sumsq[RA_NR_CONTEXTS][RA_NR_CANDIDATES];
	/*
	 * round 21: the model features of the context's newest sample, which
	 * a freshly loaded module evaluates the network on to start each kind
	 * of access at the model's window (see prime_windows in mlp_ra.c)
	 */
	s32 recent[RA_NR_CONTEXTS][RA_NR_MODEL_FEATURES];
	/* round 26: count shared read() samples as RA_CTX_SHARED_READ */
	bool merge_shared;
};

/*
 * The guard (round 9).  Support says a window was tried in a context, not
 * that it did well there: in round 8's cloud warm-up the network chose 512
 * or 2048 KiB for 4 KiB pread runs although every window's scores in that
 * context were below the default's.  A candidate whose samples in a context
 * trail the default window's samples there by more than a margin, by a
 * one-sided test (see mlp_ra_guarded_mask), is not chosen there, in every
 * mode.  A sample's score is clamped to 0..RA_REL_MAX, so that a bad
 * dataset row cannot overflow the sums.
 */
#define RA_REL_MAX		30000
#define RA_GUARD_N_CAP		4096	/* samples that count in the test, each side */

/* Counts a training buffer read as dataset text (rows of RA_INPUTS + 1 integers). */
#define RA_LINE_MAX	128
struct ra_support_parser {
	struct ra_support sup;
	char line[RA_LINE_MAX];
	unsigned int len;
	bool overlong;
	u32 rows, bad;
};

int mlp_ra_candidate_of_log2(s32 log2_kb);
void mlp_ra_support_add(struct ra_support *sup, const s32 row[RA_INPUTS + 1]);
void mlp_ra_support_feed(struct ra_support_parser *p, const char *buf, size_t n);
void mlp_ra_support_end(struct ra_support_parser *p);
int mlp_ra_kind_context(const struct ra_support *sup, unsigned int kind);
u32 mlp_ra_allowed_mask(const struct ra_support *sup, unsigned int ctx,
			u32 def_kb, u32 min_samples);
int mlp_ra_best_allowed(const s32 predicted[RA_NR_CANDIDATES], u32 mask);
int mlp_ra_smaller_within(const s32 predicted[RA_NR_CANDIDATES], u32 mask, int best,
			  s32 margin);
u32 mlp_ra_guarded_mask(const struct ra_support *sup, unsigned int ctx,
			u32 def_kb, u32 min_samples, s32 margin);
bool mlp_ra_may_differ(const struct ra_support *sup, unsigned int ctx,
		       u32 def_kb, u32 min_samples, u32 guarded);
s32 mlp_ra_support_mean(const struct ra_support *sup, unsigned int ctx, int cand);
int mlp_ra_explore_untried(const struct ra_support *sup, unsigned int ctx,
			   u32 ref_kb, u32 min_samples);
int mlp_ra_sample_leader(const struct ra_support *sup, unsigned int ctx,
			 int chosen, u32 mask, u32 min_samples, s32 margin,
			 s32 larger_margin);
int mlp_ra_explore_thin(const struct ra_support *sup, unsigned int ctx,
			u32 ref_kb, u32 thin_samples, u32 excluded);

/*
 * Later use of read-around (round 13, later_use_credit).  A window's
 * read-around can pay long after its interval: on the hdd device model a
 * 512 KiB request costs one IOPS token, as a 128 KiB one does, and the
 * pages it brings in serve lookups seconds later, in other phases and
 * under other windows (round 12).  An interval's delivered bytes cannot
 * see that, so the model never chose 512 KiB for scattered faults there.
 * The module tags every page read around (not the one the access asked
 * for) with the context, the kind of access and the candidate in force
 * (mlp_ra_lu_tag), and learns each page's fate: used (a later read() or fault touches it) or not (evicted
 * first).  An interval is then credited, per task, with the pages it read
 * around times the share of its tag's pages that were used: what readers
 * will get from that read-around, by the record so far.  The share is a
 * running one (both counts halve past RA_LU_MAX_FATES) and counts only
 * once RA_LU_MIN_FATES pages have met their fate.
 */
#define RA_LU_MIN_FATES		64
#define RA_LU_MAX_FATES		65536
#define RA_LU_NR_TAGS		(RA_NR_CONTEXTS * RA_NR_ACCESS * RA_NR_CANDIDATES)

struct ra_later_use {
	u32 used[RA_LU_NR_TAGS];
	u32 unused[RA_LU_NR_TAGS];
};

/*
 * 1..RA_LU_NR_TAGS (192, a byte); 0 is "no tag" in the module's page table.
 * A tag is the context of the interval before the access (whose choice set
 * the window), the kind of access and the candidate in force: a scan's
 * read-around is all used, random lookups' hardly any, and a column read
 * through a mapping uses far more of its read-around than random faults.
 */
static inline unsigned int mlp_ra_lu_tag(unsigned int ctx, unsigned int access, int cand)
{
	return 1 + ((ctx % RA_NR_CONTEXTS) * RA_NR_ACCESS + access) * RA_NR_CANDIDATES +
	       (unsigned int)cand;
}

void mlp_ra_later_use_fate(struct ra_later_use *lu, unsigned int tag, bool used);
u32 mlp_ra_later_use_permil(const struct ra_later_use *lu, unsigned int tag);

/*
 * The cost a window leaves behind (round 25, carry_intervals).  A phase's
 * readahead still in flight when it ends is paid by the phase after it:
 * on cloud a scan at 512 or 2048 KiB runs a few hundredths of a second
 * faster than at 16 KiB and the lookups after it as much slower (round 21,
 * round 23's boot c).  The newest samples of one context's run are held
 * back; when the context changes, they are held while the next intervals
 * close and their deficits against their own context's default
 * (RA_REL_BASE minus the relative score, when below it) are summed; the
 * sum, spread evenly over the held samples, is subtracted from their
 * scores before they go out, so the window that left the debt is the one
 * the model sees pay it.  Round 25 held the run's last sample alone; one
 * sample of the thirty in a cloud scan's run could not outweigh the other
 * twenty-nine (round 26), so round 27 can hold up to RA_CARRY_RUN_MAX and
 * the run's mean score then falls by the debt per interval of the run.
 * A net charge (carry_net) sums the intervals' shortfalls and surpluses
 * alike, so that a window whose run leaves the next phase faster is
 * credited, and the noise of the intervals after, which a sum of
 * deficits alone turns into a charge on every run, cancels out.
 */
#define RA_CARRY_RUN_MAX	64

struct ra_carry {
	s32 run[RA_CARRY_RUN_MAX][RA_INPUTS + 1];	/* the running context's newest samples, oldest first */
	s32 carried[RA_CARRY_RUN_MAX][RA_INPUTS + 1];	/* the run before, being charged */
	unsigned int nr_run, nr_carried;
	unsigned int left;		/* intervals still to charge them with */
	s32 charge;			/* negative: a credit (net only) */
	bool net;
};

/* Where the samples go out: a row and the charge taken off its score. */
typedef void (*ra_carry_emit_fn)(void *arg, const s32 row[RA_INPUTS + 1], s32 charge);

void mlp_ra_carry_sample(struct ra_carry *c, const s32 row[RA_INPUTS + 1],
			 unsigned int run_samples, ra_carry_emit_fn emit, void *arg);
void mlp_ra_carry_phase_end(struct ra_carry *c, unsigned int intervals, bool net,
			    ra_carry_emit_fn emit, void *arg);
void mlp_ra_carry_interval(struct ra_carry *c, s32 rel, ra_carry_emit_fn emit, void *arg);

#endif /* MLP_RA_CALC_H */
