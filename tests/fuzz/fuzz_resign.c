/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_resign.c: libFuzzer target for the scope parser (Authorization, presigned queries, payload hashes) and the re-signer behind it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_resign"
#include "tests/fuzz/harness.h"

#include "proxy/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW INT64_C(1440938160)

static struct sv4_signer *signer;

/* Input: one flag byte, then Authorization, query and X-Amz-Content-Sha256
 * separated by LF (an empty part: absent). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (signer == NULL && (signer = sv4_signer_new()) == NULL)
		violated("no signer");
	uint8_t flags = data[0];
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	const char *part[3] = {p, p, p};
	size_t plen[3] = {0, 0, 0};
	for (int k = 0; k < 3; k++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = (nl != NULL && k < 2) ? nl : end;
		part[k] = p;
		plen[k] = (size_t)(e - p);
		p = e < end ? e + 1 : end;
	}
	struct sv4_header h[4];
	size_t n = 0;
	h[n++] = (struct sv4_header){"X-Forwarded-Host", 16, "b.s3.us-west-2.amazonaws.com", 28};
	if (plen[0] > 0)
		h[n++] = (struct sv4_header){"Authorization", 13, part[0], plen[0]};
	if (plen[2] > 0)
		h[n++] = (struct sv4_header){"X-Amz-Content-Sha256", 20, part[2], plen[2]};
	h[n++] = (struct sv4_header){"Connection", 10, "x-drop", 6};
	struct sv4_request req = {"GET", 3, "/k", 2, part[1], plen[1], h, n, NULL, 0};

	/* The audit's S3 operation for this query: a name of letters, or none. */
	static const char *const methods[] = {"GET", "PUT", "POST", "DELETE"};
	struct sv4_request sreq = req;
	sreq.method = methods[(flags >> 4) & 3];
	sreq.methodlen = strlen(sreq.method);
	sreq.path = (flags & 0x40) ? "/" : "/b/k";
	sreq.pathlen = strlen(sreq.path);
	char action[PX_MAX_ACTION + 1];
	px_s3_action(&sreq, (flags & 0x80) != 0, action);
	for (const char *c = action; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			violated("an S3 action outside [A-Za-z0-9]");
	struct px_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.aws.partitions = 0x1f;
	struct px_target t;
	struct px_refusal why;
	if (px_target_decide(&cfg, h, 1, &t, &why) != 0)
		violated("the fixed target was refused");
	int64_t clens[4] = {0, -1, 10, 0};
	struct px_scope sc;
	memset(&sc, 0x5a, sizeof(sc));
	int rv = px_scope_parse(&req, &t, clens[(flags >> 1) & 3], NOW, &sc, &why);
	if (rv != 0) {
		if (rv != PX_ERR_REFUSED)
			violated("an undocumented error code");
		switch (why.reason) {
		case PX_R_SIGNATURE_MALFORMED:
		case PX_R_SIGNATURE_UNSUPPORTED:
		case PX_R_PRESIGN_EXPIRED:
			break;
		default:
			violated("a reason px_scope_parse() does not document");
		}
		if (sc.region[0] != 0x5a)
			violated("failure wrote the scope");
		return 0;
	}
	for (const char *s = sc.service; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			violated("a service outside [a-z0-9-]");
	if (sc.region[0] == '\0' || sc.service[0] == '\0')
		violated("an empty scope");
	if ((sc.kind == PX_SIG_HEADER) != (plen[0] > 0))
		violated("header-signed without Authorization, or Authorization ignored");

	struct fed_creds creds = {(char *)(uintptr_t) "ASIAROLE", (char *)(uintptr_t) "secret",
	                          (flags & 1) ? (char *)(uintptr_t) "roletoken" : NULL, 0, false, "fuzz"};
	struct px_resign_params rp = {&creds, NOW, NOW + 3600, SV4_EMPTY_SHA256, NULL, 0, false, -1};
	struct px_outreq o;
	rv = px_resign(signer, &req, &t, &sc, &rp, &o, &why);
	if (rv == PX_ERR_REFUSED) {
		if (why.reason != PX_R_REQUEST_MALFORMED && why.reason != PX_R_SESSION_TOO_SHORT)
			violated("a reason px_resign() does not document");
		return 0;
	}
	if (rv != 0)
		violated("px_resign() failed without a refusal");
	size_t hosts = 0;
	for (size_t i = 0; i < o.nheaders; i++) {
		const struct sv4_header *x = &o.headers[i];
		if (name_is(x->name, x->namelen, "host")) {
			hosts++;
			if (x->valuelen != t.hostlen || memcmp(x->value, t.host, t.hostlen) != 0)
				violated("Host is not the target");
		}
		if (name_is(x->name, x->namelen, "connection") || name_is(x->name, x->namelen, "x-forwarded-host"))
			violated("a dropped header survived");
		if (name_is(x->name, x->namelen, "authorization") &&
		    (x->valuelen < 30 || memcmp(x->value, "AWS4-HMAC-SHA256 Credential=ASIAROLE/", 37) != 0))
			violated("an Authorization that is not the role's");
	}
	if (hosts != 1)
		violated("not exactly one Host");
	if (sc.kind == PX_SIG_PRESIGNED) {
		const char *q = o.query;
		size_t ql = o.querylen;
		bool ours = false;
		for (size_t i = 0; i + 26 <= ql; i++)
			if (memcmp(q + i, "X-Amz-Credential=ASIAROLE%", 26) == 0)
				ours = true;
		if (!ours)
			violated("a presigned request without the role's credential");
	}
	px_outreq_free(&o);
	return 0;
}
