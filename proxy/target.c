/* SPDX-License-Identifier: Apache-2.0 */
/* target.c: X-Forwarded-Host parsed once and strictly, the endpoint decision, and the check of resolved addresses. */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy/pipeline.h"

#define QUOTE_MAX 80 /* bytes of a hostile value quoted in a message */

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static char lc(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
	return is_digit(c) || (lc(c) >= 'a' && lc(c) <= 'f');
}

/* True when |p| (|n| bytes) holds only what an IPv6 literal holds. */
static int looks_ipv6(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex(p[i]) && p[i] != ':' && p[i] != '.')
			return 0;
	return 1;
}

/* True when the last label makes the name an IPv4 literal in one of the
 * forms inet_aton() and curl accept (127.0.0.1, 127.1, 2130706433,
 * 0x7f.0.0.1): no DNS top-level label is numeric. */
static int looks_ipv4(const char *p, size_t n)
{
	size_t start = n;
	while (start > 0 && p[start - 1] != '.')
		start--;
	const char *l = p + start;
	size_t ln = n - start;
	if (ln == 0)
		return 0;
	size_t i = 0;
	if (ln > 2 && l[0] == '0' && lc(l[1]) == 'x') {
		for (i = 2; i < ln && is_hex(l[i]); i++)
			;
		return i == ln;
	}
	for (i = 0; i < ln && is_digit(l[i]); i++)
		;
	return i == ln;
}

/* |q| holding |value| quoted for a message (px_quote()). */
static const char *quoted(char *q, size_t size, const char *value, size_t len)
{
	px_quote(q, size, value, len, QUOTE_MAX);
	return q;
}

int px_forwarded_host_parse(const char *value, size_t len, char host[FED_MAX_HOST + 1], size_t *hostlen,
                            struct px_refusal *why)
{
	char q[QUOTE_MAX + 8];
	if (len > PX_MAX_FORWARDED_HOST)
		return px_refuse(why, PX_R_HOST_TOO_LONG,
		                 "X-Forwarded-Host is %zu bytes, more than the %d a DNS name and a port can need: "
		                 "send the AWS endpoint's host name only",
		                 len, PX_MAX_FORWARDED_HOST);
	while (len > 0 && is_ows(value[0])) {
		value++;
		len--;
	}
	while (len > 0 && is_ows(value[len - 1]))
		len--;
	if (len == 0)
		return px_refuse(why, PX_R_HOST_MISSING,
		                 "X-Forwarded-Host is empty: send the AWS endpoint's host name, such as "
		                 "sts.us-east-1.amazonaws.com");
	/* The value as quoted in a refusal: made only for one. */
	const char *const v0 = value;
	const size_t l0 = len;
#define Q quoted(q, sizeof(q), v0, l0)

	size_t colon = len, ncolon = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c >= 0x80)
			return px_refuse(why, PX_R_HOST_IDN,
			                 "X-Forwarded-Host \"%s\" is not ASCII: internationalised names are not AWS "
			                 "endpoints; send the endpoint's host name", Q);
		if (c == ',')
			return px_refuse(why, PX_R_HOST_DUPLICATE,
			                 "X-Forwarded-Host \"%s\" is a list: send exactly one host name, and no proxy "
			                 "between the client and the gate may append to it", Q);
		if (c == '@')
			return px_refuse(why, PX_R_HOST_MALFORMED,
			                 "X-Forwarded-Host \"%s\" holds user information ('@'): send the host name only", Q);
		if (c == '/' || c == '?' || c == '#' || c == '\\')
			return px_refuse(why, PX_R_HOST_MALFORMED,
			                 "X-Forwarded-Host \"%s\" holds a scheme, path, query or fragment: send the "
			                 "host name only, optionally with :443", Q);
		if (c == '[' || c == ']')
			return px_refuse(why, PX_R_HOST_IP_LITERAL,
			                 "X-Forwarded-Host \"%s\" is an IP address: the gate forwards to AWS endpoints "
			                 "by name only", Q);
		if (c <= 0x20 || c == 0x7f)
			return px_refuse(why, PX_R_HOST_MALFORMED,
			                 "X-Forwarded-Host \"%s\" holds a space or a control byte: send the host name "
			                 "only", Q);
		if (c == ':') {
			if (ncolon++ == 0)
				colon = i;
		}
	}
	if (ncolon > 1) {
		if (looks_ipv6(value, len))
			return px_refuse(why, PX_R_HOST_IP_LITERAL,
			                 "X-Forwarded-Host \"%s\" is an IP address: the gate forwards to AWS endpoints "
			                 "by name only", Q);
		return px_refuse(why, PX_R_HOST_MALFORMED,
		                 "X-Forwarded-Host \"%s\" is not a host name with an optional port", Q);
	}
	if (ncolon == 1) {
		const char *port = value + colon + 1;
		size_t plen = len - colon - 1;
		if (plen == 0)
			return px_refuse(why, PX_R_HOST_MALFORMED,
			                 "X-Forwarded-Host \"%s\" ends with ':' and no port: send the host name, "
			                 "optionally with :443", Q);
		for (size_t i = 0; i < plen; i++)
			if (!is_digit(port[i]))
				return px_refuse(why, PX_R_HOST_MALFORMED,
				                 "X-Forwarded-Host \"%s\" has a port that is not a number: send the "
				                 "host name, optionally with :443", Q);
		if (plen != 3 || memcmp(port, "443", 3) != 0)
			return px_refuse(why, PX_R_HOST_PORT,
			                 "X-Forwarded-Host \"%s\" names a port other than 443: AWS endpoints are "
			                 "reached on 443 only; send the host name without a port", Q);
		len = colon;
	}
	if (len == 0)
		return px_refuse(why, PX_R_HOST_MALFORMED, "X-Forwarded-Host \"%s\" has a port but no host name", Q);
	if (len > FED_MAX_HOST + 1 || (len == FED_MAX_HOST + 1 && value[len - 1] != '.'))
		return px_refuse(why, PX_R_HOST_TOO_LONG,
		                 "X-Forwarded-Host \"%s\" is longer than the %d bytes of a DNS name", Q, FED_MAX_HOST);
	if (value[len - 1] == '.')
		return px_refuse(why, PX_R_HOST_MALFORMED,
		                 "X-Forwarded-Host \"%s\" ends with a dot: send the name without the trailing dot", Q);
	if (looks_ipv4(value, len))
		return px_refuse(why, PX_R_HOST_IP_LITERAL,
		                 "X-Forwarded-Host \"%s\" is an IP address: the gate forwards to AWS endpoints by "
		                 "name only", Q);

	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && value[i] != '.') {
			char c = value[i];
			if (!is_digit(c) && !(lc(c) >= 'a' && lc(c) <= 'z') && c != '-')
				return px_refuse(why, PX_R_HOST_MALFORMED,
				                 "X-Forwarded-Host \"%s\" holds '%c': a host name has letters, digits, "
				                 "'-' and '.' only (no wildcards)", Q, c);
			continue;
		}
		size_t ln = i - start;
		if (ln == 0)
			return px_refuse(why, PX_R_HOST_MALFORMED,
			                 "X-Forwarded-Host \"%s\" has an empty label (\"..\" or a leading dot)", Q);
		if (ln > FED_MAX_LABEL)
			return px_refuse(why, PX_R_HOST_TOO_LONG,
			                 "X-Forwarded-Host \"%s\" has a label longer than %d bytes", Q, FED_MAX_LABEL);
		if (value[start] == '-' || value[i - 1] == '-')
			return px_refuse(why, PX_R_HOST_MALFORMED,
			                 "X-Forwarded-Host \"%s\" has a label that starts or ends with '-'", Q);
		if (ln >= 4 && lc(value[start]) == 'x' && lc(value[start + 1]) == 'n' && value[start + 2] == '-' &&
		    value[start + 3] == '-')
			return px_refuse(why, PX_R_HOST_IDN,
			                 "X-Forwarded-Host \"%s\" holds a punycode (xn--) label: internationalised "
			                 "names are not AWS endpoints", Q);
		start = i + 1;
	}
	for (size_t i = 0; i < len; i++)
		host[i] = lc(value[i]);
	host[len] = '\0';
	*hostlen = len;
	return 0;
#undef Q
}

static int name_is_xfh(const char *n, size_t len)
{
	static const char lit[] = "x-forwarded-host";
	if (len != sizeof(lit) - 1)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (lc(n[i]) != lit[i])
			return 0;
	return 1;
}

int px_target_decide(const struct px_config *cfg, const struct sv4_header *headers, size_t nheaders,
                     struct px_target *out, struct px_refusal *why)
{
	const struct sv4_header *xfh = NULL;
	for (size_t i = 0; i < nheaders; i++) {
		if (!name_is_xfh(headers[i].name, headers[i].namelen))
			continue;
		if (xfh != NULL)
			return px_refuse(why, PX_R_HOST_DUPLICATE,
			                 "the request has more than one X-Forwarded-Host: send exactly one");
		xfh = &headers[i];
	}
	if (xfh == NULL)
		return px_refuse(why, PX_R_HOST_MISSING,
		                 "the request has no X-Forwarded-Host: send the AWS endpoint's host name in it "
		                 "(awsgate proxy aws and awsgate aws do)");

	struct px_target t;
	memset(&t, 0, sizeof(t));
	int rv = px_forwarded_host_parse(xfh->value, xfh->valuelen, t.host, &t.hostlen, why);
	if (rv != 0)
		return rv;
	if (fed_host_classify(t.host, t.hostlen, &t.info) != 0)
		return px_refuse(why, PX_R_HOST_MALFORMED, "X-Forwarded-Host \"%s\" is not a DNS name", t.host);

	switch (t.info.kind) {
	case FED_HOST_NOT_AWS:
		return px_refuse(why, PX_R_ENDPOINT_NOT_AWS,
		                 "X-Forwarded-Host %s is not under an AWS domain: the gate forwards only to AWS "
		                 "service endpoints",
		                 t.host);
	case FED_HOST_SERVICE:
	case FED_HOST_CUSTOMER:
	case FED_HOST_UNRECOGNISED:
		break;
	}
	if (t.info.partition == NULL || (cfg->aws.partitions & px_partition_bit(t.info.partition->name)) == 0)
		return px_refuse(why, PX_R_ENDPOINT_PARTITION,
		                 "X-Forwarded-Host %s is in partition %s, which this gate does not serve: use an "
		                 "endpoint of an allowed partition, or ask the admin to add it to aws.partitions",
		                 t.host, t.info.partition ? t.info.partition->name : "(none)");
	if (t.info.kind == FED_HOST_CUSTOMER && !cfg->aws.allow_customer_endpoints)
		return px_refuse(why, PX_R_ENDPOINT_CUSTOMER,
		                 "X-Forwarded-Host %s is a customer's resource (%s) under an AWS domain, not an AWS "
		                 "service endpoint: address the service's endpoint, or ask the admin to set "
		                 "aws.allow_customer_endpoints",
		                 t.host, t.info.customer ? t.info.customer : "customer");
	if (t.info.kind == FED_HOST_UNRECOGNISED)
		return px_refuse(why, PX_R_ENDPOINT_UNRECOGNISED,
		                 "X-Forwarded-Host %s is under an AWS domain but in no endpoint shape the gate "
		                 "knows: use the service's documented endpoint (service.region.%s)",
		                 t.host, t.info.partition->dns_suffix);

	for (size_t i = 0; i < cfg->aws.nconnect_to; i++) {
		if (cfg->aws.connect_to[i].host != NULL && fnmatch(cfg->aws.connect_to[i].host, t.host, 0) == 0) {
			t.connect_to = &cfg->aws.connect_to[i];
			break;
		}
	}
	*out = t;
	return 0;
}

/* --- addresses ------------------------------------------------------------ */

static enum px_addr_class classify_v4(uint32_t a)
{
	uint32_t b1 = a >> 24, b2 = (a >> 16) & 0xff, b3 = (a >> 8) & 0xff;
	if (a == 0xffffffffu)
		return PX_ADDR_BROADCAST;
	if (b1 == 0)
		return PX_ADDR_UNSPECIFIED;
	if (b1 == 127)
		return PX_ADDR_LOOPBACK;
	if (b1 == 10 || (b1 == 172 && (b2 & 0xf0) == 16) || (b1 == 192 && b2 == 168))
		return PX_ADDR_PRIVATE;
	if (b1 == 100 && (b2 & 0xc0) == 64)
		return PX_ADDR_CGNAT;
	if (a == 0xa9fea9feu) /* 169.254.169.254 */
		return PX_ADDR_METADATA;
	if (b1 == 169 && b2 == 254)
		return PX_ADDR_LINK_LOCAL;
	if (b1 >= 224 && b1 <= 239)
		return PX_ADDR_MULTICAST;
	if (b1 >= 240)
		return PX_ADDR_RESERVED;
	if ((b1 == 192 && b2 == 0 && b3 == 0) || (b1 == 192 && b2 == 0 && b3 == 2) ||
	    (b1 == 198 && (b2 & 0xfe) == 18) || (b1 == 198 && b2 == 51 && b3 == 100) ||
	    (b1 == 203 && b2 == 0 && b3 == 113))
		return PX_ADDR_RESERVED;
	return PX_ADDR_PUBLIC;
}

static uint32_t v4_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* The worse (refused before public) of two classes. */
static enum px_addr_class worse(enum px_addr_class a, enum px_addr_class b)
{
	return a != PX_ADDR_PUBLIC ? a : b;
}

static enum px_addr_class classify_v6(const uint8_t *a)
{
	static const uint8_t metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
	if (all_zero(a, 16))
		return PX_ADDR_UNSPECIFIED;
	if (all_zero(a, 15) && a[15] == 1)
		return PX_ADDR_LOOPBACK;
	/* ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated) */
	if (all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff)
		return classify_v4(v4_at(a + 12));
	if (all_zero(a, 12))
		return classify_v4(v4_at(a + 12));
	/* ::ffff:0:a.b.c.d (SIIT translated) */
	if (all_zero(a, 8) && a[8] == 0xff && a[9] == 0xff && a[10] == 0 && a[11] == 0)
		return classify_v4(v4_at(a + 12));
	/* 64:ff9b::/96 NAT64 well-known prefix */
	static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	if (memcmp(a, nat64, 12) == 0)
		return classify_v4(v4_at(a + 12));
	/* 64:ff9b:1::/48, local-use NAT64: whatever the site maps it to */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0 && a[5] == 1)
		return PX_ADDR_PRIVATE;
	/* 2002::/16 6to4: the IPv4 address in bits 16..47 */
	if (a[0] == 0x20 && a[1] == 0x02)
		return classify_v4(v4_at(a + 2));
	/* 2001::/32 Teredo: server in bits 32..63, client inverted in the last 32 */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0)
		return worse(classify_v4(v4_at(a + 4)), classify_v4(~v4_at(a + 12)));
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return PX_ADDR_RESERVED; /* documentation */
	if (a[0] == 0x01 && a[1] == 0x00 && all_zero(a + 2, 6))
		return PX_ADDR_RESERVED; /* 100::/64 discard */
	if (a[0] == 0xff)
		return PX_ADDR_MULTICAST;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return PX_ADDR_LINK_LOCAL;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return PX_ADDR_PRIVATE; /* fec0::/10 site-local, deprecated but routed inside sites */
	if (memcmp(a, metadata, 16) == 0)
		return PX_ADDR_METADATA;
	if ((a[0] & 0xfe) == 0xfc)
		return PX_ADDR_UNIQUE_LOCAL;
	return PX_ADDR_PUBLIC;
}

enum px_addr_class px_addr_classify(const struct sockaddr *sa, socklen_t salen)
{
	if (sa == NULL)
		return PX_ADDR_UNSUPPORTED;
	if (sa->sa_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof(in));
		return classify_v4(ntohl(in.sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6 && salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 in6;
		memcpy(&in6, sa, sizeof(in6));
		return classify_v6(in6.sin6_addr.s6_addr);
	}
	return PX_ADDR_UNSUPPORTED;
}

const char *px_addr_class_name(enum px_addr_class c)
{
	static const char *const names[] = {
		[PX_ADDR_PUBLIC] = "public",         [PX_ADDR_UNSPECIFIED] = "unspecified",
		[PX_ADDR_LOOPBACK] = "loopback",     [PX_ADDR_PRIVATE] = "private",
		[PX_ADDR_CGNAT] = "cgnat",           [PX_ADDR_LINK_LOCAL] = "link-local",
		[PX_ADDR_METADATA] = "metadata",     [PX_ADDR_UNIQUE_LOCAL] = "unique-local",
		[PX_ADDR_MULTICAST] = "multicast",   [PX_ADDR_BROADCAST] = "broadcast",
		[PX_ADDR_RESERVED] = "reserved",     [PX_ADDR_UNSUPPORTED] = "unsupported",
	};
	if ((unsigned)c >= sizeof(names) / sizeof(names[0]))
		return "unsupported";
	return names[c];
}

static void addr_text(const struct sockaddr_storage *ss, char *dst, size_t size)
{
	const void *src = NULL;
	if (ss->ss_family == AF_INET)
		src = &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	if (src == NULL || inet_ntop(ss->ss_family, src, dst, (socklen_t)size) == NULL)
		snprintf(dst, size, "(family %d)", (int)ss->ss_family);
}

int px_target_pick_address(const struct px_config *cfg, const struct px_target *t,
                           const struct sockaddr_storage *addrs, size_t n, size_t *index, struct px_refusal *why)
{
	bool trusted = cfg->aws.allow_private_addresses || t->connect_to != NULL;
	size_t first_refused = n;
	enum px_addr_class first_class = PX_ADDR_UNSUPPORTED;
	for (size_t i = 0; i < n; i++) {
		enum px_addr_class c = px_addr_classify((const struct sockaddr *)(const void *)&addrs[i],
		                                        (socklen_t)sizeof(addrs[i]));
		if (c == PX_ADDR_UNSUPPORTED)
			continue;
		if (c == PX_ADDR_PUBLIC || trusted) {
			*index = i;
			return 0;
		}
		if (first_refused == n) {
			first_refused = i;
			first_class = c;
		}
	}
	if (first_refused == n)
		return px_refuse(why, PX_R_ADDRESS_NONE,
		                 "%s resolved to no IPv4 or IPv6 address: check the name, or the gate's DNS", t->host);
	char text[INET6_ADDRSTRLEN + 16];
	addr_text(&addrs[first_refused], text, sizeof(text));
	return px_refuse(why, PX_R_ADDRESS_PRIVATE,
	                 "%s resolved to %s (%s) and no public address: the gate does not connect to loopback, "
	                 "private, link-local or metadata addresses; ask the admin for an aws.connect_to entry "
	                 "or aws.allow_private_addresses",
	                 t->host, text, px_addr_class_name(first_class));
}
