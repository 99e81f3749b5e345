/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_sts.c: libFuzzer target for STS answer parsing: success answers of each action, error answers and their classes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_sts"
#include "tests/fuzz/harness.h"

#include "federation/federation.h"
#include "federation/sts_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int deliver(void *arg, const struct fed_sts_result *r)
{
	enum fed_sts_action action = *(const enum fed_sts_action *)arg;
	if (action == FED_STS_GET_CALLER_IDENTITY) {
		if (r->account == NULL || r->arn == NULL || r->user_id == NULL)
			violated("GetCallerIdentity success without account, arn or user id");
		if (r->creds.access_key_id != NULL)
			violated("GetCallerIdentity with credentials");
		return 0;
	}
	if (r->creds.access_key_id == NULL || r->creds.secret_access_key == NULL || r->creds.session_token == NULL ||
	    r->creds.access_key_id[0] == '\0' || r->creds.secret_access_key[0] == '\0' ||
	    r->creds.session_token[0] == '\0')
		violated("credentials success with an empty part");
	if (r->creds.expiration < 0 || r->creds.long_term)
		violated("credentials success with a negative expiry or marked long-term");
	if (!terminated(r->creds.source, sizeof(r->creds.source)) || strncmp(r->creds.source, "sts:", 4) != 0)
		violated("source not sts:<Action>");
	if (action != FED_STS_GET_FEDERATION_TOKEN && r->assumed_role_arn == NULL)
		violated("AssumeRole success without the assumed role ARN");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	enum fed_sts_action action = (enum fed_sts_action)(data[0] % 4);
	int status = 200 + 100 * (data[1] % 4) + (data[1] / 4) % 30; /* 200..529 */
	struct fed_header hdr = {"x-amzn-RequestId", "hdr-id"};
	/* The transport promises a NUL after the body. */
	char *body = dup_bytes((const char *)data + 2, size - 2);
	struct fed_http_response res = {.status = status, .headers = &hdr, .nheaders = 1, .body = body,
	                                 .body_len = size - 2};

	int rv = fed_sts_parse_success(action, &res, deliver, &action);
	if (rv != 0 && rv != FED_ERR_PARSE && rv != FED_ERR_NOMEM)
		violated("undocumented error from the success parser");

	struct fed_sts_error e;
	memset(&e, 0x5a, sizeof(e));
	fed_sts_parse_error(&res, &e);
	if (e.status != status || !terminated(e.code, sizeof(e.code)) || !terminated(e.message, sizeof(e.message)) ||
	    !terminated(e.request_id, sizeof(e.request_id)))
		violated("error fields not NUL-terminated, or the status changed");
	int err = 0;
	int cls = fed_sts_classify(status, e.code, &err);
	if (cls < 0 || cls > 2)
		violated("unknown class");
	if ((cls == 0 && err != FED_ERR_DENIED && err != FED_ERR_REJECTED) || (cls == 1 && err != FED_ERR_THROTTLED) ||
	    (cls == 2 && err != FED_ERR_UNAVAILABLE))
		violated("class and error disagree");
	/* AccessDenied is final whatever the status; anything else in a 5xx is retried. */
	if (status >= 500 && cls == 0 && err != FED_ERR_DENIED)
		violated("a 5xx classed final");
	if (strcmp(e.code, "AccessDenied") == 0 && err != FED_ERR_DENIED)
		violated("AccessDenied not denied");
	free(body);
	return 0;
}
