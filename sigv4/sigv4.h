/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4.h: AWS Signature Version 4 canonicalisation, signing and presigning.
 *
 * The module does no I/O, reads no clock and logs nothing: the caller hands
 * it a request as views of bytes, the credentials and the signing time, and
 * gets back the values to add to the request. It depends on OpenSSL only.
 *
 * A struct sv4_signer is not thread-safe: use one per thread. It keeps the
 * OpenSSL contexts and a small cache of derived signing keys, so that the
 * next request for the same (secret, date, region, service) costs one HMAC
 * of the string to sign plus the hashing. */
#ifndef AWSGATE_SIGV4_H
#define AWSGATE_SIGV4_H

#include <stddef.h>
#include <stdint.h>

/* Error codes (sigv4's range is -100..-199). */
#define SV4_ERR_NOMEM -101           /* out of memory */
#define SV4_ERR_TOO_LARGE -102       /* an input is over one of the limits below */
#define SV4_ERR_BAD_METHOD -103      /* method is empty or not an HTTP token */
#define SV4_ERR_BAD_PATH -104        /* path has no leading '/', or holds CR, LF, NUL, '?' or '#' */
#define SV4_ERR_BAD_QUERY -105       /* query holds CR, LF, NUL, '#' or a broken %-escape */
#define SV4_ERR_BAD_HEADER -106      /* header name is not a token, value holds a control byte, or two x-amz-content-sha256 */
#define SV4_ERR_NO_HOST -107         /* no Host header (or two of them) */
#define SV4_ERR_BAD_CREDENTIALS -108 /* access key, secret or token empty or malformed */
#define SV4_ERR_BAD_SCOPE -109       /* region or service empty or not [a-z0-9-] */
#define SV4_ERR_BAD_TIME -110        /* time outside years 1970..9999 */
#define SV4_ERR_BAD_EXPIRES -111     /* presign expiry outside 1..SV4_MAX_EXPIRES */
#define SV4_ERR_BAD_PAYLOAD -112     /* payload hash is neither 64 hex digits nor a known keyword */
#define SV4_ERR_NO_PAYLOAD -113      /* no payload hash, body or x-amz-content-sha256 to sign with */
#define SV4_ERR_CRYPTO -114          /* OpenSSL failed */
#define SV4_ERR_BAD_REQUEST -115     /* request file: request line or header line malformed */
#define SV4_ERR_CHUNK_MALFORMED -116 /* aws-chunked: a chunk line, CRLF or trailer is not as the format says */
#define SV4_ERR_CHUNK_TOO_LARGE -117 /* aws-chunked: a chunk or the trailers over the configured maximum */
#define SV4_ERR_CHUNK_SIGNATURE -118 /* aws-chunked: a chunk signature does not match */
#define SV4_ERR_TRAILER_SIGNATURE -119 /* aws-chunked: the trailer signature does not match */
#define SV4_ERR_CHUNK_TRUNCATED -120 /* aws-chunked: the body ended before its final chunk */

/* Limits. Every input is bounded; over a limit the call returns
 * SV4_ERR_TOO_LARGE and nothing is written. Documented in docs/SIGV4.md. */
#define SV4_MAX_METHOD 32             /* bytes of the method */
#define SV4_MAX_PATH 8192             /* bytes of the path as sent */
#define SV4_MAX_QUERY 32768           /* bytes of the query as sent, without '?' */
#define SV4_MAX_QUERY_PARAMS 512      /* the request's own name=value pairs (presigning adds up to 6) */
#define SV4_MAX_HEADERS 128           /* header fields */
#define SV4_MAX_HEADER_NAME 256       /* bytes of one header name */
#define SV4_MAX_HEADER_VALUE 16384    /* bytes of one header value */
#define SV4_MAX_HEADER_BYTES 65536    /* bytes of all names and values together */
#define SV4_MAX_SCOPE_PART 64         /* bytes of the region, of the service */
#define SV4_MAX_ACCESS_KEY 128        /* bytes of the access key ID */
#define SV4_MAX_SECRET 128            /* bytes of the secret access key */
#define SV4_MAX_SESSION_TOKEN 8192    /* bytes of the session token */
#define SV4_MAX_EXPIRES 604800        /* seconds a presigned request may live (7 days) */
#define SV4_MAX_BODY (64 * 1024 * 1024) /* bytes the request-file reader accepts */

#define SV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* One header field: views into the caller's bytes. */
struct sv4_header {
	const char *name;
	size_t namelen;
	const char *value;
	size_t valuelen;
};

/* A request as views into the caller's bytes; nothing here is copied. */
struct sv4_request {
	const char *method;
	size_t methodlen;
	const char *path; /* as sent: before '?', raw bytes allowed (encoded as needed) */
	size_t pathlen;
	const char *query; /* as sent: after '?', without it; may be empty */
	size_t querylen;
	const struct sv4_header *headers;
	size_t nheaders;
	const unsigned char *body; /* may be NULL; hashed only when no payload hash is given */
	size_t bodylen;
};

/* Credentials: NUL-terminated; session_token may be NULL. Borrowed. */
struct sv4_credentials {
	const char *access_key;
	const char *secret_key;
	const char *session_token;
};

enum sv4_mode {
	SV4_MODE_HEADER, /* Authorization header */
	SV4_MODE_QUERY,  /* presigned: X-Amz-* query parameters */
};

/* Flags of struct sv4_sign_params. */
#define SV4_F_NO_NORMALIZE_PATH 0x1u  /* non-S3 only: keep dot segments and empty segments */
#define SV4_F_OMIT_SESSION_TOKEN 0x2u /* send the session token but leave it out of the signature */
#define SV4_F_ADD_CONTENT_SHA256 0x4u /* header mode: add and sign X-Amz-Content-Sha256 (S3 always does) */

struct sv4_sign_params {
	const struct sv4_credentials *creds;
	const char *region;  /* NUL-terminated, e.g. "us-east-1" */
	const char *service; /* NUL-terminated signing name, e.g. "s3", "sts" */
	int64_t time;        /* signing time, seconds since the epoch (UTC) */
	enum sv4_mode mode;
	uint32_t expires; /* query mode: seconds, 1..SV4_MAX_EXPIRES */
	/* The payload hash to sign: 64 lower-case hex digits or a keyword such
	 * as UNSIGNED-PAYLOAD or STREAMING-AWS4-HMAC-SHA256-PAYLOAD. NULL: the
	 * request's x-amz-content-sha256 value, else UNSIGNED-PAYLOAD for a
	 * presigned S3-family request, else the SHA-256 of the body (empty body
	 * when body is NULL). */
	const char *payload_hash;
	unsigned flags;
};

/* What signing produced. All pointers are borrowed from the signer and
 * valid until the next call on it. */
struct sv4_signed {
	char date[17];      /* X-Amz-Date value: YYYYMMDDTHHMMSSZ */
	char signature[65]; /* lower-case hex */
	const char *payload_hash; /* the value signed (and sent as X-Amz-Content-Sha256 when added) */
	size_t payload_hashlen;
	int add_content_sha256; /* header mode: the caller must send X-Amz-Content-Sha256 */
	int add_session_token;  /* header mode: the caller must send X-Amz-Security-Token */
	const char *authorization; /* header mode: the Authorization value */
	size_t authorizationlen;
	const char *query; /* query mode: the whole new query (without '?') */
	size_t querylen;
	const char *canonical; /* the canonical request */
	size_t canonicallen;
	const char *string_to_sign;
	size_t string_to_signlen;
};

struct sv4_signer;

/* Creates a signer. Returns NULL when out of memory or OpenSSL lacks SHA-256. */
struct sv4_signer *sv4_signer_new(void);

/* Frees |signer| (NULL is fine); cached keys and secrets are wiped. */
void sv4_signer_del(struct sv4_signer *signer);

/* Signs |req| as |params| say and fills |out|.
 *
 * In header mode the caller sends, in place of any Authorization, X-Amz-Date
 * (and, when it adds them, X-Amz-Security-Token and X-Amz-Content-Sha256)
 * it had: X-Amz-Date: out->date, Authorization: out->authorization, and the
 * others as out->add_* say. In query mode the caller sends out->query as
 * the query; any X-Amz-* signing parameter the request had is dropped from
 * it. In both modes sv4_header_is_replaced() tells which of the request's
 * own headers to drop.
 *
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: SV4_ERR_NOMEM, SV4_ERR_TOO_LARGE, SV4_ERR_BAD_METHOD,
 * SV4_ERR_BAD_PATH, SV4_ERR_BAD_QUERY, SV4_ERR_BAD_HEADER, SV4_ERR_NO_HOST,
 * SV4_ERR_BAD_CREDENTIALS, SV4_ERR_BAD_SCOPE, SV4_ERR_BAD_TIME,
 * SV4_ERR_BAD_EXPIRES, SV4_ERR_BAD_PAYLOAD, SV4_ERR_NO_PAYLOAD,
 * SV4_ERR_CRYPTO. On failure |out| is left untouched. */
int sv4_sign(struct sv4_signer *signer, const struct sv4_request *req,
             const struct sv4_sign_params *params, struct sv4_signed *out);

/* Returns 1 when a header of the request named |name| (any case) is one that
 * signing with |params| replaces or drops, so the caller must not send it,
 * else 0: Authorization and X-Amz-Date always; X-Amz-Security-Token when the
 * credentials carry a token; X-Amz-Content-Sha256 when signing adds one.
 * |out| is the result of sv4_sign() with the same |params|. */
int sv4_header_is_replaced(const char *name, size_t namelen, const struct sv4_sign_params *params,
                           const struct sv4_signed *out);

/* Returns 1 if |service| signs with S3's rules (path as sent, never
 * normalised; X-Amz-Content-Sha256 always sent; presign with
 * UNSIGNED-PAYLOAD): s3, s3-object-lambda, s3-outposts, s3express. */
int sv4_service_is_s3(const char *service);

/* Writes "YYYYMMDDTHHMMSSZ" and a NUL for |t| to |dst|.
 * This function returns 0 if it succeeds, or SV4_ERR_BAD_TIME. */
int sv4_format_time(char dst[17], int64_t t);

/* Parses "YYYYMMDDTHHMMSSZ" (exactly 16 bytes) into |*t|.
 * This function returns 0 if it succeeds, or SV4_ERR_BAD_TIME. */
int sv4_parse_time(const char *s, size_t len, int64_t *t);

/* Writes the lower-case hex SHA-256 of |data| and a NUL to |hex|.
 * This function returns 0 if it succeeds, or SV4_ERR_CRYPTO. */
int sv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* Returns a static English description of |err|. */
const char *sv4_strerror(int err);

/* ------------------------------------------------------------------------
 * Verification of a request signed by someone else. */

enum sv4_verdict {
	SV4_VALID = 0,
	SV4_V_MALFORMED,       /* the signature's parts, or the request, cannot be read */
	SV4_V_UNSIGNED,        /* no Authorization header and no X-Amz-Algorithm parameter */
	SV4_V_UNSUPPORTED,     /* another algorithm, such as SigV4a (AWS4-ECDSA-P256-SHA256) */
	SV4_V_UNKNOWN_KEY,     /* signed with an access key we do not know */
	SV4_V_SKEW,            /* the signing time is too far from now */
	SV4_V_EXPIRED,         /* a presigned request past its X-Amz-Expires */
	SV4_V_MISMATCH,        /* the signature does not match */
	SV4_V_PAYLOAD_MISMATCH, /* x-amz-content-sha256 is not the body's SHA-256 */
	SV4_V_TOO_LARGE,       /* an input over a limit */
	SV4_V_UNSIGNED_HEADER, /* an x-amz-* header is sent but not signed (S3's HeadersNotSigned) */
};

#define SV4_DEFAULT_MAX_SKEW 300 /* seconds, as AWS allows */

struct sv4_verify_params {
	const char *access_key; /* the one key we know; NUL-terminated */
	const char *secret_key;
	int64_t now;       /* seconds since the epoch */
	uint32_t max_skew; /* seconds; 0 means SV4_DEFAULT_MAX_SKEW */
	/* The payload hash when the caller knows it and the request has no
	 * x-amz-content-sha256 (a streamed body it hashed); NULL: the SHA-256
	 * of req.body (of the empty string when body is NULL). */
	const char *payload_hash;
};

struct sv4_verified {
	enum sv4_verdict verdict;
	const char *detail; /* static English: what exactly was wrong */
	enum sv4_mode mode;
	char date[17]; /* X-Amz-Date of the request (when it could be read) */
	int64_t time;
	char region[SV4_MAX_SCOPE_PART + 1];
	char service[SV4_MAX_SCOPE_PART + 1];
	char signature[65]; /* the request's signature: the seed of aws-chunked bodies */
	uint32_t expires;   /* query mode */
	const char *payload_hash; /* the hash that was signed; borrowed from the request or the signer */
	size_t payload_hashlen;
	const char *canonical; /* what we computed; borrowed from the signer, valid until its next call */
	size_t canonicallen;
	const char *string_to_sign;
	size_t string_to_signlen;
};

/* Verifies the SigV4 signature of |req| (Authorization header or presigned
 * query) against |params|: strict parsing of the signature's parts, the
 * signed headers taken as the request lists them, the signature recomputed
 * and compared in constant time, clock skew and presign expiry checked.
 * |out| says the verdict and why.
 * This function returns 0 when it reached a verdict (valid or not), or one
 * of the following negative error codes: SV4_ERR_NOMEM, SV4_ERR_CRYPTO,
 * SV4_ERR_BAD_CREDENTIALS (|params| has no usable key). */
int sv4_verify(struct sv4_signer *signer, const struct sv4_request *req, const struct sv4_verify_params *params,
               struct sv4_verified *out);

/* Returns the verdict's one-word name ("valid", "malformed", "unsigned",
 * "unsupported", "unknown-key", "skew", "expired", "mismatch",
 * "payload-mismatch", "too-large", "unsigned-header"). */
const char *sv4_verdict_name(enum sv4_verdict v);

/* ------------------------------------------------------------------------
 * aws-chunked bodies: decoding (optionally verifying each chunk) and chunk
 * signing. Memory is bounded: one chunk line, one chunk of at most the
 * configured maximum, and the trailers. */

enum sv4_chunked_kind {
	SV4_CHUNKED_NONE = 0,         /* not an aws-chunked payload */
	SV4_CHUNKED_SIGNED,           /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	SV4_CHUNKED_SIGNED_TRAILER,   /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
	SV4_CHUNKED_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

#define SV4_DEFAULT_MAX_CHUNK (1024 * 1024) /* bytes of one chunk's data */
#define SV4_MAX_CHUNK_LINE 128             /* bytes of a chunk-size or trailer line, without its CRLF */
#define SV4_MAX_TRAILER_BYTES 4096         /* bytes of all trailer lines */
#define SV4_MAX_TRAILERS 16                /* trailer lines */

/* Returns the kind the payload hash |p| (|len| bytes) names. */
enum sv4_chunked_kind sv4_chunked_kind(const char *p, size_t len);

/* A chain of chunk signatures: each signs its chunk and the signature before
 * it, starting from the seed (the request's own signature). */
struct sv4_chain;

/* Creates a chain in the scope of |date| (YYYYMMDDTHHMMSSZ), |region| and
 * |service| with |secret|, starting from |seed| (64 hex digits). The key
 * comes from |signer|'s cache; the chain keeps its own copy. Returns NULL
 * when out of memory or OpenSSL fails. */
struct sv4_chain *sv4_chain_new(struct sv4_signer *signer, const char *secret, const char *date, const char *region,
                                const char *service, const char *seed);
void sv4_chain_del(struct sv4_chain *chain);

/* Signs the next chunk, whose data has SHA-256 |data_hash| (64 hex digits;
 * sv4_sha256_hex() of nothing for the final chunk), writes its signature to
 * |sig| and makes it the previous one. Returns 0 or SV4_ERR_CRYPTO. */
int sv4_chain_chunk(struct sv4_chain *chain, const char *data_hash, char sig[65]);

/* Signs the trailers, given in their canonical form ("name:value\n" each, in
 * order), as the chain's last link. Returns 0 or SV4_ERR_CRYPTO. */
int sv4_chain_trailer(struct sv4_chain *chain, const char *canonical, size_t len, char sig[65]);

/* Writes the chunk-size line of a signed chunk of |len| bytes with
 * signature |sig| ("hex-size;chunk-signature=SIG\r\n", no NUL) to |dst|,
 * which has SV4_MAX_CHUNK_LINE bytes; returns its length. */
size_t sv4_chunk_line(char *dst, size_t len, const char *sig);

/* Writes the trailer lines of the signed trailer kind to |dst|: each
 * canonical "name:value\n" as "name:value\r\n", then
 * "x-amz-trailer-signature:SIG\r\n\r\n". |dst| has room for |len| + the
 * number of trailers + 92 bytes; returns the length written. */
size_t sv4_trailer_lines(char *dst, const char *canonical, size_t len, const char *sig);

/* Called with each whole chunk in order, the final (empty) one included:
 * |hash| is the SHA-256 of |data| in hex, |sig| the chunk's signature as
 * sent (NULL in unsigned kinds). A non-zero return stops decoding and is
 * returned by sv4_dechunk_feed(). */
typedef int sv4_chunk_fn(void *arg, const unsigned char *data, size_t len, const char *hash, const char *sig);

/* Called once after the final chunk with the trailers in their canonical
 * form ("name:value\n" each; empty without trailers) and, in the signed
 * trailer kind, the trailer signature as sent (else NULL). */
typedef int sv4_trailers_fn(void *arg, const char *canonical, size_t len, const char *sig);

struct sv4_dechunk;

/* Creates a decoder of |kind| for chunks of at most |max_chunk| bytes. When
 * |verify| is not NULL (signed kinds), every chunk signature and the trailer
 * signature are checked against it (the decoder advances the chain; it does
 * not take ownership). Returns NULL when out of memory. */
struct sv4_dechunk *sv4_dechunk_new(enum sv4_chunked_kind kind, size_t max_chunk, struct sv4_chain *verify,
                                    sv4_chunk_fn *on_chunk, sv4_trailers_fn *on_trailers, void *arg);
void sv4_dechunk_del(struct sv4_dechunk *d);

/* Feeds |len| more bytes of the body.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: SV4_ERR_CHUNK_MALFORMED, SV4_ERR_CHUNK_TOO_LARGE,
 * SV4_ERR_CHUNK_SIGNATURE, SV4_ERR_TRAILER_SIGNATURE, SV4_ERR_CRYPTO, or a
 * callback's non-zero return. After an error the decoder refuses more. */
int sv4_dechunk_feed(struct sv4_dechunk *d, const unsigned char *p, size_t len);

/* Ends the body: writes the decoded length to |*decoded|.
 * This function returns 0 if it succeeds, or SV4_ERR_CHUNK_TRUNCATED when
 * the final chunk (and trailers) have not all arrived, or the error that
 * stopped the decoder. */
int sv4_dechunk_finish(struct sv4_dechunk *d, uint64_t *decoded);

/* Where the last error was found: byte offset in the body, and a static
 * description. */
const char *sv4_dechunk_error(const struct sv4_dechunk *d, uint64_t *offset);

/* ------------------------------------------------------------------------
 * The request-file reader: the AWS suite's request.txt format, read
 * leniently. LF or CRLF line ends; "Name:value" with or without spaces after
 * the colon; the request line split at its first and last space (so a raw
 * space or raw UTF-8 in the path is kept; without a last part starting with
 * "HTTP/", all after the method is the target and the protocol HTTP/1.1);
 * folded header lines (starting
 * with a space or tab) joined to the previous value with one space; a blank
 * line, then the body (everything after it, byte for byte). */

struct sv4_reqfile_error {
	unsigned line;   /* 1-based line of the error, 0 when not about a line */
	unsigned column; /* 1-based byte column, 0 when unknown */
	const char *what; /* static description */
};

struct sv4_reqfile {
	struct sv4_request req;
	struct sv4_header *headers; /* owned; req.headers points here */
	size_t nheaders;
	char *text; /* owned copy of the bytes the views point into */
	size_t textlen;
	char protocol[16]; /* e.g. "HTTP/1.1" */
};

/* Parses |len| bytes at |data| into |rf| (copying what it needs; |data| may
 * be freed afterwards). Free |rf| with sv4_reqfile_free() after success.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes, with |err| (may be NULL) saying where: SV4_ERR_BAD_REQUEST,
 * SV4_ERR_TOO_LARGE, SV4_ERR_NOMEM. */
int sv4_reqfile_parse(struct sv4_reqfile *rf, const char *data, size_t len,
                      struct sv4_reqfile_error *err);

/* Frees what sv4_reqfile_parse() allocated in |rf|. */
void sv4_reqfile_free(struct sv4_reqfile *rf);

#endif
