// SPDX-License-Identifier: GPL-2.0-only
/*
 * Owns the native build of the bulk text scan: native/text-scan.c compiled for x86-64 (SSE through
 * native/simd128-x86.h) behind a Node-API function with the contract of scanLinesInJs in
 * src/engine/data/text-scan.ts, fed whole lines a window at a time as src/engine/data/wasm-scanner.ts feeds the
 * WebAssembly build of the same source. Built by native/build-text-scan.mjs; loaded by
 * src/engine/data/native-scanner.ts, which falls back to the WebAssembly build when it is absent.
 *
 * Why a native build of code that already runs as WebAssembly: V8's SIMD code for it takes about 1.4 times as long
 * per line (docs/ceilings-passes.md, sixteenth pass), and the scan is most of a text dataset write.
 *
 * scanLines(buf, at, last, count, scale, reciprocal, exactBelow, out, outAt, maxRows, maxLineBytes, cursor)
 *   buf          Uint8Array; buf[last] is a newline
 *   at           where the scan starts (a line start)
 *   out, outAt   Float32Array and the float index of the first row's first value
 *   cursor       Uint32Array of 3: set to [the offset it stopped at, rows taken, lines passed]
 *   reciprocal, exactBelow   1 / scale and reciprocalLimit(scale) (src/engine/data/fixed-point.ts)
 * Throws TypeError or RangeError on arguments that would make it read or write outside them.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "text-scan.c"

/* The first window after a scan stopped on a line, and the largest (wasm-scanner.ts says why). */
#define WINDOW_MIN 1024u
#define WINDOW_MAX 16384u
#define ARGS 12

/* One per Node-API environment (the main thread, each worker thread that loads the addon). */
struct scanner {
	u8 *input;		/* whole lines and PADDING zero bytes */
	float *rows;		/* room for length / 2 + 8 floats (text-scan.c's scan()) */
	u32 *row_ends;		/* room for length + 2 u32s */
	size_t room;		/* the longest window the three have room for */
	u32 window;		/* the next call's first window */
	u32 row_bytes;		/* bytes per row of the last window that took rows, 0 before one did */
};

static pthread_once_t blocks_once = PTHREAD_ONCE_INIT;

static void free_scanner(napi_env env, void *data, void *hint)
{
	struct scanner *s = data;

	(void)env;
	(void)hint;
	free(s->input);
	free(s->rows);
	free(s->row_ends);
	free(s);
}

static int make_room(struct scanner *s, size_t length)
{
	size_t room = s->room;

	if (length <= room)
		return 1;
	while (room < length)
		room = room ? 2 * room : WINDOW_MAX;
	free(s->input);
	free(s->rows);
	free(s->row_ends);
	s->input = aligned_alloc(16, (room + PADDING + 15) & ~(size_t)15);
	s->rows = malloc(sizeof(float) * (room / 2 + 8));
	s->row_ends = malloc(sizeof(u32) * (room + 2));
	s->room = s->input && s->rows && s->row_ends ? room : 0;
	return s->room != 0;
}

static napi_value throw_error(napi_env env, int range, const char *message)
{
	if (range)
		napi_throw_range_error(env, NULL, message);
	else
		napi_throw_type_error(env, NULL, message);
	return NULL;
}

/* A typed array of the given type: its data and length in elements, or NULL. */
static void *typed_array(napi_env env, napi_value value, napi_typedarray_type want, size_t *length)
{
	napi_typedarray_type type;
	napi_value buffer;
	size_t offset;
	void *data;
	bool is;

	if (napi_is_typedarray(env, value, &is) != napi_ok || !is)
		return NULL;
	if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok || type != want)
		return NULL;
	return data ? data : (void *)"";
}

static int get_u32(napi_env env, napi_value value, u32 *out)
{
	double d;

	if (napi_get_value_double(env, value, &d) != napi_ok || !(d >= 0 && d <= 4294967295.0) || d != (double)(u32)d)
		return 0;
	*out = (u32)d;
	return 1;
}

static int get_double(napi_env env, napi_value value, double *out)
{
	return napi_get_value_double(env, value, out) == napi_ok;
}

/* The last newline in [from, to], or NULL. */
static const u8 *last_newline(const u8 *from, const u8 *to)
{
	for (const u8 *p = to; p >= from; p--)
		if (*p == '\n')
			return p;
	return NULL;
}

static napi_value scan_lines(napi_env env, napi_callback_info info)
{
	size_t argc = ARGS;
	napi_value argv[ARGS];
	struct scanner *s;
	size_t buf_length, out_length, cursor_length;
	u32 at, last, count, out_at, max_rows, max_line_bytes, rows = 0, lines = 0;
	double scale, reciprocal, exact_below;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&s) != napi_ok || argc != ARGS)
		return throw_error(env, 0, "scanLines takes 12 arguments");
	const u8 *buf = typed_array(env, argv[0], napi_uint8_array, &buf_length);
	float *out = typed_array(env, argv[7], napi_float32_array, &out_length);
	u32 *cursor = typed_array(env, argv[11], napi_uint32_array, &cursor_length);

	if (!buf || !out || !cursor || cursor_length < 3)
		return throw_error(env, 0, "scanLines: buf must be a Uint8Array, out a Float32Array, cursor a Uint32Array(3)");
	if (!get_u32(env, argv[1], &at) || !get_u32(env, argv[2], &last) || !get_u32(env, argv[3], &count) ||
	    !get_u32(env, argv[8], &out_at) || !get_u32(env, argv[9], &max_rows) || !get_u32(env, argv[10], &max_line_bytes) ||
	    !get_double(env, argv[4], &scale) || !get_double(env, argv[5], &reciprocal) || !get_double(env, argv[6], &exact_below))
		return throw_error(env, 0, "scanLines: offsets and counts must be integers from 0 to 2^32 - 1, the scale numbers");
	if (last >= buf_length || buf[last] != '\n' || at > last + 1)
		return throw_error(env, 1, "scanLines: buf[last] must be a newline at or after at");
	if (count == 0)
		return throw_error(env, 1, "scanLines: a row holds at least one number");

	while (at <= last && rows < max_rows) {
		/* Whole lines: the window ends on a newline, or is one line longer than the window. Near the rows'
		 * limit it holds about the lines still wanted (a line more). */
		u64 wanted = s->row_bytes ? (u64)(max_rows - rows + 1) * s->row_bytes : (u64)-1;
		u64 span = wanted < s->window ? wanted : s->window;
		u32 limit = (u64)at + span - 1 < last ? (u32)(at + span - 1) : last;
		const u8 *end = last_newline(buf + at, buf + limit);

		if (!end) {
			end = memchr(buf + at, '\n', last + 1 - at);
			if ((u32)(end - (buf + at)) > max_line_bytes)
				break;	/* a line longer than allowed: the scan would stop on it */
		}
		u32 length = (u32)(end + 1 - (buf + at));

		if (!make_room(s, length))
			return throw_error(env, 1, "scanLines: out of memory");
		/* The scan reads up to PADDING bytes past the window's last newline and takes nothing from them
		 * (text-scan.c), so it reads the caller's bytes where they lie, and a copy only near their end. */
		const u8 *input = buf + at;

		if ((u64)at + length + PADDING > buf_length) {
			memcpy(s->input, input, length);
			memset(s->input + length, 0, PADDING);
			input = s->input;
		}
		/* The rows go straight to `out` when the caller's room from there (maxRows) holds all the scan may
		 * write (length / 2 + 8 floats: text-scan.c's scan()); else to our own room, then copied. */
		float *dest = out + out_at + (size_t)rows * count;
		u64 room_floats = (u64)(max_rows - rows) * count;
		int in_place = (u64)length / 2 + 8 <= room_floats && (u64)out_at + (u64)max_rows * count <= out_length;
		float *written = in_place ? dest : s->rows;

		scan(input, length, written, s->row_ends, count, max_rows - rows, max_line_bytes, scale, reciprocal,
		     exact_below);

		u32 resume = result[0], taken = result[1], passed = result[2], first_lane = result[3];

		if ((u64)out_at + (u64)(rows + taken) * count > out_length)
			return throw_error(env, 1, "scanLines: out has no room for maxRows rows from outAt");
		/* The first lane's rows, then the second lane's from where it wrote them (text-scan.c's result). */
		if (!in_place)
			memcpy(dest, written, sizeof(float) * first_lane * count);
		if (taken > first_lane)
			memmove(dest + (size_t)first_lane * count, written + result[4],
				sizeof(float) * (taken - first_lane) * count);
		rows += taken;
		lines += passed;
		at += resume;
		if (taken)
			s->row_bytes = (resume + taken - 1) / taken;
		if (resume < length) {
			/* Stopped on a line it does not take (the next call starts small), or at the row limit. */
			if (rows < max_rows)
				s->window = WINDOW_MIN;
			break;
		}
		s->window = 2 * s->window < WINDOW_MAX ? 2 * s->window : WINDOW_MAX;
	}
	cursor[0] = at;
	cursor[1] = rows;
	cursor[2] = lines;
	return NULL;
}

NAPI_MODULE_INIT()
{
	struct scanner *s;
	napi_value fn;

	if (!__builtin_cpu_supports("ssse3")) {
		napi_throw_error(env, NULL, "text-scan: this CPU has no SSSE3");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		napi_throw_error(env, NULL, "text-scan: out of memory");
		return NULL;
	}
	s->window = WINDOW_MIN;
	pthread_once(&blocks_once, init_blocks);
	if (napi_set_instance_data(env, s, free_scanner, NULL) != napi_ok ||
	    napi_create_function(env, "scanLines", NAPI_AUTO_LENGTH, scan_lines, s, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "scanLines", fn) != napi_ok)
		return NULL;
	return exports;
}
