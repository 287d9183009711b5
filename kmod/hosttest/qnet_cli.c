// SPDX-License-Identifier: GPL-2.0-only
/*
 * qnet_cli: run kmod/mlp_qnet.c on the host, for the bit-exact test against
 * the TypeScript evaluator (test/engine/qnet-bitexact.test.ts).
 *
 *   qnet_cli NET.qnet < rows
 *
 * Prints "ok <generation>" or "reject <errno>" for the file, then for each
 * input line (net->inputs decimal integers) one line of outputs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "mlp_qnet.h"

int main(int argc, char **argv)
{
	static u8 buf[QNET_MAX_BYTES + 1];
	static struct mlp_qnet net;
	s32 in[QNET_MAX_INPUTS], out[QNET_MAX_OUTPUTS];
	FILE *f;
	size_t len;
	int err;
	u32 i;

	f = argc == 2 ? fopen(argv[1], "rb") : NULL;
	if (!f) {
		fprintf(stderr, "usage: qnet_cli NET.qnet < rows\n");
		return 2;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	err = mlp_qnet_parse(&net, buf, len);
	if (err) {
		printf("reject %d\n", -err);
		return 0;
	}
	printf("ok %" PRIu64 "\n", net.generation);
	for (;;) {
		for (i = 0; i < net.inputs; i++) {
			long v;

			if (scanf("%ld", &v) != 1)
				return 0;
			in[i] = (s32)v;
		}
		mlp_qnet_eval(&net, in, out);
		for (i = 0; i < net.outputs; i++)
			printf("%d%c", out[i], i + 1 == net.outputs ? '\n' : ' ');
	}
}
