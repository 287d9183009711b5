// SPDX-License-Identifier: GPL-2.0-only
/*
 * mlproxy_kmod: a synthetic kernel subsystem that hosts an ML model proxy
 * (ml_lib.c) and uses mlproxy, a user-space FUSE server, as its model.
 *
 * The subsystem (mlp_synth.h) runs OPS_PER_TICK operations every TICK_MS
 * from a timer.  Each operation picks a setting for a drifting workload
 * feature and its own load: the default algorithm's lagging guess, or, on
 * apply_permil of every 1000 operations, ML: with use_qnet=0 the setting
 * interpolated from the last accepted recommendation table (over the
 * feature, asked at the mean load), with use_qnet=1 the output of the
 * accepted integer network evaluated on both features in the operation's
 * own context (ml_model_eval).  It never waits for user space: the table
 * and the network are RCU pointers and apply_permil an atomic.
 *
 * One kthread does all mlproxy I/O, every period_ms: connect (create, init
 * and start the model, EEXIST = reuse), read the mode in force, publish the
 * (feature -> best setting in hindsight) samples, ask for a recommendation
 * table, validate and clamp it, fetch the integer network `qnet` when its
 * generation moved, and send efficiency feedback.  The ml_lib watchdog
 * bounds every request by timeout_ms.
 *
 * Parameters appear in /sys/module/mlproxy_kmod/parameters/: the first five
 * are set at load time, the rest are read-only status.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/wait.h>

#include "ml_lib.h"
#include "mlp_synth.h"

/*
 * mount_path: where the mlproxy FUSE server is mounted.  The module uses
 * <mount_path>/version and <mount_path>/models/<model_name>/.
 */
static char *mount_path = "/mnt/mlproxy";
module_param(mount_path, charp, 0444);
MODULE_PARM_DESC(mount_path, "mlproxy mount point (default /mnt/mlproxy)");

/*
 * model_name: the model directory under models/, [a-z0-9][a-z0-9_-]{0,63}.
 * Created if missing, reused if it exists.
 */
static char *model_name = "synth";
module_param(model_name, charp, 0444);
MODULE_PARM_DESC(model_name, "model directory name under models/ (default synth)");

/*
 * period_ms: milliseconds between two I/O rounds of the kthread (publish
 * samples, fetch a recommendation, send feedback).  20..60000, default 500.
 */
static unsigned int period_ms = 500;
module_param(period_ms, uint, 0444);
MODULE_PARM_DESC(period_ms, "I/O round period in ms (20..60000, default 500)");

/*
 * timeout_ms: longest a single mlproxy transaction may take.  Past it the
 * watchdog switches to emergency and kills the request.  50..60000, default
 * 2000.
 */
static unsigned int timeout_ms = 2000;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "mlproxy request timeout in ms (50..60000, default 2000)");

/*
 * abort_after_ms: a request the server has taken but never answers cannot
 * be killed; this many ms after timeout_ms the watchdog aborts the FUSE
 * connection (as fusectl's abort file does).  0 = never (then only rmmod
 * aborts it).  Default 30000.
 */
static unsigned int abort_after_ms = 30000;
module_param(abort_after_ms, uint, 0444);
MODULE_PARM_DESC(abort_after_ms, "abort the FUSE connection when a killed request is still stuck this many ms later (0 = only on unload, default 30000)");

/*
 * use_qnet: what operations that apply ML use: 0 = the recommendation
 * table (one FUSE transaction per round, over the feature alone), 1 = the
 * accepted integer network, evaluated per operation on both features.
 * Without an accepted network (or table) they run the default.
 */
static bool use_qnet;
module_param(use_qnet, bool, 0444);
MODULE_PARM_DESC(use_qnet, "ML operations evaluate the in-kernel integer network (1) or interpolate the recommendation table (0, default)");

#define MLP_TICK_MS		10	/* workload timer period */
#define MLP_OPS_PER_TICK	4	/* operations per tick: 400/s */
#define MLP_SAMPLE_EVERY	16	/* one training sample per 16 ops */
#define MLP_SAMPLE_RING		ML_LIB_MAX_SAMPLES
#define MLP_SCALE		1000	/* fixed point: 1000 = 1.0 */
#define MLP_SLACK		500	/* clamp up to this far outside 0..1000 */
#define MLP_INPUTS		2	/* feature, load */
#define MLP_TXN_RING		32	/* recommendation transactions timed */
#define MLP_BENCH_MIN		1000	/* bench_evals accepts 1000..1000000 */
#define MLP_BENCH_MAX		1000000

/* A recommendation table: best setting at features 0, 100, ..., 1000. */
struct mlp_table {
	struct rcu_head rcu;
	s32 setting[SYNTH_TABLE_POINTS];
};

struct mlp_subsys {
	struct ml_lib_model model;
	struct task_struct *thread;
	struct completion thread_done;
	wait_queue_head_t wq;
	bool unloading;

	/* fast path: timer context, protected by lock */
	struct timer_list op_timer;
	bool op_timer_armed;
	struct mlp_table __rcu *table;
	struct mutex table_lock;	/* writers of table */
	spinlock_t lock;
	struct mlp_synth_rng rng;
	struct mlp_synth_default def;
	struct mlp_synth_gate gate;
	u64 op_count;
	u64 ml_ops, ml_eff_sum, def_ops, def_eff_sum, shadow_ops, shadow_eff_sum;
	/* what the table and the network would have scored on every operation */
	u64 table_ops, table_eff_sum, qnet_ops, qnet_eff_sum;
	s32 samples[MLP_SAMPLE_RING][MLP_INPUTS + 1];
	unsigned int nr_samples;

	/* status */
	atomic64_t ops_total;
	atomic64_t recommendations_applied;	/* operations that used ML */
	atomic64_t samples_dropped;
	atomic_t eff_ml_permil;			/* smoothed, -1 = none yet */
	atomic_t eff_default_permil;
	atomic_t eff_permil;			/* what was achieved */
	atomic_t eff_table_permil;		/* the table, scored on every op */
	atomic_t eff_qnet_permil;		/* the network, scored on every op */
	atomic_t feature;

	/* recommendation transactions timed by the I/O thread, for the bench */
	struct mutex bench_lock;
	u32 txn_ns[MLP_TXN_RING];
	unsigned int nr_txn;

	struct ml_lib_hint hint;		/* I/O thread only */
	struct ml_lib_feedback fb;
};

static struct mlp_subsys mlp;

static const struct ml_lib_model_options mlp_options = {
	.inputs = MLP_INPUTS,
	.outputs = 1,
	.scale = MLP_SCALE,
	.extra_config = "hidden=16,16\nlearning_rate=0.01\nbatch_size=32\nbuffer_capacity=4096\n",
};

/* ------------------------------------------------------------------ */
/* read-only status parameters                                         */

ML_LIB_STATUS(mode, ml_lib_mode_ops, mlp.model.mode,
	   "mode in force: emergency|learning|collaboration|recommendation (read-only)");
ML_LIB_STATUS(published_mode, ml_lib_mode_ops, mlp.model.published_mode,
	   "mode mlproxy last published (read-only)");
ML_LIB_STATUS(apply_permil, ml_lib_int_ops, mlp.model.apply_permil,
	   "operations per 1000 that apply the recommendation now (read-only)");
ML_LIB_STATUS(model_state, ml_lib_state_ops, mlp.model.state,
	   "proxy state, as the ml_lib state names (read-only)");
ML_LIB_STATUS(connected, ml_lib_int_ops, mlp.model.connected,
	   "1 while the model on the mount is usable (read-only)");
ML_LIB_STATUS(last_error, ml_lib_int_ops, mlp.model.last_error,
	   "last negative errno of an mlproxy request, 0 after success (read-only)");
ML_LIB_STATUS(samples_sent, ml_lib_counter_ops, mlp.model.cnt.samples_sent,
	   "training samples committed to mlproxy (read-only)");
ML_LIB_STATUS(samples_dropped, ml_lib_counter_ops, mlp.samples_dropped,
	   "samples lost because the ring was full (read-only)");
ML_LIB_STATUS(datasets_sent, ml_lib_counter_ops, mlp.model.cnt.datasets_sent,
	   "dataset batches committed (read-only)");
ML_LIB_STATUS(recommendations_accepted, ml_lib_counter_ops,
	   mlp.model.cnt.recommendations_accepted,
	   "recommendation tables that passed validation (read-only)");
ML_LIB_STATUS(recommendations_rejected, ml_lib_counter_ops,
	   mlp.model.cnt.recommendations_rejected,
	   "recommendation tables rejected as malformed or out of range (read-only)");
ML_LIB_STATUS(recommendations_applied, ml_lib_counter_ops,
	   mlp.recommendations_applied,
	   "operations that applied a recommendation (read-only)");
ML_LIB_STATUS(values_clamped, ml_lib_counter_ops, mlp.model.cnt.values_clamped,
	   "recommended values clamped into range (read-only)");
ML_LIB_STATUS(feedback_sent, ml_lib_counter_ops, mlp.model.cnt.feedback_sent,
	   "feedback writes (read-only)");
ML_LIB_STATUS(fallbacks, ml_lib_counter_ops, mlp.model.cnt.fallbacks,
	   "switches to emergency because mlproxy failed (read-only)");
ML_LIB_STATUS(timeouts, ml_lib_counter_ops, mlp.model.cnt.timeouts,
	   "requests killed by the watchdog after timeout_ms (read-only)");
ML_LIB_STATUS(io_errors, ml_lib_counter_ops, mlp.model.cnt.io_errors,
	   "writes mlproxy refused (EINVAL and the like) (read-only)");
ML_LIB_STATUS(models_created, ml_lib_counter_ops, mlp.model.cnt.models_created,
	   "times the model directory was created (read-only)");
ML_LIB_STATUS(reconnects, ml_lib_counter_ops, mlp.model.cnt.reconnects,
	   "times the proxy (re)connected to mlproxy (read-only)");
ML_LIB_STATUS(connection_aborts, ml_lib_counter_ops,
	   mlp.model.cnt.connection_aborts,
	   "FUSE connections aborted because a request never returned (read-only)");
ML_LIB_STATUS(ops_total, ml_lib_counter_ops, mlp.ops_total,
	   "subsystem operations run (read-only)");
ML_LIB_STATUS(efficiency_ml_permil, ml_lib_int_ops, mlp.eff_ml_permil,
	   "smoothed efficiency of operations that applied ML, -1 if none (read-only)");
ML_LIB_STATUS(efficiency_default_permil, ml_lib_int_ops, mlp.eff_default_permil,
	   "smoothed efficiency of the default algorithm alone, -1 if none (read-only)");
ML_LIB_STATUS(efficiency_permil, ml_lib_int_ops, mlp.eff_permil,
	   "smoothed efficiency the subsystem achieved, -1 if none (read-only)");
ML_LIB_STATUS(feature, ml_lib_int_ops, mlp.feature,
	   "current workload feature, 0..1000 (read-only)");
ML_LIB_STATUS(efficiency_table_permil, ml_lib_int_ops, mlp.eff_table_permil,
	   "smoothed efficiency the recommendation table would reach on every operation, -1 if none (read-only)");
ML_LIB_STATUS(efficiency_qnet_permil, ml_lib_int_ops, mlp.eff_qnet_permil,
	   "smoothed efficiency the integer network would reach on every operation, -1 if none (read-only)");
ML_LIB_STATUS(qnet_accepted, ml_lib_counter_ops, mlp.model.cnt.qnet_accepted,
	   "integer networks validated and taken into use (read-only)");
ML_LIB_STATUS(qnet_rejected, ml_lib_counter_ops, mlp.model.cnt.qnet_rejected,
	   "integer networks rejected by validation (read-only)");
ML_LIB_STATUS(qnet_status, ml_lib_int_ops, mlp.model.qnet_status,
	   "0, or the negative errno of the last qnet fetch that gave no network (read-only)");
ML_LIB_STATUS(qnet_generation, ml_lib_counter_ops, mlp.model.qnet_generation,
	   "generation of the integer network in use, -1 if none (read-only)");

/*
 * The module's own recommendation transactions, as it times them (open to
 * close, successful ones): count, min/avg/max in us and a log2 histogram.
 * Cumulative since load, so a reader can take differences over a window.
 */
static int mlp_get_latency_avg(char *buf, const struct kernel_param *kp)
{
	const struct ml_lib_latency *lat = kp->arg;
	u64 count = atomic64_read(&lat->count);

	return scnprintf(buf, PAGE_SIZE, "%llu\n",
			 count ? div64_u64(atomic64_read(&lat->sum_us), count) : 0);
}

static int mlp_get_latency_log2(char *buf, const struct kernel_param *kp)
{
	const struct ml_lib_latency *lat = kp->arg;
	int i, len = 0;

	for (i = 0; i < ML_LIB_LATENCY_BUCKETS; i++)
		len += scnprintf(buf + len, PAGE_SIZE - len, "%lld%c",
				 (long long)atomic64_read(&lat->log2_us[i]),
				 i == ML_LIB_LATENCY_BUCKETS - 1 ? '\n' : ' ');
	return len;
}

static const struct kernel_param_ops mlp_latency_avg_ops = {
	.set = ml_lib_param_ro_set, .get = mlp_get_latency_avg,
};

static const struct kernel_param_ops mlp_latency_log2_ops = {
	.set = ml_lib_param_ro_set, .get = mlp_get_latency_log2,
};

ML_LIB_STATUS(txn_count, ml_lib_counter_ops, mlp.model.txn_latency.count,
	   "recommendation transactions timed (successful ones) (read-only)");
ML_LIB_STATUS(txn_sum_us, ml_lib_counter_ops, mlp.model.txn_latency.sum_us,
	   "their total time in us, for averages over a window (read-only)");
ML_LIB_STATUS(txn_min_us, ml_lib_counter_ops, mlp.model.txn_latency.min_us,
	   "fastest transaction in us, 0 if none (read-only)");
ML_LIB_STATUS(txn_avg_us, mlp_latency_avg_ops, mlp.model.txn_latency,
	   "mean transaction time in us, 0 if none (read-only)");
ML_LIB_STATUS(txn_max_us, ml_lib_counter_ops, mlp.model.txn_latency.max_us,
	   "slowest transaction in us (read-only)");
ML_LIB_STATUS(txn_log2_us, mlp_latency_log2_ops, mlp.model.txn_latency,
	   "20 counts: under 1 us, then [2^(i-1), 2^i) us for i = 1..18, then 262144 us and up (read-only)");

/* the recommendation table in use: settings at features 0, 100, ..., 1000 */
static int mlp_get_table(char *buf, const struct kernel_param *kp)
{
	struct mlp_table *t;
	int i, len = 0;

	rcu_read_lock();
	t = rcu_dereference(mlp.table);
	if (!t)
		len = scnprintf(buf, PAGE_SIZE, "none\n");
	for (i = 0; t && i < SYNTH_TABLE_POINTS; i++)
		len += scnprintf(buf + len, PAGE_SIZE - len, "%d%c",
				 t->setting[i],
				 i == SYNTH_TABLE_POINTS - 1 ? '\n' : ' ');
	rcu_read_unlock();
	return len;
}

static const struct kernel_param_ops mlp_table_ops = {
	.set = ml_lib_param_ro_set, .get = mlp_get_table,
};

module_param_cb(recommendation, &mlp_table_ops, NULL, 0444);
MODULE_PARM_DESC(recommendation,
		 "recommended settings in use for features 0,100,..,1000, or none (read-only)");

/* ------------------------------------------------------------------ */
/* self-benchmark of in-kernel inference                               */

static char mlp_bench_text[256] = "none\n";	/* under bench_lock */

static int mlp_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* Sort v[0..n) and return its permil-th percentile (n > 0). */
static u32 mlp_percentile(u32 *v, unsigned int n, unsigned int permil)
{
	sort(v, n, sizeof(*v), mlp_cmp_u32, NULL);
	return v[div_u64((u64)(n - 1) * permil, 1000)];
}

/*
 * Time n evaluations of the accepted network, one clock pair around each,
 * in the writer's (process) context; also the clock pair alone, and the
 * recommendation transactions the I/O thread timed lately.
 */
static int mlp_bench_run(struct mlp_subsys *s, unsigned int n)
{
	u32 *ns, txn[MLP_TXN_RING], clock_med, med, p99, txn_med = 0;
	s32 in[MLP_INPUTS], out[1];
	unsigned int i, ntxn;
	char shape[64];
	u64 t0;
	int err = 0;

	ns = kvmalloc_array(n, sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		t0 = ktime_get_ns();
		ns[i] = (u32)min_t(u64, ktime_get_ns() - t0, U32_MAX);
		if (!(i % 4096))
			cond_resched();
	}
	clock_med = mlp_percentile(ns, n, 500);
	for (i = 0; i < n && !err; i++) {
		in[0] = (s32)(i * 7919u % (SYNTH_FEATURE_MAX + 1));
		in[1] = (s32)(i * 104729u % (SYNTH_LOAD_MAX + 1));
		t0 = ktime_get_ns();
		err = ml_model_eval(&s->model, in, out);
		ns[i] = (u32)min_t(u64, ktime_get_ns() - t0, U32_MAX);
		if (!(i % 4096))
			cond_resched();
	}
	if (err) {
		kvfree(ns);
		return err;	/* the network was dropped meanwhile */
	}
	med = mlp_percentile(ns, n, 500);
	p99 = mlp_percentile(ns, n, 990);
	kvfree(ns);
	ml_model_qnet_shape(&s->model, shape, sizeof(shape));

	mutex_lock(&s->bench_lock);
	ntxn = min_t(unsigned int, s->nr_txn, MLP_TXN_RING);
	memcpy(txn, s->txn_ns, sizeof(txn));
	if (ntxn)
		txn_med = mlp_percentile(txn, ntxn, 500);
	scnprintf(mlp_bench_text, sizeof(mlp_bench_text),
		  "net %s evals %u median_ns %u p99_ns %u clock_ns %u txn_samples %u txn_median_ns %u\n",
		  shape, n, med, p99, clock_med, ntxn, txn_med);
	pr_info("bench: %s", mlp_bench_text);
	mutex_unlock(&s->bench_lock);
	return 0;
}

static int mlp_bench_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int err = kstrtouint(val, 0, &n);

	if (err)
		return err;
	if (n < MLP_BENCH_MIN || n > MLP_BENCH_MAX)
		return -EINVAL;
	if (!rcu_access_pointer(mlp.model.qnet))
		return -ENODATA;
	return mlp_bench_run(&mlp, n);
}

static int mlp_bench_get(char *buf, const struct kernel_param *kp)
{
	int n;

	mutex_lock(&mlp.bench_lock);
	n = scnprintf(buf, PAGE_SIZE, "%s", mlp_bench_text);
	mutex_unlock(&mlp.bench_lock);
	return n;
}

static const struct kernel_param_ops mlp_bench_ops = {
	.set = mlp_bench_set, .get = mlp_bench_get,
};

/*
 * bench_evals: write N (1000..1000000) to time N evaluations of the
 * accepted integer network (ENODATA without one); read the last result:
 * network shape, median and p99 ns per call (one clock pair included),
 * the clock pair alone, and the median ns of the last recommendation
 * transactions over FUSE.
 */
module_param_cb(bench_evals, &mlp_bench_ops, NULL, 0644);
MODULE_PARM_DESC(bench_evals,
		 "write N (1000..1000000): time N in-kernel network evaluations; read: the last result");

/* ------------------------------------------------------------------ */
/* the subsystem's own path: never waits, never talks to user space    */

static s32 mlp_clamp_setting(s32 v)
{
	return clamp_t(s32, v, SYNTH_SETTING_MIN, SYNTH_SETTING_MAX);
}

static void mlp_subsys_op(struct mlp_subsys *s, u64 now_ms)
{
	struct mlp_table *t;
	s32 in[MLP_INPUTS], net_out[1];
	s32 f, l, best, def_setting, setting, table_setting = 0;
	u32 eff, def_eff;
	bool use_ml = false, have_table, have_net, gate;

	spin_lock(&s->lock);
	f = mlp_synth_feature(now_ms, &s->rng);
	l = mlp_synth_load(&s->rng);
	best = mlp_synth_best_setting(f, l);
	def_setting = mlp_synth_default_setting(&s->def);
	setting = def_setting;
	rcu_read_lock();
	t = rcu_dereference(s->table);
	have_table = t;
	if (t)
		table_setting = mlp_synth_table_lookup(t->setting, f);
	rcu_read_unlock();
	in[0] = f;
	in[1] = l;
	have_net = !ml_model_eval(&s->model, in, net_out);
	net_out[0] = mlp_clamp_setting(net_out[0]);

	gate = mlp_synth_gate_pass(&s->gate, ml_model_apply_permil(&s->model));
	if (gate && (use_qnet ? have_net : have_table)) {
		setting = use_qnet ? net_out[0] : table_setting;
		use_ml = true;
	}
	if (have_table) {
		s->table_ops++;
		s->table_eff_sum += mlp_synth_efficiency_permil(table_setting, best);
	}
	if (have_net) {
		s->qnet_ops++;
		s->qnet_eff_sum += mlp_synth_efficiency_permil(net_out[0], best);
	}

	eff = mlp_synth_efficiency_permil(setting, best);
	def_eff = mlp_synth_efficiency_permil(def_setting, best);
	if (use_ml) {
		s->ml_ops++;
		s->ml_eff_sum += eff;
		atomic64_inc(&s->recommendations_applied);
	} else {
		s->def_ops++;
		s->def_eff_sum += eff;
	}
	s->shadow_ops++;
	s->shadow_eff_sum += def_eff;

	/* hindsight: now that the operation ran, its best setting is known */
	mlp_synth_default_learn(&s->def, best);
	if (++s->op_count % MLP_SAMPLE_EVERY == 0) {
		if (s->nr_samples < MLP_SAMPLE_RING) {
			s->samples[s->nr_samples][0] = f;
			s->samples[s->nr_samples][1] = l;
			s->samples[s->nr_samples][2] = best;
			s->nr_samples++;
		} else {
			atomic64_inc(&s->samples_dropped);
		}
	}
	spin_unlock(&s->lock);
	atomic_set(&s->feature, f);
	atomic64_inc(&s->ops_total);
}

static void mlp_op_timer_fn(struct timer_list *t)
{
	struct mlp_subsys *s = from_timer(s, t, op_timer);
	u64 now_ms = ktime_to_ms(ktime_get());
	int i;

	for (i = 0; i < MLP_OPS_PER_TICK; i++)
		mlp_subsys_op(s, now_ms);
	if (READ_ONCE(s->op_timer_armed))
		mod_timer(&s->op_timer, jiffies + msecs_to_jiffies(MLP_TICK_MS));
}

/* ------------------------------------------------------------------ */
/* ml_lib hooks                                                        */

static int mlp_extract_dataset(struct ml_lib_model *model,
			       struct ml_lib_dataset *ds)
{
	struct mlp_subsys *s = model->parent;
	unsigned int i;

	spin_lock_bh(&s->lock);
	for (i = 0; i < s->nr_samples; i++)
		memcpy(ds->values[i], s->samples[i], sizeof(s->samples[i]));
	ds->nr_samples = s->nr_samples;
	s->nr_samples = 0;
	spin_unlock_bh(&s->lock);
	return 0;
}

static void mlp_set_table(struct mlp_subsys *s, struct mlp_table *t)
{
	struct mlp_table *old;

	mutex_lock(&s->table_lock);
	old = rcu_replace_pointer(s->table, t, lockdep_is_held(&s->table_lock));
	mutex_unlock(&s->table_lock);
	if (old)
		kfree_rcu(old, rcu);
}

static void mlp_apply_recommendation(struct ml_lib_model *model,
				     const struct ml_lib_hint *hint)
{
	struct mlp_subsys *s = model->parent;
	struct mlp_table *t = NULL;
	unsigned int i;

	if (hint && hint->nr_queries == SYNTH_TABLE_POINTS) {
		t = kmalloc(sizeof(*t), GFP_KERNEL);
		if (t) {
			for (i = 0; i < SYNTH_TABLE_POINTS; i++)
				t->setting[i] = hint->answers[i][0];
		}
	}
	/* NULL (rejected or no memory): operations fall back to the default */
	mlp_set_table(s, t);
}

/* Smooth a per-period value: 3/4 old + 1/4 new; -1 means no value yet. */
static void mlp_smooth(atomic_t *v, u32 sample)
{
	int old = atomic_read(v);

	atomic_set(v, old < 0 ? (int)sample : (3 * old + (int)sample) / 4);
}

static void mlp_estimate_efficiency(struct ml_lib_model *model,
				    struct ml_lib_feedback *fb)
{
	struct mlp_subsys *s = model->parent;
	u64 ml_ops, ml_sum, def_ops, def_sum, sh_ops, sh_sum;
	u64 tb_ops, tb_sum, qn_ops, qn_sum;

	spin_lock_bh(&s->lock);
	ml_ops = s->ml_ops;
	ml_sum = s->ml_eff_sum;
	def_ops = s->def_ops;
	def_sum = s->def_eff_sum;
	sh_ops = s->shadow_ops;
	sh_sum = s->shadow_eff_sum;
	tb_ops = s->table_ops;
	tb_sum = s->table_eff_sum;
	qn_ops = s->qnet_ops;
	qn_sum = s->qnet_eff_sum;
	s->table_ops = 0;
	s->table_eff_sum = 0;
	s->qnet_ops = 0;
	s->qnet_eff_sum = 0;
	s->ml_ops = 0;
	s->ml_eff_sum = 0;
	s->def_ops = 0;
	s->def_eff_sum = 0;
	s->shadow_ops = 0;
	s->shadow_eff_sum = 0;
	spin_unlock_bh(&s->lock);

	if (ml_ops) {
		fb->have_ml = true;
		fb->ml_permil = (u32)div64_u64(ml_sum, ml_ops);
		mlp_smooth(&s->eff_ml_permil, fb->ml_permil);
	}
	if (sh_ops) {
		/*
		 * The default algorithm's efficiency on the same operations:
		 * the synthetic subsystem can score the setting it would have
		 * used even where ML was applied instead.
		 */
		fb->have_default = true;
		fb->default_permil = (u32)div64_u64(sh_sum, sh_ops);
		mlp_smooth(&s->eff_default_permil, fb->default_permil);
	}
	if (tb_ops)
		mlp_smooth(&s->eff_table_permil, (u32)div64_u64(tb_sum, tb_ops));
	if (qn_ops)
		mlp_smooth(&s->eff_qnet_permil, (u32)div64_u64(qn_sum, qn_ops));
	if (ml_ops + def_ops)
		mlp_smooth(&s->eff_permil,
			   (u32)div64_u64(ml_sum + def_sum, ml_ops + def_ops));
}

static void mlp_mode_changed(struct ml_lib_model *model,
			     enum ml_lib_system_mode mode)
{
	pr_info("model %s: mode in force is now %s\n", model->model_name,
		ml_lib_mode_name(mode));
}

static const struct ml_lib_model_ops mlp_ops = {
	.extract_dataset = mlp_extract_dataset,
	.apply_recommendation = mlp_apply_recommendation,
	.estimate_efficiency = mlp_estimate_efficiency,
	.mode_changed = mlp_mode_changed,
};

/* ------------------------------------------------------------------ */
/* the I/O kthread                                                     */

static void mlp_note_txn(struct mlp_subsys *s, u64 ns)
{
	mutex_lock(&s->bench_lock);
	s->txn_ns[s->nr_txn++ % MLP_TXN_RING] = (u32)min_t(u64, ns, U32_MAX);
	mutex_unlock(&s->bench_lock);
}

/* One I/O round.  Returns early when mlproxy is unreachable. */
static void mlp_round(struct mlp_subsys *s)
{
	struct ml_lib_model *m = &s->model;
	struct ml_lib_hint *hint = &s->hint;
	unsigned int i;
	u64 t0;
	int err;

	if (!atomic_read(&m->connected)) {
		err = ml_model_connect(m, &mlp_options);
		if (correct_system_state(m, err))
			return;
		if (err)
			return;
	}

	err = estimate_system_state(m);
	if (err < 0 && correct_system_state(m, err))
		return;

	err = ml_model_get_dataset(m);
	if (!err)
		err = ml_model_publish_data(m);
	if (correct_system_state(m, err))
		return;
	ml_model_discard_dataset(m);

	memset(hint, 0, sizeof(*hint));
	hint->nr_queries = SYNTH_TABLE_POINTS;
	for (i = 0; i < SYNTH_TABLE_POINTS; i++) {
		hint->queries[i][0] = (s32)(i * SYNTH_TABLE_STEP);
		hint->queries[i][1] = SYNTH_LOAD_MEAN;
	}
	hint->min = SYNTH_SETTING_MIN;
	hint->max = SYNTH_SETTING_MAX;
	hint->slack = MLP_SLACK;
	t0 = ktime_get_ns();
	err = ml_model_preprocess_recommendation(m, hint);
	if (!err)
		mlp_note_txn(s, ktime_get_ns() - t0);
	if (!err) {
		apply_ml_model_recommendation(m, hint);
	} else if (err == -EINVAL || err == -ERANGE) {
		/* never apply junk; and drop the older table too */
		apply_ml_model_recommendation(m, NULL);
		atomic_set(&m->last_error, err);
	} else if (err != -ENODATA && correct_system_state(m, err)) {
		return;
	}

	/*
	 * Only a subsystem that uses the network fetches it: the table path
	 * costs no extra transaction.  Rejected files are counted and
	 * dropped inside; only transport errors matter here.
	 */
	err = use_qnet ? ml_model_fetch_qnet(m) : 0;
	if (err && correct_system_state(m, err == -EINVAL || err == -E2BIG ||
					err == -EBADMSG ? 0 : err))
		return;

	estimate_ml_model_efficiency(m, &s->fb);
	err = ml_model_error_backpropagation(m, &s->fb);
	correct_system_state(m, err);
}

static bool mlp_should_stop(struct mlp_subsys *s)
{
	return READ_ONCE(s->unloading) || kthread_should_stop();
}

static int mlp_thread_fn(void *data)
{
	struct mlp_subsys *s = data;

	/* the watchdog's SIGKILL ends a FUSE request wait */
	allow_signal(SIGKILL);
	while (!mlp_should_stop(s)) {
		if (signal_pending(current))
			flush_signals(current);
		mlp_round(s);
		if (signal_pending(current))
			flush_signals(current);
		wait_event_interruptible_timeout(s->wq, mlp_should_stop(s),
						 msecs_to_jiffies(period_ms));
	}
	if (atomic_read(&s->model.connected))
		ml_model_stop(&s->model);
	complete(&s->thread_done);

	/* wait for kthread_stop() */
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

static bool mlp_valid_model_name(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len > 64)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i && (c == '_' || c == '-'))
			continue;
		return false;
	}
	return true;
}

static void mlp_stop_ops(struct mlp_subsys *s)
{
	WRITE_ONCE(s->op_timer_armed, false);
	del_timer_sync(&s->op_timer);
	mlp_set_table(s, NULL);
	rcu_barrier();	/* kfree_rcu of the last table */
}

static int __init mlp_init(void)
{
	struct mlp_subsys *s = &mlp;
	struct task_struct *task;
	int err;

	if (!mlp_valid_model_name(model_name)) {
		pr_err("model_name \"%s\" must match [a-z0-9][a-z0-9_-]{0,63}\n",
		       model_name);
		return -EINVAL;
	}
	if (!mount_path || mount_path[0] != '/' ||
	    strlen(mount_path) > PATH_MAX / 2) {
		pr_err("mount_path must be an absolute path\n");
		return -EINVAL;
	}
	if (period_ms < 20 || period_ms > 60000 || timeout_ms < 50 ||
	    timeout_ms > 60000 || abort_after_ms > 600000) {
		pr_err("period_ms 20..60000, timeout_ms 50..60000, abort_after_ms 0..600000\n");
		return -EINVAL;
	}

	spin_lock_init(&s->lock);
	mutex_init(&s->table_lock);
	mutex_init(&s->bench_lock);
	init_completion(&s->thread_done);
	init_waitqueue_head(&s->wq);
	s->rng.state = 0x6d6c7078;	/* "mlpx" */
	atomic_set(&s->eff_ml_permil, -1);
	atomic_set(&s->eff_default_permil, -1);
	atomic_set(&s->eff_permil, -1);
	atomic_set(&s->eff_table_permil, -1);
	atomic_set(&s->eff_qnet_permil, -1);

	err = ml_model_create(&s->model, KBUILD_MODNAME, model_name, mount_path,
			      timeout_ms, abort_after_ms, &mlp_ops, s);
	if (err)
		return err;

	timer_setup(&s->op_timer, mlp_op_timer_fn, 0);
	WRITE_ONCE(s->op_timer_armed, true);
	mod_timer(&s->op_timer, jiffies + msecs_to_jiffies(MLP_TICK_MS));

	task = kthread_create(mlp_thread_fn, s, "mlproxy_kmod");
	if (IS_ERR(task)) {
		err = PTR_ERR(task);
		mlp_stop_ops(s);
		ml_model_destroy(&s->model);
		return err;
	}
	get_task_struct(task);
	s->thread = task;
	ml_model_io_task(&s->model, task);
	wake_up_process(task);

	pr_info("loaded: model %s on %s, period %u ms, timeout %u ms, mode %s\n",
		model_name, mount_path, period_ms, timeout_ms,
		ml_lib_mode_name(atomic_read(&s->model.mode)));
	return 0;
}

static void __exit mlp_exit(void)
{
	struct mlp_subsys *s = &mlp;
	bool aborted = false;

	WRITE_ONCE(s->unloading, true);
	wake_up(&s->wq);
	/*
	 * The watchdog keeps killing a request that outlives timeout_ms.  One
	 * the server took and never answers cannot be killed: abort the FUSE
	 * connection rather than block rmmod forever.
	 */
	while (!wait_for_completion_timeout(&s->thread_done,
					    msecs_to_jiffies(timeout_ms))) {
		if (!aborted && ml_model_io_stuck(&s->model)) {
			pr_warn("unload: mlproxy request stuck, aborting the connection\n");
			aborted = !ml_model_abort_connection(&s->model);
		}
	}
	kthread_stop(s->thread);
	ml_model_io_task(&s->model, NULL);
	put_task_struct(s->thread);

	mlp_stop_ops(s);
	ml_model_destroy(&s->model);
	pr_info("unloaded: %lld samples sent, %lld recommendations accepted, %lld rejected, %lld fallbacks\n",
		(long long)atomic64_read(&s->model.cnt.samples_sent),
		(long long)atomic64_read(&s->model.cnt.recommendations_accepted),
		(long long)atomic64_read(&s->model.cnt.recommendations_rejected),
		(long long)atomic64_read(&s->model.cnt.fallbacks));
}

module_init(mlp_init);
module_exit(mlp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Synthetic subsystem with an ML model proxy served by mlproxy over FUSE");
MODULE_AUTHOR("mlproxy developers");
