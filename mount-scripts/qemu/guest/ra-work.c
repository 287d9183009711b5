// SPDX-License-Identifier: GPL-2.0-only
/*
 * ra-work: the readahead benchmark's fixed-work workload, run in the guest.
 *
 *   ra-work DIR SEED PHASE[,PHASE...]
 *
 * Opens DIR/f1 (the scanned file) and DIR/f2 (the looked-up file) once and
 * keeps them open, with f2 mapped, for every phase: long-lived open files,
 * like a database's, so a readahead change must reach files already open.
 * A phase is one of
 *   seq:MIB        read() 128 KiB at a time, MIB MiB on from where the last
 *                  scan stopped (wrapping at the end of f1)
 *   mmap:N         N random 4 KiB lookups through the mapping of f2
 *   runs:N         N short scans: 16 x 4 KiB pread from a random 64 KiB
 *                  aligned offset of f2 (an iterator over a few keys)
 *   mix:MIB:N      seq:MIB on f1 in a second thread while this one does N
 *                  pread 4 KiB lookups on f2; the phase ends when both end
 *   rstride:N:KIB  N 4 KiB touches through the mapping of f2, KIB KiB apart,
 *                  backwards from a random page (records read newest first
 *                  through a mapped log: the phase type the model has not
 *                  seen in the warm-up).  At 64 KiB apart each touch falls in
 *                  its own fault-around block; mmap read-around, centred on
 *                  the fault, serves the next touches from 128 KiB on, and
 *                  a 16 KiB window costs a device request per touch
 * A phase may end in @KB: before it starts (outside its time), KB is
 * written to the device's read_ahead_kb (the path in $RA_WORK_RA_KB) and
 * POSIX_FADV_NORMAL copies it into both open files' windows, the mapping's
 * too.  That is a per-phase schedule of windows in one run, set as the
 * module sets them (the file's ra_pages, mid-stream): it measures what
 * choosing each phase's window can achieve when each phase inherits the
 * page cache the phases before it left, which the per-phase oracle, the
 * best fixed value of each phase taken from different runs, does not.
 * A lower window does not cut down f1's scan stream, which Linux 6.1
 * never shrinks: after a scan at 2048 KiB the later scans of the run go on
 * at 2048 whatever their phase's window (round 30; the module's
 * shrink_streams does cut it).
 * Prints one line per phase: "RAW phase=I kind=K ms=MS" (plus the lookup
 * thread's own ms for mix) and "RAW total ms=MS".  fio cannot keep a file
 * open across phases, hence this program.  Built static on the host.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCAN_BS (128 * 1024)
#define PAGE 4096

static int fd1, fd2;
static off_t size1, size2, scan_pos;
static volatile const unsigned char *map2;
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void do_seq(long mib)
{
	static char buf[SCAN_BS];
	long long left = (long long)mib << 20;

	while (left > 0) {
		ssize_t n = pread(fd1, buf, SCAN_BS, scan_pos);

		if (n < 0)
			die("pread f1");
		if (n == 0) {
			scan_pos = 0;
			continue;
		}
		scan_pos += n;
		left -= n;
	}
}

static unsigned long do_mmap(long n)
{
	unsigned long sum = 0;
	long pages = size2 / PAGE;

	for (long i = 0; i < n; i++)
		sum += map2[(rnd() % pages) * PAGE];
	return sum;
}

static unsigned long do_rstride(long n, long kib)
{
	unsigned long sum = 0;
	long pages = size2 / PAGE, step = kib * 1024 / PAGE;
	long p = rnd() % pages;

	if (step < 1)
		step = 1;
	for (long i = 0; i < n; i++, p = (p - step + pages) % pages)
		sum += map2[p * PAGE];
	return sum;
}

static void do_runs(long n)
{
	char buf[PAGE];
	long slots = size2 / (16 * PAGE);

	for (long i = 0; i < n; i++) {
		off_t off = (off_t)(rnd() % slots) * 16 * PAGE;

		for (int j = 0; j < 16; j++)
			if (pread(fd2, buf, PAGE, off + j * PAGE) != PAGE)
				die("pread f2");
	}
}

/* the window of the phases from here on: the device's, copied into both files */
static void set_window_kb(long kb)
{
	const char *path = getenv("RA_WORK_RA_KB");
	FILE *f;
	int err;

	if (!path || kb <= 0) {
		fprintf(stderr, "ra-work: @KB needs RA_WORK_RA_KB and KB > 0\n");
		exit(2);
	}
	f = fopen(path, "w");
	if (!f || fprintf(f, "%ld\n", kb) < 0 || fclose(f))
		die(path);
	err = posix_fadvise(fd1, 0, 0, POSIX_FADV_NORMAL);
	if (!err)
		err = posix_fadvise(fd2, 0, 0, POSIX_FADV_NORMAL);
	if (err) {
		fprintf(stderr, "ra-work: posix_fadvise: %s\n", strerror(err));
		exit(1);
	}
}

/*
 * With RA_WORK_KMSG set, a line in the kernel log at each phase's start and
 * end, so the module's interval trace (trace_intervals) can be cut by phase.
 */
static void kmsg_mark(int phase, const char *kind, const char *what)
{
	static int fd = -2;
	char line[96];
	int n;

	if (fd == -2)
		fd = getenv("RA_WORK_KMSG") ? open("/dev/kmsg", O_WRONLY) : -1;
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "ra-work: phase=%d kind=%s %s\n", phase, kind, what);
	if (write(fd, line, n) != n)
		fd = -1;
}

static void *seq_thread(void *arg)
{
	do_seq((long)(intptr_t)arg);
	return NULL;
}

static void do_lookups(long n)
{
	char buf[PAGE];
	long pages = size2 / PAGE;

	for (long i = 0; i < n; i++)
		if (pread(fd2, buf, PAGE, (off_t)(rnd() % pages) * PAGE) != PAGE)
			die("pread f2");
}

int main(int argc, char **argv)
{
	char path[4096], *plan, *tok, *save;
	struct stat st;
	double t0, total0;
	int phase = 0;
	unsigned long sink = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: ra-work DIR SEED PHASE[,PHASE...]\n");
		return 2;
	}
	rng_state = strtoull(argv[2], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
	snprintf(path, sizeof(path), "%s/f1", argv[1]);
	fd1 = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "%s/f2", argv[1]);
	fd2 = open(path, O_RDONLY);
	if (fd1 < 0 || fd2 < 0)
		die("open");
	if (fstat(fd1, &st))
		die("fstat");
	size1 = st.st_size;
	if (fstat(fd2, &st))
		die("fstat");
	size2 = st.st_size;
	map2 = mmap(NULL, size2, PROT_READ, MAP_SHARED, fd2, 0);
	if (map2 == MAP_FAILED)
		die("mmap");
	(void)size1;

	plan = strdup(argv[3]);
	total0 = now_ms();
	for (tok = strtok_r(plan, ",", &save); tok; tok = strtok_r(NULL, ",", &save), phase++) {
		char kind[16] = "", *at = strchr(tok, '@');
		long a = 0, b = 0;

		if (at)
			*at = '\0';
		if (sscanf(tok, "%15[a-z]:%ld:%ld", kind, &a, &b) < 2) {
			fprintf(stderr, "ra-work: bad phase \"%s\"\n", tok);
			return 2;
		}
		/* only a phase that parses moves the device's window */
		if (at)
			set_window_kb(atol(at + 1));
		kmsg_mark(phase, kind, "start");
		t0 = now_ms();
		if (!strcmp(kind, "seq")) {
			do_seq(a);
		} else if (!strcmp(kind, "mmap")) {
			sink += do_mmap(a);
		} else if (!strcmp(kind, "rstride")) {
			sink += do_rstride(a, b);
		} else if (!strcmp(kind, "runs")) {
			do_runs(a);
		} else if (!strcmp(kind, "mix")) {
			pthread_t th;
			double tl;

			if (pthread_create(&th, NULL, seq_thread, (void *)(intptr_t)a))
				die("pthread_create");
			do_lookups(b);
			tl = now_ms() - t0;
			pthread_join(th, NULL);
			kmsg_mark(phase, kind, "end");
			printf("RAW phase=%d kind=mix ms=%.1f lookup_ms=%.1f\n", phase, now_ms() - t0, tl);
			fflush(stdout);
			continue;
		} else {
			fprintf(stderr, "ra-work: unknown phase kind \"%s\"\n", kind);
			return 2;
		}
		kmsg_mark(phase, kind, "end");
		printf("RAW phase=%d kind=%s ms=%.1f\n", phase, kind, now_ms() - t0);
		fflush(stdout);
	}
	printf("RAW total ms=%.1f sink=%lu\n", now_ms() - total0, sink & 1);
	return 0;
}
