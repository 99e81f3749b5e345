/* SPDX-License-Identifier: Apache-2.0 */
/* pipeline.h: the socket-free stages of the AWS API pipeline: refusals, target, AWS-shaped errors, scope, re-signing, the user's STS calls.
 *
 * Everything declared here is pure: it reads no clock, opens no socket and
 * logs nothing. The server (the next issue's code) gives each stage views
 * of the request and the loaded configuration and gets back a decision, a
 * refusal with a reason, or the bytes to send. docs/PIPELINE.md describes
 * the stages in order and every limit. */
#ifndef AWSGATE_PIPELINE_H
#define AWSGATE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "federation/federation.h"
#include "proxy/proxy.h"
#include "sigv4/sigv4.h"

/* Error codes of the pipeline (proxy's range; -450..-469 are the pipeline's). */
#define PX_ERR_REFUSED -450 /* the request is refused: the struct px_refusal says why */

/* --- reasons (reason.c) ------------------------------------------------------
 *
 * Every refusal the gate makes has one reason: its name goes to the client
 * in X-Awsgate-Error and to the audit log; its HTTP status and AWS error
 * code shape the error in the service's protocol (awserror.c). */
enum px_reason {
	PX_R_NONE = 0,
	/* X-Forwarded-Host (400: the client must send another value) */
	PX_R_HOST_MISSING,     /* forwarded-host-missing */
	PX_R_HOST_DUPLICATE,   /* forwarded-host-duplicate: two headers, or a list */
	PX_R_HOST_MALFORMED,   /* forwarded-host-malformed: userinfo, path, bad bytes, trailing dot... */
	PX_R_HOST_PORT,        /* forwarded-host-port: a port other than 443 */
	PX_R_HOST_IP_LITERAL,  /* forwarded-host-ip-literal */
	PX_R_HOST_IDN,         /* forwarded-host-idn: non-ASCII or punycode */
	PX_R_HOST_TOO_LONG,    /* forwarded-host-too-long */
	/* the endpoint decision (403: policy) */
	PX_R_ENDPOINT_NOT_AWS,      /* endpoint-not-aws */
	PX_R_ENDPOINT_PARTITION,    /* endpoint-partition: a partition not in aws.partitions */
	PX_R_ENDPOINT_CUSTOMER,     /* endpoint-customer: a customer's resource (EC2 host, load balancer, ...) */
	PX_R_ENDPOINT_UNRECOGNISED, /* endpoint-unrecognised */
	PX_R_ADDRESS_PRIVATE,       /* address-private: every resolved address is loopback, private, ... */
	PX_R_ADDRESS_NONE,          /* address-none: the name resolved to no address (502) */
	/* identity and RBAC, for the server */
	PX_R_NO_CERTIFICATE,   /* no-client-certificate */
	PX_R_LOCKED,           /* locked */
	PX_R_ROLE_DENIED,      /* role-denied */
	PX_R_APP_AMBIGUOUS,    /* app-ambiguous (400) */
	PX_R_ROLE_AMBIGUOUS,   /* role-ambiguous (400) */
	PX_R_SESSION_TOO_SHORT, /* session-too-short: under 15 minutes of the certificate left */
	/* the request */
	PX_R_SIGNATURE_MALFORMED,   /* signature-malformed (400) */
	PX_R_SIGNATURE_UNSUPPORTED, /* signature-unsupported: SigV4a, SigV2 (400) */
	PX_R_PRESIGN_EXPIRED,       /* presign-expired (403) */
	PX_R_SCOPE_UNKNOWN,         /* scope-unknown: unsigned, and the endpoint names no service (400) */
	PX_R_REQUEST_MALFORMED,     /* request-malformed (400) */
	PX_R_PAYLOAD_TOO_LARGE,     /* payload-too-large (413) */
	PX_R_SOURCE_IDENTITY,       /* source-identity-mismatch: AssumeRole naming someone else (403) */
	/* credentials */
	PX_R_STS_DENIED,      /* sts-denied: AssumeRole of the user's role was refused (403) */
	PX_R_STS_UNAVAILABLE, /* sts-unavailable (503) */
	/* upstream */
	PX_R_UPSTREAM_CONNECT, /* upstream-connect (502) */
	PX_R_UPSTREAM_TLS,     /* upstream-tls (502) */
	PX_R_UPSTREAM_TIMEOUT, /* upstream-timeout (504) */
	PX_R_UPSTREAM_ERROR,   /* upstream-error (502) */
	PX_R_INTERNAL,         /* internal (500) */
	PX_R_COUNT
};

/* The fixed facts of a reason. */
struct px_reason_info {
	const char *name;      /* X-Awsgate-Error and the audit: "endpoint-customer" */
	int status;            /* HTTP status */
	const char *code_xml;  /* AWS error code in the XML protocols: "AccessDenied" */
	const char *code_json; /* in the JSON protocols: "AccessDeniedException" */
};

/* The facts of |r|; an out-of-range |r| gives PX_R_INTERNAL's. Never NULL. */
const struct px_reason_info *px_reason_info(enum px_reason r);

/* The longest refusal message, with its NUL. */
#define PX_MAX_MESSAGE 512

/* A refusal: the reason and an English message that says what was wrong
 * and what to do. The message never holds a secret; a value of the request
 * it quotes is reduced to printable ASCII and cut short. */
struct px_refusal {
	enum px_reason reason;
	char message[PX_MAX_MESSAGE];
};

/* Sets |why| (may be NULL) to |reason| and the formatted message; returns
 * PX_ERR_REFUSED, so a stage can `return px_refuse(...)`. */
int px_refuse(struct px_refusal *why, enum px_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes at most |max| bytes of |s| (|len| bytes) to |dst| (|size| bytes,
 * NUL-terminated) for quoting in a message: bytes outside printable ASCII
 * become '?', and "..." marks a cut. */
void px_quote(char *dst, size_t size, const char *s, size_t len, size_t max);

/* --- the target: X-Forwarded-Host and its addresses (target.c) --------------- */

#define PX_MAX_FORWARDED_HOST 300 /* bytes of the header value we look at: 253 of name, ":443", spaces */

struct px_target {
	char host[FED_MAX_HOST + 1]; /* lower case, no port, no trailing dot */
	size_t hostlen;
	struct fed_host_info info;   /* fed_host_classify()'s answer */
	/* The aws.connect_to entry whose pattern matches |host| (borrowed from
	 * the config), or NULL: its address is the admin's choice and trusted. */
	const struct px_connect_to *connect_to;
};

/*
 * Parses one X-Forwarded-Host value (|len| bytes; optional spaces and tabs
 * around it are ignored): a DNS name in any case, optionally followed by
 * ":443". Writes the name in lower case and a NUL to |host| and its length
 * to |*hostlen|.
 *
 * This function returns 0 if it succeeds, or PX_ERR_REFUSED with |why| (may
 * be NULL) set to one of PX_R_HOST_MISSING (empty), PX_R_HOST_DUPLICATE (a
 * comma-separated list), PX_R_HOST_MALFORMED, PX_R_HOST_PORT,
 * PX_R_HOST_IP_LITERAL, PX_R_HOST_IDN, PX_R_HOST_TOO_LONG.
 */
int px_forwarded_host_parse(const char *value, size_t len, char host[FED_MAX_HOST + 1], size_t *hostlen,
                            struct px_refusal *why);

/*
 * The target of a request: finds X-Forwarded-Host among the request's
 * |nheaders| |headers| (exactly one, any case of the name), parses it,
 * classifies it with fed_host_classify() and decides with |cfg|: the
 * partition must be in aws.partitions; a service endpoint is accepted; a
 * customer-controlled name only with aws.allow_customer_endpoints; an
 * unrecognised name under an AWS suffix and a name under none are refused.
 * Also records the aws.connect_to entry that matches the host.
 *
 * This function returns 0 and fills |out| if it succeeds, or PX_ERR_REFUSED
 * with |why| set (the reasons of px_forwarded_host_parse() and
 * PX_R_ENDPOINT_*).
 */
int px_target_decide(const struct px_config *cfg, const struct sv4_header *headers, size_t nheaders,
                     struct px_target *out, struct px_refusal *why);

/* What an address is, for the address check and its messages. */
enum px_addr_class {
	PX_ADDR_PUBLIC = 0,
	PX_ADDR_UNSPECIFIED,  /* 0.0.0.0/8, :: */
	PX_ADDR_LOOPBACK,     /* 127/8, ::1 */
	PX_ADDR_PRIVATE,      /* 10/8, 172.16/12, 192.168/16, fec0::/10, 64:ff9b:1::/48 */
	PX_ADDR_CGNAT,        /* 100.64/10 */
	PX_ADDR_LINK_LOCAL,   /* 169.254/16, fe80::/10 */
	PX_ADDR_METADATA,     /* 169.254.169.254, fd00:ec2::254: the instance metadata service */
	PX_ADDR_UNIQUE_LOCAL, /* fc00::/7 */
	PX_ADDR_MULTICAST,    /* 224/4, ff00::/8 */
	PX_ADDR_BROADCAST,    /* 255.255.255.255 */
	PX_ADDR_RESERVED,     /* 240/4, documentation, benchmarking, 192.0.0/24, 100::/64, 2001:db8::/32 */
	PX_ADDR_UNSUPPORTED,  /* not AF_INET or AF_INET6, or too short */
};

/* Classifies |sa| (|salen| bytes). IPv6 forms that carry an IPv4 address
 * (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, translated ::ffff:0:a.b.c.d,
 * NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32) are classified by
 * the IPv4 address they carry (for Teredo, the worse of server and client). */
enum px_addr_class px_addr_classify(const struct sockaddr *sa, socklen_t salen);

/* "public", "unspecified", "loopback", "private", "cgnat", "link-local",
 * "metadata", "unique-local", "multicast", "broadcast", "reserved",
 * "unsupported". */
const char *px_addr_class_name(enum px_addr_class c);

/*
 * The address check: of the |n| resolved addresses |addrs| of |t|'s host
 * (or of its connect-to address), picks the first the gate may connect to
 * and writes its index to |*index|. Any public address is acceptable; any
 * AF_INET or AF_INET6 address is when aws.allow_private_addresses is set or
 * |t| has a connect-to entry (the admin chose that destination). The
 * caller connects to exactly that address.
 *
 * This function returns 0 if it succeeds, or PX_ERR_REFUSED with |why| set:
 * PX_R_ADDRESS_NONE (|n| is 0 or no address is IPv4 or IPv6),
 * PX_R_ADDRESS_PRIVATE (all were refused; the message names the first).
 */
int px_target_pick_address(const struct px_config *cfg, const struct px_target *t,
                           const struct sockaddr_storage *addrs, size_t n, size_t *index, struct px_refusal *why);

/* --- gate errors in the service's protocol (awserror.c) ---------------------- */

/* The error shapes of AWS's protocols, as botocore's parsers read them. */
enum px_aws_protocol {
	PX_PROTO_QUERY,       /* sts, iam, sns, ...: <ErrorResponse><Error><Type><Code><Message> */
	PX_PROTO_EC2,         /* ec2: <Response><Errors><Error><Code><Message></Errors><RequestID> */
	PX_PROTO_REST_XML_S3, /* s3: <Error><Code><Message><RequestId> and x-amz-request-id */
	PX_PROTO_REST_XML,    /* route53, cloudfront: <ErrorResponse> as the query protocol */
	PX_PROTO_JSON,        /* X-Amz-Target services: {"__type","message"}, application/x-amz-json-1.x */
	PX_PROTO_REST_JSON,   /* lambda and most newer services: x-amzn-ErrorType and {"message"} */
};

/* What is known of a request when the gate must refuse it; every member
 * may be NULL/false. Views are borrowed. */
struct px_errctx {
	const char *service; /* signing name: the credential scope's, else the endpoint's ("s3", "sts") */
	const char *method; /* a view, like the others */
	size_t methodlen;
	const char *target; /* X-Amz-Target */
	size_t targetlen;
	const char *content_type;
	size_t content_typelen;
	const char *query; /* without '?' */
	size_t querylen;
	bool form_action; /* a form body with Action= (when the gate has read the body) */
};

/* Fills |ctx| from |req|: method, X-Amz-Target, Content-Type, query, and,
 * when |service| is NULL, the service of the request's credential scope
 * (Authorization or X-Amz-Credential) copied into |svcbuf| (|svcsize|
 * bytes), else |service|. Never fails: what cannot be read stays unknown. */
void px_errctx_from_request(struct px_errctx *ctx, const struct sv4_request *req, const char *service,
                            char *svcbuf, size_t svcsize);

/* The protocol of the addressed service: X-Amz-Target or an
 * application/x-amz-json Content-Type: JSON; service ec2: EC2; Action= in
 * the query or a form body: query; an S3 signing name: REST-XML as S3;
 * route53 and cloudfront: REST-XML; a query service named in the table:
 * query; anything else, unknown services included: REST-JSON. */
enum px_aws_protocol px_awserror_protocol(const struct px_errctx *ctx);

/* "query", "ec2", "rest-xml-s3", "rest-xml", "json", "rest-json". */
const char *px_aws_protocol_name(enum px_aws_protocol p);

#define PX_AWSERROR_MAX_BODY 4096  /* bytes of a rendered error body */
#define PX_AWSERROR_MAX_HEADERS 5
#define PX_MAX_REQUEST_ID 64       /* bytes of a request id: [A-Za-z0-9-] */

/* A rendered error: status, headers (lower-case names; values static or in
 * this struct) and body (in this struct; empty for HEAD, which has none). */
struct px_awserror {
	int status;
	enum px_aws_protocol protocol;
	struct sv4_header headers[PX_AWSERROR_MAX_HEADERS];
	size_t nheaders;
	const char *body;
	size_t bodylen;
	char request_id[PX_MAX_REQUEST_ID + 1];
	char buf[PX_AWSERROR_MAX_BODY];
};

/*
 * Renders the gate's refusal |reason| with |message| (English, ours; bytes
 * outside printable ASCII become '?', and it is cut at PX_MAX_MESSAGE - 1
 * bytes) as the addressed service would: the protocol from |ctx|, the
 * reason's status and code, the request id |request_id| in the protocol's
 * header and body, Content-Type, and X-Awsgate-Error with the reason's name.
 * Text is escaped for XML or JSON.
 *
 * This function returns 0 and fills |out| if it succeeds, or PX_ERR_RANGE
 * when |request_id| is empty, longer than PX_MAX_REQUEST_ID or holds a byte
 * outside [A-Za-z0-9-].
 */
int px_awserror_render(const struct px_errctx *ctx, enum px_reason reason, const char *message,
                       const char *request_id, struct px_awserror *out);

/* As px_awserror_render() with the status, codes and name of |ri| instead
 * of a reason's: for refusals that are not a enum px_reason (the front
 * half's struct px_deny, api.c). */
int px_awserror_render_info(const struct px_errctx *ctx, const struct px_reason_info *ri, const char *message,
                            const char *request_id, struct px_awserror *out);

/* --- the credential scope, request hygiene and re-signing (resign.c) --------- */

/* How the user signed (with the throw-away keys of their local proxy). */
enum px_sigkind {
	PX_SIG_HEADER,    /* Authorization: AWS4-HMAC-SHA256 Credential=... */
	PX_SIG_PRESIGNED, /* X-Amz-Algorithm, X-Amz-Credential, ... in the query */
	PX_SIG_UNSIGNED,  /* neither: region and service from the endpoint */
};

/* What the gate does with the body. */
enum px_payload {
	PX_PAYLOAD_NONE,    /* no body: the empty string's hash is signed */
	PX_PAYLOAD_STREAM,  /* a hex hash or UNSIGNED-PAYLOAD was given: sign it, stream the body as it comes */
	PX_PAYLOAD_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER: re-sign the seed, stream */
	PX_PAYLOAD_CHUNKED, /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: re-sign every chunk (sv4_chain) */
	PX_PAYLOAD_BUFFER,  /* no hash given: read the body into a buffer of at most limits.max_body_buffer,
	                     * hash it, then sign (an AWS-shaped 413 past the limit) */
};

struct px_scope {
	enum px_sigkind kind;
	char region[FED_MAX_REGION + 1];
	char service[SV4_MAX_SCOPE_PART + 1];
	enum px_payload payload;
	enum sv4_chunked_kind chunked; /* PX_PAYLOAD_CHUNKED and _UNSIGNED_TRAILER: which */
	char payload_hash[65]; /* PX_PAYLOAD_STREAM/_CHUNKED/_UNSIGNED_TRAILER: what to sign (lower-case hex or keyword) */
	uint32_t expires;      /* presigned: X-Amz-Expires */
	int64_t signed_at;     /* presigned: X-Amz-Date */
};

/* "header", "presigned", "unsigned"; "none", "stream", "unsigned-trailer",
 * "chunked", "buffer". */
const char *px_sigkind_name(enum px_sigkind k);
const char *px_payload_name(enum px_payload p);

/*
 * The credential scope and payload mode of |req| addressed to |t|:
 * header-signed (Authorization parsed strictly: AWS4-HMAC-SHA256, each of
 * Credential, SignedHeaders and Signature once, a credential
 * AKID/YYYYMMDD/region/service/aws4_request; the payload from
 * X-Amz-Content-Sha256), presigned (the X-Amz-* query parameters, each
 * once, X-Amz-Expires 1..SV4_MAX_EXPIRES and not past at |now|), or
 * unsigned (the endpoint's service and region, the partition's global
 * region for a global endpoint). |content_length| is the body's length: 0
 * no body, -1 a body of unknown length.
 *
 * This function returns 0 and fills |out| if it succeeds, or PX_ERR_REFUSED
 * with |why| set: PX_R_SIGNATURE_MALFORMED, PX_R_SIGNATURE_UNSUPPORTED
 * (SigV4a, SigV2, event-stream payloads), PX_R_PRESIGN_EXPIRED,
 * PX_R_SCOPE_UNKNOWN (unsigned, to an endpoint that names no service).
 */
int px_scope_parse(const struct sv4_request *req, const struct px_target *t, int64_t content_length, int64_t now,
                   struct px_scope *out, struct px_refusal *why);

struct px_resign_params {
	const struct fed_creds *creds; /* the role's credentials (borrowed) */
	int64_t now;                   /* the signing time */
	int64_t session_end;           /* the user's session end: a presigned expiry is capped to it */
	const char *payload_hash;      /* PX_PAYLOAD_BUFFER: the body's SHA-256 in hex; else NULL */
	const char *query;             /* replace_query: the query to send instead of the request's */
	size_t querylen;
	bool replace_query;
	int64_t content_length;        /* >= 0: send this Content-Length (a rewritten body); -1: as the request */
};

#define PX_MAX_OUT_HEADERS (SV4_MAX_HEADERS + 6)

/* The outgoing request: send exactly these headers and this query. */
struct px_outreq {
	/* First: px_resign() copies the slots in use and then every member
	 * after the array in one piece, and api.c leaves the array unzeroed. */
	struct sv4_header headers[PX_MAX_OUT_HEADERS]; /* views into the request, |t|, and |mem| */
	size_t nheaders;
	const char *query; /* without '?'; in |mem| or the request */
	size_t querylen;
	char date[17];     /* the signing time, YYYYMMDDTHHMMSSZ */
	char seed[65];     /* the new signature: the seed of a re-signed aws-chunked body */
	size_t dropped;    /* how many of the request's headers were dropped */
	char *mem;         /* owned: what the views above need */
	size_t memlen;
};

/* Frees what |o| owns (the session token's copy is wiped). */
void px_outreq_free(struct px_outreq *o);

/* Returns 1 when a request header named |name| is never forwarded: Host
 * (replaced), Authorization, X-Amz-Date, X-Amz-Security-Token, Expect, the
 * hop-by-hop headers (Connection, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade), Forwarded, X-Forwarded-*, X-Awsgate-*, and
 * HTTP/2 pseudo-headers; else 0. Headers that a Connection header names
 * are dropped too (px_resign()). */
int px_header_is_dropped(const char *name, size_t namelen);

/*
 * Builds and signs the outgoing request for |req| (as it came, |t| its
 * target, |sc| its scope) with the role's credentials: the request's
 * headers without those px_header_is_dropped() names and those its
 * Connection headers name, the user's X-Amz-Content-Sha256 replaced, Host
 * set to |t|->host, then SigV4 (sv4_sign()) in header mode, or for a
 * presigned request in query mode with the user's X-Amz-* parameters
 * replaced and the expiry capped by |p|->session_end and the credentials'
 * expiry. |t| and |req| must outlive |out|.
 *
 * This function returns 0 and fills |out| (free it with px_outreq_free())
 * if it succeeds, or PX_ERR_NOMEM, or PX_ERR_REFUSED with |why| set:
 * PX_R_REQUEST_MALFORMED (what the signer refused: bytes, sizes),
 * PX_R_SESSION_TOO_SHORT (no second of a presigned expiry is left),
 * PX_R_INTERNAL (the credentials or |p| are unusable).
 */
int px_resign(struct sv4_signer *signer, const struct sv4_request *req, const struct px_target *t,
              const struct px_scope *sc, const struct px_resign_params *p, struct px_outreq *out,
              struct px_refusal *why);

/* --- a user's own STS calls, and the action for the audit (userstsr.c) ------- */

#define PX_STS_MAX_FORM 65536  /* bytes of a form body or query px_sts_rewrite() reads or writes */
#define PX_STS_MAX_PARAMS 256  /* name=value pairs of one form */
#define PX_MAX_ACTION 128      /* bytes of an action name */

struct px_sts_user {
	const char *source_identity; /* what SourceIdentity must be (the user); NULL: neither set nor checked */
	int64_t session_left_s;      /* seconds left of the user's session (certificate) */
};

/* What px_sts_rewrite() did. */
struct px_sts_change {
	bool assume_role;            /* the form is an sts:AssumeRole call */
	bool rewritten;              /* |out| holds a new form to send (and to hash and sign) */
	uint32_t duration_seconds;   /* the DurationSeconds the call asks for now (0: STS's default, 3600) */
	bool duration_capped;        /* lowered (or added) to the session's time left */
	bool source_identity_added;
};

/*
 * A user's sts:AssumeRole through the gate, as a form body or a query
 * (|len| bytes of name=value pairs joined by '&', percent-encoded, '+' a
 * space): DurationSeconds is capped to the session's time left (with
 * fed_session_duration(), and added when STS's default of 3600 would
 * outlive the session); SourceIdentity is added when absent and must equal
 * |u|->source_identity when present. Any other action is left alone
 * (|chg|->assume_role false). When something changed, the whole form is
 * written to |out| (|outsize| bytes) in AWS's encoding (RFC 3986
 * unreserved bytes as they are, the rest %XX), the pairs in their order and
 * new ones at the end, its length to |*outlen|, and |chg|->rewritten is set;
 * the caller sends it with its new Content-Length (px_resign_params) and
 * its new hash. |out| and |*outlen| are untouched otherwise.
 *
 * This function returns 0 and fills |chg| if it succeeds, or one of the
 * following negative error codes: PX_ERR_TOO_LARGE (the form or the result
 * over PX_STS_MAX_FORM or |outsize|, or either over PX_STS_MAX_PARAMS pairs,
 * the ones the gate adds included),
 * PX_ERR_REFUSED with |why| set: PX_R_REQUEST_MALFORMED (a broken %-escape,
 * Action, DurationSeconds or SourceIdentity twice, DurationSeconds not a
 * number), PX_R_SOURCE_IDENTITY (it names someone else),
 * PX_R_SESSION_TOO_SHORT (under 900 s of the session left).
 */
int px_sts_rewrite(const char *form, size_t len, const struct px_sts_user *u, char *out, size_t outsize,
                   size_t *outlen, struct px_sts_change *chg, struct px_refusal *why);

/*
 * The action of |req| for the audit: the operation of X-Amz-Target (after
 * its last '.': "DynamoDB_20120810.GetItem" gives "GetItem"), else the
 * Action= of the query, else of the form body |form| (|formlen| bytes; NULL
 * when not read). Writes it (or "" when there is none) and a NUL to |action|.
 * This function returns 0 if it succeeds, or PX_ERR_RANGE when the action
 * is over PX_MAX_ACTION bytes or holds a byte outside [A-Za-z0-9_.:-] (the
 * audit then records none).
 */
int px_action_extract(const struct sv4_request *req, const char *form, size_t formlen,
                      char action[PX_MAX_ACTION + 1]);

/*
 * The S3 operation that REST request |req| names, for the audit: its method
 * applied to the service, a bucket or an object (from the path, or, when
 * |virtual_host| says the bucket is in the host name, the path is the key),
 * chosen by the query's sub-resource keys ("?uploads", "?tagging",
 * "?list-type") and x-amz-copy-source: "GetObject", "ListObjectsV2",
 * "UploadPartCopy", ... (proxy/s3action.c has the table; the names are
 * botocore's). Writes it, or "" for a request that names no operation in the
 * table, and a NUL to |action|.
 */
void px_s3_action(const struct sv4_request *req, bool virtual_host, char action[PX_MAX_ACTION + 1]);

/* --- re-signing an aws-chunked body as it passes (rechunk.c) ----------------- */

/* Receives the re-encoded body, in order; a non-zero return stops the
 * re-signer and is returned by px_rechunk_feed(). */
typedef int px_rechunk_out_fn(void *arg, const unsigned char *data, size_t len);

struct px_rechunk;

/*
 * A re-signer for a signed aws-chunked body (|kind| SV4_CHUNKED_SIGNED or
 * SV4_CHUNKED_SIGNED_TRAILER): each chunk of the user's body is decoded
 * (its signature, made with the local proxy's throw-away key, is not
 * checked), signed again in the chain seeded by px_resign()'s |out|->seed,
 * in the scope of |out|->date, |region| and |service| with |secret| (the
 * role's secret access key), and written to |fn| with its new chunk line;
 * the trailer, if any, likewise. Chunk sizes are kept, so the encoded
 * length (Content-Length) does not change. Memory: one chunk of at most
 * |max_chunk| bytes (0: SV4_DEFAULT_MAX_CHUNK) and the trailers.
 * This function returns 0 and the re-signer in |*out| if it succeeds, or
 * PX_ERR_NOMEM, or PX_ERR_RANGE (|kind| is not a signed kind).
 */
int px_rechunk_new(struct sv4_signer *signer, enum sv4_chunked_kind kind, size_t max_chunk, const char *secret,
                   const char *date, const char *region, const char *service, const char *seed,
                   px_rechunk_out_fn *fn, void *arg, struct px_rechunk **out);

/* Feeds |len| more bytes of the user's body. This function returns 0 if it
 * succeeds, or |fn|'s non-zero return, or PX_ERR_NOMEM, or PX_ERR_REFUSED
 * with |why| set: PX_R_REQUEST_MALFORMED (the body is not aws-chunked as
 * the format says; the message names the byte), PX_R_PAYLOAD_TOO_LARGE (a
 * chunk over |max_chunk|). After an error the re-signer refuses more. */
int px_rechunk_feed(struct px_rechunk *rc, const unsigned char *p, size_t len, struct px_refusal *why);

/* Ends the body: writes the decoded length to |*decoded|. Returns 0, or
 * PX_ERR_REFUSED (PX_R_REQUEST_MALFORMED: the body ended early). */
int px_rechunk_finish(struct px_rechunk *rc, uint64_t *decoded, struct px_refusal *why);

/* Frees |rc| (NULL is fine); the chain's key is wiped. */
void px_rechunk_del(struct px_rechunk *rc);

#endif
