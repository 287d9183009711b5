// SPDX-License-Identifier: GPL-2.0-only
/*
 * mlp_ra: readahead for one block device, tuned by an ML model that
 * mlproxy serves in user space (through ml_lib.c, the same library
 * mlproxy_kmod uses; this is a second module linking its own copy).
 *
 * Observation (probes on the target device only, all at function entry):
 *   - kprobe filemap_read: bytes a read() delivers, per task;
 *   - kprobes filemap_map_pages and filemap_fault: mmap touches of pages
 *     not yet mapped, per task, and how near each is to the one before;
 *   - with device_stats=1 only, tracepoints block_rq_complete (read
 *     requests, bytes, sequentiality) and mm_filemap_add_to_page_cache
 *     (pages read in), for features the model does not learn from; they
 *     are not exported and are found by name with
 *     for_each_kernel_tracepoint();
 *   - with later_use_credit=1 (the default), mm_filemap_add_to_page_cache
 *     and mm_filemap_delete_from_page_cache: which pages a readahead
 *     brought in beyond what was asked for, and whether a reader touched
 *     them before they left the page cache (struct ra_later_use).
 *
 * Actuation: every file's own window (file->f_ra.ra_pages) is copied from
 * the device at open, so changing the device's readahead misses files
 * already open.  The kprobes on filemap_read and filemap_fault rewrite the
 * window of the file being read to the value in force before the kernel
 * reads it (an unlocked store of one word, as fadvise does under its own
 * lock; the kernel re-reads ra_pages on every readahead).  There is a
 * window per kind of access (small read() calls, a scan's large ones, mmap
 * faults): a choice sets its context's kind's window, and each access gets
 * its own kind's at once (round 7: with one window, a phase shorter than an
 * interval was served whole with the window chosen for the phase before
 * it).  The device's bdi->ra_pages is never written: it stays the kernel
 * default and new files keep starting from it.
 *
 * Decisions: a timer closes an interval every interval_ms, scores it
 * (mlp_ra_efficiency), and picks the next interval's window.  Choices hold
 * for blocks of block_intervals: on apply_permil of every 1000 blocks the
 * model decides, otherwise the kernel default (the device's read_ahead_kb).
 * In a model block the timer evaluates the model's integer network
 * (ml_model_eval, RCU, no waiting) for every candidate on the features of
 * the interval just closed and applies the best, every interval; without
 * a network it applies the I/O thread's latest recommendation.  In learning
 * and collaboration, explore_permil of the model's blocks try a neighbour
 * of its choice instead; they train the model but are not reported as ML
 * evidence.
 *
 * Efficiency: bytes delivered per task, plus the pages its read-around
 * brought in times the share of such pages readers used later (round 13:
 * a window's gain through the page cache comes after its interval).
 *
 * Evidence: each interval's score is reported relative to the default's
 * running score in the same context (mlp_ra_context: how the tasks read,
 * which readahead cannot change), because whole-interval scores differ by
 * phase and a better window shifts time from fast phases to slow ones.
 *
 * The I/O kthread, every period_ms: connect, read the mode, publish the
 * (features, candidate -> efficiency) samples, fetch the integer network
 * when its generation moved (or, without one, ask for the predicted
 * efficiency of every candidate in one recommendation transaction), and
 * send the queued ml and default evidence as feedback.
 *
 * Unload: the window in force goes back to the default for two intervals
 * so files being read are restored, then every probe is removed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/backing-dev-defs.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/jiffies.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#include "ml_lib.h"
#include "mlp_ra_calc.h"
#include "mlp_synth.h"	/* the permil gate and the rng */

/* device: the block device whose readahead is tuned (a path in /dev). */
static char *device = "/dev/vda";
module_param(device, charp, 0444);
MODULE_PARM_DESC(device, "block device to tune (default /dev/vda)");

static char *mount_path = "/mnt/mlproxy";
module_param(mount_path, charp, 0444);
MODULE_PARM_DESC(mount_path, "mlproxy mount point (default /mnt/mlproxy)");

static char *model_name = "readahead";
module_param(model_name, charp, 0444);
MODULE_PARM_DESC(model_name, "model directory under models/ (default readahead)");

/*
 * interval_ms: one decision and one score per interval.  10..10000, rounded
 * up to whole jiffies (12 ms is three at Debian's HZ=250).  12 since round
 * 22 (20 in rounds 20-21, 100 before, and 50 in the bench): on the cloud
 * device an mmap phase run at a small window lasts a few tenths of a
 * second and a phase of short reads a few hundredths, and the intervals at
 * a phase's edges are no evidence (a phase change, a block's settling), so
 * at 50 ms such phases gave the evidence almost no values and the mode
 * rarely left learning; at 20 ms they gave hundreds and every cloud
 * warm-up climbed, and at 12 ms cloud's lookups keep 96-98% of the
 * oracle's saving, 84-92% at 20 (on seek the small reads lost some:
 * docs/readahead-rounds.md, round 22).
 * The block, its settling and the I/O round keep their length in time
 * (block_intervals, settle_intervals, period_ms).
 */
static unsigned int interval_ms = 12;
module_param(interval_ms, uint, 0444);
MODULE_PARM_DESC(interval_ms, "decision interval in ms (10..10000, default 12; rounded up to whole jiffies)");

/*
 * period_ms: the I/O thread's round.  It sends at most RA_FB_PER_ROUND
 * evidence scores a round, so a round spans no more intervals than that
 * (300 ms is 25 intervals of 12 ms; 500 before round 22, at 20 ms).
 */
static unsigned int period_ms = 300;
module_param(period_ms, uint, 0444);
MODULE_PARM_DESC(period_ms, "I/O round period in ms (20..60000, default 300)");

/*
 * emergency_period_ms: the I/O thread's round while the model is connected
 * and in emergency.  Nothing is applied there, so the timer rests (see
 * ra_rest) and a round only reads the mode: leaving emergency is noticed
 * within this time (plus one request, bounded by timeout_ms), after which
 * the normal cadence resumes at once.  Round 5 measured the periodic work
 * as the module's cost on a loaded host (1.35x with a 100 ms timer and
 * 500 ms rounds, 0.97x with both ten times rarer).
 */
static unsigned int emergency_period_ms = 5000;
module_param(emergency_period_ms, uint, 0444);
MODULE_PARM_DESC(emergency_period_ms, "I/O round period in ms while in emergency, when the timer rests (20..60000, default 5000)");

static unsigned int timeout_ms = 2000;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "mlproxy request timeout in ms (50..60000, default 2000)");

/*
 * block_intervals: the choice (model, default or exploration) holds for a
 * block of this many intervals, and the first settle_intervals of a block
 * are not reported as evidence: a window needs a few readaheads to ramp up
 * and the previous block's readahead is still being consumed, so scoring
 * every interval against its neighbour would mostly measure the neighbour.
 */
static unsigned int block_intervals = 42;
module_param(block_intervals, uint, 0444);
MODULE_PARM_DESC(block_intervals, "intervals one choice holds for (1..100, default 42: 0.5 s at the default interval)");

static unsigned int settle_intervals = 8;
module_param(settle_intervals, uint, 0444);
MODULE_PARM_DESC(settle_intervals, "first intervals of a block not reported as evidence (0..block_intervals-1, default 8: 0.1 s at the default interval)");

/*
 * use_qnet: the model's choice is made in the timer, every interval, by
 * evaluating the model's integer network (the qnet file, fetched when its
 * generation moves) on the features of the interval just closed, once per
 * candidate.  Without a network (or with use_qnet=0) the choice comes from
 * the I/O thread's recommendation transaction, up to a round old.
 */
static bool use_qnet = true;
module_param(use_qnet, bool, 0444);
MODULE_PARM_DESC(use_qnet, "choose per interval with the in-kernel integer network (1, default) or only from the recommendation transaction (0)");

/*
 * prime_windows (round 21): a fresh load starts every kind of access at
 * the device's window, and a kind got the model's only after an interval
 * of it had closed: on cloud a whole 20 ms interval of the first mmap
 * phase ran at 128 KiB, in a phase that takes 60 ms at 128 KiB and 20 ms
 * at 16 (the bench reloads the module for every measured run).  With it,
 * the first model interval once the server's training buffer has been
 * counted and the network fetched sets each kind's window from the
 * network's choice on the newest sample's features of the kind's most
 * sampled context, under the same support, guard and lead as any choice
 * (ra_prime_kinds); so does the first model interval after a rest in
 * emergency, which hands every kind back to the device's window.
 */
static bool prime_windows = true;
module_param(prime_windows, bool, 0444);
MODULE_PARM_DESC(prime_windows, "at the first model interval of a load (and after a rest in emergency), start each kind of access at the network's choice for its most sampled context in the server's training buffer (1, default) or at the device's window until an interval of that kind has closed (0)");

/*
 * explore_permil: share of model blocks that try another candidate: in
 * learning one with fewer than support_min_samples samples in the context,
 * the nearest to the model's choice (mlp_ra_explore_untried, round 7),
 * else a neighbour of the choice (mlp_ra_explore_candidate); see
 * ra_explore_kb.  Trials (ra_start_block) come on top.
 */
static unsigned int explore_permil = 300;
module_param(explore_permil, uint, 0444);
MODULE_PARM_DESC(explore_permil, "model intervals per 1000 that explore a random candidate in learning and collaboration (0..1000, default 300)");

/*
 * support_min_samples: the model may choose a candidate in a context only
 * once the training buffer holds this many samples of it there (the
 * default window always); see struct ra_support in mlp_ra_calc.h.  An
 * explored block gives up to block_intervals - settle_intervals samples,
 * so 8 is about one explored block: a window tried, not extrapolated.  32
 * (four blocks) held the CI's climb back: in scans the large windows the
 * network rightly extrapolated to waited minutes for their samples.
 */
static unsigned int support_min_samples = 8;
module_param(support_min_samples, uint, 0444);
MODULE_PARM_DESC(support_min_samples, "training samples a candidate needs in a context before the model may choose it there; the default window always may (0..100000, default 8)");

/*
 * guard_min_samples, guard_margin (round 9): a candidate whose training
 * samples in a context trail the default window's there by more than
 * guard_margin (score units, RA_REL_BASE the default: 50 is 0.05 of a
 * doubling, a 3.5% throughput loss), at about two standard errors,
 * both with guard_min_samples samples, is not chosen there in any mode
 * (mlp_ra_guarded_mask).  Explored blocks still try it at their bounded
 * share in learning and collaboration, and their samples can lift it
 * again.  guard_min_samples=0 turns the guard off.
 */
static unsigned int guard_min_samples = 16;
module_param(guard_min_samples, uint, 0444);
MODULE_PARM_DESC(guard_min_samples, "samples a candidate and the default window need in a context before the guard may keep the model from a candidate that trails the default there; 0: no guard (0..100000, default 16)");

/*
 * mix_min_intervals (round 11): the model's evidence is thinned to the
 * default's mix of contexts (struct ra_mix in mlp_ra_calc.h), judging a
 * context once both have this many eligible intervals there (8 was
 * measured); 0, the default, sends every ml interval.  Off by default: on
 * cloud it moved the evidence from +1.9% to +5.6% but not to a climb, and
 * the ml values it drops (about a fifth in the hdd CI job) delayed that
 * job's climb past its budget once.
 */
static unsigned int mix_min_intervals;
module_param(mix_min_intervals, uint, 0444);
MODULE_PARM_DESC(mix_min_intervals, "eligible default and ml intervals a context needs before the ml evidence there is thinned to the default's mix of contexts; 0: no thinning (0..100000, default 0)");

/*
 * trial_max_blocks (round 12): trials (ra_start_block) that gave no
 * training sample, per context and candidate, before the context stops
 * trying that candidate: a context may make trial_max_blocks trials of a
 * candidate plus one for each sample of it there.  A trial costs one
 * block when its phase is long enough to give samples; where the
 * context's phases are too short (an interval straddling a phase change,
 * or a block's first, gives no sample) the network went on preferring the
 * candidate and every model block starting there was a trial: in round
 * 12's hdd CI job explored and trial intervals outnumbered the model's two
 * to one in collaboration, and the climb took 59 runs.  Past the bound
 * the supported best serves, and the candidate is left to the explored
 * share.  0: trials only as samples come (none for a candidate without).
 *
 * 0 by default since round 20 (4 before).  The counts live in the module
 * and start at zero at every load, while the model and its support live in
 * the server: after a reload a trained model in collaboration spent its
 * first blocks on trials again (round 19: a cloud bench's measured lookups
 * ran 0.87x the default with trials, 2.37x without).  At 20 ms intervals
 * a block gives up to 20 samples, so exploration alone gave the windows
 * their support: the nine bench warm-ups without trials (rounds 19-20:
 * cloud, hdd, seek) all climbed to recommendation.
 */
static unsigned int trial_max_blocks;
module_param(trial_max_blocks, uint, 0444);
MODULE_PARM_DESC(trial_max_blocks, "trials of a candidate the network prefers in a context but has too few samples of there, beyond one per sample of it (0..255, default 0)");

/*
 * trial_intervals (round 23): model intervals, per context and candidate
 * and per load, in learning and collaboration, that may try the network's
 * best where it lacks support (ra_may_try_interval).  A trial block
 * starts only where a block starts, and blocks (0.5 s) outlast short
 * phases: in round 22's seek warm-ups the small reads of the `runs`
 * phases (0.1-0.2 s) gave 16 KiB five or six samples, below
 * support_min_samples, so the network preferred it there and could not
 * choose it (21-33 limited choices in every measured run).  An interval
 * trial sets only that context's kind of access, for one interval, and
 * its sample counts towards the support.
 *
 * 0 (none) by default.  At 16, seek's small reads got their support and
 * ran at 16 KiB (1.09x and 1.11x the best fixed value, 1.05x and 1.08x
 * without), but cloud's lookups kept 89-90% of the oracle's saving in
 * three boots, against 96% in a boot without in the same session and
 * 96-98% in round 22's three (docs/readahead-rounds.md, round 23).
 */
static unsigned int trial_intervals;
module_param(trial_intervals, uint, 0444);
MODULE_PARM_DESC(trial_intervals, "model intervals per context and candidate (per load) in learning and collaboration that may try the network's best where it has too few samples; 0: none (0..255, default 0)");

/*
 * carry_intervals (round 25): charge a context's last sample, before it
 * goes to the server, with the deficits of this many intervals after the
 * context changed (struct ra_carry in mlp_ra_calc.h), so that a window's
 * readahead still in flight at the end of its phase counts against it.
 * The other samples are held back while newer ones of their run come in
 * (carry_run_samples).  0 (off): each sample goes out as its interval
 * closes.
 */
static unsigned int carry_intervals;
module_param(carry_intervals, uint, 0444);
MODULE_PARM_DESC(carry_intervals, "intervals after a change of context whose deficits against their own default are charged to the newest training samples before it (carry_run_samples); 0: none (0..100, default 0)");

/*
 * carry_run_samples (round 27): how many of a run's newest samples share
 * the charge of carry_intervals, evenly.  1 (round 25's): the last alone,
 * which on cloud could not outweigh the scan's other thirty samples
 * (round 26: the lead kept 2048 KiB by 89 score units while the phase
 * after paid back its gain).  At 64 a whole scan's run is charged and its
 * mean score falls by the debt it left, per interval of the run.
 */
static unsigned int carry_run_samples = 1;
module_param(carry_run_samples, uint, 0444);
MODULE_PARM_DESC(carry_run_samples, "with carry_intervals, the newest training samples of a context's run that share its charge evenly (1..64, default 1: the last alone)");

/*
 * carry_net (round 27): the charge is the net shortfall of the intervals
 * after, their surpluses a credit, not the sum of their deficits alone.
 * Summed deficits charge every run with the noise of the intervals after
 * it; spread over a short run's few samples (a cloud "runs" phase's five
 * or six) that noise outweighed what its window did (round 27, boot a:
 * the runs' context moved from 128 to 512 and 2048 KiB).
 */
static bool carry_net;
module_param(carry_net, bool, 0444);
MODULE_PARM_DESC(carry_net, "with carry_intervals, charge the net shortfall of the intervals after (their surpluses credited), not their deficits alone (default N)");

/*
 * recent_reader_intervals (round 25): a task that read from the device in
 * one of this many intervals before and not in the one just closed, while
 * another task did, is counted in it as a reader that got nothing (struct
 * ra_recent in mlp_ra_calc.h): a reader held up behind another's readahead
 * then lowers the score and makes the context shared.  0: off, a reader
 * counts only in the intervals its accesses start in.
 */
static unsigned int recent_reader_intervals;
module_param(recent_reader_intervals, uint, 0444);
MODULE_PARM_DESC(recent_reader_intervals, "intervals after its last access that a reader absent from an interval another task read in counts there as a reader that got nothing; 0: none (0..255, default 0)");

/*
 * shared_read_context (round 26): put every interval in which more than
 * one task read() in one context, RA_CTX_SHARED_READ (see mlp_ra_calc.h),
 * whatever the mean size of the calls and their jumps.  Off: four contexts
 * by those, as for a single reader.
 */
static bool shared_read_context;
module_param(shared_read_context, bool, 0444);
MODULE_PARM_DESC(shared_read_context, "one context for every interval in which several tasks read() (default N: by mean call size and jumps, as for one reader)");

/*
 * slowest_reader_score (round 26): an interval scores as its slowest
 * reader (mlp_ra_efficiency_slowest), not the mean over readers of the
 * log of what each got: a phase two readers share ends when the slower
 * ends.  One reader: the same score.
 */
static bool slowest_reader_score;
module_param(slowest_reader_score, bool, 0444);
MODULE_PARM_DESC(slowest_reader_score, "score an interval by its slowest reader, not the mean over readers of log2 of what each got (default N)");

/*
 * smaller_margin (round 26): of the candidates the model may choose, take
 * the smallest whose predicted score is within this many score units of
 * the best's (mlp_ra_smaller_within: readahead a reader does not need is
 * paid later, by others, out of the interval's sight).  50 is 0.05 of a
 * doubling, 3.5% of throughput; 0: off, the best prediction.  The lead
 * (lead_min_samples) may still overrule it on the samples, towards a larger
 * window only by guard_margin plus this margin (round 29).
 */
static unsigned int smaller_margin;
module_param(smaller_margin, uint, 0444);
MODULE_PARM_DESC(smaller_margin, "score units (1000 = a doubling) within which the model takes the smallest allowed candidate over its best-predicted one; 0: off (0..1000, default 0)");

/*
 * shrink_streams (round 30): when the window in force for a read() is
 * below what the file's sequential stream has ramped up to, cut the
 * stream's window (f_ra.size and async_size) to what the kernel would let
 * it grow to under that window (mlp_ra_stream_cap): 6.1 never shrinks a
 * stream by itself, so without this a lower choice, the default's blocks
 * and the unload's restore missed scans that go on reading an open file.
 * The stream's next readahead then starts afresh, no larger than the cap.
 */
static bool shrink_streams;
module_param(shrink_streams, bool, 0444);
MODULE_PARM_DESC(shrink_streams, "cut a sequential stream's window down to the window in force for its reads (default N)");

/*
 * trace_intervals: one dmesg line per closed interval (its context, the
 * windows in force, the block it belonged to, its score), to see which
 * intervals become evidence.  A diagnostic: 20 lines a second at 50 ms.
 */
static bool trace_intervals;
module_param(trace_intervals, bool, 0444);
MODULE_PARM_DESC(trace_intervals, "log one line per closed interval to dmesg, for diagnosis (default 0)");

static unsigned int guard_margin = 50;
module_param(guard_margin, uint, 0444);
MODULE_PARM_DESC(guard_margin, "how far (score units, 5000 = the default, 1000 a doubling) a candidate's samples must trail the default window's in a context, beyond two standard errors, to be guarded there (0..5000, default 50)");

/*
 * lead_min_samples (round 14): the guard's mirror.  A candidate whose
 * samples in a context lead those of the network's choice there by more
 * than guard_margin, at about two standard errors, both with
 * lead_min_samples samples, is chosen instead (mlp_ra_sample_leader), in
 * every mode: it is the model's own training data, read per context.
 * 0 turns it off.
 */
static unsigned int lead_min_samples = 32;
module_param(lead_min_samples, uint, 0444);
MODULE_PARM_DESC(lead_min_samples, "samples a candidate and the network's choice need in a context before the candidate, if its samples lead the choice's there, is chosen instead; 0: no lead (0..100000, default 32)");

/*
 * thin_samples, thin_permil (round 14): in learning, thin_permil of the
 * default blocks starting in a context that has its default scores try a
 * candidate other than the model's choice (the default without one) that
 * has fewer than thin_samples samples there and is not guarded, the one
 * with the fewest (mlp_ra_explore_thin), as explored blocks: no evidence,
 * training samples only.  They give the lead its samples before the climb; the
 * default's evidence keeps the other blocks.  thin_samples=0 turns it off.
 */
static unsigned int thin_samples = 64;
module_param(thin_samples, uint, 0444);
MODULE_PARM_DESC(thin_samples, "in learning, default blocks may explore a candidate with fewer than this many samples in the context; 0: never (0..100000, default 64)");

static unsigned int thin_permil = 250;
module_param(thin_permil, uint, 0444);
MODULE_PARM_DESC(thin_permil, "default blocks per 1000 in learning that explore such a thin candidate (0..1000, default 250)");

/*
 * device_stats: also attach the tracepoints block_rq_complete and
 * mm_filemap_add_to_page_cache, which count the device's read requests
 * and the pages read in.  They feed only the features that follow from
 * the window (request rate and size, sequentiality, read-in waste), which
 * the model does not learn from; an operator reads them in last_features.
 * Off by default: a page added to the page cache is the most frequent
 * event the module could see (about 50,000 per 1.6 s lookup run on the
 * cloud device model, on any device, filtered in the handler).
 */
static bool device_stats;
module_param(device_stats, bool, 0444);
MODULE_PARM_DESC(device_stats, "also count device requests and pages read in, for last_features (0, default: off)");

/*
 * later_use_credit (round 13): credit an interval with the read-around its
 * readers use later (struct ra_later_use in mlp_ra_calc.h).  It attaches
 * the page cache's add and delete tracepoints and keeps a table of the
 * pages read around, RA_LU_SLOTS of them (2.5 MiB), one tag each.
 */
static bool later_use_credit = true;
module_param(later_use_credit, bool, 0444);
MODULE_PARM_DESC(later_use_credit, "credit an interval with the pages its read-around brings in, times the share of such pages readers used later (1, default; 0: delivered bytes only)");

/*
 * later_use_reads (round 26): with later_use_credit, credit the read-around
 * of read() calls too (1, the default), or of mmap faults only (0).  A
 * read() stream uses its read-around within the stream, where the reads
 * count the pages as they deliver them, so the credit counts them twice:
 * in cloud's `runs` (16 sequential 4 KiB preads from a random 64 KiB) the
 * default's 128 KiB outscored 16 KiB, which finishes the phase in half
 * the time.  Faults' read-around serves lookups seconds and phases later,
 * what the credit is for (round 13).
 */
static bool later_use_reads = true;
module_param(later_use_reads, bool, 0444);
MODULE_PARM_DESC(later_use_reads, "with later_use_credit, credit the read-around of read() calls as well as of mmap faults (1, default; 0: faults only)");

/* Mode policy timing written into a model this module creates. */
static unsigned int promote_dwell_ms = 300000;
module_param(promote_dwell_ms, uint, 0444);
MODULE_PARM_DESC(promote_dwell_ms, "mlproxy promote_dwell_ms for a model created here (default 300000)");

static unsigned int cooldown_ms = 300000;
module_param(cooldown_ms, uint, 0444);
MODULE_PARM_DESC(cooldown_ms, "mlproxy emergency_cooldown_ms for a model created here (default 300000)");

static unsigned int demote_dwell_ms = 60000;
module_param(demote_dwell_ms, uint, 0444);
MODULE_PARM_DESC(demote_dwell_ms, "mlproxy demote_dwell_ms for a model created here (default 60000)");

#define RA_SAMPLE_RING	ML_LIB_MAX_SAMPLES
#define RA_FB_RING	256
#define RA_FB_PER_ROUND	32	/* feedback writes per round, at most */
#define RA_EFF_MAX	30000	/* log2(KiB/s) x 1000 never reaches it */
#define RA_STREAM_BYTES	16384	/* chunk of the training buffer read at a time */
#define RA_STREAM_MAX	(8 << 20)	/* read no more of it than this */

struct ra_fb {
	bool ml;
	s32 eff;
};

struct ra_subsys {
	struct ml_lib_model model;
	struct task_struct *thread;
	struct completion thread_done;
	wait_queue_head_t wq;
	bool unloading;

	struct block_device *bdev;
	struct gendisk *disk;

	/* probes: counters of the open interval */
	spinlock_t count_lock;
	struct ra_counts cnt;
	sector_t next_sector;

	/*
	 * the windows in force per kind of access (mlp_ra_windows_pack,
	 * pages, 0: the device's own), read by the probes; one word, so a
	 * probe never sees half a change
	 */
	atomic_t target;
	atomic_t default_kb;
	u64 last_fault_pgoff;		/* under count_lock */
	bool have_touch;		/* under count_lock */
	/*
	 * later_use_credit: pages read around, by slot (ra_lu_slot), and what
	 * became of them; under count_lock.  NULL when the credit is off.
	 */
	u32 *lu_key;
	u8 *lu_tag;
	struct ra_later_use lu;

	/* interval timer */
	struct timer_list timer;
	bool timer_armed;
	/*
	 * resting: in emergency the timer stops and the counting probes return
	 * at once; set by the timer as its last act, cleared by the I/O thread
	 * before it re-arms the timer (ra_wake).
	 */
	bool resting;
	unsigned int emergency_intervals;	/* closed in a row in emergency */
	u64 last_close_ns;
	struct mlp_synth_gate gate;
	struct mlp_synth_rng rng;
	bool block_ml;			/* the block is the model's (not explored) */
	bool cur_scored_as_ml;		/* the open interval applies the model */
	bool cur_explore;
	bool cur_settling;		/* the open interval is not evidence */
	unsigned int block_pos;		/* intervals into the current block */
	u32 cur_kb;			/* the window of the open interval's choice */
	u32 kind_kb[RA_NR_ACCESS];	/* the windows per kind, KiB, 0: the device's (timer) */
	bool kinds_primed;		/* timer: see prime_windows */
	bool last_idle;			/* timer: the interval just closed read nothing */
	struct ra_recent recent;	/* timer: see recent_reader_intervals */
	s32 prev_features[RA_NR_FEATURES];
	unsigned int prev_ctx;
	bool have_prev;
	struct ra_baseline baseline;	/* the default's score per context */
	struct ra_mix mix;		/* eligible evidence per context (timer) */
	unsigned int unseen_noted;	/* contexts reported new in dmesg, bits */
	/* evidence sent per context, [ml][ctx], for the unload summary */
	s64 ev_sum[2][RA_NR_CONTEXTS];
	u32 ev_n[2][RA_NR_CONTEXTS];
	/* ml evidence per context and window applied, for the same summary */
	s64 ev_win_sum[RA_NR_CONTEXTS][RA_NR_CANDIDATES];
	u32 ev_win_n[RA_NR_CONTEXTS][RA_NR_CANDIDATES];
	/*
	 * training samples per context and candidate: the server's buffer,
	 * read at every connection, plus the samples made since; written
	 * under ring_lock, read by the timer without it (a count read old
	 * or new is fine)
	 */
	struct ra_support support;
	struct ra_carry carry;		/* timer and ring_lock: see carry_intervals */
	u32 untried_kb;			/* timer: see ra_best_supported */
	u32 trial_blocks[RA_NR_CONTEXTS][RA_NR_CANDIDATES];	/* timer: trials made, see trial_max_blocks */
	u8 trial_ivs[RA_NR_CONTEXTS][RA_NR_CANDIDATES];	/* timer: see trial_intervals */
	bool support_seeded;		/* I/O thread: read for this connection */
	struct ra_support_parser parser;	/* I/O thread only */
	char *stream_buf;		/* I/O thread only, RA_STREAM_BYTES */
	/* the network's choices per context of the interval it saw */
	u32 chosen[RA_NR_CONTEXTS][RA_NR_CANDIDATES];
	unsigned int last_ctx;

	/* rings to the I/O thread */
	spinlock_t ring_lock;
	s32 samples[RA_SAMPLE_RING][RA_INPUTS + 1];
	unsigned int nr_samples;
	struct ra_fb fb[RA_FB_RING];
	unsigned int fb_head, fb_count;
	s32 newest_features[RA_NR_FEATURES];
	bool have_newest;

	/* the model's choice, KiB; 0 = none yet */
	atomic_t choice_kb;

	/* status */
	atomic64_t intervals, intervals_ml, intervals_explore, intervals_idle;
	atomic64_t intervals_phase_change, intervals_unseen, rests;
	atomic64_t choices_qnet, choices_limited, choices_guarded, trials;
	atomic64_t choices_led, thin_blocks, interval_trials;
	atomic64_t carried_samples, carried_charge, readers_held_up, choices_smaller;
	atomic64_t streams_shrunk;
	atomic_t support_rows;
	atomic64_t samples_dropped, feedback_dropped, feedback_thinned;
	atomic_t last_eff;
	atomic_t probes_attached;

	struct ml_lib_hint hint;		/* I/O thread only */
	struct ml_lib_feedback fbk;
};

static struct ra_subsys ra;

static struct ml_lib_model_options ra_options = {
	.inputs = RA_INPUTS,
	.outputs = 1,
	.scale = RA_SCALE,
};

/* ------------------------------------------------------------------ */
/* status parameters (read-only)                                       */

static u32 ra_window_kb(unsigned int access)
{
	return mlp_ra_window_of((u32)atomic_read(&ra.target), access) * RA_PAGE_KB;
}

static u32 ra_device_kb(void)
{
	return (u32)READ_ONCE(ra.disk->bdi->ra_pages) * RA_PAGE_KB;
}

/*
 * ra_kb: the window the kind of access of the last context seen gets, the
 * device's own in KiB where that is in force (the learning curve plots it)
 */
static int ra_get_target_kb(char *buf, const struct kernel_param *kp)
{
	u32 kb = ra_window_kb(mlp_ra_access_of_context(READ_ONCE(ra.last_ctx)));

	if (!kb && READ_ONCE(ra.disk))
		kb = ra_device_kb();
	return scnprintf(buf, PAGE_SIZE, "%u\n", kb);
}

static const struct kernel_param_ops ra_target_kb_ops = { .set = ml_lib_param_ro_set, .get = ra_get_target_kb };

static int ra_get_kinds_kb(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%u/%u/%u\n", ra_window_kb(RA_ACCESS_SMALL_READ),
			 ra_window_kb(RA_ACCESS_LARGE_READ), ra_window_kb(RA_ACCESS_FAULT));
}

static const struct kernel_param_ops ra_kinds_kb_ops = { .set = ml_lib_param_ro_set, .get = ra_get_kinds_kb };

/* the last closed interval's features, named (mlp_ra_calc.h, enum ra_feature) */
static const char *const ra_feature_names[RA_NR_FEATURES] = {
	"mmap_permil", "tasks", "read_kb_log2", "fault_dist_log2",
	"read_jump_permil", "req_rate_log2", "req_kb_log2", "seq_permil", "waste_log2", "ra_kb_log2",
};

static int ra_get_features(char *buf, const struct kernel_param *kp)
{
	s32 f[RA_NR_FEATURES];
	unsigned int i;
	int n = 0;

	spin_lock_bh(&ra.ring_lock);
	memcpy(f, ra.newest_features, sizeof(f));
	spin_unlock_bh(&ra.ring_lock);
	for (i = 0; i < RA_NR_FEATURES; i++)
		n += scnprintf(buf + n, PAGE_SIZE - n, "%s%s=%d", i ? " " : "",
			       ra_feature_names[i], f[i]);
	return n + scnprintf(buf + n, PAGE_SIZE - n, "\n");
}

static const struct kernel_param_ops ra_features_ops = { .set = ml_lib_param_ro_set, .get = ra_get_features };

ML_LIB_STATUS(mode, ml_lib_mode_ops, ra.model.mode, "mode in force (read-only)");
ML_LIB_STATUS(apply_permil, ml_lib_int_ops, ra.model.apply_permil, "intervals per 1000 that apply the model (read-only)");
ML_LIB_STATUS(connected, ml_lib_int_ops, ra.model.connected, "1 while the model on the mount is usable (read-only)");
ML_LIB_STATUS(last_error, ml_lib_int_ops, ra.model.last_error, "last negative errno of an mlproxy request (read-only)");
ML_LIB_STATUS(ra_kb, ra_target_kb_ops, ra.target, "readahead in force for files on the device, KiB, for the kind of access of the last interval; 0 while resting (read-only)");
ML_LIB_STATUS(kinds_kb, ra_kinds_kb_ops, ra.target, "readahead in force per kind of access: small read()/large read()/mmap faults, KiB; 0 the device's own (read-only)");
ML_LIB_STATUS(default_kb, ml_lib_int_ops, ra.default_kb, "the device's own readahead (the kernel default), KiB (read-only)");
ML_LIB_STATUS(choice_kb, ml_lib_int_ops, ra.choice_kb, "the model's latest choice, KiB, 0 if none (read-only)");
ML_LIB_STATUS(last_efficiency, ml_lib_int_ops, ra.last_eff, "efficiency of the last scored interval, log2(KiB/s) x 1000 (read-only)");
ML_LIB_STATUS(last_features, ra_features_ops, ra, "features of the last closed interval, fixed point x1000; the device-side ones (req_*, seq_permil, waste_log2) only with device_stats=1 (read-only)");
ML_LIB_STATUS(resting, param_ops_bool, ra.resting, "1 while the timer rests in emergency (read-only)");
ML_LIB_STATUS(rests, ml_lib_counter_ops, ra.rests, "times the timer went to rest in emergency (read-only)");
ML_LIB_STATUS(probes_attached, ml_lib_int_ops, ra.probes_attached, "tracepoints and kprobes attached (read-only)");
ML_LIB_STATUS(intervals, ml_lib_counter_ops, ra.intervals, "intervals closed (read-only)");
ML_LIB_STATUS(intervals_ml, ml_lib_counter_ops, ra.intervals_ml, "intervals that applied the model's choice (read-only)");
ML_LIB_STATUS(intervals_explore, ml_lib_counter_ops, ra.intervals_explore, "intervals that explored a random candidate (read-only)");
ML_LIB_STATUS(intervals_idle, ml_lib_counter_ops, ra.intervals_idle, "intervals in which no task read from the device (read-only)");
ML_LIB_STATUS(intervals_phase_change, ml_lib_counter_ops, ra.intervals_phase_change, "scored intervals not reported as evidence because their context differed from the one before (read-only)");
ML_LIB_STATUS(feedback_thinned, ml_lib_counter_ops, ra.feedback_thinned, "ml intervals left out of the evidence to match its mix of contexts to the default's (mix_min_intervals, read-only)");
ML_LIB_STATUS(intervals_unseen, ml_lib_counter_ops, ra.intervals_unseen, "model intervals that ran the default because their context had no default score yet (read-only)");
ML_LIB_STATUS(choices_limited, ml_lib_counter_ops, ra.choices_limited, "choices where the network's best candidate had too few training samples in the context (read-only)");
ML_LIB_STATUS(choices_guarded, ml_lib_counter_ops, ra.choices_guarded, "choices where the network's best candidate trailed the default window in the context's samples (the guard, read-only)");
ML_LIB_STATUS(choices_led, ml_lib_counter_ops, ra.choices_led, "choices where another candidate's samples in the context led those of the network's best (the lead, read-only)");
ML_LIB_STATUS(thin_blocks, ml_lib_counter_ops, ra.thin_blocks, "default blocks in learning that explored a candidate with few samples in the context (thin_samples, read-only)");
ML_LIB_STATUS(trials, ml_lib_counter_ops, ra.trials, "explored blocks that tried the network's best candidate because it had too few samples in the context (read-only)");
ML_LIB_STATUS(interval_trials, ml_lib_counter_ops, ra.interval_trials, "model intervals that tried the network's best candidate because it had too few samples in the context (trial_intervals, read-only)");
ML_LIB_STATUS(carried_samples, ml_lib_counter_ops, ra.carried_samples, "training samples charged with the deficits of the intervals after their context changed (carry_intervals, read-only)");
ML_LIB_STATUS(carried_charge, ml_lib_counter_ops, ra.carried_charge, "the sum of those charges, score units (5000 = the default, read-only)");
ML_LIB_STATUS(readers_held_up, ml_lib_counter_ops, ra.readers_held_up, "readers counted with no bytes in an interval another task read in, having read in one of the recent_reader_intervals before (read-only)");
ML_LIB_STATUS(choices_smaller, ml_lib_counter_ops, ra.choices_smaller, "choices where a smaller candidate predicted within smaller_margin of the best was taken (read-only)");
ML_LIB_STATUS(streams_shrunk, ml_lib_counter_ops, ra.streams_shrunk, "read() calls whose file's stream window was cut down to the window in force (shrink_streams, read-only)");
ML_LIB_STATUS(support_rows, ml_lib_int_ops, ra.support_rows, "rows of the server's training buffer counted at the last connection, -1 before (read-only)");
ML_LIB_STATUS(choices_qnet, ml_lib_counter_ops, ra.choices_qnet, "choices made in the kernel by the integer network (read-only)");
ML_LIB_STATUS(qnet_generation, ml_lib_counter_ops, ra.model.qnet_generation, "weights generation of the integer network in use, -1 if none (read-only)");
ML_LIB_STATUS(qnet_status, ml_lib_int_ops, ra.model.qnet_status, "0, or the negative errno of the last qnet fetch that gave no network (read-only)");
ML_LIB_STATUS(samples_sent, ml_lib_counter_ops, ra.model.cnt.samples_sent, "training samples committed (read-only)");
ML_LIB_STATUS(samples_dropped, ml_lib_counter_ops, ra.samples_dropped, "samples lost to a full ring (read-only)");
ML_LIB_STATUS(feedback_sent, ml_lib_counter_ops, ra.model.cnt.feedback_sent, "feedback writes (read-only)");
ML_LIB_STATUS(recommendations_accepted, ml_lib_counter_ops, ra.model.cnt.recommendations_accepted, "recommendations that passed validation (read-only)");
ML_LIB_STATUS(recommendations_rejected, ml_lib_counter_ops, ra.model.cnt.recommendations_rejected, "recommendations rejected (read-only)");
ML_LIB_STATUS(fallbacks, ml_lib_counter_ops, ra.model.cnt.fallbacks, "switches to emergency because mlproxy failed (read-only)");

/* ------------------------------------------------------------------ */
/* probes: count, and impose the window in force                        */

static bool ra_on_device(const struct address_space *mapping)
{
	const struct inode *host = mapping ? mapping->host : NULL;

	return host && host->i_sb && host->i_sb->s_bdev == ra.bdev;
}

/*
 * Later use (later_use_credit).  The access a task has just started, noted
 * by the kprobe on this CPU: the readahead it triggers adds its pages to
 * the page cache in the same task, so the add tracepoint can tell the
 * pages asked for (first..last, used at once) from those read around, and
 * which kind of access and candidate window read them.  A task moved to
 * another CPU in between finds another note (pid differs): its pages go
 * untagged.
 */
#define RA_LU_BITS		19
#define RA_LU_SLOTS		(1U << RA_LU_BITS)
#define RA_LU_MAX_SPAN		512	/* pages of one read() looked up */

struct ra_access_note {
	const struct address_space *mapping;
	pgoff_t first, last;
	s32 pid;
	u8 tag;
};

static DEFINE_PER_CPU(struct ra_access_note, ra_note);

/* a page's slot in the table and the key that tells it from others there */
static u32 ra_lu_slot(const struct address_space *mapping, pgoff_t index, u32 *key)
{
	u64 h = ((u64)(unsigned long)mapping ^ ((u64)index << 24) ^ index) * GOLDEN_RATIO_64;

	*key = (u32)(h >> 8) | 1;
	return (u32)(h >> (64 - RA_LU_BITS));
}

static void ra_note_access(const struct address_space *mapping, pgoff_t first,
			   pgoff_t last, unsigned int access, unsigned int pages)
{
	struct ra_access_note *note = this_cpu_ptr(&ra_note);

	note->mapping = mapping;
	note->first = first;
	note->last = last;
	note->pid = task_pid_nr(current);
	/* tag 0: the pages it reads around go untagged, uncredited */
	note->tag = !later_use_reads && access != RA_ACCESS_FAULT ? 0 :
		    (u8)mlp_ra_lu_tag(READ_ONCE(ra.last_ctx), access,
				      mlp_ra_candidate_index(pages * RA_PAGE_KB));
}

/* a page's fate, if it is tagged: used or not; the tag is spent; under count_lock */
static void ra_lu_fate(const struct address_space *mapping, pgoff_t index, bool used)
{
	u32 key, slot = ra_lu_slot(mapping, index, &key);

	if (ra.lu_tag[slot] && ra.lu_key[slot] == key) {
		mlp_ra_later_use_fate(&ra.lu, ra.lu_tag[slot], used);
		ra.lu_tag[slot] = 0;
	}
}

/* pages first..last touched by a reader: a tagged one was used; under count_lock */
static void ra_lu_use(const struct address_space *mapping, pgoff_t first, pgoff_t last)
{
	pgoff_t i;

	if (!ra.lu_tag)
		return;
	for (i = first; i <= last && i - first < RA_LU_MAX_SPAN; i++)
		ra_lu_fate(mapping, i, true);
}

static void ra_tp_rq_complete(void *data, struct request *rq, blk_status_t err,
			      unsigned int nr_bytes)
{
	unsigned long flags;

	if (!rq->q || rq->q->disk != ra.disk || req_op(rq) != REQ_OP_READ)
		return;
	spin_lock_irqsave(&ra.count_lock, flags);
	ra.cnt.reqs++;
	ra.cnt.req_bytes += nr_bytes;
	if (blk_rq_pos(rq) == ra.next_sector)
		ra.cnt.seq_reqs++;
	ra.next_sector = blk_rq_pos(rq) + (nr_bytes >> SECTOR_SHIFT);
	spin_unlock_irqrestore(&ra.count_lock, flags);
}

/*
 * A folio added to the page cache: counted with device_stats; with
 * later_use_credit each of its pages that the access did not ask for is
 * tagged, and the task is credited with what such pages were worth so far.
 */
static void ra_tp_page_added(void *data, struct folio *folio)
{
	const struct ra_access_note *note;
	unsigned long flags, n, i;
	u32 permil, key, slot;
	u64 credit = 0;
	pgoff_t index;

	if ((!device_stats && (!ra.lu_tag || READ_ONCE(ra.resting))) ||
	    !ra_on_device(folio->mapping))
		return;
	n = folio_nr_pages(folio);
	spin_lock_irqsave(&ra.count_lock, flags);
	if (device_stats)
		ra.cnt.pages_added += n;
	note = this_cpu_ptr(&ra_note);
	if (ra.lu_tag && !READ_ONCE(ra.resting) && note->tag &&
	    note->mapping == folio->mapping && note->pid == task_pid_nr(current)) {
		permil = mlp_ra_later_use_permil(&ra.lu, note->tag);
		for (i = 0; i < n; i++) {
			index = folio->index + i;
			if (index >= note->first && index <= note->last)
				continue;
			slot = ra_lu_slot(folio->mapping, index, &key);
			ra.lu_key[slot] = key;
			ra.lu_tag[slot] = note->tag;
			credit += permil;
		}
		if (credit)
			mlp_ra_add_task_credit(&ra.cnt, note->pid,
					       div_u64(credit * PAGE_SIZE, 1000));
	}
	spin_unlock_irqrestore(&ra.count_lock, flags);
}

/* a folio leaving the page cache: a tagged page not used by then was not */
static void ra_tp_page_deleted(void *data, struct folio *folio)
{
	unsigned long flags, n, i;

	if (!ra.lu_tag || READ_ONCE(ra.resting) || !ra_on_device(folio->mapping))
		return;
	n = folio_nr_pages(folio);
	spin_lock_irqsave(&ra.count_lock, flags);
	for (i = 0; i < n; i++)
		ra_lu_fate(folio->mapping, folio->index + i, false);
	spin_unlock_irqrestore(&ra.count_lock, flags);
}

/* read() bytes delivered to the current task; jump: not continuing the file's last */
static void ra_count_read(const struct address_space *mapping, loff_t pos, u64 bytes, bool jump)
{
	unsigned long flags;

	spin_lock_irqsave(&ra.count_lock, flags);
	ra_lu_use(mapping, pos >> PAGE_SHIFT, (pos + bytes - 1) >> PAGE_SHIFT);
	ra.cnt.read_bytes += bytes;
	ra.cnt.read_calls++;
	ra.cnt.read_jumps += jump;
	mlp_ra_add_task_bytes(&ra.cnt, task_pid_nr(current), bytes);
	spin_unlock_irqrestore(&ra.count_lock, flags);
}

/*
 * One touch of a mapped page not yet mapped (pgoff: its page in the file),
 * seen at the first attempt of the fault.  With fault-around (the default)
 * every such fault enters filemap_map_pages first, and filemap_fault only
 * when that did not map the page: the second sighting of the same page is
 * the same touch and is not counted again.
 */
static void ra_count_touch(const struct address_space *mapping, u64 pgoff)
{
	unsigned long flags;

	spin_lock_irqsave(&ra.count_lock, flags);
	ra_lu_use(mapping, pgoff, pgoff);
	if (!ra.have_touch || pgoff != ra.last_fault_pgoff) {
		ra.cnt.fault_bytes += PAGE_SIZE;
		if (ra.have_touch)
			mlp_ra_add_fault_distance(&ra.cnt, ra.last_fault_pgoff, pgoff);
		ra.last_fault_pgoff = pgoff;
		ra.have_touch = true;
		mlp_ra_add_task_bytes(&ra.cnt, task_pid_nr(current), PAGE_SIZE);
	}
	spin_unlock_irqrestore(&ra.count_lock, flags);
}

/*
 * The window in force for an access of this kind (enum ra_access): the
 * window chosen for a scan does not serve the mmap lookups or short runs
 * that follow it in the same interval.  0 means the device's own
 * readahead, read afresh (in default intervals and while the timer rests
 * in emergency), so a file the model had widened is put back, a change of
 * read_ahead_kb reaches files already open, and a read_ahead_kb beyond
 * the packed field's 4092 KiB is not clamped.
 */
static unsigned int ra_impose(struct file_ra_state *f_ra, unsigned int access)
{
	unsigned int pages = mlp_ra_window_of((u32)atomic_read(&ra.target), access);

	if (!pages)
		pages = READ_ONCE(ra.disk->bdi->ra_pages);
	if (pages && READ_ONCE(f_ra->ra_pages) != pages)
		WRITE_ONCE(f_ra->ra_pages, pages);
	return pages;
}

/*
 * shrink_streams: the stream's window cut to the cap, unlocked as the
 * kernel's own readers of one file update f_ra.  req_pages is counted as
 * filemap_get_pages counts it for its readahead.
 */
static void ra_shrink_stream(struct file_ra_state *f_ra, unsigned int pages,
			     loff_t pos, size_t want)
{
	u32 req_pages = ((pos + want + PAGE_SIZE - 1) >> PAGE_SHIFT) - (pos >> PAGE_SHIFT);
	u32 cap = mlp_ra_stream_cap(pages, req_pages,
				    READ_ONCE(ra.disk->bdi->io_pages));

	if (READ_ONCE(f_ra->size) <= cap)
		return;
	WRITE_ONCE(f_ra->size, cap);
	if (READ_ONCE(f_ra->async_size) > cap)
		WRITE_ONCE(f_ra->async_size, cap);
	atomic64_inc(&ra.streams_shrunk);
}

/*
 * Every probe is a kprobe at a function's entry, which this kernel serves
 * through ftrace (KPROBES_ON_FTRACE: "[FTRACE]" in the kprobes list, no
 * breakpoint trap).  Round 4 counted read() bytes and faults at the
 * functions' returns with kretprobes, which add a return trampoline and a
 * per-call instance to every call, on any file; round 5 counts at entry
 * (what a read() will deliver, a fault's first attempt), see below.
 * Rounds 1-6 imposed the window in page_cache_sync_ra and
 * page_cache_async_ra, which do not know the size of the read() they
 * serve; since round 7 filemap_read imposes it, before its readahead.
 */

/*
 * filemap_read(struct kiocb *iocb, struct iov_iter *iter, ...): the bytes
 * this read() will deliver, counted as it starts: what it asks for, up to
 * the end of the file.  A read() of a regular file is short only at the
 * end of the file or on an error or signal; a read() is counted in the
 * interval it starts in.  Its size tells its kind (a scan's large calls or
 * small ones), and so the window it gets, also while resting.
 */
static int ra_kp_read_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kiocb *iocb = (struct kiocb *)regs->di;
	struct iov_iter *iter = (struct iov_iter *)regs->si;
	struct address_space *mapping;
	unsigned int access, pages;
	struct inode *inode;
	loff_t size;
	size_t want;
	u64 bytes;

	if (!iocb || !iter || !iocb->ki_filp ||
	    !ra_on_device(iocb->ki_filp->f_mapping))
		return 0;
	mapping = iocb->ki_filp->f_mapping;
	inode = mapping->host;
	size = i_size_read(inode);
	want = iov_iter_count(iter);
	if (iocb->ki_pos >= size || !want)
		return 0;
	bytes = min_t(u64, want, (u64)(size - iocb->ki_pos));
	access = mlp_ra_access_of_read(bytes);
	pages = ra_impose(&iocb->ki_filp->f_ra, access);
	if (shrink_streams && pages)
		ra_shrink_stream(&iocb->ki_filp->f_ra, pages, iocb->ki_pos, want);
	/*
	 * filemap_read sets f_ra.prev_pos to where it stopped, so a read()
	 * that starts there continues the last one (a run of small reads);
	 * random lookups do not.  Read unlocked: a racing reader of the same
	 * file can only misclassify one call.
	 */
	if (READ_ONCE(ra.resting))
		return 0;
	if (ra.lu_tag)
		ra_note_access(mapping, iocb->ki_pos >> PAGE_SHIFT,
			       (iocb->ki_pos + bytes - 1) >> PAGE_SHIFT, access, pages);
	ra_count_read(mapping, iocb->ki_pos, bytes,
		      iocb->ki_pos != READ_ONCE(iocb->ki_filp->f_ra.prev_pos));
	return 0;
}

/*
 * filemap_fault(struct vm_fault *vmf).  A fault that has to read returns
 * VM_FAULT_RETRY once the page is in (it dropped mmap_lock to wait), and
 * its retry is usually served by fault-around (filemap_map_pages), which
 * never calls filemap_fault again.  So a fault is counted at its first
 * attempt and a retry (FAULT_FLAG_TRIED) is not counted again.
 */
static struct file *ra_fault_file(const struct vm_fault *vmf)
{
	struct file *file = vmf && vmf->vma ? vmf->vma->vm_file : NULL;

	return file && ra_on_device(file->f_mapping) ? file : NULL;
}

static int ra_kp_fault_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_fault *vmf = (struct vm_fault *)regs->di;
	struct file *file = ra_fault_file(vmf);
	unsigned int pages;

	if (!file)
		return 0;
	pages = ra_impose(&file->f_ra, RA_ACCESS_FAULT);
	if (READ_ONCE(ra.resting))
		return 0;
	if (ra.lu_tag)
		ra_note_access(file->f_mapping, vmf->pgoff, vmf->pgoff, RA_ACCESS_FAULT, pages);
	if (!(vmf->flags & FAULT_FLAG_TRIED))
		ra_count_touch(file->f_mapping, vmf->pgoff);
	return 0;
}

/*
 * filemap_map_pages(struct vm_fault *vmf, ...): fault-around, entered
 * before filemap_fault by every read fault on a file mapping (unless
 * fault-around is off).  A first attempt whose page an earlier read-around
 * already brought in is served here and never reaches filemap_fault;
 * counting every first attempt here makes every touch of a missing
 * mapping count once, whatever the window: without those served here, a
 * large window, which serves more touches from the cache, looked as if it
 * delivered less (round 3).
 */
static int ra_kp_map_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_fault *vmf = (struct vm_fault *)regs->di;
	struct file *file;

	if (READ_ONCE(ra.resting) || (vmf->flags & FAULT_FLAG_TRIED))
		return 0;
	file = ra_fault_file(vmf);
	if (file)
		ra_count_touch(file->f_mapping, vmf->pgoff);
	return 0;
}

static struct kprobe ra_kp_read = { .symbol_name = "filemap_read", .pre_handler = ra_kp_read_pre };
static struct kprobe ra_kp_fault = { .symbol_name = "filemap_fault", .pre_handler = ra_kp_fault_pre };
static struct kprobe ra_kp_map = { .symbol_name = "filemap_map_pages", .pre_handler = ra_kp_map_pre };

struct ra_tp {
	const char *name;
	void *probe;
	bool for_stats, for_later_use;	/* attached for device_stats, later_use_credit */
	struct tracepoint *tp;
	bool registered;
};

static struct ra_tp ra_tps[] = {
	{ .name = "block_rq_complete", .probe = ra_tp_rq_complete, .for_stats = true },
	{ .name = "mm_filemap_add_to_page_cache", .probe = ra_tp_page_added,
	  .for_stats = true, .for_later_use = true },
	{ .name = "mm_filemap_delete_from_page_cache", .probe = ra_tp_page_deleted,
	  .for_later_use = true },
};

static bool ra_tp_wanted(const struct ra_tp *t)
{
	return (t->for_stats && device_stats) || (t->for_later_use && ra.lu_tag);
}

static void ra_find_tp(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ra_tps); i++)
		if (!ra_tps[i].tp && !strcmp(tp->name, ra_tps[i].name))
			ra_tps[i].tp = tp;
}

static struct kprobe *ra_kprobes[] = {
	&ra_kp_read, &ra_kp_fault, &ra_kp_map,
};

static void ra_detach_tps(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ra_tps); i++) {
		if (ra_tps[i].registered)
			tracepoint_probe_unregister(ra_tps[i].tp, ra_tps[i].probe, NULL);
		ra_tps[i].registered = false;
	}
	tracepoint_synchronize_unregister();
}

static void ra_detach(void)
{
	ra_detach_tps();
	unregister_kprobes(ra_kprobes, ARRAY_SIZE(ra_kprobes));
	atomic_set(&ra.probes_attached, 0);
}

/* the kprobes always; the tracepoints device_stats and later_use_credit want */
static int ra_attach(void)
{
	unsigned int i, tps = 0;
	int err;

	for_each_kernel_tracepoint(ra_find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(ra_tps); i++) {
		if (!ra_tp_wanted(&ra_tps[i]))
			continue;
		if (!ra_tps[i].tp) {
			pr_err("tracepoint %s not found\n", ra_tps[i].name);
			err = -ENOENT;
			goto fail_tp;
		}
		err = tracepoint_probe_register(ra_tps[i].tp, ra_tps[i].probe, NULL);
		if (err) {
			pr_err("tracepoint %s: register failed (%d)\n", ra_tps[i].name, err);
			goto fail_tp;
		}
		ra_tps[i].registered = true;
		tps++;
	}
	err = register_kprobes(ra_kprobes, ARRAY_SIZE(ra_kprobes));
	if (err) {
		pr_err("kprobes on filemap_{read,fault,map_pages} failed (%d)\n", err);
		goto fail_tp;
	}
	atomic_set(&ra.probes_attached, (int)(tps + ARRAY_SIZE(ra_kprobes)));
	return 0;

fail_tp:
	ra_detach_tps();
	return err;
}

/* ------------------------------------------------------------------ */
/* the interval timer: score, record, decide; never waits               */

static bool ra_in_emergency(struct ra_subsys *s)
{
	return atomic_read(&s->model.mode) == ML_LIB_EMERGENCY_MODE;
}

/* Exploration (explored blocks, trials) happens in learning and collaboration only. */
static bool ra_mode_explores(int mode)
{
	return mode == ML_LIB_LEARNING_MODE || mode == ML_LIB_COLLABORATION_MODE;
}

/* Whether context ctx has the default scores its samples and evidence are judged by. */
static bool ra_context_scored(const struct ra_subsys *s, unsigned int ctx)
{
	return s->baseline.n[ctx] >= RA_BASE_MIN;
}

/*
 * The window for the next interval.  A window chosen (by the model, or
 * explored) on the interval just closed becomes the window of that
 * interval's kind of access; the other kinds keep theirs, chosen in
 * earlier intervals of their own kind, so a short phase gets its own
 * window at once.  The default (a default interval, unload, waking) is
 * every kind's window: a default interval is the default for every access,
 * packed as 0 so that the probes read the device's own (any size).
 */
static void ra_set_window(struct ra_subsys *s, u32 kb, bool chosen)
{
	u32 w = mlp_ra_windows_set(s->kind_kb,
				   mlp_ra_access_of_context(s->last_ctx), kb, chosen);

	s->cur_kb = kb;
	atomic_set(&s->target, (int)w);
}

/*
 * The window for an interval that a model block runs at the default only
 * to score its context (ra_model_may_apply): that context's kind goes to
 * the device's own window, and the other kinds keep the model's (round 11).
 * Resetting every kind there, as a default block does, handed the 4 KiB
 * runs of hdd's measured runs back to 128 KiB once a block, in whatever
 * phase, until their context had its scores, which a run of a few seconds
 * never gave it.
 */
static void ra_set_kind_default(struct ra_subsys *s, u32 def_kb)
{
	ra_set_window(s, 0, true);	/* a choice of 0: the device's own, this kind only */
	s->cur_kb = def_kb;		/* what the interval's sample and evidence ran with */
}

/* The window of the next interval, from the block's kind and the choice. */
static void ra_apply_interval(struct ra_subsys *s, u32 kb)
{
	if (s->block_ml && !s->cur_scored_as_ml && !s->cur_explore)
		ra_set_kind_default(s, kb);
	else
		ra_set_window(s, kb, s->cur_scored_as_ml || s->cur_explore);
}

/*
 * Queue an evidence score (rel: relative to the default in the same
 * context, or -1 while that is unknown) and fold a default score into the
 * context's baseline.  Explored and settling intervals are no evidence,
 * and neither is an interval whose context differs from the one before
 * (a phase change): it straddles two phases, and in a model block its
 * window was chosen for the phase that ended.  The CI runs showed such
 * intervals, about one in six of the scan-heavy workload's, as the noisiest
 * of all, and a cost only model blocks paid; the time to finish the work
 * still pays it.  An eligible ml interval is then kept with the share
 * that matches the model's mix of contexts to the default's (struct
 * ra_mix, round 11): dropping boundaries costs a short phase most of its
 * intervals, and the model's gains shorten phases.
 */
static void ra_queue_feedback(struct ra_subsys *s, unsigned int ctx, s32 eff,
			      s32 rel)
{
	struct ra_fb *f;

	if (s->cur_explore || s->cur_settling)
		return;
	if (s->have_prev && ctx != s->prev_ctx) {
		atomic64_inc(&s->intervals_phase_change);
		return;
	}
	if (!s->cur_scored_as_ml)
		mlp_ra_baseline_add(&s->baseline, ctx, eff);
	/*
	 * No evidence in emergency: nothing is applied there, and entering
	 * learning empties both evidence windows anyway (docs/modes.md).
	 */
	if (rel < 0 || ra_in_emergency(s))
		return;
	mlp_ra_mix_add(&s->mix, s->cur_scored_as_ml, ctx);
	if (s->cur_scored_as_ml) {
		u32 keep = mlp_ra_mix_keep_permil(&s->mix, ctx, mix_min_intervals);

		/* no draw when all are kept: the explore draws stay as without the mix */
		if (keep < RA_SCALE && mlp_synth_rand(&s->rng) % RA_SCALE >= keep) {
			atomic64_inc(&s->feedback_thinned);
			return;
		}
	}
	if (s->fb_count >= RA_FB_RING) {
		atomic64_inc(&s->feedback_dropped);
		return;
	}
	f = &s->fb[(s->fb_head + s->fb_count++) % RA_FB_RING];
	f->ml = s->cur_scored_as_ml;
	f->eff = rel;
	s->ev_sum[f->ml][ctx] += rel;
	s->ev_n[f->ml][ctx]++;
	if (f->ml) {
		int w = mlp_ra_candidate_index(s->cur_kb);

		s->ev_win_sum[ctx][w] += rel;
		s->ev_win_n[ctx][w]++;
	}
}

/* what mlp_ra_context()'s bits mean, for dmesg */
static const char *const ra_context_names[RA_NR_CONTEXTS] = {
	"read(), alone, small reads", "mmap, alone, scattered faults",
	"read(), shared, small reads", "mmap, shared, scattered faults",
	"read(), alone, large reads", "mmap, alone, near faults",
	"read(), shared, large reads", "mmap, shared, near faults",
	"read(), alone, small random reads", "-", "read(), shared, small random reads", "-",
	"read(), alone, large random reads", "-", "read(), shared, large random reads", "-",
};

static const char *ra_context_name(unsigned int ctx)
{
	if (shared_read_context && ctx == RA_CTX_SHARED_READ)
		return "read(), shared";
	return ra_context_names[ctx];
}

/* the kinds of access (enum ra_access), for dmesg */
static const char *const ra_access_names[RA_NR_ACCESS] = {
	"small read()", "large read()", "mmap faults"
};

/* Candidates the guard keeps the model from in ctx (round 9; see guard_margin). */
static u32 ra_guarded(struct ra_subsys *s, unsigned int ctx, u32 def_kb)
{
	if (!guard_min_samples)
		return 0;
	return mlp_ra_guarded_mask(&s->support, ctx, def_kb, guard_min_samples,
				   (s32)guard_margin);
}

static s32 ra_mean(s64 sum, u32 n)
{
	return n ? (s32)div_s64(sum, n) : 0;
}

/*
 * dmesg: the mean relative score (RA_REL_BASE = the default, as the
 * training samples; the feedback sent is mlp_ra_evidence() of it) of ml
 * and default evidence per context,
 * and of the ml evidence by the window it ran with (round 5: on cloud the
 * lookups' ml evidence read below the default while the network chose
 * 16 KiB there most of the time; this line tells which windows pulled it)
 */
static void ra_report_evidence(struct ra_subsys *s)
{
	unsigned int c, k;
	s32 mean[2];
	const s64 *ws;
	const u32 *wn;

	for (c = 0; c < RA_NR_CONTEXTS; c++) {
		/* a context the network chose in counts without evidence too */
		if (!s->ev_n[0][c] && !s->ev_n[1][c] &&
		    !memchr_inv(s->chosen[c], 0, sizeof(s->chosen[c])))
			continue;
		for (k = 0; k < 2; k++)
			mean[k] = ra_mean(s->ev_sum[k][c], s->ev_n[k][c]);
		pr_info("evidence context %u (%s): ml %u mean %d, default %u mean %d; chosen 16/128/512/2048: %u/%u/%u/%u; eligible ml %u, kept per mille %u\n",
			c, ra_context_name(c), s->ev_n[1][c], mean[1], s->ev_n[0][c], mean[0],
			s->chosen[c][0], s->chosen[c][1], s->chosen[c][2],
			s->chosen[c][3], s->mix.n[1][c],
			mlp_ra_mix_keep_permil(&s->mix, c, mix_min_intervals));
		ws = s->ev_win_sum[c];
		wn = s->ev_win_n[c];
		pr_info("evidence context %u, ml by window 16/128/512/2048: n %u/%u/%u/%u, mean %d/%d/%d/%d; samples %u/%u/%u/%u, mean %d/%d/%d/%d; guarded 0x%x\n",
			c, wn[0], wn[1], wn[2], wn[3], ra_mean(ws[0], wn[0]),
			ra_mean(ws[1], wn[1]), ra_mean(ws[2], wn[2]),
			ra_mean(ws[3], wn[3]), s->support.n[c][0],
			s->support.n[c][1], s->support.n[c][2], s->support.n[c][3],
			mlp_ra_support_mean(&s->support, c, 0),
			mlp_ra_support_mean(&s->support, c, 1),
			mlp_ra_support_mean(&s->support, c, 2),
			mlp_ra_support_mean(&s->support, c, 3),
			ra_guarded(s, c, ra_device_kb()));
	}
}

static void ra_report_later_use(struct ra_subsys *s)
{
	unsigned int c, a, k, t, n;
	u32 permil[RA_NR_CANDIDATES], fates[RA_NR_CANDIDATES];

	if (!s->lu_tag)
		return;
	for (c = 0; c < RA_NR_CONTEXTS; c++) {
		for (a = 0; a < RA_NR_ACCESS; a++) {
			for (k = 0, n = 0; k < RA_NR_CANDIDATES; k++) {
				t = mlp_ra_lu_tag(c, a, (int)k);
				permil[k] = mlp_ra_later_use_permil(&s->lu, t);
				fates[k] = s->lu.used[t - 1] + s->lu.unused[t - 1];
				n += fates[k];
			}
			if (n)
				pr_info("later use after context %u (%s), %s, read around at 16/128/512/2048: used per mille %u/%u/%u/%u of %u/%u/%u/%u pages\n",
					c, ra_context_name(c), ra_access_names[a], permil[0], permil[1],
					permil[2], permil[3], fates[0], fates[1], fates[2], fates[3]);
		}
	}
}

/* A training sample to the ring for the server; under ring_lock. */
static void ra_push_sample(struct ra_subsys *s, const s32 row[RA_INPUTS + 1])
{
	if (s->nr_samples >= RA_SAMPLE_RING) {
		atomic64_inc(&s->samples_dropped);
		return;
	}
	memcpy(s->samples[s->nr_samples++], row, sizeof(s->samples[0]));
	mlp_ra_support_add(&s->support, row);
}

static void ra_push_carried(void *arg, const s32 row[RA_INPUTS + 1], s32 charge)
{
	struct ra_subsys *s = arg;

	if (charge) {
		atomic64_inc(&s->carried_samples);
		atomic64_add(charge, &s->carried_charge);
	}
	ra_push_sample(s, row);
}

/*
 * The interval just closed, with carry_intervals: a change of context
 * starts the charge of the run's newest samples, and every interval adds
 * its deficit (with carry_net, its surplus as a credit too) to a charge
 * under way.
 */
static void ra_carry_interval(struct ra_subsys *s, s32 rel, unsigned int ctx)
{
	if (s->have_prev && ctx != s->prev_ctx)
		mlp_ra_carry_phase_end(&s->carry, carry_intervals, carry_net,
				       ra_push_carried, s);
	mlp_ra_carry_interval(&s->carry, rel, ra_push_carried, s);
}

/*
 * A training sample pairs the features of the previous interval and the
 * window of this one with this interval's score relative to the default
 * in its context: the network then learns what a window gains over the
 * default for what was just seen, not how fast each phase is.  Settling
 * intervals still consume the previous window's readahead, and across a
 * phase change the features describe another phase (an mmap phase that
 * is followed by a scan would teach "after mmap, 2048 KiB pays"): no
 * sample from either.
 */
static void ra_record(struct ra_subsys *s, const s32 *features, u32 kb,
		      bool scored, s32 eff, unsigned int ctx)
{
	s32 row[RA_INPUTS + 1];
	unsigned int i;
	s32 rel;

	if (!scored || !mlp_ra_relative(&s->baseline, ctx, eff, &rel))
		rel = -1;
	spin_lock(&s->ring_lock);
	if (carry_intervals)
		ra_carry_interval(s, rel, ctx);
	if (s->have_prev && rel >= 0 && !s->cur_settling && ctx == s->prev_ctx) {
		for (i = 0; i < RA_NR_MODEL_FEATURES; i++)
			row[i] = s->prev_features[i];
		row[RA_NR_MODEL_FEATURES] = mlp_ra_log2fx(kb);
		row[RA_INPUTS] = rel;
		if (!carry_intervals)
			ra_push_sample(s, row);
		else
			mlp_ra_carry_sample(&s->carry, row, carry_run_samples,
					    ra_push_carried, s);
	}
	if (scored)
		ra_queue_feedback(s, ctx, eff, rel);
	memcpy(s->newest_features, features, sizeof(s->newest_features));
	s->have_newest = true;
	spin_unlock(&s->ring_lock);
	memcpy(s->prev_features, features, sizeof(s->prev_features));
	s->prev_ctx = ctx;
	s->have_prev = true;
}

static void ra_count_block_interval(struct ra_subsys *s)
{
	if (s->cur_explore)
		atomic64_inc(&s->intervals_explore);
	else if (s->cur_scored_as_ml)
		atomic64_inc(&s->intervals_ml);
}

/*
 * The best candidate the model may choose in context ctx: only those with
 * support_min_samples training samples there, and the default (round 6:
 * the network's prediction for a window never tried in a context is an
 * extrapolation), less those the guard keeps it from (round 9: samples
 * there that trail the default's).  -1: none (a default outside the set).
 * *untried (if not NULL): the network's own best when it lacked support,
 * in KiB, else 0; learning and collaboration try it (ra_start_block).  A
 * guarded best is not tried so: it has its samples, and trying it on every
 * model block would be no bounded share; explored blocks may still reach
 * it (ra_explore_kb).
 */
static int ra_best_supported(struct ra_subsys *s, unsigned int ctx,
			     const s32 *predicted, u32 *untried)
{
	u32 def_kb = ra_device_kb();
	u32 supported = mlp_ra_allowed_mask(&s->support, ctx, def_kb,
					    support_min_samples);
	u32 guarded = ra_guarded(s, ctx, def_kb);
	int i = mlp_ra_best_allowed(predicted, supported & ~guarded);
	int best = mlp_ra_best_candidate(predicted);
	bool lacks = !(supported & (1u << best));
	int lead;

	if (untried)
		*untried = i != best && lacks ? mlp_ra_candidates_kb[best] : 0;
	if (i != best)
		atomic64_inc(lacks ? &s->choices_limited : &s->choices_guarded);
	if (smaller_margin) {
		int smaller = mlp_ra_smaller_within(predicted, supported & ~guarded, i,
						    (s32)smaller_margin);

		if (smaller != i) {
			atomic64_inc(&s->choices_smaller);
			i = smaller;
		}
	}
	lead = mlp_ra_sample_leader(&s->support, ctx, i, supported & ~guarded,
				    lead_min_samples, (s32)guard_margin,
				    (s32)(guard_margin + smaller_margin));
	if (lead >= 0) {
		atomic64_inc(&s->choices_led);
		i = lead;
	}
	return i;
}

/*
 * The integer network's best candidate (index) for context ctx on these
 * model features, as ra_best_supported allows it; -1 for none, -2 when
 * the network could not be evaluated.
 */
static int ra_network_best(struct ra_subsys *s, unsigned int ctx,
			   const s32 *model_features, u32 *untried)
{
	s32 in[RA_INPUTS], out[QNET_MAX_OUTPUTS], predicted[RA_NR_CANDIDATES];
	unsigned int i;

	memcpy(in, model_features, sizeof(s32) * RA_NR_MODEL_FEATURES);
	for (i = 0; i < RA_NR_CANDIDATES; i++) {
		in[RA_NR_MODEL_FEATURES] = mlp_ra_log2fx(mlp_ra_candidates_kb[i]);
		if (ml_model_eval(&s->model, in, out))
			return -2;
		predicted[i] = out[0];
	}
	return ra_best_supported(s, ctx, predicted, untried);
}

/*
 * The model's window for the next interval: the integer network's best
 * candidate for the features just seen, or the latest recommendation.
 * 0 when there is neither.  An interval in which nothing was read
 * (round 21) keeps its kind's window: its features describe no reader,
 * and the network's choice on them set the window of small reads in
 * every pause between phases.
 */
static u32 ra_model_choice_kb(struct ra_subsys *s, const s32 *features)
{
	unsigned int ctx = READ_ONCE(s->last_ctx);
	u32 kb;
	int i;

	if (!use_qnet)
		return (u32)atomic_read(&s->choice_kb);
	if (s->last_idle) {
		kb = s->kind_kb[mlp_ra_access_of_context(ctx)];
		return kb ? kb : ra_device_kb();
	}
	i = ra_network_best(s, ctx, features, &s->untried_kb);
	if (i == -2)
		return (u32)atomic_read(&s->choice_kb);
	if (i < 0)
		return ra_device_kb();
	s->chosen[ctx][i]++;
	kb = mlp_ra_candidates_kb[i];
	atomic_set(&s->choice_kb, (int)kb);
	atomic64_inc(&s->choices_qnet);
	return kb;
}

/*
 * Start every kind of access at the model's window (prime_windows), once
 * per load and after every rest, at the first model interval once the
 * server's training buffer has been counted and the network fetched: for
 * each kind, the network's choice on the newest sample's features of the
 * kind's most sampled context.  Those features are read without the
 * lock the I/O thread writes them under; a read torn between two samples
 * of one context still describes that context.
 */
static void ra_prime_kinds(struct ra_subsys *s)
{
	u32 primed[RA_NR_ACCESS] = { 0 };
	unsigned int k;

	for (k = 0; k < RA_NR_ACCESS; k++) {
		int ctx = mlp_ra_kind_context(&s->support, k);
		int i;

		if (ctx < 0)
			continue;
		i = ra_network_best(s, (unsigned int)ctx, s->support.recent[ctx], NULL);
		if (i == -2)
			return;	/* no network yet (the I/O thread fetches it): next interval */
		if (i >= 0)
			primed[k] = mlp_ra_candidates_kb[i];
	}
	memcpy(s->kind_kb, primed, sizeof(primed));
	s->kinds_primed = true;
	pr_info("windows primed from the training buffer: %s %u KiB, %s %u KiB, %s %u KiB (0: the device's)\n",
		ra_access_names[0], primed[0], ra_access_names[1], primed[1],
		ra_access_names[2], primed[2]);
}

/*
 * Whether a model interval may apply the model: not in a context the
 * default has no score for yet (a phase type not seen since the module
 * loaded, such as one the model was never trained on).  There the
 * interval runs the default and counts as a default interval: the model's
 * evidence could not be judged without that score, and in recommendation
 * no default block would ever give it one.  Once the context has
 * RA_BASE_MIN default scores, the model decides there and its evidence is
 * judged against them, so a model that serves the new phase badly is
 * demoted by the mode policy on that evidence.
 *
 * Round 7: in a context training knows (the server's buffer lets the model
 * choose another window there), the model applies at once and only the
 * last interval of each block runs the default, until the context has its
 * scores: after a reload in recommendation the rule above ran the default
 * through most of a short phase (on cloud the first mmap lookup phase of
 * every measured run).  Until then the model's intervals there are no
 * evidence (mlp_ra_relative has no default to judge them by).
 */
static bool ra_model_may_apply(struct ra_subsys *s)
{
	unsigned int ctx = s->last_ctx;
	bool known;

	if (ra_context_scored(s, ctx))
		return true;
	known = mlp_ra_may_differ(&s->support, ctx, ra_device_kb(),
				  support_min_samples,
				  ra_guarded(s, ctx, ra_device_kb()));
	if (known && s->block_pos + 1 < block_intervals)
		return true;
	atomic64_inc(&s->intervals_unseen);
	if (!known && !(s->unseen_noted & BIT(ctx))) {
		s->unseen_noted |= BIT(ctx);
		pr_info("context %u (%s) not seen before: the default runs there until it has %d scores\n",
			ctx, ra_context_name(ctx), RA_BASE_MIN);
	}
	return false;
}

/* The window of a model block's interval, and whether it is the model's. */
static u32 ra_model_interval_kb(struct ra_subsys *s, u32 def_kb, u32 choice)
{
	if (prime_windows && use_qnet && !s->kinds_primed &&
	    atomic_read(&s->support_rows) > 0)
		ra_prime_kinds(s);
	s->cur_scored_as_ml = choice && ra_model_may_apply(s);
	return s->cur_scored_as_ml ? mlp_ra_clamp_kb(choice) : def_kb;
}

/*
 * The window an explored block tries: in learning the candidate nearest to
 * the choice among those not yet tried here, else a neighbour of the
 * choice.  Untried candidates are tried in learning only: in collaboration
 * half the blocks are the model's and the work is meant to run well, and a
 * context whose phases are too short to give samples keeps its candidates
 * untried, so the costly ones (2048 KiB in cloud's mmap lookups, 7x
 * slower) were tried again and again (a round-7 cloud bench measured in
 * collaboration: lookup-heavy 0.70x).
 */
static u32 ra_explore_kb(struct ra_subsys *s, u32 choice, u32 def_kb,
			 bool learning)
{
	int i = -1;

	if (learning)
		i = mlp_ra_explore_untried(&s->support, s->last_ctx,
					   choice ? choice : def_kb,
					   support_min_samples);
	if (i < 0)
		i = mlp_ra_explore_candidate(choice, mlp_synth_rand(&s->rng));
	return mlp_ra_candidates_kb[i];
}

/*
 * Whether this model block tries the untried best (a trial), counting it:
 * trial_max_blocks, plus one per sample of the candidate in the context
 * (fewer than support_min_samples, or it would not be untried).
 */
static bool ra_may_trial(struct ra_subsys *s)
{
	unsigned int ctx = s->last_ctx;
	int i;

	if (!s->untried_kb)
		return false;
	i = mlp_ra_candidate_index(s->untried_kb);
	if (s->trial_blocks[ctx][i] >= trial_max_blocks + READ_ONCE(s->support.n[ctx][i]))
		return false;
	s->trial_blocks[ctx][i]++;
	return true;
}

/*
 * Whether this model interval tries the network's best, which lacks
 * support in the interval's context (trial_intervals), counting it.  Only
 * in learning and collaboration, and only where the context has its
 * default scores: without them the interval's sample has no score to be
 * recorded with.  An idle interval keeps its kind's window, and untried_kb
 * is then another interval's.
 */
static bool ra_may_try_interval(struct ra_subsys *s)
{
	unsigned int ctx = s->last_ctx;
	int i;

	if (!trial_intervals || !s->untried_kb || s->last_idle ||
	    !ra_context_scored(s, ctx) ||
	    !ra_mode_explores(atomic_read(&s->model.mode)))
		return false;
	i = mlp_ra_candidate_index(s->untried_kb);
	if (s->trial_ivs[ctx][i] >= trial_intervals)
		return false;
	s->trial_ivs[ctx][i]++;
	atomic64_inc(&s->interval_trials);
	return true;
}

/* The window of a model block's interval: an interval trial, or the model's. */
static u32 ra_model_block_kb(struct ra_subsys *s, u32 def_kb, u32 choice)
{
	s->cur_explore = ra_may_try_interval(s);
	if (!s->cur_explore)
		return ra_model_interval_kb(s, def_kb, choice);
	s->cur_scored_as_ml = false;
	return s->untried_kb;
}

/*
 * Whether a default block in learning explores a thin candidate instead
 * (thin_samples), and which: only in a context that has its default
 * scores, or its samples could not be scored.
 */
static bool ra_thin_kb(struct ra_subsys *s, u32 choice, u32 def_kb, u32 *kb)
{
	unsigned int ctx = s->last_ctx;
	int i;

	if (!thin_samples || !ra_context_scored(s, ctx) ||
	    mlp_synth_rand(&s->rng) % 1000 >= thin_permil)
		return false;
	i = mlp_ra_explore_thin(&s->support, ctx, choice ? choice : def_kb,
				thin_samples, ra_guarded(s, ctx, def_kb));
	if (i < 0)
		return false;
	*kb = mlp_ra_candidates_kb[i];
	return true;
}

static void ra_start_block(struct ra_subsys *s, u32 def_kb, const s32 *features)
{
	u32 choice = ra_model_choice_kb(s, features);
	int mode = atomic_read(&s->model.mode);
	bool may_explore = ra_mode_explores(mode);
	u32 kb = def_kb;

	s->cur_scored_as_ml = false;
	s->cur_explore = false;
	s->block_ml = false;
	if (mlp_synth_gate_pass(&s->gate, ml_model_apply_permil(&s->model))) {
		if (may_explore && use_qnet && ra_may_trial(s)) {
			/*
			 * The network prefers a window it has too few samples
			 * of here: try it, as an explored block (no evidence),
			 * so that a right extrapolation (large windows for hdd
			 * scans) costs one block, not minutes of waiting for
			 * exploration to reach it.  Round 7 tried these within
			 * the explored share instead: both warm-ups then
			 * climbed more slowly (hdd: 2048 KiB got 5 samples in
			 * the scans in 300 s, against 118; cloud: 16 KiB 1 in
			 * the lookups) and that was undone.  At most
			 * trial_max_blocks per context and candidate (round 12).
			 */
			kb = s->untried_kb;
			s->cur_explore = true;
			atomic64_inc(&s->trials);
		} else if (may_explore && mlp_synth_rand(&s->rng) % 1000 < explore_permil) {
			kb = ra_explore_kb(s, choice, def_kb,
					   mode == ML_LIB_LEARNING_MODE);
			s->cur_explore = true;
		} else if (choice) {
			s->block_ml = true;
			kb = ra_model_block_kb(s, def_kb, choice);
		}
	} else if (mode == ML_LIB_LEARNING_MODE && ra_thin_kb(s, choice, def_kb, &kb)) {
		s->cur_explore = true;
		atomic64_inc(&s->thin_blocks);
	}
	ra_apply_interval(s, kb);
}

static void ra_decide_next(struct ra_subsys *s, const s32 *features)
{
	u32 def_kb = ra_device_kb();
	u32 kb;

	atomic_set(&s->default_kb, (int)def_kb);
	if (s->block_pos + 1 < block_intervals) {
		/*
		 * Same block: a default block follows the device, an explored
		 * one keeps its candidate, a model block asks the model again
		 * (with the network, for this interval's features).
		 */
		s->block_pos++;
		s->cur_settling = s->block_pos < settle_intervals;
		kb = s->cur_kb;
		if (s->block_ml)
			kb = ra_model_block_kb(s, def_kb,
					       ra_model_choice_kb(s, features));
		else if (!s->cur_explore)
			kb = def_kb;
		ra_apply_interval(s, kb);
		ra_count_block_interval(s);
		return;
	}
	s->block_pos = 0;
	s->cur_settling = settle_intervals > 0;
	ra_start_block(s, def_kb, features);
	ra_count_block_interval(s);
}

/*
 * In emergency nothing is applied: after RA_REST_AFTER intervals at the
 * default (which hand the files being read back to it, as at unload) the
 * timer stops, the counting probes return at once and the window imposed
 * is the device's own (target 0, see ra_impose).  No samples or evidence
 * are made while resting; the default's per-context scores are kept.
 */
#define RA_REST_AFTER	2

static bool ra_may_rest(struct ra_subsys *s)
{
	if (!ra_in_emergency(s)) {
		s->emergency_intervals = 0;
		return false;
	}
	return ++s->emergency_intervals > RA_REST_AFTER;
}

static void ra_rest(struct ra_subsys *s)
{
	atomic_set(&s->target, 0);
	atomic64_inc(&s->rests);
	/* release: the timer's state is complete before the thread may touch it */
	smp_store_release(&s->resting, true);
}

/*
 * The I/O thread, once it has read a mode other than emergency: start the
 * timer again with a fresh interval.  The first interval is settling (the
 * previous window's readahead may still be consumed) and pairs with no
 * interval before it; the next one starts a block.  The timer is not
 * running here: it set resting as its last act and was not re-armed.
 */
static void ra_wake(struct ra_subsys *s)
{
	/* acquire: pairs with ra_rest's release, the timer's last act */
	if (!smp_load_acquire(&s->resting) || ra_in_emergency(s) ||
	    READ_ONCE(s->unloading))
		return;
	spin_lock_irq(&s->count_lock);
	memset(&s->cnt, 0, sizeof(s->cnt));
	s->have_touch = false;
	spin_unlock_irq(&s->count_lock);
	s->have_prev = false;
	/* a charge under way would fall on intervals of after the rest */
	spin_lock_bh(&s->ring_lock);
	memset(&s->carry, 0, sizeof(s->carry));
	spin_unlock_bh(&s->ring_lock);
	memset(&s->recent, 0, sizeof(s->recent));
	s->emergency_intervals = 0;
	s->block_pos = block_intervals - 1;
	s->block_ml = false;
	s->cur_explore = false;
	s->cur_scored_as_ml = false;
	s->cur_settling = true;
	ra_set_window(s, ra_device_kb(), false);
	s->kinds_primed = false;	/* the device's windows again, as at load */
	s->last_close_ns = ktime_get_ns();
	WRITE_ONCE(s->resting, false);
	if (READ_ONCE(s->timer_armed))
		mod_timer(&s->timer, jiffies + msecs_to_jiffies(interval_ms));
}

/* trace_intervals: the interval just closed, before ra_record moves prev_ctx */
static void ra_trace_interval(struct ra_subsys *s, const struct ra_counts *c,
			      u32 dt_ms, bool scored, s32 eff)
{
	unsigned int ctx = s->last_ctx;
	s32 rel = -1;
	u64 credit = 0;
	unsigned int i;

	for (i = 0; i < c->nr_tasks; i++)
		credit += c->task_credit[i];
	if (scored && !mlp_ra_relative(&s->baseline, ctx, eff, &rel))
		rel = -1;
	pr_info("iv ctx=%u prev=%d kinds=0x%x kb=%u blk=%s pos=%u settle=%d dt=%u scored=%d eff=%d rel=%d read=%llu fault=%llu calls=%llu credit=%llu tasks=%u\n",
		ctx, s->have_prev ? (int)s->prev_ctx : -1, atomic_read(&s->target),
		s->cur_kb, s->cur_explore ? "explore" : s->cur_scored_as_ml ? "ml" :
		s->block_ml ? "mldef" : "default", s->block_pos, s->cur_settling,
		dt_ms, scored, eff, rel, c->read_bytes, c->fault_bytes, c->read_calls,
		credit, c->nr_tasks);
}

static void ra_timer_fn(struct timer_list *t)
{
	struct ra_subsys *s = from_timer(s, t, timer);
	u64 now = ktime_get_ns();
	u32 dt_ms = (u32)div_u64(now - s->last_close_ns, NSEC_PER_MSEC);
	struct ra_counts c;
	s32 features[RA_NR_FEATURES];
	s32 eff = 0;
	bool scored;

	spin_lock_irq(&s->count_lock);
	c = s->cnt;
	memset(&s->cnt, 0, sizeof(s->cnt));
	spin_unlock_irq(&s->count_lock);
	s->last_close_ns = now;

	if (recent_reader_intervals)
		atomic64_add(mlp_ra_recent_readers(&s->recent, &c, recent_reader_intervals),
			     &s->readers_held_up);
	mlp_ra_features(&c, dt_ms, s->cur_kb, features);
	scored = slowest_reader_score ? mlp_ra_efficiency_slowest(&c, dt_ms, &eff) :
					mlp_ra_efficiency(&c, dt_ms, &eff);
	if (scored)
		atomic_set(&s->last_eff, eff);
	else
		atomic64_inc(&s->intervals_idle);
	s->last_idle = !scored;
	WRITE_ONCE(s->last_ctx, shared_read_context ? mlp_ra_merge_shared(mlp_ra_context(&c)) :
						      mlp_ra_context(&c));
	if (trace_intervals)
		ra_trace_interval(s, &c, dt_ms, scored, eff);
	ra_record(s, features, s->cur_kb, scored, eff, s->last_ctx);
	atomic64_inc(&s->intervals);

	if (READ_ONCE(s->unloading)) {
		/* hand files back at the kernel default before the probes go */
		ra_set_window(s, ra_device_kb(), false);
	} else if (!ra_may_rest(s)) {
		ra_decide_next(s, features);
	} else {
		ra_rest(s);
		return;		/* not re-armed: ra_wake does that */
	}
	if (READ_ONCE(s->timer_armed))
		mod_timer(&s->timer, jiffies + msecs_to_jiffies(interval_ms));
}

/* ------------------------------------------------------------------ */
/* ml_lib hooks                                                        */

static int ra_extract_dataset(struct ml_lib_model *model, struct ml_lib_dataset *ds)
{
	struct ra_subsys *s = model->parent;
	unsigned int i;

	spin_lock_bh(&s->ring_lock);
	for (i = 0; i < s->nr_samples; i++)
		memcpy(ds->values[i], s->samples[i], sizeof(s->samples[i]));
	ds->nr_samples = s->nr_samples;
	s->nr_samples = 0;
	spin_unlock_bh(&s->ring_lock);
	return 0;
}

/* The answers are predicted efficiencies, one per candidate: keep the best. */
static void ra_apply_recommendation(struct ml_lib_model *model,
				    const struct ml_lib_hint *hint)
{
	struct ra_subsys *s = model->parent;
	s32 predicted[RA_NR_CANDIDATES];
	unsigned int i;
	int best;

	if (!hint || hint->nr_queries != RA_NR_CANDIDATES) {
		atomic_set(&s->choice_kb, 0);
		return;
	}
	for (i = 0; i < RA_NR_CANDIDATES; i++)
		predicted[i] = hint->answers[i][0];
	best = ra_best_supported(s, READ_ONCE(s->last_ctx), predicted, NULL);
	atomic_set(&s->choice_kb, best < 0 ? 0 : (int)mlp_ra_candidates_kb[best]);
}

/* One ml and one default interval score per call, oldest first. */
static void ra_estimate_efficiency(struct ml_lib_model *model,
				   struct ml_lib_feedback *fb)
{
	struct ra_subsys *s = model->parent;
	unsigned int seen = 0;

	spin_lock_bh(&s->ring_lock);
	while (seen < s->fb_count && !(fb->have_ml && fb->have_default)) {
		struct ra_fb *f = &s->fb[(s->fb_head + seen) % RA_FB_RING];
		bool *have = f->ml ? &fb->have_ml : &fb->have_default;

		if (*have)
			break;	/* keep the order: send what we have first */
		*have = true;
		if (f->ml)
			fb->ml_permil = mlp_ra_evidence(f->eff);
		else
			fb->default_permil = mlp_ra_evidence(f->eff);
		seen++;
	}
	s->fb_head = (s->fb_head + seen) % RA_FB_RING;
	s->fb_count -= seen;
	spin_unlock_bh(&s->ring_lock);
}

static void ra_mode_changed(struct ml_lib_model *model, enum ml_lib_system_mode mode)
{
	pr_info("model %s: mode in force is now %s (last efficiency %d)\n",
		model->model_name, ml_lib_mode_name(mode),
		atomic_read(&ra.last_eff));
}

static const struct ml_lib_model_ops ra_ops = {
	.extract_dataset = ra_extract_dataset,
	.apply_recommendation = ra_apply_recommendation,
	.estimate_efficiency = ra_estimate_efficiency,
	.mode_changed = ra_mode_changed,
};

/* ------------------------------------------------------------------ */
/* the I/O kthread                                                     */

/*
 * Without a network: ask for every candidate's predicted efficiency in one
 * recommendation transaction and keep the best.  Return: 0, or a transport
 * error for correct_system_state().
 */
static int ra_recommend(struct ra_subsys *s)
{
	struct ml_lib_model *m = &s->model;
	struct ml_lib_hint *hint = &s->hint;
	unsigned int i, j;
	bool have;
	int err;

	memset(hint, 0, sizeof(*hint));
	spin_lock_bh(&s->ring_lock);
	have = s->have_newest;
	for (i = 0; have && i < RA_NR_CANDIDATES; i++) {
		for (j = 0; j < RA_NR_MODEL_FEATURES; j++)
			hint->queries[i][j] = s->newest_features[j];
		hint->queries[i][RA_NR_MODEL_FEATURES] = mlp_ra_log2fx(mlp_ra_candidates_kb[i]);
	}
	spin_unlock_bh(&s->ring_lock);
	if (!have)
		return 0;
	hint->nr_queries = RA_NR_CANDIDATES;
	hint->min = 0;
	hint->max = RA_EFF_MAX;
	hint->slack = RA_EFF_MAX;
	err = ml_model_preprocess_recommendation(m, hint);
	if (!err) {
		apply_ml_model_recommendation(m, hint);
	} else if (err == -EINVAL || err == -ERANGE) {
		apply_ml_model_recommendation(m, NULL);
		atomic_set(&m->last_error, err);
	} else if (err != -ENODATA) {
		return err;	/* a transport error */
	}
	return 0;
}

static void ra_send_feedback(struct ra_subsys *s)
{
	struct ml_lib_model *m = &s->model;
	unsigned int writes;
	int err;

	for (writes = 0; writes < RA_FB_PER_ROUND; writes++) {
		estimate_ml_model_efficiency(m, &s->fbk);
		if (!s->fbk.have_ml && !s->fbk.have_default)
			break;
		err = ml_model_error_backpropagation(m, &s->fbk);
		if (correct_system_state(m, err))
			return;
	}
}

static int ra_support_consume(void *priv, const char *buf, size_t n)
{
	mlp_ra_support_feed(priv, buf, n);
	return 0;
}

/*
 * Count the server's training buffer (the dataset file, as text) by
 * context and candidate, once per connection: it is where the samples of
 * earlier loads are, so a module reloaded in recommendation, which never
 * explores, still lets the model choose what training has seen.  The
 * samples made since are added as they are made; samples the buffer has
 * dropped since stay counted.  Return: 0, or a transport error.
 */
static int ra_seed_support(struct ra_subsys *s)
{
	struct ra_support_parser *p = &s->parser;
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->sup.merge_shared = shared_read_context;
	n = ml_model_read_stream(&s->model, "dataset", s->stream_buf,
				 RA_STREAM_BYTES, RA_STREAM_MAX,
				 ra_support_consume, p);
	if (n < 0) {
		pr_warn("support: reading the training buffer failed (%zd)\n", n);
		return (int)n;
	}
	mlp_ra_support_end(p);
	spin_lock_bh(&s->ring_lock);
	s->support = p->sup;
	spin_unlock_bh(&s->ring_lock);
	atomic_set(&s->support_rows, (int)p->rows);
	pr_info("support: %u samples counted in the server's training buffer (%zd bytes, %u bad rows)\n",
		p->rows, n, p->bad);
	return 0;
}

static void ra_round(struct ra_subsys *s)
{
	struct ml_lib_model *m = &s->model;
	int err;

	if (!atomic_read(&m->connected)) {
		s->support_seeded = false;
		err = ml_model_connect(m, &ra_options);
		if (correct_system_state(m, err) || err)
			return;
	}
	if (!s->support_seeded) {
		err = ra_seed_support(s);
		if (err && correct_system_state(m, err))
			return;
		s->support_seeded = true;	/* a refused read leaves the counts as they are */
	}
	err = estimate_system_state(m);
	if (err < 0 && correct_system_state(m, err))
		return;
	ra_wake(s);

	err = ml_model_get_dataset(m);
	if (!err)
		err = ml_model_publish_data(m);
	if (correct_system_state(m, err))
		return;
	ml_model_discard_dataset(m);
	/*
	 * In emergency: the mode, and the samples of the intervals before the
	 * rest; evidence queued before it is dropped (entering learning
	 * empties the server's evidence windows anyway).
	 */
	if (ra_in_emergency(s)) {
		spin_lock_bh(&s->ring_lock);
		s->fb_count = 0;
		spin_unlock_bh(&s->ring_lock);
		return;
	}

	/* a rejected network is counted and dropped inside; only transport errors matter */
	err = use_qnet ? ml_model_fetch_qnet(m) : 0;
	if (err && correct_system_state(m, err == -EINVAL || err == -E2BIG ||
					err == -EBADMSG ? 0 : err))
		return;
	/*
	 * A recommendation is asked for only while some blocks may apply it:
	 * in emergency (apply_permil 0) it would be a transaction with the
	 * server every round for a choice nothing uses.
	 */
	if ((!use_qnet || !rcu_access_pointer(m->qnet)) && ml_model_apply_permil(m)) {
		err = ra_recommend(s);
		if (err && correct_system_state(m, err))
			return;
	}
	ra_send_feedback(s);
}

/* connected and in emergency: only the mode is read, emergency_period_ms apart */
static unsigned int ra_period_ms(struct ra_subsys *s)
{
	return atomic_read(&s->model.connected) && ra_in_emergency(s) ?
	       emergency_period_ms : period_ms;
}

static bool ra_should_stop(struct ra_subsys *s)
{
	return READ_ONCE(s->unloading) || kthread_should_stop();
}

static int ra_thread_fn(void *data)
{
	struct ra_subsys *s = data;

	allow_signal(SIGKILL);	/* the watchdog's SIGKILL ends a FUSE wait */
	while (!ra_should_stop(s)) {
		if (signal_pending(current))
			flush_signals(current);
		ra_round(s);
		if (signal_pending(current))
			flush_signals(current);
		wait_event_interruptible_timeout(s->wq, ra_should_stop(s),
						 msecs_to_jiffies(ra_period_ms(s)));
	}
	if (atomic_read(&s->model.connected))
		ml_model_stop(&s->model);
	complete(&s->thread_done);
	for (;;) {
		flush_signals(current);
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* ------------------------------------------------------------------ */
/* load / unload                                                       */

static char *ra_extra_config;

static int __init ra_init(void)
{
	struct ra_subsys *s = &ra;
	struct task_struct *task;
	int err;

	if (interval_ms < 10 || interval_ms > 10000 || period_ms < 20 ||
	    period_ms > 60000 || emergency_period_ms < 20 ||
	    emergency_period_ms > 60000 || timeout_ms < 50 || timeout_ms > 60000 ||
	    explore_permil > 1000 || block_intervals < 1 || block_intervals > 100 ||
	    settle_intervals >= block_intervals || support_min_samples > 100000 ||
	    guard_min_samples > 100000 || guard_margin > 5000 ||
	    mix_min_intervals > 100000 || trial_max_blocks > U8_MAX ||
	    trial_intervals > U8_MAX || carry_intervals > 100 ||
	    !carry_run_samples || carry_run_samples > RA_CARRY_RUN_MAX ||
	    recent_reader_intervals > U8_MAX || smaller_margin > 1000 ||
	    lead_min_samples > 100000 || thin_samples > 100000 || thin_permil > 1000) {
		pr_err("interval_ms 10..10000, period_ms and emergency_period_ms 20..60000, timeout_ms 50..60000, explore_permil and thin_permil 0..1000, block_intervals 1..100, settle_intervals < block_intervals, support_min_samples, guard_min_samples, lead_min_samples, thin_samples and mix_min_intervals 0..100000, guard_margin 0..5000, trial_max_blocks, trial_intervals and recent_reader_intervals 0..255, carry_intervals 0..100, carry_run_samples 1..64, smaller_margin 0..1000\n");
		return -EINVAL;
	}
	if (!mount_path || mount_path[0] != '/' || strlen(mount_path) > PATH_MAX / 2) {
		pr_err("mount_path must be an absolute path\n");
		return -EINVAL;
	}
	/*
	 * novelty_inputs: mlproxy judges whether the situation is new on the
	 * context features only (inputs 0..4), not on the candidate window
	 * (input 5): a known context with a window the model newly prefers
	 * is not a new situation.
	 */
	BUILD_BUG_ON(RA_NR_MODEL_FEATURES != 5);
	ra_extra_config = kasprintf(GFP_KERNEL,
				    "hidden=16\nlearning_rate=0.01\nbatch_size=64\nbuffer_capacity=20000\npromote_dwell_ms=%u\nemergency_cooldown_ms=%u\ndemote_dwell_ms=%u\nnovelty_inputs=0,1,2,3,4\n",
				    promote_dwell_ms, cooldown_ms, demote_dwell_ms);
	if (!ra_extra_config)
		return -ENOMEM;
	ra_options.extra_config = ra_extra_config;
	ra.stream_buf = kmalloc(RA_STREAM_BYTES, GFP_KERNEL);
	if (!ra.stream_buf) {
		err = -ENOMEM;
		goto free_config;
	}
	atomic_set(&ra.support_rows, -1);
	ra.support.merge_shared = shared_read_context;
	if (later_use_credit) {
		ra.lu_key = vzalloc(array_size(RA_LU_SLOTS, sizeof(*ra.lu_key)));
		ra.lu_tag = vzalloc(RA_LU_SLOTS);
		if (!ra.lu_key || !ra.lu_tag) {
			err = -ENOMEM;
			goto free_config;
		}
	}

	s->bdev = blkdev_get_by_path(device, FMODE_READ, NULL);
	if (IS_ERR(s->bdev)) {
		err = PTR_ERR(s->bdev);
		pr_err("device %s: %d\n", device, err);
		goto free_config;
	}
	s->disk = s->bdev->bd_disk;
	spin_lock_init(&s->count_lock);
	spin_lock_init(&s->ring_lock);
	init_completion(&s->thread_done);
	init_waitqueue_head(&s->wq);
	s->rng.state = 0x72616d6c;
	ra_set_window(s, ra_device_kb(), false);
	atomic_set(&s->default_kb, (int)s->cur_kb);

	err = ml_model_create(&s->model, KBUILD_MODNAME, model_name, mount_path,
			      timeout_ms, 30000, &ra_ops, s);
	if (err)
		goto put_bdev;
	err = ra_attach();
	if (err)
		goto destroy;

	s->last_close_ns = ktime_get_ns();
	timer_setup(&s->timer, ra_timer_fn, 0);
	WRITE_ONCE(s->timer_armed, true);
	mod_timer(&s->timer, jiffies + msecs_to_jiffies(interval_ms));

	task = kthread_create(ra_thread_fn, s, "mlp_ra");
	if (IS_ERR(task)) {
		err = PTR_ERR(task);
		goto stop_timer;
	}
	get_task_struct(task);
	s->thread = task;
	ml_model_io_task(&s->model, task);
	wake_up_process(task);
	pr_info("loaded: device %s (%d:%d), readahead %u KiB, candidates 16/128/512/2048 KiB, interval %u ms\n",
		device, MAJOR(s->bdev->bd_dev), MINOR(s->bdev->bd_dev),
		s->cur_kb, interval_ms);
	return 0;

stop_timer:
	WRITE_ONCE(s->timer_armed, false);
	del_timer_sync(&s->timer);
	ra_detach();
destroy:
	ml_model_destroy(&s->model);
put_bdev:
	blkdev_put(s->bdev, FMODE_READ);
free_config:
	vfree(ra.lu_tag);
	vfree(ra.lu_key);
	kfree(ra.stream_buf);
	kfree(ra_extra_config);
	return err;
}

static void __exit ra_exit(void)
{
	struct ra_subsys *s = &ra;
	bool aborted = false;

	WRITE_ONCE(s->unloading, true);
	wake_up(&s->wq);
	while (!wait_for_completion_timeout(&s->thread_done, msecs_to_jiffies(timeout_ms))) {
		if (!aborted && ml_model_io_stuck(&s->model)) {
			pr_warn("unload: mlproxy request stuck, aborting the connection\n");
			aborted = !ml_model_abort_connection(&s->model);
		}
	}
	kthread_stop(s->thread);
	ml_model_io_task(&s->model, NULL);
	put_task_struct(s->thread);

	/* two intervals at the default window restore the files being read */
	msleep(2 * interval_ms + 20);
	WRITE_ONCE(s->timer_armed, false);
	del_timer_sync(&s->timer);
	ra_detach();
	ml_model_destroy(&s->model);
	ra_report_evidence(s);
	ra_report_later_use(s);
	pr_info("unloaded: readahead %u KiB restored, %lld intervals (%lld model, %lld explore, %lld thin blocks), %lld choices led, %lld samples sent, probes left %d\n",
		ra_device_kb(), (long long)atomic64_read(&s->intervals),
		(long long)atomic64_read(&s->intervals_ml),
		(long long)atomic64_read(&s->intervals_explore),
		(long long)atomic64_read(&s->thin_blocks),
		(long long)atomic64_read(&s->choices_led),
		(long long)atomic64_read(&s->model.cnt.samples_sent),
		atomic_read(&s->probes_attached));
	blkdev_put(s->bdev, FMODE_READ);
	vfree(s->lu_tag);
	vfree(s->lu_key);
	kfree(s->stream_buf);
	kfree(ra_extra_config);
}

module_init(ra_init);
module_exit(ra_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Readahead of one block device tuned by an ML model served by mlproxy");
MODULE_AUTHOR("mlproxy developers");
