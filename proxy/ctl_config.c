/* SPDX-License-Identifier: Apache-2.0 */
/* ctl_config.c: `awsgatectl config check` and `config options`: the daemon file checked, the option table listed. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proxy.h"

static void check_usage(FILE *f)
{
	fputs("Usage: awsgatectl config check FILE [--strict] [--no-files] [--json]\n"
	      "\n"
	      "Checks the daemon file FILE (awsgated.json; '-' reads standard input) as\n"
	      "awsgated would load it, and prints every error and warning to standard error:\n"
	      "  FILE:LINE:COLUMN: error: PATH: message\n"
	      "\n"
	      "  --strict     count warnings as errors\n"
	      "  --no-files   do not check that the files and directories it names exist\n"
	      "               (checking a file written for another machine)\n"
	      "  --json       print the result as one JSON object on standard output instead\n"
	      "\n"
	      "Exit status: 0 no errors (warnings allowed); 1 errors (with --strict, warnings\n"
	      "too); 2 usage error or FILE cannot be read. Options: docs/CONFIG.md.\n",
	      f);
}

static void options_usage(FILE *f)
{
	fputs("Usage: awsgatectl config options [--json]\n"
	      "\n"
	      "Lists every option of the daemon file, one a line, tab-separated:\n"
	      "  NAME  TYPE  DEFAULT  DESCRIPTION\n"
	      "TYPE carries the range or the allowed words (\"uint 1..1000\", \"enum 1.2, 1.3\");\n"
	      "DEFAULT is JSON (null: none). The table of docs/CONFIG.md is checked against\n"
	      "this output. --json prints an array of objects with the same four fields.\n",
	      f);
}

static void config_usage(FILE *f)
{
	fputs("Usage: awsgatectl config check FILE [--strict] [--no-files] [--json]\n"
	      "                                      check the daemon file (... check --help)\n"
	      "       awsgatectl config options [--json]  list the daemon file's options (... options --help)\n",
	      f);
}

/* Prints |d| as {"file": ..., "ok": ..., "errors": N, "warnings": N, "dropped": N,
 * "diagnostics": [{"file", "level", "path", "line", "column", "message"}]}. */
static int print_json(const struct px_diags *d, int ok)
{
	json_t *list = json_array(), *root;
	int rv = -1;

	if (list == NULL)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		const struct px_diag *g = &d->v[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "file", g->file[0] ? g->file : d->file, "level",
		                      g->level == PX_DIAG_ERROR ? "error" : "warning", "path", g->path, "line", g->line,
		                      "column", g->column, "message", g->msg);
		if (o == NULL || json_array_append_new(list, o) != 0) {
			json_decref(list);
			return -1;
		}
	}
	root = json_pack("{s:s, s:b, s:I, s:I, s:I, s:o}", "file", d->file, "ok", ok, "errors", (json_int_t)d->nerrors,
	                 "warnings", (json_int_t)d->nwarnings, "dropped", (json_int_t)d->dropped, "diagnostics", list);
	if (root != NULL && json_dumpf(root, stdout, JSON_INDENT(2)) == 0) {
		putchar('\n');
		rv = 0;
	}
	json_decref(root);
	return rv;
}

static int cmd_check(int argc, char **argv)
{
	enum { OPT_STRICT = 256, OPT_NO_FILES, OPT_JSON, OPT_HELP };
	static const struct option opts[] = {
		{"strict", no_argument, NULL, OPT_STRICT},
		{"no-files", no_argument, NULL, OPT_NO_FILES},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	int strict = 0, json = 0, c;
	unsigned flags = PX_CONFIG_CHECK_FILES;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STRICT: strict = 1; break;
		case OPT_NO_FILES: flags &= ~PX_CONFIG_CHECK_FILES; break;
		case OPT_JSON: json = 1; break;
		case OPT_HELP: check_usage(stdout); return PX_EXIT_OK;
		default:
			fprintf(stderr, "awsgatectl: unknown option '%s'\nTry 'awsgatectl config check --help'.\n",
			        argv[optind - 1]);
			return PX_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(optind == argc ? "awsgatectl: config check needs the daemon file: config check FILE\n"
		                     : "awsgatectl: config check takes one file\n",
		      stderr);
		fputs("Try 'awsgatectl config check --help'.\n", stderr);
		return PX_EXIT_USAGE;
	}

	const char *path = argv[optind], *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	char *text = NULL, why[256];
	size_t len = 0;
	int rv = px_file_read(path, PX_CONFIG_MAX_BYTES, &text, &len, why, sizeof(why));
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot read the daemon file '%s': %s\n", path,
		        rv == PX_ERR_IO          ? why
		        : rv == PX_ERR_TOO_LARGE ? "larger than the 4 MiB limit (move apps to resources_dir)"
		                                 : "out of memory");
		return PX_EXIT_USAGE;
	}

	struct px_diags diags;
	struct px_config *cfg = NULL;
	px_diags_init(&diags, name);
	rv = px_config_load(path, text, len, flags, &cfg, &diags);
	if (rv == PX_ERR_NOMEM) {
		fputs("awsgatectl: out of memory\n", stderr);
		px_diags_free(&diags);
		free(text);
		return PX_EXIT_USAGE;
	}
	/* The resources: the files of resources_dir and the inline apps,
	 * into the same diagnostics, so that one run and one exit status
	 * cover the daemon file and every resource. */
	struct rbac_policy_stats st = {0};
	int have_stats = 0;
	if (cfg != NULL) {
		struct rbac_policy *pol = NULL;
		rv = px_policy_load(cfg, path, text, len, (flags & PX_CONFIG_CHECK_FILES) != 0, px_diags_rbac_fn, &diags,
		                    &pol);
		if (pol == NULL) {
			fputs("awsgatectl: out of memory\n", stderr);
		} else {
			rbac_policy_stats(pol, &st);
			have_stats = 1;
		}
		rbac_policy_unref(pol);
	}

	int bad = diags.nerrors > 0 || (strict && diags.nwarnings > 0);
	int status = bad ? PX_EXIT_NO : PX_EXIT_OK;
	if (json) {
		if (print_json(&diags, !bad) != 0) {
			fputs("awsgatectl: cannot write the JSON output\n", stderr);
			status = PX_EXIT_USAGE;
		}
	} else {
		px_diags_print(&diags, stderr);
		if (have_stats)
			fprintf(stderr, "%s: %zu roles, %zu users, %zu apps, %zu locks\n", name, st.roles, st.users,
			        st.apps, st.locks);
		if (!bad)
			fprintf(stderr, "%s: ok", name);
		else
			fprintf(stderr, "%s: not ok", name);
		fprintf(stderr, " (%zu %s, %zu %s%s)\n", diags.nerrors, diags.nerrors == 1 ? "error" : "errors",
		        diags.nwarnings, diags.nwarnings == 1 ? "warning" : "warnings",
		        strict && diags.nwarnings > 0 ? ", --strict counts warnings" : "");
	}
	px_config_unref(cfg);
	px_diags_free(&diags);
	free(text);
	return status;
}

static int cmd_options(int argc, char **argv)
{
	struct px_config_optinfo info;
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			options_usage(stdout);
			return PX_EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		fprintf(stderr, "awsgatectl: unexpected argument '%s'\nTry 'awsgatectl config options --help'.\n",
		        argv[i]);
		return PX_EXIT_USAGE;
	}
	if (json) {
		json_t *list = json_array();
		int rv = list ? 0 : -1;
		for (size_t i = 0; rv == 0 && px_config_option(i, &info) == 0; i++) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", info.name, "type", info.type, "default",
			                      info.default_value, "description", info.description);
			if (o == NULL || json_array_append_new(list, o) != 0)
				rv = -1;
		}
		if (rv == 0 && json_dumpf(list, stdout, JSON_INDENT(2)) == 0)
			putchar('\n');
		else
			rv = -1;
		json_decref(list);
		if (rv != 0) {
			fputs("awsgatectl: cannot write the JSON output\n", stderr);
			return PX_EXIT_USAGE;
		}
	} else {
		for (size_t i = 0; px_config_option(i, &info) == 0; i++)
			printf("%s\t%s\t%s\t%s\n", info.name, info.type, info.default_value, info.description);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("awsgatectl: cannot write the output\n", stderr);
		return PX_EXIT_USAGE;
	}
	return PX_EXIT_OK;
}

int px_ctl_config(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		config_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? PX_EXIT_USAGE : PX_EXIT_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "options") == 0)
		return cmd_options(argc - 1, argv + 1);
	fprintf(stderr, "awsgatectl: unknown command 'config %s'\n", argv[1]);
	config_usage(stderr);
	return PX_EXIT_USAGE;
}
