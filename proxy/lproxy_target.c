/* SPDX-License-Identifier: Apache-2.0 */
/* lproxy_target.c: the local proxy's CONNECT target parser, its routing decision and NO_PROXY matching. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "proxy/lproxy_int.h"

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

/* Only these bytes may form an address literal: inet_pton() stops at a NUL
 * and would let what follows it through. */
static int all_of(const char *s, size_t len, const char *set)
{
	size_t i;
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* A DNS name of LDH labels: written in lower case without a trailing dot. */
static int parse_name(const char *s, size_t len, struct px_lproxy_target *t)
{
	size_t label = 0, i;
	int alldigits = 1;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > FED_MAX_HOST)
		return PX_ERR_INVALID;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return PX_ERR_INVALID;
			label = 0;
		} else if (is_ldh(c)) {
			if (label == 0 && c == '-')
				return PX_ERR_INVALID;
			if (++label > FED_MAX_LABEL)
				return PX_ERR_INVALID;
			if (!is_digit(c))
				alldigits = 0;
		} else {
			return PX_ERR_INVALID;
		}
		t->host[i] = (char)lower(c);
	}
	if (label == 0 || s[len - 1] == '-')
		return PX_ERR_INVALID;
	/* All digits and dots but not a valid IPv4 literal ("1.2.3", "999.1.1.1"):
	 * resolvers read such names as numbers in odd ways. */
	if (alldigits)
		return PX_ERR_INVALID;
	t->host[len] = '\0';
	t->hostlen = len;
	t->kind = PX_LP_NAME;
	return 0;
}

int px_lproxy_target_parse(const char *s, size_t len, struct px_lproxy_target *out)
{
	struct px_lproxy_target t;
	const char *colon;
	size_t hostlen, plen, i;
	uint32_t port = 0;
	unsigned char bin[16];

	if (s == NULL || len == 0 || len > PX_LPROXY_MAX_TARGET || out == NULL)
		return PX_ERR_INVALID;
	memset(&t, 0, sizeof(t));
	colon = NULL;
	for (i = len; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	if (colon == NULL)
		return PX_ERR_INVALID; /* RFC 9110: the port is required */
	hostlen = (size_t)(colon - s);
	plen = len - hostlen - 1;
	if (plen == 0 || plen > 5 || hostlen == 0)
		return PX_ERR_INVALID;
	for (i = 0; i < plen; i++) {
		if (!is_digit((unsigned char)colon[1 + i]))
			return PX_ERR_INVALID;
		port = port * 10 + (uint32_t)(colon[1 + i] - '0');
	}
	if (port == 0 || port > 65535)
		return PX_ERR_INVALID;
	t.port = (uint16_t)port;

	if (s[0] == '[') {
		if (hostlen < 3 || s[hostlen - 1] != ']' || hostlen - 2 >= sizeof(t.host) ||
		    !all_of(s + 1, hostlen - 2, "0123456789abcdefABCDEF:."))
			return PX_ERR_INVALID;
		memcpy(t.host, s + 1, hostlen - 2);
		t.host[hostlen - 2] = '\0';
		if (inet_pton(AF_INET6, t.host, bin) != 1)
			return PX_ERR_INVALID;
		for (i = 0; i < hostlen - 2; i++)
			t.host[i] = (char)lower((unsigned char)t.host[i]);
		t.hostlen = hostlen - 2;
		t.kind = PX_LP_IPV6;
	} else if (memchr(s, ':', hostlen) != NULL) {
		return PX_ERR_INVALID; /* an IPv6 literal without brackets */
	} else if (hostlen < sizeof(t.host) && all_of(s, hostlen, "0123456789.") &&
	           (memcpy(t.host, s, hostlen), t.host[hostlen] = '\0',
	                                        inet_pton(AF_INET, t.host, bin) == 1)) {
		t.hostlen = hostlen;
		t.kind = PX_LP_IPV4;
	} else if (parse_name(s, hostlen, &t) != 0) {
		return PX_ERR_INVALID;
	}
	*out = t;
	return 0;
}

enum px_lproxy_route px_lproxy_route(const struct px_lproxy_target *t)
{
	struct fed_host_info info;

	if (t->kind != PX_LP_NAME || fed_host_classify(t->host, t->hostlen, &info) != 0)
		return PX_LP_OTHER;
	switch (info.kind) {
	case FED_HOST_SERVICE:
		/* Session Manager and ECS exec speak their own websocket
		 * protocol signed inside the stream: nothing the gate can
		 * re-sign, so it goes to AWS untouched. */
		if (strcmp(info.service, "ssmmessages") == 0)
			return PX_LP_TUNNEL_AWS;
		return t->port == 443 ? PX_LP_INTERCEPT : PX_LP_OTHER;
	case FED_HOST_UNRECOGNISED:
		/* Under an AWS suffix in a shape we do not know: the gate
		 * decides, and its refusal says why, better than a tunnel that
		 * the throw-away keys could not use anyway. */
		return t->port == 443 ? PX_LP_INTERCEPT : PX_LP_OTHER;
	case FED_HOST_CUSTOMER:  /* the customer's own servers (EC2, ELB): not AWS APIs */
	case FED_HOST_NOT_AWS:
	default:
		return PX_LP_OTHER;
	}
}

int px_lproxy_no_proxy_match(const char *list, const char *host, size_t len)
{
	const char *p = list;

	if (list == NULL)
		return 0;
	while (*p != '\0') {
		const char *e;
		size_t n;
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		e = p;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		n = (size_t)(e - p);
		if (n == 1 && p[0] == '*')
			return 1;
		if (n > 0 && p[0] == '.') {
			p++;
			n--;
		}
		if (n > 0 && p[n - 1] == '.')
			n--;
		if (n > 0 && n <= len && strncasecmp(host + len - n, p, n) == 0 &&
		    (n == len || host[len - n - 1] == '.'))
			return 1;
		p = e;
	}
	return 0;
}
