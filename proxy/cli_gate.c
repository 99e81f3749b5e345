/* SPDX-License-Identifier: Apache-2.0 */
/* cli_gate.c: awsgate's calls to the gate's /awsgate/v1/ routes over mTLS (libcurl easy, blocking), and the version rule. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "config.h"
#include "cli.h"
#include "proxy.h"

struct sink {
	struct px_cli_reply *r;
	size_t cap;
	int toobig;
};

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->r->len + n > PX_CLI_REPLY_MAX) {
		s->toobig = 1;
		return 0;
	}
	if (s->r->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->r->len + n + 1)
			cap *= 2;
		char *b = malloc(cap);
		if (b == NULL)
			return 0;
		/* Copied rather than realloc'd so that a sign-in URL leaves no
		 * stray copy in freed memory. */
		if (s->r->body != NULL) {
			memcpy(b, s->r->body, s->r->len);
			OPENSSL_cleanse(s->r->body, s->cap);
			free(s->r->body);
		}
		s->r->body = b;
		s->cap = cap;
	}
	memcpy(s->r->body + s->r->len, ptr, n);
	s->r->len += n;
	s->r->body[s->r->len] = '\0';
	return n;
}

/* Copies the value of header line |line| into |dst| when its name is |name|. */
static void header_take(const char *line, size_t n, const char *name, char *dst, size_t dstlen)
{
	size_t nl = strlen(name);

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	const char *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	size_t k = (size_t)(end - v);
	if (k >= dstlen)
		k = dstlen - 1;
	memcpy(dst, v, k);
	dst[k] = '\0';
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct px_cli_reply *r = arg;
	size_t n = size * nmemb;

	header_take(ptr, n, "x-awsgate-version", r->version, sizeof(r->version));
	header_take(ptr, n, "x-awsgate-error", r->error, sizeof(r->error));
	return n;
}

static void explain(CURLcode cc, const char *detail, const struct px_cli_conn *c, char *err, size_t errlen)
{
	const char *what;

	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		what = "cannot resolve the gate's name: check the HOST of --gate";
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
		what = "cannot reach the gate: is it running, and is HOST:PORT right?";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		what = "the gate's certificate is not trusted or does not name the gate: --ca must be the CA that "
		       "signed the gate's server certificate, and HOST must be a name in it";
		break;
	case CURLE_SSL_CERTPROBLEM:
		what = "the client certificate cannot be used: check --cert";
		break;
	case CURLE_SSL_CACERT_BADFILE:
		what = "the gate CA file cannot be read: check --ca";
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		what = "the gate refused the TLS handshake: your certificate may be expired, revoked or from a CA "
		       "the gate does not trust; ask for a new one and log in again";
		break;
	default:
		what = "the call to the gate failed";
		break;
	}
	snprintf(err, errlen, "%s %s (%s%s%s)", c->gate, what, curl_easy_strerror(cc), detail[0] ? ": " : "",
		 detail);
}

int px_cli_gate_call(const struct px_cli_conn *c, const char *method, const char *path, const char *body,
		     struct px_cli_reply *r, char *err, size_t errlen)
{
	struct px_cli_reply rep;
	struct sink s = {&rep, 0, 0};
	struct curl_slist *hdrs = NULL;
	char url[1200];
	char detail[CURL_ERROR_SIZE] = "";
	int rv = PX_ERR_GATE;
	CURL *h = NULL;

	memset(&rep, 0, sizeof(rep));
	int n = snprintf(url, sizeof(url), "https://%s%s", c->gate, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(err, errlen, "the gate's address is too long");
		return PX_ERR_GATE;
	}
	h = curl_easy_init();
	if (h == NULL)
		return PX_ERR_NOMEM;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	/* The gate is reached directly: a user's HTTPS_PROXY is for AWS hosts. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout > 0 ? c->timeout : 30L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &rep);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "awsgate/" PACKAGE_VERSION);
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		if (hdrs == NULL) {
			rv = PX_ERR_NOMEM;
			goto out;
		}
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

	CURLcode cc = curl_easy_perform(h);
	if (s.toobig) {
		snprintf(err, errlen, "the gate's answer is over %u bytes", PX_CLI_REPLY_MAX);
		rv = PX_ERR_TOO_LARGE;
		goto out;
	}
	if (cc != CURLE_OK) {
		explain(cc, detail, c, err, errlen);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rep.status);
	if (rep.body == NULL) {
		rep.body = calloc(1, 1);
		if (rep.body == NULL) {
			rv = PX_ERR_NOMEM;
			goto out;
		}
	}
	*r = rep;
	memset(&rep, 0, sizeof(rep));
	rv = 0;
out:
	px_cli_reply_free(&rep);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rv;
}

void px_cli_reply_free(struct px_cli_reply *r)
{
	if (r->body != NULL) {
		OPENSSL_cleanse(r->body, r->len);
		free(r->body);
	}
	memset(r, 0, sizeof(*r));
}

/* MAJOR.MINOR[.PATCH[-anything]] into |v|; -1 if it is not one. */
static int version_parse(const char *s, unsigned long v[2])
{
	for (int i = 0; i < 2; i++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		char *end;
		v[i] = strtoul(s, &end, 10);
		s = end;
		if (i == 0 && *s++ != '.')
			return -1;
	}
	return *s == '\0' || *s == '.' || *s == '-' || *s == '+' ? 0 : -1;
}

int px_cli_version_check(const char *ours, const char *theirs, char *msg, size_t msglen)
{
	unsigned long a[2], b[2];

	if (theirs == NULL || theirs[0] == '\0') {
		snprintf(msg, msglen, "the server sent no X-Awsgate-Version: is it an awsgate gate? check --gate");
		return 1;
	}
	if (version_parse(ours, a) < 0 || version_parse(theirs, b) < 0) {
		snprintf(msg, msglen, "the gate's version '%.40s' is not a version number", theirs);
		return 1;
	}
	/* Semantic versioning: before 1.0 a minor release may break the
	 * protocol, after it only a major one. */
	if (a[0] != b[0] || (a[0] == 0 && a[1] != b[1])) {
		snprintf(msg, msglen,
			 "this awsgate is %s and the gate is %s: too far apart to work together (the same major "
			 "version is needed, and for 0.x the same minor); upgrade the %s",
			 ours, theirs, (a[0] < b[0] || (a[0] == b[0] && a[1] < b[1])) ? "awsgate CLI" : "gate");
		return 1;
	}
	return 0;
}
