/* SPDX-License-Identifier: Apache-2.0 */
/* config.c: the daemon file awsgated.json, loaded and checked against one table of options. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "proxy.h"
#include "rbac/rbac.h"

/*
 * One table (nginx's ngx_command_t, redis's static_configs) says everything
 * about an option: its dotted JSON name, its type and range, its default as
 * JSON text (parsed by the same code as the file, so a bad default fails the
 * unit tests), where it lives in struct px_config and one line for
 * `awsgatectl config options` and docs/CONFIG.md. Sections ("tls", "limits")
 * are the prefixes of the names; nothing else is a known key.
 */

enum opt_type {
	T_STRING,   /* char *; check() may refine it */
	T_PATH,     /* char *, made absolute against the file's directory */
	T_BOOL,     /* bool */
	T_UINT,     /* uint32_t in [min, max] */
	T_SIZE,     /* uint64_t bytes: an integer, or "64KiB", "16MiB", "1GiB" */
	T_DURATION, /* uint32_t seconds: px_duration_parse()'s grammar, or an integer */
	T_ENUM,     /* an int-sized enum: the index of the word in words[] */
	T_WORDSET,  /* unsigned bits: a non-empty list of words[] (bit i = words[i]) */
	T_PATHS,    /* char ** with a size_t count at off2 */
	T_LISTEN,   /* struct px_hostport * with a size_t count at off2 */
	T_HOSTPORT, /* struct px_hostport; "" leaves it off (host NULL) */
	T_CONNECT,  /* struct px_connect_to * with a size_t count at off2 */
	T_APPS,     /* json_t *: an array of objects, kept for rbac */
};

#define F_NULL 0x01u /* null (the default) means unset */

/* The longest option value and the most entries of a list. */
#define MAX_STRING 4096
#define MAX_LIST 256

struct option {
	const char *name;
	enum opt_type type;
	size_t off;
	size_t off2;
	uint64_t min, max;
	const char *const *words;
	const char *(*check)(const char *value); /* a string's extra rule: NULL or what to do */
	unsigned flags;
	const char *def; /* JSON */
	const char *desc;
};

static const char *const tls_versions[] = {"1.2", "1.3", NULL};
static const char *const credential_sources[] = {"default", "environment", "profile", "web_identity",
                                                 "container", "imds", NULL};
static const char *const partitions[] = {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", NULL};
static const char *const log_levels[] = {"err", "warn", "notice", "info", "debug", NULL};

static const char *check_region(const char *s);
static const char *check_public_addr(const char *s);
static const char *check_url_path(const char *s);

#define KiB UINT64_C(1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)
#define OFF(field) offsetof(struct px_config, field)

/* clang-format off */
static const struct option options[] = {
	{"listen", T_LISTEN, OFF(listen), OFF(nlisten), 1, 64, NULL, NULL, 0, "[\"[::]:3443\"]",
	 "addresses the gate accepts TLS connections on: \"host:port\" or \"[v6]:port\""},
	{"workers", T_UINT, OFF(workers), 0, 0, 256, NULL, NULL, 0, "0",
	 "worker threads, each with its own event loop; 0: one per core"},
	{"public_addr", T_STRING, OFF(public_addr), 0, 0, 0, NULL, check_public_addr, F_NULL, "null",
	 "\"host[:port]\" users reach the gate at, for links it prints; null: the first listen address"},

	{"tls.cert_file", T_PATH, OFF(tls.cert_file), 0, 0, 0, NULL, NULL, F_NULL, "null",
	 "the gate's certificate chain (PEM); required"},
	{"tls.key_file", T_PATH, OFF(tls.key_file), 0, 0, 0, NULL, NULL, F_NULL, "null",
	 "the private key of tls.cert_file (PEM, mode 0600); required"},
	{"tls.client_ca_files", T_PATHS, OFF(tls.client_ca_files), OFF(tls.nclient_ca_files), 0, 64, NULL, NULL, 0, "[]",
	 "CA certificates (PEM) whose client certificates identify users"},
	{"tls.identity_ca_file", T_PATH, OFF(tls.identity_ca_file), 0, 0, 0, NULL, NULL, F_NULL, "null",
	 "the CA (PEM) whose certificates' identity extension (roles, traits) is trusted; also a client CA"},
	{"tls.crl_file", T_PATH, OFF(tls.crl_file), 0, 0, 0, NULL, NULL, F_NULL, "null",
	 "revoked client certificates (PEM CRLs); null: none"},
	{"tls.min_version", T_ENUM, OFF(tls.min_version), 0, 0, 0, tls_versions, NULL, 0, "\"1.2\"",
	 "the oldest TLS version accepted"},
	{"tls.session_tickets", T_BOOL, OFF(tls.session_tickets), 0, 0, 0, NULL, NULL, 0, "false",
	 "resume TLS sessions with tickets (weaker forward secrecy); the session cache works without"},

	{"resources_dir", T_PATH, OFF(resources_dir), 0, 0, 0, NULL, NULL, F_NULL, "null",
	 "directory of resource files (roles, users, apps, locks); null: none"},
	{"data_dir", T_PATH, OFF(data_dir), 0, 0, 0, NULL, NULL, 0, "\"/var/lib/awsgate\"",
	 "directory for the gate's state (locks, web sessions); must exist"},

	{"aws.region", T_STRING, OFF(aws.region), 0, 0, 0, NULL, check_region, 0, "\"us-east-1\"",
	 "region of the gate's own AWS calls (STS, sign-in)"},
	{"aws.partitions", T_WORDSET, OFF(aws.partitions), 0, 0, 0, partitions, NULL, 0, "[\"aws\"]",
	 "AWS partitions whose endpoints requests may reach"},
	{"aws.credential_source", T_ENUM, OFF(aws.credential_source), 0, 0, 0, credential_sources, NULL, 0,
	 "\"default\"", "where the gate's own AWS credentials come from; default: the SDK's chain"},
	{"aws.profile", T_STRING, OFF(aws.profile), 0, 0, 0, NULL, NULL, F_NULL, "null",
	 "profile of the shared config files (credential_source profile or default); null: AWS_PROFILE"},
	{"aws.ca_file", T_PATH, OFF(aws.ca_file), 0, 0, 0, NULL, NULL, F_NULL, "null",
	 "CA certificates (PEM) trusted for upstream AWS endpoints; null: the system store"},
	{"aws.hosts_file", T_PATH, OFF(aws.hosts_file), 0, 0, 0, NULL, NULL, F_NULL, "null",
	 "hosts(5) file consulted before DNS for AWS names; its addresses are checked like DNS answers"},
	{"aws.connect_to", T_CONNECT, OFF(aws.connect_to), OFF(aws.nconnect_to), 0, MAX_LIST, NULL, NULL, 0, "[]",
	 "[{\"host\": \"pattern\", \"address\": \"host:port\"}]: connect there instead; Host, SNI, signature unchanged"},
	{"aws.allow_customer_endpoints", T_BOOL, OFF(aws.allow_customer_endpoints), 0, 0, 0, NULL, NULL, 0, "false",
	 "allow customer-controlled AWS names (*.compute.amazonaws.com, *.elb.amazonaws.com, s3-website*)"},
	{"aws.allow_private_addresses", T_BOOL, OFF(aws.allow_private_addresses), 0, 0, 0, NULL, NULL, 0, "false",
	 "allow AWS names that resolve to loopback, private, link-local or metadata addresses"},
	{"aws.session_duration", T_DURATION, OFF(aws.session_duration), 0, 900, 43200, NULL, NULL, 0, "\"1h\"",
	 "lifetime of the role credentials the gate asks STS for (never past the user's certificate)"},

	{"apps", T_APPS, OFF(apps), 0, 0, 0, NULL, NULL, 0, "[]",
	 "app resources inline, in the shape of resource files ({\"kind\": \"app\", ...})"},

	{"audit.file", T_PATH, OFF(audit.file), 0, 0, 0, NULL, NULL, 0, "\"-\"",
	 "the audit log, one JSON object per line; \"-\": standard output"},
	{"audit.fail_closed", T_BOOL, OFF(audit.fail_closed), 0, 0, 0, NULL, NULL, 0, "true",
	 "refuse requests while the audit log cannot be written"},
	{"log.file", T_PATH, OFF(log.file), 0, 0, 0, NULL, NULL, 0, "\"-\"",
	 "the error log; \"-\": standard error"},
	{"log.level", T_ENUM, OFF(log.level), 0, 0, 0, log_levels, NULL, 0, "\"info\"",
	 "the least severe level logged"},

	{"metrics.listen", T_HOSTPORT, OFF(metrics.listen), 0, 0, 0, NULL, NULL, 0, "\"\"",
	 "plain-HTTP address of the Prometheus metrics; \"\": off"},
	{"metrics.path", T_STRING, OFF(metrics.path), 0, 0, 0, NULL, check_url_path, 0, "\"/metrics\"",
	 "URL path of the metrics"},

	{"limits.max_connections", T_UINT, OFF(limits.max_connections), 0, 1, 1000000, NULL, NULL, 0, "10000",
	 "client connections open at once; more wait in the listen queue"},
	{"limits.max_header_bytes", T_SIZE, OFF(limits.max_header_bytes), 0, 1 * KiB, 1 * MiB, NULL, NULL, 0,
	 "\"64KiB\"", "bytes of one request's header block (HTTP/1.1)"},
	{"limits.max_headers", T_UINT, OFF(limits.max_headers), 0, 1, 1000, NULL, NULL, 0, "100",
	 "header fields of one request"},
	{"limits.max_request_line", T_SIZE, OFF(limits.max_request_line), 0, 256, 1 * MiB, NULL, NULL, 0,
	 "\"16KiB\"", "bytes of an HTTP/1.1 request line (presigned URLs are long)"},
	{"limits.max_body_buffer", T_SIZE, OFF(limits.max_body_buffer), 0, 0, 1 * GiB, NULL, NULL, 0, "\"16MiB\"",
	 "a body without a payload hash is buffered and hashed up to this; larger ones are refused"},
	{"limits.h2_max_concurrent_streams", T_UINT, OFF(limits.h2_max_concurrent_streams), 0, 1, 1000, NULL, NULL,
	 0, "100", "HTTP/2 streams open at once on one connection"},
	{"limits.h2_max_header_list_size", T_SIZE, OFF(limits.h2_max_header_list_size), 0, 1 * KiB, 1 * MiB, NULL,
	 NULL, 0, "\"64KiB\"", "HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE"},
	{"limits.h2_initial_window_size", T_SIZE, OFF(limits.h2_initial_window_size), 0, 64 * KiB - 1,
	 2 * GiB - 1, NULL, NULL, 0, "\"1MiB\"", "HTTP/2 flow-control window of each stream"},

	{"timeouts.header_read", T_DURATION, OFF(timeouts.header_read), 0, 1, 600, NULL, NULL, 0, "\"30s\"",
	 "time to receive a request's headers"},
	{"timeouts.idle", T_DURATION, OFF(timeouts.idle), 0, 1, 86400, NULL, NULL, 0, "\"5m\"",
	 "a client connection with no request in flight is closed after this"},
	{"timeouts.upstream_connect", T_DURATION, OFF(timeouts.upstream_connect), 0, 1, 300, NULL, NULL, 0, "\"10s\"",
	 "time to connect to an AWS endpoint, TLS included"},
	{"timeouts.upstream_first_byte", T_DURATION, OFF(timeouts.upstream_first_byte), 0, 1, 3600, NULL, NULL, 0,
	 "\"60s\"", "time from the request's end to the first byte of AWS's response"},
	{"timeouts.upstream_idle", T_DURATION, OFF(timeouts.upstream_idle), 0, 1, 86400, NULL, NULL, 0, "\"5m\"",
	 "an upstream transfer with no bytes moving is cut after this"},
	{"timeouts.sts", T_DURATION, OFF(timeouts.sts), 0, 1, 300, NULL, NULL, 0, "\"10s\"",
	 "one STS or sign-in call, retries included"},
	{"timeouts.shutdown_grace", T_DURATION, OFF(timeouts.shutdown_grace), 0, 0, 3600, NULL, NULL, 0, "\"30s\"",
	 "on stop or reload, requests in flight get this long to finish"},

	{"web.link_ttl", T_DURATION, OFF(web.link_ttl), 0, 1, 600, NULL, NULL, 0, "\"60s\"",
	 "how long a one-time web sign-in link works; keep the default (a shorter one is for tests)"},
};
/* clang-format on */

#define NOPTIONS (sizeof(options) / sizeof(options[0]))
_Static_assert(NOPTIONS <= 64, "struct ctx's failed[] holds every option");

_Static_assert(sizeof(enum px_tls_version) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum px_credential_source) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum px_log_level) == sizeof(int), "enums are stored as int");

/* --- the loading context ---------------------------------------------------- */

struct ctx {
	const char *text;
	size_t len;
	const char *dir; /* relative paths are taken from here; NULL: as they are */
	struct px_diags *diags;
	int nomem;
	unsigned char failed[64]; /* failed[i]: options[i] had an error; checks across options skip it */
};

/* Adds a diagnostic at JSON path |path|, located in the text when possible. */
__attribute__((format(printf, 4, 5))) static void diag(struct ctx *c, enum px_diag_level level, const char *path,
                                                       const char *fmt, ...)
{
	char msg[512];
	int line = 0, column = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Past the diagnostics kept, a position is not worth a re-scan of the text. */
	if (c->text != NULL && path != NULL && c->diags->n < PX_MAX_DIAGS && rbac_json_locate(c->text, c->len, path, &line, &column) != 0)
		line = column = 0;
	px_diags_add(c->diags, level, path, line, column, "%s", msg);
}

#define cerror(c, path, ...) diag((c), PX_DIAG_ERROR, (path), __VA_ARGS__)
#define cwarning(c, path, ...) diag((c), PX_DIAG_WARNING, (path), __VA_ARGS__)

/* "a string", "an object": what a value is, for "expected X, not Y". */
static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

/* Quotes at most 60 bytes of |s| into |buf| for a message. */
static const char *quote(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s);
	if (n > 60)
		snprintf(buf, size, "\"%.57s...\"", s);
	else
		snprintf(buf, size, "\"%s\"", s);
	return buf;
}

/* Writes |prefix| and |key| as a JSON path ("limits.max_headers"); a key
 * that a dot would make ambiguous is quoted: limits["max.headers"]. */
static void key_path(char *buf, size_t size, const char *prefix, const char *key)
{
	if (*key != '\0' && strpbrk(key, ".[]\"\\") == NULL)
		snprintf(buf, size, "%s%s%s", prefix, *prefix ? "." : "", key);
	else
		snprintf(buf, size, "%s[\"%s\"]", prefix, key);
}

static char *xstrdup(struct ctx *c, const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		c->nomem = 1;
	return d;
}

/* --- values: durations and sizes as text ------------------------------------ */

/* Writes |secs| in the duration grammar ("1h30m", "0s") to |buf|. */
static void format_duration(uint64_t secs, char *buf, size_t size)
{
	uint64_t h = secs / 3600, m = secs / 60 % 60, s = secs % 60;
	int n = 0;

	buf[0] = '\0';
	if (h != 0)
		n += snprintf(buf + n, size - (size_t)n, "%lluh", (unsigned long long)h);
	if (m != 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "%llum", (unsigned long long)m);
	if ((s != 0 || secs == 0) && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, "%llus", (unsigned long long)s);
}

/* Writes |bytes| as "16MiB" when exact, else as a number, to |buf|. */
static void format_size(uint64_t bytes, char *buf, size_t size)
{
	if (bytes != 0 && bytes % GiB == 0)
		snprintf(buf, size, "%lluGiB", (unsigned long long)(bytes / GiB));
	else if (bytes != 0 && bytes % MiB == 0)
		snprintf(buf, size, "%lluMiB", (unsigned long long)(bytes / MiB));
	else if (bytes != 0 && bytes % KiB == 0)
		snprintf(buf, size, "%lluKiB", (unsigned long long)(bytes / KiB));
	else
		snprintf(buf, size, "%llu", (unsigned long long)bytes);
}

/* Parses "65536", "64KiB", "16MiB", "1GiB" (at most 2^53). Returns 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t scale;
	} units[] = {{"", 1}, {"B", 1}, {"KiB", KiB}, {"MiB", MiB}, {"GiB", GiB}};
	uint64_t n = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > (UINT64_C(1) << 53))
			return -1;
		p++;
	}
	if (p == s)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].unit) == 0) {
			if (n > (UINT64_C(1) << 53) / units[i].scale)
				return -1;
			*out = n * units[i].scale;
			return 0;
		}
	return -1;
}

/* --- strings with a shape ---------------------------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int is_alnum(char c)
{
	return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* A DNS name: labels of letters, digits and inner hyphens, at most 253 bytes. */
static int is_dns_name(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (is_alnum(ch) || (ch == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

/*
 * Parses "host:port", "[v6]:port" (or, with |port_optional|, "host" and
 * "[v6]") into |hp| (host owned). Returns 0, -1 with |*why| saying what to
 * do, or PX_ERR_NOMEM.
 */
static int parse_hostport(const char *s, int port_optional, struct px_hostport *hp, const char **why)
{
	const char *host = s, *port = NULL;
	size_t hostlen;
	char buf[64];

	if (strstr(s, "://") != NULL || strchr(s, '/') != NULL) {
		*why = port_optional ? "write \"host\" or \"host:port\" alone, without a scheme or path"
		                     : "write \"host:port\" alone, without a scheme or path";
		return -1;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL) {
			*why = "an IPv6 address needs its closing bracket: \"[::1]:3443\"";
			return -1;
		}
		host = s + 1;
		hostlen = (size_t)(close - host);
		if (hostlen == 0 || hostlen >= sizeof(buf)) {
			*why = "expected an IPv6 address in the brackets: \"[::1]:3443\"";
			return -1;
		}
		memcpy(buf, host, hostlen);
		buf[hostlen] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, buf, &a6) != 1) {
			*why = "not an IPv6 address in the brackets: write one such as \"[::1]:3443\" or \"[::]:3443\"";
			return -1;
		}
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0') {
			*why = "expected \":port\" after the brackets: \"[::1]:3443\"";
			return -1;
		}
	} else {
		const char *colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			*why = "write an IPv6 address in brackets: \"[::1]:3443\"";
			return -1;
		}
		hostlen = colon ? (size_t)(colon - s) : strlen(s);
		port = colon ? colon + 1 : NULL;
		if (hostlen == 0 || (hostlen == 1 && s[0] == '*')) {
			*why = "name the host: \"0.0.0.0:3443\" or \"[::]:3443\" for every address, "
			       "\"127.0.0.1:3443\" for this machine only";
			return -1;
		}
		if (!is_dns_name(s, hostlen)) {
			*why = "not a host name or IP address: write one such as \"gate.example.com:3443\" or "
			       "\"10.0.0.5:3443\"";
			return -1;
		}
	}
	unsigned long p = 0;
	if (port == NULL) {
		if (!port_optional) {
			*why = "add a port: \"host:3443\" or \"[::]:3443\"";
			return -1;
		}
	} else {
		size_t i = 0;
		for (; is_digit(port[i]) && i < 6; i++)
			p = p * 10 + (unsigned long)(port[i] - '0');
		if (i == 0 || port[i] != '\0' || p < 1 || p > 65535) {
			*why = "the port must be a number from 1 to 65535";
			return -1;
		}
	}
	char *h = malloc(hostlen + 1);
	if (h == NULL)
		return PX_ERR_NOMEM;
	memcpy(h, host, hostlen);
	h[hostlen] = '\0';
	hp->host = h;
	hp->port = (uint16_t)p;
	return 0;
}

/* "us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1". */
static const char *check_region(const char *s)
{
	static const char *const why = "not a region name: write one such as \"us-east-1\" or \"eu-central-1\"";
	size_t i = 0, parts = 0;

	while (is_lower(s[i]))
		i++;
	if (i != 2)
		return why;
	for (;;) {
		if (s[i] != '-')
			return why;
		i++;
		if (is_digit(s[i])) {
			while (is_digit(s[i]))
				i++;
			return s[i] == '\0' && parts > 0 ? NULL : why;
		}
		size_t start = i;
		while (is_lower(s[i]))
			i++;
		if (i == start)
			return why;
		parts++;
	}
}

static const char *check_public_addr(const char *s)
{
	struct px_hostport hp;
	const char *why = NULL;
	int rv = parse_hostport(s, 1, &hp, &why);

	if (rv == 0) {
		free(hp.host);
		return NULL;
	}
	return rv == -1 ? why : NULL; /* out of memory: nothing to say about the value */
}

static const char *check_url_path(const char *s)
{
	if (s[0] != '/')
		return "a URL path starts with \"/\": \"/metrics\"";
	for (const char *p = s; *p != '\0'; p++)
		if (*p == '?' || *p == '#' || *p == ' ' || *p == '%')
			return "a URL path without '?', '#', '%' or spaces: \"/metrics\"";
	return NULL;
}

/* An aws.connect_to host: a lower-case name, '*' and '?' as globs. */
static const char *check_host_pattern(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return "expected a host name or glob such as \"*.amazonaws.com\" or \"sts.us-east-1.amazonaws.com\"";
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			return "host names are compared in lower case: write the pattern in lower case";
		if (!is_lower(ch) && !is_digit(ch) && ch != '-' && ch != '.' && ch != '*' && ch != '?')
			return "a host pattern holds letters, digits, '-', '.', and the globs '*' and '?'; no port, "
			       "no scheme";
	}
	return NULL;
}

/* --- setting options ----------------------------------------------------------- */

static void *field(struct px_config *cfg, size_t off)
{
	return (char *)cfg + off;
}

static void hostport_free(struct px_hostport *hp)
{
	free(hp->host);
	hp->host = NULL;
}

static void paths_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void listen_free(struct px_hostport *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hostport_free(&v[i]);
	free(v);
}

static void connect_free(struct px_connect_to *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].host);
		hostport_free(&v[i].address);
	}
	free(v);
}

/* Frees an option's value and leaves it empty. */
static void option_clear(const struct option *o, struct px_config *cfg)
{
	void *p = field(cfg, o->off);
	size_t *count = o->off2 ? field(cfg, o->off2) : NULL;

	switch (o->type) {
	case T_STRING:
	case T_PATH:
		free(*(char **)p);
		*(char **)p = NULL;
		break;
	case T_PATHS:
		paths_free(*(char ***)p, *count);
		*(char ***)p = NULL;
		*count = 0;
		break;
	case T_LISTEN:
		listen_free(*(struct px_hostport **)p, *count);
		*(struct px_hostport **)p = NULL;
		*count = 0;
		break;
	case T_HOSTPORT:
		hostport_free(p);
		break;
	case T_CONNECT:
		connect_free(*(struct px_connect_to **)p, *count);
		*(struct px_connect_to **)p = NULL;
		*count = 0;
		break;
	case T_APPS:
		json_decref(*(json_t **)p);
		*(json_t **)p = NULL;
		break;
	default:
		break;
	}
}

/* Makes |s| absolute against c->dir; "-" and absolute paths stay. */
static char *resolve_path(struct ctx *c, const char *s)
{
	if (s[0] == '/' || strcmp(s, "-") == 0 || c->dir == NULL)
		return xstrdup(c, s);
	size_t dl = strlen(c->dir), sl = strlen(s);
	char *p = malloc(dl + 1 + sl + 1);
	if (p == NULL) {
		c->nomem = 1;
		return NULL;
	}
	memcpy(p, c->dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, s, sl + 1);
	return p;
}

/* Checks a string value: a string, not empty, not too long. Returns it or NULL. */
static const char *want_string(struct ctx *c, const char *path, const json_t *v, const char *what)
{
	if (!json_is_string(v)) {
		cerror(c, path, "expected %s, not %s", what, json_kind(v));
		return NULL;
	}
	const char *s = json_string_value(v);
	if (json_string_length(v) != strlen(s)) {
		cerror(c, path, "a NUL byte in the string: remove it");
		return NULL;
	}
	if (json_string_length(v) > MAX_STRING) {
		cerror(c, path, "longer than %d bytes: shorten it", MAX_STRING);
		return NULL;
	}
	return s;
}

/* Lists "1.2", "1.3" into |buf| for messages. */
static const char *word_list(const char *const *words, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; words[i] != NULL && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s\"%s\"", i == 0 ? "" : words[i + 1] ? ", " : " or ",
		                      words[i]);
	return buf;
}

static int word_index(const char *const *words, const char *s)
{
	for (int i = 0; words[i] != NULL; i++)
		if (strcmp(words[i], s) == 0)
			return i;
	return -1;
}

static int set_duration(struct ctx *c, const struct option *o, const char *path, const json_t *v, uint32_t *out)
{
	static const char *const how = "a duration such as \"90s\", \"15m\" or \"1h30m\"";
	char lo[32], hi[32], q[80];
	uint64_t secs;

	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		secs = n < 0 ? UINT64_MAX : (uint64_t)n;
	} else if (json_is_string(v)) {
		const char *s = want_string(c, path, v, how);
		uint32_t s32;
		if (s == NULL)
			return -1;
		int rv = px_duration_parse(s, &s32);
		if (rv == PX_ERR_DURATION) {
			cerror(c, path, "%s is not a duration: write one such as \"90s\", \"15m\" or \"1h30m\" "
			               "(units h, m, s in that order)", quote(s, q, sizeof(q)));
			return -1;
		}
		secs = rv == 0 ? s32 : UINT64_MAX;
	} else {
		cerror(c, path, "expected %s, not %s", how, json_kind(v));
		return -1;
	}
	if (secs < o->min || secs > o->max) {
		format_duration(o->min, lo, sizeof(lo));
		format_duration(o->max, hi, sizeof(hi));
		cerror(c, path, "out of range: use %s to %s", lo, hi);
		return -1;
	}
	*out = (uint32_t)secs;
	return 0;
}

static int set_size(struct ctx *c, const struct option *o, const char *path, const json_t *v, uint64_t *out)
{
	static const char *const how = "a size such as 65536, \"64KiB\" or \"16MiB\"";
	char lo[32], hi[32], q[80];
	uint64_t bytes = 0;

	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		bytes = n < 0 ? UINT64_MAX : (uint64_t)n;
	} else if (json_is_string(v)) {
		const char *s = want_string(c, path, v, how);
		if (s == NULL)
			return -1;
		if (parse_size(s, &bytes) != 0) {
			cerror(c, path, "%s is not a size: write bytes, or a number with KiB, MiB or GiB such as "
			               "\"64KiB\" or \"16MiB\"", quote(s, q, sizeof(q)));
			return -1;
		}
	} else {
		cerror(c, path, "expected %s, not %s", how, json_kind(v));
		return -1;
	}
	if (bytes < o->min || bytes > o->max) {
		format_size(o->min, lo, sizeof(lo));
		format_size(o->max, hi, sizeof(hi));
		cerror(c, path, "out of range: use %s to %s", lo, hi);
		return -1;
	}
	*out = bytes;
	return 0;
}

/* Checks that |v| is an array of at most o->max entries. */
static int want_array(struct ctx *c, const struct option *o, const char *path, const json_t *v, const char *what)
{
	if (!json_is_array(v)) {
		cerror(c, path, "expected a list of %s ([...]), not %s", what, json_kind(v));
		return -1;
	}
	if (o->max != 0 && json_array_size(v) > o->max) {
		cerror(c, path, "more than %llu entries: at most %llu", (unsigned long long)o->max,
		      (unsigned long long)o->max);
		return -1;
	}
	if (json_array_size(v) < o->min) {
		cerror(c, path, "an empty list: give at least %llu", (unsigned long long)o->min);
		return -1;
	}
	return 0;
}

static int set_paths(struct ctx *c, const struct option *o, const char *path, const json_t *v,
                     struct px_config *cfg)
{
	char sub[300];
	size_t n, i;
	json_t *e;
	int bad = 0;

	if (want_array(c, o, path, v, "file paths") != 0)
		return -1;
	n = json_array_size(v);
	char **paths = calloc(n ? n : 1, sizeof(*paths));
	if (paths == NULL) {
		c->nomem = 1;
		return -1;
	}
	json_array_foreach(v, i, e) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		const char *s = want_string(c, sub, e, "a file path (a string)");
		if (s == NULL) {
			bad = 1;
			continue;
		}
		if (*s == '\0') {
			cerror(c, sub, "an empty path: write a file's path, or remove the entry");
			bad = 1;
			continue;
		}
		if ((paths[i] = resolve_path(c, s)) == NULL)
			bad = 1;
	}
	if (bad) {
		paths_free(paths, n);
		return -1;
	}
	option_clear(o, cfg);
	*(char ***)field(cfg, o->off) = paths;
	*(size_t *)field(cfg, o->off2) = n;
	return 0;
}

static int set_listen(struct ctx *c, const struct option *o, const char *path, const json_t *v,
                      struct px_config *cfg)
{
	char sub[300], q[80];
	size_t n, i;
	json_t *e;
	int bad = 0;

	if (want_array(c, o, path, v, "addresses such as \"[::]:3443\"") != 0)
		return -1;
	n = json_array_size(v);
	struct px_hostport *list = calloc(n ? n : 1, sizeof(*list));
	if (list == NULL) {
		c->nomem = 1;
		return -1;
	}
	json_array_foreach(v, i, e) {
		const char *why = NULL;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		const char *s = want_string(c, sub, e, "an address such as \"[::]:3443\" (a string)");
		if (s == NULL) {
			bad = 1;
			continue;
		}
		int rv = parse_hostport(s, 0, &list[i], &why);
		if (rv == PX_ERR_NOMEM)
			c->nomem = 1;
		if (rv != 0) {
			if (rv == -1)
				cerror(c, sub, "%s: %s", quote(s, q, sizeof(q)), why);
			bad = 1;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (list[j].host != NULL && list[j].port == list[i].port &&
			    strcmp(list[j].host, list[i].host) == 0) {
				cerror(c, sub, "%s is already %s[%zu]: remove one", quote(s, q, sizeof(q)), path, j);
				bad = 1;
				break;
			}
	}
	if (bad) {
		listen_free(list, n);
		return -1;
	}
	option_clear(o, cfg);
	*(struct px_hostport **)field(cfg, o->off) = list;
	*(size_t *)field(cfg, o->off2) = n;
	return 0;
}

static int set_connect(struct ctx *c, const struct option *o, const char *path, const json_t *v,
                       struct px_config *cfg)
{
	static const char *const keys[] = {"host", "address", NULL};
	char sub[300], key[400], q[80];
	size_t n, i;
	json_t *e;
	int bad = 0;

	if (want_array(c, o, path, v, "{\"host\": \"pattern\", \"address\": \"host:port\"} objects") != 0)
		return -1;
	n = json_array_size(v);
	struct px_connect_to *list = calloc(n ? n : 1, sizeof(*list));
	if (list == NULL) {
		c->nomem = 1;
		return -1;
	}
	json_array_foreach(v, i, e) {
		const char *k, *s, *why = NULL;
		json_t *kv;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!json_is_object(e)) {
			cerror(c, sub, "expected {\"host\": \"pattern\", \"address\": \"host:port\"}, not %s", json_kind(e));
			bad = 1;
			continue;
		}
		json_object_foreach(e, k, kv) {
			if (word_index(keys, k) < 0) {
				key_path(key, sizeof(key), sub, k);
				cerror(c, key, "unknown key %s: an entry has only \"host\" and \"address\"",
				      quote(k, q, sizeof(q)));
				bad = 1;
			}
		}
		snprintf(key, sizeof(key), "%s.host", sub);
		kv = json_object_get(e, "host");
		if (kv == NULL) {
			cerror(c, sub, "no \"host\": add the AWS host name or glob it applies to, such as "
			              "\"*.amazonaws.com\"");
			bad = 1;
		} else if ((s = want_string(c, key, kv, "a host name or glob (a string)")) == NULL) {
			bad = 1;
		} else if ((why = check_host_pattern(s)) != NULL) {
			cerror(c, key, "%s: %s", quote(s, q, sizeof(q)), why);
			bad = 1;
		} else if ((list[i].host = xstrdup(c, s)) == NULL) {
			bad = 1;
		} else {
			for (size_t j = 0; j < i; j++)
				if (list[j].host != NULL && strcmp(list[j].host, s) == 0) {
					cerror(c, key, "%s is already the host of %s[%zu]: keep one", quote(s, q, sizeof(q)),
					      path, j);
					bad = 1;
				}
		}
		snprintf(key, sizeof(key), "%s.address", sub);
		kv = json_object_get(e, "address");
		if (kv == NULL) {
			cerror(c, sub, "no \"address\": add the \"host:port\" to connect to instead");
			bad = 1;
		} else if ((s = want_string(c, key, kv, "an address such as \"127.0.0.1:8443\" (a string)")) == NULL) {
			bad = 1;
		} else {
			int rv = parse_hostport(s, 0, &list[i].address, &why);
			if (rv == PX_ERR_NOMEM)
				c->nomem = 1;
			else if (rv != 0)
				cerror(c, key, "%s: %s", quote(s, q, sizeof(q)), why);
			if (rv != 0)
				bad = 1;
		}
	}
	if (bad) {
		connect_free(list, n);
		return -1;
	}
	option_clear(o, cfg);
	*(struct px_connect_to **)field(cfg, o->off) = list;
	*(size_t *)field(cfg, o->off2) = n;
	return 0;
}

static int set_apps(struct ctx *c, const struct option *o, const char *path, json_t *v, struct px_config *cfg)
{
	char sub[300];
	size_t i;
	json_t *e;
	int bad = 0;

	if (!json_is_array(v)) {
		cerror(c, path, "expected a list of app resources ([{\"kind\": \"app\", ...}]), not %s", json_kind(v));
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_object(e)) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			cerror(c, sub, "expected an app resource ({\"kind\": \"app\", \"version\": \"v3\", \"metadata\": "
			              "{...}, \"spec\": {...}}), not %s", json_kind(e));
			bad = 1;
		}
	}
	if (bad)
		return -1;
	option_clear(o, cfg);
	*(json_t **)field(cfg, o->off) = json_incref(v);
	return 0;
}

/* Sets option |o| from |v|. Returns 0, or -1 after adding an error (or
 * setting c->nomem); the option keeps its previous value then. */
static int option_set(struct ctx *c, const struct option *o, const char *path, json_t *v, struct px_config *cfg)
{
	char words[160], q[80];
	void *p = field(cfg, o->off);

	if ((o->flags & F_NULL) && json_is_null(v)) {
		option_clear(o, cfg);
		return 0;
	}
	switch (o->type) {
	case T_STRING:
	case T_PATH: {
		const char *what = o->type == T_PATH ? "a file path (a string)" : "a string";
		const char *s = want_string(c, path, v, what), *why;
		char *d;
		if (s == NULL)
			return -1;
		if (*s == '\0') {
			cerror(c, path, "empty: write a value%s, or remove the option", o->flags & F_NULL ? " or null" : "");
			return -1;
		}
		if (o->check != NULL && (why = o->check(s)) != NULL) {
			cerror(c, path, "%s: %s", quote(s, q, sizeof(q)), why);
			return -1;
		}
		if ((d = o->type == T_PATH ? resolve_path(c, s) : xstrdup(c, s)) == NULL)
			return -1;
		option_clear(o, cfg);
		*(char **)p = d;
		return 0;
	}
	case T_BOOL:
		if (!json_is_boolean(v)) {
			cerror(c, path, "expected true or false, not %s", json_kind(v));
			return -1;
		}
		*(bool *)p = json_is_true(v);
		return 0;
	case T_UINT: {
		if (!json_is_integer(v)) {
			cerror(c, path, "expected a whole number from %llu to %llu, not %s", (unsigned long long)o->min,
			      (unsigned long long)o->max, json_kind(v));
			return -1;
		}
		json_int_t n = json_integer_value(v);
		if (n < 0 || (uint64_t)n < o->min || (uint64_t)n > o->max) {
			cerror(c, path, "%lld is out of range: use %llu to %llu", (long long)n, (unsigned long long)o->min,
			      (unsigned long long)o->max);
			return -1;
		}
		*(uint32_t *)p = (uint32_t)n;
		return 0;
	}
	case T_SIZE:
		return set_size(c, o, path, v, p);
	case T_DURATION:
		return set_duration(c, o, path, v, p);
	case T_ENUM: {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		int i = s ? word_index(o->words, s) : -1;
		if (i < 0) {
			if (s != NULL)
				cerror(c, path, "%s is not one of %s", quote(s, q, sizeof(q)),
				      word_list(o->words, words, sizeof(words)));
			else
				cerror(c, path, "expected one of %s (a string), not %s", word_list(o->words, words, sizeof(words)),
				      json_kind(v));
			return -1;
		}
		*(int *)p = i;
		return 0;
	}
	case T_WORDSET: {
		unsigned bits = 0;
		size_t i;
		json_t *e;
		char sub[300];
		int bad = 0;
		if (!json_is_array(v) || json_array_size(v) == 0) {
			cerror(c, path, "expected a list of one or more of %s", word_list(o->words, words, sizeof(words)));
			return -1;
		}
		json_array_foreach(v, i, e) {
			const char *s = json_is_string(e) ? json_string_value(e) : NULL;
			int w = s ? word_index(o->words, s) : -1;
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (w < 0) {
				if (s != NULL)
					cerror(c, sub, "%s is not one of %s", quote(s, q, sizeof(q)),
					      word_list(o->words, words, sizeof(words)));
				else
					cerror(c, sub, "expected one of %s (a string), not %s",
					      word_list(o->words, words, sizeof(words)), json_kind(e));
				bad = 1;
			} else if (bits & (1u << w)) {
				cerror(c, sub, "\"%s\" is listed twice: remove one", s);
				bad = 1;
			} else {
				bits |= 1u << w;
			}
		}
		if (bad)
			return -1;
		*(unsigned *)p = bits;
		return 0;
	}
	case T_PATHS:
		return set_paths(c, o, path, v, cfg);
	case T_LISTEN:
		return set_listen(c, o, path, v, cfg);
	case T_HOSTPORT: {
		struct px_hostport hp = {NULL, 0};
		const char *s = want_string(c, path, v, "an address such as \"127.0.0.1:9100\", or \"\" for off"), *why;
		if (s == NULL)
			return -1;
		if (*s != '\0') {
			int rv = parse_hostport(s, 0, &hp, &why);
			if (rv == PX_ERR_NOMEM)
				c->nomem = 1;
			else if (rv != 0)
				cerror(c, path, "%s: %s", quote(s, q, sizeof(q)), why);
			if (rv != 0)
				return -1;
		}
		option_clear(o, cfg);
		*(struct px_hostport *)p = hp;
		return 0;
	}
	case T_CONNECT:
		return set_connect(c, o, path, v, cfg);
	case T_APPS:
		return set_apps(c, o, path, v, cfg);
	}
	return -1;
}

/* --- walking the file ------------------------------------------------------------- */

static const struct option *option_find(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* Returns 1 when |name| ("tls") is a section: a proper prefix of option names. */
static int is_section(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strncmp(options[i].name, name, n) == 0 && options[i].name[n] == '.')
			return 1;
	return 0;
}

/* Edit distance of |a| and |b| (at most 64 bytes each; larger: far). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag_prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag_prev + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag_prev = up;
		}
	}
	return row[lb];
}

/*
 * Finds a known name to suggest for the unknown |key| in section |prefix|
 * ("" at the top): a sibling one or two edits away, the same key in another
 * section, or the dotted name written as one key. Writes it to |out|.
 */
static int suggest(const char *prefix, const char *key, char *out, size_t size)
{
	size_t plen = strlen(prefix), best = 3;
	const char *klast;

	out[0] = '\0';
	/* "limits.max_headers" written as one key. */
	char dotted[300];
	snprintf(dotted, sizeof(dotted), "%s%s%s", prefix, plen ? "." : "", key);
	if (strchr(key, '.') != NULL && (option_find(dotted) != NULL || is_section(dotted))) {
		snprintf(out, size, "write \"%s\" as nested objects", key);
		return 1;
	}
	/* Siblings: the next name part of every option under |prefix|. */
	for (size_t i = 0; i < NOPTIONS; i++) {
		const char *name = options[i].name;
		char part[128];
		if (plen > 0 && (strncmp(name, prefix, plen) != 0 || name[plen] != '.'))
			continue;
		const char *start = plen ? name + plen + 1 : name, *dot = strchr(start, '.');
		size_t n = dot ? (size_t)(dot - start) : strlen(start);
		if (n >= sizeof(part))
			continue;
		memcpy(part, start, n);
		part[n] = '\0';
		size_t d = edit_distance(key, part);
		if (d < best && d < strlen(key)) {
			best = d;
			snprintf(out, size, "did you mean \"%s\"?", part);
		}
	}
	if (out[0] != '\0')
		return 1;
	/* The key of another section: "max_headers" at the top. */
	for (size_t i = 0; i < NOPTIONS; i++) {
		klast = strrchr(options[i].name, '.');
		if (klast != NULL && strcmp(klast + 1, key) == 0) {
			snprintf(out, size, "did you mean \"%s\"?", options[i].name);
			return 1;
		}
	}
	return 0;
}

static void walk(struct ctx *c, json_t *obj, const char *prefix, struct px_config *cfg)
{
	const char *key;
	json_t *v;
	char name[300], hint[200], q[80];

	json_object_foreach(obj, key, v) {
		const struct option *o = NULL;
		int section = 0;
		key_path(name, sizeof(name), prefix, key);
		if (strlen(key) > 64) {
			cerror(c, name, "unknown option %s: no option has so long a name", quote(key, q, sizeof(q)));
			continue;
		}
		if (strchr(key, '.') == NULL) {
			o = option_find(name);
			section = o == NULL && is_section(name);
		}
		if (o != NULL) {
			if (option_set(c, o, name, v, cfg) != 0)
				c->failed[o - options] = 1;
		} else if (section) {
			if (json_is_object(v))
				walk(c, v, name, cfg);
			else
				cerror(c, name, "expected an object of \"%s.*\" options ({...}), not %s", name, json_kind(v));
		} else if (suggest(prefix, key, hint, sizeof(hint))) {
			cerror(c, name, "unknown option %s: %s", quote(key, q, sizeof(q)), hint);
		} else {
			cerror(c, name, "unknown option %s: remove it (`awsgatectl config options` lists them)",
			       quote(key, q, sizeof(q)));
		}
	}
}

/* --- checks across options ---------------------------------------------------------- */

static unsigned region_partition(const char *region)
{
	if (strncmp(region, "cn-", 3) == 0)
		return PX_PARTITION_AWS_CN;
	if (strncmp(region, "us-gov-", 7) == 0)
		return PX_PARTITION_AWS_US_GOV;
	if (strncmp(region, "us-isob-", 8) == 0)
		return PX_PARTITION_AWS_ISO_B;
	if (strncmp(region, "us-iso-", 7) == 0)
		return PX_PARTITION_AWS_ISO;
	return PX_PARTITION_AWS;
}

/* Returns 1 when none of the options named (a NULL-ended list) had an error. */
static int sound(const struct ctx *c, ...)
{
	va_list ap;
	const char *name;
	int ok = 1;

	va_start(ap, c);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const struct option *o = option_find(name);
		if (o != NULL && c->failed[o - options])
			ok = 0;
	}
	va_end(ap);
	return ok;
}

/* Checks between options, each made only when the options it reads loaded. */
static void cross_check(struct ctx *c, const struct px_config *cfg)
{
	if (sound(c, "tls.cert_file", "tls.key_file", NULL)) {
		if (cfg->tls.cert_file == NULL && cfg->tls.key_file == NULL)
			cerror(c, "tls", "no certificate: set tls.cert_file and tls.key_file (awsgatectl certs server "
			                 "writes them); the gate serves TLS only");
		else if (cfg->tls.key_file == NULL)
			cerror(c, "tls.cert_file", "a certificate without its key: set tls.key_file too");
		else if (cfg->tls.cert_file == NULL)
			cerror(c, "tls.key_file", "a key without its certificate: set tls.cert_file too");
	}
	if (cfg->tls.nclient_ca_files == 0 && cfg->tls.identity_ca_file == NULL &&
	    sound(c, "tls.client_ca_files", "tls.identity_ca_file", NULL))
		cwarning(c, "tls", "no client CA: no client certificate can be verified, so no one can use the gate; "
		                  "set tls.identity_ca_file or tls.client_ca_files");
	if (cfg->aws.profile != NULL && sound(c, "aws.credential_source", NULL) &&
	    cfg->aws.credential_source != PX_CREDS_PROFILE &&
	    cfg->aws.credential_source != PX_CREDS_DEFAULT)
		cwarning(c, "aws.profile", "ignored with credential_source \"%s\": remove it, or use \"profile\"",
		        credential_sources[cfg->aws.credential_source]);
	unsigned part = region_partition(cfg->aws.region);
	if ((cfg->aws.partitions & part) == 0 && sound(c, "aws.region", "aws.partitions", NULL))
		cerror(c, "aws.region", "\"%s\" is in partition \"%s\", which aws.partitions leaves out: add it, or "
		                       "choose a region of those partitions", cfg->aws.region,
		      partitions[__builtin_ctz(part)]);
	if (cfg->metrics.listen.host != NULL && sound(c, "listen", "metrics.listen", NULL))
		for (size_t i = 0; i < cfg->nlisten; i++)
			if (cfg->listen[i].port == cfg->metrics.listen.port &&
			    strcmp(cfg->listen[i].host, cfg->metrics.listen.host) == 0)
				cerror(c, "metrics.listen", "also listen[%zu]: metrics need an address of their own", i);
	if (strcmp(cfg->audit.file, "-") != 0 && strcmp(cfg->audit.file, cfg->log.file) == 0 &&
	    sound(c, "audit.file", "log.file", NULL))
		cerror(c, "audit.file", "the same file as log.file: the audit log needs a file of its own");
	if (cfg->resources_dir == NULL && json_array_size(cfg->apps) == 0 &&
	    sound(c, "resources_dir", "apps", NULL))
		cwarning(c, "", "no apps: set resources_dir, or list apps inline in \"apps\"");
}

/* Checks that the file at |p| (the value of option |path|) can be read. */
static void check_file(struct ctx *c, const char *path, const char *p, int is_key)
{
	struct stat st;
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		cerror(c, path, "cannot open \"%s\": %s", p, strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		cerror(c, path, "\"%s\" is not a regular file", p);
	else if (is_key && (st.st_mode & 077) != 0)
		cwarning(c, path, "other users may read the private key \"%s\": chmod 600 it", p);
	close(fd);
}

static void check_dir(struct ctx *c, const char *path, const char *p, const char *what)
{
	struct stat st;

	if (stat(p, &st) != 0)
		cerror(c, path, "\"%s\": %s: create it%s", p, strerror(errno), what);
	else if (!S_ISDIR(st.st_mode))
		cerror(c, path, "\"%s\" is not a directory", p);
}

/* A log file: its directory must exist ("-" is a standard stream). */
static void check_log_file(struct ctx *c, const char *path, const char *p)
{
	const char *slash = strrchr(p, '/');
	char dir[MAX_STRING + 2];

	if (strcmp(p, "-") == 0 || slash == NULL)
		return;
	size_t n = slash == p ? 1 : (size_t)(slash - p);
	if (n >= sizeof(dir))
		return;
	memcpy(dir, p, n);
	dir[n] = '\0';
	check_dir(c, path, dir, ", or choose a log file in a directory that exists");
}

static void check_files(struct ctx *c, const struct px_config *cfg)
{
	char sub[64];

	if (cfg->tls.cert_file)
		check_file(c, "tls.cert_file", cfg->tls.cert_file, 0);
	if (cfg->tls.key_file)
		check_file(c, "tls.key_file", cfg->tls.key_file, 1);
	for (size_t i = 0; i < cfg->tls.nclient_ca_files; i++) {
		snprintf(sub, sizeof(sub), "tls.client_ca_files[%zu]", i);
		check_file(c, sub, cfg->tls.client_ca_files[i], 0);
	}
	if (cfg->tls.identity_ca_file)
		check_file(c, "tls.identity_ca_file", cfg->tls.identity_ca_file, 0);
	if (cfg->tls.crl_file)
		check_file(c, "tls.crl_file", cfg->tls.crl_file, 0);
	if (cfg->aws.ca_file)
		check_file(c, "aws.ca_file", cfg->aws.ca_file, 0);
	if (cfg->aws.hosts_file)
		check_file(c, "aws.hosts_file", cfg->aws.hosts_file, 0);
	if (cfg->resources_dir)
		check_dir(c, "resources_dir", cfg->resources_dir, ", or set resources_dir to null for none");
	check_dir(c, "data_dir", cfg->data_dir, " (mode 0700, owned by the gate's user)");
	check_log_file(c, "audit.file", cfg->audit.file);
	check_log_file(c, "log.file", cfg->log.file);
}

/* --- loading ------------------------------------------------------------------------ */

static void config_free(struct px_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NOPTIONS; i++)
		option_clear(&options[i], cfg);
	free(cfg);
}

struct px_config *px_config_ref(struct px_config *cfg)
{
	__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return cfg;
}

void px_config_unref(struct px_config *cfg)
{
	if (cfg != NULL && __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(cfg);
}

/* Sets every option to its default. Returns 0 or PX_ERR_NOMEM. */
static int config_defaults(struct px_config *cfg)
{
	struct px_diags d;
	struct ctx c = {NULL, 0, NULL, &d, 0, {0}};
	int rv = 0;

	px_diags_init(&d, "(defaults)");
	for (size_t i = 0; i < NOPTIONS && rv == 0; i++) {
		json_t *v = json_loads(options[i].def, JSON_DECODE_ANY, NULL);
		if (v == NULL || option_set(&c, &options[i], options[i].name, v, cfg) != 0)
			rv = PX_ERR_NOMEM; /* a default that does not parse fails the unit tests first */
		json_decref(v);
	}
	px_diags_free(&d);
	return rv;
}

/* Writes the 1-based line and byte column of offset |pos| in |text|. */
static void offset_position(const char *text, size_t len, size_t pos, int *line, int *column)
{
	int l = 1;
	size_t start = 0;

	if (pos > len)
		pos = len;
	for (size_t i = 0; i < pos; i++)
		if (text[i] == '\n') {
			l++;
			start = i + 1;
		}
	*line = l;
	*column = (int)(pos - start) + 1;
}

/* A JSON syntax error from jansson, with the position of its token. */
static void syntax_error(struct ctx *c, const json_error_t *e)
{
	size_t pos = e->position > 0 ? (size_t)e->position : 0;
	const char *near = strstr(e->text, " near '");
	size_t toklen = 0;
	int line, column;

	/* jansson's position is just past the token it names; point at its start. */
	if (near != NULL) {
		toklen = strlen(near + 7);
		if (toklen > 0)
			toklen--; /* the closing quote */
		if (strncmp(near + 7, "end of file", 11) == 0 && e->text[near - e->text + 7 + 11] == '\0')
			toklen = 0;
	}
	if (toklen > 0 && toklen <= pos)
		pos -= toklen;
	else if (pos > 0 && pos >= c->len)
		pos = c->len;
	offset_position(c->text, c->len, pos, &line, &column);
	if (json_error_code(e) == json_error_duplicate_key)
		px_diags_add(c->diags, PX_DIAG_ERROR, "", line, column,
		             "key %.*s appears twice in one object: keep one", (int)(near ? toklen : 0),
		             near ? near + 7 : "");
	else
		px_diags_add(c->diags, PX_DIAG_ERROR, "", line, column, "not valid JSON: %s", e->text);
}

int px_config_load(const char *path, const char *text, size_t len, unsigned flags, struct px_config **out,
                   struct px_diags *diags)
{
	struct ctx c = {text, len, NULL, diags, 0, {0}};
	size_t errors = diags->nerrors;
	struct px_config *cfg = NULL;
	json_t *root = NULL;
	char *dir = NULL;
	json_error_t jerr;
	int rv;

	/* Relative paths are taken from the file's directory. */
	const char *slash = path ? strrchr(path, '/') : NULL;
	if (slash != NULL) {
		size_t n = slash == path ? 1 : (size_t)(slash - path);
		if ((dir = malloc(n + 1)) == NULL)
			return PX_ERR_NOMEM;
		memcpy(dir, path, n);
		dir[n] = '\0';
		c.dir = dir;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		rv = PX_ERR_NOMEM;
		goto out;
	}
	cfg->refs = 1;
	if ((rv = config_defaults(cfg)) != 0)
		goto out;

	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (len > PX_CONFIG_MAX_BYTES) {
		px_diags_add(diags, PX_DIAG_ERROR, "", 0, 0, "larger than %u bytes: move apps to resources_dir",
		             PX_CONFIG_MAX_BYTES);
	} else if (i == len) {
		px_diags_add(diags, PX_DIAG_ERROR, "", len ? 1 : 0, len ? 1 : 0,
		             "empty: write a JSON object of options, such as {\"tls\": {\"cert_file\": ..., "
		             "\"key_file\": ...}}");
	} else if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			c.nomem = 1;
		else
			syntax_error(&c, &jerr);
	} else if (!json_is_object(root)) {
		cerror(&c, "", "expected a JSON object of options ({...}), not %s", json_kind(root));
	} else {
		walk(&c, root, "", cfg);
		cross_check(&c, cfg);
		if ((flags & PX_CONFIG_CHECK_FILES) && diags->nerrors == errors)
			check_files(&c, cfg);
	}
	if (c.nomem)
		rv = PX_ERR_NOMEM;
	else if (diags->nerrors != errors)
		rv = PX_ERR_CONFIG;
	else {
		*out = cfg;
		cfg = NULL;
	}
out:
	json_decref(root);
	config_free(cfg);
	free(dir);
	return rv;
}

/* --- the table as text ------------------------------------------------------------- */

int px_config_option(size_t i, struct px_config_optinfo *info)
{
	const struct option *o;
	char lo[32], hi[32], words[140];

	if (i >= NOPTIONS)
		return -1;
	o = &options[i];
	info->name = o->name;
	info->default_value = o->def;
	info->description = o->desc;
	switch (o->type) {
	case T_STRING: snprintf(info->type, sizeof(info->type), "string"); break;
	case T_PATH: snprintf(info->type, sizeof(info->type), "path"); break;
	case T_BOOL: snprintf(info->type, sizeof(info->type), "bool"); break;
	case T_UINT:
		snprintf(info->type, sizeof(info->type), "uint %llu..%llu", (unsigned long long)o->min,
		         (unsigned long long)o->max);
		break;
	case T_SIZE:
		format_size(o->min, lo, sizeof(lo));
		format_size(o->max, hi, sizeof(hi));
		snprintf(info->type, sizeof(info->type), "size %s..%s", lo, hi);
		break;
	case T_DURATION:
		format_duration(o->min, lo, sizeof(lo));
		format_duration(o->max, hi, sizeof(hi));
		snprintf(info->type, sizeof(info->type), "duration %s..%s", lo, hi);
		break;
	case T_ENUM:
	case T_WORDSET: {
		size_t n = 0;
		words[0] = '\0';
		for (size_t w = 0; o->words[w] != NULL && n < sizeof(words); w++)
			n += (size_t)snprintf(words + n, sizeof(words) - n, "%s%s", w ? ", " : "", o->words[w]);
		snprintf(info->type, sizeof(info->type), "%s%s", o->type == T_ENUM ? "enum " : "list of enum ", words);
		break;
	}
	case T_PATHS: snprintf(info->type, sizeof(info->type), "list of path"); break;
	case T_LISTEN: snprintf(info->type, sizeof(info->type), "list of host:port"); break;
	case T_HOSTPORT: snprintf(info->type, sizeof(info->type), "host:port"); break;
	case T_CONNECT: snprintf(info->type, sizeof(info->type), "list of connect-to"); break;
	case T_APPS: snprintf(info->type, sizeof(info->type), "list of app"); break;
	}
	return 0;
}
