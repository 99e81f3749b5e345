/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c: the gate's counters (one block per thread, no shared write on the request path) and their Prometheus text. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"
#include "server.h"
#include "upstream.h"

/* The statuses counted one by one; any other is counted as "other". */
static const int statuses[] = {100, 200, 204, 206, 301, 304, 307, 400, 401, 403, 404, 405, 408, 409, 412, 413,
			       414, 416, 429, 431, 499, 500, 502, 503, 504};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

/* Open connections: shared, since max_connections is checked against it
 * (a change per connection, not per request). */
static uint64_t conns_open;

static const char *const route_names[PX_ROUTE_COUNT] = {"healthz", "readyz", "apps",     "console",
							   "presign", "not-found", "protocol", "api",
							   "web",     "web-link"};

/* API requests by signing name: a fixed list, so that a client cannot
 * grow the metrics with names of its own; the rest are "other". */
static const char *const services[] = {
	"s3",     "sts",        "ec2",          "dynamodb", "lambda", "iam", "sqs",     "sns",   "kms",
	"logs",   "monitoring", "ssm",          "secretsmanager", "ecr", "eks", "ecs", "cloudformation", "rds",
	"elasticloadbalancing", "autoscaling", "route53", "cloudfront", "execute-api", "states", "events",
	"kinesis", "firehose", "glue", "athena", "organizations", "sso", "apigateway", "acm", "elasticache",
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

/* Request duration buckets, seconds (Prometheus "le"). */
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))
static const char *const tls_fail_names[PX_TLS_FAIL_COUNT] = {"untrusted", "expired", "not-yet-valid", "revoked",
							      "certificate", "protocol", "timeout"};
static const char *const calm_names[PX_H2_CALM_COUNT] = {"rapid-reset", "control-flood", "continuation-flood",
							   "empty-frame-flood"};

/*
 * The counters. Each thread that counts has its own block, written by it
 * alone (a relaxed load and store: no locked instruction, no cache line
 * that other workers write), and px_metrics_render() sums the blocks.
 * With one shared set of atomics, every request of two workers bounced
 * about ten cache lines between the CPUs. Blocks are kept until exit
 * (there is one per worker, and the main thread's).
 */
struct counts {
	uint64_t conns_total, streams_h1, streams_h2, bytes_in, bytes_out;
	uint64_t requests[PX_ROUTE_COUNT][NSTATUS + 1];
	uint64_t tls_fail[PX_TLS_FAIL_COUNT];
	uint64_t h2_calm[PX_H2_CALM_COUNT];
	uint64_t api_requests[NSERVICES + 1][NSTATUS + 1];
	uint64_t api_latency[NBUCKETS + 1], api_latency_count, api_latency_us;
	uint64_t upstream_results[PX_UP_ERROR_COUNT];
};
_Static_assert(sizeof(struct counts) % sizeof(uint64_t) == 0, "struct counts holds only uint64_t");

struct counts_block {
	struct counts c;
	struct counts_block *next;
};

static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct counts_block *blocks;
/* Counted with atomic adds by a thread that could not get a block of its own. */
static struct counts spare;
static __thread struct counts *mine;

static struct counts *counts_mine(void)
{
	struct counts_block *b;

	if (mine != NULL)
		return mine;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return &spare;
	pthread_mutex_lock(&blocks_lock);
	b->next = blocks;
	blocks = b;
	pthread_mutex_unlock(&blocks_lock);
	mine = &b->c;
	return mine;
}

/* Adds |n| to counter |v| of the calling thread's block. */
#define ADD(v, n)                                                                                              \
	do {                                                                                                   \
		struct counts *c_ = counts_mine();                                                             \
		if (c_ == &spare)                                                                              \
			__atomic_fetch_add(&c_->v, (n), __ATOMIC_RELAXED);                                     \
		else                                                                                           \
			__atomic_store_n(&c_->v, __atomic_load_n(&c_->v, __ATOMIC_RELAXED) + (n),              \
					 __ATOMIC_RELAXED);                                                    \
	} while (0)

/* |to| += every block's counts (and the spare's). */
static void counts_sum(struct counts *to)
{
	uint64_t *t = (uint64_t *)(void *)to;
	const size_t n = sizeof(*to) / sizeof(uint64_t);

	memset(to, 0, sizeof(*to));
	pthread_mutex_lock(&blocks_lock);
	for (struct counts_block *b = blocks; b != NULL; b = b->next) {
		const uint64_t *f = (const uint64_t *)(const void *)&b->c;
		for (size_t i = 0; i < n; i++)
			t[i] += __atomic_load_n(&f[i], __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&blocks_lock);
	for (size_t i = 0; i < n; i++)
		t[i] += __atomic_load_n(&((const uint64_t *)(const void *)&spare)[i], __ATOMIC_RELAXED);
}

void px_metrics_conn_open(void)
{
	__atomic_fetch_add(&conns_open, 1, __ATOMIC_RELAXED);
	ADD(conns_total, 1);
}

void px_metrics_conn_close(void)
{
	__atomic_fetch_sub(&conns_open, 1, __ATOMIC_RELAXED);
}

uint64_t px_metrics_conns_open(void)
{
	return __atomic_load_n(&conns_open, __ATOMIC_RELAXED);
}

void px_metrics_stream(int h2)
{
	if (h2)
		ADD(streams_h2, 1);
	else
		ADD(streams_h1, 1);
}

static size_t status_index(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS; i++)
		if (statuses[i] == status)
			break;
	return i;
}

void px_metrics_request(enum px_route r, int status)
{
	ADD(requests[r][status_index(status)], 1);
}

void px_metrics_api(const char *service, int status, double seconds)
{
	size_t s = NSERVICES, b;

	for (size_t i = 0; service != NULL && i < NSERVICES; i++)
		if (strcmp(services[i], service) == 0) {
			s = i;
			break;
		}
	ADD(api_requests[s][status_index(status)], 1);
	for (b = 0; b < NBUCKETS && seconds > buckets[b]; b++)
		;
	ADD(api_latency[b], 1);
	ADD(api_latency_count, 1);
	ADD(api_latency_us, (uint64_t)(seconds > 0 ? seconds * 1e6 : 0));
}

void px_metrics_upstream(int err)
{
	if (err >= 0 && err < PX_UP_ERROR_COUNT)
		ADD(upstream_results[err], 1);
}

void px_metrics_bytes(uint64_t in, uint64_t out)
{
	if (in)
		ADD(bytes_in, in);
	if (out)
		ADD(bytes_out, out);
}

void px_metrics_tls_fail(enum px_tls_fail why)
{
	ADD(tls_fail[why], 1);
}

void px_metrics_h2_calm(enum px_h2_calm why)
{
	ADD(h2_calm[why], 1);
}

const char *px_tls_fail_str(enum px_tls_fail why)
{
	return tls_fail_names[why];
}

/* Enough for every line below. */
#define METRICS_MAX 65536

int px_metrics_render(char **out, size_t *len)
{
	char *b = malloc(METRICS_MAX);
	size_t n = 0;
	struct counts t;

#define P(...)                                                                                                 \
	do {                                                                                                   \
		int k_ = snprintf(b + n, METRICS_MAX - n, __VA_ARGS__);                                        \
		if (k_ < 0 || (size_t)k_ >= METRICS_MAX - n)                                                   \
			goto full;                                                                             \
		n += (size_t)k_;                                                                               \
	} while (0)
	if (b == NULL)
		return PX_ERR_NOMEM;
	counts_sum(&t);
	P("# HELP awsgate_connections_open Client connections open now.\n# TYPE awsgate_connections_open gauge\n");
	P("awsgate_connections_open %" PRIu64 "\n", __atomic_load_n(&conns_open, __ATOMIC_RELAXED));
	P("# HELP awsgate_connections_total Client connections accepted.\n# TYPE awsgate_connections_total counter\n");
	P("awsgate_connections_total %" PRIu64 "\n", t.conns_total);
	P("# HELP awsgate_streams_total Requests begun, by protocol.\n# TYPE awsgate_streams_total counter\n");
	P("awsgate_streams_total{protocol=\"http/1.1\"} %" PRIu64 "\n", t.streams_h1);
	P("awsgate_streams_total{protocol=\"h2\"} %" PRIu64 "\n", t.streams_h2);
	P("# HELP awsgate_requests_total Responses, by route and status.\n# TYPE awsgate_requests_total counter\n");
	for (size_t r = 0; r < PX_ROUTE_COUNT; r++)
		for (size_t i = 0; i <= NSTATUS; i++) {
			uint64_t v = t.requests[r][i];
			if (v == 0)
				continue;
			if (i < NSTATUS)
				P("awsgate_requests_total{route=\"%s\",status=\"%d\"} %" PRIu64 "\n", route_names[r],
				  statuses[i], v);
			else
				P("awsgate_requests_total{route=\"%s\",status=\"other\"} %" PRIu64 "\n",
				  route_names[r], v);
		}
	P("# HELP awsgate_bytes_received_total Bytes received from clients (TLS payload).\n"
	  "# TYPE awsgate_bytes_received_total counter\n");
	P("awsgate_bytes_received_total %" PRIu64 "\n", t.bytes_in);
	P("# HELP awsgate_bytes_sent_total Bytes sent to clients (TLS payload).\n"
	  "# TYPE awsgate_bytes_sent_total counter\n");
	P("awsgate_bytes_sent_total %" PRIu64 "\n", t.bytes_out);
	P("# HELP awsgate_tls_handshake_failures_total Failed TLS handshakes, by reason.\n"
	  "# TYPE awsgate_tls_handshake_failures_total counter\n");
	for (size_t i = 0; i < PX_TLS_FAIL_COUNT; i++)
		P("awsgate_tls_handshake_failures_total{reason=\"%s\"} %" PRIu64 "\n", tls_fail_names[i],
		  t.tls_fail[i]);
	P("# HELP awsgate_h2_goaway_calm_total HTTP/2 connections ended with ENHANCE_YOUR_CALM, by defence.\n"
	  "# TYPE awsgate_h2_goaway_calm_total counter\n");
	for (size_t i = 0; i < PX_H2_CALM_COUNT; i++)
		P("awsgate_h2_goaway_calm_total{reason=\"%s\"} %" PRIu64 "\n", calm_names[i], t.h2_calm[i]);
	P("# HELP awsgate_api_requests_total AWS API requests, by signing name and status.\n"
	  "# TYPE awsgate_api_requests_total counter\n");
	for (size_t s = 0; s <= NSERVICES; s++)
		for (size_t i = 0; i <= NSTATUS; i++) {
			uint64_t v = t.api_requests[s][i];
			char st[16];
			if (v == 0)
				continue;
			if (i < NSTATUS)
				snprintf(st, sizeof(st), "%d", statuses[i]);
			else
				snprintf(st, sizeof(st), "other");
			P("awsgate_api_requests_total{service=\"%s\",status=\"%s\"} %" PRIu64 "\n",
			  s < NSERVICES ? services[s] : "other", st, v);
		}
	P("# HELP awsgate_api_request_duration_seconds AWS API requests, from their head to their end.\n"
	  "# TYPE awsgate_api_request_duration_seconds histogram\n");
	{
		uint64_t cum = 0;
		for (size_t k = 0; k < NBUCKETS; k++) {
			cum += t.api_latency[k];
			P("awsgate_api_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", buckets[k], cum);
		}
		cum += t.api_latency[NBUCKETS];
		P("awsgate_api_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
		P("awsgate_api_request_duration_seconds_sum %.6f\n", (double)t.api_latency_us / 1e6);
		P("awsgate_api_request_duration_seconds_count %" PRIu64 "\n", t.api_latency_count);
	}
	P("# HELP awsgate_upstream_requests_total Requests to AWS, by result (ok or the error's kind).\n"
	  "# TYPE awsgate_upstream_requests_total counter\n");
	for (int i = 0; i < PX_UP_ERROR_COUNT; i++)
		P("awsgate_upstream_requests_total{result=\"%s\"} %" PRIu64 "\n", px_up_error_name((enum px_up_error)i),
		  t.upstream_results[i]);
	if (px_srv != NULL && px_srv->resolver != NULL) {
		uint64_t hits, lookups, failures;
		px_resolver_stats(px_srv->resolver, &hits, &lookups, &failures);
		P("# HELP awsgate_resolver_total Names of AWS endpoints resolved: from the cache, by DNS, failed.\n"
		  "# TYPE awsgate_resolver_total counter\n");
		P("awsgate_resolver_total{result=\"hit\"} %" PRIu64 "\n", hits);
		P("awsgate_resolver_total{result=\"lookup\"} %" PRIu64 "\n", lookups);
		P("awsgate_resolver_total{result=\"failure\"} %" PRIu64 "\n", failures);
	}
	if (px_srv != NULL && px_srv->cache != NULL) {
		struct fed_cache_stats cs;
		fed_cache_stats(px_srv->cache, &cs);
		P("# HELP awsgate_credential_cache_total Role credential cache events, by kind.\n"
		  "# TYPE awsgate_credential_cache_total counter\n");
		P("awsgate_credential_cache_total{event=\"hit\"} %" PRIu64 "\n", cs.hits);
		P("awsgate_credential_cache_total{event=\"miss\"} %" PRIu64 "\n", cs.misses);
		P("awsgate_credential_cache_total{event=\"join\"} %" PRIu64 "\n", cs.joins);
		P("awsgate_credential_cache_total{event=\"refresh\"} %" PRIu64 "\n", cs.refreshes);
		P("awsgate_credential_cache_total{event=\"negative-hit\"} %" PRIu64 "\n", cs.negative_hits);
		P("awsgate_credential_cache_total{event=\"eviction\"} %" PRIu64 "\n", cs.evictions);
		P("# HELP awsgate_sts_calls_total AssumeRole calls the cache started, and those that failed.\n"
		  "# TYPE awsgate_sts_calls_total counter\n");
		P("awsgate_sts_calls_total %" PRIu64 "\n", cs.sts_calls);
		P("# HELP awsgate_sts_failures_total AssumeRole calls that failed.\n"
		  "# TYPE awsgate_sts_failures_total counter\n");
		P("awsgate_sts_failures_total %" PRIu64 "\n", cs.sts_failures);
		P("# HELP awsgate_sts_duration_seconds AssumeRole calls of the cache, from start to answer (retries included).\n"
		  "# TYPE awsgate_sts_duration_seconds histogram\n");
		{
			uint64_t cum = 0, calls = 0;
			for (size_t k = 0; k < FED_CACHE_STS_BUCKETS; k++)
				calls += cs.sts_ms_buckets[k];
			for (size_t k = 0; k + 1 < FED_CACHE_STS_BUCKETS; k++) {
				cum += cs.sts_ms_buckets[k];
				P("awsgate_sts_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
				  fed_cache_sts_bucket_ms[k] / 1000.0, cum);
			}
			P("awsgate_sts_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", calls);
			P("awsgate_sts_duration_seconds_sum %.3f\n", (double)cs.sts_ms_sum / 1000.0);
			P("awsgate_sts_duration_seconds_count %" PRIu64 "\n", calls);
		}
		P("# HELP awsgate_credential_cache_entries Role credentials held now.\n"
		  "# TYPE awsgate_credential_cache_entries gauge\n");
		P("awsgate_credential_cache_entries %" PRIu64 "\n", cs.entries);
	}
#undef P
	*out = b;
	*len = n;
	return 0;
full:
	free(b);
	return PX_ERR_TOO_LARGE;
}
