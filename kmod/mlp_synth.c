// SPDX-License-Identifier: GPL-2.0-only
/*
 * mlp_synth: integer model of the synthetic subsystem (see mlp_synth.h).
 */
#include "mlp_synth.h"

/* xorshift32: deterministic, cheap, good enough for jitter. */
u32 mlp_synth_rand(struct mlp_synth_rng *rng)
{
	u32 x = rng->state ? rng->state : 0x2545f491u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rng->state = x;
	return x;
}

/* Feature at time t_ms: triangle 0..1000..0 over the drift period + jitter. */
s32 mlp_synth_feature(u64 t_ms, struct mlp_synth_rng *rng)
{
	u32 half = SYNTH_DRIFT_PERIOD_MS / 2;
	u32 phase;
	s32 f;

	div_u64_rem(t_ms, SYNTH_DRIFT_PERIOD_MS, &phase);
	if (phase < half)
		f = (s32)div_u64((u64)phase * SYNTH_FEATURE_MAX, half);
	else
		f = (s32)div_u64((u64)(SYNTH_DRIFT_PERIOD_MS - phase) * SYNTH_FEATURE_MAX, half);
	if (rng)
		f += (s32)(mlp_synth_rand(rng) % (2 * SYNTH_JITTER + 1)) - SYNTH_JITTER;
	if (f < 0)
		f = 0;
	if (f > SYNTH_FEATURE_MAX)
		f = SYNTH_FEATURE_MAX;
	return f;
}

/* The operation's load: uniform in 0..SYNTH_LOAD_MAX, independent per operation. */
s32 mlp_synth_load(struct mlp_synth_rng *rng)
{
	return (s32)(mlp_synth_rand(rng) % (SYNTH_LOAD_MAX + 1));
}

/* The best setting: 200 + 0.5 f + 0.1 l, i.e. 200..800. */
s32 mlp_synth_best_setting(s32 feature, s32 load)
{
	return 200 + (feature * 5 + load) / 10;
}

/* 1000 permil at the best setting, minus 2 permil per setting unit off. */
u32 mlp_synth_efficiency_permil(s32 setting, s32 best)
{
	s64 off = (s64)setting - best;

	if (off < 0)
		off = -off;
	if (off >= 500)
		return 0;
	return (u32)(1000 - 2 * off);
}

/* Linear interpolation in a table of SYNTH_TABLE_POINTS settings. */
s32 mlp_synth_table_lookup(const s32 *table, s32 feature)
{
	s32 i, frac;

	if (feature <= 0)
		return table[0];
	if (feature >= SYNTH_FEATURE_MAX)
		return table[SYNTH_TABLE_POINTS - 1];
	i = feature / SYNTH_TABLE_STEP;
	frac = feature % SYNTH_TABLE_STEP;
	return table[i] + (table[i + 1] - table[i]) * frac / SYNTH_TABLE_STEP;
}

s32 mlp_synth_default_setting(const struct mlp_synth_default *d)
{
	if (!d->primed)
		return (SYNTH_SETTING_MIN + SYNTH_SETTING_MAX) / 2;
	return (s32)(d->avg_fp >> 8);
}

void mlp_synth_default_learn(struct mlp_synth_default *d, s32 best_in_hindsight)
{
	s64 target = (s64)best_in_hindsight * 256;

	if (!d->primed) {
		d->avg_fp = target;
		d->primed = true;
		return;
	}
	d->avg_fp += div_s64(target - d->avg_fp, 1 << SYNTH_EWMA_SHIFT);
}

bool mlp_synth_gate_pass(struct mlp_synth_gate *g, u32 permil)
{
	if (permil > 1000)
		permil = 1000;
	g->acc += permil;
	if (g->acc >= 1000) {
		g->acc -= 1000;
		return true;
	}
	return false;
}
