/* SPDX-License-Identifier: Apache-2.0 */
/* resign_run.c: runs one request file through the pipeline's target, scope, STS rewrite and re-signing stages and prints the outgoing request (resign_botocore.py checks it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/pipeline.h"

/* The re-signed aws-chunked body, gathered for printing. */
struct body {
	unsigned char *p;
	size_t len, cap;
};

static int body_add(void *arg, const unsigned char *data, size_t len)
{
	struct body *b = arg;
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		unsigned char *np = realloc(b->p, cap);
		if (np == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

/* Usage: resign_run FILE NOW SESSION-END ACCESS-KEY SECRET [TOKEN|- [STS-USER]]
 * With STS-USER, a buffered sts body goes through px_sts_rewrite() first
 * (SourceIdentity STS-USER, the session's time left NOW..SESSION-END).
 * Prints "scope KIND PAYLOAD REGION SERVICE" and then the outgoing request
 * in the request-file format (request line, headers, blank line, body);
 * a refusal prints "refused REASON MESSAGE" and exits 1. */
int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: resign_run FILE NOW SESSION-END ACCESS-KEY SECRET [TOKEN|-]\n");
		return 2;
	}
	char *data = NULL, err[256];
	size_t len = 0;
	if (px_file_read(argv[1], 1u << 26, &data, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "resign_run: %s\n", err);
		return 2;
	}
	struct sv4_reqfile rf;
	struct sv4_reqfile_error rerr;
	if (sv4_reqfile_parse(&rf, data, len, &rerr) != 0) {
		fprintf(stderr, "resign_run: %s: line %u: %s\n", argv[1], rerr.line, rerr.what);
		return 2;
	}
	int64_t now = strtoll(argv[2], NULL, 10), end = strtoll(argv[3], NULL, 10);
	struct fed_creds creds;
	memset(&creds, 0, sizeof(creds));
	creds.access_key_id = argv[4];
	creds.secret_access_key = argv[5];
	creds.session_token = (argc > 6 && strcmp(argv[6], "-") != 0) ? argv[6] : NULL;

	struct px_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.aws.partitions = 0x1f;
	struct px_refusal why;
	struct sv4_signer *signer = NULL;
	struct px_outreq out;
	struct body nb = {NULL, 0, 0};
	memset(&out, 0, sizeof(out));
	struct px_target t;
	struct px_scope sc;
	int status = 1;
	int64_t clen = (int64_t)rf.req.bodylen;
	if (px_target_decide(&cfg, rf.req.headers, rf.req.nheaders, &t, &why) != 0 ||
	    px_scope_parse(&rf.req, &t, clen, now, &sc, &why) != 0)
		goto refused;
	printf("scope %s %s %s %s\n", px_sigkind_name(sc.kind), px_payload_name(sc.payload), sc.region, sc.service);

	struct px_resign_params p = {&creds, now, end, NULL, NULL, 0, false, -1};
	static char form[PX_STS_MAX_FORM];
	if (argc > 7 && sc.payload == PX_PAYLOAD_BUFFER && strcmp(sc.service, "sts") == 0) {
		struct px_sts_user u = {argv[7], end - now};
		struct px_sts_change chg;
		size_t flen = 0;
		int r = px_sts_rewrite((const char *)rf.req.body, rf.req.bodylen, &u, form, sizeof(form), &flen, &chg,
		                       &why);
		if (r == PX_ERR_REFUSED)
			goto refused;
		if (r != 0)
			return 2;
		printf("sts assume_role=%d rewritten=%d duration=%u capped=%d source_identity_added=%d\n",
		       chg.assume_role, chg.rewritten, chg.duration_seconds, chg.duration_capped,
		       chg.source_identity_added);
		if (chg.rewritten) {
			rf.req.body = (const unsigned char *)form;
			rf.req.bodylen = flen;
			p.content_length = (int64_t)flen;
		}
	}
	char action[PX_MAX_ACTION + 1];
	if (px_action_extract(&rf.req, (const char *)rf.req.body, rf.req.bodylen, action) == 0)
		printf("action %s\n", action[0] ? action : "-");
	char hash[65];
	if (sc.payload == PX_PAYLOAD_BUFFER) {
		if (sv4_sha256_hex(rf.req.body, rf.req.bodylen, hash) != 0)
			return 2;
		p.payload_hash = hash;
	}
	signer = sv4_signer_new();
	int rv = px_resign(signer, &rf.req, &t, &sc, &p, &out, &why);
	if (rv == PX_ERR_REFUSED)
		goto refused;
	if (rv != 0) {
		fprintf(stderr, "resign_run: error %d\n", rv);
		return 2;
	}
	if (sc.payload == PX_PAYLOAD_CHUNKED) {
		struct px_rechunk *rc = NULL;
		uint64_t decoded = 0;
		if (px_rechunk_new(signer, sc.chunked, 0, creds.secret_access_key, out.date, sc.region, sc.service,
		                   out.seed, body_add, &nb, &rc) != 0)
			return 2;
		/* fed in small pieces, as a socket would */
		int crv = 0;
		for (size_t off = 0; off < rf.req.bodylen && crv == 0;) {
			size_t n = rf.req.bodylen - off < 1000 ? rf.req.bodylen - off : 1000;
			crv = px_rechunk_feed(rc, rf.req.body + off, n, &why);
			off += n;
		}
		if (crv == 0)
			crv = px_rechunk_finish(rc, &decoded, &why);
		px_rechunk_del(rc);
		if (crv != 0)
			goto refused;
		rf.req.body = nb.p;
		rf.req.bodylen = nb.len;
	}
	printf("%.*s %.*s%s%.*s HTTP/1.1\r\n", (int)rf.req.methodlen, rf.req.method, (int)rf.req.pathlen, rf.req.path,
	       out.querylen ? "?" : "", (int)out.querylen, out.query);
	for (size_t i = 0; i < out.nheaders; i++)
		printf("%.*s:%.*s\r\n", (int)out.headers[i].namelen, out.headers[i].name, (int)out.headers[i].valuelen,
		       out.headers[i].value);
	printf("\r\n");
	fwrite(rf.req.body, 1, rf.req.bodylen, stdout);
	status = 0;
	goto out;
refused:
	printf("refused %s %s\n", px_reason_info(why.reason)->name, why.message);
out:
	px_outreq_free(&out);
	sv4_signer_del(signer);
	free(nb.p);
	sv4_reqfile_free(&rf);
	free(data);
	return status;
}
