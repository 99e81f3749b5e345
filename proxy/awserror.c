/* SPDX-License-Identifier: Apache-2.0 */
/* awserror.c: the gate's refusals rendered in the addressed service's own error protocol, so SDKs read them as AWS errors. */
#include <string.h>

#include "proxy/pipeline.h"

/* Services that speak the query protocol (botocore's service models,
 * metadata.protocol "query"), by signing name. */
static const char *const query_services[] = {
	"autoscaling", "cloudformation", "cloudsearch", "elasticache", "elasticbeanstalk", "elasticloadbalancing",
	"email", "ses", "iam", "importexport", "monitoring", "neptune", "docdb", "rds", "redshift", "sdb", "sns",
	"sqs", "sts", NULL,
};
/* REST-XML services other than S3. */
static const char *const rest_xml_services[] = {"route53", "cloudfront", NULL};

static int in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static char lc(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static int prefix_ci(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	if (n < l)
		return 0;
	for (size_t i = 0; i < l; i++)
		if (lc(s[i]) != lit[i])
			return 0;
	return 1;
}

static int name_eq_ci(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && prefix_ci(s, n, lit);
}

enum px_aws_protocol px_awserror_protocol(const struct px_errctx *ctx)
{
	const char *svc = ctx->service != NULL ? ctx->service : "";
	if (ctx->target != NULL ||
	    (ctx->content_type != NULL && prefix_ci(ctx->content_type, ctx->content_typelen, "application/x-amz-json")))
		return PX_PROTO_JSON;
	if (strcmp(svc, "ec2") == 0)
		return PX_PROTO_EC2;
	if (ctx->form_action ||
	    (ctx->query != NULL && px_query_has_param(ctx->query, ctx->querylen, "Action", 6)))
		return PX_PROTO_QUERY;
	if (svc[0] != '\0' && sv4_service_is_s3(svc))
		return PX_PROTO_REST_XML_S3;
	if (in_list(rest_xml_services, svc))
		return PX_PROTO_REST_XML;
	if (in_list(query_services, svc))
		return PX_PROTO_QUERY;
	return PX_PROTO_REST_JSON;
}

const char *px_aws_protocol_name(enum px_aws_protocol p)
{
	switch (p) {
	case PX_PROTO_QUERY: return "query";
	case PX_PROTO_EC2: return "ec2";
	case PX_PROTO_REST_XML_S3: return "rest-xml-s3";
	case PX_PROTO_REST_XML: return "rest-xml";
	case PX_PROTO_JSON: return "json";
	case PX_PROTO_REST_JSON: return "rest-json";
	}
	return "rest-json";
}

/* The service of a credential "AKID/DATE/REGION/SERVICE/aws4_request"
 * whose separators are "/" or "%2F" (|n| bytes at |p|): copied into |dst|
 * when it is [a-z0-9-]. */
static void scope_service(const char *p, size_t n, char *dst, size_t size)
{
	size_t part = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		size_t seplen = 0;
		if (i == n)
			seplen = 0;
		else if (p[i] == '/')
			seplen = 1;
		else if (i + 3 <= n && p[i] == '%' && p[i + 1] == '2' && lc(p[i + 2]) == 'f')
			seplen = 3;
		else if (p[i] == ',' || p[i] == ' ' || p[i] == '&')
			n = i; /* the credential ends here */
		if (i < n && seplen == 0)
			continue;
		if (part == 3) {
			size_t len = i - start;
			if (len == 0 || len >= size)
				return;
			for (size_t j = 0; j < len; j++) {
				char c = p[start + j];
				if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
					return;
			}
			memcpy(dst, p + start, len);
			dst[len] = '\0';
			return;
		}
		if (i >= n)
			return;
		part++;
		start = i + seplen;
		i += seplen - 1;
	}
}

static const char *find_ci(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	for (size_t i = 0; i + l <= n; i++)
		if (prefix_ci(s + i, n - i, lit))
			return s + i;
	return NULL;
}

void px_errctx_from_request(struct px_errctx *ctx, const struct sv4_request *req, const char *service,
                            char *svcbuf, size_t svcsize)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->method = req->method;
	ctx->methodlen = req->methodlen;
	ctx->query = req->query;
	ctx->querylen = req->querylen;
	const struct sv4_header *auth = NULL;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sv4_header *h = &req->headers[i];
		if (name_eq_ci(h->name, h->namelen, "x-amz-target")) {
			ctx->target = h->value;
			ctx->targetlen = h->valuelen;
		} else if (name_eq_ci(h->name, h->namelen, "content-type")) {
			ctx->content_type = h->value;
			ctx->content_typelen = h->valuelen;
		} else if (name_eq_ci(h->name, h->namelen, "authorization")) {
			auth = h;
		}
	}
	if (service != NULL) {
		ctx->service = service;
		return;
	}
	if (svcbuf == NULL || svcsize == 0)
		return;
	svcbuf[0] = '\0';
	const char *c = NULL;
	size_t clen = 0;
	if (auth != NULL && (c = find_ci(auth->value, auth->valuelen, "credential=")) != NULL) {
		c += 11;
		clen = auth->valuelen - (size_t)(c - auth->value);
	} else if (req->query != NULL && (c = find_ci(req->query, req->querylen, "x-amz-credential=")) != NULL) {
		c += 17;
		clen = req->querylen - (size_t)(c - req->query);
	}
	if (c != NULL)
		scope_service(c, clen, svcbuf, svcsize);
	if (svcbuf[0] != '\0')
		ctx->service = svcbuf;
}

/* --- rendering ------------------------------------------------------------ */

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	/* The buffer is sized for the worst case (a message of PX_MAX_MESSAGE
	 * bytes all escaped); a cut here would be a bug, and stays safe. */
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static char clean(char c)
{
	unsigned char u = (unsigned char)c;
	return (u >= 0x20 && u < 0x7f) ? c : '?';
}

static void put_xml(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = clean(s[i]);
		switch (c) {
		case '&': puts_(o, "&amp;"); break;
		case '<': puts_(o, "&lt;"); break;
		case '>': puts_(o, "&gt;"); break;
		case '"': puts_(o, "&quot;"); break;
		case '\'': puts_(o, "&apos;"); break;
		default: put(o, &c, 1);
		}
	}
}

static void put_json(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = clean(s[i]);
		if (c == '"' || c == '\\')
			put(o, "\\", 1);
		/* '<' '>' '&' escaped too, so the body is inert if a browser renders it */
		if (c == '<')
			puts_(o, "\\u003c");
		else if (c == '>')
			puts_(o, "\\u003e");
		else if (c == '&')
			puts_(o, "\\u0026");
		else
			put(o, &c, 1);
	}
}

static void add_header(struct px_awserror *e, const char *name, const char *value, size_t valuelen)
{
	if (e->nheaders >= PX_AWSERROR_MAX_HEADERS)
		return;
	struct sv4_header *h = &e->headers[e->nheaders++];
	h->name = name;
	h->namelen = strlen(name);
	h->value = value;
	h->valuelen = valuelen;
}

int px_awserror_render(const struct px_errctx *ctx, enum px_reason reason, const char *message,
                       const char *request_id, struct px_awserror *out)
{
	return px_awserror_render_info(ctx, px_reason_info(reason), message, request_id, out);
}

int px_awserror_render_info(const struct px_errctx *ctx, const struct px_reason_info *ri, const char *message,
                            const char *request_id, struct px_awserror *out)
{
	size_t ridlen = request_id != NULL ? strlen(request_id) : 0;
	if (ridlen == 0 || ridlen > PX_MAX_REQUEST_ID)
		return PX_ERR_RANGE;
	for (size_t i = 0; i < ridlen; i++) {
		char c = request_id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return PX_ERR_RANGE;
	}
	enum px_aws_protocol proto = px_awserror_protocol(ctx);
	const char *msg = message != NULL ? message : "";
	size_t msglen = strnlen(msg, PX_MAX_MESSAGE - 1);
	bool json = proto == PX_PROTO_JSON || proto == PX_PROTO_REST_JSON;
	const char *code = json ? ri->code_json : ri->code_xml;

	struct px_awserror *e = out;
	memset(e, 0, offsetof(struct px_awserror, buf));
	e->status = ri->status;
	e->protocol = proto;
	memcpy(e->request_id, request_id, ridlen + 1);
	struct out o = {e->buf, 0, sizeof(e->buf)};

	add_header(e, "x-awsgate-error", ri->name, strlen(ri->name));
	switch (proto) {
	case PX_PROTO_QUERY:
	case PX_PROTO_REST_XML:
		add_header(e, "x-amzn-requestid", e->request_id, ridlen);
		add_header(e, "content-type", "text/xml", 8);
		puts_(&o, "<ErrorResponse><Error><Type>");
		puts_(&o, ri->status >= 500 ? "Receiver" : "Sender");
		puts_(&o, "</Type><Code>");
		put_xml(&o, code, strlen(code));
		puts_(&o, "</Code><Message>");
		put_xml(&o, msg, msglen);
		puts_(&o, "</Message></Error><RequestId>");
		put(&o, e->request_id, ridlen);
		puts_(&o, "</RequestId></ErrorResponse>\n");
		break;
	case PX_PROTO_EC2:
		add_header(e, "x-amzn-requestid", e->request_id, ridlen);
		add_header(e, "content-type", "text/xml;charset=UTF-8", 22);
		puts_(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>");
		put_xml(&o, code, strlen(code));
		puts_(&o, "</Code><Message>");
		put_xml(&o, msg, msglen);
		puts_(&o, "</Message></Error></Errors><RequestID>");
		put(&o, e->request_id, ridlen);
		puts_(&o, "</RequestID></Response>\n");
		break;
	case PX_PROTO_REST_XML_S3:
		add_header(e, "x-amz-request-id", e->request_id, ridlen);
		add_header(e, "content-type", "application/xml", 15);
		puts_(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
		put_xml(&o, code, strlen(code));
		puts_(&o, "</Code><Message>");
		put_xml(&o, msg, msglen);
		puts_(&o, "</Message><RequestId>");
		put(&o, e->request_id, ridlen);
		puts_(&o, "</RequestId></Error>\n");
		break;
	case PX_PROTO_JSON: {
		const char *ct = "application/x-amz-json-1.1";
		if (ctx->content_type != NULL && ctx->content_typelen >= 26 &&
		    prefix_ci(ctx->content_type, ctx->content_typelen, "application/x-amz-json-1.0"))
			ct = "application/x-amz-json-1.0";
		else if (ctx->content_type == NULL && ctx->service != NULL && strcmp(ctx->service, "dynamodb") == 0)
			ct = "application/x-amz-json-1.0";
		add_header(e, "x-amzn-requestid", e->request_id, ridlen);
		add_header(e, "content-type", ct, strlen(ct));
		puts_(&o, "{\"__type\":\"");
		put_json(&o, code, strlen(code));
		puts_(&o, "\",\"message\":\"");
		put_json(&o, msg, msglen);
		puts_(&o, "\"}");
		break;
	}
	case PX_PROTO_REST_JSON:
		add_header(e, "x-amzn-requestid", e->request_id, ridlen);
		add_header(e, "x-amzn-errortype", code, strlen(code));
		add_header(e, "content-type", "application/json", 16);
		puts_(&o, "{\"message\":\"");
		put_json(&o, msg, msglen);
		puts_(&o, "\"}");
		break;
	}
	e->body = e->buf;
	e->bodylen = o.len;
	if (ctx->method != NULL && ctx->methodlen == 4 && memcmp(ctx->method, "HEAD", 4) == 0)
		e->bodylen = 0;
	return 0;
}
