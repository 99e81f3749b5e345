/* SPDX-License-Identifier: Apache-2.0 */
/* s3action_run.c: prints px_s3_action() for each request line on stdin (s3action_botocore.py makes them with botocore and checks the names). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proxy/pipeline.h"

/*
 * Each input line is "METHOD<TAB>V<TAB>PATH[?QUERY]<TAB>C": V is 1 when the
 * bucket is in the host name, C is 1 when the request has an
 * x-amz-copy-source header. Each output line is the action, or "-" for none.
 */
int main(void)
{
	char line[8192];
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *f[4];
		char *p = line;
		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < 4; i++) {
			f[i] = p;
			p += strcspn(p, "\t");
			if (i < 3) {
				if (*p != '\t') {
					fprintf(stderr, "s3action_run: a line without four fields\n");
					return 2;
				}
				*p++ = '\0';
			}
		}
		char *q = strchr(f[2], '?');
		struct sv4_header copy = {"x-amz-copy-source", 17, "bkt/k", 5};
		struct sv4_request req = {
			.method = f[0],
			.methodlen = strlen(f[0]),
			.path = f[2],
			.pathlen = q != NULL ? (size_t)(q - f[2]) : strlen(f[2]),
			.query = q != NULL ? q + 1 : NULL,
			.querylen = q != NULL ? strlen(q + 1) : 0,
			.headers = &copy,
			.nheaders = strcmp(f[3], "1") == 0 ? 1 : 0,
		};
		char action[PX_MAX_ACTION + 1];
		px_s3_action(&req, strcmp(f[1], "1") == 0, action);
		printf("%s\n", action[0] ? action : "-");
	}
	return 0;
}
