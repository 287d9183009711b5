/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mlp_wire: the byte formats mlproxy_kmod exchanges with the mlproxy FUSE
 * server (docs/protocol.md), as pure C without floating point.  Everything
 * the server sends is untrusted: the parsers are strict and bounded.
 */
#ifndef MLP_WIRE_H
#define MLP_WIRE_H

#include "mlp_compat.h"

/* Binary dataset stream header: "MLDS", version 1, 16 bytes, little endian. */
#define MLP_DS_MAGIC		0x53444C4Du
#define MLP_DS_VERSION		1
#define MLP_DS_HEADER_BYTES	16

/* Most values one text line may carry (inputs or outputs of one sample). */
#define MLP_WIRE_MAX_VALUES	16

/* Bytes one formatted s32 may take with its separator: "-2147483648 ". */
#define MLP_WIRE_VALUE_CHARS	12

/* Query lines mlproxy accepts in one recommendation write (docs/protocol.md). */
#define MLP_WIRE_MAX_QUERIES	4096

/* Words in the mode and state files: one per enum value below the _MAX. */
#define MLP_WIRE_NR_MODES	5
#define MLP_WIRE_NR_STATES	7

/*
 * Largest magnitude a parsed integer may have before it is rejected as
 * junk outright (18 digits keeps the arithmetic inside s64).
 */
#define MLP_WIRE_PARSE_LIMIT	999999999999999999LL

/* Words of the mode and state files, indexed like the ml_lib enums. */
extern const char *const mlp_wire_mode_words[];
extern const unsigned int mlp_wire_nr_mode_words;
extern const char *const mlp_wire_state_words[];
extern const unsigned int mlp_wire_nr_state_words;

int mlp_wire_ds_header(u8 *buf, size_t len, u16 inputs, u16 outputs);
int mlp_wire_ds_record(u8 *buf, size_t len, const s32 *vals, unsigned int n);
int mlp_wire_format_line(char *buf, size_t len, const s32 *vals, unsigned int n);
int mlp_wire_parse_line(const char **pos, const char *end, s64 *vals,
			unsigned int n);
int mlp_wire_check_value(s64 v, s32 min, s32 max, s32 slack, s32 *out);
int mlp_wire_parse_word(const char *buf, size_t len,
			const char *const *words, unsigned int nwords);
int mlp_wire_parse_u32(const char *buf, size_t len, u32 max, u32 *out);
int mlp_wire_check_version(const char *buf, size_t len);
int mlp_wire_format_feedback(char *buf, size_t len, const char *who,
			     u32 efficiency_permil);

#endif /* MLP_WIRE_H */
