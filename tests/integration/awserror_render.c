/* SPDX-License-Identifier: Apache-2.0 */
/* awserror_render.c: renders one gate error with px_awserror_render() for the botocore cross-check (awserror_botocore.py). */
#include <stdio.h>
#include <string.h>

#include "proxy/pipeline.h"

/* Usage: awserror_render REASON MESSAGE REQUEST-ID [service=S] [method=M]
 * [target=T] [content-type=C] [query=Q] [form-action]
 * Prints "STATUS PROTOCOL", the headers as "name: value", a blank line and
 * the body, exactly. */
int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: awserror_render REASON MESSAGE REQUEST-ID [key=value ...]\n");
		return 2;
	}
	enum px_reason reason = PX_R_COUNT;
	for (int r = 1; r < PX_R_COUNT; r++)
		if (strcmp(px_reason_info((enum px_reason)r)->name, argv[1]) == 0)
			reason = (enum px_reason)r;
	if (reason == PX_R_COUNT) {
		fprintf(stderr, "awserror_render: unknown reason %s\n", argv[1]);
		return 2;
	}
	struct px_errctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	for (int i = 4; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "service=", 8) == 0) {
			ctx.service = a + 8;
		} else if (strncmp(a, "method=", 7) == 0) {
			ctx.method = a + 7;
			ctx.methodlen = strlen(a + 7);
		} else if (strncmp(a, "target=", 7) == 0) {
			ctx.target = a + 7;
			ctx.targetlen = strlen(a + 7);
		} else if (strncmp(a, "content-type=", 13) == 0) {
			ctx.content_type = a + 13;
			ctx.content_typelen = strlen(a + 13);
		} else if (strncmp(a, "query=", 6) == 0) {
			ctx.query = a + 6;
			ctx.querylen = strlen(a + 6);
		} else if (strcmp(a, "form-action") == 0) {
			ctx.form_action = true;
		} else {
			fprintf(stderr, "awserror_render: unknown argument %s\n", a);
			return 2;
		}
	}
	static struct px_awserror e;
	int rv = px_awserror_render(&ctx, reason, argv[2], argv[3], &e);
	if (rv != 0) {
		fprintf(stderr, "awserror_render: error %d\n", rv);
		return 1;
	}
	printf("%d %s\n", e.status, px_aws_protocol_name(e.protocol));
	for (size_t i = 0; i < e.nheaders; i++)
		printf("%.*s: %.*s\n", (int)e.headers[i].namelen, e.headers[i].name, (int)e.headers[i].valuelen,
		       e.headers[i].value);
	printf("\n");
	fwrite(e.body, 1, e.bodylen, stdout);
	return 0;
}
