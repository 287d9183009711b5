// SPDX-License-Identifier: GPL-2.0-only
/*
 * nbd-seek-server: a read-only NBD server on a unix socket whose replies
 * are timed by a locality-aware disk model.  It is the readahead
 * benchmark's `seek` device model (mount-scripts/qemu/ra-run.sh bench seek):
 * qemu's own throttle charges every request the same wherever it lands,
 * this charges what a disk head would.
 *
 *   nbd-seek-server --socket PATH --image FILE [--seek-min-us N]
 *                   [--seek-max-us N] [--stroke-mib N] [--rate-mibps N]
 *                   [--rt-priority N] [--trace]
 *
 * Device model, one request at a time (a disk has one head; requests that
 * qemu pipelines wait in the socket):
 *   service = seek + length / rate
 *   seek    = 0 when the request starts where the previous one ended;
 *             otherwise, for a distance d in bytes between the end of the
 *             previous request and the start of this one,
 *               min(seek_max, seek_min + (seek_max - seek_min) * sqrt(d / stroke))
 *             (a short seek costs the settle time, a full stroke seek_max);
 *             a forward gap costs at most reading through it, d / rate
 *             (the head waits for the gap to pass under it)
 * A request is answered when the head is done with it: at
 * max(its arrival, the end of the previous request's service) + service.  The pread from FILE
 * happens inside that time; how late each reply leaves against that
 * deadline (a slow pread, or a wake-up delayed by other work on the CPUs)
 * is measured and reported as `late`.
 * Options (defaults): --seek-min-us 500, --seek-max-us 4000,
 * --stroke-mib the image size, --rate-mibps 120, --rt-priority N (run
 * SCHED_FIFO at N so that a TCG guest's busy vCPU threads do not delay the
 * replies; 0, the default, leaves the scheduling alone), --trace (one line
 * per request on stderr, with its modelled cost).
 *
 * Protocol: fixed newstyle handshake with NBD_OPT_EXPORT_NAME, NBD_OPT_GO,
 * NBD_OPT_INFO, NBD_OPT_LIST and NBD_OPT_ABORT (one export; any name
 * selects it); every other option gets NBD_REP_ERR_UNSUP, so clients fall
 * back to simple replies.  Transmission: NBD_CMD_READ and NBD_CMD_DISC;
 * writes and trims get EPERM (read-only export, a write's payload is
 * read and dropped), a read out of range or with flags gets EINVAL, any
 * other command EINVAL.  Clients are served one after another.
 *
 * Accounting: when a client disconnects, one line on stderr:
 *   nbd-seek: client done: requests=N bytes=B sequential=S seeks=K
 *     seek_us=X transfer_us=Y late_us=L late_1ms=M
 * seek_us and transfer_us are the model's own sums (not wall time);
 * late_us is the wall time replies left after their deadlines, late_1ms
 * the number of replies more than 1 ms late.
 *
 * The process dies with its parent (PR_SET_PDEATHSIG) and removes its
 * socket on SIGTERM, SIGINT and SIGHUP, so a harness killed on a timeout
 * leaves nothing behind.  Written in C, not node: it sleeps to absolute
 * deadlines with clock_nanosleep and spends microseconds per request, on a
 * 2-core host it shares with a TCG guest.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NBDMAGIC 0x4e42444d41474943ULL
#define IHAVEOPT 0x49484156454f5054ULL
#define OPT_REPLY_MAGIC 0x3e889045565a9ULL
#define REQUEST_MAGIC 0x25609513U
#define SIMPLE_REPLY_MAGIC 0x67446698U

#define FLAG_FIXED_NEWSTYLE 1U
#define FLAG_NO_ZEROES 2U
#define TFLAG_HAS_FLAGS 1U
#define TFLAG_READ_ONLY 2U

#define OPT_EXPORT_NAME 1U
#define OPT_ABORT 2U
#define OPT_LIST 3U
#define OPT_INFO 6U
#define OPT_GO 7U

#define REP_ACK 1U
#define REP_SERVER 2U
#define REP_INFO 3U
#define REP_ERR_UNSUP 0x80000001U
#define REP_ERR_INVALID 0x80000003U

#define INFO_EXPORT 0U
#define INFO_BLOCK_SIZE 3U

#define CMD_READ 0U
#define CMD_WRITE 1U
#define CMD_DISC 2U
#define CMD_TRIM 4U
#define CMD_WRITE_ZEROES 6U

#define NBD_EPERM 1U
#define NBD_EIO 5U
#define NBD_EINVAL 22U

#define MAX_REQUEST_BYTES (32U << 20)	/* also advertised as the maximum block size */
#define MAX_OPTION_BYTES 4096U

struct model {
	double seek_min_us, seek_max_us, stroke_bytes, rate_bytes_per_us;
};

struct account {
	uint64_t requests, bytes, sequential, seeks, late_1ms;
	double seek_us, transfer_us, late_us;
};

static volatile sig_atomic_t stopping;
static const char *socket_path;
static int trace;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void fail(const char *what)
{
	fprintf(stderr, "nbd-seek: %s: %s\n", what, strerror(errno));
	if (socket_path)
		unlink(socket_path);
	exit(1);
}

/* The model: microseconds the head spends on a request at `start` of `len` bytes after one that ended at `head`. */
static double seek_cost_us(const struct model *m, uint64_t head, uint64_t start)
{
	double d, s;

	if (start == head)
		return 0;
	d = start > head ? (double)(start - head) : (double)(head - start);
	s = m->seek_min_us + (m->seek_max_us - m->seek_min_us) * sqrt(d / m->stroke_bytes);
	if (s > m->seek_max_us)
		s = m->seek_max_us;
	if (start > head && d / m->rate_bytes_per_us < s)
		s = d / m->rate_bytes_per_us;	/* reading through a short forward gap is cheaper than seeking */
	return s;
}

/* Moves all len bytes, or fails on EOF, an error or a signal that stops the server. */
static int io_all(int fd, void *buf, size_t len, int writing)
{
	char *p = buf;

	while (len) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);

		if (n > 0) {
			p += n;
			len -= n;
		} else if (n < 0 && errno == EINTR && !stopping) {
			continue;
		} else {
			return -1;
		}
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len) { return io_all(fd, buf, len, 0); }
static int write_all(int fd, const void *buf, size_t len) { return io_all(fd, (void *)buf, len, 1); }

static int drop_bytes(int fd, uint64_t len)
{
	char sink[4096];

	while (len) {
		size_t n = len < sizeof(sink) ? len : sizeof(sink);

		if (read_all(fd, sink, n))
			return -1;
		len -= n;
	}
	return 0;
}

static void put16(unsigned char *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static uint16_t get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

static int option_reply(int fd, uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
	unsigned char h[20];

	put64(h, OPT_REPLY_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, type);
	put32(h + 16, len);
	if (write_all(fd, h, sizeof(h)))
		return -1;
	return len ? write_all(fd, data, len) : 0;
}

/*
 * NBD_OPT_INFO / NBD_OPT_GO: check the request's shape, then describe the export.
 * Returns 1 when answered with an ACK, 0 when rejected, -1 when the socket failed.
 */
static int option_info(int fd, uint32_t opt, const unsigned char *d, uint32_t len, uint64_t size)
{
	unsigned char info[14];
	uint32_t name_len;
	uint16_t n, i;
	int want_block_size = 0;

	if (len < 6 || (name_len = get32(d)) > len - 6 || (uint64_t)name_len + 6 + 2ULL * get16(d + 4 + name_len) != len)
		return option_reply(fd, opt, REP_ERR_INVALID, NULL, 0) ? -1 : 0;
	n = get16(d + 4 + name_len);
	for (i = 0; i < n; i++)
		if (get16(d + 6 + name_len + 2 * i) == INFO_BLOCK_SIZE)
			want_block_size = 1;
	put16(info, INFO_EXPORT);
	put64(info + 2, size);
	put16(info + 10, TFLAG_HAS_FLAGS | TFLAG_READ_ONLY);
	if (option_reply(fd, opt, REP_INFO, info, 12))
		return -1;
	if (want_block_size) {
		put16(info, INFO_BLOCK_SIZE);
		put32(info + 2, 1);
		put32(info + 6, 4096);
		put32(info + 10, MAX_REQUEST_BYTES);
		if (option_reply(fd, opt, REP_INFO, info, 14))
			return -1;
	}
	return option_reply(fd, opt, REP_ACK, NULL, 0) ? -1 : 1;
}

/* The handshake: 1 when the client chose the export (transmission follows), 0 when it ended the session. */
static int handshake(int fd, uint64_t size)
{
	unsigned char h[18], data[MAX_OPTION_BYTES];
	uint32_t client_flags, opt, len;

	put64(h, NBDMAGIC);
	put64(h + 8, IHAVEOPT);
	put16(h + 16, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
	if (write_all(fd, h, 18) || read_all(fd, h, 4))
		return 0;
	client_flags = get32(h);
	if (client_flags & ~(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
		return 0;	/* the spec: close on client flags we do not know */
	for (;;) {
		if (read_all(fd, h, 16) || get64(h) != IHAVEOPT)
			return 0;
		opt = get32(h + 8);
		len = get32(h + 12);
		if (len > MAX_OPTION_BYTES) {
			if (drop_bytes(fd, len) || option_reply(fd, opt, REP_ERR_INVALID, NULL, 0))
				return 0;
			continue;
		}
		if (read_all(fd, data, len))
			return 0;
		switch (opt) {
		case OPT_EXPORT_NAME: {
			unsigned char r[10 + 124] = { 0 };

			put64(r, size);
			put16(r + 8, TFLAG_HAS_FLAGS | TFLAG_READ_ONLY);
			return write_all(fd, r, client_flags & FLAG_NO_ZEROES ? 10 : sizeof(r)) ? 0 : 1;
		}
		case OPT_GO:
		case OPT_INFO: {
			int acked = option_info(fd, opt, data, len, size);

			if (acked < 0)
				return 0;
			if (acked && opt == OPT_GO)
				return 1;	/* an acknowledged GO starts transmission; INFO or a rejection keeps haggling */
			break;
		}
		case OPT_LIST: {
			unsigned char empty_name[4] = { 0 };

			if (option_reply(fd, opt, len ? REP_ERR_INVALID : REP_SERVER, empty_name, len ? 0 : 4) ||
			    (!len && option_reply(fd, opt, REP_ACK, NULL, 0)))
				return 0;
			break;
		}
		case OPT_ABORT:
			option_reply(fd, opt, REP_ACK, NULL, 0);
			return 0;
		default:	/* STARTTLS, STRUCTURED_REPLY, meta contexts, ...: not offered */
			if (option_reply(fd, opt, REP_ERR_UNSUP, NULL, 0))
				return 0;
		}
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = t_ns / 1000000000ULL, .tv_nsec = t_ns % 1000000000ULL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stopping)
		;
}

static int simple_reply(int fd, uint32_t err, uint64_t handle, const void *data, uint32_t len)
{
	unsigned char r[16];

	put32(r, SIMPLE_REPLY_MAGIC);
	put32(r + 4, err);
	put64(r + 8, handle);
	if (write_all(fd, r, sizeof(r)))
		return -1;
	return len ? write_all(fd, data, len) : 0;
}

/* Transmission: serve requests one at a time until DISC, EOF or a signal. */
static void serve(int fd, int img, uint64_t size, const struct model *m, uint64_t *head, uint64_t *head_free_ns,
		  struct account *a)
{
	static unsigned char *buf;
	unsigned char q[28];

	if (!buf && !(buf = malloc(MAX_REQUEST_BYTES)))
		fail("malloc");
	while (!read_all(fd, q, sizeof(q))) {
		uint16_t flags = get16(q + 4), type = get16(q + 6);
		uint64_t handle = get64(q + 8), off = get64(q + 16), t0, deadline, late_ns;
		uint32_t len = get32(q + 24), err = 0;
		double seek_us, xfer_us;

		if (get32(q) != REQUEST_MAGIC)
			return;	/* out of sync: hard disconnect */
		if (type == CMD_DISC)
			return;
		if (type == CMD_WRITE) {
			if (drop_bytes(fd, len) || simple_reply(fd, NBD_EPERM, handle, NULL, 0))
				return;
			continue;
		}
		if (type == CMD_TRIM || type == CMD_WRITE_ZEROES)
			err = NBD_EPERM;
		else if (type != CMD_READ || flags || len > MAX_REQUEST_BYTES || off > size || len > size - off)
			err = NBD_EINVAL;
		if (err) {
			if (simple_reply(fd, err, handle, NULL, 0))
				return;
			continue;
		}
		seek_us = seek_cost_us(m, *head, off);
		xfer_us = len / m->rate_bytes_per_us;
		t0 = now_ns();
		if (t0 < *head_free_ns)
			t0 = *head_free_ns;	/* the head is still busy with the previous request */
		deadline = t0 + (uint64_t)((seek_us + xfer_us) * 1000.0);
		if (pread(img, buf, len, off) != (ssize_t)len)
			err = NBD_EIO;
		sleep_until(deadline);
		if (stopping)
			return;
		t0 = now_ns();
		late_ns = t0 > deadline ? t0 - deadline : 0;
		a->late_us += late_ns / 1000.0;
		a->late_1ms += late_ns > 1000000;
		*head_free_ns = deadline;
		*head = off + len;
		a->requests++;
		a->bytes += len;
		if (seek_us == 0)
			a->sequential++;
		else
			a->seeks++;
		a->seek_us += seek_us;
		a->transfer_us += xfer_us;
		if (trace)
			fprintf(stderr, "nbd-seek: read off=%llu len=%u seek_us=%.1f transfer_us=%.1f\n",
				(unsigned long long)off, len, seek_us, xfer_us);
		if (simple_reply(fd, err, handle, buf, err ? 0 : len))
			return;
	}
}

static double number_arg(const char *name, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= 0)) {
		fprintf(stderr, "nbd-seek: --%s wants a number >= 0, got '%s'\n", name, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },	{ "image", required_argument, NULL, 'i' },
		{ "seek-min-us", required_argument, NULL, 'a' }, { "seek-max-us", required_argument, NULL, 'b' },
		{ "stroke-mib", required_argument, NULL, 'k' },	{ "rate-mibps", required_argument, NULL, 'r' },
		{ "rt-priority", required_argument, NULL, 'p' }, { "trace", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct model m = { .seek_min_us = 500, .seek_max_us = 4000 };
	double rate_mibps = 120, stroke_mib = 0, rt_priority = 0;
	const char *image = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction sig = { .sa_handler = on_signal };	/* no SA_RESTART: a signal ends blocking calls */
	uint64_t head = 0, head_free_ns = 0, size;
	struct stat st;
	int c, img, lfd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': socket_path = optarg; break;
		case 'i': image = optarg; break;
		case 'a': m.seek_min_us = number_arg("seek-min-us", optarg); break;
		case 'b': m.seek_max_us = number_arg("seek-max-us", optarg); break;
		case 'k': stroke_mib = number_arg("stroke-mib", optarg); break;
		case 'r': rate_mibps = number_arg("rate-mibps", optarg); break;
		case 'p': rt_priority = number_arg("rt-priority", optarg); break;
		case 't': trace = 1; break;
		default: exit(2);
		}
	}
	if (!socket_path || !image || optind != argc || rate_mibps <= 0 || m.seek_max_us < m.seek_min_us ||
	    strlen(socket_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: nbd-seek-server --socket PATH --image FILE [--seek-min-us N] [--seek-max-us N]"
				" [--stroke-mib N] [--rate-mibps N] [--rt-priority N] [--trace]  (seek-max >= seek-min, rate > 0)\n");
		exit(2);
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (rt_priority > 0) {
		struct sched_param sp = { .sched_priority = (int)rt_priority };

		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			fprintf(stderr, "nbd-seek: SCHED_FIFO %d not granted (%s): replies may wake late\n", sp.sched_priority,
				strerror(errno));
	}
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	sigaction(SIGHUP, &sig, NULL);
	signal(SIGPIPE, SIG_IGN);
	img = open(image, O_RDONLY);
	if (img < 0 || fstat(img, &st))
		fail(image);
	size = st.st_size;
	m.rate_bytes_per_us = rate_mibps * 1048576.0 / 1e6;
	m.stroke_bytes = stroke_mib > 0 ? stroke_mib * 1048576.0 : (size ? (double)size : 1.0);
	strcpy(sa.sun_path, socket_path);
	unlink(socket_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4))
		fail(socket_path);
	fprintf(stderr, "nbd-seek: serving %s (%llu bytes) on %s: seek %.0f..%.0f us over %.0f MiB, %.1f MiB/s\n", image,
		(unsigned long long)size, socket_path, m.seek_min_us, m.seek_max_us, m.stroke_bytes / 1048576.0, rate_mibps);
	while (!stopping) {
		struct account a = { 0 };
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fail("accept");
		}
		if (handshake(fd, size))
			serve(fd, img, size, &m, &head, &head_free_ns, &a);
		close(fd);
		if (a.requests || trace)
			fprintf(stderr,
				"nbd-seek: client done: requests=%llu bytes=%llu sequential=%llu seeks=%llu seek_us=%.0f transfer_us=%.0f late_us=%.0f late_1ms=%llu\n",
				(unsigned long long)a.requests, (unsigned long long)a.bytes, (unsigned long long)a.sequential,
				(unsigned long long)a.seeks, a.seek_us, a.transfer_us, a.late_us, (unsigned long long)a.late_1ms);
	}
	unlink(socket_path);
	return 0;
}
