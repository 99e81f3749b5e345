/* SPDX-License-Identifier: Apache-2.0 */
/* base.c: the gate's own AWS credentials, found in the AWS SDKs' order and refreshed before they expire. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "federation/creds_int.h"
#include "federation/federation_int.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_IPV6_ENDPOINT "http://[fd00:ec2::254]"
#define ECS_HOST "http://169.254.170.2"
#define MAX_URL 2048
#define MAX_SMALL_RESPONSE 4096 /* the IMDS token and role name answers */

enum root_kind {
	ROOT_STATIC,       /* keys in hand: environment or a profile */
	ROOT_PROCESS,      /* credential_process */
	ROOT_WEB_IDENTITY, /* AssumeRoleWithWebIdentity with a token file */
	ROOT_ECS,
	ROOT_IMDS,
};

struct role_step {
	char *role_arn;
	char *external_id;
	char *session_name;
	uint32_t duration;
	char *profile;
};

/* What one resolution does: get the root credentials, then assume each
 * role of |roles| from the last to the first. */
struct plan {
	enum root_kind root;
	struct fed_creds creds;   /* ROOT_STATIC */
	char *command;            /* ROOT_PROCESS */
	char *token_file;         /* ROOT_WEB_IDENTITY */
	char *wi_role_arn;
	char *wi_session_name;
	char *url;                /* ROOT_ECS: the full URL; ROOT_IMDS: the endpoint */
	char *auth_token;         /* ROOT_ECS: AWS_CONTAINER_AUTHORIZATION_TOKEN (secret) */
	char *auth_token_file;
	uint32_t timeout_ms;
	struct role_step roles[FED_BASE_MAX_CHAIN];
	size_t nroles;
	char *region;             /* for STS: NULL means the global endpoint */
	char *endpoint_url;       /* AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL */
	char source[96];          /* of the root */
	char top_profile[64];     /* the profile whose role is assumed last, for the source string */
	char region_setting[64];  /* for fed_base_describe() */
};

struct fed_base {
	const struct fed_env *env;
	enum fed_base_source forced;
	char *profile;
	pthread_mutex_t lock;
	struct fed_slot slot;
	char region[64];
	char source[96];
};

/* One resolution in flight, on the transport of the get that started it. */
struct base_run {
	struct fed_base *b;
	struct fed_transport *t;
	struct plan plan;
	struct fed_creds cur;
	size_t next_role; /* roles still to assume: plan.roles[0 .. next_role) */
	int imds_step;
	char *imds_token; /* secret */
	char imds_role[256];
};

/* --- small helpers -------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void wipe_str(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static const char *envget(const struct fed_env *env, const char *name)
{
	const char *v = env->getenv(env->arg, name);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *fed_env_sts_endpoint(const struct fed_env *env)
{
	const char *ep = envget(env, "AWS_ENDPOINT_URL_STS");
	return ep != NULL ? ep : envget(env, "AWS_ENDPOINT_URL");
}

static bool str_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
		char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

static int64_t now_s(const struct fed_env *env)
{
	return env->now_ms(env->arg) / 1000;
}

static void plan_free(struct plan *p)
{
	fed_creds_free(&p->creds);
	free(p->command);
	free(p->token_file);
	free(p->wi_role_arn);
	free(p->wi_session_name);
	free(p->url);
	wipe_str(p->auth_token);
	free(p->auth_token_file);
	for (size_t i = 0; i < p->nroles; i++) {
		free(p->roles[i].role_arn);
		free(p->roles[i].external_id);
		free(p->roles[i].session_name);
		free(p->roles[i].profile);
	}
	free(p->region);
	free(p->endpoint_url);
	memset(p, 0, sizeof(*p));
}

int fed_base_source_parse(const char *s, enum fed_base_source *out)
{
	static const struct {
		const char *name;
		enum fed_base_source v;
	} names[] = {
		{"default", FED_BASE_DEFAULT},     {"environment", FED_BASE_ENVIRONMENT},
		{"profile", FED_BASE_PROFILE},     {"web_identity", FED_BASE_WEB_IDENTITY},
		{"container", FED_BASE_CONTAINER}, {"imds", FED_BASE_IMDS},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].v;
			return 0;
		}
	}
	return FED_ERR_INVALID;
}

/* --- the shared files ----------------------------------------------------- */

struct files {
	struct fed_ini config;
	struct fed_ini creds;
	const char *profile; /* the profile asked for */
	bool explicit_profile;
};

static int load_one(const struct fed_env *env, const char *var, const char *dflt, struct fed_ini *ini, char *why,
                    size_t whylen)
{
	char path[1024];
	const char *p = envget(env, var);
	char *data = NULL;
	size_t len = 0;
	uint32_t line = 0;
	char msg[128] = "";

	if (p == NULL) {
		const char *home = envget(env, "HOME");
		if (home == NULL)
			return 0; /* no home, no default files */
		if (snprintf(path, sizeof(path), "%s/%s", home, dflt) >= (int)sizeof(path)) {
			fed_fmt(why, whylen, "HOME is too long");
			return FED_ERR_CONFIG;
		}
		p = path;
	} else if (p[0] == '~' && p[1] == '/') {
		const char *home = envget(env, "HOME");
		if (snprintf(path, sizeof(path), "%s%s", home != NULL ? home : "", p + 1) >= (int)sizeof(path)) {
			fed_fmt(why, whylen, "%s is too long", var);
			return FED_ERR_CONFIG;
		}
		p = path;
	}
	int rv = env->read_file(env->arg, p, FED_INI_MAX_BYTES, &data, &len);
	if (rv == FED_ERR_NO_CREDENTIALS)
		return 0; /* a missing file is an empty one */
	if (rv != 0) {
		fed_fmt(why, whylen, "%s: %s", p, rv == FED_ERR_TOO_LARGE ? "file too large" : "cannot be read");
		return rv == FED_ERR_NOMEM ? rv : FED_ERR_CONFIG;
	}
	rv = fed_ini_parse(data, len, ini, &line, msg, sizeof(msg));
	OPENSSL_cleanse(data, len);
	free(data);
	if (rv != 0) {
		fed_fmt(why, whylen, "%s:%u: %s", p, (unsigned)line, msg);
		return rv == FED_ERR_NOMEM ? rv : FED_ERR_CONFIG;
	}
	return 0;
}

static const struct fed_ini_section *config_section(const struct files *f, const char *profile)
{
	char name[256];
	if (strcmp(profile, "default") == 0) {
		const struct fed_ini_section *s = fed_ini_find(&f->config, "default");
		if (s != NULL)
			return s;
	}
	fed_fmt(name, sizeof(name), "profile %s", profile);
	return fed_ini_find(&f->config, name);
}

/* |key| of |profile|: the credentials file wins over the config file. */
static const char *prof_get(const struct files *f, const char *profile, const char *key)
{
	const char *v = fed_ini_get(fed_ini_find(&f->creds, profile), key);
	if (v == NULL)
		v = fed_ini_get(config_section(f, profile), key);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

static bool prof_exists(const struct files *f, const char *profile)
{
	return fed_ini_find(&f->creds, profile) != NULL || config_section(f, profile) != NULL;
}

/* Static keys of |profile| in one file's section |s|: 1 found, 0 none, or an error. */
static int keys_from(const struct fed_ini_section *s, const char *profile, const char *file, struct plan *p,
                     char *why, size_t whylen)
{
	const char *akid = fed_ini_get(s, "aws_access_key_id");
	const char *secret = fed_ini_get(s, "aws_secret_access_key");
	const char *token = fed_ini_get(s, "aws_session_token");
	if (token == NULL || token[0] == '\0')
		token = fed_ini_get(s, "aws_security_token");
	if (akid != NULL && akid[0] == '\0')
		akid = NULL;
	if (secret != NULL && secret[0] == '\0')
		secret = NULL;
	if (akid == NULL && secret == NULL)
		return 0;
	if (akid == NULL || secret == NULL) {
		fed_fmt(why, whylen, "profile %s in the %s has only one of aws_access_key_id and aws_secret_access_key",
			profile, file);
		return FED_ERR_CONFIG;
	}
	p->root = ROOT_STATIC;
	p->creds.access_key_id = strdup(akid);
	p->creds.secret_access_key = strdup(secret);
	p->creds.session_token = token != NULL && token[0] != '\0' ? strdup(token) : NULL;
	if (p->creds.access_key_id == NULL || p->creds.secret_access_key == NULL ||
	    (token != NULL && token[0] != '\0' && p->creds.session_token == NULL))
		return FED_ERR_NOMEM;
	p->creds.long_term = p->creds.session_token == NULL;
	fed_fmt(p->source, sizeof(p->source), "profile %s (%s)", profile, file);
	return 1;
}

/* The profile's own credentials (keys or a process): 1 found, 0 none, or an error. */
static int profile_leaf(const struct files *f, const char *profile, struct plan *p, char *why, size_t whylen)
{
	int rv = keys_from(fed_ini_find(&f->creds, profile), profile, "shared credentials file", p, why, whylen);
	if (rv != 0)
		return rv;
	const char *cmd = prof_get(f, profile, "credential_process");
	if (cmd != NULL) {
		p->root = ROOT_PROCESS;
		p->command = strdup(cmd);
		if (p->command == NULL)
			return FED_ERR_NOMEM;
		fed_fmt(p->source, sizeof(p->source), "credential_process (profile %s)", profile);
		return 1;
	}
	return keys_from(config_section(f, profile), profile, "config file", p, why, whylen);
}

static int plan_env(const struct fed_env *env, struct plan *p, char *why, size_t whylen);
static int plan_container(const struct fed_env *env, struct plan *p, char *why, size_t whylen);
static int plan_imds(const struct fed_env *env, struct plan *p, char *why, size_t whylen);

static int parse_duration(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	if (s == NULL || *s == '\0')
		return FED_ERR_CONFIG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000)
			return FED_ERR_CONFIG;
		v = v * 10 + (uint32_t)(*s - '0');
	}
	if (v < 900 || v > 43200)
		return FED_ERR_CONFIG;
	*out = v;
	return 0;
}

/*
 * Walks the role_arn/source_profile links from |profile|: 1 planned, 0 the
 * profile has no role_arn, or an error. |visited| holds the chain so far
 * (|depth| names) for cycle detection and the message.
 */
static int plan_role(const struct fed_env *env, const struct files *f, const char *profile, const char **visited,
                     size_t depth, struct plan *p, char *why, size_t whylen)
{
	const char *role_arn = prof_get(f, profile, "role_arn");
	if (role_arn == NULL)
		return 0;
	for (size_t i = 0; i < depth; i++) {
		if (strcmp(visited[i], profile) == 0) {
			char chain[256] = "";
			size_t n = 0;
			for (size_t k = 0; k < depth && n < sizeof(chain); k++)
				n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s -> ", visited[k]);
			fed_fmt(why, whylen, "source_profile loop: %s%s", chain, profile);
			return FED_ERR_CONFIG;
		}
	}
	if (depth == FED_BASE_MAX_CHAIN || p->nroles == FED_BASE_MAX_CHAIN) {
		fed_fmt(why, whylen, "profile %s: more than %d role_arn/source_profile hops", profile,
			FED_BASE_MAX_CHAIN);
		return FED_ERR_CONFIG;
	}
	visited[depth] = profile;
	if (prof_get(f, profile, "mfa_serial") != NULL) {
		fed_fmt(why, whylen, "profile %s: mfa_serial needs a code typed by a person; a gateway cannot", profile);
		return FED_ERR_CONFIG;
	}
	const char *src = prof_get(f, profile, "source_profile");
	const char *csrc = prof_get(f, profile, "credential_source");
	const char *wif = prof_get(f, profile, "web_identity_token_file");
	const char *dur = prof_get(f, profile, "duration_seconds");
	const char *sess = prof_get(f, profile, "role_session_name");
	if ((src != NULL) + (csrc != NULL) + (wif != NULL) != 1) {
		fed_fmt(why, whylen,
			"profile %s: role_arn needs exactly one of source_profile, credential_source and "
			"web_identity_token_file",
			profile);
		return FED_ERR_CONFIG;
	}
	if (wif != NULL) {
		/* The role is assumed by the web identity call itself. */
		p->root = ROOT_WEB_IDENTITY;
		p->token_file = strdup(wif);
		p->wi_role_arn = strdup(role_arn);
		p->wi_session_name = xstrdup(sess);
		if (p->token_file == NULL || p->wi_role_arn == NULL || (sess != NULL && p->wi_session_name == NULL))
			return FED_ERR_NOMEM;
		fed_fmt(p->source, sizeof(p->source), "web-identity (profile %s)", profile);
		return 1;
	}
	struct role_step *r = &p->roles[p->nroles];
	memset(r, 0, sizeof(*r));
	if (dur != NULL && parse_duration(dur, &r->duration) != 0) {
		fed_fmt(why, whylen, "profile %s: duration_seconds must be a number of seconds from 900 to 43200",
			profile);
		return FED_ERR_CONFIG;
	}
	p->nroles++;
	r->role_arn = strdup(role_arn);
	r->external_id = xstrdup(prof_get(f, profile, "external_id"));
	r->session_name = xstrdup(sess);
	r->profile = strdup(profile);
	if (r->role_arn == NULL || r->profile == NULL)
		return FED_ERR_NOMEM;
	if (csrc != NULL) {
		int rv;
		if (strcmp(csrc, "Environment") == 0)
			rv = plan_env(env, p, why, whylen);
		else if (strcmp(csrc, "Ec2InstanceMetadata") == 0)
			rv = plan_imds(env, p, why, whylen);
		else if (strcmp(csrc, "EcsContainer") == 0)
			rv = plan_container(env, p, why, whylen);
		else {
			fed_fmt(why, whylen,
				"profile %s: credential_source must be Environment, Ec2InstanceMetadata or EcsContainer",
				profile);
			return FED_ERR_CONFIG;
		}
		if (rv == 0) {
			fed_fmt(why, whylen, "profile %s: credential_source %s found no credentials", profile, csrc);
			return FED_ERR_NO_CREDENTIALS;
		}
		return rv < 0 ? rv : 1;
	}
	if (!prof_exists(f, src)) {
		fed_fmt(why, whylen, "profile %s: its source_profile %s does not exist", profile, src);
		return FED_ERR_CONFIG;
	}
	if (strcmp(src, profile) != 0) {
		int rv = plan_role(env, f, src, visited, depth + 1, p, why, whylen);
		if (rv != 0)
			return rv;
	}
	/* A source profile without a role of its own, or a profile naming
	 * itself (botocore's way to say "my keys, then my role"). */
	int rv = profile_leaf(f, src, p, why, whylen);
	if (rv == 0) {
		fed_fmt(why, whylen, "profile %s: its source_profile %s has no credentials", profile, src);
		return FED_ERR_CONFIG;
	}
	return rv;
}

/* --- sources from the environment -------------------------------------- */

static int plan_env(const struct fed_env *env, struct plan *p, char *why, size_t whylen)
{
	const char *akid = envget(env, "AWS_ACCESS_KEY_ID");
	const char *secret = envget(env, "AWS_SECRET_ACCESS_KEY");
	const char *token = envget(env, "AWS_SESSION_TOKEN");
	const char *exp = envget(env, "AWS_CREDENTIAL_EXPIRATION");
	if (token == NULL)
		token = envget(env, "AWS_SECURITY_TOKEN");
	if (akid == NULL && secret == NULL)
		return 0;
	if (akid == NULL || secret == NULL) {
		fed_fmt(why, whylen, "environment: %s is set but %s is not",
			akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return FED_ERR_CONFIG;
	}
	int64_t e = 0;
	if (exp != NULL) {
		if (fed_iso8601_parse(exp, strlen(exp), &e) != 0) {
			fed_fmt(why, whylen, "environment: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
			return FED_ERR_CONFIG;
		}
		if (e <= now_s(env)) {
			fed_fmt(why, whylen, "environment: the credentials expired (AWS_CREDENTIAL_EXPIRATION)");
			return FED_ERR_EXPIRED;
		}
	}
	fed_creds_free(&p->creds);
	p->root = ROOT_STATIC;
	p->creds.access_key_id = strdup(akid);
	p->creds.secret_access_key = strdup(secret);
	p->creds.session_token = xstrdup(token);
	p->creds.expiration = e;
	p->creds.long_term = token == NULL;
	if (p->creds.access_key_id == NULL || p->creds.secret_access_key == NULL ||
	    (token != NULL && p->creds.session_token == NULL))
		return FED_ERR_NOMEM;
	fed_fmt(p->source, sizeof(p->source), "environment");
	return 1;
}

static int plan_web_identity_env(const struct fed_env *env, struct plan *p, char *why, size_t whylen)
{
	const char *file = envget(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role = envget(env, "AWS_ROLE_ARN");
	const char *sess = envget(env, "AWS_ROLE_SESSION_NAME");
	if (file == NULL && role == NULL)
		return 0;
	if (file == NULL || role == NULL) {
		fed_fmt(why, whylen, "web identity: %s is set but %s is not",
			file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
			file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
		return FED_ERR_CONFIG;
	}
	p->root = ROOT_WEB_IDENTITY;
	p->token_file = strdup(file);
	p->wi_role_arn = strdup(role);
	p->wi_session_name = xstrdup(sess);
	if (p->token_file == NULL || p->wi_role_arn == NULL || (sess != NULL && p->wi_session_name == NULL))
		return FED_ERR_NOMEM;
	fed_fmt(p->source, sizeof(p->source), "web-identity");
	return 1;
}

/* Is |host| (as written in a URL, IPv6 in brackets) one the SDKs let a
 * plain-http container endpoint be: loopback, the ECS agent or EKS Pod
 * Identity? No name is resolved here, so only "localhost" and literal
 * addresses pass. */
static bool container_host_allowed(const char *host, size_t len)
{
	static const char *const exact[] = {"localhost", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "[::1]"};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strlen(exact[i]) == len && memcmp(host, exact[i], len) == 0)
			return true;
	/* 127.0.0.0/8 as a dotted quad of decimal octets */
	if (len < 7 || memcmp(host, "127.", 4) != 0)
		return false;
	int parts = 0, val = -1;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || host[i] == '.') {
			if (val < 0 || val > 255)
				return false;
			parts++;
			val = -1;
		} else if (host[i] >= '0' && host[i] <= '9') {
			val = (val < 0 ? 0 : val) * 10 + (host[i] - '0');
			if (val > 255)
				return false;
		} else {
			return false;
		}
	}
	return parts == 4;
}

static bool header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int plan_container(const struct fed_env *env, struct plan *p, char *why, size_t whylen)
{
	const char *rel = envget(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = envget(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	char url[MAX_URL];

	if (rel != NULL) {
		if (rel[0] != '/' || !header_safe(rel) || strchr(rel, ' ') != NULL) {
			fed_fmt(why, whylen, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with '/'");
			return FED_ERR_CONFIG;
		}
		fed_fmt(url, sizeof(url), "%s%s", ECS_HOST, rel);
	} else if (full != NULL) {
		bool https = strncmp(full, "https://", 8) == 0;
		bool http = strncmp(full, "http://", 7) == 0;
		const char *h = full + (https ? 8 : 7);
		size_t hl = strcspn(h, "/?#");
		if ((!https && !http) || hl == 0 || !header_safe(full) || strchr(full, ' ') != NULL ||
		    memchr(h, '@', hl) != NULL) {
			fed_fmt(why, whylen, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http:// or https:// URL");
			return FED_ERR_CONFIG;
		}
		/* The host without its port: "[v6]" whole, else up to a ':'. */
		size_t hostlen = hl;
		if (h[0] == '[') {
			const char *close = memchr(h, ']', hl);
			if (close == NULL) {
				fed_fmt(why, whylen, "AWS_CONTAINER_CREDENTIALS_FULL_URI: an IPv6 address without its ']'");
				return FED_ERR_CONFIG;
			}
			hostlen = (size_t)(close - h) + 1;
		} else {
			const char *colon = memchr(h, ':', hl);
			if (colon != NULL)
				hostlen = (size_t)(colon - h);
		}
		/* After the host: nothing, or ':' and a port of 1 to 5 digits. */
		bool port_ok = hostlen == hl;
		if (!port_ok && h[hostlen] == ':' && hl - hostlen >= 2 && hl - hostlen <= 6) {
			port_ok = true;
			for (size_t i = hostlen + 1; i < hl; i++)
				port_ok = port_ok && h[i] >= '0' && h[i] <= '9';
		}
		if (!port_ok || hostlen == 0) {
			fed_fmt(why, whylen, "AWS_CONTAINER_CREDENTIALS_FULL_URI: the host or port is malformed");
			return FED_ERR_CONFIG;
		}
		if (http && !container_host_allowed(h, hostlen)) {
			fed_fmt(why, whylen,
				"AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is allowed only to loopback, 169.254.170.2, "
				"169.254.170.23 or [fd00:ec2::23], not %.*s; use https for other hosts",
				(int)(hostlen > 64 ? 64 : hostlen), h);
			return FED_ERR_CONFIG;
		}
		if (strlen(full) >= sizeof(url)) {
			fed_fmt(why, whylen, "AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
			return FED_ERR_CONFIG;
		}
		fed_fmt(url, sizeof(url), "%s", full);
	} else {
		return 0;
	}
	p->root = ROOT_ECS;
	p->url = strdup(url);
	p->auth_token_file = xstrdup(envget(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
	p->auth_token = p->auth_token_file == NULL ? xstrdup(envget(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")) : NULL;
	if (p->url == NULL)
		return FED_ERR_NOMEM;
	p->timeout_ms = FED_ECS_TIMEOUT_MS;
	fed_fmt(p->source, sizeof(p->source), "container");
	return 1;
}

static int plan_imds(const struct fed_env *env, struct plan *p, char *why, size_t whylen)
{
	const char *off = envget(env, "AWS_EC2_METADATA_DISABLED");
	const char *ep = envget(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = envget(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *tmo = envget(env, "AWS_METADATA_SERVICE_TIMEOUT");
	char url[MAX_URL];

	if (off != NULL && str_ieq(off, "true")) {
		fed_fmt(why, whylen, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
		return 0;
	}
	if (ep != NULL) {
		if ((strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) || !header_safe(ep) ||
		    strlen(ep) > 256) {
			fed_fmt(why, whylen, "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http:// URL");
			return FED_ERR_CONFIG;
		}
		fed_fmt(url, sizeof(url), "%s", ep);
	} else if (mode != NULL && str_ieq(mode, "IPv6")) {
		fed_fmt(url, sizeof(url), "%s", IMDS_IPV6_ENDPOINT);
	} else if (mode != NULL && !str_ieq(mode, "IPv4")) {
		fed_fmt(why, whylen, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6");
		return FED_ERR_CONFIG;
	} else {
		fed_fmt(url, sizeof(url), "%s", IMDS_DEFAULT_ENDPOINT);
	}
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
	p->timeout_ms = FED_IMDS_TIMEOUT_MS;
	if (tmo != NULL) {
		uint32_t v = 0;
		for (const char *c = tmo; *c; c++) {
			if (*c < '0' || *c > '9' || v > 60) {
				v = 0;
				break;
			}
			v = v * 10 + (uint32_t)(*c - '0');
		}
		if (v < 1 || v > 60) {
			fed_fmt(why, whylen, "AWS_METADATA_SERVICE_TIMEOUT must be whole seconds from 1 to 60");
			return FED_ERR_CONFIG;
		}
		p->timeout_ms = v * 1000;
	}
	p->root = ROOT_IMDS;
	p->url = strdup(url);
	if (p->url == NULL)
		return FED_ERR_NOMEM;
	fed_fmt(p->source, sizeof(p->source), "imds");
	return 1;
}

/* Region and STS endpoint settings, for the STS calls of the chain. */
static int plan_sts_settings(const struct fed_env *env, const struct files *f, struct plan *p)
{
	const char *region = envget(env, "AWS_REGION");
	if (region == NULL)
		region = envget(env, "AWS_DEFAULT_REGION");
	if (region == NULL && f != NULL)
		region = prof_get(f, f->profile, "region");
	const char *mode = envget(env, "AWS_STS_REGIONAL_ENDPOINTS");
	if (mode == NULL && f != NULL)
		mode = prof_get(f, f->profile, "sts_regional_endpoints");
	const char *ep = fed_env_sts_endpoint(env);
	if (region != NULL)
		fed_fmt(p->region_setting, sizeof(p->region_setting), "%s", region);
	/* "legacy" keeps the global endpoint; "regional" is the SDKs' default now. */
	if (region != NULL && !(mode != NULL && str_ieq(mode, "legacy"))) {
		p->region = strdup(region);
		if (p->region == NULL)
			return FED_ERR_NOMEM;
	}
	if (ep != NULL) {
		p->endpoint_url = strdup(ep);
		if (p->endpoint_url == NULL)
			return FED_ERR_NOMEM;
	}
	return 0;
}

/* Builds the plan: 1 with a source found, or an error (FED_ERR_NO_CREDENTIALS when none is). */
static int plan_build(struct fed_base *b, struct plan *p, char *why, size_t whylen)
{
	const struct fed_env *env = b->env;
	enum fed_base_source s = b->forced;
	struct files f;
	int rv = 0;

	memset(&f, 0, sizeof(f));
	f.profile = b->profile != NULL ? b->profile : envget(env, "AWS_PROFILE");
	f.explicit_profile = f.profile != NULL;
	if (f.profile == NULL)
		f.profile = "default";

	/* As in botocore, a profile named by the program (aws.profile, like
	 * `--profile`) rather than by AWS_PROFILE takes the environment's
	 * keys out of the default chain: the admin asked for that profile. */
	if (s == FED_BASE_ENVIRONMENT || (s == FED_BASE_DEFAULT && b->profile == NULL)) {
		rv = plan_env(env, p, why, whylen);
		if (rv != 0 || s == FED_BASE_ENVIRONMENT)
			goto done;
	}
	if (s == FED_BASE_DEFAULT || s == FED_BASE_PROFILE || s == FED_BASE_WEB_IDENTITY) {
		rv = load_one(env, "AWS_CONFIG_FILE", ".aws/config", &f.config, why, whylen);
		if (rv == 0)
			rv = load_one(env, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", &f.creds, why, whylen);
		if (rv != 0)
			goto done;
	}
	if (s == FED_BASE_DEFAULT || s == FED_BASE_PROFILE) {
		if (f.explicit_profile && !prof_exists(&f, f.profile)) {
			fed_fmt(why, whylen, "profile %s is in neither the shared credentials nor the config file",
				f.profile);
			rv = FED_ERR_CONFIG;
			goto done;
		}
		const char *visited[FED_BASE_MAX_CHAIN];
		rv = plan_role(env, &f, f.profile, visited, 0, p, why, whylen);
		if (rv != 0)
			goto done;
	}
	if (s == FED_BASE_DEFAULT || s == FED_BASE_WEB_IDENTITY) {
		rv = plan_web_identity_env(env, p, why, whylen);
		if (rv != 0 || s == FED_BASE_WEB_IDENTITY)
			goto done;
	}
	if (s == FED_BASE_DEFAULT || s == FED_BASE_PROFILE) {
		rv = profile_leaf(&f, f.profile, p, why, whylen);
		if (rv != 0 || s == FED_BASE_PROFILE)
			goto done;
	}
	if (s == FED_BASE_DEFAULT || s == FED_BASE_CONTAINER) {
		rv = plan_container(env, p, why, whylen);
		if (rv != 0 || s == FED_BASE_CONTAINER)
			goto done;
	}
	rv = plan_imds(env, p, why, whylen);
done:
	if (rv == 1) {
		snprintf(p->top_profile, sizeof(p->top_profile), "%s", f.profile);
		rv = plan_sts_settings(env, &f, p);
		if (rv == 0)
			rv = 1;
	} else if (rv == 0) {
		static const char *const what[] = {
			("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, the "
			 "web identity or container variables, or run on EC2 with an instance role"),
			"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
			"the profile has no credentials: no keys, credential_process or role_arn",
			"AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set",
			"neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
			"instance metadata is disabled by AWS_EC2_METADATA_DISABLED",
		};
		if (s == FED_BASE_DEFAULT)
			fed_fmt(why, whylen, "%s (instance metadata is disabled by AWS_EC2_METADATA_DISABLED)", what[0]);
		else
			fed_fmt(why, whylen, "%s", what[s]);
		rv = FED_ERR_NO_CREDENTIALS;
	}
	fed_ini_free(&f.config);
	fed_ini_free(&f.creds);
	return rv;
}

/* --- running a plan ------------------------------------------------------ */

static void run_next_role(struct base_run *r);

static void run_free(struct base_run *r)
{
	plan_free(&r->plan);
	fed_creds_free(&r->cur);
	wipe_str(r->imds_token);
	free(r);
}

/* The end of a resolution: store and deliver, then free |r|. */
static void run_finish(struct base_run *r, int err, const char *why, const struct fed_sts_error *sts_e)
{
	struct fed_base *b = r->b;
	struct fed_sts_error e;
	struct fed_snap *snap = NULL;
	int64_t now = b->env->now_ms(b->env->arg);

	memset(&e, 0, sizeof(e));
	if (sts_e != NULL)
		e = *sts_e;
	if (err == 0) {
		if (r->plan.nroles > 0)
			fed_fmt(r->cur.source, sizeof(r->cur.source), "profile %s (role_arn, from %s)",
				r->plan.top_profile, r->plan.source);
		else
			fed_fmt(r->cur.source, sizeof(r->cur.source), "%s", r->plan.source);
		err = fed_snap_make(&r->cur, &snap);
	}
	if (err != 0) {
		/* Keep AWS's message when it gave one, and say which source failed. */
		char msg[sizeof(e.message)];
		fed_fmt(msg, sizeof(msg), "%s: %s%s%s", r->plan.source[0] ? r->plan.source : "base credentials",
			why != NULL ? why : fed_strerror(err), e.message[0] ? ": " : "", e.message);
		fed_fmt(e.message, sizeof(e.message), "%s", msg);
	}
	pthread_mutex_lock(&b->lock);
	fed_fmt(b->region, sizeof(b->region), "%s", r->plan.region_setting);
	if (err == 0)
		fed_fmt(b->source, sizeof(b->source), "%s", fed_snap_creds(snap)->source);
	pthread_mutex_unlock(&b->lock);
	int64_t exp = err == 0 ? fed_snap_creds(snap)->expiration * 1000 : 0;
	int64_t neg = err != 0 && err != FED_ERR_NOMEM ? now + FED_BASE_RETRY_MS : 0;
	fed_slot_finish(&b->slot, &b->lock, r->t, err, snap, exp, err ? &e : NULL, neg);
	OPENSSL_cleanse(&e, sizeof(e));
	run_free(r);
}

static int http_error(const struct fed_http_response *res)
{
	if (res->error == FED_ERR_TIMEOUT || res->error == FED_ERR_TOO_LARGE || res->error == FED_ERR_NOMEM)
		return res->error;
	return FED_ERR_TRANSPORT;
}

static int status_error(int status)
{
	if (status == 401 || status == 403)
		return FED_ERR_DENIED;
	if (status >= 400 && status < 500 && status != 429)
		return FED_ERR_REJECTED;
	return FED_ERR_UNAVAILABLE;
}

/* Reads a token file (web identity, container authorization): trimmed, non-empty, no control bytes. */
static int read_token(struct base_run *r, const char *path, const char *what, char **out, char *why, size_t whylen)
{
	const struct fed_env *env = r->b->env;
	char *data = NULL;
	size_t len = 0;
	int rv = env->read_file(env->arg, path, FED_TOKEN_FILE_MAX, &data, &len);
	if (rv != 0) {
		fed_fmt(why, whylen, "%s %s %s", what, path,
			rv == FED_ERR_NO_CREDENTIALS ? "does not exist"
			: rv == FED_ERR_TOO_LARGE    ? "is too large"
						     : "cannot be read");
		return rv == FED_ERR_NOMEM ? rv : FED_ERR_CONFIG;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' ||
			   data[len - 1] == '\t'))
		data[--len] = '\0';
	if (len == 0 || strlen(data) != len || !header_safe(data)) {
		OPENSSL_cleanse(data, len);
		free(data);
		fed_fmt(why, whylen, "%s %s is empty or not a token", what, path);
		return FED_ERR_CONFIG;
	}
	*out = data;
	return 0;
}

static void default_session_name(const struct fed_env *env, char *dst, size_t size)
{
	fed_fmt(dst, size, "awsgate-%lld", (long long)now_s(env));
}

static void sts_params_init(const struct base_run *r, struct fed_sts_params *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->region = r->plan.region;
	sp->endpoint_url = r->plan.endpoint_url;
}

static void on_sts(void *arg, int err, const struct fed_sts_result *res, const struct fed_sts_error *e)
{
	struct base_run *r = arg;
	if (err != 0) {
		run_finish(r, err, "STS refused", e);
		return;
	}
	struct fed_creds c;
	int rv = fed_creds_copy(&c, &res->creds);
	if (rv != 0) {
		run_finish(r, rv, NULL, NULL);
		return;
	}
	c.long_term = false;
	fed_creds_free(&r->cur);
	r->cur = c;
	run_next_role(r);
}

static void run_next_role(struct base_run *r)
{
	char sess[64];
	char why[256] = "";
	if (r->next_role == 0) {
		run_finish(r, 0, NULL, NULL);
		return;
	}
	const struct role_step *step = &r->plan.roles[--r->next_role];
	struct fed_sts_params sp;
	sts_params_init(r, &sp);
	sp.action = FED_STS_ASSUME_ROLE;
	sp.role_arn = step->role_arn;
	sp.external_id = step->external_id;
	if (step->session_name != NULL) {
		sp.role_session_name = step->session_name;
	} else {
		default_session_name(r->b->env, sess, sizeof(sess));
		sp.role_session_name = sess;
	}
	sp.duration_seconds = step->duration;
	int rv = fed_sts_start(r->t, r->b->env, &sp, &r->cur, on_sts, r, NULL);
	if (rv != 0) {
		fed_fmt(why, sizeof(why), "profile %s: AssumeRole could not start", step->profile);
		run_finish(r, rv, why, NULL);
	}
}

static void on_process(void *arg, int status, const char *out, size_t len)
{
	struct base_run *r = arg;
	char why[256] = "";
	if (status != 0) {
		if (status < 0)
			fed_fmt(why, sizeof(why), "the command could not run, was killed or took over %d ms",
				FED_PROCESS_TIMEOUT_MS);
		else
			fed_fmt(why, sizeof(why), "the command exited with status %d", status);
		run_finish(r, FED_ERR_CONFIG, why, NULL);
		return;
	}
	struct fed_creds c;
	int rv = fed_credjson_parse(FED_CREDJSON_PROCESS, out, len, now_s(r->b->env), &c, why, sizeof(why));
	if (rv != 0) {
		run_finish(r, rv == FED_ERR_PARSE ? FED_ERR_CONFIG : rv, why, NULL);
		return;
	}
	r->cur = c;
	run_next_role(r);
}

static void on_ecs(void *arg, const struct fed_http_response *res)
{
	struct base_run *r = arg;
	char why[256] = "";
	if (res->error != 0) {
		fed_fmt(why, sizeof(why), "%s: %s", r->plan.url, fed_strerror(res->error));
		run_finish(r, http_error(res), why, NULL);
		return;
	}
	if (res->status != 200) {
		fed_fmt(why, sizeof(why), "%s answered HTTP %d", r->plan.url, res->status);
		run_finish(r, status_error(res->status), why, NULL);
		return;
	}
	struct fed_creds c;
	int rv = fed_credjson_parse(FED_CREDJSON_ECS, res->body, res->body_len, now_s(r->b->env), &c, why, sizeof(why));
	if (rv != 0) {
		run_finish(r, rv, why, NULL);
		return;
	}
	r->cur = c;
	run_next_role(r);
}

static void imds_request(struct base_run *r);

static void on_imds(void *arg, const struct fed_http_response *res)
{
	struct base_run *r = arg;
	char why[256] = "";
	static const char *const what[] = {"token (PUT /latest/api/token)", "role name", "role credentials"};
	if (res->error != 0) {
		fed_fmt(why, sizeof(why), "%s: %s: %s (not on EC2?)", r->plan.url, what[r->imds_step],
			fed_strerror(res->error));
		/* Unreachable metadata is the usual "not on EC2", the end of the chain. */
		run_finish(r, res->error == FED_ERR_TOO_LARGE ? FED_ERR_TOO_LARGE : FED_ERR_NO_CREDENTIALS, why, NULL);
		return;
	}
	if (res->status != 200) {
		int err = status_error(res->status);
		if (r->imds_step == 0 && (res->status == 403 || res->status == 404 || res->status == 405))
			fed_fmt(why, sizeof(why),
				"IMDSv2 token refused (HTTP %d); IMDSv1 is not used: enable IMDSv2 on the instance "
				"(and a hop limit of 2 in containers)",
				res->status);
		else if (res->status == 404) {
			fed_fmt(why, sizeof(why), "no IAM role is attached to this instance (HTTP 404 for the %s)",
				what[r->imds_step]);
			err = FED_ERR_NO_CREDENTIALS;
		} else
			fed_fmt(why, sizeof(why), "the %s answer was HTTP %d", what[r->imds_step], res->status);
		run_finish(r, err, why, NULL);
		return;
	}
	if (r->imds_step == 0) {
		const char *b = res->body;
		size_t n = res->body_len;
		while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' '))
			n--;
		r->imds_token = malloc(n + 1);
		if (r->imds_token == NULL) {
			run_finish(r, FED_ERR_NOMEM, NULL, NULL);
			return;
		}
		memcpy(r->imds_token, b, n);
		r->imds_token[n] = '\0';
		if (n == 0 || strlen(r->imds_token) != n || !header_safe(r->imds_token)) {
			run_finish(r, FED_ERR_PARSE, "the IMDSv2 token is empty or not printable", NULL);
			return;
		}
	} else if (r->imds_step == 1) {
		/* The first line is the role (an instance has at most one). */
		size_t n = 0;
		while (n < res->body_len && res->body[n] != '\n' && res->body[n] != '\r')
			n++;
		bool ok = n > 0 && n < sizeof(r->imds_role) && n <= 64;
		for (size_t i = 0; ok && i < n; i++) {
			char c = res->body[i];
			ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			     strchr("+=,.@_-", c) != NULL;
		}
		if (!ok) {
			run_finish(r, n == 0 ? FED_ERR_NO_CREDENTIALS : FED_ERR_PARSE,
				   n == 0 ? "no IAM role is attached to this instance" : "the role name is not one",
				   NULL);
			return;
		}
		memcpy(r->imds_role, res->body, n);
		r->imds_role[n] = '\0';
	} else {
		struct fed_creds c;
		int rv = fed_credjson_parse(FED_CREDJSON_IMDS, res->body, res->body_len, now_s(r->b->env), &c, why,
					    sizeof(why));
		if (rv != 0) {
			run_finish(r, rv, why, NULL);
			return;
		}
		r->cur = c;
		fed_fmt(r->plan.source, sizeof(r->plan.source), "imds (role %s)", r->imds_role);
		run_next_role(r);
		return;
	}
	r->imds_step++;
	imds_request(r);
}

static void imds_request(struct base_run *r)
{
	char url[MAX_URL];
	char ttl[16];
	struct fed_header h[1];
	struct fed_http_request req;
	struct fed_call *call;

	memset(&req, 0, sizeof(req));
	if (r->imds_step == 0) {
		fed_fmt(url, sizeof(url), "%s/latest/api/token", r->plan.url);
		fed_fmt(ttl, sizeof(ttl), "%d", FED_IMDS_TOKEN_TTL_S);
		h[0].name = "X-aws-ec2-metadata-token-ttl-seconds";
		h[0].value = ttl;
		req.method = "PUT";
	} else {
		fed_fmt(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", r->plan.url,
			r->imds_step == 2 ? r->imds_role : "");
		h[0].name = "X-aws-ec2-metadata-token";
		h[0].value = r->imds_token;
		req.method = "GET";
	}
	req.url = url;
	req.headers = h;
	req.nheaders = 1;
	req.connect_timeout_ms = r->plan.timeout_ms;
	req.timeout_ms = r->plan.timeout_ms;
	req.max_response = r->imds_step == 2 ? FED_CREDJSON_MAX : MAX_SMALL_RESPONSE;
	int rv = r->t->http_start(r->t->arg, &req, on_imds, r, &call);
	if (rv != 0)
		run_finish(r, rv, "instance metadata request could not start", NULL);
}

/* Runs from the loop, never inside fed_base_get(): every outcome can be
 * delivered directly. */
static void run_kick(void *arg)
{
	struct base_run *r = arg;
	char why[256] = "";
	int rv;

	switch (r->plan.root) {
	case ROOT_STATIC:
		r->cur = r->plan.creds;
		memset(&r->plan.creds, 0, sizeof(r->plan.creds));
		run_next_role(r);
		return;
	case ROOT_PROCESS:
		if (r->t->process_start == NULL) {
			run_finish(r, FED_ERR_CONFIG, "credential_process is not supported by this program", NULL);
			return;
		}
		rv = r->t->process_start(r->t->arg, r->plan.command, FED_PROCESS_MAX_OUTPUT, FED_PROCESS_TIMEOUT_MS,
					 on_process, r);
		if (rv != 0)
			run_finish(r, rv, "the command could not be started", NULL);
		return;
	case ROOT_WEB_IDENTITY: {
		char *token = NULL;
		char sess[64];
		rv = read_token(r, r->plan.token_file, "the web identity token file", &token, why, sizeof(why));
		if (rv != 0) {
			run_finish(r, rv, why, NULL);
			return;
		}
		struct fed_sts_params sp;
		sts_params_init(r, &sp);
		sp.action = FED_STS_ASSUME_ROLE_WITH_WEB_IDENTITY;
		sp.role_arn = r->plan.wi_role_arn;
		if (r->plan.wi_session_name != NULL) {
			sp.role_session_name = r->plan.wi_session_name;
		} else {
			default_session_name(r->b->env, sess, sizeof(sess));
			sp.role_session_name = sess;
		}
		sp.web_identity_token = token;
		rv = fed_sts_start(r->t, r->b->env, &sp, NULL, on_sts, r, NULL);
		wipe_str(token);
		if (rv != 0)
			run_finish(r, rv, "AssumeRoleWithWebIdentity could not start", NULL);
		return;
	}
	case ROOT_ECS: {
		char *token = NULL;
		struct fed_header h[1];
		struct fed_http_request req;
		struct fed_call *call;
		if (r->plan.auth_token_file != NULL) {
			rv = read_token(r, r->plan.auth_token_file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token, why,
					sizeof(why));
			if (rv != 0) {
				run_finish(r, rv, why, NULL);
				return;
			}
		} else if (r->plan.auth_token != NULL) {
			if (!header_safe(r->plan.auth_token)) {
				run_finish(r, FED_ERR_CONFIG, "AWS_CONTAINER_AUTHORIZATION_TOKEN has control characters",
					   NULL);
				return;
			}
			token = strdup(r->plan.auth_token);
			if (token == NULL) {
				run_finish(r, FED_ERR_NOMEM, NULL, NULL);
				return;
			}
		}
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = r->plan.url;
		h[0].name = "Authorization";
		h[0].value = token;
		req.headers = h;
		req.nheaders = token != NULL ? 1 : 0;
		req.connect_timeout_ms = r->plan.timeout_ms;
		req.timeout_ms = r->plan.timeout_ms;
		req.max_response = FED_CREDJSON_MAX;
		rv = r->t->http_start(r->t->arg, &req, on_ecs, r, &call);
		wipe_str(token);
		if (rv != 0)
			run_finish(r, rv, "the container credentials request could not start", NULL);
		return;
	}
	case ROOT_IMDS:
		imds_request(r);
		return;
	}
}

/* --- the public API -------------------------------------------------------- */

int fed_base_new(const struct fed_env *env, const struct fed_base_options *opt, struct fed_base **out)
{
	struct fed_base *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return FED_ERR_NOMEM;
	b->env = env;
	if (opt != NULL) {
		b->forced = opt->source;
		if (opt->profile != NULL && opt->profile[0] != '\0') {
			b->profile = strdup(opt->profile);
			if (b->profile == NULL) {
				free(b);
				return FED_ERR_NOMEM;
			}
		}
	}
	if (pthread_mutex_init(&b->lock, NULL) != 0) {
		free(b->profile);
		free(b);
		return FED_ERR_NOMEM;
	}
	*out = b;
	return 0;
}

void fed_base_del(struct fed_base *b)
{
	if (b == NULL)
		return;
	fed_slot_clear(&b->slot);
	pthread_mutex_destroy(&b->lock);
	free(b->profile);
	free(b);
}

void fed_base_reset(struct fed_base *b)
{
	pthread_mutex_lock(&b->lock);
	fed_slot_clear(&b->slot);
	pthread_mutex_unlock(&b->lock);
}

void fed_base_describe(struct fed_base *b, char *region, size_t rsize, char *source, size_t ssize)
{
	pthread_mutex_lock(&b->lock);
	fed_fmt(region, rsize, "%s", b->region);
	fed_fmt(source, ssize, "%s", b->source);
	pthread_mutex_unlock(&b->lock);
}

/*
 * Starts a resolution with the slot marked running (by the caller, under
 * the lock). Returns 1 when the credentials were at hand and stored at once
 * (|*now_snap| +1 when not NULL), 0 when the run was posted to |t|, or an
 * error, stored as the slot's outcome, with |why| set.
 */
static int run_begin(struct fed_base *b, struct fed_transport *t, struct fed_wait *own, struct fed_snap **now_snap,
                     struct fed_sts_error *why)
{
	struct base_run *r = calloc(1, sizeof(*r));
	struct fed_sts_error e;
	int rv;

	memset(&e, 0, sizeof(e));
	if (r == NULL) {
		rv = FED_ERR_NOMEM;
		goto fail;
	}
	r->b = b;
	r->t = t;
	rv = plan_build(b, &r->plan, e.message, sizeof(e.message));
	if (rv < 0)
		goto fail;
	r->next_role = r->plan.nroles;
	if (r->plan.root == ROOT_STATIC && r->plan.nroles == 0) {
		struct fed_snap *snap;
		r->cur = r->plan.creds;
		memset(&r->plan.creds, 0, sizeof(r->plan.creds));
		fed_fmt(r->cur.source, sizeof(r->cur.source), "%s", r->plan.source);
		rv = fed_snap_make(&r->cur, &snap);
		if (rv != 0)
			goto fail;
		if (now_snap != NULL)
			*now_snap = fed_snap_ref(snap);
		/* The caller is answered by the return value, not by its wait. */
		fed_wait_cancel(own);
		pthread_mutex_lock(&b->lock);
		fed_fmt(b->region, sizeof(b->region), "%s", r->plan.region_setting);
		fed_fmt(b->source, sizeof(b->source), "%s", fed_snap_creds(snap)->source);
		pthread_mutex_unlock(&b->lock);
		/* Waiters from other threads may have joined: they get it by post. */
		fed_slot_finish(&b->slot, &b->lock, NULL, 0, snap, fed_snap_creds(snap)->expiration * 1000, NULL, 0);
		run_free(r);
		return 1;
	}
	if (t == NULL || t->post(t->arg, run_kick, r) != 0) {
		rv = t == NULL ? FED_ERR_INVALID : FED_ERR_NOMEM;
		fed_fmt(e.message, sizeof(e.message), "%s", t == NULL ? "no transport to fetch credentials with" : "out of memory");
		goto fail;
	}
	return 0;
fail:
	if (r != NULL)
		run_free(r);
	if (why != NULL)
		*why = e;
	fed_wait_cancel(own);
	fed_slot_finish(&b->slot, &b->lock, NULL, rv, NULL, 0, &e,
			rv != FED_ERR_NOMEM && rv != FED_ERR_INVALID ? b->env->now_ms(b->env->arg) + FED_BASE_RETRY_MS
								      : 0);
	return rv;
}

int fed_base_get(struct fed_base *b, struct fed_transport *t, fed_creds_done_fn *done, void *arg,
                 struct fed_snap **creds, struct fed_wait **wait, struct fed_sts_error *why)
{
	int64_t now = b->env->now_ms(b->env->arg);
	struct fed_snap *snap = NULL;
	int rv;

	if (done != NULL && t == NULL)
		return FED_ERR_INVALID;
	pthread_mutex_lock(&b->lock);
	enum fed_slot_verdict v =
		fed_slot_decide(&b->slot, now, FED_BASE_REFRESH_AHEAD_S * 1000, FED_BASE_MIN_VALID_S * 1000);
	if (t == NULL && v == FED_SLOT_HIT_REFRESH)
		v = FED_SLOT_HIT; /* nothing to refresh with */
	switch (v) {
	case FED_SLOT_HIT:
		*creds = fed_snap_ref(b->slot.snap);
		pthread_mutex_unlock(&b->lock);
		return 0;
	case FED_SLOT_HIT_REFRESH: {
		snap = fed_snap_ref(b->slot.snap);
		b->slot.running = true;
		pthread_mutex_unlock(&b->lock);
		/* The old credentials are still good: a failure here is only
		 * remembered, the caller gets them anyway. */
		struct fed_snap *fresh = NULL;
		if (run_begin(b, t, NULL, &fresh, NULL) == 1) {
			fed_snap_unref(snap);
			snap = fresh;
		}
		*creds = snap;
		return 0;
	}
	case FED_SLOT_NEGATIVE:
		rv = b->slot.neg_err;
		if (why != NULL)
			*why = b->slot.neg_e;
		pthread_mutex_unlock(&b->lock);
		return rv;
	case FED_SLOT_JOIN:
		if (done == NULL || t == NULL) {
			pthread_mutex_unlock(&b->lock);
			return FED_ERR_EXPIRED;
		}
		rv = fed_slot_join(&b->slot, &b->lock, t, done, arg, wait);
		pthread_mutex_unlock(&b->lock);
		return rv == 0 ? FED_PENDING : rv;
	case FED_SLOT_START:
		break;
	}
	/* Start: join first (so the outcome reaches this caller too), then
	 * plan outside the lock: reading files is slow. */
	b->slot.running = true;
	struct fed_wait *w = NULL;
	if (done != NULL && fed_slot_join(&b->slot, &b->lock, t, done, arg, &w) != 0) {
		pthread_mutex_unlock(&b->lock);
		fed_slot_finish(&b->slot, &b->lock, NULL, FED_ERR_NOMEM, NULL, 0, NULL, 0);
		return FED_ERR_NOMEM;
	}
	pthread_mutex_unlock(&b->lock);
	rv = run_begin(b, t, w, &snap, why);
	if (rv == 0) {
		if (done == NULL)
			return FED_ERR_EXPIRED;
		*wait = w;
		return FED_PENDING;
	}
	if (rv == 1) {
		*creds = snap;
		return 0;
	}
	return rv;
}
