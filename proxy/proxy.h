/* SPDX-License-Identifier: Apache-2.0 */
/* proxy.h: the proxy module's shared pieces: errors, durations, files, and the commands of the programs. */
#ifndef AWSGATE_PROXY_H
#define AWSGATE_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rbac/rbac.h"

/* Error codes (proxy's range is -400..-499). */
#define PX_ERR_NOMEM -401
#define PX_ERR_DURATION -402 /* not a duration: see px_duration_parse() */
#define PX_ERR_RANGE -403    /* a number out of range */
#define PX_ERR_IO -404       /* reading a file failed; errno-derived text in the message */
#define PX_ERR_TOO_LARGE -405
#define PX_ERR_EXISTS -406 /* a file that is not to be replaced exists */
#define PX_ERR_CONFIG -407 /* the configuration has errors: see the struct px_diags */

/* The struct that embeds |ptr| as |member| (libev watchers and list links
 * are embedded in their owner). */
#define PX_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Writes |v| in decimal and a NUL to |buf| (PX_DEC_MAX bytes); returns its
 * length. snprintf() costs hundreds of instructions per number, and the
 * request path formats a few per request. */
#define PX_DEC_MAX 21
static inline size_t px_dec(char buf[PX_DEC_MAX], uint64_t v)
{
	char tmp[PX_DEC_MAX];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

/* One '&'-separated piece of a query string or form body, not decoded:
 * |name| up to the piece's first '=', |value| after it. */
struct px_qpair {
	const char *name, *value;
	size_t namelen, valuelen;
	bool eq; /* the piece has an '=' ("a" and "a=" differ) */
};

/* The piece of |q| (|n| bytes) that starts at |*at|, which moves past it:
 * 1, or 0 at the end. An empty piece ("a&&b", a leading '&') comes out
 * with namelen 0 and no '='; a trailing '&' ends the query. */
static inline int px_qpair_next(const char *q, size_t n, size_t *at, struct px_qpair *p)
{
	size_t i = *at;
	if (i >= n)
		return 0;
	size_t e = i, eq;
	while (e < n && q[e] != '&')
		e++;
	for (eq = i; eq < e && q[eq] != '='; eq++)
		;
	p->name = q + i;
	p->namelen = eq - i;
	p->eq = eq < e;
	p->value = p->eq ? q + eq + 1 : q + e;
	p->valuelen = p->eq ? e - eq - 1 : 0;
	*at = e + 1;
	return 1;
}

/* Whether |p|'s name is |lit| (|len| bytes), compared byte for byte. */
static inline bool px_qpair_is(const struct px_qpair *p, const char *lit, size_t len)
{
	return p->namelen == len && memcmp(p->name, lit, len) == 0;
}

/* Whether |q| has a piece named |lit| with an '=' (e.g. Action=...). */
static inline bool px_query_has_param(const char *q, size_t n, const char *lit, size_t len)
{
	struct px_qpair p;
	for (size_t at = 0; px_qpair_next(q, n, &at, &p);)
		if (p.eq && px_qpair_is(&p, lit, len))
			return true;
	return false;
}

/* Exit statuses, INTERFACES.md: 0 success, 1 a negative answer, 2 usage
 * errors and failures to run. */
#define PX_EXIT_OK 0
#define PX_EXIT_NO 1
#define PX_EXIT_USAGE 2

/* Parses a duration: "90s", "15m", "8h", "1h30m", "720h", or a bare integer
 * of seconds. Units appear at most once each and in the order h, m, s.
 * Writes seconds to |*secs| on success.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_DURATION, PX_ERR_RANGE (more than UINT32_MAX seconds). */
int px_duration_parse(const char *s, uint32_t *secs);

/* Reads all of |path| ("-" is standard input) into a new buffer of at most
 * |max| bytes, NUL-terminated, into |*data| and |*len|; free() it.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_IO (|errbuf| says why), PX_ERR_TOO_LARGE, PX_ERR_NOMEM. */
int px_file_read(const char *path, size_t max, char **data, size_t *len, char *errbuf, size_t errlen);

/* Flags of px_file_write(). */
#define PX_FILE_REPLACE 1u /* replace |path| if it exists (atomically) */

/* Writes |len| bytes of |data| to |path| so that no reader ever sees a part
 * of it: into a new temporary file beside |path| (same directory, created
 * O_CREAT|O_EXCL with mode 0600 and then given |mode|, so that a key is
 * never readable by others, not even for an instant), synced, then put in
 * place with link(), which fails when |path| exists (no check-then-write
 * race), or with PX_FILE_REPLACE by rename() over it; then the directory
 * is synced. The temporary file never outlives the call.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_EXISTS (|path| exists and PX_FILE_REPLACE is not set),
 * PX_ERR_IO (|errbuf| says why), PX_ERR_NOMEM. */
int px_file_write(const char *path, const void *data, size_t len, unsigned mode, unsigned flags, char *errbuf,
                  size_t errlen);

/* Reads a secret file (a private key) as px_file_read() does, but with
 * read(2) into one buffer of |max| + 1 bytes, so that no copy of it stays
 * behind in stdio's buffers or in memory freed by realloc(). The caller
 * wipes |*data| with OPENSSL_cleanse() before free(). "-" is not accepted.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_IO (|errbuf| says why), PX_ERR_TOO_LARGE, PX_ERR_NOMEM. */
int px_file_read_secret(const char *path, size_t max, char **data, size_t *len, char *errbuf, size_t errlen);

/* Parses a signing time given on a command line: "20150830T123600Z",
 * "2015-08-30T12:36:00Z" or an integer of seconds since the epoch.
 * This function returns 0 if it succeeds, or PX_ERR_RANGE. */
int px_time_parse(const char *s, int64_t *t);

/* Loads every "*.json" file of the resources directory |dir|, in name
 * order, into |pol| (not frozen), reporting through |fn|; counts the files
 * read in |*nfiles|. Hidden files are skipped: writers create ".NAME.tmp"
 * and rename it into place.
 * This function returns 0 if every file loaded, else the first error
 * (PX_ERR_IO, PX_ERR_TOO_LARGE, or an RBAC_ERR_*). */
int px_resources_load(struct rbac_policy *pol, const char *dir, rbac_diag_fn *fn, void *arg, size_t *nfiles);

struct px_config;

/* Builds the frozen policy of the daemon file |cfg| (loaded from |file|,
 * whose bytes are |text|/|len|, for the inline apps' positions): every
 * resource file of resources_dir, then the inline apps. With |need_dir| 0 a
 * missing resources directory is skipped. Writes the policy to |*out|
 * (+1 reference) even when there were errors, for `config check`.
 * This function returns 0 if everything loaded, else the first error
 * (PX_ERR_NOMEM, PX_ERR_IO, PX_ERR_TOO_LARGE, or an RBAC_ERR_*). */
int px_policy_load(const struct px_config *cfg, const char *file, const char *text, size_t len, int need_dir,
		   rbac_diag_fn *fn, void *arg, struct rbac_policy **out);

/* Prints |d| as FILE:LINE:COLUMN: error|warning: PATH: message. */
void px_diag_print(FILE *f, const struct rbac_diag *d);

/* --- diagnostics ---------------------------------------------------------- */

/*
 * Errors and warnings about a file, gathered rather than stopping at the
 * first: each names a JSON path ("limits.max_headers", "listen[1]",
 * "aws.connect_to[0].address"; "" for the whole file or unknown) and, when
 * known, a line and column (1-based, the column in bytes; 0 when unknown).
 * A message says what is wrong and what to do.
 */
enum px_diag_level {
	PX_DIAG_ERROR,
	PX_DIAG_WARNING,
};

struct px_diag {
	char file[256]; /* "": the file of the struct px_diags */
	enum px_diag_level level;
	int line;
	int column;
	char path[256];
	char msg[512];
};

/* At most this many diagnostics are kept; the rest are only counted. */
#define PX_MAX_DIAGS 200

struct px_diags {
	const char *file;    /* borrowed: the name the diagnostics are about */
	struct px_diag *v;   /* owned; n of them */
	size_t n;
	size_t cap;
	size_t nerrors;      /* counted even past PX_MAX_DIAGS */
	size_t nwarnings;
	size_t dropped;      /* not kept, past PX_MAX_DIAGS */
	bool nomem;          /* one was lost for want of memory */
};

/* Starts |d| empty, about the file named |file| (borrowed). */
void px_diags_init(struct px_diags *d, const char *file);

/* Frees what |d| owns and empties it; the file name stays. */
void px_diags_free(struct px_diags *d);

/* Adds one diagnostic at |path| (may be NULL) and |line|:|column| (0: unknown). */
void px_diags_add(struct px_diags *d, enum px_diag_level level, const char *path, int line, int column,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* An rbac_diag_fn that adds |d| (rbac's loaders' errors and warnings,
 * d->code < 0 or 0) to the struct px_diags |arg|, with a copy of d->file. */
void px_diags_rbac_fn(void *arg, const struct rbac_diag *d);

/* Writes each diagnostic to |f| as "FILE:LINE:COLUMN: error: PATH: message"
 * ("FILE: error: PATH: message" when the position is unknown, "PATH: " left
 * out when there is no path), then a line about any that were dropped. */
void px_diags_print(const struct px_diags *d, FILE *f);

/* --- the daemon configuration (config.c, docs/CONFIG.md) ------------------ */

struct json_t; /* jansson's */

/* A listen or connect-to address: "host:port" or "[v6]:port". */
struct px_hostport {
	char *host; /* owned; without the brackets of an IPv6 literal */
	uint16_t port;
};

/* One aws.connect_to entry: connect to |address| for AWS hosts matching |host|. */
struct px_connect_to {
	char *host; /* owned; a lower-case host name or glob ("*.s3.amazonaws.com") */
	struct px_hostport address;
};

enum px_tls_version {
	PX_TLS_1_2,
	PX_TLS_1_3,
};

enum px_credential_source {
	PX_CREDS_DEFAULT, /* the SDK chain: environment, profile, web identity, container, IMDS */
	PX_CREDS_ENVIRONMENT,
	PX_CREDS_PROFILE,
	PX_CREDS_WEB_IDENTITY,
	PX_CREDS_CONTAINER,
	PX_CREDS_IMDS,
};

/* Bits of aws.partitions. */
#define PX_PARTITION_AWS 0x01u
#define PX_PARTITION_AWS_CN 0x02u
#define PX_PARTITION_AWS_US_GOV 0x04u
#define PX_PARTITION_AWS_ISO 0x08u
#define PX_PARTITION_AWS_ISO_B 0x10u

/* The aws.partitions bit of partition |name| ("aws", "aws-cn", ...), 0 for another name. */
unsigned px_partition_bit(const char *name);

enum px_log_level {
	PX_LOG_ERR,
	PX_LOG_WARN,
	PX_LOG_NOTICE,
	PX_LOG_INFO,
	PX_LOG_DEBUG,
};

/*
 * The daemon file, awsgated.json, loaded: every option has its value or
 * its default. Immutable once loaded and shared by reference (a reload
 * makes a new one; requests keep the one they started with). Strings and
 * arrays are owned by the config; an unset optional string is NULL.
 * Durations are in seconds, sizes in bytes. docs/CONFIG.md describes each.
 */
struct px_config {
	struct px_hostport *listen; /* nlisten >= 1 */
	size_t nlisten;
	uint32_t workers; /* 0: one per core */
	char *public_addr; /* "host[:port]" users reach the gate at; NULL: the first listen address */
	struct {
		char *cert_file;
		char *key_file;
		char **client_ca_files;
		size_t nclient_ca_files;
		char *identity_ca_file; /* NULL: no certificate's identity extension is trusted */
		char *crl_file;
		enum px_tls_version min_version;
		bool session_tickets;
	} tls;
	char *resources_dir; /* NULL: no resource files (apps may still be inline) */
	char *data_dir;
	struct {
		char *region;
		unsigned partitions; /* PX_PARTITION_* bits */
		enum px_credential_source credential_source;
		char *profile;   /* NULL: AWS_PROFILE, then "default" */
		char *ca_file;   /* NULL: the system trust store */
		char *hosts_file; /* NULL: none; a hosts(5) file the resolver consults before DNS */
		struct px_connect_to *connect_to;
		size_t nconnect_to;
		bool allow_customer_endpoints;
		bool allow_private_addresses;
		uint32_t session_duration; /* seconds of the credentials AssumeRole asks for */
	} aws;
	struct json_t *apps; /* +1 reference owned by the config: a JSON array of objects, not parsed here */
	struct {
		char *file; /* "-": standard output */
		bool fail_closed;
	} audit;
	struct {
		char *file; /* "-": standard error */
		enum px_log_level level;
	} log;
	struct {
		struct px_hostport listen; /* host NULL: metrics are off */
		char *path;
	} metrics;
	struct {
		uint32_t max_connections;
		uint64_t max_header_bytes;
		uint32_t max_headers;
		uint64_t max_request_line;
		uint64_t max_body_buffer;
		uint32_t h2_max_concurrent_streams;
		uint64_t h2_max_header_list_size;
		uint64_t h2_initial_window_size;
	} limits;
	struct {
		uint32_t header_read;
		uint32_t idle;
		uint32_t upstream_connect;
		uint32_t upstream_first_byte;
		uint32_t upstream_idle;
		uint32_t sts;
		uint32_t shutdown_grace;
	} timeouts;
	struct {
		uint32_t link_ttl; /* seconds a one-time web sign-in link works */
	} web;
	/* private */
	int refs;
};

/* The largest daemon file px_config_load() reads (inline apps included). */
#define PX_CONFIG_MAX_BYTES (4u * 1024 * 1024)

/* Flags of px_config_load(). */
#define PX_CONFIG_CHECK_FILES 0x01u /* check that named files and directories exist and can be read */

/*
 * Loads the daemon file named |path| (used in diagnostics only) from the
 * |len| bytes at |text| (the file's contents; NUL not needed). Every
 * problem is added to |diags|: all errors, not only the first, and
 * warnings. With PX_CONFIG_CHECK_FILES in |flags| the files and directories
 * the options name are checked too; without it, nothing outside |text| is
 * read (tests, fuzzing, and `config check --no-files`).
 * On success writes a new config (+1 reference) to |*out|; there may be
 * warnings in |diags|.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_CONFIG (errors are in |diags|), PX_ERR_NOMEM.
 */
int px_config_load(const char *path, const char *text, size_t len, unsigned flags, struct px_config **out,
                   struct px_diags *diags);

/* +1 reference to |cfg|; returns |cfg|. */
struct px_config *px_config_ref(struct px_config *cfg);

/* -1 reference; frees |cfg| with the last. NULL is accepted. */
void px_config_unref(struct px_config *cfg);

/*
 * The option table, for `awsgatectl config options` and docs/CONFIG.md's
 * test: option |i| (0-based) as text. |type| is the type with its range or
 * words ("uint 1..1000", "enum 1.2, 1.3"), |default_value| the default as
 * JSON ("null": none). Returns 0, or -1 past the last option.
 */
struct px_config_optinfo {
	const char *name;
	char type[160];
	const char *default_value;
	const char *description;
};
int px_config_option(size_t i, struct px_config_optinfo *info);

/* The commands of awsgatectl: argv[0] is the command's name ("sigv4",
 * "ca", ...). Each returns the exit status. */
int px_ctl_sigv4(int argc, char **argv);
int px_ctl_ca(int argc, char **argv);     /* ca init|pin|crl (ctl_ca.c) */
int px_ctl_certs(int argc, char **argv);  /* certs user|server|revoke|show (ctl_ca.c) */
int px_ctl_config(int argc, char **argv); /* config check|options (ctl_config.c) */
int px_ctl_rbac(int argc, char **argv);   /* rbac check|roles (ctl_rbac.c) */
int px_ctl_lock(int argc, char **argv);   /* lock add|ls|rm (ctl_rbac.c) */
int px_ctl_aws(int argc, char **argv);    /* aws whoami|assume|console-url|iam-policy (ctl_aws.c) */


/* --- the loop's libcurl core (curl.c) and federation's transport and environment (transport.c) --- */

struct ev_loop;
struct fed_env;
struct fed_transport;
struct px_curl;
struct px_transport;

/* One libcurl multi handle driven by |loop| (ev_io and ev_timer watchers),
 * shared by every HTTP client of that loop: federation's transport and the
 * upstream requests (upstream.h), which then share its connection pool.
 * Upstream certificates are verified against |ca_file| (NULL: the system
 * store); hosts matching one of the |nct| connect-to patterns are connected
 * to its address, Host and SNI unchanged. The caller has run
 * curl_global_init(). Returns NULL when out of memory. */
struct px_curl *px_curl_new(struct ev_loop *loop, const char *ca_file, const struct px_connect_to *ct, size_t nct);

/* Frees |c|; every transport and upstream request on it must be gone.
 * NULL is fine. */
void px_curl_del(struct px_curl *c);

/* A struct fed_transport whose HTTP calls are transfers of |curl|
 * (borrowed; it must outlive the transport), on |curl|'s loop. */
struct px_transport *px_transport_new_on(struct px_curl *curl);

/* A struct fed_transport on |loop| with a libcurl core of its own
 * (px_curl_new() with the same arguments, freed with it): HTTP, timers, posts from other threads (ev_async) and
 * credential_process commands (posix_spawn of /bin/sh -c). Upstream
 * certificates are verified against |ca_file| (NULL: the system store);
 * hosts matching one of the |nct| connect-to patterns are connected to its
 * address, Host and SNI unchanged. The caller has run curl_global_init().
 * Returns NULL when out of memory. */
struct px_transport *px_transport_new(struct ev_loop *loop, const char *ca_file, const struct px_connect_to *ct,
                                      size_t nct);

/* Cancels what is in flight (no callback runs) and frees |t|. NULL is fine. */
void px_transport_del(struct px_transport *t);

/* The vtable to hand to federation; borrowed, valid while |t| lives. */
struct fed_transport *px_transport_fed(struct px_transport *t);

/* The process's environment, files (read as secrets), wall clock and
 * OpenSSL's random numbers as a struct fed_env. */
void px_env_init(struct fed_env *env);

#endif
