/* SPDX-License-Identifier: Apache-2.0 */
/* ctl_config.c: placeholder, replaced by the real commands in this change. */
#include <stdio.h>
#include "proxy.h"
int px_ctl_config(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "awsgatectl: %s is not built yet\n", argv[0]);
	return PX_EXIT_USAGE;
}
