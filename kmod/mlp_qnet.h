/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mlp_qnet: the integer network mlproxy exports as the model file `qnet`
 * (docs/kernel-module.md, "Integer network format and arithmetic"): a
 * strict validating parser and the evaluator, as pure C without floating
 * point, so the kernel module and the host tests share them.  The
 * TypeScript side (src/engine/infer/qnet-*.ts) implements the same
 * contract; the two must agree bit for bit.
 */
#ifndef MLP_QNET_H
#define MLP_QNET_H

#include "mlp_compat.h"

#define QNET_MAGIC		0x4E514C4Du	/* the bytes "MLQN" */
#define QNET_VERSION		1
#define QNET_HEADER_BYTES	32
#define QNET_ACT_RELU		1	/* ReLU on hidden layers, linear output */
#define QNET_FRAC_BITS		16	/* activations are Q15.16 */

/* Hard limits (the exporter enforces the same ones). */
#define QNET_MAX_LAYERS		4	/* dense layers */
#define QNET_MAX_WIDTH		64	/* neurons per hidden layer */
#define QNET_MAX_INPUTS		16
#define QNET_MAX_OUTPUTS	16
#define QNET_MAX_BYTES		32768
#define QNET_MAX_WEIGHT_SHIFT	30
#define QNET_MAX_AFFINE_SHIFT	62
#define QNET_AFFINE_ADD_BITS	61	/* |add| <= 2^61 */
/* weights of the largest network the limits allow */
#define QNET_MAX_WEIGHTS	(QNET_MAX_INPUTS * QNET_MAX_WIDTH + \
				 (QNET_MAX_LAYERS - 2) * QNET_MAX_WIDTH * QNET_MAX_WIDTH + \
				 QNET_MAX_WIDTH * QNET_MAX_OUTPUTS)
#define QNET_MAX_BIASES		(QNET_MAX_LAYERS * QNET_MAX_WIDTH)

/* y = sat32(rshift_round((s64)x * mul + add, shift)) */
struct mlp_qnet_affine {
	s64 add;
	s32 mul;
	u32 shift;
};

struct mlp_qnet_layer {
	u16 in, out;
	u8 weight_shift;
	bool relu;
	u32 bias_at;		/* index into qnet.bias */
	u32 weight_at;		/* index into qnet.weight, [out][in] */
};

/* A parsed, validated network: self-contained, no pointers. */
struct mlp_qnet {
	u64 generation;
	u32 nr_layers;
	u16 inputs, outputs;
	struct mlp_qnet_affine in_affine[QNET_MAX_INPUTS];
	struct mlp_qnet_affine out_affine[QNET_MAX_OUTPUTS];
	struct mlp_qnet_layer layer[QNET_MAX_LAYERS];
	s32 bias[QNET_MAX_BIASES];
	s16 weight[QNET_MAX_WEIGHTS];
};

u32 mlp_qnet_crc32(const u8 *buf, size_t len);
int mlp_qnet_peek_generation(const u8 *buf, size_t len, u64 *generation);
int mlp_qnet_parse(struct mlp_qnet *net, const u8 *buf, size_t len);
void mlp_qnet_eval(const struct mlp_qnet *net, const s32 *in, s32 *out);

#endif /* MLP_QNET_H */
