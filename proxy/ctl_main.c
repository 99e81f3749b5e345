/* SPDX-License-Identifier: Apache-2.0 */
/* ctl_main.c: main() of awsgatectl, the administrator's command-line tool. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "proxy.h"

static void usage(FILE *f)
{
	fputs("Usage: awsgatectl COMMAND [options]\n"
	      "\n"
	      "Commands:\n"
	      "  sigv4 sign    sign a request with AWS Signature Version 4 and print each stage\n"
	      "  sigv4 verify  verify the SigV4 signature of a request made by someone else\n"
	      "  sigv4 resign  verify a request, then sign it again with other credentials\n"
	      "\n"
	      "Options:\n"
	      "  --help        show this help (also after any command)\n"
	      "  --version     show the version\n"
	      "\n"
	      "Start with: awsgatectl sigv4 sign --example\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return PX_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return PX_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("awsgatectl %s\n", PACKAGE_VERSION);
		return PX_EXIT_OK;
	}
	if (strcmp(argv[1], "sigv4") == 0)
		return px_ctl_sigv4(argc - 1, argv + 1);
	fprintf(stderr, "awsgatectl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return PX_EXIT_USAGE;
}
