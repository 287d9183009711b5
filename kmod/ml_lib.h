/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ml_lib: the kernel half of an ML model proxy, after the upstream
 * "Machine Learning (ML) library in Linux kernel" RFC, with mlproxy (a FUSE
 * control filesystem, docs/protocol.md) as its transport.
 *
 * The enum values below cross the interface and keep the upstream numbers.
 *
 * Threading: every function that talks to mlproxy (marked "I/O") must run
 * in the subsystem's one I/O kthread, which must have called
 * allow_signal(SIGKILL).  Such calls may take up to timeout_ms and then
 * fail with -EINTR: the watchdog kills any FUSE request that outlives
 * timeout_ms.  The subsystem's own fast path never calls them; it reads
 * ml_model_apply_permil() and its own RCU-published recommendation.
 */
#ifndef ML_LIB_H
#define ML_LIB_H

#include <linux/atomic.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/types.h>

#include "mlp_qnet.h"

struct task_struct;

enum ml_lib_system_mode {
	ML_LIB_UNKNOWN_MODE,		/* 0: not yet set */
	ML_LIB_EMERGENCY_MODE,		/* 1: default algorithm only */
	ML_LIB_LEARNING_MODE,		/* 2: try on a few operations */
	ML_LIB_COLLABORATION_MODE,	/* 3: about half the operations */
	ML_LIB_RECOMMENDATION_MODE,	/* 4: model replaces the default */
	ML_LIB_MODE_MAX
};

enum {
	ML_LIB_UNKNOWN_MODEL_STATE,	/* 0: allocation */
	ML_LIB_MODEL_CREATED,		/* 1 */
	ML_LIB_MODEL_INITIALIZED,	/* 2 */
	ML_LIB_MODEL_STARTED,		/* 3 */
	ML_LIB_MODEL_RUNNING,		/* 4 */
	ML_LIB_MODEL_STOPPED,		/* 5 */
	ML_LIB_MODEL_SHUTTING_DOWN,	/* 6 */
	ML_LIB_MODEL_STATE_MAX		/* 7: destroyed */
};

enum ml_lib_dataset_type {
	ML_LIB_UNKNOWN_DATASET_TYPE,
	ML_LIB_EMPTY_DATASET,
	ML_LIB_VALUE_DATASET,
	ML_LIB_STRUCTURE_DATASET,
	ML_LIB_MEMORY_STREAM_DATASET,
	ML_LIB_DATASET_TYPE_MAX
};

enum ml_lib_dataset_state {
	ML_LIB_DATASET_UNKNOWN_STATE,
	ML_LIB_DATASET_ALLOCATED,
	ML_LIB_DATASET_CLEAN,
	ML_LIB_DATASET_EXTRACTED_PARTIALLY,
	ML_LIB_DATASET_EXTRACTED_COMPLETELY,
	ML_LIB_DATASET_OBSOLETE,
	ML_LIB_DATASET_EXTRACTION_FAILURE,
	ML_LIB_DATASET_CORRUPTED,
	ML_LIB_DATASET_STATE_MAX
};

#define ML_LIB_MAX_VALUES	16	/* inputs or outputs per sample */
#define ML_LIB_MAX_SAMPLES	128	/* samples per published dataset */
#define ML_LIB_MAX_QUERIES	16	/* input lines per recommendation */

/* Options: what init / re_init send as the model's config. */
struct ml_lib_model_options {
	u16 inputs;
	u16 outputs;
	u32 scale;		/* fixed-point divisor of every value */
	const char *extra_config; /* further key=value lines, or NULL */
};

/*
 * A dataset: nr_samples records of inputs + outputs fixed-point values.
 * The record fields follow upstream; portion_* count bytes of the stream.
 */
struct ml_lib_dataset {
	enum ml_lib_dataset_type type;
	enum ml_lib_dataset_state state;
	size_t allocated_size;
	size_t portion_offset;
	size_t portion_size;
	unsigned int nr_samples;
	s32 values[ML_LIB_MAX_SAMPLES][2 * ML_LIB_MAX_VALUES];
};

/*
 * A recommendation "hint": the subsystem fills the queries, the library
 * fills the answers after validating each value against [min, max] (a value
 * up to slack outside is clamped, anything else rejects the whole hint).
 */
struct ml_lib_hint {
	unsigned int nr_queries;
	s32 queries[ML_LIB_MAX_QUERIES][ML_LIB_MAX_VALUES];
	s32 answers[ML_LIB_MAX_QUERIES][ML_LIB_MAX_VALUES];
	s32 min, max, slack;
	unsigned int nr_clamped;
};

/* Back-propagation feedback: efficiency of ML and default, permil. */
struct ml_lib_feedback {
	bool have_ml, have_default;
	u32 ml_permil, default_permil;
};

struct ml_lib_model;

/* Subsystem hooks (the upstream model ops, reduced to what is used). */
struct ml_lib_model_ops {
	/* fill a dataset with fresh samples (prepare); 0 or -errno */
	int (*extract_dataset)(struct ml_lib_model *model,
			       struct ml_lib_dataset *ds);
	/* take a validated recommendation into use (or drop it: hint NULL) */
	void (*apply_recommendation)(struct ml_lib_model *model,
				     const struct ml_lib_hint *hint);
	/* measure ML versus default since the last call */
	void (*estimate_efficiency)(struct ml_lib_model *model,
				    struct ml_lib_feedback *fb);
	/* the mode in force changed (called from any context, no sleeping) */
	void (*mode_changed)(struct ml_lib_model *model,
			     enum ml_lib_system_mode mode);
};

/* Counters; every one only grows. */
struct ml_lib_counters {
	atomic64_t samples_sent;
	atomic64_t datasets_sent;
	atomic64_t recommendations_accepted;
	atomic64_t recommendations_rejected;
	atomic64_t values_clamped;
	atomic64_t feedback_sent;
	atomic64_t fallbacks;		/* switches into emergency */
	atomic64_t timeouts;		/* requests killed by the watchdog */
	atomic64_t io_errors;
	atomic64_t models_created;	/* mkdir under models/ succeeded */
	atomic64_t reconnects;		/* emergency -> back to mlproxy */
	atomic64_t connection_aborts;	/* FUSE connection aborted on unload */
	atomic64_t qnet_accepted;	/* integer networks validated and published */
	atomic64_t qnet_rejected;	/* integer networks that failed validation */
};

/* An accepted integer network, published to the fast path with RCU. */
struct ml_lib_qnet {
	struct rcu_head rcu;
	struct mlp_qnet net;
};

/*
 * Latency of the module's own recommendation transactions (open, write,
 * read, close of the recommendation file), successful ones, in
 * microseconds.  Written by the I/O thread only; read by status params.
 * log2_us[0] counts those under 1 us, log2_us[i] those in
 * [2^(i-1), 2^i) us, the last one everything from 2^(N-2) us up.  Twenty
 * buckets reach 262 ms, so that a transaction under emulation (qemu TCG,
 * tens of milliseconds) still falls in a bucket of its own.
 */
#define ML_LIB_LATENCY_BUCKETS 20
struct ml_lib_latency {
	atomic64_t count;
	atomic64_t sum_us;
	atomic64_t min_us;
	atomic64_t max_us;
	atomic64_t log2_us[ML_LIB_LATENCY_BUCKETS];
};

struct ml_lib_model {
	atomic_t mode;			/* enum ml_lib_system_mode in force */
	atomic_t state;			/* ML_LIB_MODEL_* */
	atomic_t published_mode;	/* what mlproxy's mode file says */
	atomic_t apply_permil;		/* in force: 0 unless connected */
	atomic_t published_permil;	/* what apply_permil says */
	atomic_t connected;		/* model usable on the mount */
	atomic_t last_error;		/* last negative errno, 0 if none */

	const char *subsystem_name;
	const char *model_name;
	const struct ml_lib_model_ops *ops;
	void *parent;			/* the subsystem's private data */

	struct ml_lib_model_options __rcu *options;
	spinlock_t options_lock;
	struct ml_lib_dataset *dataset;	/* used by the I/O thread only */

	/* mlproxy transport */
	char *mount_path;
	char *path_buf;			/* PATH_MAX scratch, I/O thread only */
	char *io_buf;			/* I/O thread only */
	unsigned int timeout_ms;
	unsigned int abort_after_ms;	/* 0: never abort the connection */
	atomic_t conn_dev;		/* s_dev of the mount last seen alive */

	/* watchdog over the request in flight */
	spinlock_t io_lock;
	struct task_struct *io_task;
	unsigned long io_start;		/* jiffies */
	bool io_inflight;
	bool io_killed;
	bool io_abort_queued;
	struct timer_list watchdog;
	void *abort_work;		/* struct ml_abort_work */
	bool watchdog_armed;

	/* the integer network: written by the I/O thread, read under RCU */
	struct ml_lib_qnet __rcu *qnet;
	u8 *qnet_buf;			/* QNET_MAX_BYTES, I/O thread only */
	u32 qnet_dev;			/* conn_dev it came from, I/O thread only */
	atomic64_t qnet_generation;	/* generation in use, -1 when none */
	atomic_t qnet_status;		/* 0, or -errno of the last fetch that failed */

	struct ml_lib_counters cnt;
	struct ml_lib_latency txn_latency;
	/* fallbacks already reported to mlproxy in feedback, I/O thread only */
	s64 fallbacks_reported;
};

/* lifecycle (upstream operations 1-6) */
int ml_model_create(struct ml_lib_model *model, const char *subsystem_name,
		    const char *model_name, const char *mount_path,
		    unsigned int timeout_ms, unsigned int abort_after_ms,
		    const struct ml_lib_model_ops *ops, void *parent);
int ml_model_init(struct ml_lib_model *model,
		  const struct ml_lib_model_options *options);	/* I/O */
int ml_model_re_init(struct ml_lib_model *model,
		     const struct ml_lib_model_options *options);	/* I/O */
int ml_model_start(struct ml_lib_model *model);			/* I/O */
int ml_model_stop(struct ml_lib_model *model);			/* I/O */
void ml_model_destroy(struct ml_lib_model *model);

/* data, recommendations, efficiency (upstream operations 7-18) */
int get_system_state(struct ml_lib_model *model);
int ml_model_get_dataset(struct ml_lib_model *model);
int ml_model_discard_dataset(struct ml_lib_model *model);
int ml_model_publish_data(struct ml_lib_model *model);		/* I/O */
int ml_model_preprocess_recommendation(struct ml_lib_model *model,
				       struct ml_lib_hint *hint);	/* I/O */
int apply_ml_model_recommendation(struct ml_lib_model *model,
				  const struct ml_lib_hint *hint);
int estimate_system_state(struct ml_lib_model *model);		/* I/O */
int estimate_ml_model_efficiency(struct ml_lib_model *model,
				 struct ml_lib_feedback *fb);
int ml_model_error_backpropagation(struct ml_lib_model *model,
				   const struct ml_lib_feedback *fb);	/* I/O */
int correct_system_state(struct ml_lib_model *model, int err);

/* mlproxy transport helpers */
int ml_model_connect(struct ml_lib_model *model,
		     const struct ml_lib_model_options *options);	/* I/O */
void ml_model_io_task(struct ml_lib_model *model, struct task_struct *task);
bool ml_model_io_stuck(struct ml_lib_model *model);
int ml_model_abort_connection(struct ml_lib_model *model);
const char *ml_lib_mode_name(int mode);
const char *ml_lib_state_name(int state);

/* in-kernel inference from the model's exported integer network */
int ml_model_fetch_qnet(struct ml_lib_model *model);		/* I/O */
ssize_t ml_model_read_stream(struct ml_lib_model *model, const char *leaf,
			     char *buf, size_t len, size_t max_bytes,
			     int (*consume)(void *priv, const char *buf, size_t n),
			     void *priv);			/* I/O */
void ml_model_drop_qnet(struct ml_lib_model *model);
int ml_model_eval(struct ml_lib_model *model, const s32 *in, s32 *out);
int ml_model_qnet_shape(struct ml_lib_model *model, char *buf, size_t len);

/*
 * Read-only status parameters (0444; a write is -EPERM): an atomic64_t
 * counter, an atomic_t integer, an atomic_t mode or state shown as its word.
 */
int ml_lib_param_ro_set(const char *val, const struct kernel_param *kp);
extern const struct kernel_param_ops ml_lib_counter_ops;
extern const struct kernel_param_ops ml_lib_int_ops;
extern const struct kernel_param_ops ml_lib_mode_ops;
extern const struct kernel_param_ops ml_lib_state_ops;

/* Declare a read-only status parameter `name` showing `var` through `ops`. */
#define ML_LIB_STATUS(name, ops, var, desc)			\
	module_param_cb(name, &(ops), &(var), 0444);		\
	MODULE_PARM_DESC(name, desc)

static inline u32 ml_model_apply_permil(struct ml_lib_model *model)
{
	return (u32)atomic_read(&model->apply_permil);
}

#endif /* ML_LIB_H */
