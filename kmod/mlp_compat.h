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
#endif

#endif /* MLP_COMPAT_H */
