// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit tests for the pure C parts of mlproxy_kmod: mlp_wire.c (sample
 * encoding, recommendation parsing and clamping, one-word files) and
 * mlp_synth.c (the synthetic subsystem).  Prints TAP; exits 1 on failure.
 *
 *   make -C kmod hosttest
 */
#include <stdio.h>
#include <stdlib.h>

#include "mlp_wire.h"
#include "mlp_synth.h"
#include "mlp_qnet.h"
#include "hosttest/tap.h"


static int parse_all(const char *text, s64 *vals, unsigned int n)
{
	const char *pos = text;

	return mlp_wire_parse_line(&pos, text + strlen(text), vals, n);
}

static void test_dataset(void)
{
	static const u8 want_hdr[16] = {
		0x4d, 0x4c, 0x44, 0x53, 1, 0, 16, 0, 2, 0, 1, 0, 0, 0, 0, 0,
	};
	u8 buf[64];
	s32 rec[3] = { 1500, -200, 0x01020304 };

	ok(mlp_wire_ds_header(buf, sizeof(buf), 2, 1) == 16 &&
	   !memcmp(buf, want_hdr, 16), "dataset header is MLDS v1, 16 bytes, LE");
	ok(!memcmp(buf, "MLDS", 4), "magic bytes spell MLDS");
	ok(mlp_wire_ds_header(buf, 15, 2, 1) == -ENOSPC, "header needs 16 bytes");
	ok(mlp_wire_ds_header(buf, 16, 0, 1) == -EINVAL, "header rejects 0 inputs");
	ok(mlp_wire_ds_record(buf, sizeof(buf), rec, 3) == 12, "record is 4 bytes a value");
	ok(buf[0] == 0xdc && buf[1] == 0x05 && buf[2] == 0 && buf[3] == 0,
	   "1500 little endian");
	ok(buf[4] == 0x38 && buf[5] == 0xff && buf[6] == 0xff && buf[7] == 0xff,
	   "-200 two's complement little endian");
	ok(buf[8] == 4 && buf[9] == 3 && buf[10] == 2 && buf[11] == 1,
	   "byte order of 0x01020304");
	ok(mlp_wire_ds_record(buf, 11, rec, 3) == -ENOSPC, "record checks room");
}

static void test_format(void)
{
	char buf[64];
	s32 v[3] = { 1500, -200, 0 };
	s32 big[2] = { 2147483647, -2147483647 - 1 };

	ok(mlp_wire_format_line(buf, sizeof(buf), v, 3) == 12 &&
	   !strcmp(buf, "1500 -200 0\n"), "format \"1500 -200 0\\n\"");
	ok(mlp_wire_format_line(buf, sizeof(buf), big, 2) == 23 &&
	   !strcmp(buf, "2147483647 -2147483648\n"), "format s32 extremes");
	ok(mlp_wire_format_line(buf, 5, v, 3) == -ENOSPC, "format checks room");
	ok(mlp_wire_format_feedback(buf, sizeof(buf), "ml", 875) == 7 &&
	   !strcmp(buf, "ml 875\n"), "feedback line ml");
	ok(mlp_wire_format_feedback(buf, sizeof(buf), "default", 0) == 10 &&
	   !strcmp(buf, "default 0\n"), "feedback line default");
	ok(mlp_wire_format_feedback(buf, 4, "default", 0) == -ENOSPC,
	   "feedback checks room");
}

static void test_parse(void)
{
	s64 v[4];
	/* a tab ends the last line: trailing blanks are part of the test */
	const char *multi = "3000\n-15\n  7\t\n";
	const char *pos = multi, *end = multi + strlen(multi);

	ok(parse_all("3000\n", v, 1) == 0 && v[0] == 3000, "parse one value");
	ok(parse_all("3000", v, 1) == 0 && v[0] == 3000, "parse without newline");
	ok(parse_all(" 1 -2\t3\t\n", v, 3) == 0 && v[0] == 1 && v[1] == -2 &&
	   v[2] == 3, "parse blanks and negatives");
	ok(mlp_wire_parse_line(&pos, end, v, 1) == 0 && v[0] == 3000 &&
	   mlp_wire_parse_line(&pos, end, v, 1) == 0 && v[0] == -15 &&
	   mlp_wire_parse_line(&pos, end, v, 1) == 0 && v[0] == 7 && pos == end,
	   "parse consecutive lines");
	ok(parse_all("999999999999\n", v, 1) == 0 && v[0] == 999999999999LL,
	   "parse 12-digit value (range check is separate)");
	ok(parse_all("9999999999999999999\n", v, 1) == -ERANGE, "19 digits: ERANGE");
	ok(parse_all("1.5\n", v, 1) == -EINVAL, "decimal point rejected");
	ok(parse_all("1e3\n", v, 1) == -EINVAL, "exponent rejected");
	ok(parse_all("+5\n", v, 1) == -EINVAL, "plus sign rejected");
	ok(parse_all("-\n", v, 1) == -EINVAL, "lone minus rejected");
	ok(parse_all("12abc\n", v, 1) == -EINVAL, "trailing junk rejected");
	ok(parse_all("NaN\n", v, 1) == -EINVAL, "NaN rejected");
	ok(parse_all("\xff\xfe garbage\n", v, 1) == -EINVAL, "binary junk rejected");
	ok(parse_all("\n", v, 1) == -EINVAL, "empty line rejected");
	ok(parse_all("", v, 1) == -EINVAL, "empty buffer rejected");
	ok(parse_all("1 2\n", v, 1) == -EINVAL, "too many values rejected");
	ok(parse_all("1\n", v, 2) == -EINVAL, "too few values rejected");
}

static void test_check(void)
{
	s32 out = 12345;

	ok(mlp_wire_check_value(500, 0, 1000, 500, &out) == 0 && out == 500,
	   "in range kept");
	ok(mlp_wire_check_value(-300, 0, 1000, 500, &out) == 1 && out == 0,
	   "slightly low clamped to min");
	ok(mlp_wire_check_value(1400, 0, 1000, 500, &out) == 1 && out == 1000,
	   "slightly high clamped to max");
	out = 7;
	ok(mlp_wire_check_value(999999999999LL, 0, 1000, 500, &out) == -ERANGE &&
	   out == 7, "huge value rejected, output untouched");
	ok(mlp_wire_check_value(-501, 0, 1000, 500, &out) == -ERANGE,
	   "just past slack rejected");
	ok(mlp_wire_check_value(1500, 0, 1000, 500, &out) == 1 && out == 1000,
	   "edge of slack clamped");
}

static void test_words(void)
{
	u32 u = 0;

	ok(mlp_wire_parse_word("learning\n", 9, mlp_wire_mode_words,
			       mlp_wire_nr_mode_words) == 2, "mode learning = 2");
	ok(mlp_wire_parse_word("recommendation", 14, mlp_wire_mode_words,
			       mlp_wire_nr_mode_words) == 4, "mode recommendation = 4");
	ok(mlp_wire_parse_word("emergency\n", 10, mlp_wire_mode_words,
			       mlp_wire_nr_mode_words) == 1, "mode emergency = 1");
	ok(mlp_wire_parse_word("learn\n", 6, mlp_wire_mode_words,
			       mlp_wire_nr_mode_words) == -EINVAL, "prefix is not a match");
	ok(mlp_wire_parse_word("learning\n\n", 10, mlp_wire_mode_words,
			       mlp_wire_nr_mode_words) == -EINVAL, "one newline only");
	ok(mlp_wire_parse_word("\n", 1, mlp_wire_mode_words,
			       mlp_wire_nr_mode_words) == -EINVAL, "empty word rejected");
	ok(mlp_wire_parse_word("shutting_down\n", 14, mlp_wire_state_words,
			       mlp_wire_nr_state_words) == 6, "state shutting_down = 6");
	ok(mlp_wire_parse_word("running\n", 8, mlp_wire_state_words,
			       mlp_wire_nr_state_words) == 4, "state running = 4");
	ok(mlp_wire_parse_u32("500\n", 4, 1000, &u) == 0 && u == 500, "permil 500");
	ok(mlp_wire_parse_u32("1001\n", 5, 1000, &u) == -ERANGE, "permil 1001 out of range");
	ok(mlp_wire_parse_u32("-1\n", 3, 1000, &u) == -EINVAL, "negative permil rejected");
	ok(mlp_wire_parse_u32("99999999999\n", 12, 1000, &u) == -EINVAL, "long number rejected");
	ok(mlp_wire_check_version("mlproxy 0.1.0 abi 1\n", 20) == 0, "version abi 1");
	ok(mlp_wire_check_version("mlproxy 0.1.0 abi 2\n", 20) == -EPROTO, "abi 2 refused");
	ok(mlp_wire_check_version("hello\n", 6) == -EPROTO, "not mlproxy refused");
	ok(mlp_wire_check_version("mlproxy  abi 1\n", 15) == -EPROTO, "empty version refused");
}

static void test_synth(void)
{
	struct mlp_synth_rng rng = { 1 };
	struct mlp_synth_default d = { 0, false };
	struct mlp_synth_gate g = { 0 };
	s32 table[SYNTH_TABLE_POINTS];
	u64 t;
	int i, passes, bad = 0;
	u64 net_sum = 0, ml_sum = 0, def_sum = 0, const_sum = 0, n = 0;

	ok(mlp_synth_feature(0, NULL) == 0, "feature starts at 0");
	ok(mlp_synth_feature(SYNTH_DRIFT_PERIOD_MS / 2, NULL) == SYNTH_FEATURE_MAX,
	   "feature peaks at half period");
	for (t = 0; t < 3 * SYNTH_DRIFT_PERIOD_MS; t += 7) {
		s32 f = mlp_synth_feature(t, &rng);

		if (f < 0 || f > SYNTH_FEATURE_MAX)
			bad++;
	}
	ok(!bad, "feature with jitter stays in 0..1000");
	ok(mlp_synth_best_setting(0, 0) == 200 && mlp_synth_best_setting(1000, 1000) == 800,
	   "best setting spans 200..800");
	ok(mlp_synth_best_setting(300, 0) != mlp_synth_best_setting(300, 1000),
	   "best setting depends on the load too");
	ok(mlp_synth_efficiency_permil(mlp_synth_best_setting(300, 700), mlp_synth_best_setting(300, 700)) == 1000,
	   "best setting is 1000 permil");
	ok(mlp_synth_efficiency_permil(mlp_synth_best_setting(300, 0) + 100, mlp_synth_best_setting(300, 0)) == 800,
	   "100 off is 800 permil");
	ok(mlp_synth_efficiency_permil(-5000, 300) == 0, "far off is 0 permil");
	for (bad = 0, i = 0; i < 10000; i++) {
		s32 l = mlp_synth_load(&rng);

		if (l < 0 || l > SYNTH_LOAD_MAX)
			bad++;
	}
	ok(!bad, "load stays in 0..1000");

	for (i = 0; i < SYNTH_TABLE_POINTS; i++)
		table[i] = mlp_synth_best_setting(i * SYNTH_TABLE_STEP, SYNTH_LOAD_MEAN);
	ok(mlp_synth_table_lookup(table, 450) == mlp_synth_best_setting(450, SYNTH_LOAD_MEAN),
	   "table interpolates between points");
	ok(mlp_synth_table_lookup(table, -10) == table[0] &&
	   mlp_synth_table_lookup(table, 5000) == table[SYNTH_TABLE_POINTS - 1],
	   "table lookup clamps the feature");

	for (passes = 0, i = 0; i < 10000; i++)
		passes += mlp_synth_gate_pass(&g, 100);
	ok(passes == 1000, "gate at 100 permil passes exactly 1 in 10");
	for (passes = 0, i = 0; i < 1000; i++)
		passes += mlp_synth_gate_pass(&g, 0);
	ok(passes == 0, "gate at 0 permil never passes");

	/*
	 * A model of both features beats a table over the feature (asked at
	 * the mean load), which beats the lagging default, which beats a
	 * constant.
	 */
	rng.state = 7;
	for (t = 0; t < 4 * SYNTH_DRIFT_PERIOD_MS; t += 2, n++) {
		s32 f = mlp_synth_feature(t, &rng);
		s32 l = mlp_synth_load(&rng);
		s32 best = mlp_synth_best_setting(f, l);

		net_sum += mlp_synth_efficiency_permil(best, best);
		ml_sum += mlp_synth_efficiency_permil(mlp_synth_table_lookup(table, f), best);
		def_sum += mlp_synth_efficiency_permil(mlp_synth_default_setting(&d), best);
		const_sum += mlp_synth_efficiency_permil(500, best);
		mlp_synth_default_learn(&d, best);
	}
	printf("# efficiency permil: 2-feature model %llu, table %llu, default %llu, constant %llu\n",
	       (unsigned long long)(net_sum / n), (unsigned long long)(ml_sum / n),
	       (unsigned long long)(def_sum / n), (unsigned long long)(const_sum / n));
	ok(net_sum / n > ml_sum / n + 30, "a model of both features beats the table");
	ok(ml_sum / n > def_sum / n + 20, "the table beats the default");
	ok(def_sum / n > const_sum / n + 20, "default beats a constant guess");
}

/* The bit-exact comparison with TypeScript is test/engine/qnet-bitexact.test.ts. */
static void test_qnet(void)
{
	static struct mlp_qnet net;
	u8 hdr[QNET_HEADER_BYTES + 8] = { 0x4d, 0x4c, 0x51, 0x4e, 1, 0, 32, 0 };
	u64 gen = 0;

	ok(mlp_qnet_crc32((const u8 *)"123456789", 9) == 0xcbf43926u,
	   "qnet checksum is CRC-32 (IEEE)");
	ok(mlp_qnet_parse(&net, hdr, 8) == -EINVAL, "qnet: short file refused");
	hdr[8] = sizeof(hdr);
	hdr[12] = 1;
	hdr[14] = QNET_ACT_RELU;
	ok(mlp_qnet_parse(&net, hdr, sizeof(hdr)) == -EINVAL, "qnet: zero sizes refused");
	hdr[8] = 0;
	hdr[9] = 0x90;	/* 36864 bytes */
	ok(mlp_qnet_parse(&net, hdr, sizeof(hdr)) == -E2BIG, "qnet: over QNET_MAX_BYTES refused");
	hdr[16] = 42;
	ok(mlp_qnet_peek_generation(hdr, sizeof(hdr), &gen) == 0 && gen == 42,
	   "qnet: generation read from the header");
}

int main(void)
{
	printf("TAP version 13\n");
	test_dataset();
	test_format();
	test_parse();
	test_check();
	test_words();
	test_synth();
	test_qnet();
	return tap_done();
}
