/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TAP output every host unit test program prints: ok() per check,
 * tap_done() at the end (the plan, a failure count, the exit status).
 */
#ifndef MLP_HOSTTEST_TAP_H
#define MLP_HOSTTEST_TAP_H

#include <stdio.h>

static int tap_tests, tap_failures;

static inline void ok(int cond, const char *what)
{
	tap_tests++;
	if (!cond)
		tap_failures++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", tap_tests, what);
}

/* Print the plan; returns the program's exit status. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_tests);
	if (tap_failures)
		printf("# %d of %d failed\n", tap_failures, tap_tests);
	return tap_failures ? 1 : 0;
}

#endif /* MLP_HOSTTEST_TAP_H */
