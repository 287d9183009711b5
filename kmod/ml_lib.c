// SPDX-License-Identifier: GPL-2.0-only
/*
 * ml_lib: model proxy lifecycle, dataset publishing, recommendations and
 * feedback over the mlproxy FUSE mount, plus the watchdog that keeps the
 * kernel independent of the user-space server.
 *
 * Files used under <mount>: version, models/<name>/{control, state, config,
 * mode, apply_permil, dataset, recommendation, feedback}.
 *
 * Every mlproxy access is one "transaction" (open, read/write, close) done
 * by the subsystem's I/O kthread between ml_io_begin() and ml_io_end().
 * The watchdog timer looks at the transaction in flight: past timeout_ms it
 * drops the proxy to emergency and sends SIGKILL to the kthread, which ends
 * any FUSE request wait that has not yet reached the server.  A request the
 * server has already taken and then never answers (server frozen) cannot be
 * killed; past abort_after_ms the watchdog aborts that FUSE connection
 * through fusectl, the same as `echo 1 > /sys/fs/fuse/connections/N/abort`.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/sched/signal.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "ml_lib.h"
#include "mlp_wire.h"

#define ML_IO_BUF_BYTES		8192
#define ML_NAME_DEFAULT_SUBSYS	"unknown_subsystem"
#define ML_NAME_DEFAULT_MODEL	"unknown_model"

/*
 * The library's limits must fit the wire's: a sample's values fit a line,
 * the mode and state words cover the enums, the server takes every query
 * of a hint in one write, and a hint's queries (first half of io_buf) and
 * answers (second half) fit however wide their values are.
 */
static_assert(ML_LIB_MAX_VALUES <= MLP_WIRE_MAX_VALUES);
static_assert(ML_LIB_MODE_MAX == MLP_WIRE_NR_MODES);
static_assert(ML_LIB_MODEL_STATE_MAX == MLP_WIRE_NR_STATES);
static_assert(ML_LIB_MAX_QUERIES <= MLP_WIRE_MAX_QUERIES);
static_assert(ML_LIB_MAX_QUERIES * ML_LIB_MAX_VALUES * MLP_WIRE_VALUE_CHARS <=
	      ML_IO_BUF_BYTES / 2);

static struct work_struct *ml_abort_work_of(struct ml_lib_model *model);

/* ------------------------------------------------------------------ */
/* read-only status parameters, shared by every subsystem module         */

/**
 * ml_lib_param_ro_set() - refuse a write to a read-only status parameter
 * @val: the text written
 * @kp: the parameter
 *
 * Context: process context.
 * Return: -EPERM.
 */
int ml_lib_param_ro_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static int ml_lib_get_counter(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%lld\n",
			 (long long)atomic64_read(kp->arg));
}

static int ml_lib_get_int(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%d\n", atomic_read(kp->arg));
}

static int ml_lib_get_mode(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 ml_lib_mode_name(atomic_read(kp->arg)));
}

static int ml_lib_get_state(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 ml_lib_state_name(atomic_read(kp->arg)));
}

const struct kernel_param_ops ml_lib_counter_ops = {
	.set = ml_lib_param_ro_set, .get = ml_lib_get_counter,
};

const struct kernel_param_ops ml_lib_int_ops = {
	.set = ml_lib_param_ro_set, .get = ml_lib_get_int,
};

const struct kernel_param_ops ml_lib_mode_ops = {
	.set = ml_lib_param_ro_set, .get = ml_lib_get_mode,
};

const struct kernel_param_ops ml_lib_state_ops = {
	.set = ml_lib_param_ro_set, .get = ml_lib_get_state,
};

/**
 * ml_lib_mode_name() - the word mlproxy uses for a mode
 * @mode: an enum ml_lib_system_mode value
 *
 * Context: any.
 * Return: "unknown", "emergency", ... as in mlproxy's mode file, or "invalid".
 */
const char *ml_lib_mode_name(int mode)
{
	if (mode < 0 || mode >= (int)mlp_wire_nr_mode_words)
		return "invalid";
	return mlp_wire_mode_words[mode];
}

/**
 * ml_lib_state_name() - the word mlproxy uses for a model state
 * @state: an ML_LIB_MODEL_* value
 *
 * Context: any.
 * Return: "created", "started", ... as in mlproxy's state file, "destroyed"
 * for ML_LIB_MODEL_STATE_MAX, or "invalid".
 */
const char *ml_lib_state_name(int state)
{
	if (state == ML_LIB_MODEL_STATE_MAX)
		return "destroyed";
	if (state < 0 || state >= (int)mlp_wire_nr_state_words)
		return "invalid";
	return mlp_wire_state_words[state];
}

/* ------------------------------------------------------------------ */
/* mode in force                                                       */

static void ml_set_mode(struct ml_lib_model *model, int mode, u32 permil)
{
	int old = atomic_xchg(&model->mode, mode);

	atomic_set(&model->apply_permil, (int)permil);
	if (old != mode && model->ops && model->ops->mode_changed)
		model->ops->mode_changed(model, mode);
}

/* Is err a sign that mlproxy (or our model on it) is gone or stuck? */
static bool ml_err_is_transport(int err)
{
	switch (err) {
	case -ENOTCONN:		/* server died, mount still there */
	case -ECONNABORTED:	/* connection aborted */
	case -ENOENT:		/* no mount, or model removed */
	case -ENODEV:
	case -EINTR:		/* killed by the watchdog */
	case -ERESTARTSYS:
	case -ETIMEDOUT:
	case -EPROTO:		/* not an mlproxy abi 1 mount */
	case -EIO:
	case -ESHUTDOWN:
	case -EBUSY:		/* model shutting down */
	case -EAGAIN:
		return true;
	default:
		return false;
	}
}

/**
 * correct_system_state() - upstream operation 18: correct the mode after a failure
 * @model: the proxy
 * @err: the negative errno an I/O operation returned
 *
 * Transport failures drop the proxy to emergency until ml_model_connect()
 * and estimate_system_state() succeed again; other errors (the server
 * rejected one write) are only counted.
 *
 * Context: any; does not sleep.
 * Return: 1 when the proxy is now disconnected, 0 otherwise.
 */
int correct_system_state(struct ml_lib_model *model, int err)
{
	if (!err)
		return 0;
	atomic_set(&model->last_error, err);
	if (!ml_err_is_transport(err)) {
		atomic64_inc(&model->cnt.io_errors);
		return 0;
	}
	atomic_set(&model->connected, 0);
	if (atomic_read(&model->mode) != ML_LIB_EMERGENCY_MODE) {
		atomic64_inc(&model->cnt.fallbacks);
		pr_warn_ratelimited("model %s: falling back to emergency (error %d)\n",
				    model->model_name, err);
	}
	ml_set_mode(model, ML_LIB_EMERGENCY_MODE, 0);
	return 1;
}

/* ------------------------------------------------------------------ */
/* watchdog                                                            */

static unsigned long ml_watchdog_period(const struct ml_lib_model *model)
{
	unsigned long j = msecs_to_jiffies(model->timeout_ms / 10);

	return j ? j : 1;
}

static void ml_watchdog_fn(struct timer_list *t)
{
	struct ml_lib_model *model = from_timer(model, t, watchdog);
	unsigned long timeout = msecs_to_jiffies(model->timeout_ms);
	unsigned long abort_after = msecs_to_jiffies(model->abort_after_ms);
	bool killed = false, abort = false;

	spin_lock(&model->io_lock);
	if (model->io_inflight && model->io_task &&
	    time_after(jiffies, model->io_start + timeout)) {
		if (!model->io_killed) {
			model->io_killed = true;
			send_sig(SIGKILL, model->io_task, 1);
			killed = true;
		} else if (model->abort_after_ms && !model->io_abort_queued &&
			   time_after(jiffies, model->io_start + timeout + abort_after)) {
			model->io_abort_queued = true;
			abort = true;
		}
	}
	spin_unlock(&model->io_lock);

	if (killed) {
		atomic64_inc(&model->cnt.timeouts);
		pr_warn_ratelimited("model %s: mlproxy request took over %u ms, killed it\n",
				    model->model_name, model->timeout_ms);
		correct_system_state(model, -ETIMEDOUT);
	}
	if (abort)
		queue_work(system_unbound_wq, ml_abort_work_of(model));
	if (READ_ONCE(model->watchdog_armed))
		mod_timer(&model->watchdog, jiffies + ml_watchdog_period(model));
}

static void ml_io_begin(struct ml_lib_model *model)
{
	spin_lock_bh(&model->io_lock);
	model->io_inflight = true;
	model->io_killed = false;
	model->io_abort_queued = false;
	model->io_start = jiffies;
	spin_unlock_bh(&model->io_lock);
}

static void ml_io_end(struct ml_lib_model *model)
{
	spin_lock_bh(&model->io_lock);
	model->io_inflight = false;
	spin_unlock_bh(&model->io_lock);
	/* a SIGKILL from the watchdog must not leak into the next request */
	if (signal_pending(current))
		flush_signals(current);
}

/**
 * ml_model_io_task() - name the task that does all of the proxy's mlproxy I/O
 * @model: the proxy
 * @task: the subsystem's I/O kthread, or NULL once it is gone
 *
 * The watchdog sends SIGKILL to this task when a request outlives
 * timeout_ms, so it must have called allow_signal(SIGKILL).
 *
 * Context: any; does not sleep.
 */
void ml_model_io_task(struct ml_lib_model *model, struct task_struct *task)
{
	spin_lock_bh(&model->io_lock);
	model->io_task = task;
	spin_unlock_bh(&model->io_lock);
}

/**
 * ml_model_io_stuck() - is a request in flight that SIGKILL did not end?
 * @model: the proxy
 *
 * Context: any; does not sleep.
 * Return: true when the watchdog killed the request and it has not returned.
 */
bool ml_model_io_stuck(struct ml_lib_model *model)
{
	bool stuck;

	spin_lock_bh(&model->io_lock);
	stuck = model->io_inflight && model->io_killed;
	spin_unlock_bh(&model->io_lock);
	return stuck;
}

/**
 * ml_model_abort_connection() - abort the FUSE connection of the mount
 * @model: the proxy
 *
 * The last resort for a request the server took and never answers: via a
 * private mount of fusectl, every waiter on the mount gets ENOTCONN, and
 * the server must be remounted.
 *
 * Context: process context; may sleep.
 * Return: 0 or a negative errno.
 */
int ml_model_abort_connection(struct ml_lib_model *model)
{
	struct file_system_type *type;
	struct vfsmount *mnt;
	struct file *f;
	char name[24];
	loff_t pos = 0;
	u32 dev = (u32)atomic_read(&model->conn_dev);
	int err;

	if (!dev)
		return -ENODEV;
	type = get_fs_type("fusectl");
	if (!type)
		return -ENODEV;
	mnt = kern_mount(type);
	module_put(type->owner);
	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	snprintf(name, sizeof(name), "%u/abort", dev);
	f = file_open_root_mnt(mnt, name, O_WRONLY, 0);
	if (IS_ERR(f)) {
		err = PTR_ERR(f);
	} else {
		/*
		 * fusectl's abort file has only a .write method, which
		 * kernel_write() refuses, and it never reads the buffer: any
		 * write aborts the connection.  Call it directly; a kernel that
		 * did read the buffer would fail the copy with EFAULT.
		 */
		ssize_t n = -EINVAL;

		if (f->f_op->write)
			n = f->f_op->write(f, (const char __force __user *)"1",
					   1, &pos);
		err = n < 0 ? (int)n : 0;
		filp_close(f, NULL);
	}
	kern_unmount(mnt);
	if (err) {
		pr_err("model %s: aborting FUSE connection %u failed: %d\n",
		       model->model_name, dev, err);
		return err;
	}
	atomic64_inc(&model->cnt.connection_aborts);
	pr_warn("model %s: mlproxy held a request past timeout; aborted FUSE connection %u\n",
		model->model_name, dev);
	return 0;
}

struct ml_abort_work {
	struct work_struct work;
	struct ml_lib_model *model;
};

static void ml_abort_work_fn(struct work_struct *work)
{
	struct ml_abort_work *aw = container_of(work, struct ml_abort_work, work);

	if (ml_model_io_stuck(aw->model))
		ml_model_abort_connection(aw->model);
}

static struct work_struct *ml_abort_work_of(struct ml_lib_model *model)
{
	return &((struct ml_abort_work *)model->abort_work)->work;
}

/* ------------------------------------------------------------------ */
/* transactions on the mount                                           */

static const char *ml_path(struct ml_lib_model *model, const char *leaf,
			   bool in_model)
{
	if (in_model)
		snprintf(model->path_buf, PATH_MAX, "%s/models/%s/%s",
			 model->mount_path, model->model_name, leaf);
	else
		snprintf(model->path_buf, PATH_MAX, "%s/%s", model->mount_path,
			 leaf);
	return model->path_buf;
}

/* Remember which FUSE connection serves the mount (for the last resort). */
static void ml_note_conn(struct ml_lib_model *model, struct file *f)
{
	struct super_block *sb = file_inode(f)->i_sb;

	if (sb->s_type && sb->s_type->name && !strcmp(sb->s_type->name, "fuse"))
		atomic_set(&model->conn_dev, (int)sb->s_dev);
}

/* Read a whole small file into buf (NUL-terminated); returns its length. */
static ssize_t ml_read(struct ml_lib_model *model, const char *leaf,
		       bool in_model, char *buf, size_t len)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	ml_io_begin(model);
	f = filp_open(ml_path(model, leaf, in_model), O_RDONLY, 0);
	if (IS_ERR(f)) {
		n = PTR_ERR(f);
		goto out;
	}
	if (!in_model)
		ml_note_conn(model, f);
	n = kernel_read(f, buf, len - 1, &pos);
	filp_close(f, NULL);
	if (n >= 0)
		buf[n] = '\0';
out:
	ml_io_end(model);
	return n;
}

/*
 * Write buf to a model file in one write and close it; the close (FUSE
 * flush) is where mlproxy commits a dataset batch, so its error counts.
 */
static int ml_write(struct ml_lib_model *model, const char *leaf,
		    const void *buf, size_t len)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n;
	int err;

	ml_io_begin(model);
	f = filp_open(ml_path(model, leaf, true), O_WRONLY, 0);
	if (IS_ERR(f)) {
		err = PTR_ERR(f);
		goto out;
	}
	n = kernel_write(f, buf, len, &pos);
	err = filp_close(f, NULL);
	if (n < 0)
		err = (int)n;
	else if ((size_t)n != len && !err)
		err = -EIO;
out:
	ml_io_end(model);
	return err;
}

/* One timed transaction into the latency record (I/O thread only). */
static void ml_note_latency(struct ml_lib_latency *lat, u64 us)
{
	unsigned int bucket = min_t(unsigned int, fls64(us),
				    ML_LIB_LATENCY_BUCKETS - 1);

	if (!atomic64_read(&lat->count) || us < (u64)atomic64_read(&lat->min_us))
		atomic64_set(&lat->min_us, us);
	if (us > (u64)atomic64_read(&lat->max_us))
		atomic64_set(&lat->max_us, us);
	atomic64_add(us, &lat->sum_us);
	atomic64_inc(&lat->log2_us[bucket]);
	atomic64_inc(&lat->count);
}

/* The recommendation transaction: write the queries, read the answers. */
static ssize_t ml_transact(struct ml_lib_model *model, const char *leaf,
			   const char *in, size_t inlen, char *out,
			   size_t outlen)
{
	u64 began = ktime_get_ns();
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	ml_io_begin(model);
	f = filp_open(ml_path(model, leaf, true), O_RDWR, 0);
	if (IS_ERR(f)) {
		n = PTR_ERR(f);
		goto out;
	}
	n = kernel_write(f, in, inlen, &pos);
	if (n >= 0 && (size_t)n != inlen)
		n = -EIO;
	if (n >= 0) {
		pos = 0;
		n = kernel_read(f, out, outlen - 1, &pos);
		if (n >= 0)
			out[n] = '\0';
	}
	filp_close(f, NULL);
out:
	ml_io_end(model);
	if (n >= 0)
		ml_note_latency(&model->txn_latency,
				div_u64(ktime_get_ns() - began, NSEC_PER_USEC));
	return n;
}

static int ml_mkdir_model(struct ml_lib_model *model)
{
	struct path parent;
	struct dentry *d;
	int err;

	ml_io_begin(model);
	snprintf(model->path_buf, PATH_MAX, "%s/models/%s", model->mount_path,
		 model->model_name);
	d = kern_path_create(AT_FDCWD, model->path_buf, &parent,
			     LOOKUP_DIRECTORY);
	if (IS_ERR(d)) {
		err = PTR_ERR(d);
		goto out;
	}
	err = vfs_mkdir(mnt_user_ns(parent.mnt), d_inode(parent.dentry), d,
			0755);
	done_path_create(&parent, d);
out:
	ml_io_end(model);
	return err;
}

static int ml_control(struct ml_lib_model *model, const char *verb)
{
	return ml_write(model, "control", verb, strlen(verb));
}

static int ml_read_word(struct ml_lib_model *model, const char *leaf,
			const char *const *words, unsigned int nwords)
{
	ssize_t n = ml_read(model, leaf, true, model->io_buf, ML_IO_BUF_BYTES);
	int word;

	if (n < 0)
		return (int)n;
	word = mlp_wire_parse_word(model->io_buf, n, words, nwords);
	return word < 0 ? -EPROTO : word;
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                           */

/**
 * ml_model_create() - upstream operation 1: set up the proxy object
 * @model: the proxy, zeroed by the caller
 * @subsystem_name: the subsystem's name, or NULL for "unknown_subsystem"
 * @model_name: the model directory's name under models/, or NULL for "unknown_model"
 * @mount_path: where mlproxy is mounted
 * @timeout_ms: the longest any one request to mlproxy may take
 * @abort_after_ms: how long after the timeout a stuck request aborts the
 *	FUSE connection; 0 never aborts
 * @ops: the subsystem's hooks
 * @parent: the subsystem's private data
 *
 * No I/O: loading a module must not wait for user space, so the model
 * directory is created later by the I/O thread (ml_model_connect()).  The
 * mode starts as emergency.
 *
 * Context: process context; may sleep (allocates).
 * Return: 0, -EINVAL for a bad argument, or -ENOMEM.
 */
int ml_model_create(struct ml_lib_model *model, const char *subsystem_name,
		    const char *model_name, const char *mount_path,
		    unsigned int timeout_ms, unsigned int abort_after_ms,
		    const struct ml_lib_model_ops *ops, void *parent)
{
	struct ml_abort_work *aw;

	if (!model || !mount_path || !timeout_ms)
		return -EINVAL;
	memset(model, 0, sizeof(*model));
	model->subsystem_name = subsystem_name ? subsystem_name :
				ML_NAME_DEFAULT_SUBSYS;
	model->model_name = model_name ? model_name : ML_NAME_DEFAULT_MODEL;
	model->ops = ops;
	model->parent = parent;
	model->timeout_ms = timeout_ms;
	model->abort_after_ms = abort_after_ms;
	spin_lock_init(&model->options_lock);
	spin_lock_init(&model->io_lock);

	model->mount_path = kstrdup(mount_path, GFP_KERNEL);
	model->path_buf = kmalloc(PATH_MAX, GFP_KERNEL);
	model->io_buf = kmalloc(ML_IO_BUF_BYTES, GFP_KERNEL);
	model->dataset = kzalloc(sizeof(*model->dataset), GFP_KERNEL);
	aw = kzalloc(sizeof(*aw), GFP_KERNEL);
	if (!model->mount_path || !model->path_buf || !model->io_buf ||
	    !model->dataset || !aw) {
		kfree(aw);
		kfree(model->dataset);
		kfree(model->io_buf);
		kfree(model->path_buf);
		kfree(model->mount_path);
		return -ENOMEM;
	}
	aw->model = model;
	INIT_WORK(&aw->work, ml_abort_work_fn);
	model->abort_work = aw;
	model->dataset->type = ML_LIB_EMPTY_DATASET;
	model->dataset->state = ML_LIB_DATASET_OBSOLETE;

	atomic_set(&model->mode, ML_LIB_EMERGENCY_MODE);
	atomic_set(&model->published_mode, ML_LIB_UNKNOWN_MODE);
	atomic64_set(&model->qnet_generation, -1);
	atomic_set(&model->state, ML_LIB_MODEL_CREATED);

	timer_setup(&model->watchdog, ml_watchdog_fn, 0);
	WRITE_ONCE(model->watchdog_armed, true);
	mod_timer(&model->watchdog, jiffies + ml_watchdog_period(model));
	return 0;
}

static int ml_keep_options(struct ml_lib_model *model,
			   const struct ml_lib_model_options *options);

static int ml_send_config(struct ml_lib_model *model,
			  const struct ml_lib_model_options *options)
{
	int len, err;

	if (!options || !options->inputs || !options->outputs ||
	    options->inputs > ML_LIB_MAX_VALUES ||
	    options->outputs > ML_LIB_MAX_VALUES || !options->scale)
		return -EINVAL;
	len = snprintf(model->io_buf, ML_IO_BUF_BYTES,
		       "inputs=%u\noutputs=%u\nscale=%u\n%s",
		       options->inputs, options->outputs, options->scale,
		       options->extra_config ? options->extra_config : "");
	if (len >= ML_IO_BUF_BYTES)
		return -E2BIG;
	err = ml_write(model, "config", model->io_buf, len);
	if (!err)
		err = ml_control(model, "commit");
	if (err)
		return err;
	return ml_keep_options(model, options);
}

/* Keep the options in force, RCU-swapped as upstream does. */
static int ml_keep_options(struct ml_lib_model *model,
			   const struct ml_lib_model_options *options)
{
	struct ml_lib_model_options *copy, *old;

	copy = kmemdup(options, sizeof(*options), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	spin_lock(&model->options_lock);
	old = rcu_dereference_protected(model->options,
					lockdep_is_held(&model->options_lock));
	rcu_assign_pointer(model->options, copy);
	spin_unlock(&model->options_lock);
	synchronize_rcu();
	kfree(old);
	return 0;
}

/**
 * ml_model_init() - upstream operation 2: send the config, commit it, init
 * @model: the proxy
 * @options: inputs, outputs, scale and further config lines
 *
 * Context: the I/O thread only; bounded by timeout_ms per request.
 * Return: 0 or a negative errno (the server's, or -EINTR on timeout).
 */
int ml_model_init(struct ml_lib_model *model,
		  const struct ml_lib_model_options *options)
{
	int err = ml_send_config(model, options);

	if (!err)
		err = ml_control(model, "init");
	if (!err)
		atomic_set(&model->state, ML_LIB_MODEL_INITIALIZED);
	return err;
}

/**
 * ml_model_re_init() - upstream operation 3: new options for a live model
 * @model: the proxy
 * @options: the new options
 *
 * The state is unchanged.
 *
 * Context: the I/O thread only; bounded by timeout_ms per request.
 * Return: 0 or a negative errno.
 */
int ml_model_re_init(struct ml_lib_model *model,
		     const struct ml_lib_model_options *options)
{
	int err = ml_send_config(model, options);

	return err ? err : ml_control(model, "reinit");
}

/**
 * ml_model_start() - upstream operation 4: start the model (training runs)
 * @model: the proxy
 *
 * Context: the I/O thread only; bounded by timeout_ms.
 * Return: 0 or a negative errno.
 */
int ml_model_start(struct ml_lib_model *model)
{
	int err = ml_control(model, "start");

	if (!err)
		atomic_set(&model->state, ML_LIB_MODEL_STARTED);
	return err;
}

/**
 * ml_model_stop() - upstream operation 5: stop the model (training pauses)
 * @model: the proxy
 *
 * Context: the I/O thread only; bounded by timeout_ms.
 * Return: 0 or a negative errno.
 */
int ml_model_stop(struct ml_lib_model *model)
{
	int err = ml_control(model, "stop");

	if (!err)
		atomic_set(&model->state, ML_LIB_MODEL_STOPPED);
	return err;
}

/**
 * ml_model_destroy() - upstream operation 6: tear the proxy down
 * @model: the proxy; its I/O thread must be gone
 *
 * The model directory on the mount is left in place (with its training)
 * for the next load to reuse; rmdir it to discard it.
 *
 * Context: process context; may sleep (waits for an RCU grace period).
 */
void ml_model_destroy(struct ml_lib_model *model)
{
	struct ml_lib_model_options *options;
	struct ml_abort_work *aw = model->abort_work;

	atomic_set(&model->state, ML_LIB_MODEL_SHUTTING_DOWN);
	WRITE_ONCE(model->watchdog_armed, false);
	del_timer_sync(&model->watchdog);
	cancel_work_sync(&aw->work);
	ml_set_mode(model, ML_LIB_UNKNOWN_MODE, 0);
	ml_model_drop_qnet(model);
	kvfree(model->qnet_buf);

	options = rcu_dereference_protected(model->options, true);
	RCU_INIT_POINTER(model->options, NULL);
	synchronize_rcu();
	kfree(options);
	kfree(aw);
	kfree(model->dataset);
	kfree(model->io_buf);
	kfree(model->path_buf);
	kfree(model->mount_path);
	atomic_set(&model->state, ML_LIB_MODEL_STATE_MAX);
}

/**
 * ml_model_connect() - make sure the model exists on the mount and is started
 * @model: the proxy
 * @options: the options to init a new model with
 *
 * Checks that the mount is mlproxy abi 1, makes the model directory
 * (EEXIST: reuse it), then inits and starts it as its state requires.
 *
 * Context: the I/O thread only; bounded by timeout_ms per request.
 * Return: 0 or a negative errno.
 */
int ml_model_connect(struct ml_lib_model *model,
		     const struct ml_lib_model_options *options)
{
	ssize_t n;
	int state, err;

	n = ml_read(model, "version", false, model->io_buf, ML_IO_BUF_BYTES);
	if (n < 0)
		return (int)n;
	err = mlp_wire_check_version(model->io_buf, n);
	if (err)
		return err;

	err = ml_mkdir_model(model);
	if (!err) {
		atomic64_inc(&model->cnt.models_created);
		pr_info("model %s: created on %s\n", model->model_name,
			model->mount_path);
	} else if (err != -EEXIST) {
		return err;
	}

	state = ml_read_word(model, "state", mlp_wire_state_words,
			     mlp_wire_nr_state_words);
	if (state < 0)
		return state;
	switch (state) {
	case ML_LIB_MODEL_CREATED:
		err = ml_model_init(model, options);
		if (err)
			return err;
		fallthrough;
	case ML_LIB_MODEL_INITIALIZED:
	case ML_LIB_MODEL_STOPPED:
	case ML_LIB_MODEL_STARTED:
	case ML_LIB_MODEL_RUNNING:
		/*
		 * A model reused from an earlier load (or made by hand) was
		 * configured then: assume our options, or publishing and
		 * recommendations would have no widths to work with.
		 */
		if (state != ML_LIB_MODEL_CREATED &&
		    !rcu_access_pointer(model->options)) {
			err = ml_keep_options(model, options);
			if (err)
				return err;
		}
		err = ml_model_start(model);
		break;
	default:
		err = -EAGAIN;	/* shutting down: try again next period */
		break;
	}
	if (err)
		return err;
	/* tell mlproxy data is coming: its state becomes running */
	err = ml_control(model, "prepare_dataset");
	if (err)
		return err;
	atomic_set(&model->state, ML_LIB_MODEL_RUNNING);
	if (!atomic_xchg(&model->connected, 1)) {
		atomic64_inc(&model->cnt.reconnects);
		pr_info("model %s: connected to mlproxy at %s\n",
			model->model_name, model->mount_path);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* state, data, recommendations, feedback                              */

/**
 * get_system_state() - upstream operation 7: the proxy's own state
 * @model: the proxy
 *
 * Context: any.
 * Return: an ML_LIB_MODEL_* value (the subsystem keeps its own state).
 */
int get_system_state(struct ml_lib_model *model)
{
	return atomic_read(&model->state);
}

/**
 * estimate_system_state() - upstream operation 13: put mlproxy's mode in force
 * @model: the proxy
 *
 * Reads the mode and apply_permil mlproxy publishes and puts them in
 * force, unless the proxy is disconnected (then emergency).
 *
 * Context: the I/O thread only; bounded by timeout_ms per request.
 * Return: the mode in force (enum ml_lib_system_mode).
 */
int estimate_system_state(struct ml_lib_model *model)
{
	int mode;
	u32 permil;
	ssize_t n;

	mode = ml_read_word(model, "mode", mlp_wire_mode_words,
			    mlp_wire_nr_mode_words);
	if (mode < 0)
		return mode;
	if (mode == ML_LIB_UNKNOWN_MODE)
		return -EPROTO;
	n = ml_read(model, "apply_permil", true, model->io_buf,
		    ML_IO_BUF_BYTES);
	if (n < 0)
		return (int)n;
	if (mlp_wire_parse_u32(model->io_buf, n, 1000, &permil))
		return -EPROTO;
	atomic_set(&model->published_mode, mode);
	atomic_set(&model->published_permil, (int)permil);
	if (!atomic_read(&model->connected))
		return ML_LIB_EMERGENCY_MODE;
	ml_set_mode(model, mode, mode == ML_LIB_EMERGENCY_MODE ? 0 : permil);
	atomic_set(&model->last_error, 0);
	return mode;
}

/**
 * ml_model_get_dataset() - upstream operation 8: prepare a dataset
 * @model: the proxy
 *
 * Idempotent while the current dataset is clean (not yet published);
 * otherwise the subsystem's extract_dataset hook fills a new one.
 *
 * Context: the I/O thread (the dataset belongs to it); no mlproxy I/O.
 * Return: 0 or the hook's negative errno.
 */
int ml_model_get_dataset(struct ml_lib_model *model)
{
	struct ml_lib_dataset *ds = model->dataset;
	int err;

	if (ds->state == ML_LIB_DATASET_CLEAN ||
	    ds->state == ML_LIB_DATASET_EXTRACTED_PARTIALLY)
		return 0;
	if (!model->ops || !model->ops->extract_dataset)
		return -EOPNOTSUPP;
	ds->nr_samples = 0;
	ds->state = ML_LIB_DATASET_ALLOCATED;
	err = model->ops->extract_dataset(model, ds);
	if (err) {
		ds->state = ML_LIB_DATASET_EXTRACTION_FAILURE;
		return err;
	}
	ds->type = ds->nr_samples ? ML_LIB_MEMORY_STREAM_DATASET :
				    ML_LIB_EMPTY_DATASET;
	ds->state = ML_LIB_DATASET_CLEAN;
	ds->portion_offset = 0;
	ds->portion_size = 0;
	return 0;
}

/**
 * ml_model_discard_dataset() - upstream operation 9: mark the dataset consumed
 * @model: the proxy
 *
 * The next ml_model_get_dataset() extracts a new one.
 *
 * Context: the I/O thread.
 * Return: 0.
 */
int ml_model_discard_dataset(struct ml_lib_model *model)
{
	if (!model || !model->dataset)
		return -EINVAL;
	model->dataset->state = ML_LIB_DATASET_OBSOLETE;
	return 0;
}

/**
 * ml_model_publish_data() - upstream operation 11: send the prepared dataset
 * @model: the proxy
 *
 * One binary (MLDS) stream on one open file: header, then records; the
 * close commits the batch, all or nothing.
 *
 * Context: the I/O thread only; bounded by timeout_ms.
 * Return: 0 or a negative errno.
 */
int ml_model_publish_data(struct ml_lib_model *model)
{
	struct ml_lib_dataset *ds = model->dataset;
	struct ml_lib_model_options *options;
	u16 inputs, outputs;
	size_t width, bytes;
	unsigned int i;
	u8 *buf;
	int r, err;

	if (ds->state != ML_LIB_DATASET_CLEAN)
		return -EINVAL;
	if (!ds->nr_samples) {
		ds->state = ML_LIB_DATASET_EXTRACTED_COMPLETELY;
		return 0;
	}
	rcu_read_lock();
	options = rcu_dereference(model->options);
	inputs = options ? options->inputs : 0;
	outputs = options ? options->outputs : 0;
	rcu_read_unlock();
	if (!inputs || !outputs)
		return -EINVAL;

	width = (size_t)(inputs + outputs);
	bytes = MLP_DS_HEADER_BYTES + ds->nr_samples * width * 4;
	buf = kmalloc(bytes, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	r = mlp_wire_ds_header(buf, bytes, inputs, outputs);
	for (i = 0; r >= 0 && i < ds->nr_samples; i++)
		r = mlp_wire_ds_record(buf + MLP_DS_HEADER_BYTES + i * width * 4,
				       width * 4, ds->values[i], width);
	if (r < 0) {
		kfree(buf);
		ds->state = ML_LIB_DATASET_CORRUPTED;
		return r;
	}
	ds->allocated_size = bytes;
	ds->state = ML_LIB_DATASET_EXTRACTED_PARTIALLY;
	err = ml_write(model, "dataset", buf, bytes);
	kfree(buf);
	if (err) {
		ds->state = ML_LIB_DATASET_EXTRACTION_FAILURE;
		return err;
	}
	ds->portion_size = bytes;
	ds->state = ML_LIB_DATASET_EXTRACTED_COMPLETELY;
	atomic64_add(ds->nr_samples, &model->cnt.samples_sent);
	atomic64_inc(&model->cnt.datasets_sent);
	return 0;
}

/**
 * ml_model_preprocess_recommendation() - upstream operation 12: ask and validate
 * @model: the proxy
 * @hint: the queries in, the validated answers out
 *
 * Asks for a recommendation for every query line in one transaction and
 * validates the answers: exactly one line of outputs integers per query,
 * each within [min - slack, max + slack], clamped to [min, max].  Any
 * malformed or out-of-range answer rejects the whole hint and is counted;
 * nothing of it may be applied.
 *
 * Context: the I/O thread only; bounded by timeout_ms.
 * Return: 0, -EINVAL (malformed), -ERANGE (out of range) or another
 * negative errno.
 */
int ml_model_preprocess_recommendation(struct ml_lib_model *model,
				       struct ml_lib_hint *hint)
{
	struct ml_lib_model_options *options;
	unsigned int inputs, outputs, q, v;
	char *in = model->io_buf;
	size_t inlen = 0;
	const char *pos, *end;
	s64 vals[ML_LIB_MAX_VALUES];
	char *out;
	ssize_t n;
	int r;

	rcu_read_lock();
	options = rcu_dereference(model->options);
	inputs = options ? options->inputs : 0;
	outputs = options ? options->outputs : 0;
	rcu_read_unlock();
	if (!inputs || !outputs || !hint->nr_queries ||
	    hint->nr_queries > ML_LIB_MAX_QUERIES)
		return -EINVAL;

	for (q = 0; q < hint->nr_queries; q++) {
		r = mlp_wire_format_line(in + inlen, ML_IO_BUF_BYTES / 2 - inlen,
					 hint->queries[q], inputs);
		if (r < 0)
			return r;
		inlen += r;
	}
	out = in + ML_IO_BUF_BYTES / 2;
	n = ml_transact(model, "recommendation", in, inlen, out,
			ML_IO_BUF_BYTES / 2);
	if (n < 0)
		return (int)n;	/* ENODATA: nothing to recommend yet */

	hint->nr_clamped = 0;
	pos = out;
	end = out + n;
	for (q = 0; q < hint->nr_queries; q++) {
		r = mlp_wire_parse_line(&pos, end, vals, outputs);
		if (r < 0)
			goto reject;
		for (v = 0; v < outputs; v++) {
			r = mlp_wire_check_value(vals[v], hint->min, hint->max,
						 hint->slack,
						 &hint->answers[q][v]);
			if (r < 0)
				goto reject;
			hint->nr_clamped += r;
		}
	}
	if (pos != end) {
		r = -EINVAL;	/* more answers than queries */
		goto reject;
	}
	atomic64_inc(&model->cnt.recommendations_accepted);
	atomic64_add(hint->nr_clamped, &model->cnt.values_clamped);
	return 0;
reject:
	atomic64_inc(&model->cnt.recommendations_rejected);
	pr_warn_ratelimited("model %s: rejected recommendation (%s)\n",
			    model->model_name,
			    r == -ERANGE ? "out of range" : "malformed");
	return r;
}

/**
 * apply_ml_model_recommendation() - upstream operation 14: hand a hint over
 * @model: the proxy
 * @hint: a hint ml_model_preprocess_recommendation() validated, or NULL to
 *	drop the one in use
 *
 * Context: as the subsystem's apply_recommendation hook allows.
 * Return: 0, or -EOPNOTSUPP without the hook.
 */
int apply_ml_model_recommendation(struct ml_lib_model *model,
				  const struct ml_lib_hint *hint)
{
	if (!model->ops || !model->ops->apply_recommendation)
		return -EOPNOTSUPP;
	model->ops->apply_recommendation(model, hint);
	return 0;
}

/**
 * estimate_ml_model_efficiency() - upstream operation 16: score ML against the default
 * @model: the proxy
 * @fb: filled by the subsystem's estimate_efficiency hook
 *
 * Context: as the subsystem's hook allows.
 * Return: 0, or -EOPNOTSUPP without the hook.
 */
int estimate_ml_model_efficiency(struct ml_lib_model *model,
				 struct ml_lib_feedback *fb)
{
	memset(fb, 0, sizeof(*fb));
	if (!model->ops || !model->ops->estimate_efficiency)
		return -EOPNOTSUPP;
	model->ops->estimate_efficiency(model, fb);
	return 0;
}

/**
 * ml_model_error_backpropagation() - upstream operation 17: send the feedback
 * @model: the proxy
 * @fb: the efficiencies to report
 *
 * Writes "ml" and "default" efficiency lines and the count of fallbacks
 * since the last report ("fallback N") to the model's feedback file.
 *
 * Context: the I/O thread only; bounded by timeout_ms.
 * Return: 0 or a negative errno.
 */
int ml_model_error_backpropagation(struct ml_lib_model *model,
				   const struct ml_lib_feedback *fb)
{
	char *buf = model->io_buf;
	size_t len = 0;
	s64 unreported;
	int r, err;

	if (fb->have_ml) {
		r = mlp_wire_format_feedback(buf, ML_IO_BUF_BYTES, "ml",
					     fb->ml_permil);
		if (r < 0)
			return r;
		len += r;
	}
	if (fb->have_default) {
		r = mlp_wire_format_feedback(buf + len, ML_IO_BUF_BYTES - len,
					     "default", fb->default_permil);
		if (r < 0)
			return r;
		len += r;
	}
	/*
	 * Fallbacks happen while mlproxy cannot be reached, so they are
	 * reported afterwards, as a count since the last report.
	 */
	unreported = atomic64_read(&model->cnt.fallbacks) - model->fallbacks_reported;
	if (unreported > 0) {
		r = mlp_wire_format_feedback(buf + len, ML_IO_BUF_BYTES - len,
					     "fallback", (u32)min_t(s64, unreported, U32_MAX));
		if (r < 0)
			return r;
		len += r;
	}
	if (!len)
		return 0;
	err = ml_write(model, "feedback", buf, len);
	if (!err) {
		atomic64_inc(&model->cnt.feedback_sent);
		model->fallbacks_reported += max_t(s64, unreported, 0);
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* in-kernel inference: the exported integer network                   */

/*
 * Read up to len bytes of a model file from offset 0 (I/O).  Returns the
 * bytes read, or -EFBIG when the file does not fit in len.
 */
static ssize_t ml_read_bytes(struct ml_lib_model *model, const char *leaf,
			     u8 *buf, size_t len, bool whole)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n, total = 0;
	u8 probe;

	ml_io_begin(model);
	f = filp_open(ml_path(model, leaf, true), O_RDONLY, 0);
	if (IS_ERR(f)) {
		total = PTR_ERR(f);
		goto out;
	}
	do {
		n = kernel_read(f, buf + total, len - total, &pos);
		if (n > 0)
			total += n;
	} while (whole && n > 0 && (size_t)total < len);
	if (n < 0)
		total = n;
	else if (whole && (size_t)total == len &&
		 kernel_read(f, &probe, 1, &pos) > 0)
		total = -EFBIG;
	filp_close(f, NULL);
out:
	ml_io_end(model);
	return total;
}

/**
 * ml_model_read_stream() - read a model file through, a chunk at a time
 * @model: the proxy
 * @leaf: the file in the model's directory (such as "dataset")
 * @buf: the caller's chunk buffer
 * @len: its size
 * @max_bytes: read no further than this
 * @consume: called with each chunk; a nonzero return ends the read with it
 * @priv: passed to @consume
 *
 * For files too large for one request (the training buffer as text).
 * Every request (the open, each read, the close) is bounded by timeout_ms
 * on its own, so the whole read is bounded by the number of chunks.
 *
 * Context: the I/O thread only.
 * Return: the bytes read, or a negative errno (of a request or @consume).
 */
ssize_t ml_model_read_stream(struct ml_lib_model *model, const char *leaf,
			     char *buf, size_t len, size_t max_bytes,
			     int (*consume)(void *priv, const char *buf, size_t n),
			     void *priv)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n, total = 0;
	int err = 0;

	ml_io_begin(model);
	f = filp_open(ml_path(model, leaf, true), O_RDONLY, 0);
	ml_io_end(model);
	if (IS_ERR(f))
		return PTR_ERR(f);
	while ((size_t)total < max_bytes) {
		ml_io_begin(model);
		n = kernel_read(f, buf, min_t(size_t, len, max_bytes - total), &pos);
		ml_io_end(model);
		if (n <= 0) {
			err = (int)n;
			break;
		}
		total += n;
		err = consume(priv, buf, (size_t)n);
		if (err)
			break;
	}
	ml_io_begin(model);
	filp_close(f, NULL);
	ml_io_end(model);
	return err ? err : total;
}

static void ml_publish_qnet(struct ml_lib_model *model, struct ml_lib_qnet *q)
{
	struct ml_lib_qnet *old;

	/* only the I/O thread (or destroy, after it) publishes */
	old = rcu_replace_pointer(model->qnet, q, true);
	atomic64_set(&model->qnet_generation, q ? (s64)q->net.generation : -1);
	if (old) {
		synchronize_rcu();
		kvfree(old);
	}
}

/**
 * ml_model_drop_qnet() - stop using the integer network
 * @model: the proxy
 *
 * Operations fall back to what the subsystem does without a network.  May
 * sleep (waits for an RCU grace period); I/O thread or teardown only.
 */
void ml_model_drop_qnet(struct ml_lib_model *model)
{
	ml_publish_qnet(model, NULL);
}

static int ml_qnet_reject(struct ml_lib_model *model, int err)
{
	atomic64_inc(&model->cnt.qnet_rejected);
	atomic_set(&model->qnet_status, err);
	pr_warn_ratelimited("model %s: rejected integer network (%s)\n",
			    model->model_name,
			    err == -EBADMSG ? "checksum" :
			    err == -E2BIG || err == -EFBIG ? "beyond the limits" :
			    "malformed");
	ml_model_drop_qnet(model);
	return err;
}

/**
 * ml_model_fetch_qnet() - take the model's integer network into use (I/O)
 * @model: the proxy
 *
 * Reads the header of the model file `qnet`; when its generation differs
 * from the one in use, reads the whole file, validates it completely
 * (mlp_qnet_parse(): magic, version, sizes against the limits, checksum,
 * arithmetic bounds; widths equal to the model's inputs and outputs) and
 * only then publishes it with RCU.  A file that fails validation is
 * counted in qnet_rejected and the network in use is dropped too, so
 * operations run the default until a good one arrives.  ENODATA or EFBIG
 * from mlproxy (no network, or one it cannot export) drop it as well.
 *
 * Return: 0 (also when there is no network), -EINVAL/-E2BIG/-EBADMSG for
 * a rejected file, -ENOMEM, or a transport error for correct_system_state().
 */
int ml_model_fetch_qnet(struct ml_lib_model *model)
{
	struct ml_lib_model_options *options;
	struct ml_lib_qnet *q;
	u16 inputs, outputs;
	u64 generation;
	ssize_t n;
	int err;

	if (!model->qnet_buf) {
		model->qnet_buf = kvmalloc(QNET_MAX_BYTES, GFP_KERNEL);
		if (!model->qnet_buf)
			return -ENOMEM;
	}
	n = ml_read_bytes(model, "qnet", model->qnet_buf, QNET_HEADER_BYTES,
			  false);
	if (n == -ENODATA || n == -EFBIG) {
		atomic_set(&model->qnet_status, (int)n);
		ml_model_drop_qnet(model);
		return 0;
	}
	if (n < 0)
		return (int)n;
	if (mlp_qnet_peek_generation(model->qnet_buf, n, &generation))
		return ml_qnet_reject(model, -EINVAL);
	/*
	 * Same generation from the same FUSE connection: nothing new.  A new
	 * server (a new connection) numbers its generations afresh, so a
	 * matching number from it proves nothing and the file is fetched.
	 */
	if (rcu_access_pointer(model->qnet) &&
	    (s64)generation == atomic64_read(&model->qnet_generation) &&
	    model->qnet_dev == (u32)atomic_read(&model->conn_dev))
		return 0;

	n = ml_read_bytes(model, "qnet", model->qnet_buf, QNET_MAX_BYTES, true);
	if (n == -EFBIG)
		return ml_qnet_reject(model, -E2BIG);
	if (n == -ENODATA) {
		atomic_set(&model->qnet_status, (int)n);
		ml_model_drop_qnet(model);
		return 0;
	}
	if (n < 0)
		return (int)n;
	q = kvmalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return -ENOMEM;
	err = mlp_qnet_parse(&q->net, model->qnet_buf, n);
	rcu_read_lock();
	options = rcu_dereference(model->options);
	inputs = options ? options->inputs : 0;
	outputs = options ? options->outputs : 0;
	rcu_read_unlock();
	if (!err && (q->net.inputs != inputs || q->net.outputs != outputs))
		err = -EINVAL;
	if (err) {
		kvfree(q);
		return ml_qnet_reject(model, err);
	}
	atomic64_inc(&model->cnt.qnet_accepted);
	atomic_set(&model->qnet_status, 0);
	model->qnet_dev = (u32)atomic_read(&model->conn_dev);
	ml_publish_qnet(model, q);
	return 0;
}

/**
 * ml_model_eval() - evaluate the accepted integer network
 * @model: the proxy
 * @in: the model's `inputs` values, in its fixed-point units
 * @out: receives the model's `outputs` values, in the same units
 *
 * Safe in any context, including hard and soft interrupts: integers only,
 * no allocation, no sleeping, at most QNET_MAX_WEIGHTS multiply-adds, and
 * no access to user space.  Outputs are not clamped; the caller applies its
 * own range.
 *
 * Return: 0, or -ENODATA when no network is accepted.
 */
int ml_model_eval(struct ml_lib_model *model, const s32 *in, s32 *out)
{
	struct ml_lib_qnet *q;

	rcu_read_lock();
	q = rcu_dereference(model->qnet);
	if (q)
		mlp_qnet_eval(&q->net, in, out);
	rcu_read_unlock();
	return q ? 0 : -ENODATA;
}

/**
 * ml_model_qnet_shape() - describe the network in use, e.g. "2-16-16-1"
 * @model: the proxy
 * @buf: where to write it
 * @len: size of @buf
 *
 * Return: the length written (scnprintf), "none" when there is no network.
 */
int ml_model_qnet_shape(struct ml_lib_model *model, char *buf, size_t len)
{
	struct ml_lib_qnet *q;
	int n;
	u32 l;

	rcu_read_lock();
	q = rcu_dereference(model->qnet);
	if (!q) {
		n = scnprintf(buf, len, "none");
	} else {
		n = scnprintf(buf, len, "%u", q->net.inputs);
		for (l = 0; l < q->net.nr_layers; l++)
			n += scnprintf(buf + n, len - n, "-%u",
				       q->net.layer[l].out);
	}
	rcu_read_unlock();
	return n;
}
