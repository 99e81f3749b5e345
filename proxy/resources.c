/* SPDX-License-Identifier: Apache-2.0 */
/* resources.c: reads the resources directory's files into an rbac policy (rbac parses, proxy reads). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "proxy.h"
#include "rbac/rbac.h"

/* Resource files are "*.json"; editors' and our own temporary files
 * (".name.json.tmp", "name.json~") are not, so a half-written file is
 * never read. */
static int json_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

int px_resources_load(struct rbac_policy *pol, const char *dir, rbac_diag_fn *fn, void *arg, size_t *nfiles)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, json_name, alphasort);
	int first = 0;

	*nfiles = 0;
	if (n < 0) {
		struct rbac_diag d = {.file = dir, .code = PX_ERR_IO};
		snprintf(d.msg, sizeof(d.msg), "cannot read the resources directory: %s", strerror(errno));
		fn(arg, &d);
		return PX_ERR_IO;
	}
	for (int i = 0; i < n; i++) {
		char path[4096], err[256];
		char *text = NULL;
		size_t len = 0;
		int rv;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >= sizeof(path)) {
			rv = PX_ERR_IO;
			snprintf(err, sizeof(err), "path too long");
		} else {
			rv = px_file_read(path, RBAC_MAX_DOCUMENT, &text, &len, err, sizeof(err));
		}
		if (rv != 0) {
			struct rbac_diag d = {.file = path, .code = rv};
			snprintf(d.msg, sizeof(d.msg), "%s",
				 rv == PX_ERR_TOO_LARGE ? "file larger than the 4 MiB a resource file may have"
				 : rv == PX_ERR_NOMEM	 ? "out of memory"
							 : err);
			fn(arg, &d);
		} else {
			rv = rbac_policy_load(pol, path, text, len, fn, arg);
			(*nfiles)++;
		}
		if (rv != 0 && first == 0)
			first = rv;
		free(text);
		free(names[i]);
	}
	free(names);
	return first;
}

int px_policy_load(const struct px_config *cfg, const char *file, const char *text, size_t len, int need_dir,
		   rbac_diag_fn *fn, void *arg, struct rbac_policy **out)
{
	struct rbac_policy *pol = rbac_policy_new();
	int first = 0, rv;
	size_t nfiles = 0;

	if (pol == NULL)
		return PX_ERR_NOMEM;
	/* Without file checks (config check --no-files) a resources directory
	 * that is not there yet is no error: the daemon file alone is checked. */
	if (cfg->resources_dir != NULL && (need_dir || access(cfg->resources_dir, R_OK | X_OK) == 0)) {
		rv = px_resources_load(pol, cfg->resources_dir, fn, arg, &nfiles);
		if (rv != 0)
			first = rv;
	}
	if (cfg->apps != NULL && json_array_size(cfg->apps) > 0) {
		rv = rbac_policy_load_json(pol, file, text, len, cfg->apps, "apps", fn, arg);
		if (rv != 0 && first == 0)
			first = rv;
	}
	rv = rbac_policy_freeze(pol, fn, arg);
	if (rv != 0 && first == 0)
		first = rv;
	*out = pol;
	return first;
}
