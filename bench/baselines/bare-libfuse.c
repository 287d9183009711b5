// The C floor: a minimal libfuse2 file system with the two files the benchmarks use, mounted with
// mlproxy's options (the runner passes the same -o string mlproxy mounts with).
//   sink   write: the bytes are stored (copied into a 64 MiB ring); read: nothing
//   txn    write: the bytes become this open file's answer; pread at 0 returns them
//   stats  read: a few hundred bytes of key value text, rendered per read at 0 (like mlproxy's stats)
// Built by bench/ceilings.mjs (gcc -O2, pkg-config fuse); run as: bare-libfuse MOUNTPOINT -f -o OPTIONS
#define FUSE_USE_VERSION 26
#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SINK_RING_BYTES (64u << 20)
#define ANSWER_MAX 4096

enum file_kind { KIND_NONE, KIND_SINK, KIND_TXN, KIND_STATS };

struct open_file {
	enum file_kind kind;
	size_t answer_len;
	char answer[ANSWER_MAX];
};

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static char *sink_ring;
static size_t sink_at;
static unsigned long long sink_bytes, sink_writes, txn_count;

static enum file_kind kind_of(const char *path)
{
	if (!strcmp(path, "/sink"))
		return KIND_SINK;
	if (!strcmp(path, "/txn"))
		return KIND_TXN;
	if (!strcmp(path, "/stats"))
		return KIND_STATS;
	return KIND_NONE;
}

static int bare_getattr(const char *path, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	switch (kind_of(path)) {
	case KIND_STATS:
		st->st_mode = S_IFREG | 0444;
		break;
	case KIND_SINK:
	case KIND_TXN:
		st->st_mode = S_IFREG | 0644;
		break;
	default:
		return -ENOENT;
	}
	st->st_nlink = 1;
	return 0;
}

static int bare_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi)
{
	(void)off;
	(void)fi;
	if (strcmp(path, "/"))
		return -ENOTDIR;
	fill(buf, ".", NULL, 0);
	fill(buf, "..", NULL, 0);
	fill(buf, "sink", NULL, 0);
	fill(buf, "txn", NULL, 0);
	fill(buf, "stats", NULL, 0);
	return 0;
}

static int bare_open(const char *path, struct fuse_file_info *fi)
{
	enum file_kind kind = kind_of(path);
	struct open_file *f;

	if (kind == KIND_NONE)
		return -ENOENT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->kind = kind;
	fi->fh = (unsigned long)f;
	return 0;
}

static int bare_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct open_file *f = (struct open_file *)fi->fh;
	size_t n;

	(void)path;
	if (f->kind == KIND_STATS && off == 0) {
		int len;

		pthread_mutex_lock(&sink_lock);
		len = snprintf(f->answer, ANSWER_MAX,
			       "sink_bytes %llu\nsink_writes %llu\ntransactions %llu\nstate ready\nring_bytes %u\n",
			       sink_bytes, sink_writes, txn_count, SINK_RING_BYTES);
		pthread_mutex_unlock(&sink_lock);
		f->answer_len = len < 0 ? 0 : (size_t)len;
	}
	if (f->kind == KIND_SINK || (size_t)off >= f->answer_len)
		return 0;
	n = f->answer_len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(buf, f->answer + off, n);
	return (int)n;
}

static int bare_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct open_file *f = (struct open_file *)fi->fh;

	(void)path;
	(void)off;
	if (f->kind == KIND_TXN) {
		f->answer_len = size < ANSWER_MAX ? size : ANSWER_MAX;
		memcpy(f->answer, buf, f->answer_len);
		pthread_mutex_lock(&sink_lock);
		txn_count++;
		pthread_mutex_unlock(&sink_lock);
		return (int)size;
	}
	if (f->kind != KIND_SINK)
		return -EACCES;
	pthread_mutex_lock(&sink_lock);
	for (size_t done = 0; done < size;) {
		size_t room = SINK_RING_BYTES - sink_at, n = size - done < room ? size - done : room;

		memcpy(sink_ring + sink_at, buf + done, n);
		sink_at = (sink_at + n) % SINK_RING_BYTES;
		done += n;
	}
	sink_bytes += size;
	sink_writes++;
	pthread_mutex_unlock(&sink_lock);
	return (int)size;
}

static int bare_truncate(const char *path, off_t size)
{
	(void)size;
	return kind_of(path) == KIND_NONE ? -ENOENT : 0;
}

static int bare_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0;
}

static int bare_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	free((void *)fi->fh);
	return 0;
}

static const struct fuse_operations bare_ops = {
	.getattr = bare_getattr,
	.readdir = bare_readdir,
	.open = bare_open,
	.read = bare_read,
	.write = bare_write,
	.truncate = bare_truncate,
	.flush = bare_flush,
	.release = bare_release,
};

int main(int argc, char *argv[])
{
	sink_ring = malloc(SINK_RING_BYTES);
	if (!sink_ring)
		return 1;
	/* Fault every page in now, not during the first 64 MiB of measured writes. */
	memset(sink_ring, 0xa5, SINK_RING_BYTES);
	return fuse_main(argc, argv, &bare_ops, NULL);
}
