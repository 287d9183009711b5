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

#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "ml_lib.h"
#include "mlp_wire.h"

#define ML_IO_BUF_BYTES		4096
#define ML_NAME_DEFAULT_SUBSYS	"unknown_subsystem"
#define ML_NAME_DEFAULT_MODEL	"unknown_model"

static struct work_struct *ml_abort_work_of(struct ml_lib_model *model);

const char *ml_lib_mode_name(int mode)
{
	if (mode < 0 || mode >= (int)mlp_wire_nr_mode_words)
		return "invalid";
	return mlp_wire_mode_words[mode];
}

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

/*
 * Operation 18: correct the mode after a failure.  Transport failures drop
 * the proxy to emergency until ml_model_connect() and
 * estimate_system_state() succeed again; other errors (the server rejected
 * one write) are only counted.  Safe in any context.  Returns 1 when the
 * proxy is now disconnected, 0 otherwise.
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

/* Name the task that does all mlproxy I/O (NULL when it is gone). */
void ml_model_io_task(struct ml_lib_model *model, struct task_struct *task)
{
	spin_lock_bh(&model->io_lock);
	model->io_task = task;
	spin_unlock_bh(&model->io_lock);
}

/* Is a request in flight that SIGKILL did not end? */
bool ml_model_io_stuck(struct ml_lib_model *model)
{
	bool stuck;

	spin_lock_bh(&model->io_lock);
	stuck = model->io_inflight && model->io_killed;
	spin_unlock_bh(&model->io_lock);
	return stuck;
}

/*
 * Last resort for a request the server took and never answers: abort the
 * FUSE connection of the mount, via a private mount of fusectl.  Every
 * waiter on that mount gets ENOTCONN; the server must be remounted.
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

/* The recommendation transaction: write the queries, read the answers. */
static ssize_t ml_transact(struct ml_lib_model *model, const char *leaf,
			   const char *in, size_t inlen, char *out,
			   size_t outlen)
{
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

/*
 * Operation 1: set up the proxy object.  No I/O: loading the module must
 * not wait for user space, so the model directory is created by the I/O
 * thread (ml_model_connect).  Mode starts as emergency.
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

/*
 * Keep the options in force, RCU-swapped as upstream does.  Also used when
 * the model already exists on the mount (a reload): the server has the
 * config, and without the widths here every publish and recommendation
 * would fail with -EINVAL.
 */
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

/* Operation 2 (I/O): send the config, commit it, then the init verb. */
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

/* Operation 3 (I/O): new options for a live model; state is unchanged. */
int ml_model_re_init(struct ml_lib_model *model,
		     const struct ml_lib_model_options *options)
{
	int err = ml_send_config(model, options);

	return err ? err : ml_control(model, "reinit");
}

/* Operation 4 (I/O). */
int ml_model_start(struct ml_lib_model *model)
{
	int err = ml_control(model, "start");

	if (!err)
		atomic_set(&model->state, ML_LIB_MODEL_STARTED);
	return err;
}

/* Operation 5 (I/O). */
int ml_model_stop(struct ml_lib_model *model)
{
	int err = ml_control(model, "stop");

	if (!err)
		atomic_set(&model->state, ML_LIB_MODEL_STOPPED);
	return err;
}

/*
 * Operation 6: tear the proxy down.  The I/O thread must be gone.  The
 * model directory on the mount is left in place (with its training) for the
 * next load to reuse; `rmdir` it to discard it.
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

/*
 * Make sure the model exists on the mount and is started (I/O): check the
 * mount is mlproxy abi 1, mkdir the model (EEXIST: reuse it), then init
 * and start it as its state requires.
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
		if (!rcu_access_pointer(model->options)) {
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

/* Operation 7: the proxy's own state (the subsystem keeps its own). */
int get_system_state(struct ml_lib_model *model)
{
	return atomic_read(&model->state);
}

/*
 * Operation 13 (I/O): read the mode and apply_permil mlproxy publishes and
 * put them in force, unless the proxy is disconnected (then emergency).
 * Returns the mode in force.
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

/*
 * Operation 8: prepare a dataset.  Idempotent while the current one is
 * clean (not yet published); otherwise the subsystem extracts a new one.
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

/* Operation 9: the dataset was consumed; the next prepare makes a new one. */
int ml_model_discard_dataset(struct ml_lib_model *model)
{
	if (!model || !model->dataset)
		return -EINVAL;
	model->dataset->state = ML_LIB_DATASET_OBSOLETE;
	return 0;
}

/*
 * Operation 11 (I/O): publish the prepared dataset as one binary stream on
 * one fd: header, then records.  The close commits the batch.
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

/*
 * Operation 12 (I/O): ask for a recommendation for every query line and
 * validate the answers: exactly one line of `outputs` integers per query,
 * each within [min - slack, max + slack], clamped to [min, max].  Any
 * malformed or out-of-range answer rejects the whole hint (-EINVAL or
 * -ERANGE) and is counted; nothing of it may be applied.
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

/* Operation 14: hand a validated hint to the subsystem (NULL drops it). */
int apply_ml_model_recommendation(struct ml_lib_model *model,
				  const struct ml_lib_hint *hint)
{
	if (!model->ops || !model->ops->apply_recommendation)
		return -EOPNOTSUPP;
	model->ops->apply_recommendation(model, hint);
	return 0;
}

/* Operation 16: the subsystem scores ML against its default. */
int estimate_ml_model_efficiency(struct ml_lib_model *model,
				 struct ml_lib_feedback *fb)
{
	memset(fb, 0, sizeof(*fb));
	if (!model->ops || !model->ops->estimate_efficiency)
		return -EOPNOTSUPP;
	model->ops->estimate_efficiency(model, fb);
	return 0;
}

/* Operation 17 (I/O): send the efficiency feedback lines. */
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
