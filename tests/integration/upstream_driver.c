/* SPDX-License-Identifier: Apache-2.0 */
/* upstream_driver.c: streams one S3 request of any size through px_upstream and reports its memory (upstream.test).
 *
 * Usage: upstream_driver put|get|get2 SIZE URL CA_FILE ADDRESS PORT [--http2]
 *        [--slow-reader [--pause-ms N]] [--first-byte-ms N] [--idle-ms N]
 * with the fake AWS user's keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
 * The request is signed with UNSIGNED-PAYLOAD (sigv4/) and sent to ADDRESS
 * PORT, pinned, with the URL's name as Host and SNI. put generates SIZE
 * bytes (byte i is i * 13 % 256) and pushes them with backpressure, keeping
 * their MD5; get checks that byte i of the answer is i % 251 (the fake's
 * null bucket) and, with --slow-reader, refuses more after every 1 MiB for
 * 2 ms (--pause-ms). Prints "key value" lines: status, error, bytes, md5, etag,
 * rss_start_kb, rss_max_kb, rss_growth_kb, body (the start of a non-2xx
 * body). get2 runs two GETs at once on one core (one HTTP/2 connection):
 * the first stops reading after 1 MiB until the second is done, which must
 * not be held up by it (second_done). Exit 0 when the transfer ended
 * without a transport error. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>
#include <openssl/evp.h>

#include "proxy/proxy.h"
#include "proxy/upstream.h"
#include "sigv4/sigv4.h"

#define PIECE 65536
#define SLOW_EVERY (1u << 20)
#define SLOW_PAUSE_MS 2
#define RSS_SAMPLE 0.02

struct drv {
	struct ev_loop *loop;
	struct px_upstream *up;
	int put;
	uint64_t size;
	uint64_t pushed, received;
	EVP_MD_CTX *md5;
	int slow;
	int hold;            /* get2's first request: stop after 1 MiB until the second is done */
	int held;
	double done_at;
	struct drv *partner; /* get2: the other request */
	double pause; /* seconds of each pause of the slow reader */
	int done;
	enum px_up_error err;
	char detail[256];
	int status;
	char etag[80];
	char body[300];
	size_t body_len;
	int bad_pattern;
	long rss_start, rss_max;
	ev_timer sample, resume;
	unsigned char piece[PIECE];
};

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void sample_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct drv *d = w->data;
	long kb = rss_kb();
	if (kb > d->rss_max)
		d->rss_max = kb;
}

static void push(struct drv *d)
{
	while (d->pushed < d->size) {
		size_t k = d->size - d->pushed < PIECE ? (size_t)(d->size - d->pushed) : PIECE;
		for (size_t i = 0; i < k; i++)
			d->piece[i] = (unsigned char)((d->pushed + i) * 13);
		int n = px_upstream_write(d->up, d->piece, k);
		if (n == PX_ERR_AGAIN)
			return;
		if (n < 0) {
			fprintf(stderr, "upstream_driver: px_upstream_write: %d\n", n);
			exit(2);
		}
		EVP_DigestUpdate(d->md5, d->piece, (size_t)n);
		d->pushed += (uint64_t)n;
		if ((size_t)n < k)
			return; /* on_writable follows */
	}
	if (px_upstream_end(d->up) != 0) {
		fprintf(stderr, "upstream_driver: px_upstream_end failed\n");
		exit(2);
	}
}

static void on_head(void *arg, int status, const struct px_up_header *h, size_t n)
{
	struct drv *d = arg;
	d->status = status;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, "etag") == 0)
			snprintf(d->etag, sizeof(d->etag), "%s", h[i].value);
}

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct drv *d = w->data;
	px_upstream_resume(d->up);
}

static int on_body(void *arg, const unsigned char *p, size_t n)
{
	struct drv *d = arg;
	if (d->status < 200 || d->status > 299) {
		size_t k = n < sizeof(d->body) - 1 - d->body_len ? n : sizeof(d->body) - 1 - d->body_len;
		memcpy(d->body + d->body_len, p, k);
		d->body_len += k;
		d->body[d->body_len] = '\0';
		d->received += n;
		return 0;
	}
	if (!d->put)
		for (size_t i = 0; i < n; i++)
			if (p[i] != (unsigned char)((d->received + i) % 251))
				d->bad_pattern++;
	uint64_t before = d->received;
	d->received += n;
	if (d->hold && d->received >= SLOW_EVERY && !d->held) {
		d->held = 1;
		return PX_ERR_AGAIN;
	}
	if (d->slow && before / SLOW_EVERY != d->received / SLOW_EVERY) {
		ev_timer_set(&d->resume, d->pause, 0.);
		ev_timer_start(d->loop, &d->resume);
		return PX_ERR_AGAIN;
	}
	return 0;
}

static void on_writable(void *arg)
{
	push(arg);
}

static void on_done(void *arg, enum px_up_error err, const char *detail)
{
	struct drv *d = arg;
	d->done = 1;
	d->err = err;
	if (detail != NULL)
		snprintf(d->detail, sizeof(d->detail), "%s", detail);
	d->up = NULL;
	d->done_at = ev_now(d->loop);
	if (d->partner != NULL && d->partner->held && d->partner->up != NULL)
		px_upstream_resume(d->partner->up);
}

static const struct px_upstream_handler handler = {on_head, on_body, on_writable, on_done};

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: upstream_driver put|get SIZE URL CA_FILE ADDRESS PORT [--http2] [--slow-reader] "
		                "[--first-byte-ms N] [--idle-ms N]\n");
		return 2;
	}
	static struct drv d, d2;
	d.put = strcmp(argv[1], "put") == 0;
	int two = strcmp(argv[1], "get2") == 0;
	d.size = strtoull(argv[2], NULL, 10);
	const char *url = argv[3], *ca = argv[4];
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)strtoul(argv[6], NULL, 10))};
	if (inet_pton(AF_INET, argv[5], &addr.sin_addr) != 1) {
		fprintf(stderr, "upstream_driver: %s is not an IPv4 address\n", argv[5]);
		return 2;
	}
	struct px_upstream_request req = {.url = url, .addr = (const struct sockaddr *)&addr, .http = PX_UP_HTTP1,
	                                  .first_byte_timeout_ms = 30000, .idle_timeout_ms = 30000};
	unsigned long pause_ms = SLOW_PAUSE_MS;
	for (int i = 7; i < argc; i++) {
		if (strcmp(argv[i], "--http2") == 0)
			req.http = PX_UP_HTTP2;
		else if (strcmp(argv[i], "--slow-reader") == 0)
			d.slow = 1;
		else if (strcmp(argv[i], "--pause-ms") == 0 && i + 1 < argc)
			pause_ms = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--first-byte-ms") == 0 && i + 1 < argc)
			req.first_byte_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--idle-ms") == 0 && i + 1 < argc)
			req.idle_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "upstream_driver: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (ak == NULL || sk == NULL) {
		fprintf(stderr, "upstream_driver: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n");
		return 2;
	}
	req.method = d.put ? "PUT" : "GET";
	req.body = d.put ? PX_UP_BODY_LENGTH : PX_UP_BODY_NONE;
	req.body_length = d.size;

	/* Sign: host, x-amz-content-sha256 and x-amz-date. */
	const char *host = strstr(url, "://");
	host = host != NULL ? host + 3 : url;
	const char *path = strchr(host, '/');
	if (path == NULL) {
		fprintf(stderr, "upstream_driver: the URL has no path\n");
		return 2;
	}
	char hostname[256];
	snprintf(hostname, sizeof(hostname), "%.*s", (int)(path - host), host);
	struct sv4_header sh[] = {
		{"host", 4, hostname, strlen(hostname)},
		{"x-amz-content-sha256", 20, "UNSIGNED-PAYLOAD", 16},
	};
	struct sv4_request sreq = {.method = req.method, .methodlen = strlen(req.method), .path = path,
	                           .pathlen = strlen(path), .query = "", .headers = sh, .nheaders = 2};
	struct sv4_credentials creds = {ak, sk, NULL};
	struct sv4_sign_params params = {.creds = &creds, .region = "us-east-1", .service = "s3",
	                                 .time = (int64_t)time(NULL), .mode = SV4_MODE_HEADER,
	                                 .payload_hash = "UNSIGNED-PAYLOAD"};
	struct sv4_signer *signer = sv4_signer_new();
	struct sv4_signed sig;
	int rv = signer != NULL ? sv4_sign(signer, &sreq, &params, &sig) : -1;
	if (rv != 0) {
		fprintf(stderr, "upstream_driver: sv4_sign: %d\n", rv);
		return 2;
	}
	char authz[512];
	snprintf(authz, sizeof(authz), "%.*s", (int)sig.authorizationlen, sig.authorization);
	struct px_up_header h[] = {
		{"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"},
		{"X-Amz-Date", sig.date},
		{"Authorization", authz},
	};
	req.headers = h;
	req.nheaders = 3;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	d.loop = ev_loop_new(EVFLAG_AUTO);
	struct px_curl *c = px_curl_new(d.loop, ca, NULL, 0);
	d.md5 = EVP_MD_CTX_new();
	if (d.loop == NULL || c == NULL || d.md5 == NULL || EVP_DigestInit_ex(d.md5, EVP_md5(), NULL) != 1) {
		fprintf(stderr, "upstream_driver: out of memory\n");
		return 2;
	}
	ev_timer_init(&d.sample, sample_cb, RSS_SAMPLE, RSS_SAMPLE);
	d.sample.data = &d;
	d.pause = (double)pause_ms / 1000.0;
	ev_timer_init(&d.resume, resume_cb, d.pause, 0.);
	d.resume.data = &d;
	d.rss_start = d.rss_max = rss_kb();
	ev_timer_start(d.loop, &d.sample);
	if ((rv = px_upstream_start(c, &req, &handler, &d, &d.up)) != 0) {
		fprintf(stderr, "upstream_driver: px_upstream_start: %d\n", rv);
		return 2;
	}
	if (d.put)
		push(&d);
	if (two) {
		/* Two streams on one connection: the first stops reading after
		 * 1 MiB until the second is done. Does the second get through? */
		d.hold = 1;
		d.partner = &d2;
		d2.partner = &d;
		d2.loop = d.loop;
		d2.md5 = d.md5;
		if ((rv = px_upstream_start(c, &req, &handler, &d2, &d2.up)) != 0) {
			fprintf(stderr, "upstream_driver: px_upstream_start: %d\n", rv);
			return 2;
		}
		double end = ev_time() + 30;
		while ((!d.done || !d2.done) && ev_time() < end)
			ev_run(d.loop, EVRUN_ONCE);
		printf("second_done %d\nsecond_bytes %" PRIu64 "\nsecond_error %s\nfirst_held %d\n", d2.done,
		       d2.received, px_up_error_name(d2.err), d.held);
		if (!d2.done) {
			px_upstream_cancel(d2.up);
			px_upstream_cancel(d.up);
			d.done = 1;
			d.err = PX_UP_TIMEOUT_IDLE;
			snprintf(d.detail, sizeof(d.detail), "the second stream was blocked by the paused first");
		}
	}
	while (!d.done)
		ev_run(d.loop, EVRUN_ONCE);
	ev_timer_stop(d.loop, &d.sample);
	ev_timer_stop(d.loop, &d.resume);
	sample_cb(d.loop, &d.sample, 0);

	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(d.md5, md, &mdlen);
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	printf("status %d\n", d.status);
	printf("error %s\n", px_up_error_name(d.err));
	if (d.err != PX_UP_OK)
		printf("detail %s\n", d.detail);
	printf("bytes %" PRIu64 "\n", d.put ? d.pushed : d.received);
	if (d.put)
		printf("md5 %s\netag %s\n", hex, d.etag);
	else
		printf("bad_pattern %d\n", d.bad_pattern);
	if (d.body_len > 0)
		printf("body %s\n", d.body);
	printf("rss_start_kb %ld\nrss_max_kb %ld\nrss_growth_kb %ld\n", d.rss_start, d.rss_max,
	       d.rss_max - d.rss_start);
	EVP_MD_CTX_free(d.md5);
	px_curl_del(c);
	sv4_signer_del(signer);
	ev_loop_destroy(d.loop);
	curl_global_cleanup();
	return d.err == PX_UP_OK ? 0 : 1;
}
