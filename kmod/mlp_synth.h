/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mlp_synth: the synthetic subsystem's physics, as pure integer C so the
 * host unit tests can check it.
 *
 * Every operation sees two features and picks a setting s in
 * [SYNTH_SETTING_MIN, SYNTH_SETTING_MAX]: a workload feature f in
 * [0, SYNTH_FEATURE_MAX] that drifts over time (a triangle wave plus
 * per-operation jitter), and the operation's own load l in [0, SYNTH_LOAD_MAX],
 * drawn afresh for every operation.  The best setting depends on both, so a
 * table over f alone cannot represent it.  Efficiency is 1000 permil at the
 * best setting and falls linearly with the distance from it.  The default algorithm does not know the mapping: it
 * uses a lagging average of the best settings seen in hindsight.  A model
 * that has learned f -> best setting beats it; a constant guess does not.
 */
#ifndef MLP_SYNTH_H
#define MLP_SYNTH_H

#include "mlp_compat.h"

#define SYNTH_FEATURE_MAX	1000	/* feature units, scale 1000 = 1.0 */
#define SYNTH_SETTING_MIN	0	/* setting units, scale 1000 = 1.0 */
#define SYNTH_SETTING_MAX	1000
#define SYNTH_DRIFT_PERIOD_MS	8000	/* one full triangle of the feature */
#define SYNTH_JITTER		60	/* +- feature units per operation */
#define SYNTH_EWMA_SHIFT	8	/* default's average spans 2^8 ops */
#define SYNTH_TABLE_POINTS	11	/* features 0, 100, ..., 1000 */
#define SYNTH_TABLE_STEP	(SYNTH_FEATURE_MAX / (SYNTH_TABLE_POINTS - 1))
#define SYNTH_LOAD_MAX		1000	/* load units, scale 1000 = 1.0 */
#define SYNTH_LOAD_MEAN		(SYNTH_LOAD_MAX / 2)	/* where a table over f is asked */

struct mlp_synth_rng {
	u32 state;
};

u32 mlp_synth_rand(struct mlp_synth_rng *rng);
s32 mlp_synth_feature(u64 t_ms, struct mlp_synth_rng *rng);
s32 mlp_synth_load(struct mlp_synth_rng *rng);
s32 mlp_synth_best_setting(s32 feature, s32 load);
u32 mlp_synth_efficiency_permil(s32 setting, s32 best);
s32 mlp_synth_table_lookup(const s32 *table, s32 feature);

/* The default algorithm: lagging average, fixed point with 8 fraction bits. */
struct mlp_synth_default {
	s64 avg_fp;
	bool primed;
};

s32 mlp_synth_default_setting(const struct mlp_synth_default *d);
void mlp_synth_default_learn(struct mlp_synth_default *d, s32 best_in_hindsight);

/* The kernel's permil gate: exactly permil of every 1000 calls say yes. */
struct mlp_synth_gate {
	u32 acc;
};

bool mlp_synth_gate_pass(struct mlp_synth_gate *g, u32 permil);

#endif /* MLP_SYNTH_H */
