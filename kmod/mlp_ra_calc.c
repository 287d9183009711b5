// SPDX-License-Identifier: GPL-2.0-only
/*
 * mlp_ra_calc: features, efficiency and candidate choice of the readahead
 * subsystem (see mlp_ra_calc.h).  Integer only; builds in the kernel and
 * as a host program.
 */
#include "mlp_ra_calc.h"

/* The documented candidate set, KiB; the kernel default (128) is one. */
const u32 mlp_ra_candidates_kb[RA_NR_CANDIDATES] = { 16, 128, 512, 2048 };

/* log2(x) in fixed point (1000 = 1.0); 0 for x <= 1; linear between powers. */
s32 mlp_ra_log2fx(u64 x)
{
	u64 base;
	s32 n = 0;

	if (x <= 1)
		return 0;
	while ((x >> n) > 1)
		n++;
	base = (u64)1 << n;
	return n * RA_SCALE + (s32)(((x - base) * RA_SCALE) >> n);
}

/* Count the distance from the previous fault (either way), in pages. */
void mlp_ra_add_fault_distance(struct ra_counts *c, u64 last_pgoff, u64 pgoff)
{
	c->fault_dist += pgoff > last_pgoff ? pgoff - last_pgoff : last_pgoff - pgoff;
	c->fault_dist_n++;
}

/* the task's row in this interval's table, -1 if it has none */
static int ra_task_row(const struct ra_counts *c, s32 pid)
{
	unsigned int i;

	for (i = 0; i < c->nr_tasks; i++)
		if (c->task_pid[i] == pid)
			return (int)i;
	return -1;
}

/* Credit bytes to a reading task; past RA_MAX_TASKS they are pooled. */
void mlp_ra_add_task_bytes(struct ra_counts *c, s32 pid, u64 bytes)
{
	int i = ra_task_row(c, pid);

	if (i >= 0) {
		c->task_bytes[i] += bytes;
		return;
	}
	if (c->nr_tasks < RA_MAX_TASKS) {
		c->task_pid[c->nr_tasks] = pid;
		c->task_bytes[c->nr_tasks] = bytes;
		c->nr_tasks++;
		return;
	}
	c->tasks_untracked_bytes += bytes;
}

/*
 * Add to c a reader of no bytes for each task of r that read within keep
 * intervals and not in c, when some task read in c; then make r the
 * readers of c and of the intervals before, aged by one.  Returns the
 * readers added.
 */
unsigned int mlp_ra_recent_readers(struct ra_recent *r, struct ra_counts *c,
				   unsigned int keep)
{
	unsigned int i, k, readers = c->nr_tasks;
	int row;

	if (!keep)
		return 0;
	for (i = 0; readers && i < r->n; i++)
		mlp_ra_add_task_bytes(c, r->pid[i], 0);
	for (i = 0, k = 0; i < r->n; i++) {
		row = ra_task_row(c, r->pid[i]);
		if (row >= 0 && row < (int)readers)
			continue;	/* read in c: renewed below */
		if (r->age[i] + 1U < keep) {
			r->pid[k] = r->pid[i];
			r->age[k++] = r->age[i] + 1;
		}
	}
	r->n = k;
	for (i = 0; i < readers && r->n < RA_MAX_TASKS; i++) {
		r->pid[r->n] = c->task_pid[i];
		r->age[r->n++] = 0;
	}
	return c->nr_tasks - readers;
}

/*
 * Credit only a task already reading in this interval: a page added by a
 * task whose access was counted in the interval before adds nothing, so
 * the number of reading tasks (a model input) never depends on credit.
 */
void mlp_ra_add_task_credit(struct ra_counts *c, s32 pid, u64 bytes)
{
	int i = ra_task_row(c, pid);

	if (i >= 0)
		c->task_credit[i] += bytes;
}

void mlp_ra_later_use_fate(struct ra_later_use *lu, unsigned int tag, bool used)
{
	unsigned int t = tag - 1;

	if (!tag || t >= RA_LU_NR_TAGS)
		return;
	if (used)
		lu->used[t]++;
	else
		lu->unused[t]++;
	if (lu->used[t] + lu->unused[t] >= RA_LU_MAX_FATES) {
		lu->used[t] >>= 1;
		lu->unused[t] >>= 1;
	}
}

/* per mille of the tag's read-around pages used; 0 until enough have met their fate */
u32 mlp_ra_later_use_permil(const struct ra_later_use *lu, unsigned int tag)
{
	unsigned int t = tag - 1;
	u32 n;

	if (!tag || t >= RA_LU_NR_TAGS)
		return 0;
	n = lu->used[t] + lu->unused[t];
	if (n < RA_LU_MIN_FATES)
		return 0;
	return lu->used[t] * 1000 / n;
}

static u64 ra_div(u64 a, u64 b)
{
	return b ? div64_u64(a, b) : 0;
}

void mlp_ra_features(const struct ra_counts *c, u32 dt_ms, u32 ra_kb,
		     s32 out[RA_NR_FEATURES])
{
	u64 delivered = c->read_bytes + c->fault_bytes;
	u64 delivered_pages = delivered >> 12;

	if (!dt_ms)
		dt_ms = 1;
	out[RA_F_REQ_RATE] = mlp_ra_log2fx(ra_div(c->reqs * 1000, dt_ms) + 1);
	out[RA_F_REQ_KB] = mlp_ra_log2fx(ra_div(c->req_bytes >> 10, c->reqs) + 1);
	out[RA_F_SEQ_PERMIL] = (s32)ra_div(c->seq_reqs * 1000, c->reqs);
	out[RA_F_MMAP_PERMIL] = (s32)ra_div(c->fault_bytes * 1000, delivered);
	/* log of a ratio: the difference of logs, offset so it stays >= 0 */
	out[RA_F_WASTE] = mlp_ra_log2fx(c->pages_added + 1) -
			  mlp_ra_log2fx(delivered_pages + 1) + 16 * RA_SCALE;
	if (out[RA_F_WASTE] < 0)
		out[RA_F_WASTE] = 0;
	out[RA_F_TASKS] = (s32)c->nr_tasks * RA_SCALE;
	out[RA_F_RA_KB] = mlp_ra_log2fx(ra_kb);
	out[RA_F_READ_KB] = mlp_ra_log2fx(ra_div(c->read_bytes >> 10, c->read_calls) + 1);
	out[RA_F_FAULT_DIST] = c->fault_dist_n ?
		mlp_ra_log2fx(ra_div(c->fault_dist, c->fault_dist_n) + 1) : 0;
	out[RA_F_READ_JUMP_PERMIL] = (s32)ra_div(c->read_jumps * 1000, c->read_calls);
}

/* log2(KiB/s delivered to task i + 1), fixed point; its bytes and credit */
static s32 ra_task_log_rate(const struct ra_counts *c, unsigned int i, u32 dt_ms)
{
	return mlp_ra_log2fx(ra_div(((c->task_bytes[i] + c->task_credit[i]) * 1000) >> 10,
				    dt_ms) + 1);
}

/*
 * The efficiency of an interval: the mean over reading tasks of
 * log2(KiB/s delivered to that task + 1), fixed point.  Only bytes that
 * reached a task count (read() results and mmap faults), never device
 * bytes, so read-in waste is not rewarded.  The mean of logs is the log of
 * the geometric mean: a co-running reader slowed 7x costs log2(7) = 2.8
 * while the scan that gained 1.4x earns only 0.5, so starving one reader
 * to speed up another scores worse.  With later_use_credit a task's bytes
 * include the credit for its read-around (struct ra_later_use): pages that
 * readers are expected to use later, by the record of pages read around
 * the same way, never pages merely read in.  False when no task read
 * anything.
 */
bool mlp_ra_efficiency(const struct ra_counts *c, u32 dt_ms, s32 *eff)
{
	u64 sum = 0;
	unsigned int i, n = c->nr_tasks;

	if (!n || !dt_ms)
		return false;
	for (i = 0; i < n; i++)
		sum += (u64)ra_task_log_rate(c, i, dt_ms);
	*eff = (s32)div_u64(sum, n);
	return true;
}

/*
 * The slowest reader's score (round 26): the least over reading tasks of
 * log2(KiB/s delivered to that task + 1), so that in a shared interval no
 * gain of one reader pays for another's loss.  A phase of fixed work done
 * by two readers ends when the slower ends: in the bench's `mix` a scan
 * and forty 4 KiB lookups scored alike at 16 and 512 KiB by the mean of
 * logs, the scan's gain at 512 paying for the lookups' 1.5x loss, while the
 * phase took 0.13 s at 16 and 0.14-0.15 s at 512, all of it the lookups'.  One
 * reader: the same as mlp_ra_efficiency.
 */
bool mlp_ra_efficiency_slowest(const struct ra_counts *c, u32 dt_ms, s32 *eff)
{
	unsigned int i, n = c->nr_tasks;
	s32 least, r;

	if (!n || !dt_ms)
		return false;
	least = ra_task_log_rate(c, 0, dt_ms);
	for (i = 1; i < n; i++) {
		r = ra_task_log_rate(c, i, dt_ms);
		if (r < least)
			least = r;
	}
	*eff = least;
	return true;
}

/* the index of the smallest candidate of at least kb, the largest beyond them all */
int mlp_ra_candidate_index(u32 kb)
{
	int i;

	for (i = 0; i < RA_NR_CANDIDATES - 1; i++)
		if (kb <= mlp_ra_candidates_kb[i])
			break;
	return i;
}

/*
 * The candidate an explored block tries (index), rnd a random number: a
 * neighbour of the model's choice in the candidate set, one step smaller
 * or larger (the only one at either end); any candidate while the model
 * has no choice.  Exploring only next to the choice bounds what one
 * explored block can cost: on the cloud device model a 2048 KiB block
 * in an mmap phase ran 7x slower than 16 KiB, and the model's choice,
 * once trained, is rarely more than one step from the best.
 */
int mlp_ra_explore_candidate(u32 choice_kb, u32 rnd)
{
	int i;

	if (!choice_kb)
		return (int)(rnd % RA_NR_CANDIDATES);
	i = mlp_ra_candidate_index(choice_kb);
	if (i == 0)
		return 1;
	if (i == RA_NR_CANDIDATES - 1)
		return RA_NR_CANDIDATES - 2;
	return rnd & 1 ? i + 1 : i - 1;
}

static int ra_steps(int a, int b)
{
	return a > b ? a - b : b - a;
}

/*
 * The candidate an explored block tries first (index), round 7: of those
 * other than ref_kb (the model's choice, or the default) with fewer than
 * min_samples training samples in the context, the one nearest to ref_kb,
 * the smaller on a tie; -1 when every candidate has its samples (then a neighbour,
 * mlp_ra_explore_candidate).  Neighbours alone can leave a context on a
 * plateau: in a round-7 hdd warm-up the network chose 16 KiB for scans,
 * which with 128 KiB read() calls reads as the default does, so the only
 * neighbour, 128 KiB, looked no better and 512 and 2048 KiB were never
 * tried there (no samples in 300 s; the model stayed in learning).
 */
int mlp_ra_explore_untried(const struct ra_support *sup, unsigned int ctx,
			   u32 ref_kb, u32 min_samples)
{
	int i, ref, best = -1;

	if (ctx >= RA_NR_CONTEXTS)
		return -1;
	ref = mlp_ra_candidate_index(ref_kb);
	for (i = 0; i < RA_NR_CANDIDATES; i++) {
		if (i == ref || sup->n[ctx][i] >= min_samples)
			continue;
		if (best < 0 || ra_steps(i, ref) < ra_steps(best, ref))
			best = i;
	}
	return best;
}

u32 mlp_ra_clamp_kb(u32 kb)
{
	if (kb < RA_MIN_KB)
		return RA_MIN_KB;
	if (kb > RA_MAX_KB)
		return RA_MAX_KB;
	return kb;
}

/* Index of the highest predicted efficiency; ties go to the smaller window. */
int mlp_ra_best_candidate(const s32 predicted[RA_NR_CANDIDATES])
{
	int i, best = 0;

	for (i = 1; i < RA_NR_CANDIDATES; i++)
		if (predicted[i] > predicted[best])
			best = i;
	return best;
}

/*
 * The context of an interval, 0..RA_NR_CONTEXTS-1, from what the tasks
 * asked for, never from what the device did: bit 0 most bytes came by mmap
 * faults, bit 1 more than one task read, bit 2 for read(): calls of 32 KiB
 * or more on average (scans) rather than small ones (lookups, short runs);
 * for mmap: faults on average near the one before (a column read through
 * the mapping) rather than scattered (random lookups); bit 3 (round 8), for
 * read() only: at least half the calls start elsewhere than where their
 * file's last read() ended (random lookups, not runs of small reads, which
 * gain from a window that random lookups waste).
 */
unsigned int mlp_ra_context(const struct ra_counts *c)
{
	u64 delivered = c->read_bytes + c->fault_bytes;
	unsigned int ctx = 0;

	if (c->fault_bytes * 2 > delivered) {
		ctx |= 1;
		if (c->fault_dist_n &&
		    ra_div(c->fault_dist, c->fault_dist_n) <= RA_NEAR_PAGES)
			ctx |= 4;
	} else if (c->read_calls) {
		if (ra_div(c->read_bytes, c->read_calls) >= RA_LARGE_READ_BYTES)
			ctx |= 4;
		if (c->read_jumps * 2 >= c->read_calls)
			ctx |= 8;
	}
	if (c->nr_tasks > 1)
		ctx |= 2;
	return ctx;
}

/* Fold a default interval's score into its context's running mean. */
void mlp_ra_baseline_add(struct ra_baseline *b, unsigned int ctx, s32 eff)
{
	if (ctx >= RA_NR_CONTEXTS)
		return;
	if (!b->n[ctx])
		b->mean[ctx] = eff;
	else
		b->mean[ctx] += (eff - b->mean[ctx]) / (1 << RA_BASE_SHIFT);
	if (b->n[ctx] < RA_BASE_MIN)
		b->n[ctx]++;	/* only the threshold matters */
}

/* eff relative to the default in its context; false until that is known. */
bool mlp_ra_relative(const struct ra_baseline *b, unsigned int ctx, s32 eff,
		     s32 *rel)
{
	if (ctx >= RA_NR_CONTEXTS || b->n[ctx] < RA_BASE_MIN)
		return false;
	*rel = eff - b->mean[ctx] + RA_REL_BASE;
	if (*rel < 0)
		*rel = 0;
	return true;
}

/* A relative score (RA_REL_BASE = the default) as evidence (RA_EVIDENCE_BASE). */
u32 mlp_ra_evidence(s32 rel)
{
	s32 ev = rel - RA_REL_BASE + RA_EVIDENCE_BASE;

	return ev > 0 ? (u32)ev : 0;
}

void mlp_ra_mix_add(struct ra_mix *m, bool ml, unsigned int ctx)
{
	unsigned int i, k;

	if (ctx >= RA_NR_CONTEXTS)
		return;
	if (++m->n[ml][ctx] < RA_MIX_N_CAP)
		return;
	/* halve all: the ratios stay, the products below stay in 64 bits */
	for (i = 0; i < 2; i++)
		for (k = 0; k < RA_NR_CONTEXTS; k++)
			m->n[i][k] /= 2;
}

static bool ra_mix_judged(const struct ra_mix *m, unsigned int ctx, u32 min_n)
{
	return m->n[0][ctx] >= min_n && m->n[1][ctx] >= min_n;
}

/* Per mille of ml intervals kept in ctx: see struct ra_mix. */
u32 mlp_ra_mix_keep_permil(const struct ra_mix *m, unsigned int ctx, u32 min_n)
{
	unsigned int k, best = RA_NR_CONTEXTS;
	u64 keep;

	if (!min_n || ctx >= RA_NR_CONTEXTS || !ra_mix_judged(m, ctx, min_n))
		return RA_SCALE;
	/* the context with the most default intervals per ml interval */
	for (k = 0; k < RA_NR_CONTEXTS; k++) {
		if (!ra_mix_judged(m, k, min_n))
			continue;
		if (best == RA_NR_CONTEXTS ||
		    (u64)m->n[0][k] * m->n[1][best] > (u64)m->n[0][best] * m->n[1][k])
			best = k;
	}
	/* (d_c / m_c) / (d_best / m_best), products of two u32 each */
	keep = div64_u64((u64)m->n[0][ctx] * m->n[1][best] * RA_SCALE,
			 (u64)m->n[1][ctx] * m->n[0][best]);
	return keep > RA_SCALE ? RA_SCALE : (u32)keep;
}

/*
 * The context of a sample from its features (the same bits as
 * mlp_ra_context, from the features it made): a training sample pairs two
 * intervals of one context, so its features tell its context.
 */
unsigned int mlp_ra_context_of_features(const s32 *f)
{
	unsigned int ctx = 0;

	if (f[RA_F_MMAP_PERMIL] > RA_SCALE / 2) {
		ctx |= 1;
		if (f[RA_F_FAULT_DIST] &&
		    f[RA_F_FAULT_DIST] <= mlp_ra_log2fx(RA_NEAR_PAGES + 1))
			ctx |= 4;
	} else {
		if (f[RA_F_READ_KB] >= mlp_ra_log2fx(RA_LARGE_READ_BYTES / 1024 + 1))
			ctx |= 4;
		/* 0 without read() calls; floor(1000 j / n) >= 500 iff 2 j >= n */
		if (f[RA_F_READ_JUMP_PERMIL] >= RA_SCALE / 2)
			ctx |= 8;
	}
	if (f[RA_F_TASKS] > RA_SCALE)
		ctx |= 2;
	return ctx;
}

/* A read() context with more than one task as RA_CTX_SHARED_READ. */
unsigned int mlp_ra_merge_shared(unsigned int ctx)
{
	return (ctx & 3) == 2 ? RA_CTX_SHARED_READ : ctx;
}

/* The kind of access a context is made of (the bits of mlp_ra_context). */
unsigned int mlp_ra_access_of_context(unsigned int ctx)
{
	if (ctx & 1)
		return RA_ACCESS_FAULT;
	return ctx & 4 ? RA_ACCESS_LARGE_READ : RA_ACCESS_SMALL_READ;
}

/* The kind of one read() of this many bytes (up to the end of the file). */
unsigned int mlp_ra_access_of_read(u64 bytes)
{
	return bytes >= RA_LARGE_READ_BYTES ? RA_ACCESS_LARGE_READ :
					      RA_ACCESS_SMALL_READ;
}

/* The windows of the three kinds in one word (pages beyond the field clamp). */
u32 mlp_ra_windows_pack(const u32 pages[RA_NR_ACCESS])
{
	u32 w = 0;
	unsigned int k;

	for (k = 0; k < RA_NR_ACCESS; k++)
		w |= (pages[k] < RA_WINDOW_MASK ? pages[k] : RA_WINDOW_MASK) << (k * RA_WINDOW_BITS);
	return w;
}

/*
 * The windows per kind (KiB) once a block starts, packed for the probes.
 * A choice (model or explored) sets the window of its context's kind.  A
 * default interval gives every kind 0, the device's own window, which
 * the probes read at each access: packing the device's window itself
 * would clamp a read_ahead_kb above the field's 4092 KiB, and would keep
 * the value read at the interval's start if an operator changed it.
 */
u32 mlp_ra_windows_set(u32 kind_kb[RA_NR_ACCESS], unsigned int kind, u32 kb,
		       bool chosen)
{
	u32 pages[RA_NR_ACCESS];
	unsigned int k;

	for (k = 0; k < RA_NR_ACCESS; k++) {
		if (!chosen)
			kind_kb[k] = 0;
		else if (k == kind)
			kind_kb[k] = kb;
		pages[k] = kind_kb[k] / RA_PAGE_KB;
	}
	return mlp_ra_windows_pack(pages);
}

/* The window, in pages, an access of this kind gets (0: the device's own). */
u32 mlp_ra_window_of(u32 windows, unsigned int access)
{
	return access < RA_NR_ACCESS ?
	       (windows >> (access * RA_WINDOW_BITS)) & RA_WINDOW_MASK : 0;
}

/* The largest window a stream may keep under this window (see mlp_ra_calc.h). */
u32 mlp_ra_stream_cap(u32 window_pages, u32 req_pages, u32 io_pages)
{
	if (req_pages > window_pages && io_pages > window_pages)
		return req_pages < io_pages ? req_pages : io_pages;
	return window_pages;
}

/* The candidate whose log2 (fixed point) a sample carries; -1 if none. */
int mlp_ra_candidate_of_log2(s32 log2_kb)
{
	int i;

	for (i = 0; i < RA_NR_CANDIDATES; i++) {
		s32 d = log2_kb - mlp_ra_log2fx(mlp_ra_candidates_kb[i]);

		if (d > -RA_SCALE / 2 && d < RA_SCALE / 2)
			return i;
	}
	return -1;
}

/* Count a sample (features, log2 of its window, its score) where it belongs. */
void mlp_ra_support_add(struct ra_support *sup, const s32 row[RA_INPUTS + 1])
{
	int c = mlp_ra_candidate_of_log2(row[RA_NR_MODEL_FEATURES]);
	unsigned int ctx = mlp_ra_context_of_features(row);
	s64 rel = row[RA_INPUTS];

	if (sup->merge_shared)
		ctx = mlp_ra_merge_shared(ctx);
	if (c < 0)
		return;
	if (rel < 0)
		rel = 0;
	if (rel > RA_REL_MAX)
		rel = RA_REL_MAX;
	sup->n[ctx][c]++;
	sup->sum[ctx][c] += rel;
	sup->sumsq[ctx][c] += (u64)(rel * rel);
	memcpy(sup->recent[ctx], row, sizeof(sup->recent[ctx]));
}

/*
 * The context of this kind of access with the most samples, whose newest
 * features stand for the kind when a fresh load primes its window; -1
 * when no context of the kind has a sample.
 */
int mlp_ra_kind_context(const struct ra_support *sup, unsigned int kind)
{
	u64 most = 0;
	int best = -1;
	unsigned int ctx, c;

	for (ctx = 0; ctx < RA_NR_CONTEXTS; ctx++) {
		u64 n = 0;

		if (mlp_ra_access_of_context(ctx) != kind)
			continue;
		for (c = 0; c < RA_NR_CANDIDATES; c++)
			n += sup->n[ctx][c];
		if (n > most) {
			most = n;
			best = (int)ctx;
		}
	}
	return best;
}

/* One text row: RA_INPUTS integers and the output; a bad row is counted. */
static void ra_support_line(struct ra_support_parser *p, const char *s,
			    unsigned int len)
{
	s32 v[RA_INPUTS + 1];
	unsigned int i = 0, k = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len)
		return;		/* blank */
	while (i < len) {
		bool neg = false;
		s64 x = 0;
		unsigned int digits = 0;

		if (k == RA_INPUTS + 1)
			goto bad;
		if (s[i] == '-') {
			neg = true;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 12) {
			x = x * 10 + (s[i++] - '0');
			digits++;
		}
		if (!digits || (i < len && s[i] != ' ' && s[i] != '\t') ||
		    x > 2000000000)
			goto bad;
		v[k++] = (s32)(neg ? -x : x);
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	if (k != RA_INPUTS + 1)
		goto bad;
	p->rows++;
	mlp_ra_support_add(&p->sup, v);
	return;
bad:
	p->bad++;
}

void mlp_ra_support_feed(struct ra_support_parser *p, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (p->overlong)
				p->bad++;
			else
				ra_support_line(p, p->line, p->len);
			p->len = 0;
			p->overlong = false;
		} else if (p->len < RA_LINE_MAX) {
			p->line[p->len++] = buf[i];
		} else {
			p->overlong = true;
		}
	}
}

/* The last row may lack its newline. */
void mlp_ra_support_end(struct ra_support_parser *p)
{
	if (p->len || p->overlong)
		mlp_ra_support_feed(p, "\n", 1);
}

/*
 * Candidates the model may choose in ctx (bit i: mlp_ra_candidates_kb[i]):
 * those with min_samples training samples there, and the default.
 */
u32 mlp_ra_allowed_mask(const struct ra_support *sup, unsigned int ctx,
			u32 def_kb, u32 min_samples)
{
	u32 mask = 0;
	int i;

	for (i = 0; i < RA_NR_CANDIDATES; i++)
		if (mlp_ra_candidates_kb[i] == def_kb ||
		    (ctx < RA_NR_CONTEXTS && sup->n[ctx][i] >= min_samples))
			mask |= 1u << i;
	return mask;
}

/* Mean score of a candidate's samples in a context; 0 without samples. */
s32 mlp_ra_support_mean(const struct ra_support *sup, unsigned int ctx, int cand)
{
	u32 n;

	if (ctx >= RA_NR_CONTEXTS || cand < 0 || cand >= RA_NR_CANDIDATES)
		return 0;
	n = sup->n[ctx][cand];
	return n ? (s32)div64_s64(sup->sum[ctx][cand], n) : 0;
}

/*
 * One side of the guard's test, read once: the timer reads the counts
 * while the I/O thread may replace them at a reconnection (a count read
 * old or new is fine, a count read twice could be 0 the second time).
 */
struct ra_moments {
	u64 n;		/* capped at RA_GUARD_N_CAP */
	s64 mean;
	u64 var;
};

static bool ra_moments_of(const struct ra_support *sup, unsigned int ctx,
			  int cand, u32 min_samples, struct ra_moments *m)
{
	u32 n = sup->n[ctx][cand];
	u64 m2, sq;

	if (!n || n < min_samples)
		return false;
	m->mean = div64_s64(sup->sum[ctx][cand], n);
	m2 = div64_u64(sup->sumsq[ctx][cand], n);
	sq = (u64)(m->mean * m->mean);
	m->var = m2 > sq ? m2 - sq : 0;
	m->n = n < RA_GUARD_N_CAP ? n : RA_GUARD_N_CAP;
	return true;
}

/*
 * Whether hi's mean is ahead of lo's by more than margin at about two
 * standard errors: the gap beyond the margin, squared, exceeds
 * 4 (var_hi / n_hi + var_lo / n_lo), multiplied out so that no division
 * loses it.  Scores are clamped to RA_REL_MAX and counts capped at
 * RA_GUARD_N_CAP, so gap^2 n_hi n_lo stays below 2^54.  The guard and the
 * lead both judge with it.
 */
static bool ra_ahead(const struct ra_moments *hi, const struct ra_moments *lo,
		     s32 margin)
{
	s64 g = hi->mean - lo->mean - margin;

	return g > 0 && (u64)g * (u64)g * hi->n * lo->n >
			4 * (hi->var * lo->n + lo->var * hi->n);
}

/*
 * Candidates (bits, as mlp_ra_allowed_mask) whose samples in ctx trail the
 * default window's samples there by more than margin, both sides with at
 * least min_samples samples (and one), at about two standard errors
 * (ra_ahead).  Scores per interval spread
 * by about a doubling (round 5), so a plain comparison of means over the
 * 8 samples of one explored block would guard a window that is as good as
 * the default about half the time.  The default is never guarded.  At most
 * RA_GUARD_N_CAP samples count on each side (a bound on the products; the
 * test is already decided there).
 */
u32 mlp_ra_guarded_mask(const struct ra_support *sup, unsigned int ctx,
			u32 def_kb, u32 min_samples, s32 margin)
{
	struct ra_moments d, c;
	u32 mask = 0;
	int di, i;

	if (ctx >= RA_NR_CONTEXTS)
		return 0;
	for (di = 0; di < RA_NR_CANDIDATES; di++)
		if (mlp_ra_candidates_kb[di] == def_kb)
			break;
	if (di == RA_NR_CANDIDATES || !ra_moments_of(sup, ctx, di, min_samples, &d))
		return 0;
	for (i = 0; i < RA_NR_CANDIDATES; i++) {
		if (i == di || !ra_moments_of(sup, ctx, i, min_samples, &c))
			continue;
		if (ra_ahead(&d, &c, margin))
			mask |= 1u << i;
	}
	return mask;
}

/*
 * The lead (round 14), the guard's mirror: of the candidates in mask other
 * than chosen (the network's pick), the one with the highest sample mean
 * among those whose samples in ctx lead the chosen window's there by more
 * than margin at about two standard errors, both sides with at least
 * min_samples samples (and one); -1 when none does.  The network is one
 * regression over every context, and a context with few samples of a
 * window weighs little in it: in round 13's hdd warm-ups 512 KiB led the
 * default after scattered mmap faults (its read-around used later) while
 * the network kept 128 KiB there in two boots of three.  The test is the
 * guard's (ra_ahead), the sides swapped.  A window larger than chosen must
 * lead by larger_margin instead (round 29): with smaller_margin the model
 * takes the smaller of two windows predicted alike, and a lead by the
 * plain margin undid that on cloud's scans (2048 KiB's samples 89 ahead of
 * 16 KiB's, the phase after paying back what the scan saved).
 */
int mlp_ra_sample_leader(const struct ra_support *sup, unsigned int ctx,
			 int chosen, u32 mask, u32 min_samples, s32 margin,
			 s32 larger_margin)
{
	struct ra_moments p, c;
	s64 best_mean = 0;
	int i, best = -1;

	if (ctx >= RA_NR_CONTEXTS || chosen < 0 || chosen >= RA_NR_CANDIDATES ||
	    !min_samples || !ra_moments_of(sup, ctx, chosen, min_samples, &p))
		return -1;
	for (i = 0; i < RA_NR_CANDIDATES; i++) {
		if (i == chosen || !(mask & (1u << i)) ||
		    !ra_moments_of(sup, ctx, i, min_samples, &c))
			continue;
		if (ra_ahead(&c, &p, i > chosen ? larger_margin : margin) &&
		    (best < 0 || c.mean > best_mean)) {
			best = i;
			best_mean = c.mean;
		}
	}
	return best;
}

/*
 * The candidate a thin exploration tries (round 14; index): of those other
 * than ref_kb (the model's choice, or the default), not in excluded, with
 * fewer than thin_samples samples in ctx, the one with the fewest (the
 * larger window on a tie); -1 when there is none.  Learning's explored
 * blocks, 3% of all blocks, reach a context a dozen times before the climb
 * on hdd, and mlp_ra_sample_leader needs dozens of samples of a window to
 * see a lead of a tenth of a doubling.  Every candidate, not only the
 * choice's neighbours: with neighbours only, an hdd warm-up whose network
 * settled on 512 KiB for scans early gave 2048 KiB 33 samples there before
 * the climb, and kept 512 (scan-heavy 2.93x the default, against 4.07-4.14x
 * in two boots that chose 2048).  A window that loses is guarded
 * (excluded) once it has guard_min_samples samples, which bounds the cost.
 */
int mlp_ra_explore_thin(const struct ra_support *sup, unsigned int ctx,
			u32 ref_kb, u32 thin_samples, u32 excluded)
{
	int ref, i, best = -1;

	if (ctx >= RA_NR_CONTEXTS || !thin_samples)
		return -1;
	ref = mlp_ra_candidate_index(ref_kb);
	for (i = 0; i < RA_NR_CANDIDATES; i++) {
		if (i == ref || (excluded & (1u << i)) || sup->n[ctx][i] >= thin_samples)
			continue;
		if (best < 0 || sup->n[ctx][i] <= sup->n[ctx][best])
			best = i;
	}
	return best;
}

/*
 * Whether training lets the model choose another window than the default
 * in a context (a context it was trained in, round 7): there it may apply
 * before the default has scores (mlp_ra.c, ra_model_may_apply).  Guarded
 * candidates (mlp_ra_guarded_mask) do not count.
 */
bool mlp_ra_may_differ(const struct ra_support *sup, unsigned int ctx,
		       u32 def_kb, u32 min_samples, u32 guarded)
{
	u32 mask = mlp_ra_allowed_mask(sup, ctx, def_kb, min_samples) & ~guarded;
	int i;

	for (i = 0; i < RA_NR_CANDIDATES; i++)
		if (mlp_ra_candidates_kb[i] == def_kb)
			mask &= ~(1u << i);
	return mask != 0;
}

/* The best allowed candidate (ties to the smaller window); -1 if none is. */
int mlp_ra_best_allowed(const s32 predicted[RA_NR_CANDIDATES], u32 mask)
{
	int i, best = -1;

	for (i = 0; i < RA_NR_CANDIDATES; i++)
		if ((mask & (1u << i)) && (best < 0 || predicted[i] > predicted[best]))
			best = i;
	return best;
}

/*
 * The smallest candidate in mask, best or below, predicted within margin of
 * best (round 26); best when none is, or when margin is 0.  A window's
 * readahead beyond what its reader uses is paid later and by others (the
 * requests still in flight when the phase ends, a co-running reader queued
 * behind them, the page cache), which the interval's own score does not
 * show: on cloud a scan's samples scored 16 and 2048 KiB within a few
 * per cent, and the phase after it paid back what 2048 saved.  So of two
 * windows that score alike, the smaller.  Candidates are in ascending order.
 */
int mlp_ra_smaller_within(const s32 predicted[RA_NR_CANDIDATES], u32 mask, int best,
			  s32 margin)
{
	int i;

	if (best < 0 || best >= RA_NR_CANDIDATES || margin <= 0)
		return best;
	for (i = 0; i < best; i++)
		if ((mask & (1u << i)) && (s64)predicted[i] + margin >= predicted[best])
			return i;
	return best;
}

/*
 * The carried samples go out, each less an even share of the charge
 * (kept within 0..RA_REL_MAX); the remainder of the division falls on
 * the newest, so the shares add up to the charge.
 */
static void ra_carry_release(struct ra_carry *c, ra_carry_emit_fn emit, void *arg)
{
	unsigned int n = c->nr_carried, i;
	s32 share, rel;

	if (!n)
		return;
	share = c->charge / (s32)n;
	for (i = 0; i < n; i++) {
		s32 mine = i + 1 < n ? share : c->charge - share * (s32)(n - 1);

		rel = c->carried[i][RA_INPUTS] - mine;
		c->carried[i][RA_INPUTS] = rel < 0 ? 0 : rel > RA_REL_MAX ? RA_REL_MAX : rel;
		emit(arg, c->carried[i], mine);
	}
	c->nr_carried = 0;
	c->left = 0;
	c->charge = 0;
}

/*
 * A new sample of the running context, held with the newest run_samples
 * (1..RA_CARRY_RUN_MAX) of its run: the oldest goes out uncharged when
 * they are full.
 */
void mlp_ra_carry_sample(struct ra_carry *c, const s32 row[RA_INPUTS + 1],
			 unsigned int run_samples, ra_carry_emit_fn emit, void *arg)
{
	unsigned int cap = run_samples > RA_CARRY_RUN_MAX ? RA_CARRY_RUN_MAX : run_samples;

	if (!cap)
		cap = 1;
	while (c->nr_run >= cap) {
		emit(arg, c->run[0], 0);
		memmove(c->run[0], c->run[1], sizeof(c->run[0]) * --c->nr_run);
	}
	memcpy(c->run[c->nr_run++], row, sizeof(c->run[0]));
}

/*
 * The context changed: the held samples start their charge over the next
 * intervals (this one included).  Those carried before, whose charge was
 * still under way, go out with their charge so far.
 */
void mlp_ra_carry_phase_end(struct ra_carry *c, unsigned int intervals, bool net,
			    ra_carry_emit_fn emit, void *arg)
{
	ra_carry_release(c, emit, arg);
	if (!c->nr_run || !intervals)
		return;
	memcpy(c->carried, c->run, sizeof(c->run[0]) * c->nr_run);
	c->nr_carried = c->nr_run;
	c->nr_run = 0;
	c->left = intervals;
	c->charge = 0;
	c->net = net;
}

/*
 * A closed interval (rel: its relative score, -1 when it has none: idle,
 * or no default score in its context yet) adds its shortfall against the
 * default to the charge, or with net its surplus as a credit too.  The
 * carried samples go out once charged for their last interval.
 */
void mlp_ra_carry_interval(struct ra_carry *c, s32 rel, ra_carry_emit_fn emit, void *arg)
{
	if (!c->nr_carried)
		return;
	if (rel >= 0 && (rel < RA_REL_BASE || c->net) &&
	    c->charge < RA_REL_MAX && c->charge > -RA_REL_MAX)
		c->charge += RA_REL_BASE - rel;
	if (!--c->left)
		ra_carry_release(c, emit, arg);
}
