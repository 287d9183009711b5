// SPDX-License-Identifier: GPL-2.0-only
/*
 * Owns the fast path's inference in WebAssembly (native/build-wasm.mjs): a dense ReLU network evaluated with the
 * same arithmetic as FastNetwork.predict in src/engine/infer/network.ts, which stays the reference and the
 * fall-back, so the two give the same floats bit for bit.
 *
 * Why: a recommendation transaction of a 16-64-64-4 network spent about 10 us of its 60 in the JavaScript loops
 * through FUSE (docs/ceilings-passes.md); two doubles per instruction, the weights read as float32 (half the cache
 * they take as doubles) and no bounds checks make it a few times faster.
 *
 * The same arithmetic: inputs normalised in double as (x - mean) / std; each output starts at its bias and adds
 * x[i] * w[i][j] for i = 0, 1, ... in that order, skipping x[i] == 0 as the reference does (after a ReLU about
 * half are); a ReLU keeps a value unless it is below zero (-0 and NaN stay, as `if (v < 0) v = 0` leaves them);
 * outputs are v * std + mean, rounded to float32 once. WebAssembly has no fused multiply-add, so every product
 * and sum rounds as JavaScript's do, and float32 weights widen to double exactly.
 */
typedef unsigned int u32;

#include <wasm_simd128.h>

/* A network as the caller lays it out (src/engine/infer/wasm-network.ts): this header, `layers` layer records,
 * then float32 arrays at the byte offsets (from the header) they name. */
struct net_header {
	u32 layers;
	u32 inputs;
	u32 outputs;
	u32 widest;
	u32 in_mean, in_std, out_mean, out_std;
};

struct net_layer {
	u32 in;
	u32 out;
	u32 relu;
	u32 kernel;	/* [in][out], row-major */
	u32 bias;
};

static inline const float *at(const struct net_header *net, u32 offset)
{
	return (const float *)((const char *)net + offset);
}

/* Two float32 weights from `w`, widened: lanes 0 and 1 of a load of four, or its lanes 2 and 3. */
static inline v128_t low_pair(v128_t four)
{
	return wasm_f64x2_promote_low_f32x4(four);
}

static inline v128_t high_pair(v128_t four)
{
	return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(four, four, 2, 3, 2, 3));
}

static inline v128_t relu_pair(v128_t v)
{
	/* pmax(v, 0) is `v < 0 ? 0 : v`: the reference's rule, -0 and NaN kept. */
	return wasm_f64x2_pmax(v, wasm_f64x2_splat(0));
}

/* One layer: y = relu?(bias + x W), eight outputs at a time in registers, then pairs, then one. */
static void dense(const struct net_header *net, const struct net_layer *l, const double *x, double *y)
{
	const float *kernel = at(net, l->kernel), *bias = at(net, l->bias);
	u32 in = l->in, out = l->out, j = 0;

	for (; j + 8 <= out; j += 8) {
		v128_t b0 = wasm_v128_load(bias + j), b1 = wasm_v128_load(bias + j + 4);
		v128_t a0 = low_pair(b0), a1 = high_pair(b0), a2 = low_pair(b1), a3 = high_pair(b1);
		const float *w = kernel + j;

		for (u32 i = 0; i < in; i++, w += out) {
			if (x[i] == 0)
				continue;
			v128_t xi = wasm_f64x2_splat(x[i]);
			v128_t w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + 4);

			a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(xi, low_pair(w0)));
			a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(xi, high_pair(w0)));
			a2 = wasm_f64x2_add(a2, wasm_f64x2_mul(xi, low_pair(w1)));
			a3 = wasm_f64x2_add(a3, wasm_f64x2_mul(xi, high_pair(w1)));
		}
		if (l->relu) {
			a0 = relu_pair(a0);
			a1 = relu_pair(a1);
			a2 = relu_pair(a2);
			a3 = relu_pair(a3);
		}
		wasm_v128_store(y + j, a0);
		wasm_v128_store(y + j + 2, a1);
		wasm_v128_store(y + j + 4, a2);
		wasm_v128_store(y + j + 6, a3);
	}
	for (; j < out; j++) {
		double a = bias[j];

		for (u32 i = 0; i < in; i++)
			if (x[i] != 0)
				a += x[i] * (double)kernel[i * out + j];
		y[j] = l->relu && a < 0 ? 0 : a;
	}
}

/*
 * `rows` rows of `input` (float32, inputs each) into `output` (outputs each: float32, or doubles when `wide`,
 * which lets a test compare the sums before any rounding), with `scratch` room for two rows of `widest` doubles.
 */
__attribute__((export_name("predict"))) void predict(const struct net_header *net, const float *input, u32 rows,
						     void *output, double *scratch, u32 wide)
{
	const struct net_layer *layers = (const struct net_layer *)(net + 1);
	const float *in_mean = at(net, net->in_mean), *in_std = at(net, net->in_std);
	const float *out_mean = at(net, net->out_mean), *out_std = at(net, net->out_std);

	for (u32 r = 0; r < rows; r++) {
		double *cur = scratch, *next = scratch + net->widest;

		for (u32 i = 0; i < net->inputs; i++)
			cur[i] = ((double)input[r * net->inputs + i] - in_mean[i]) / in_std[i];
		for (u32 l = 0; l < net->layers; l++) {
			double *t;

			dense(net, &layers[l], cur, next);
			t = cur;
			cur = next;
			next = t;
		}
		for (u32 j = 0; j < net->outputs; j++) {
			double v = cur[j] * out_std[j] + out_mean[j];

			if (wide)
				((double *)output)[r * net->outputs + j] = v;
			else
				((float *)output)[r * net->outputs + j] = (float)v;
		}
	}
}
