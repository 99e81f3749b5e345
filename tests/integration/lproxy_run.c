/* SPDX-License-Identifier: Apache-2.0 */
/* lproxy_run.c: test driver of the local proxy: every px_lproxy_config field as a flag, PORT=<n> on stdout once listening, runs until SIGTERM or SIGINT. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/lproxy.h"

static struct px_lproxy *the_proxy;

static void on_signal(int sig)
{
	(void)sig;
	if (the_proxy != NULL)
		px_lproxy_stop(the_proxy);
}

static void log_stderr(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lproxy_run [--port N] --gate HOST:PORT --cert FILE --key FILE [--gate-ca FILE]\n"
	           "                  --local-ca-cert FILE --local-ca-key FILE --access-key-id ID --secret-access-key S\n"
	           "                  [--app APP] [--role ROLE] [--refuse-other-hosts] [--upstream-proxy URL]\n"
	           "                  [--no-proxy LIST] [--hosts-file FILE] [--clock-skew SECONDS] [--quiet]\n"
	           "       lproxy_run --ca-ensure DIR\n");
}

static int number(const char *s, unsigned long max, unsigned long *v)
{
	char *end;
	unsigned long n;
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n > max)
		return -1;
	*v = n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},          {"gate", required_argument, NULL, 'g'},
		{"cert", required_argument, NULL, 'c'},          {"key", required_argument, NULL, 'k'},
		{"gate-ca", required_argument, NULL, 'C'},       {"local-ca-cert", required_argument, NULL, 'L'},
		{"local-ca-key", required_argument, NULL, 'K'},  {"access-key-id", required_argument, NULL, 'a'},
		{"secret-access-key", required_argument, NULL, 's'}, {"app", required_argument, NULL, 'A'},
		{"role", required_argument, NULL, 'R'},          {"refuse-other-hosts", no_argument, NULL, 'r'},
		{"upstream-proxy", required_argument, NULL, 'u'}, {"no-proxy", required_argument, NULL, 'n'},
		{"hosts-file", required_argument, NULL, 'H'},    {"clock-skew", required_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'},               {"ca-ensure", required_argument, NULL, 'E'},
		{"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0},
	};
	struct px_lproxy_config cfg;
	struct sigaction sa;
	char err[1024];
	unsigned long v;
	const char *ca_dir = NULL;
	int o, rv;

	memset(&cfg, 0, sizeof(cfg));
	cfg.log = log_stderr;
	while ((o = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			if (number(optarg, 65535, &v) != 0) {
				fprintf(stderr, "lproxy_run: --port wants 0..65535\n");
				return 2;
			}
			cfg.port = (uint16_t)v;
			break;
		case 'g': cfg.gate = optarg; break;
		case 'c': cfg.cert_file = optarg; break;
		case 'k': cfg.key_file = optarg; break;
		case 'C': cfg.gate_ca_file = optarg; break;
		case 'L': cfg.local_ca_cert_file = optarg; break;
		case 'K': cfg.local_ca_key_file = optarg; break;
		case 'a': cfg.access_key_id = optarg; break;
		case 's': cfg.secret_access_key = optarg; break;
		case 'A': cfg.app = optarg; break;
		case 'R': cfg.role = optarg; break;
		case 'r': cfg.refuse_other_hosts = 1; break;
		case 'u': cfg.upstream_proxy = optarg; break;
		case 'n': cfg.no_proxy = optarg; break;
		case 'H': cfg.hosts_file = optarg; break;
		case 'S':
			if (number(optarg, UINT32_MAX, &v) != 0) {
				fprintf(stderr, "lproxy_run: --clock-skew wants seconds\n");
				return 2;
			}
			cfg.clock_skew = (uint32_t)v;
			break;
		case 'q': cfg.log = NULL; break;
		case 'E': ca_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (ca_dir != NULL) {
		if (px_lproxy_ca_ensure(ca_dir, err, sizeof(err)) != 0) {
			fprintf(stderr, "lproxy_run: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (px_lproxy_new(&cfg, &the_proxy, err, sizeof(err)) != 0) {
		fprintf(stderr, "lproxy_run: %s\n", err);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	printf("PORT=%u\n", (unsigned)px_lproxy_port(the_proxy));
	fflush(stdout);
	rv = px_lproxy_run(the_proxy);
	px_lproxy_del(the_proxy);
	return rv == 0 ? 0 : 3;
}
