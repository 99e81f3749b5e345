/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4_bench.c: times sv4_sign() on typical requests against the floor of its unavoidable crypto (issue 3). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sigv4/sigv4.h"

/* Defaults: a timed loop of DEFAULT_ITERS signatures, best of DEFAULT_REPS.
 * SV4_BENCH_ITERS and SV4_BENCH_REPS, then --iters and --reps, override. */
#define DEFAULT_ITERS 20000ul
#define DEFAULT_REPS 7ul
#define DEFAULT_CALLGRIND_ITERS 1000ul
#define MAX_COUNT 1000000000ul

/* Issue 3's goal: sv4_sign() at 0.7 of the floor's speed or better. */
#define GOAL_SPEED 0.7

#define TOKEN_LEN 800
#define DDB_BODY_LEN 1024
#define SIGN_TIME INT64_C(1700000000) /* 2023-11-14T22:13:20Z */

#define HDR(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

/* What aws-cli 2 sends (botocore adds Content-Length, the retry handler
 * amz-sdk-*); the gate sees these before it signs. */
#define CLI_UA "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off"
#define INVOCATION "3f0e8b6c-2a57-4f7e-9d55-41b1c8a9e0d2"

static const char sts_body[] = "Action=GetCallerIdentity&Version=2011-06-15";

static const struct sv4_header sts_headers[] = {
	HDR("Host", "sts.us-east-1.amazonaws.com"),
	HDR("Accept-Encoding", "identity"),
	HDR("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
	HDR("User-Agent", CLI_UA " command/sts.get-caller-identity"),
	HDR("amz-sdk-invocation-id", INVOCATION),
	HDR("amz-sdk-request", "attempt=1"),
	HDR("Content-Length", "43"),
};

static const struct sv4_header s3_headers[] = {
	HDR("Host", "s3.us-east-1.amazonaws.com"),
	HDR("Accept-Encoding", "identity"),
	HDR("User-Agent", CLI_UA " command/s3api.get-object"),
	HDR("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
	HDR("amz-sdk-invocation-id", INVOCATION),
	HDR("amz-sdk-request", "attempt=1"),
};

static const struct sv4_header ddb_headers[] = {
	HDR("Host", "dynamodb.us-east-1.amazonaws.com"),
	HDR("Accept-Encoding", "identity"),
	HDR("X-Amz-Target", "DynamoDB_20120810.PutItem"),
	HDR("Content-Type", "application/x-amz-json-1.0"),
	HDR("User-Agent", CLI_UA " command/dynamodb.put-item"),
	HDR("amz-sdk-invocation-id", INVOCATION),
	HDR("amz-sdk-request", "attempt=1"),
	HDR("Content-Length", "1024"),
};

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static unsigned char ddb_body[DDB_BODY_LEN];
static char session_token[TOKEN_LEN + 1];

struct bench_case {
	const char *name;
	const char *service;
	const char *method;
	const char *path;
	const char *query;
	const struct sv4_header *headers;
	size_t nheaders;
	const unsigned char *body; /* given to sv4_sign, which hashes it */
	size_t bodylen;
	int with_token;
};

static const struct bench_case cases[] = {
	{"sts", "sts", "POST", "/", "", sts_headers, COUNTOF(sts_headers),
	 (const unsigned char *)sts_body, sizeof(sts_body) - 1, 0},
	{"sts+token", "sts", "POST", "/", "", sts_headers, COUNTOF(sts_headers),
	 (const unsigned char *)sts_body, sizeof(sts_body) - 1, 1},
	{"s3-get", "s3", "GET", "/my-bucket/photos/2024/cat%20picture.jpg",
	 "versionId=3HL4kqtJlcpXroDTDmJ%2Brmsr&response-content-type=image%2Fjpeg", s3_headers,
	 COUNTOF(s3_headers), NULL, 0, 0},
	{"s3-get+token", "s3", "GET", "/my-bucket/photos/2024/cat%20picture.jpg",
	 "versionId=3HL4kqtJlcpXroDTDmJ%2Brmsr&response-content-type=image%2Fjpeg", s3_headers,
	 COUNTOF(s3_headers), NULL, 0, 1},
	{"dynamodb", "dynamodb", "POST", "/", "", ddb_headers, COUNTOF(ddb_headers), ddb_body,
	 DDB_BODY_LEN, 0},
	{"dynamodb+token", "dynamodb", "POST", "/", "", ddb_headers, COUNTOF(ddb_headers), ddb_body,
	 DDB_BODY_LEN, 1},
};

#define NCASES COUNTOF(cases)

static const struct sv4_credentials creds_plain = {
	"AKIAIOSFODNN7EXAMPLE",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	NULL,
};

static struct sv4_credentials creds_token = {
	"ASIAIOSFODNN7EXAMPLE",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	NULL, /* session_token, set by make_inputs() */
};

/* One case, ready for both sides. */
struct bench_state {
	const struct bench_case *c;
	struct sv4_signer *signer;
	struct sv4_sign_params params;
	/* The request as the gate's parser hands it over: views with their
	 * lengths, made once (the floor has no such set-up either). */
	struct sv4_request req;
	/* The floor's inputs, copied from one sv4_sign() beforehand. */
	char *canon;
	size_t canonlen;
	char *sts;
	size_t stslen;
	int hash_payload;
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	EVP_MAC *hmac;
	EVP_MAC_CTX *mac; /* keyed with the signing key once */
};

/* Keeps the compiler from dropping work whose result is unused. */
static volatile unsigned char sink;

static void die(const char *what)
{
	fprintf(stderr, "sigv4_bench: %s\n", what);
	exit(1);
}

/* A session token of the length STS hands out, in its alphabet. */
static void make_inputs(void)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char head[] = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ";
	uint32_t x = 2463534242u;
	memcpy(session_token, head, sizeof(head) - 1);
	for (size_t i = sizeof(head) - 1; i < TOKEN_LEN - 2; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		session_token[i] = b64[x & 63];
	}
	memcpy(session_token + TOKEN_LEN - 2, "==", 2);
	session_token[TOKEN_LEN] = '\0';
	creds_token.session_token = session_token;

	/* A PutItem of exactly DDB_BODY_LEN bytes: the Notes value pads it. */
	static const char pre[] =
	    "{\"TableName\":\"Music\",\"Item\":{\"Artist\":{\"S\":\"No One You Know\"},"
	    "\"SongTitle\":{\"S\":\"Call Me Today\"},\"AlbumTitle\":{\"S\":\"Somewhat Famous\"},"
	    "\"Year\":{\"N\":\"2015\"},\"Notes\":{\"S\":\"";
	static const char post[] = "\"}},\"ReturnConsumedCapacity\":\"TOTAL\"}";
	static const char filler[] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ";
	size_t fill = DDB_BODY_LEN - (sizeof(pre) - 1) - (sizeof(post) - 1);
	memcpy(ddb_body, pre, sizeof(pre) - 1);
	for (size_t i = 0; i < fill; i++)
		ddb_body[sizeof(pre) - 1 + i] = (unsigned char)filler[i % (sizeof(filler) - 1)];
	memcpy(ddb_body + DDB_BODY_LEN - (sizeof(post) - 1), post, sizeof(post) - 1);
}

static const struct bench_case *find_case(const char *name)
{
	for (size_t i = 0; i < NCASES; i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	return NULL;
}

static void hex_encode(char *dst, const unsigned char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = hex[src[i] >> 4];
		dst[2 * i + 1] = hex[src[i] & 15];
	}
	dst[2 * n] = '\0';
}

static void hmac_once(const void *key, size_t keylen, const void *msg, size_t msglen, unsigned char out[32])
{
	size_t outlen = 0;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, msg, msglen, out, 32, &outlen) == NULL ||
	    outlen != 32)
		die("HMAC failed");
}

/* Derives the signing key the way SigV4 defines it. */
static void signing_key(const struct sv4_sign_params *p, const char *date, unsigned char key[32])
{
	unsigned char ks[4 + 128], k1[32];
	size_t n = strlen(p->creds->secret_key);
	if (n > 128)
		die("secret too long");
	memcpy(ks, "AWS4", 4);
	memcpy(ks + 4, p->creds->secret_key, n);
	hmac_once(ks, 4 + n, date, 8, k1);
	hmac_once(k1, 32, p->region, strlen(p->region), key);
	hmac_once(key, 32, p->service, strlen(p->service), k1);
	hmac_once(k1, 32, "aws4_request", 12, key);
	OPENSSL_cleanse(ks, sizeof(ks));
	OPENSSL_cleanse(k1, sizeof(k1));
}

static void make_request(const struct bench_case *c, struct sv4_request *r)
{
	r->method = c->method;
	r->methodlen = strlen(c->method);
	r->path = c->path;
	r->pathlen = strlen(c->path);
	r->query = c->query;
	r->querylen = strlen(c->query);
	r->headers = c->headers;
	r->nheaders = c->nheaders;
	r->body = c->body;
	r->bodylen = c->bodylen;
}

/* The floor once: payload hash (when the payload is hashed), hash of the
 * canonical request, HMAC of the string to sign. */
static int floor_once(struct bench_state *b, unsigned char canon_md[32], unsigned char sig[32],
                      unsigned char body_md[32])
{
	unsigned int mdlen = 0;
	size_t siglen = 0;
	if (b->hash_payload &&
	    (!EVP_DigestInit_ex2(b->md, b->sha256, NULL) || !EVP_DigestUpdate(b->md, b->c->body, b->c->bodylen) ||
	     !EVP_DigestFinal_ex(b->md, body_md, &mdlen)))
		return -1;
	if (!EVP_DigestInit_ex2(b->md, b->sha256, NULL) || !EVP_DigestUpdate(b->md, b->canon, b->canonlen) ||
	    !EVP_DigestFinal_ex(b->md, canon_md, &mdlen))
		return -1;
	if (!EVP_MAC_init(b->mac, NULL, 0, NULL) ||
	    !EVP_MAC_update(b->mac, (const unsigned char *)b->sts, b->stslen) ||
	    !EVP_MAC_final(b->mac, sig, &siglen, 32))
		return -1;
	return 0;
}

static int sign_once(struct bench_state *b)
{
	struct sv4_signed out;
	int rv = sv4_sign(b->signer, &b->req, &b->params, &out);
	if (rv != 0)
		return rv;
	sink = (unsigned char)(sink ^ (unsigned char)out.signature[0]);
	return 0;
}

/* Signs once with sv4_sign() to get the floor's inputs, keys the floor's
 * HMAC, and checks that the floor computes what sv4_sign() signed. */
static void state_init(struct bench_state *b, const struct bench_case *c, struct sv4_signer *signer)
{
	memset(b, 0, sizeof(*b));
	b->c = c;
	b->signer = signer;
	b->params.creds = c->with_token ? &creds_token : &creds_plain;
	b->params.region = "us-east-1";
	b->params.service = c->service;
	b->params.time = SIGN_TIME;
	b->params.mode = SV4_MODE_HEADER;
	b->hash_payload = c->body != NULL;

	struct sv4_signed out;
	make_request(c, &b->req);
	int rv = sv4_sign(signer, &b->req, &b->params, &out);
	if (rv != 0) {
		fprintf(stderr, "sigv4_bench: %s: sv4_sign: %s\n", c->name, sv4_strerror(rv));
		exit(1);
	}
	b->canon = malloc(out.canonicallen);
	b->sts = malloc(out.string_to_signlen);
	if (b->canon == NULL || b->sts == NULL)
		die("out of memory");
	memcpy(b->canon, out.canonical, out.canonicallen);
	b->canonlen = out.canonicallen;
	memcpy(b->sts, out.string_to_sign, out.string_to_signlen);
	b->stslen = out.string_to_signlen;
	char signature[65], payload[65];
	memcpy(signature, out.signature, sizeof(signature));
	size_t payloadlen = out.payload_hashlen < 64 ? out.payload_hashlen : 64;
	memcpy(payload, out.payload_hash, payloadlen);
	payload[payloadlen] = '\0';

	b->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	b->md = EVP_MD_CTX_new();
	b->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (b->sha256 == NULL || b->md == NULL || b->hmac == NULL)
		die("OpenSSL has no SHA-256 or HMAC");
	b->mac = EVP_MAC_CTX_new(b->hmac);
	if (b->mac == NULL)
		die("out of memory");
	unsigned char key[32];
	signing_key(&b->params, out.date, key);
	OSSL_PARAM mp[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0),
	    OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(b->mac, key, sizeof(key), mp))
		die("EVP_MAC_init failed");
	OPENSSL_cleanse(key, sizeof(key));

	unsigned char canon_md[32], sig[32], body_md[32];
	char hex[65];
	if (floor_once(b, canon_md, sig, body_md) != 0)
		die("floor: OpenSSL failed");
	hex_encode(hex, canon_md, 32);
	if (b->stslen < 64 || memcmp(hex, b->sts + b->stslen - 64, 64) != 0)
		die("floor: canonical request hash differs from the string to sign");
	hex_encode(hex, sig, 32);
	if (strcmp(hex, signature) != 0)
		die("floor: signature differs from sv4_sign()'s");
	if (b->hash_payload) {
		hex_encode(hex, body_md, 32);
		if (strcmp(hex, payload) != 0)
			die("floor: payload hash differs from sv4_sign()'s");
	}
}

static void state_free(struct bench_state *b)
{
	EVP_MAC_CTX_free(b->mac);
	EVP_MAC_free(b->hmac);
	EVP_MD_CTX_free(b->md);
	EVP_MD_free(b->sha256);
	free(b->canon);
	free(b->sts);
}

enum side { SIDE_SIGN, SIDE_FLOOR };

static void run_side(struct bench_state *b, enum side side, unsigned long iters)
{
	unsigned char canon_md[32], sig[32], body_md[32];
	for (unsigned long i = 0; i < iters; i++) {
		if (side == SIDE_SIGN) {
			if (sign_once(b) != 0)
				die("sv4_sign failed");
		} else {
			if (floor_once(b, canon_md, sig, body_md) != 0)
				die("floor: OpenSSL failed");
			sink = (unsigned char)(sink ^ sig[0]);
		}
	}
}

static double now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime failed");
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double time_side(struct bench_state *b, enum side side, unsigned long iters)
{
	double t0 = now();
	run_side(b, side, iters);
	return now() - t0;
}

/* Parses a decimal count in 0..MAX_COUNT (|min| and up); exits on error. */
static unsigned long parse_count(const char *s, const char *what, unsigned long min)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > MAX_COUNT) {
		fprintf(stderr, "sigv4_bench: %s: not a count from %lu to %lu: '%s'\n", what, min, MAX_COUNT, s);
		exit(2);
	}
	return v;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sigv4_bench [--iters N] [--reps N] [CASE...]\n"
	           "       sigv4_bench --callgrind CASE sign|floor [K]\n"
	           "       sigv4_bench --list\n"
	           "       sigv4_bench --chunks   (aws-chunked re-signing throughput, MB/s)\n"
	           "Times sv4_sign() against the floor (SHA-256 of the canonical request and\n"
	           "payload, HMAC of the string to sign) and prints signatures per second;\n"
	           "best of --reps loops of --iters (env SV4_BENCH_REPS, SV4_BENCH_ITERS).\n"
	           "--callgrind runs exactly K (default %lu) signatures of one side after\n"
	           "the same set-up, for valgrind --tool=callgrind to count.\n",
	        DEFAULT_CALLGRIND_ITERS);
}

static int run_callgrind(int argc, char **argv, int i)
{
	if (argc - i < 2 || argc - i > 3) {
		usage(stderr);
		return 2;
	}
	const struct bench_case *c = find_case(argv[i]);
	if (c == NULL) {
		fprintf(stderr, "sigv4_bench: no case '%s' (see --list)\n", argv[i]);
		return 2;
	}
	enum side side;
	if (strcmp(argv[i + 1], "sign") == 0)
		side = SIDE_SIGN;
	else if (strcmp(argv[i + 1], "floor") == 0)
		side = SIDE_FLOOR;
	else {
		usage(stderr);
		return 2;
	}
	unsigned long k = argc - i == 3 ? parse_count(argv[i + 2], "K", 0) : DEFAULT_CALLGRIND_ITERS;
	struct sv4_signer *signer = sv4_signer_new();
	if (signer == NULL)
		die("sv4_signer_new failed");
	struct bench_state b;
	state_init(&b, c, signer);
	run_side(&b, side, k);
	state_free(&b);
	sv4_signer_del(signer);
	return 0;
}

/* ------------------------------------------------------------------------
 * Chunk re-signing: what the gate does to a STREAMING-AWS4-HMAC-SHA256-PAYLOAD
 * upload. An encoded body of 64 KiB chunks is decoded (structure checked,
 * each chunk hashed once) and every chunk signed again on a new chain. */

#define CHUNK_SIZE 65536
#define CHUNK_COUNT 64

struct resign {
	struct sv4_chain *chain;
	unsigned char *sink; /* where a forwarder would copy the data */
	size_t bytes;
};

static int resign_chunk(void *arg, const unsigned char *data, size_t len, const char *hash, const char *sig)
{
	struct resign *r = arg;
	char nsig[65];
	(void)sig;
	if (sv4_chain_chunk(r->chain, hash, nsig) != 0)
		return -1;
	memcpy(r->sink, data, len);
	r->bytes += len;
	return 0;
}

static int run_chunks(unsigned long reps)
{
	static const char seed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
	size_t linelen = strlen("10000;chunk-signature=") + 64 + 2;
	size_t bodylen = CHUNK_COUNT * (linelen + CHUNK_SIZE + 2) + strlen("0;chunk-signature=") + 64 + 4 + 1;
	unsigned char *body = malloc(bodylen), *out = malloc(CHUNK_SIZE);
	if (body == NULL || out == NULL)
		die("out of memory");
	size_t off = 0;
	for (int i = 0; i < CHUNK_COUNT; i++) {
		off += (size_t)snprintf((char *)body + off, bodylen - off, "10000;chunk-signature=%s\r\n", seed);
		for (size_t j = 0; j < CHUNK_SIZE; j++)
			body[off + j] = (unsigned char)(j * 31 + (size_t)i);
		off += CHUNK_SIZE;
		memcpy(body + off, "\r\n", 2);
		off += 2;
	}
	off += (size_t)snprintf((char *)body + off, bodylen - off, "0;chunk-signature=%s\r\n\r\n", seed);

	struct sv4_signer *signer = sv4_signer_new();
	if (signer == NULL)
		die("sv4_signer_new failed");
	double best = 0;
	for (unsigned long r = 0; r < reps; r++) {
		struct resign rs = {sv4_chain_new(signer, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524T000000Z",
		                                  "us-east-1", "s3", seed),
		                    out, 0};
		struct sv4_dechunk *d =
		    sv4_dechunk_new(SV4_CHUNKED_SIGNED, CHUNK_SIZE, NULL, resign_chunk, NULL, &rs);
		if (rs.chain == NULL || d == NULL)
			die("set-up failed");
		uint64_t decoded = 0;
		double t0 = now();
		/* Fed as a network would hand it over: 16 KiB reads. */
		for (size_t i = 0; i < off; i += 16384)
			if (sv4_dechunk_feed(d, body + i, off - i < 16384 ? off - i : 16384) != 0)
				die("decoding failed");
		if (sv4_dechunk_finish(d, &decoded) != 0 || decoded != (uint64_t)CHUNK_COUNT * CHUNK_SIZE)
			die("decoding did not finish");
		double t = now() - t0;
		if (r == 0 || t < best)
			best = t;
		sv4_dechunk_del(d);
		sv4_chain_del(rs.chain);
	}
	printf("chunk re-signing: %d chunks of %d bytes, best of %lu: %.1f MB/s\n", CHUNK_COUNT, CHUNK_SIZE, reps,
	       (double)CHUNK_COUNT * CHUNK_SIZE / best / 1e6);
	sv4_signer_del(signer);
	free(body);
	free(out);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long iters = DEFAULT_ITERS, reps = DEFAULT_REPS;
	const char *env;
	int selected[NCASES] = {0};
	int nselected = 0;

	make_inputs();
	if ((env = getenv("SV4_BENCH_ITERS")) != NULL && env[0] != '\0')
		iters = parse_count(env, "SV4_BENCH_ITERS", 1);
	if ((env = getenv("SV4_BENCH_REPS")) != NULL && env[0] != '\0')
		reps = parse_count(env, "SV4_BENCH_REPS", 1);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--callgrind") == 0)
			return run_callgrind(argc, argv, i + 1);
		if (strcmp(argv[i], "--chunks") == 0)
			return run_chunks(reps);
		if (strcmp(argv[i], "--list") == 0) {
			for (size_t j = 0; j < NCASES; j++)
				printf("%s\n", cases[j].name);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if ((strcmp(argv[i], "--iters") == 0 || strcmp(argv[i], "--reps") == 0) && i + 1 < argc) {
			if (argv[i][2] == 'i')
				iters = parse_count(argv[i + 1], "--iters", 1);
			else
				reps = parse_count(argv[i + 1], "--reps", 1);
			i++;
			continue;
		}
		const struct bench_case *c = find_case(argv[i]);
		if (c == NULL) {
			usage(stderr);
			return 2;
		}
		selected[c - cases] = 1;
		nselected++;
	}

	struct sv4_signer *signer = sv4_signer_new();
	if (signer == NULL)
		die("sv4_signer_new failed");
	printf("sv4_sign vs floor: best of %lu loops of %lu signatures, %s\n", reps, iters,
	       OpenSSL_version(OPENSSL_VERSION));
	printf("%-16s %6s %12s %12s %10s  %s\n", "case", "canon", "sign sig/s", "floor sig/s", "sign/floor",
	       "goal >= 0.7");
	for (size_t n = 0; n < NCASES; n++) {
		if (nselected > 0 && !selected[n])
			continue;
		struct bench_state b;
		state_init(&b, &cases[n], signer);
		/* Warm up both sides, then alternate them so drift hits both. */
		run_side(&b, SIDE_SIGN, iters / 10 + 1);
		run_side(&b, SIDE_FLOOR, iters / 10 + 1);
		double best_sign = 0, best_floor = 0;
		for (unsigned long r = 0; r < reps; r++) {
			double ts = time_side(&b, SIDE_SIGN, iters);
			double tf = time_side(&b, SIDE_FLOOR, iters);
			if (r == 0 || ts < best_sign)
				best_sign = ts;
			if (r == 0 || tf < best_floor)
				best_floor = tf;
		}
		double sign_rate = (double)iters / best_sign, floor_rate = (double)iters / best_floor;
		double ratio = sign_rate / floor_rate;
		printf("%-16s %6zu %12.0f %12.0f %10.3f  %s\n", cases[n].name, b.canonlen, sign_rate, floor_rate,
		       ratio, ratio >= GOAL_SPEED ? "ok" : "MISS");
		state_free(&b);
	}
	sv4_signer_del(signer);
	return 0;
}
