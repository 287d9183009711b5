// SPDX-License-Identifier: GPL-2.0-only
/*
 * mlp_qnet: parse, validate and evaluate the integer network mlproxy
 * exports as `qnet` (see mlp_qnet.h and docs/kernel-module.md).  The file
 * is untrusted: every size is checked against the limits before it is
 * used, the checksum before any content, and the contents against the
 * bounds that keep the evaluator's int64 arithmetic from overflowing.
 */
#include "mlp_qnet.h"

#define QNET_S32_MAX	2147483647LL
#define QNET_S32_MIN	(-2147483647LL - 1)

static u16 get_le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static u32 get_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u64 get_le64(const u8 *p)
{
	return (u64)get_le32(p) | (u64)get_le32(p + 4) << 32;
}

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32), a nibble at a time. */
u32 mlp_qnet_crc32(const u8 *buf, size_t len)
{
	static const u32 nibble[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	u32 crc = 0xffffffffu;
	size_t i;

	for (i = 0; i < len; i++) {
		crc ^= buf[i];
		crc = (crc >> 4) ^ nibble[crc & 15];
		crc = (crc >> 4) ^ nibble[crc & 15];
	}
	return ~crc;
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/*
 * Step *p to the next 4-byte boundary of buf, requiring the padding to be
 * zero: every byte of an accepted file has one meaning.
 */
static bool qnet_zero_to_pad4(const u8 *buf, const u8 **p)
{
	const u8 *end = buf + pad4((size_t)(*p - buf));

	for (; *p < end; (*p)++)
		if (**p)
			return false;
	return true;
}

/* File size of a network with these widths (sizes[0] = inputs). */
static size_t qnet_size_for(const u16 *sizes, unsigned int nr_layers)
{
	size_t n = QNET_HEADER_BYTES + pad4(2 * (nr_layers + 1)) + 16 * sizes[0];
	unsigned int l;

	for (l = 0; l < nr_layers; l++)
		n += 4 + 4 * (size_t)sizes[l + 1] +
		     pad4(2 * (size_t)sizes[l] * sizes[l + 1]);
	return n + 16 * (size_t)sizes[nr_layers] + 4;
}

/* The generation in a header, without validating the rest. */
int mlp_qnet_peek_generation(const u8 *buf, size_t len, u64 *generation)
{
	if (len < QNET_HEADER_BYTES || get_le32(buf) != QNET_MAGIC)
		return -EINVAL;
	*generation = get_le64(buf + 16);
	return 0;
}

static int qnet_read_affine(struct mlp_qnet_affine *a, const u8 *p)
{
	s64 limit = (s64)1 << QNET_AFFINE_ADD_BITS;

	a->add = (s64)get_le64(p);
	a->mul = (s32)get_le32(p + 8);
	a->shift = p[12];
	if (p[13] || p[14] || p[15])
		return -EINVAL;
	/* |x * mul| < 2^62, |add| <= 2^61, half <= 2^61: the sum fits s64 */
	if (a->mul == (s32)QNET_S32_MIN || a->add > limit || a->add < -limit ||
	    a->shift > QNET_MAX_AFFINE_SHIFT)
		return -EINVAL;
	return 0;
}

/*
 * Parse and validate a qnet file into *net.  Returns 0, -EINVAL (malformed),
 * -E2BIG (beyond the limits) or -EBADMSG (checksum).  On error *net is
 * garbage and must not be evaluated.
 */
int mlp_qnet_parse(struct mlp_qnet *net, const u8 *buf, size_t len)
{
	u16 sizes[QNET_MAX_LAYERS + 1];
	u32 total, nr_layers, l, i, nw, nb = 0, wat = 0;
	const u8 *p;

	if (len < QNET_HEADER_BYTES + 8)
		return -EINVAL;
	if (get_le32(buf) != QNET_MAGIC || get_le16(buf + 4) != QNET_VERSION ||
	    get_le16(buf + 6) != QNET_HEADER_BYTES)
		return -EINVAL;
	total = get_le32(buf + 8);
	if (total > QNET_MAX_BYTES)
		return -E2BIG;
	if (total != len)
		return -EINVAL;
	nr_layers = get_le16(buf + 12);
	if (nr_layers < 1 || nr_layers > QNET_MAX_LAYERS)
		return -E2BIG;
	if (buf[14] != QNET_ACT_RELU || buf[15] != QNET_FRAC_BITS ||
	    get_le32(buf + 24) || get_le32(buf + 28))
		return -EINVAL;
	for (l = 0; l <= nr_layers; l++) {
		sizes[l] = get_le16(buf + QNET_HEADER_BYTES + 2 * l);
		if (!sizes[l])
			return -EINVAL;
	}
	if (sizes[0] > QNET_MAX_INPUTS || sizes[nr_layers] > QNET_MAX_OUTPUTS)
		return -E2BIG;
	for (l = 1; l < nr_layers; l++)
		if (sizes[l] > QNET_MAX_WIDTH)
			return -E2BIG;
	if (qnet_size_for(sizes, nr_layers) != total)
		return -EINVAL;
	if (mlp_qnet_crc32(buf, total - 4) != get_le32(buf + total - 4))
		return -EBADMSG;

	net->generation = get_le64(buf + 16);
	net->nr_layers = nr_layers;
	net->inputs = sizes[0];
	net->outputs = sizes[nr_layers];
	p = buf + QNET_HEADER_BYTES + 2 * (nr_layers + 1);
	if (!qnet_zero_to_pad4(buf, &p))
		return -EINVAL;
	for (i = 0; i < net->inputs; i++, p += 16)
		if (qnet_read_affine(&net->in_affine[i], p))
			return -EINVAL;
	for (l = 0; l < nr_layers; l++) {
		struct mlp_qnet_layer *ly = &net->layer[l];

		ly->in = sizes[l];
		ly->out = sizes[l + 1];
		ly->weight_shift = p[0];
		ly->relu = p[1] == 1;
		if (p[1] > 1 || get_le16(p + 2) ||
		    ly->weight_shift > QNET_MAX_WEIGHT_SHIFT ||
		    ly->relu != (l + 1 < nr_layers))
			return -EINVAL;
		p += 4;
		ly->bias_at = nb;
		for (i = 0; i < ly->out; i++, p += 4)
			net->bias[nb++] = (s32)get_le32(p);
		ly->weight_at = wat;
		nw = (u32)ly->in * ly->out;
		for (i = 0; i < nw; i++, p += 2) {
			s16 w = (s16)get_le16(p);

			/* symmetric range: |w| <= 32767 */
			if (w == -32768)
				return -EINVAL;
			net->weight[wat++] = w;
		}
		if (!qnet_zero_to_pad4(buf, &p))
			return -EINVAL;
	}
	for (i = 0; i < net->outputs; i++, p += 16)
		if (qnet_read_affine(&net->out_affine[i], p))
			return -EINVAL;
	return p + 4 == buf + total ? 0 : -EINVAL;
}

/* v / 2^s rounded half away from zero; |v| + 2^(s-1) < 2^63 by validation. */
static s64 qnet_rshift_round(s64 v, u32 s)
{
	s64 half;

	if (!s)
		return v;
	half = (s64)1 << (s - 1);
	return v >= 0 ? (v + half) >> s : -((-v + half) >> s);
}

static s32 qnet_sat32(s64 v)
{
	if (v > QNET_S32_MAX)
		return (s32)QNET_S32_MAX;
	if (v < QNET_S32_MIN)
		return (s32)QNET_S32_MIN;
	return (s32)v;
}

static s32 qnet_affine_apply(const struct mlp_qnet_affine *a, s32 x)
{
	return qnet_sat32(qnet_rshift_round((s64)x * a->mul + a->add, a->shift));
}

/*
 * Evaluate a validated network: in[] has net->inputs values, out[] gets
 * net->outputs, both in the model's fixed-point units.  Integers only, no
 * allocation (two QNET_MAX_WIDTH-entry arrays on the stack), no sleeping;
 * at most QNET_MAX_WEIGHTS multiply-adds.
 */
void mlp_qnet_eval(const struct mlp_qnet *net, const s32 *in, s32 *out)
{
	s32 buf_a[QNET_MAX_WIDTH], buf_b[QNET_MAX_WIDTH];
	s32 *cur = buf_a, *next = buf_b, *t;
	u32 l, i, j;

	for (i = 0; i < net->inputs; i++)
		cur[i] = qnet_affine_apply(&net->in_affine[i], in[i]);
	for (l = 0; l < net->nr_layers; l++) {
		const struct mlp_qnet_layer *ly = &net->layer[l];
		const s16 *w = net->weight + ly->weight_at;
		const s32 *b = net->bias + ly->bias_at;

		for (j = 0; j < ly->out; j++, w += ly->in) {
			s64 acc = (s64)b[j] * ((s64)1 << ly->weight_shift);
			s32 v;

			for (i = 0; i < ly->in; i++)
				acc += (s64)cur[i] * w[i];
			v = qnet_sat32(qnet_rshift_round(acc, ly->weight_shift));
			next[j] = ly->relu && v < 0 ? 0 : v;
		}
		t = cur;
		cur = next;
		next = t;
	}
	for (j = 0; j < net->outputs; j++)
		out[j] = qnet_affine_apply(&net->out_affine[j], cur[j]);
}
