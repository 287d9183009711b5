// SPDX-License-Identifier: GPL-2.0-only
/*
 * Owns the fast half of the MLDS range check, compiled to WebAssembly with SIMD (native/build-wasm.mjs): whether
 * every int32 of a run is surely within ±MAX_ABS_VALUE, four at a time. src/engine/data/fixed-point.ts's
 * firstBeyond keeps the exact rule and the answer when this one says "not sure".
 *
 * Why here: in JavaScript the same test (an OR of every value's magnitude bits) costs about 0.5 ns a value, most
 * of what an MLDS write costs beyond its copy; with i32x4 lanes it costs a copy into this module's memory and a
 * few instructions for every sixteen values (docs/ceilings-passes.md, seventh pass).
 *
 * The test: v + 2^29 lies in [0, 2^30) exactly when -2^29 <= v < 2^29, and an OR of values in [0, 2^30) stays
 * there, so one OR over the whole run, tested for its top two bits, says whether every value passes. 2^29 is
 * below 1e9 = MAX_ABS_VALUE, so "surely within" never lets a value beyond through; a value of 2^29 or more that
 * is allowed sends the run to the exact rule, which real fixed-point data of a sane scale never reaches.
 */
#include <wasm_simd128.h>

#define BIAS 0x20000000u /* 2^29 */

/* 1 when every one of `ints[0, count)` is within [-2^29, 2^29), 0 when one may not be. */
__attribute__((export_name("surely_within"))) int surely_within(const int *ints, unsigned int count)
{
	const v128_t bias = wasm_u32x4_splat(BIAS);
	v128_t a = wasm_u32x4_splat(0), b = a, c = a, d = a;
	unsigned int i = 0, rest = 0;

	/* Four independent ORs, so that each load waits for nothing but its address. */
	for (; i + 16 <= count; i += 16) {
		a = wasm_v128_or(a, wasm_i32x4_add(wasm_v128_load(ints + i), bias));
		b = wasm_v128_or(b, wasm_i32x4_add(wasm_v128_load(ints + i + 4), bias));
		c = wasm_v128_or(c, wasm_i32x4_add(wasm_v128_load(ints + i + 8), bias));
		d = wasm_v128_or(d, wasm_i32x4_add(wasm_v128_load(ints + i + 12), bias));
	}
	for (; i < count; i++)
		rest |= (unsigned int)ints[i] + BIAS;
	a = wasm_v128_or(wasm_v128_or(a, b), wasm_v128_or(c, d));
	a = wasm_v128_or(a, wasm_u32x4_splat(rest));
	/* Bits 31 and 30 of any lane: the sign bits of the lanes and of the lanes shifted left by one. */
	return (wasm_i32x4_bitmask(a) | wasm_i32x4_bitmask(wasm_i32x4_shl(a, 1))) == 0;
}
