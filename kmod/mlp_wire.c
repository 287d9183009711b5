// SPDX-License-Identifier: GPL-2.0-only
/*
 * mlp_wire: encode samples and feedback for mlproxy, decode what it
 * answers.  Shared by the kernel module and the host unit tests, so it uses
 * only mlp_compat.h and never touches floating point.
 *
 * Every decoder returns 0 or a positive count on success and a negative
 * errno otherwise: -EINVAL for bytes that are not the expected format,
 * -ERANGE for well-formed numbers outside what the caller allows, -ENOSPC
 * when an output buffer is too small.
 */
#include "mlp_wire.h"

/* Must match enum ml_lib_system_mode (ml_lib.h): index = numeric value. */
const char *const mlp_wire_mode_words[] = {
	"unknown", "emergency", "learning", "collaboration", "recommendation",
};
const unsigned int mlp_wire_nr_mode_words = ARRAY_SIZE(mlp_wire_mode_words);
static_assert(ARRAY_SIZE(mlp_wire_mode_words) == MLP_WIRE_NR_MODES);

/* Must match the ML_LIB_MODEL_* state values (ml_lib.h). */
const char *const mlp_wire_state_words[] = {
	"unknown", "created", "initialized", "started", "running", "stopped",
	"shutting_down",
};
const unsigned int mlp_wire_nr_state_words = ARRAY_SIZE(mlp_wire_state_words);
static_assert(ARRAY_SIZE(mlp_wire_state_words) == MLP_WIRE_NR_STATES);

static void put_le16(u8 *p, u16 v)
{
	p[0] = (u8)(v & 0xff);
	p[1] = (u8)(v >> 8);
}

static void put_le32(u8 *p, u32 v)
{
	p[0] = (u8)(v & 0xff);
	p[1] = (u8)((v >> 8) & 0xff);
	p[2] = (u8)((v >> 16) & 0xff);
	p[3] = (u8)(v >> 24);
}

/* The 16-byte header that opens a binary dataset stream on one fd. */
int mlp_wire_ds_header(u8 *buf, size_t len, u16 inputs, u16 outputs)
{
	if (len < MLP_DS_HEADER_BYTES)
		return -ENOSPC;
	if (!inputs || !outputs)
		return -EINVAL;
	put_le32(buf, MLP_DS_MAGIC);
	put_le16(buf + 4, MLP_DS_VERSION);
	put_le16(buf + 6, MLP_DS_HEADER_BYTES);
	put_le16(buf + 8, inputs);
	put_le16(buf + 10, outputs);
	put_le32(buf + 12, 0);
	return MLP_DS_HEADER_BYTES;
}

/* One record: n s32 values, little endian; returns the bytes written. */
int mlp_wire_ds_record(u8 *buf, size_t len, const s32 *vals, unsigned int n)
{
	unsigned int i;

	if (!n || n > MLP_WIRE_MAX_VALUES)
		return -EINVAL;
	if (len < (size_t)n * 4)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		put_le32(buf + 4 * i, (u32)vals[i]);
	return (int)(n * 4);
}

/* Decimal text of v into buf (no terminator); returns the digits used. */
static int put_decimal(char *buf, size_t len, s64 v)
{
	char tmp[24];
	unsigned int n = 0, i = 0;
	u64 mag = v < 0 ? (u64)0 - (u64)v : (u64)v;

	do {
		tmp[n++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag);
	if (v < 0)
		tmp[n++] = '-';
	if (len < n)
		return -ENOSPC;
	while (n)
		buf[i++] = tmp[--n];
	return (int)i;
}

/*
 * "v0 v1 ... vn-1\n" into buf, NUL-terminated when there is room; returns
 * the length without the terminator.
 */
int mlp_wire_format_line(char *buf, size_t len, const s32 *vals, unsigned int n)
{
	size_t used = 0;
	unsigned int i;
	int r;

	if (!n || n > MLP_WIRE_MAX_VALUES)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (i) {
			if (used >= len)
				return -ENOSPC;
			buf[used++] = ' ';
		}
		r = put_decimal(buf + used, len - used, vals[i]);
		if (r < 0)
			return r;
		used += r;
	}
	if (used >= len)
		return -ENOSPC;
	buf[used++] = '\n';
	if (used < len)
		buf[used] = '\0';
	return (int)used;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parse one line of exactly n decimal integers separated by blanks and
 * ended by '\n' or the end of the buffer.  *pos advances past the line.
 * Accepts an optional leading '-' per value and surrounding blanks; rejects
 * anything else (signs alone, '+', decimal points, exponents, extra or
 * missing values) with -EINVAL and more than 18 digits with -ERANGE.
 */
int mlp_wire_parse_line(const char **pos, const char *end, s64 *vals,
			unsigned int n)
{
	const char *p = *pos;
	unsigned int got = 0;

	if (!n || n > MLP_WIRE_MAX_VALUES || p >= end)
		return -EINVAL;
	for (;;) {
		bool neg = false;
		unsigned int digits = 0;
		s64 v = 0;

		while (p < end && is_blank(*p))
			p++;
		if (p == end || *p == '\n')
			break;
		if (got == n)
			return -EINVAL;	/* more values than expected */
		if (*p == '-') {
			neg = true;
			p++;
		}
		while (p < end && *p >= '0' && *p <= '9') {
			if (++digits > 18)
				return -ERANGE;
			v = v * 10 + (*p - '0');
			p++;
		}
		if (!digits)
			return -EINVAL;
		if (p < end && !is_blank(*p) && *p != '\n')
			return -EINVAL;	/* "12abc", "1.5", "1e3" */
		vals[got++] = neg ? -v : v;
	}
	if (got != n)
		return -EINVAL;
	if (p < end)
		p++;		/* the '\n' */
	*pos = p;
	return 0;
}

/*
 * Validate one recommended value against the subsystem's range [min, max]:
 * a value up to slack outside is clamped (returns 1), anything further out
 * is rejected (-ERANGE), an in-range value is taken as is (returns 0).
 */
int mlp_wire_check_value(s64 v, s32 min, s32 max, s32 slack, s32 *out)
{
	if (min > max || slack < 0)
		return -EINVAL;
	if (v < (s64)min - slack || v > (s64)max + slack)
		return -ERANGE;
	if (v < min) {
		*out = min;
		return 1;
	}
	if (v > max) {
		*out = max;
		return 1;
	}
	*out = (s32)v;
	return 0;
}

/* Length of buf without one trailing newline. */
static size_t chomp_len(const char *buf, size_t len)
{
	if (len && buf[len - 1] == '\n')
		len--;
	return len;
}

/*
 * Exact, newline-tolerant match of a one-word file against words[]:
 * returns the index, or -EINVAL ("st", "started\n\n", "" all fail).
 */
int mlp_wire_parse_word(const char *buf, size_t len,
			const char *const *words, unsigned int nwords)
{
	unsigned int i;

	len = chomp_len(buf, len);
	if (!len)
		return -EINVAL;
	for (i = 0; i < nwords; i++) {
		if (strlen(words[i]) == len && !memcmp(buf, words[i], len))
			return (int)i;
	}
	return -EINVAL;
}

/* A one-number file: decimal digits only, at most max. */
int mlp_wire_parse_u32(const char *buf, size_t len, u32 max, u32 *out)
{
	u64 v = 0;
	size_t i;

	len = chomp_len(buf, len);
	if (!len || len > 10)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		v = v * 10 + (u64)(buf[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = (u32)v;
	return 0;
}

/*
 * The mount's version file must read "mlproxy <version> abi 1": this is
 * how the module tells an mlproxy mount from a plain directory or a
 * different ABI.
 */
int mlp_wire_check_version(const char *buf, size_t len)
{
	static const char prefix[] = "mlproxy ";
	static const char abi[] = " abi 1";
	const size_t plen = sizeof(prefix) - 1, alen = sizeof(abi) - 1;
	size_t i;

	len = chomp_len(buf, len);
	if (len < plen + 1 + alen || memcmp(buf, prefix, plen) ||
	    memcmp(buf + len - alen, abi, alen))
		return -EPROTO;
	for (i = plen; i < len - alen; i++) {
		if (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\0')
			return -EPROTO;
	}
	return 0;
}

/* "<who> <efficiency_permil>\n" for the feedback file; who is ml|default|fallback. */
int mlp_wire_format_feedback(char *buf, size_t len, const char *who,
			     u32 efficiency_permil)
{
	size_t wlen = strlen(who);
	int r;

	if (len < wlen + 2)
		return -ENOSPC;
	memcpy(buf, who, wlen);
	buf[wlen] = ' ';
	r = put_decimal(buf + wlen + 1, len - wlen - 1, efficiency_permil);
	if (r < 0)
		return r;
	r += (int)wlen + 1;
	if ((size_t)r >= len)
		return -ENOSPC;
	buf[r++] = '\n';
	if ((size_t)r < len)
		buf[r] = '\0';
	return r;
}
