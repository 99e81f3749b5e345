/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_config.c: libFuzzer target that loads fuzzed bytes as the daemon file and checks what px_config_load() says. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proxy/proxy.h"

#define FUZZ_NAME "fuzz_config"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every diagnostic is well formed: a level, a position inside the input, a
 * non-empty message without control characters. */
static void check_diags(const struct px_diags *d, const uint8_t *data, size_t size)
{
	size_t lines = 1, errors = 0, warnings = 0;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	if (d->n > PX_MAX_DIAGS || d->n + d->dropped != d->nerrors + d->nwarnings)
		violated("diagnostics miscounted");
	for (size_t i = 0; i < d->n; i++) {
		const struct px_diag *g = &d->v[i];
		if (g->level == PX_DIAG_ERROR)
			errors++;
		else if (g->level == PX_DIAG_WARNING)
			warnings++;
		else
			violated("a diagnostic with no level");
		if (g->line < 0 || g->column < 0 || (size_t)g->line > lines || (g->line == 0 && g->column != 0))
			violated("a position outside the input");
		if (g->msg[0] == '\0' || memchr(g->msg, '\0', sizeof(g->msg)) == NULL ||
		    memchr(g->path, '\0', sizeof(g->path)) == NULL)
			violated("an empty or unterminated message");
		for (const char *p = g->msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				violated("a control character in a message");
		for (const char *p = g->path; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				violated("a control character in a path");
	}
	if (errors > d->nerrors || warnings > d->nwarnings)
		violated("more diagnostics kept than counted");
}

/* A loaded config holds what the table promises. */
static void check_config(const struct px_config *cfg)
{
	if (cfg->nlisten < 1 || cfg->nlisten > 64 || cfg->listen == NULL)
		violated("listen count outside 1..64");
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].host == NULL || cfg->listen[i].host[0] == '\0' || cfg->listen[i].port == 0)
			violated("a listen address without host or port");
	if (cfg->workers > 256)
		violated("workers past 256");
	if (cfg->tls.cert_file == NULL || cfg->tls.key_file == NULL)
		violated("loaded without a certificate and key");
	if (cfg->tls.min_version != PX_TLS_1_2 && cfg->tls.min_version != PX_TLS_1_3)
		violated("tls.min_version outside its words");
	for (size_t i = 0; i < cfg->tls.nclient_ca_files; i++)
		if (cfg->tls.client_ca_files[i] == NULL || cfg->tls.client_ca_files[i][0] == '\0')
			violated("an empty client CA path");
	if (cfg->data_dir == NULL || cfg->aws.region == NULL || cfg->audit.file == NULL || cfg->log.file == NULL ||
	    cfg->metrics.path == NULL || cfg->metrics.path[0] != '/')
		violated("a required string missing");
	if (cfg->aws.partitions == 0 || cfg->aws.partitions > 0x1f)
		violated("aws.partitions empty or past its words");
	if ((unsigned)cfg->aws.credential_source > PX_CREDS_IMDS || (unsigned)cfg->log.level > PX_LOG_DEBUG)
		violated("an enum outside its words");
	for (size_t i = 0; i < cfg->aws.nconnect_to; i++)
		if (cfg->aws.connect_to[i].host == NULL || cfg->aws.connect_to[i].address.host == NULL ||
		    cfg->aws.connect_to[i].address.port == 0)
			violated("a connect_to entry incomplete");
	if (cfg->aws.session_duration < 900 || cfg->aws.session_duration > 43200)
		violated("aws.session_duration out of range");
	if (!json_is_array(cfg->apps))
		violated("apps is not an array");
	for (size_t i = 0; i < json_array_size(cfg->apps); i++)
		if (!json_is_object(json_array_get(cfg->apps, i)))
			violated("an app that is not an object");
	if (cfg->metrics.listen.host != NULL && cfg->metrics.listen.port == 0)
		violated("metrics.listen without a port");
	if (cfg->limits.max_connections < 1 || cfg->limits.max_header_bytes < 1024 ||
	    cfg->limits.max_header_bytes > 1024 * 1024 || cfg->limits.max_headers < 1 || cfg->limits.max_headers > 1000 ||
	    cfg->limits.max_body_buffer > 1024 * 1024 * 1024 || cfg->limits.h2_initial_window_size > 0x7fffffff)
		violated("a limit out of range");
	if (cfg->timeouts.header_read < 1 || cfg->timeouts.header_read > 600 || cfg->timeouts.idle < 1 ||
	    cfg->timeouts.sts > 300 || cfg->timeouts.shutdown_grace > 3600)
		violated("a timeout out of range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_config *cfg = (struct px_config *)(uintptr_t)0x1, *untouched = cfg;
	struct px_diags d;

	px_diags_init(&d, "fuzz.json");
	/* Without PX_CONFIG_CHECK_FILES nothing outside the bytes is read. */
	int rv = px_config_load("/etc/awsgate/fuzz.json", (const char *)data, size, 0, &cfg, &d);
	check_diags(&d, data, size);
	if (rv == 0) {
		if (cfg == untouched || cfg == NULL || d.nerrors != 0)
			violated("success without a config, or with errors");
		check_config(cfg);
		px_config_unref(px_config_ref(cfg));
		px_config_unref(cfg);
	} else {
		if (rv != PX_ERR_CONFIG && rv != PX_ERR_NOMEM)
			violated("undocumented error code");
		if (cfg != untouched)
			violated("config written on failure");
		if (rv == PX_ERR_CONFIG && d.nerrors == 0)
			violated("PX_ERR_CONFIG without an error");
	}
	px_diags_free(&d);
	return 0;
}
