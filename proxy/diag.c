/* SPDX-License-Identifier: Apache-2.0 */
/* diag.c: errors and warnings about a file, gathered and printed as FILE:LINE:COLUMN: error: PATH: message. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

void px_diags_init(struct px_diags *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = file;
}

void px_diags_free(struct px_diags *d)
{
	const char *file = d->file;

	free(d->v);
	px_diags_init(d, file);
}

/* Control characters from a file (a key, a value quoted in a message) must
 * not reach a terminal: each becomes '?'. */
static void sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Reserves the next diagnostic of |d| at |level|, or returns NULL (counted). */
static struct px_diag *diags_next(struct px_diags *d, enum px_diag_level level)
{
	if (level == PX_DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n == PX_MAX_DIAGS) {
		d->dropped++;
		return NULL;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		if (ncap > PX_MAX_DIAGS)
			ncap = PX_MAX_DIAGS;
		struct px_diag *nv = realloc(d->v, ncap * sizeof(*nv));
		if (nv == NULL) {
			d->nomem = true;
			d->dropped++;
			return NULL;
		}
		d->v = nv;
		d->cap = ncap;
	}
	struct px_diag *g = &d->v[d->n++];
	memset(g, 0, sizeof(*g));
	g->level = level;
	return g;
}

void px_diags_add(struct px_diags *d, enum px_diag_level level, const char *path, int line, int column,
                  const char *fmt, ...)
{
	struct px_diag *g = diags_next(d, level);
	va_list ap;

	if (g == NULL)
		return;
	g->line = line > 0 ? line : 0;
	g->column = line > 0 && column > 0 ? column : 0;
	snprintf(g->path, sizeof(g->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
	va_end(ap);
	sanitize(g->path);
	sanitize(g->msg);
}

void px_diags_rbac_fn(void *arg, const struct rbac_diag *rd)
{
	struct px_diags *d = arg;
	struct px_diag *g = diags_next(d, rd->code != 0 ? PX_DIAG_ERROR : PX_DIAG_WARNING);

	if (g == NULL)
		return;
	snprintf(g->file, sizeof(g->file), "%s", rd->file && d->file && strcmp(rd->file, d->file) != 0 ? rd->file : "");
	g->line = rd->line > 0 ? rd->line : 0;
	g->column = rd->line > 0 && rd->column > 0 ? rd->column : 0;
	snprintf(g->path, sizeof(g->path), "%s", rd->path);
	snprintf(g->msg, sizeof(g->msg), "%s", rd->msg);
	sanitize(g->file);
	sanitize(g->path);
	sanitize(g->msg);
}

void px_diags_print(const struct px_diags *d, FILE *f)
{
	const char *file = d->file ? d->file : "(input)";

	for (size_t i = 0; i < d->n; i++) {
		const struct px_diag *g = &d->v[i];
		const char *level = g->level == PX_DIAG_ERROR ? "error" : "warning";
		if (g->file[0] != '\0')
			file = g->file;
		else
			file = d->file ? d->file : "(input)";
		if (g->line > 0 && g->column > 0)
			fprintf(f, "%s:%d:%d: %s: ", file, g->line, g->column, level);
		else if (g->line > 0)
			fprintf(f, "%s:%d: %s: ", file, g->line, level);
		else
			fprintf(f, "%s: %s: ", file, level);
		if (g->path[0] != '\0')
			fprintf(f, "%s: ", g->path);
		fprintf(f, "%s\n", g->msg);
	}
	file = d->file ? d->file : "(input)";
	if (d->dropped > 0)
		fprintf(f, "%s: %zu more %s not shown%s\n", file, d->dropped, d->dropped == 1 ? "problem" : "problems",
		        d->nomem ? " (out of memory)" : "");
}
