// The benchmark client: the same C code drives every server, so client overhead is equal for all of them
// and small next to theirs. Each command prints one JSON object (durations in ns).
//   fuse-client write FILE DATA CHUNK|lines      one open file; DATA in CHUNK-byte writes (or a write per line); close
//   fuse-client txn FILE QUERIES N               held fd: write a query line, pread at 0; N times
//   fuse-client cat FILE N                       open, read until 0, close; N times
//   fuse-client flood SECONDS TXN QUERIES READERS SINK DATA WRITERS CHUNK
//       READERS threads run transactions on held fds while WRITERS threads send DATA to SINK in CHUNK-byte
//       writes, one open file (one batch) per DATA, for SECONDS; reports the transactions' latencies, and the
//       writers' failed writes and closes apart from the batches the stop cut short ("cut"): a cut batch ends
//       wherever its last write did, mid-line for text, which a server checking its input refuses at close
//   fuse-client --pwrite txn|flood ...           the same, each transaction's query written with pwrite at offset 0
//       instead of write at the file's offset. A write that ends past the file's size (these files report 0, so
//       at a growing offset most writes do) holds the file's inode lock exclusively in the kernel, whatever the
//       server says at open; a pwrite at 0 inside the size already written can share it with others when the
//       server allows parallel direct writes (mlproxy does, --fuse-parallel-writes).
// Built by bench/ceilings.mjs (gcc -O2) into its temporary directory.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (1u << 22)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fuse-client: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st))
		die("open", path);
	buf = malloc(st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n <= 0)
			die("read", path);
		got += n;
	}
	close(fd);
	*len = got;
	return buf;
}

/* Lines of a text file, each with its newline: the queries. */
struct lines {
	char **at;
	size_t *len;
	size_t count;
};

static struct lines split_lines(char *text, size_t len)
{
	struct lines l = { malloc(sizeof(char *) * (len + 1)), malloc(sizeof(size_t) * (len + 1)), 0 };

	for (size_t i = 0, start = 0; i < len; i++) {
		if (text[i] == '\n') {
			l.at[l.count] = text + start;
			l.len[l.count++] = i + 1 - start;
			start = i + 1;
		}
	}
	return l;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void print_summary(const char *key, long long *v, size_t n)
{
	long long sum = 0;

	qsort(v, n, sizeof(*v), cmp_ll);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
#define AT(q) (n ? v[(size_t)((q) * n) < n ? (size_t)((q) * n) : n - 1] : 0)
	printf("\"%s\":{\"n\":%zu,\"min\":%lld,\"p50\":%lld,\"p90\":%lld,\"p99\":%lld,\"p999\":%lld,\"max\":%lld,\"mean\":%lld}",
	       key, n, n ? v[0] : 0, AT(0.5), AT(0.9), AT(0.99), AT(0.999), n ? v[n - 1] : 0, n ? sum / (long long)n : 0);
#undef AT
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n == (ssize_t)len ? 0 : -1;
}

static int cmd_write(const char *file, const char *data_path, const char *chunk_arg)
{
	size_t len, writes = 0;
	char *data = slurp(data_path, &len);
	int per_line = !strcmp(chunk_arg, "lines");
	size_t chunk = per_line ? 0 : strtoul(chunk_arg, NULL, 10);
	long long t0 = now_ns(), t1;
	int fd = open(file, O_WRONLY);

	if (fd < 0)
		die("open", file);
	for (size_t at = 0; at < len; writes++) {
		size_t n = len - at;

		if (per_line) {
			char *nl = memchr(data + at, '\n', len - at);

			n = nl ? (size_t)(nl - (data + at)) + 1 : len - at;
		} else if (n > chunk) {
			n = chunk;
		}
		if (write_all(fd, data + at, n))
			die("write", file);
		at += n;
	}
	if (close(fd))
		die("close", file);
	t1 = now_ns();
	printf("{\"ns\":%lld,\"bytes\":%zu,\"writes\":%zu}\n", t1 - t0, len, writes);
	return 0;
}

static int txn_pwrite; /* --pwrite: queries written at offset 0 */

static int write_query(int fd, const char *query, size_t len)
{
	if (!txn_pwrite)
		return write_all(fd, query, len);
	return pwrite(fd, query, len, 0) == (ssize_t)len ? 0 : -1;
}

static size_t run_txns(int fd, struct lines *q, size_t n, long long *lat, atomic_int *stop)
{
	char answer[4096];
	size_t done = 0;

	for (size_t i = 0; i < n && !(stop && atomic_load(stop)); i++) {
		long long t0 = now_ns();
		ssize_t got;

		if (write_query(fd, q->at[i % q->count], q->len[i % q->count]))
			die("write", "transaction");
		got = pread(fd, answer, sizeof(answer), 0);
		if (got <= 0)
			die("pread", "transaction");
		lat[done++] = now_ns() - t0;
	}
	return done;
}

static int cmd_txn(const char *file, const char *queries, size_t n)
{
	size_t len;
	char *text = slurp(queries, &len);
	struct lines q = split_lines(text, len);
	long long *lat = malloc(sizeof(long long) * n);
	int fd = open(file, O_RDWR);
	long long t0 = now_ns();

	if (fd < 0)
		die("open", file);
	n = run_txns(fd, &q, n, lat, NULL);
	printf("{\"ns\":%lld,", now_ns() - t0);
	print_summary("latency", lat, n);
	printf("}\n");
	close(fd);
	return 0;
}

static int cmd_cat(const char *file, size_t n)
{
	long long *lat = malloc(sizeof(long long) * n), t0 = now_ns();
	char buf[65536];

	for (size_t i = 0; i < n; i++) {
		long long a = now_ns();
		int fd = open(file, O_RDONLY);
		ssize_t got;
		off_t at = 0;

		if (fd < 0)
			die("open", file);
		while ((got = pread(fd, buf, sizeof(buf), at)) > 0)
			at += got;
		if (got < 0)
			die("read", file);
		close(fd);
		lat[i] = now_ns() - a;
	}
	printf("{\"ns\":%lld,", now_ns() - t0);
	print_summary("latency", lat, n);
	printf("}\n");
	return 0;
}

struct flood {
	const char *txn, *sink;
	struct lines q;
	char *data;
	size_t data_len, chunk;
	atomic_int stop;
	atomic_llong bytes, batches, failures, cut;
};

struct reader {
	struct flood *f;
	long long *lat;
	size_t n;
	pthread_t thread;
};

static void *flood_reader(void *arg)
{
	struct reader *r = arg;
	int fd = open(r->f->txn, O_RDWR);

	if (fd < 0)
		die("open", r->f->txn);
	r->n = run_txns(fd, &r->f->q, MAX_SAMPLES / 16, r->lat, &r->f->stop);
	close(fd);
	return NULL;
}

static void *flood_writer(void *arg)
{
	struct flood *f = arg;

	while (!atomic_load(&f->stop)) {
		int fd = open(f->sink, O_WRONLY);
		size_t at = 0;

		if (fd < 0)
			die("open", f->sink);
		while (at < f->data_len && !atomic_load(&f->stop)) {
			size_t n = f->data_len - at < f->chunk ? f->data_len - at : f->chunk;

			if (write_all(fd, f->data + at, n))
				atomic_fetch_add(&f->failures, 1);
			at += n;
			atomic_fetch_add(&f->bytes, n);
		}
		if (at < f->data_len) {
			/* Cut by the stop: its close may be refused for the cut line, which is no failure of the server. */
			close(fd);
			atomic_fetch_add(&f->cut, 1);
		} else if (close(fd)) {
			atomic_fetch_add(&f->failures, 1);
		}
		atomic_fetch_add(&f->batches, 1);
	}
	return NULL;
}

static int cmd_flood(char **argv)
{
	double seconds = atof(argv[0]);
	size_t readers = strtoul(argv[3], NULL, 10), writers = strtoul(argv[6], NULL, 10), len, all = 0;
	struct flood f = { .txn = argv[1], .sink = argv[4], .chunk = strtoul(argv[7], NULL, 10) };
	char *text = slurp(argv[2], &len);
	struct reader *r = calloc(readers, sizeof(*r));
	pthread_t *w = calloc(writers, sizeof(*w));
	long long *lat;

	f.q = split_lines(text, len);
	f.data = slurp(argv[5], &f.data_len);
	for (size_t i = 0; i < writers; i++)
		pthread_create(&w[i], NULL, flood_writer, &f);
	usleep(100000); /* the flood is on before the first transaction is timed */
	for (size_t i = 0; i < readers; i++) {
		r[i].f = &f;
		r[i].lat = malloc(sizeof(long long) * (MAX_SAMPLES / 16));
		pthread_create(&r[i].thread, NULL, flood_reader, &r[i]);
	}
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&f.stop, 1);
	for (size_t i = 0; i < readers; i++)
		pthread_join(r[i].thread, NULL), all += r[i].n;
	for (size_t i = 0; i < writers; i++)
		pthread_join(w[i], NULL);
	lat = malloc(sizeof(long long) * (all + 1));
	all = 0;
	for (size_t i = 0; i < readers; i++)
		memcpy(lat + all, r[i].lat, r[i].n * sizeof(long long)), all += r[i].n;
	printf("{\"bytes\":%lld,\"batches\":%lld,\"failures\":%lld,\"cut\":%lld,", (long long)f.bytes, (long long)f.batches,
	       (long long)f.failures, (long long)f.cut);
	print_summary("latency", lat, all);
	printf("}\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--pwrite")) {
		txn_pwrite = 1;
		argv[1] = argv[0];
		argv++, argc--;
	}
	if (argc == 5 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "txn"))
		return cmd_txn(argv[2], argv[3], strtoul(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "cat"))
		return cmd_cat(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 10 && !strcmp(argv[1], "flood"))
		return cmd_flood(argv + 2);
	fprintf(stderr, "usage: see the header of bench/baselines/fuse-client.c\n");
	return 2;
}
