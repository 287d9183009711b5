// SPDX-License-Identifier: GPL-2.0-only
/*
 * Owns the bulk scan of plain text dataset lines, compiled to WebAssembly (native/build-wasm.mjs) and, on x86-64,
 * natively (native/text-scan-addon.c, the SIMD through native/simd128-x86.h): the same contract as scanLines in
 * src/engine/data/text-scan.ts, which stays the reference and the fall-back.
 *
 * Why WebAssembly: in JavaScript the scan is bound by the chain from one number's end to the next number's
 * start (each load waits for the previous number's length), and the way around it, two lanes over the two
 * halves of a write in one loop, did not fit V8's inlining limit. Here two lanes cost nothing to write, a
 * number's first eight bytes are one 64-bit load, nothing is bounds-checked per byte, and the common
 * number (an integer of up to seven digits) runs no branch on its data. Lines of short integers (fixed-point
 * data) go sixteen bytes at a time with SIMD, four numbers converted per step, and no scalar work per number
 * (line_block); docs/ceilings-passes.md has the measurements. Built with SIMD: where WebAssembly SIMD cannot run,
 * the module does not compile and the JavaScript scan serves alone.
 *
 * The caller passes whole lines (the last byte a newline) at `input`, followed by at least PADDING bytes it may
 * read: loads reach up to PADDING bytes past the last newline, and what they find there decides nothing, since
 * every line and every number ends at or before its newline (the WebAssembly caller copies the lines and pads
 * them with zeros; the native one reads the caller's bytes where PADDING more follow).
 *
 * Values are those of Number() divided by the scale and rounded to a float32, as the reference computes them: a
 * mantissa below 2^53 and 10^k for k <= 22 are exact doubles, and one IEEE division of two exact doubles is
 * correctly rounded; an integer takes the multiply by 1/scale only below `exact_below`
 * (src/engine/data/fixed-point.ts proves that gives the same float32).
 */
typedef unsigned long long u64;
typedef long long s64;
typedef unsigned int u32;
typedef unsigned char u8;

#ifdef __wasm__
#include <wasm_simd128.h>
#define EXPORT(name) __attribute__((export_name(name)))
/* Every byte moved one place up (towards the higher address), a zero byte first. */
static inline v128_t bytes_up_one(v128_t v)
{
	return wasm_i8x16_shuffle(wasm_i8x16_splat(0), v, 0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
}
/* One module instance runs on one thread. */
#define PER_THREAD
#else
/* The native addon (native/text-scan-addon.c), on x86-64 only. */
#include "simd128-x86.h"
#define EXPORT(name)
/* An addon may be loaded by several worker threads at once. */
#define PER_THREAD _Thread_local
#endif

#define PADDING 16
#define MAX_ABS_VALUE 1e9
#define MAX_EXACT_MANTISSA 9007199254740991ull
/* A mantissa of at most 19 digits fits a u64 (10^19 - 1 < 2^64); longer ones go to the reference. */
#define MAX_MANTISSA_DIGITS 19

static const double pow10[23] = {
	1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,	1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
static const u64 pow10_int[9] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };

static inline u64 load64(const u8 *p)
{
	u64 v;

	__builtin_memcpy(&v, p, 8);
	return v;
}

/* Leading digit bytes of a little-endian word (the first byte is the low one): 0 to 8. */
static inline u32 leading_digits(u64 w)
{
	/* A byte is a digit when its high nibble is 3 and adding 6 keeps it 3; a carry out of a byte can only
	 * come from a byte >= 0xfa, a non-digit, beyond which nothing is read. */
	u64 not_digit = ((w & 0xf0f0f0f0f0f0f0f0ull) ^ 0x3030303030303030ull) |
			(((w + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) ^ 0x3030303030303030ull);

	return not_digit ? (u32)__builtin_ctzll(not_digit) >> 3 : 8;
}

/* The value of the first `digits` (1 to 8) digit bytes of a little-endian word. */
static inline u64 digits_value(u64 w, u32 digits)
{
	/* Move the digits to the top (zero bytes below them read as leading zeros), then add neighbours in
	 * pairs, the pairs in fours and the fours in one. */
	u64 v = (w & 0x0f0f0f0f0f0f0f0full) << (64 - 8 * digits);

	v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ffull;
	v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffffull;
	return (v * 10000 + (v >> 32)) & 0xffffffffull;
}

/* Digits from `p` on, added to `*mantissa`: returns how many, or MAX_MANTISSA_DIGITS + 1 once too many. */
static inline u32 read_digits(const u8 *p, u64 *mantissa)
{
	u32 total = 0;

	for (;;) {
		u64 w = load64(p + total);
		u32 k = leading_digits(w);

		if (k)
			*mantissa = *mantissa * pow10_int[k] + digits_value(w, k);
		total += k;
		if (k < 8)
			return total;
		if (total > MAX_MANTISSA_DIGITS - 8)
			return MAX_MANTISSA_DIGITS + 1;
	}
}

static inline double with_sign(double value, u32 negative)
{
	u64 bits;

	__builtin_memcpy(&bits, &value, 8);
	bits ^= (u64)negative << 63;
	__builtin_memcpy(&value, &bits, 8);
	return value;
}

/*
 * (value with the sign) / scale as a float32. IEEE rounding is symmetric, so wherever the sign goes this is the
 * reference's (-m / 10^f) / scale, -0 included; each target has it where its code runs fastest on lines of
 * decimals (bench/text-scan-builds.mjs --decimals).
 */
static inline float signed_quotient(double value, u32 negative, double scale)
{
#ifdef __wasm__
	/* V8: a bit flip of the double before the division (a multiply by -1 or 1 after it: 1.14 times as slow). */
	return (float)(with_sign(value, negative) / scale);
#else
	/* gcc, x86-64: a multiply by -1 or 1 after it (the bit flip before it: 1.15 times as slow). */
	return (float)(value / scale) * (1.0f - 2.0f * (float)negative);
#endif
}

/*
 * Plain lines sixteen bytes at a time (WebAssembly SIMD). A block's digit bytes form a 16-bit mask; a table
 * indexed by it holds the shuffle that gathers the digits of its first (up to) four complete numbers into four
 * 32-bit lanes, right-aligned, and how far that takes the line. A number is complete when a non-digit byte
 * follows it inside the block, so a block never ends inside a number it converts; a number of more than four
 * digits, or any byte other than a digit, '-', a blank or the newline, sends the line to line().
 */
#define BLOCK_BAD 0x8000u	/* a taken number has more than four digits */
#define BLOCK_ALL 0x4000u	/* every number of the block is complete and taken */
#define BLOCK_COUNT(meta) (((meta) >> 5) & 7)
#define BLOCK_SPAN(meta) ((meta) & 31)
/* Two pairs of lines in a row that the blocks did not take: the data are of another form (fractions, longer
 * numbers), and trying blocks on every line would cost a block each; the next scan() tries again. */
#define BLOCKS_MISSED_MAX 2

static u8 block_shuffle[65536][16] __attribute__((aligned(16)));
static unsigned short block_meta[65536];

/* One entry: the runs of set bits of `digits` are the block's numbers. */
static void block_entry(u32 digits, u8 *shuffle, unsigned short *meta)
{
	u32 count = 0, span = 16, bit = 0, bad = 0, all = 1;

	for (u32 i = 0; i < 16; i++)
		shuffle[i] = 0x80;	/* out of range: the lane byte reads as zero */
	while (bit < 16) {
		u32 start, end;

		if (!(digits >> bit & 1)) {
			bit++;
			continue;
		}
		start = bit;
		while (bit < 16 && (digits >> bit & 1))
			bit++;
		end = bit;
		if (end == 16 || count == 4) {
			/* Not complete, or no lane left: the next block starts before it (or, with nothing
			 * taken, at it, less a sign byte the caller keeps). A run reaching the block's end
			 * from the first dozen bytes has more than four digits. */
			all = 0;
			if (count == 0) {
				span = start;
				bad = start < 12;
			}
			break;
		}
		if (end - start > 4) {
			bad = 1;
			break;
		}
		for (u32 i = 0; i < end - start; i++)
			shuffle[4 * count + 4 - (end - start) + i] = (u8)(start + i);
		count++;
		span = end + 1;		/* the blank after it is this block's too */
	}
	*meta = (unsigned short)((bad ? BLOCK_BAD : 0) | (all ? BLOCK_ALL : 0) | count << 5 | span);
}

EXPORT("init_blocks") void init_blocks(void)
{
	for (u32 digits = 0; digits < 65536; digits++)
		block_entry(digits, block_shuffle[digits], &block_meta[digits]);
}

struct scan_params {
	u32 count;
	u32 max_rows;
	u32 max_line_bytes;
	double scale;
	double reciprocal;
	double exact_below;
	int multiply;		/* exact_below covers every integer of up to seven digits */
};

/*
 * The general form of a number at `p`: any digit count, a fraction, the value limit, the division. Returns
 * the byte after it, or 0 when the scan is not sure (not [+-]digits[.digits], too many digits to be exact,
 * beyond MAX_ABS_VALUE). Out of line: it costs a call, and keeping it out keeps the common path short.
 */
static __attribute__((noinline)) const u8 *number_general(const u8 *p, float *out, const struct scan_params *sp)
{
	u32 negative = *p == '-';
	u64 mantissa = 0;
	double value;
	int integer = 1;

	p += negative | (*p == '+');
	u32 digits = read_digits(p, &mantissa);

	if (digits == 0 || digits > MAX_MANTISSA_DIGITS)
		return 0;
	p += digits;
	if (*p == '.') {
		u32 fraction = read_digits(p + 1, &mantissa);

		if (fraction > 22 || digits + fraction > MAX_MANTISSA_DIGITS || mantissa > MAX_EXACT_MANTISSA)
			return 0;
		value = (double)(s64)mantissa / pow10[fraction];
		integer = 0;
		p += 1 + fraction;
	} else {
		/* At most 15 integer digits get here (read_digits stops at 16), so the mantissa is exact. */
		value = (double)(s64)mantissa;
	}
	if (value > MAX_ABS_VALUE)
		return 0;
	value = with_sign(value, negative);
	if (integer && value < sp->exact_below && value > -sp->exact_below)
		*out = (float)(value * sp->reciprocal);
	else
		*out = (float)(value / sp->scale);
	return p;
}

/*
 * One number at `p`, [+-]digits[.digits], scaled into `*out`: returns the byte after it (which the caller
 * must find to be a blank or a newline: that is what turns away an exponent or any other trailing byte),
 * or 0 when the scan is not sure. The common case, an integer of at most seven digits, takes one load and
 * no branch on the data: its value is below 10^7 < 2^24, so it is exact, within MAX_ABS_VALUE, and may take
 * the multiply whenever the scale allows one at all; anything else goes to number_general.
 */
static inline __attribute__((always_inline)) const u8 *number(const u8 *p, float *out, const struct scan_params *sp)
{
	u64 w = load64(p);
	u32 first = (u32)(w & 0xff);
	u32 negative = first == '-';
	u32 sign = negative | (first == '+');

	w >>= 8 * sign;
	u32 digits = leading_digits(w);
	const u8 *after = p + sign + digits;

	/* digits == 0, or as many as the word holds (more may follow): one unsigned comparison. */
	if (__builtin_expect(digits - 1 >= 7 - sign, 0))
		return number_general(p, out, sp);
	if (*after == '.') {
		/* A fraction of up to seven digits from one more load: at most 14 digits in all, an exact
		 * mantissa, and 10^fraction exact too; divided twice, as the reference does. */
		u64 f = load64(after + 1);
		u32 fraction = leading_digits(f);

		if (__builtin_expect(fraction == 8, 0))
			return number_general(p, out, sp);
		u64 mantissa = digits_value(w, digits) * pow10_int[fraction] + (fraction ? digits_value(f, fraction) : 0);
		double value = (double)(s64)mantissa / pow10[fraction];

		*out = signed_quotient(value, negative, sp->scale);
		return after + 1 + fraction;
	}
	if (__builtin_expect(!sp->multiply, 0))
		return number_general(p, out, sp);
	/* The sign as a bit flip: a select or branch on it costs a misprediction on every other number of
	 * mixed-sign data (V8 compiles a float select to a branch), and -0 must stay -0 as in the reference. */
	*out = (float)(with_sign((double)(s64)digits_value(w, digits), negative) * sp->reciprocal);
	return after;
}

/*
 * One line from `start`, every rule of the reference: leading blanks, numbers separated by spaces or tabs,
 * trailing blanks, a blank line. Returns the next line's start (`*row` 1 when it wrote a row), or 0 when it
 * does not take the line.
 */
static const u8 *line(const u8 *start, float *out, const struct scan_params *sp, u32 *row)
{
	const u8 *p = start;
	u32 n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\n') {
		for (;;) {
			u8 c;

			if (n == sp->count)
				return 0;
			p = number(p, out + n++, sp);
			if (!p)
				return 0;
			c = *p;
			if (c == '\n')
				break;
			if (c != ' ' && c != '\t')
				return 0;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\n')
				break;
		}
		if (n != sp->count)
			return 0;
	}
	if ((u32)(p - start) > sp->max_line_bytes)
		return 0;
	*row = n != 0;
	return p + 1;
}

/* A line being read in blocks: where its next block starts and how many numbers it has given. */
struct block_line {
	const u8 *start;
	const u8 *p;
	float *out;
	u32 n;
};

/*
 * The next block of a line (see block_shuffle): 1 when the line ended with it, 0 when it goes on, -1 when the
 * line is not sure. It takes only lines line() takes, with the values line() gives: an integer of at most four
 * digits is below 2^24, exact and within the value limit, and divided by a scale the multiply allows (the caller runs
 * it only when sp->multiply). Writes four floats at each step, up to three past the row (the caller leaves room).
 */
static inline __attribute__((always_inline)) int line_block(struct block_line *l, const struct scan_params *sp)
{
	v128_t b = wasm_v128_load(l->p);
	v128_t d = wasm_i8x16_sub(b, wasm_i8x16_splat('0'));
	v128_t minus = wasm_i8x16_eq(b, wasm_i8x16_splat('-'));
	v128_t newline = wasm_i8x16_eq(b, wasm_i8x16_splat('\n'));
	v128_t blank = wasm_v128_or(wasm_i8x16_eq(b, wasm_i8x16_splat(' ')), wasm_i8x16_eq(b, wasm_i8x16_splat('\t')));
	v128_t is_digit = wasm_u8x16_lt(d, wasm_i8x16_splat(10));
	u32 digits = wasm_i8x16_bitmask(is_digit);
	u32 m = wasm_i8x16_bitmask(minus);
	u32 nl = (u32)__builtin_ctz(wasm_i8x16_bitmask(newline) | 0x10000);
	u32 allowed = wasm_i8x16_bitmask(wasm_v128_or(wasm_v128_or(is_digit, minus), wasm_v128_or(newline, blank)));
	u32 key = digits & ((1u << nl) - 1);
	u32 meta = block_meta[key];
	u32 count = BLOCK_COUNT(meta);
	u32 line_end = nl < 16 && (meta & BLOCK_ALL);
	u32 span = line_end ? nl + 1 : BLOCK_SPAN(meta);

	if (meta & BLOCK_BAD)
		return -1;
	/* Nothing taken: a sign before the number the next block starts with goes with it. */
	if (!count && !line_end && (m >> (span - 1) & 1))
		span--;
	u32 in_span = (1u << span) - 1;
	/* Bytes of other kinds; a '-' not followed by a digit; a '-' right after a digit. (A line with more
	 * numbers than the row is turned away at its end; until then each number has taken two bytes at least,
	 * so its floats stay within the lane's room.) */
	if ((~allowed & in_span) | ((m & in_span) << 1 & ~digits) | (digits << 1 & m & in_span))
		return -1;

	v128_t shuffle = wasm_v128_load(block_shuffle[key]);
	v128_t gathered = wasm_i8x16_swizzle(d, shuffle);
	/* A lane is negative when the byte before its first digit is '-': the minus mask moved one byte up,
	 * gathered like the digits, is non-zero in that lane only then. */
	v128_t after_minus = bytes_up_one(minus);
	v128_t negative = wasm_v128_and(wasm_i32x4_ne(wasm_i8x16_swizzle(after_minus, shuffle), wasm_i32x4_splat(0)),
					wasm_i32x4_splat((int)0x80000000u));
	/* Digit pairs (the first byte is the high digit), then pairs of pairs: four values below 10^4. */
	v128_t pairs = wasm_i16x8_add(wasm_i16x8_mul(wasm_v128_and(gathered, wasm_i16x8_splat(0xff)), wasm_i16x8_splat(10)),
				      wasm_u16x8_shr(gathered, 8));
	v128_t values = wasm_i32x4_dot_i16x8(pairs, wasm_i32x4_splat(100 | 1 << 16));
	/* One float32 division: the value and the scale (an integer up to 2^24, as the multiply requires) are exact
	 * float32s, and a quotient rounded to double and then to float32 is the quotient rounded to float32 at once
	 * (double has more than twice float32's precision and two bits: no double rounding can differ), so this is
	 * the float32 of value / scale that the scalar path and the reference give. */
	v128_t scaled = wasm_f32x4_div(wasm_f32x4_convert_i32x4(values), wasm_f32x4_splat((float)sp->scale));

	wasm_v128_store(l->out + l->n, wasm_v128_xor(scaled, negative));
	l->n += count;
	l->p += span;
	if (!line_end)
		return 0;
	/* l->p is past the newline. */
	return l->n == sp->count && (u32)(l->p - 1 - l->start) <= sp->max_line_bytes ? 1 : -1;
}

/*
 * Two lines at once in blocks, one from each lane, block by block so that each line's wait for its next
 * block's start hides behind the other's work. Returns 1 when both lines were taken (and moves `*a`, `*b` past
 * them), 0 when either is not sure.
 */
static inline __attribute__((always_inline)) int line_pair_blocks(const u8 **a, float *out_a, const u8 **b, float *out_b,
								  const struct scan_params *sp)
{
	struct block_line x = { *a, *a, out_a, 0 }, y = { *b, *b, out_b, 0 };
	int x_done = 0, y_done = 0;

	while (!x_done || !y_done) {
		if (!x_done && (x_done = line_block(&x, sp)) < 0)
			return 0;
		if (!y_done && (y_done = line_block(&y, sp)) < 0)
			return 0;
	}
	*a = x.p;
	*b = y.p;
	return 1;
}

/*
 * Two lines at once, one from each lane, in their plainest form only: no leading or trailing blanks and one
 * space between numbers. Both loads of an iteration depend only on their own lane, so each lane's wait
 * for its next number's start hides behind the other's work. Returns 1 when both lines were taken.
 */
static inline __attribute__((always_inline)) int line_pair(const u8 **a, float *out_a, const u8 **b, float *out_b,
							   const struct scan_params *sp)
{
	const u8 *p = *a, *q = *b;
	u32 n;

	for (n = 0; n < sp->count; n++) {
		u8 want = n + 1 < sp->count ? ' ' : '\n';

		p = number(p, out_a + n, sp);
		q = number(q, out_b + n, sp);
		if (!p || !q || *p != want || *q != want)
			return 0;
		p++;
		q++;
	}
	if ((u32)(p - 1 - *a) > sp->max_line_bytes || (u32)(q - 1 - *b) > sp->max_line_bytes)
		return 0;
	*a = p;
	*b = q;
	return 1;
}

/*
 * Results, read by the caller after scan(): [0] offset to resume at, [1] rows, [2] lines passed, [3] how many of
 * the rows are at `rows` (the first lane's), [4] where the rest are (the second lane's), in floats from `rows`.
 */
static PER_THREAD u32 result[5];

EXPORT("result_address") u32 *result_address(void)
{
	return result;
}

static void finish(const u8 *input, const u8 *at, u32 rows, u32 lines)
{
	result[0] = (u32)(at - input);
	result[1] = rows;
	result[2] = lines;
	result[3] = rows;
	result[4] = 0;
}

/* One lane: a run of whole lines, and how far it got. */
struct lane {
	const u8 *p;		/* the next line's start, or the line it stopped on */
	float *out;		/* its rows */
	u32 *row_ends;		/* for each row: the offset past it and the lines passed up to it */
	u32 rows;
	u32 lines;
	int stopped;
};

/* The first lane's rows, and as many of the second's as `rows` allows, which stay where that lane wrote them. */
static void finish_lanes(const u8 *input, const u8 *at, u32 rows, u32 lines, const struct lane *a, const float *b_out,
			 const float *out)
{
	finish(input, at, rows, lines);
	result[3] = a->rows;
	result[4] = (u32)(b_out - out);
}

static inline float *lane_row(const struct lane *l, const struct scan_params *sp)
{
	return l->out + l->rows * sp->count;
}

static inline void took_line(struct lane *l, const u8 *next, u32 row, const u8 *input)
{
	l->p = next;
	l->lines++;
	if (row) {
		l->row_ends[2 * l->rows] = (u32)(next - input);
		l->row_ends[2 * l->rows + 1] = l->lines;
		l->rows++;
	}
}

/* The lane's next line by every rule: 1 when taken, 0 when the lane stops on it. */
static int lane_line(struct lane *l, const struct scan_params *sp, const u8 *input)
{
	u32 row;
	const u8 *next = line(l->p, lane_row(l, sp), sp, &row);

	if (!next) {
		l->stopped = 1;
		return 0;
	}
	took_line(l, next, row, input);
	return 1;
}

/*
 * Scan `input[0, length)` (whole lines, length >= 1) into `rows` (room for length / 2 + 8 floats) with
 * `row_ends` as scratch (room for length + 2 u32s): at most `max_rows` rows, stopping at the first line it
 * does not take. Two lanes: the input's halves, split at a line start, scanned in one loop, the second into
 * the back of `rows`; its rows count only if the first lane took every line of its half, and only as many
 * as `max_rows` allows.
 */
EXPORT("scan") void scan(const u8 *input, u32 length, float *rows, u32 *row_ends, u32 count, u32 max_rows,
			 u32 max_line_bytes, double scale, double reciprocal, double exact_below)
{
	const struct scan_params sp = { count, max_rows, max_line_bytes, scale, reciprocal, exact_below,
					 exact_below >= 1e7 };
	const u8 *end = input + length;
	const u8 *mid = input + length / 2;
	struct lane a, b;
	/* Pairs in a row the blocks did not take: at BLOCKS_MISSED_MAX (or without the multiply) they stop trying. */
	u32 blocks_missed = sp.multiply ? 0 : BLOCKS_MISSED_MAX;

	while (mid > input && mid < end && mid[-1] != '\n')
		mid++;
	/* A number and its separator take at least two bytes: a lane of n bytes writes at most n / 2 floats
	 * (and line_block up to three more past its last row) and n / 2 rows (two u32s of row ends each). The
	 * second lane's go behind the first lane's room. */
	a = (struct lane){ .p = input, .out = rows, .row_ends = row_ends };
	b = (struct lane){ .p = mid, .out = rows + (mid - input) / 2 + 4, .row_ends = row_ends + (mid - input) + 2 };
	while (a.p < mid && b.p < end && a.rows < max_rows && b.rows < max_rows && !b.stopped) {
		const u8 *next_a = a.p, *next_b = b.p;

		int taken;

		/* Blocks while they keep taking lines; plain lines they do not take, number by number. */
		if (blocks_missed < BLOCKS_MISSED_MAX &&
		    line_pair_blocks(&next_a, lane_row(&a, &sp), &next_b, lane_row(&b, &sp), &sp)) {
			blocks_missed = 0;
			taken = 1;
		} else {
			blocks_missed++;
			taken = line_pair(&next_a, lane_row(&a, &sp), &next_b, lane_row(&b, &sp), &sp);
		}
		if (taken) {
			took_line(&a, next_a, 1, input);
			took_line(&b, next_b, 1, input);
			continue;
		}
		/* Not both plain: each line by every rule; the first lane stopping ends the scan. */
		if (!lane_line(&a, &sp, input))
			return finish(input, a.p, a.rows, a.lines);
		lane_line(&b, &sp, input);
	}
	while (a.p < mid && a.rows < max_rows)
		if (!lane_line(&a, &sp, input))
			return finish(input, a.p, a.rows, a.lines);
	if (a.rows >= max_rows || mid == end)
		return finish(input, a.p, a.rows, a.lines);
	while (!b.stopped && b.p < end && b.rows < max_rows)
		lane_line(&b, &sp, input);

	/* The second lane's rows follow the first's, as many as the limit leaves room for; the caller copies them
	 * from where that lane wrote them (moving them here would be one more copy). */
	u32 taken = b.rows < max_rows - a.rows ? b.rows : max_rows - a.rows;

	if (taken < b.rows)
		return finish_lanes(input, input + b.row_ends[2 * (taken - 1)], a.rows + taken,
				    a.lines + b.row_ends[2 * (taken - 1) + 1], &a, b.out, rows);
	return finish_lanes(input, b.p, a.rows + taken, a.lines + b.lines, &a, b.out, rows);
}
