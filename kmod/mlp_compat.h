/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Types shared by the pure-C parts of mlproxy_kmod (mlp_wire.c, mlp_synth.c)
 * so they build unchanged in the kernel and as a host program for unit tests
 * (make -C kmod hosttest).  Nothing here may use floating point.
 */
#ifndef MLP_COMPAT_H
#define MLP_COMPAT_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/kernel.h>
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/limits.h>
#include <linux/math64.h>
#else
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * linux/math64.h for the host build: a 32-bit kernel has no libgcc for a
 * C division of a 64-bit operand, so the shared code divides through
 * these.  make check-div64 compiles it for i386 with them left undefined,
 * where any other 64-bit division shows as a call to libgcc.
 */
#ifdef MLP_CHECK_DIV64
u64 div_u64_rem(u64 dividend, u32 divisor, u32 *remainder);
u64 div_u64(u64 dividend, u32 divisor);
s64 div_s64(s64 dividend, s32 divisor);
u64 div64_u64(u64 dividend, u64 divisor);
s64 div64_s64(s64 dividend, s64 divisor);
#else
static inline u64 div_u64_rem(u64 dividend, u32 divisor, u32 *remainder)
{
	*remainder = (u32)(dividend % divisor);
	return dividend / divisor;
}

static inline u64 div_u64(u64 dividend, u32 divisor)
{
	return dividend / divisor;
}

static inline s64 div_s64(s64 dividend, s32 divisor)
{
	return dividend / divisor;
}

static inline u64 div64_u64(u64 dividend, u64 divisor)
{
	return dividend / divisor;
}

static inline s64 div64_s64(s64 dividend, s64 divisor)
{
	return dividend / divisor;
}
#endif /* MLP_CHECK_DIV64 */
#endif

#endif /* MLP_COMPAT_H */
