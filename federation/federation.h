/* SPDX-License-Identifier: Apache-2.0 */
/* federation.h: AWS credentials, STS, the credential cache, console sign-in
 * and the partition/endpoint table.
 *
 * The module does no I/O of its own, reads no clock and logs nothing. The
 * caller gives it the outside world through two small interfaces:
 *
 *   struct fed_env        environment values, file contents, the time,
 *                         random numbers (plain synchronous calls);
 *   struct fed_transport  one per event loop: HTTP requests, timers,
 *                         posting work to that loop from another thread,
 *                         and running a credential_process command; all
 *                         asynchronous, completions on that loop.
 *
 * proxy/ implements the transport with the libcurl multi interface on a
 * libev loop (and a blocking libcurl one for the command-line tools); the
 * unit tests implement both with canned replies and a fake clock.
 *
 * Secrets (secret access keys, session tokens, web identity tokens, sign-in
 * tokens) are wiped with OPENSSL_cleanse when freed and never appear in a
 * message this module writes. Error codes are federation's range,
 * -300..-399. */
#ifndef AWSGATE_FEDERATION_H
#define AWSGATE_FEDERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- errors ------------------------------------------------------------- */

#define FED_ERR_NOMEM -301          /* out of memory */
#define FED_ERR_INVALID -302        /* an argument is malformed or out of range */
#define FED_ERR_TOO_LARGE -303      /* an input or a response is over its limit */
#define FED_ERR_TRANSPORT -304      /* could not connect, TLS failed, connection dropped */
#define FED_ERR_TIMEOUT -305        /* connect or total timeout */
#define FED_ERR_CANCELLED -306      /* the caller cancelled */
#define FED_ERR_PARSE -307          /* a response is not what the protocol says */
#define FED_ERR_DENIED -308         /* AWS said AccessDenied (final, not retried) */
#define FED_ERR_REJECTED -309       /* AWS said the request is invalid: ValidationError, ... (final) */
#define FED_ERR_THROTTLED -310      /* throttled, and the retries ran out */
#define FED_ERR_UNAVAILABLE -311    /* 5xx or transport failures, and the retries ran out */
#define FED_ERR_NO_CREDENTIALS -312 /* no source of base credentials found anything */
#define FED_ERR_CONFIG -313         /* a shared config/credentials file or a setting is wrong */
#define FED_ERR_SESSION_TOO_SHORT -314 /* under 900 s of the user's session left: log in again */
#define FED_ERR_EXPIRED -315        /* credentials are past their expiry */

/* Returns a short English description of |err|. */
const char *fed_strerror(int err);

/* --- credentials --------------------------------------------------------- */

/* One set of AWS credentials. All strings owned and NUL-terminated. */
struct fed_creds {
	char *access_key_id;
	char *secret_access_key; /* secret */
	char *session_token;     /* secret; NULL for long-term keys */
	int64_t expiration;      /* Unix seconds; 0: does not expire */
	bool long_term;          /* IAM user (or root) keys rather than STS temporaries:
	                          * decides whether the console SessionDuration may be set */
	char source[96];         /* where they came from, for logs and `aws whoami`:
	                          * "environment", "web-identity", "profile prod (shared credentials file)",
	                          * "credential_process (profile prod)", "ecs", "imds", "sts:AssumeRole" */
};

/* Wipes the secrets and frees what |c| owns; |c| is then empty. NULL is fine. */
void fed_creds_free(struct fed_creds *c);

/* Deep copy. This function returns 0 if it succeeds, or FED_ERR_NOMEM. */
int fed_creds_copy(struct fed_creds *dst, const struct fed_creds *src);

/* --- the outside world --------------------------------------------------- */

/* Synchronous services, safe to call from any thread. */
struct fed_env {
	void *arg;
	/* The value of environment variable |name|, or NULL. Borrowed: valid
	 * until the next call. */
	const char *(*getenv)(void *arg, const char *name);
	/* Reads the whole file at |path|, at most |max| bytes, into a malloc()ed
	 * |*data| (NUL-terminated, |*len| without the NUL). Returns 0, or
	 * FED_ERR_NO_CREDENTIALS when the file does not exist, FED_ERR_TOO_LARGE,
	 * FED_ERR_CONFIG when it cannot be read (permission, a directory). */
	int (*read_file)(void *arg, const char *path, size_t max, char **data, size_t *len);
	/* The wall clock, Unix milliseconds. */
	int64_t (*now_ms)(void *arg);
	/* 32 random bits (for retry jitter). */
	uint32_t (*random)(void *arg);
};

struct fed_header {
	const char *name;
	const char *value;
};

/* An HTTP request the module wants made. Borrowed by start(): the transport
 * copies what it needs before start() returns. */
struct fed_http_request {
	const char *method;
	const char *url; /* absolute: https://host[:port]/path[?query]; http:// only for IMDS and ECS */
	const struct fed_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
	uint32_t connect_timeout_ms;
	uint32_t timeout_ms;  /* total, from start to the last byte of the response */
	size_t max_response;  /* bytes of body; more: error FED_ERR_TOO_LARGE */
};

/* What came back. Borrowed: valid only during the callback. */
struct fed_http_response {
	int error;  /* 0, or FED_ERR_TRANSPORT, FED_ERR_TIMEOUT, FED_ERR_TOO_LARGE, FED_ERR_NOMEM */
	int status; /* HTTP status when error is 0 */
	const struct fed_header *headers;
	size_t nheaders;
	const char *body; /* NUL-terminated for convenience; body_len excludes the NUL */
	size_t body_len;
	const char *detail; /* when error is set: what failed, for messages ("TLS: certificate
	                     * verify failed"); NULL otherwise. Never holds a secret. */
};

typedef void fed_http_done_fn(void *arg, const struct fed_http_response *res);
typedef void fed_task_fn(void *arg);
/* |status| is the command's exit status (-1: killed or could not start);
 * |out| its standard output (borrowed during the call). */
typedef void fed_process_done_fn(void *arg, int status, const char *out, size_t len);

struct fed_call;  /* an HTTP request in flight, the transport's */
struct fed_timer; /* a pending timer, the transport's */

/*
 * The services of one event loop. Every completion callback runs on that
 * loop's thread, later: never from inside the call that started it. After
 * a cancel, the callback is not called.
 */
struct fed_transport {
	void *arg;
	/* Starts |req|; |done| is called exactly once. Returns 0 and the handle
	 * in |*call|, or a FED_ERR_* (then |done| is never called). */
	int (*http_start)(void *arg, const struct fed_http_request *req, fed_http_done_fn *done, void *done_arg,
	                  struct fed_call **call);
	void (*http_cancel)(void *arg, struct fed_call *call);
	/* Calls |fn|(|fn_arg|) after |delay_ms|. */
	int (*timer_start)(void *arg, uint32_t delay_ms, fed_task_fn *fn, void *fn_arg, struct fed_timer **timer);
	void (*timer_cancel)(void *arg, struct fed_timer *timer);
	/* Runs |fn|(|fn_arg|) on this transport's loop soon. The one function
	 * here that may be called from any thread; it cannot fail for want of
	 * anything but memory (FED_ERR_NOMEM). */
	int (*post)(void *arg, fed_task_fn *fn, void *fn_arg);
	/* Runs |command| with /bin/sh -c, without a terminal, and collects at
	 * most |max| bytes of its standard output (credential_process). May be
	 * NULL: the source is then reported as unavailable. */
	int (*process_start)(void *arg, const char *command, size_t max, uint32_t timeout_ms,
	                     fed_process_done_fn *done, void *done_arg);
};

/* --- partitions and endpoints (partition.c) --------------------------------
 *
 * One table drives everything partition-specific: DNS suffixes, region
 * patterns, the global region, the STS, console and sign-in hosts. Its facts
 * come from botocore's endpoints.json and AWS's public documentation; see
 * docs/FEDERATION.md. */

#define FED_MAX_HOST 253     /* bytes of a DNS name, without a trailing dot */
#define FED_MAX_LABEL 63     /* bytes of one DNS label */
#define FED_MAX_REGION 32    /* bytes of a region name */
#define FED_MAX_SERVICE 48   /* bytes of a service label */

struct fed_partition {
	const char *name;             /* "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b" */
	const char *dns_suffix;       /* "amazonaws.com" */
	const char *dualstack_suffix; /* "api.aws"; NULL: none */
	const char *const *region_prefixes; /* a region is <prefix>-<word>-<digits>; NULL-terminated */
	const char *global_region;    /* where global endpoints sign: "us-east-1" */
	const char *sts_global_host;  /* "sts.amazonaws.com"; NULL: the global region's regional host */
	const char *console_host;     /* "console.aws.amazon.com"; NULL: no console sign-in known */
	const char *signin_host;      /* "signin.aws.amazon.com"; NULL with console_host */
	const char *signin_regional_suffix; /* "signin.aws.amazon.com": <region>.<this>; NULL: none */
	const char *const *regions;   /* the regions botocore knows, NULL-terminated */
};

/* The table, in a fixed order, ending with a NULL name; the first is "aws". */
const struct fed_partition *fed_partitions(void);

/* The partition named |name|, or NULL. */
const struct fed_partition *fed_partition_by_name(const char *name);

/* The partition of |region|: a known region, else the one whose pattern it
 * matches, else "aws" for a well-formed unknown region (as botocore does).
 * This function returns 0 and sets |*p|, or FED_ERR_INVALID when |region| is
 * not [a-z0-9-], 1..FED_MAX_REGION bytes, starting and ending alphanumeric. */
int fed_partition_for_region(const char *region, const struct fed_partition **p);

/* Writes "sts.<region>.<suffix>" (or, for a NULL |region|, the partition's
 * global STS host) and a NUL to |dst| of |size| bytes.
 * This function returns 0 if it succeeds, or FED_ERR_INVALID (bad region),
 * FED_ERR_TOO_LARGE (|dst| too small). */
int fed_sts_host(const struct fed_partition *p, const char *region, char *dst, size_t size);

enum fed_host_kind {
	FED_HOST_NOT_AWS = 0,  /* under no AWS suffix */
	FED_HOST_SERVICE,      /* an AWS service endpoint: service (and region) known */
	FED_HOST_CUSTOMER,     /* under an AWS suffix but a customer's resource (refuse by default) */
	FED_HOST_UNRECOGNISED, /* under an AWS suffix, in no shape we know (refuse by default) */
};

struct fed_host_info {
	enum fed_host_kind kind;
	const struct fed_partition *partition; /* NULL for FED_HOST_NOT_AWS */
	char service[FED_MAX_SERVICE + 1];     /* "s3", "sts", "ec2", ...: the endpoint label without -fips */
	char region[FED_MAX_REGION + 1];       /* "" for a global endpoint */
	const char *customer;                  /* FED_HOST_CUSTOMER: static, what it is ("ec2-instance", ...) */
	bool fips;
	bool dualstack;
	bool s3_virtual_host;                  /* bucket or access point name in front of the S3 endpoint */
};

/* Classifies the DNS name |host| (|len| bytes; any case; no port, no
 * trailing dot): which partition, service and region it looks like, or
 * whether it belongs to a customer. Labels are matched whole
 * ("x.amazonaws.com.evil.com" and "evilamazonaws.com" are not AWS).
 * This function returns 0 and fills |out|, or FED_ERR_INVALID when |host|
 * is not a DNS name (empty or over-long labels or name, a trailing dot,
 * bytes outside [A-Za-z0-9-], a label starting or ending with '-', an IP
 * literal); then |out| is untouched. */
int fed_host_classify(const char *host, size_t len, struct fed_host_info *out);

/* Returns "not-aws", "service", "customer" or "unrecognised". */
const char *fed_host_kind_name(enum fed_host_kind k);

/* --- session names and durations (session.c) -------------------------- */

#define FED_SESSION_NAME_MIN 2   /* characters of a RoleSessionName, as STS requires */
#define FED_SESSION_NAME_MAX 64
#define FED_SESSION_HASH_HEX 8   /* hex digits of SHA-256(user) in the suffix */
#define FED_SESSION_MAX_USER 4096 /* bytes of a user name we accept */
#define FED_SESSION_DEFAULT_DURATION 3600 /* seconds, when nothing else is asked */
#define FED_SESSION_ROLE_DEFAULT_MAX 3600 /* a role's maximum when the caller does not know it (IAM's default) */
#define FED_SESSION_MAX_DURATION 43200    /* the most any role allows */
#define FED_SESSION_CHAINED_MAX 3600      /* role chaining: STS's cap when the base credentials are temporary */

/* The region that |profile| (NULL or "": "default") sets in an AWS config
 * file (~/.aws/config) of |len| bytes at |data|: key `region` of section
 * "[default]" (or "[profile default]" when that is all there is) or
 * "[profile NAME]". Writes it and a NUL to |dst| (|size| bytes), or just a
 * NUL when the profile or its region is absent. This function returns 0 if
 * it succeeds, or FED_ERR_CONFIG (the file does not parse; |why| says where
 * and what), FED_ERR_TOO_LARGE (the file, or the region for |dst|),
 * FED_ERR_INVALID (|size| 0, |profile| over 200 bytes), FED_ERR_NOMEM. */
int fed_config_region(const char *data, size_t len, const char *profile, char *dst, size_t size, char *why,
		      size_t whylen);

/* Writes the RoleSessionName for |user| and a NUL to |dst|: |user| with
 * every character outside [A-Za-z0-9_+=,.@-] replaced by '_' (one per
 * UTF-8 character), and, when anything was replaced, the name was shorter
 * than 2 or longer than 64 characters, '-' and the first 8 hex digits of
 * SHA-256(|user|) appended (the name cut to leave room), so CloudTrail
 * still tells users apart. This function returns 0 if it succeeds, or
 * FED_ERR_INVALID (|user| NULL, empty or over FED_SESSION_MAX_USER bytes). */
int fed_session_name(const char *user, char dst[FED_SESSION_NAME_MAX + 1]);

/* The DurationSeconds to ask for: the shortest of |requested| (0:
 * FED_SESSION_DEFAULT_DURATION), the user's session time left
 * |user_left_s|, the role's maximum |role_max| (0: FED_SESSION_ROLE_DEFAULT_MAX),
 * FED_SESSION_MAX_DURATION and, when |chained| (base credentials are
 * temporary), FED_SESSION_CHAINED_MAX. This function returns 0 and sets
 * |*out|, or FED_ERR_SESSION_TOO_SHORT when that is under
 * FED_STS_MIN_DURATION (the user must log in again). */
int fed_session_duration(uint32_t requested, int64_t user_left_s, uint32_t role_max, bool chained, uint32_t *out);

/* --- console sign-in (signin.c) -------------------------------------------
 *
 * getSigninToken on the partition's federation endpoint with the session
 * credentials, then a login URL for the browser. The sign-in token and the
 * login URL are secrets (anyone holding them gets the console for 15
 * minutes): wiped after the callback, never logged. */

#define FED_SIGNIN_MIN_DURATION 900    /* seconds of SessionDuration */
#define FED_SIGNIN_MAX_DURATION 43200
#define FED_SIGNIN_CHAINED_CAP 3600    /* the console session of role-chained credentials */
#define FED_SIGNIN_MAX_RESPONSE 16384  /* bytes of the getSigninToken answer */
#define FED_SIGNIN_MAX_TOKEN 8192      /* bytes of a SigninToken */
#define FED_SIGNIN_MAX_URL 32768       /* bytes of any URL built here */

struct fed_signin_params {
	const struct fed_partition *partition; /* NULL: the partition of |region|, else aws */
	const char *region;      /* deep-link region and regional sign-in; NULL: none */
	bool regional_signin;    /* https://<region>.signin.aws.amazon.com (needs |region|) */
	const char *issuer;      /* Issuer: where the console sends the user when the session ends; NULL: omitted */
	const char *destination; /* https URL on the partition's console; NULL: its home, with |region| if set */
	bool long_term_base;     /* the session credentials were made with long-term base credentials */
	uint32_t session_duration; /* SessionDuration 900..43200 (0: omitted); only with |long_term_base| */
	bool wrap_logout;        /* send the browser through the sign-out URL first */
	const char *endpoint_url; /* https://host[:port] to ask for the token instead (tests); NULL: the partition's */
	uint32_t connect_timeout_ms; /* 0: FED_STS_DEFAULT_CONNECT_MS */
	uint32_t timeout_ms;         /* 0: FED_STS_DEFAULT_TIMEOUT_MS */
};

struct fed_signin_result {
	const char *login_url;       /* secret; borrowed during the callback */
	uint32_t session_duration;   /* the SessionDuration sent; 0 when omitted */
	bool chaining_capped;        /* omitted because the credentials come from role chaining:
	                              * the console session ends after FED_SIGNIN_CHAINED_CAP */
};

/* |err| is 0 with |res|, or FED_ERR_DENIED (401/403), FED_ERR_REJECTED
 * (other 4xx: the credentials are bad or expired), FED_ERR_UNAVAILABLE
 * (5xx), FED_ERR_PARSE, FED_ERR_TRANSPORT, FED_ERR_TIMEOUT, FED_ERR_TOO_LARGE,
 * FED_ERR_NOMEM; |status| the HTTP status (0: none came). */
typedef void fed_signin_done_fn(void *arg, int err, const struct fed_signin_result *res, int status);

struct fed_signin_call;

/* Asks for a sign-in token with |session| (temporary credentials: a session
 * token is required) and builds the login URL. |done| runs once on |t|'s
 * loop, never from inside this call. This function returns 0 and the
 * handle in |*call| (may be NULL), or FED_ERR_INVALID, FED_ERR_NOMEM or the
 * transport's error (then |done| is not called). */
int fed_signin_start(struct fed_transport *t, const struct fed_signin_params *p, const struct fed_creds *session,
                     fed_signin_done_fn *done, void *arg, struct fed_signin_call **call);

/* Stops |call|; its callback will not run. */
void fed_signin_cancel(struct fed_signin_call *call);

/* The pieces, for callers and tests. Each writes a malloc()ed string to
 * |*url| and returns 0, or FED_ERR_INVALID, FED_ERR_NOMEM, FED_ERR_TOO_LARGE. */
int fed_signin_token_url(const struct fed_signin_params *p, const struct fed_creds *session, char **url);
int fed_signin_login_url(const struct fed_signin_params *p, const char *signin_token, char **url);

/* --- IAM policies for `awsgatectl aws iam-policy` (policy.c) ----------- */

struct fed_policy_params {
	const char *role_arn;       /* the target role: arn:<partition>:iam::<account>:role/<path><name> */
	const char *gate_principal; /* the gate's identity: an IAM role or user ARN, an assumed-role ARN
	                             * (its role is named, without path), or a 12-digit account */
	const char *external_id;    /* NULL: no sts:ExternalId condition */
	bool source_identity;       /* the gate sets SourceIdentity: allow sts:SetSourceIdentity */
	bool tag_session;           /* the gate passes session tags: allow sts:TagSession */
};

/* The trust policy the target role needs (for `aws iam create-role
 * --assume-role-policy-document` / `update-assume-role-policy`), pretty
 * JSON in a malloc()ed |*json|. This function returns 0, or
 * FED_ERR_INVALID (an ARN or the account is malformed), FED_ERR_NOMEM. */
int fed_policy_trust(const struct fed_policy_params *p, char **json);

/* The permission policy the gate's own identity needs (`aws iam
 * put-role-policy` / `put-user-policy`), likewise. */
int fed_policy_permissions(const struct fed_policy_params *p, char **json);

/* Which permission an AccessDenied from AssumeRole most likely lacks. */
#define FED_POLICY_GATE_ASSUME_ROLE 0x01   /* the gate's identity policy: sts:AssumeRole on the role */
#define FED_POLICY_TRUST_ASSUME_ROLE 0x02  /* the role's trust policy: the gate as principal of sts:AssumeRole */
#define FED_POLICY_EXTERNAL_ID 0x04        /* the trust policy's sts:ExternalId condition differs (or is absent) */
#define FED_POLICY_SET_SOURCE_IDENTITY 0x08 /* sts:SetSourceIdentity in the trust (and identity) policy */
#define FED_POLICY_TAG_SESSION 0x10        /* sts:TagSession in the trust (and identity) policy */

struct fed_policy_sent {
	bool external_id;
	bool source_identity;
	bool tags;
};

/* Reads STS's AccessDenied |message| ("User: ... is not authorized to
 * perform: sts:SetSourceIdentity on resource: ... because no
 * resource-based policy allows ...") with what the request |sent|, writes
 * an English explanation and what to run to |text| (of |size| bytes, cut
 * if needed) and returns the FED_POLICY_* bits that are likely missing
 * (0 when nothing can be told). */
unsigned fed_policy_explain_denied(const char *message, const struct fed_policy_sent *sent, char *text, size_t size);

/* --- STS (sts.c) ----------------------------------------------------------
 *
 * The Query API over HTTPS, signed with sigv4, XML answers read by a small
 * bounded extractor. One call = one action, retried inside the call on
 * throttling, 5xx and transport failures with jittered exponential backoff
 * (at most |max_attempts| tries in all), never on AccessDenied or
 * validation errors, which are final. */

enum fed_sts_action {
	FED_STS_ASSUME_ROLE,
	FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, /* unsigned: the token is the credential */
	FED_STS_GET_CALLER_IDENTITY,
	FED_STS_GET_FEDERATION_TOKEN,
};

struct fed_tag {
	const char *key;
	const char *value;
};

/* Borrowed by fed_sts_start(): copied before it returns. */
struct fed_sts_params {
	enum fed_sts_action action;
	const char *region;       /* signing region and regional endpoint; NULL: the partition's global one */
	const char *endpoint_url; /* NULL: https://sts.<region>.<partition suffix>; else this
	                           * (the caller resolves AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL) */
	const char *role_arn;            /* AssumeRole* */
	const char *role_session_name;   /* AssumeRole*: already reduced, see fed_session_name() */
	const char *external_id;         /* AssumeRole; NULL: none */
	const char *source_identity;     /* AssumeRole; NULL: none */
	uint32_t duration_seconds;       /* 0: leave to STS's default */
	const struct fed_tag *tags;      /* AssumeRole session tags */
	size_t ntags;
	const char *web_identity_token;  /* AssumeRoleWithWebIdentity (secret) */
	const char *federated_name;      /* GetFederationToken */
	const char *policy;              /* GetFederationToken / AssumeRole session policy JSON; NULL: none */
	uint32_t connect_timeout_ms;     /* 0: 3000 */
	uint32_t timeout_ms;             /* per attempt; 0: 10000 */
	uint32_t max_attempts;           /* 0: 3 */
};

/* The answer; borrowed by the callback: copy what you keep. */
struct fed_sts_result {
	struct fed_creds creds;       /* AssumeRole*, GetFederationToken (long_term false) */
	const char *assumed_role_arn; /* AssumeRole*: AssumedRoleUser.Arn */
	const char *assumed_role_id;
	const char *federated_user_arn; /* GetFederationToken */
	const char *account;          /* GetCallerIdentity */
	const char *arn;
	const char *user_id;
	const char *source_identity;  /* as STS echoed it; NULL if none */
	const char *request_id;
};

/* AWS's error, when there was one. */
struct fed_sts_error {
	int status;          /* HTTP status; 0: none came */
	char code[64];       /* "AccessDenied", "ValidationError", "Throttling", ... */
	char message[512];
	char request_id[64];
	uint32_t attempts;   /* how many tries were made */
};

/* |err| is 0 with |res| set, or a FED_ERR_* with |e| saying what AWS said. */
typedef void fed_sts_done_fn(void *arg, int err, const struct fed_sts_result *res, const struct fed_sts_error *e);

/* Limits and retry timing of STS calls (documented in docs/FEDERATION.md). */
#define FED_STS_MAX_REQUEST_BODY 65536  /* bytes of the form we send (a web identity token is up to 20000) */
#define FED_STS_MAX_RESPONSE 65536      /* bytes of an answer we accept */
#define FED_STS_MAX_TAGS 50             /* session tags, as STS allows */
#define FED_STS_MAX_ATTEMPTS 10         /* max_attempts is capped here */
#define FED_STS_DEFAULT_ATTEMPTS 3
#define FED_STS_DEFAULT_CONNECT_MS 3000
#define FED_STS_DEFAULT_TIMEOUT_MS 10000
#define FED_STS_RETRY_BASE_MS 100       /* first backoff after a 5xx or transport failure */
#define FED_STS_THROTTLE_BASE_MS 500    /* first backoff after throttling */
#define FED_STS_RETRY_CAP_MS 5000       /* no backoff is longer; each is uniform in [d/2, d] */
#define FED_STS_MIN_DURATION 900        /* seconds: STS's minimum DurationSeconds */
#define FED_STS_MAX_DURATION 129600     /* seconds: GetFederationToken's maximum (36 h) */

/* Where fed_sts_start() sends |p| and how it signs: the URL, the Host
 * header and the signing region, written to |url| and |host| (of |urlsize|
 * and |hostsize| bytes) and |region| (FED_MAX_REGION + 1 bytes). For the
 * callers' logs and `awsgatectl aws whoami`. This function returns 0, or
 * FED_ERR_INVALID (bad region or endpoint_url), FED_ERR_TOO_LARGE. */
int fed_sts_endpoint(const struct fed_sts_params *p, char *url, size_t urlsize, char *host, size_t hostsize,
                     char *region);

/* The action's name as the Query API spells it ("AssumeRole", ...). */
const char *fed_sts_action_name(enum fed_sts_action a);

/* The STS endpoint URL the environment of |env| names: AWS_ENDPOINT_URL_STS,
 * else AWS_ENDPOINT_URL (an empty value counts as unset), or NULL. Borrowed
 * from |env|: valid until its next call. */
const char *fed_env_sts_endpoint(const struct fed_env *env);

struct fed_sts_call;

/* Starts |p| on |t|, signed with |creds| (borrowed; may be NULL for
 * AssumeRoleWithWebIdentity). |done| runs once on |t|'s loop, never from
 * inside this call. This function returns 0 and the handle in |*call| (may
 * be NULL if unwanted), or FED_ERR_INVALID or FED_ERR_NOMEM (then |done|
 * is not called). Call it on |t|'s loop thread (it starts timers there);
 * from another thread, post() a task that calls it. The handle is valid
 * until |done| returns. */
int fed_sts_start(struct fed_transport *t, const struct fed_env *env, const struct fed_sts_params *p,
                  const struct fed_creds *creds, fed_sts_done_fn *done, void *arg, struct fed_sts_call **call);

/* Stops |call| (on |t|'s loop thread); its callback will not run. From
 * inside its own callback it does nothing. */
void fed_sts_cancel(struct fed_sts_call *call);

/* --- shared credentials: snapshots and waits (flight.c) --------------------
 *
 * The base chain and the cache hand out credentials as refcounted
 * immutable snapshots rather than copies: a hit costs a reference count
 * increment under a short lock, and the pipeline can sign any number of
 * requests with one snapshot from any thread. The last fed_snap_unref()
 * wipes the secrets. */

struct fed_snap;

/* The credentials in |s|: immutable, valid while the caller holds its reference. */
const struct fed_creds *fed_snap_creds(const struct fed_snap *s);
/* +1 reference; returns |s|. */
struct fed_snap *fed_snap_ref(struct fed_snap *s);
/* -1 reference; the last one wipes and frees. NULL is fine. Any thread. */
void fed_snap_unref(struct fed_snap *s);

/* Returned by the asynchronous getters when the answer will come through
 * the callback. */
#define FED_PENDING 1

/* The answer of an asynchronous getter: |err| is 0 with |creds| (+1
 * reference, the callee's to unref), or a FED_ERR_* with |creds| NULL and
 * |why| saying what happened (AWS's code and message when AWS answered; for
 * the base chain, |why->message| explains which source failed and how). */
typedef void fed_creds_done_fn(void *arg, int err, struct fed_snap *creds, const struct fed_sts_error *why);

/* One caller waiting for an asynchronous getter. */
struct fed_wait;

/* Stops waiting: |w|'s callback will not run. Only from the loop of the
 * transport |w| was made on, and only before its callback ran. The call it
 * waited for goes on for the other waiters and its result is still cached. */
void fed_wait_cancel(struct fed_wait *w);

/* --- base credentials: the gate's own (base.c) -----------------------------
 *
 * The sources, in the AWS SDKs' (botocore's) order, and what each needs:
 *
 *   1. environment    AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *                     [+ AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION]
 *   2. profile role   the profile (AWS_PROFILE, else "default") has role_arn, with
 *                     source_profile, credential_source or web_identity_token_file
 *   3. web identity   AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]
 *   4. profile keys   aws_access_key_id/aws_secret_access_key in the shared
 *                     credentials file, then credential_process, then keys in the config file
 *   5. container      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI
 *                     [+ AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)]
 *   6. imds           EC2 instance metadata, IMDSv2 only, unless AWS_EC2_METADATA_DISABLED=true
 *
 * The first source whose settings are present is used, and its failure is
 * final (a broken profile does not fall through to IMDS). A profile named
 * in fed_base_options (unlike AWS_PROFILE) skips 1, as botocore's
 * --profile does. docs/CREDENTIALS.md has every variable and limit. */

enum fed_base_source {
	FED_BASE_DEFAULT,     /* the chain above */
	FED_BASE_ENVIRONMENT, /* only 1 */
	FED_BASE_PROFILE,     /* only 2 and 4 */
	FED_BASE_WEB_IDENTITY,/* only 3 */
	FED_BASE_CONTAINER,   /* only 5 */
	FED_BASE_IMDS,        /* only 6 */
};

/* Parses the daemon's aws.credential_source value ("default", "environment",
 * "profile", "web_identity", "container", "imds"). This function returns 0
 * if it succeeds, or FED_ERR_INVALID. */
int fed_base_source_parse(const char *s, enum fed_base_source *out);

/* Credentials are refreshed when less than this is left of them... */
#define FED_BASE_REFRESH_AHEAD_S 300
/* ...and not handed out with less than this left. */
#define FED_BASE_MIN_VALID_S 60
/* A failure to get base credentials is remembered this long (so a broken
 * source is not asked again by every request). */
#define FED_BASE_RETRY_MS 5000
/* Longest chain of role_arn/source_profile hops. */
#define FED_BASE_MAX_CHAIN 8
/* Timeouts: IMDS and ECS are local, a credential_process may prompt a
 * helper that talks to an IdP. */
#define FED_IMDS_TIMEOUT_MS 1000
#define FED_ECS_TIMEOUT_MS 2000
#define FED_PROCESS_TIMEOUT_MS 60000
#define FED_PROCESS_MAX_OUTPUT 65536
#define FED_TOKEN_FILE_MAX 16384 /* web identity and container authorization token files */
#define FED_IMDS_TOKEN_TTL_S 21600

struct fed_base_options {
	enum fed_base_source source;
	const char *profile; /* aws.profile; NULL: AWS_PROFILE, else "default" */
};

struct fed_base;

/*
 * Makes a base chain reading the world through |env| (borrowed; must
 * outlive the chain). Nothing is read until the first get. This function
 * returns 0 and the chain in |*out| if it succeeds, or FED_ERR_NOMEM.
 */
int fed_base_new(const struct fed_env *env, const struct fed_base_options *opt, struct fed_base **out);

/* Frees |b| (NULL is fine). Only when no get is in flight: after the loops
 * that used it have stopped. */
void fed_base_del(struct fed_base *b);

/*
 * Gets the base credentials through transport |t|, called on |t|'s loop
 * thread (any worker, each with its own transport; |t| may be NULL for a
 * synchronous peek). Single flight: one resolution runs at a time, whoever
 * asks; it runs on the transport of the get that started it.
 *
 * This function returns 0 with |*creds| (+1 reference) when credentials with
 * more than FED_BASE_MIN_VALID_S left are held (when under
 * FED_BASE_REFRESH_AHEAD_S are left, a refresh is started on |t| in the
 * background); FED_PENDING with |*wait| when |done| will be called on |t|'s
 * loop; or one of the following negative error codes, at once:
 *
 * FED_ERR_* of a failure remembered for FED_BASE_RETRY_MS, with |why| when
 *     not NULL filled in;
 * FED_ERR_EXPIRED
 *     |done| is NULL (a peek) and nothing usable is held; a fetch was
 *     started on |t|.
 * FED_ERR_NOMEM
 *     Out of memory.
 */
int fed_base_get(struct fed_base *b, struct fed_transport *t, fed_creds_done_fn *done, void *arg,
                 struct fed_snap **creds, struct fed_wait **wait, struct fed_sts_error *why);

/* Forgets the held credentials and any remembered failure, so the next get
 * resolves the chain again (after the files changed, on SIGHUP). */
void fed_base_reset(struct fed_base *b);

/* What the chain last found, for `aws whoami` and the logs; thread-safe
 * copies into |region| (the region setting, "" if none; |rsize| bytes) and
 * |source| (|ssize| bytes). Either may be NULL. */
void fed_base_describe(struct fed_base *b, char *region, size_t rsize, char *source, size_t ssize);

/* --- the credential cache (cache.c) ---------------------------------------
 *
 * One per process, shared by every worker thread: the role credentials that
 * STS AssumeRole gave, keyed by the base identity (access key id), role
 * ARN, external ID, session name, source identity, duration class, session
 * tags and partition (and the STS region and endpoint). Single flight across
 * threads; failures cached briefly; bounded, least recently used evicted;
 * secrets wiped on eviction and on free. */

#define FED_CACHE_REFRESH_AHEAD_S 300 /* default refresh window */
#define FED_CACHE_MIN_VALID_S 60      /* credentials with less left are not handed out */
#define FED_CACHE_MAX_ENTRIES 10000   /* default bound */
#define FED_CACHE_NEG_FINAL_MS 30000  /* AccessDenied, validation errors */
#define FED_CACHE_NEG_TRANSIENT_MS 5000 /* throttling, 5xx, timeouts, transport */
#define FED_CACHE_DURATION_CLASS_S 900 /* durations are rounded down to a multiple of this */
#define FED_CACHE_MAX_KEY 8192         /* bytes of a key's fields together */

/* The end of one AssumeRole call of the cache, for the audit. Every
 * pointer is valid during the callback only; no secret is in it. */
struct fed_cache_sts_event {
	const char *role_arn;
	const char *session_name;
	const char *source_identity; /* as asked; NULL: none */
	bool external_id;            /* whether one was sent (its value is not given) */
	uint32_t duration_seconds;   /* as asked (rounded down to the duration class) */
	bool refresh;                /* started ahead of expiry, not by a waiting request */
	int err;                     /* 0, or the FED_ERR_* the waiters got */
	int64_t expiration;          /* Unix seconds, when |err| is 0 */
	const char *assumed_role_arn; /* STS's AssumedRoleUser.Arn, when |err| is 0 */
	const char *code;            /* AWS's error code, "" when none */
	const char *message;         /* AWS's or the transport's message, "" when none */
	const char *request_id;      /* "" when none */
	uint32_t attempts;
	int64_t ms;                  /* from start to answer, retries included */
};

typedef void fed_cache_sts_fn(void *arg, const struct fed_cache_sts_event *ev);

struct fed_cache_options {
	uint32_t max_entries;      /* 0: FED_CACHE_MAX_ENTRIES */
	uint32_t refresh_ahead_s;  /* 0: FED_CACHE_REFRESH_AHEAD_S */
	uint32_t sts_max_attempts; /* 0: fed_sts_start()'s default */
	uint32_t sts_timeout_ms;   /* 0: fed_sts_start()'s default */
	/* Called at the end of every AssumeRole call (success or failure), on
	 * the thread of the transport that made it, outside the cache's lock,
	 * before the waiters are told; NULL: nobody. Calls that could not
	 * start are not reported (no request reached STS). */
	fed_cache_sts_fn *on_sts;
	void *on_sts_arg;
};

/* What credentials are asked for. Borrowed by fed_cache_get(). */
struct fed_cache_key {
	const char *role_arn;
	const char *external_id;      /* NULL: none */
	const char *session_name;     /* already reduced (fed_session_name()) */
	const char *source_identity;  /* NULL: none */
	uint32_t duration_seconds;    /* at least 900; the call asks for it rounded down to
	                               * a multiple of FED_CACHE_DURATION_CLASS_S */
	const struct fed_tag *tags;
	size_t ntags;
	const char *partition;        /* "aws", "aws-cn", ... */
	const char *region;           /* STS region; NULL: the global endpoint */
	const char *endpoint_url;     /* NULL: the partition's */
};

#define FED_CACHE_STS_BUCKETS 10
/* Upper bounds (milliseconds) of the first FED_CACHE_STS_BUCKETS - 1 buckets
 * of fed_cache_stats.sts_ms_buckets: 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000. */
extern const uint32_t fed_cache_sts_bucket_ms[FED_CACHE_STS_BUCKETS - 1];

struct fed_cache_stats {
	uint64_t hits;          /* fresh credentials handed out at once */
	uint64_t misses;        /* a request that had to wait (started or joined a call) */
	uint64_t joins;         /* of the misses, those that joined a call in flight */
	uint64_t refreshes;     /* background refreshes started ahead of expiry */
	uint64_t negative_hits; /* a cached failure answered */
	uint64_t evictions;     /* entries dropped for the size bound */
	uint64_t sts_calls;     /* AssumeRole calls started */
	uint64_t sts_failures;
	uint64_t post_failures; /* deliveries lost because a transport's post failed */
	uint64_t entries;       /* now */
	/* How long AssumeRole calls took, retries included: counts per bucket
	 * (upper bounds fed_cache_sts_bucket_ms[], the last unbounded) and the sum. */
	uint64_t sts_ms_buckets[FED_CACHE_STS_BUCKETS];
	uint64_t sts_ms_sum;
};

struct fed_cache;

/* This function returns 0 and the cache in |*out| if it succeeds, or
 * FED_ERR_NOMEM or FED_ERR_INVALID. |env| is borrowed for the cache's life. */
int fed_cache_new(const struct fed_env *env, const struct fed_cache_options *opt, struct fed_cache **out);

/* Frees |c| (NULL is fine), wiping every secret. Only after the loops that
 * used it stopped: calls in flight are cancelled, their waiters dropped. */
void fed_cache_del(struct fed_cache *c);

/*
 * Gets role credentials for |key|, signing the AssumeRole with |base|
 * (borrowed; its access key id is part of the key, so get it from
 * fed_base_get() first), through transport |t|, called on |t|'s loop thread
 * (any worker, each with its own transport).
 *
 * This function returns 0 with |*creds| (+1 reference) on a hit (inside the
 * refresh window a refresh is started on |t|); FED_PENDING with |*wait| when
 * |done| will be called on |t|'s loop (a miss: this request started the
 * AssumeRole or joined the one in flight); or one of the following negative
 * error codes, at once:
 *
 * FED_ERR_DENIED, FED_ERR_REJECTED, FED_ERR_THROTTLED, FED_ERR_UNAVAILABLE,
 * FED_ERR_TIMEOUT, FED_ERR_TRANSPORT, FED_ERR_PARSE
 *     A failure of this key cached for FED_CACHE_NEG_FINAL_MS (the first
 *     two) or FED_CACHE_NEG_TRANSIENT_MS; |why| (may be NULL) gets AWS's code
 *     and message.
 * FED_ERR_SESSION_TOO_SHORT
 *     |key|'s duration is under 900 seconds (STS's least): the user must log in again.
 * FED_ERR_INVALID
 *     |t|, |done|, |base| or the key's role ARN, session name or partition is missing.
 * FED_ERR_TOO_LARGE
 *     The key's fields are over FED_CACHE_MAX_KEY bytes together.
 * FED_ERR_NOMEM
 *     Out of memory.
 */
int fed_cache_get(struct fed_cache *c, struct fed_transport *t, const struct fed_cache_key *key,
                  const struct fed_creds *base, fed_creds_done_fn *done, void *arg, struct fed_snap **creds,
                  struct fed_wait **wait, struct fed_sts_error *why);

/* A copy of the counters, taken under the lock. */
void fed_cache_stats(struct fed_cache *c, struct fed_cache_stats *out);

/* Drops every entry not in flight (after a configuration reload). */
void fed_cache_clear(struct fed_cache *c);

#endif
