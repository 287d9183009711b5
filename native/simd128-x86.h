/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Owns the few WebAssembly SIMD operations native/text-scan.c uses, written as x86-64 SSE (SSSE3 and SSE4.1), so
 * that the one source builds both the committed WebAssembly module and the native addon
 * (native/text-scan-addon.c). Each keeps its WebAssembly meaning for the inputs the scan gives it; where the two
 * instruction sets differ, the comment says why the difference cannot show.
 */
#ifndef MLPROXY_SIMD128_X86_H
#define MLPROXY_SIMD128_X86_H

#include <immintrin.h>

typedef __m128i v128_t;

static inline v128_t wasm_v128_load(const void *p)
{
	return _mm_loadu_si128((const __m128i *)p);
}

static inline void wasm_v128_store(void *p, v128_t v)
{
	_mm_storeu_si128((__m128i *)p, v);
}

static inline v128_t wasm_i8x16_splat(int c)
{
	return _mm_set1_epi8((char)c);
}

static inline v128_t wasm_i16x8_splat(int c)
{
	return _mm_set1_epi16((short)c);
}

static inline v128_t wasm_i32x4_splat(int c)
{
	return _mm_set1_epi32(c);
}

static inline v128_t wasm_f32x4_splat(float f)
{
	return _mm_castps_si128(_mm_set1_ps(f));
}

#define wasm_v128_and _mm_and_si128
#define wasm_v128_or _mm_or_si128
#define wasm_v128_xor _mm_xor_si128
#define wasm_i8x16_sub _mm_sub_epi8
#define wasm_i8x16_eq _mm_cmpeq_epi8
#define wasm_i16x8_add _mm_add_epi16
#define wasm_i16x8_mul _mm_mullo_epi16
#define wasm_u16x8_shr _mm_srli_epi16
#define wasm_i32x4_dot_i16x8 _mm_madd_epi16

/* Unsigned a < b: a differs from the larger of the two. */
static inline v128_t wasm_u8x16_lt(v128_t a, v128_t b)
{
	return _mm_andnot_si128(_mm_cmpeq_epi8(_mm_max_epu8(a, b), a), _mm_set1_epi8(-1));
}

static inline v128_t wasm_i32x4_ne(v128_t a, v128_t b)
{
	return _mm_andnot_si128(_mm_cmpeq_epi32(a, b), _mm_set1_epi32(-1));
}

static inline unsigned wasm_i8x16_bitmask(v128_t v)
{
	return (unsigned)_mm_movemask_epi8(v);
}

/*
 * WebAssembly gives a zero byte for an index of 16 or more, pshufb for an index with its top bit set and otherwise
 * takes the index's low four bits. The scan's indices are 0 to 15 or 0x80 (block_shuffle), where both agree.
 */
#define wasm_i8x16_swizzle _mm_shuffle_epi8

static inline v128_t wasm_f32x4_convert_i32x4(v128_t v)
{
	return _mm_castps_si128(_mm_cvtepi32_ps(v));
}

static inline v128_t wasm_f32x4_div(v128_t a, v128_t b)
{
	return _mm_castps_si128(_mm_div_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b)));
}

/* Every byte moved one place up (towards the higher address), a zero byte first. */
static inline v128_t bytes_up_one(v128_t v)
{
	return _mm_slli_si128(v, 1);
}

#endif
