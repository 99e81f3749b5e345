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
	      "  aws whoami    the gate's AWS credential source and identity (STS GetCallerIdentity)\n"
	      "  aws assume    AssumeRole as the gate would for a user, explaining an AccessDenied\n"
	      "  aws console-url  a console sign-in URL for a role, as the gate makes it\n"
	      "  aws iam-policy   the trust and permission policies the role and the gate need\n"
	      "  ca init       create the built-in certificate authority\n"
	      "  ca pin        print the CA's public-key pin (sha256:...)\n"
	      "  ca crl        write the CA's certificate revocation list\n"
	      "  certs user    issue a user's client certificate\n"
	      "  certs server  issue the gate's server certificate\n"
	      "  certs revoke  revoke a certificate by serial or file\n"
	      "  certs show    print the identity the gate reads from a certificate\n"
	      "  config check  validate the daemon file and every resource\n"
	      "  config options  list the daemon file's options, types and defaults\n"
	      "  lock add|ls|rm  lock a user or a role out at once, list and remove locks\n"
	      "  rbac check    decide whether an identity may use an app's AWS role, and why\n"
	      "  rbac roles    list the AWS roles an identity may use in an app\n"
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
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} commands[] = {
		{"aws", px_ctl_aws},       {"ca", px_ctl_ca},         {"certs", px_ctl_certs}, {"config", px_ctl_config},
		{"lock", px_ctl_lock},     {"rbac", px_ctl_rbac},   {"sigv4", px_ctl_sigv4},
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "awsgatectl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return PX_EXIT_USAGE;
}
