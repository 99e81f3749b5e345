/* SPDX-License-Identifier: Apache-2.0 */
/* presign.c: the target of a presign request: the URL parsed and its host checked as X-Forwarded-Host is. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "presign.h"
#include "proxy.h"

static int refuse(struct px_deny *why, int status, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(struct px_deny *why, int status, const char *reason, const char *fmt, ...)
{
	va_list ap;

	why->status = status;
	why->reason = reason;
	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int px_presign_target(const char *url, const char *service, const char *region, bool allow_customer,
		      unsigned partitions, struct px_presign_target *out, struct px_deny *why)
{
	struct px_presign_target t;
	struct fed_host_info hi;
	const char *a, *end, *colon;
	unsigned port = 443;
	size_t hlen, ulen;
	bool rds_token;

	if (url == NULL || strncmp(url, "https://", 8) != 0)
		return refuse(why, 400, "bad-url", "\"url\" must be an https:// URL of an AWS endpoint");
	ulen = strnlen(url, PX_PRESIGN_MAX_URL + 1);
	if (ulen > PX_PRESIGN_MAX_URL)
		return refuse(why, 400, "bad-url", "\"url\" is over %d bytes", PX_PRESIGN_MAX_URL);
	for (size_t i = 0; i < ulen; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c < 0x21 || c >= 0x7f || c == '"' || c == '\\' || c == '#')
			return refuse(why, 400, "bad-url",
				      "\"url\" must be printable ASCII without spaces, quotes, backslashes or a fragment: "
				      "percent-encode the rest");
	}
	memset(&t, 0, sizeof(t));
	a = url + 8;
	end = a + strcspn(a, "/?");
	if (memchr(a, '@', (size_t)(end - a)) != NULL)
		return refuse(why, 400, "bad-url", "\"url\" must not carry a user name or password");
	colon = memchr(a, ':', (size_t)(end - a));
	hlen = (size_t)((colon ? colon : end) - a);
	if (hlen == 0 || hlen > FED_MAX_HOST)
		return refuse(why, 400, "bad-url", "\"url\" has no host name, or one over %d bytes", FED_MAX_HOST);
	if (colon != NULL) {
		unsigned long v = 0;
		if (colon + 1 == end || end - colon > 6)
			return refuse(why, 400, "bad-url", "\"url\" has a bad port");
		for (const char *p = colon + 1; p < end; p++) {
			if (*p < '0' || *p > '9')
				return refuse(why, 400, "bad-url", "\"url\" has a bad port");
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v == 0 || v > 65535)
			return refuse(why, 400, "bad-url", "\"url\" has a bad port");
		port = (unsigned)v;
	}
	for (size_t i = 0; i < hlen; i++)
		t.host[i] = (char)(a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]);
	t.host[hlen] = '\0';
	if (fed_host_classify(t.host, hlen, &hi) != 0)
		return refuse(why, 400, "bad-host",
			      "\"url\": %s is not a DNS name (IP addresses and trailing dots are refused)", t.host);
	if (hi.kind == FED_HOST_NOT_AWS)
		return refuse(why, 403, "not-aws-endpoint",
			      "\"url\": %s is not an AWS endpoint; the gate presigns for AWS only", t.host);
	if (hi.kind == FED_HOST_UNRECOGNISED)
		return refuse(why, 403, "unrecognised-endpoint",
			      "\"url\": %s is under an AWS domain but is no endpoint the gate knows; ask the gate's admin",
			      t.host);
	/* A customer's name (an EC2 instance, a load balancer) is refused as
	 * for X-Forwarded-Host, except an RDS database for an IAM auth token:
	 * that token is the purpose of the name, and the gate connects nowhere. */
	rds_token = hi.kind == FED_HOST_CUSTOMER && hi.customer != NULL && strcmp(hi.customer, "rds-instance") == 0 &&
		    service != NULL && strcmp(service, "rds-db") == 0;
	if (hi.kind == FED_HOST_CUSTOMER && !rds_token && !allow_customer)
		return refuse(why, 403, "customer-endpoint",
			      "\"url\": %s names a customer's resource (%s), not an AWS service endpoint; refused unless "
			      "the gate's admin sets aws.allow_customer_endpoints",
			      t.host, hi.customer ? hi.customer : "?");
	if (port != 443 && !rds_token)
		return refuse(why, 403, "bad-port",
			      "\"url\": only port 443 is allowed (other ports: RDS IAM tokens, service rds-db)");
	if ((px_partition_bit(hi.partition->name) & partitions) == 0)
		return refuse(why, 403, "partition-mismatch", "\"url\": %s is in partition %s, which the gate does not serve",
			      t.host, hi.partition->name);
	t.partition = hi.partition->name;
	snprintf(t.hostport, sizeof(t.hostport), port == 443 ? "%s" : "%s:%u", t.host, port);
	if (service != NULL && *service != '\0') {
		if (strlen(service) > FED_MAX_SERVICE)
			return refuse(why, 400, "bad-scope", "\"service\" is over %d bytes", FED_MAX_SERVICE);
		snprintf(t.service, sizeof(t.service), "%s", service);
	} else {
		snprintf(t.service, sizeof(t.service), "%s", hi.service);
	}
	if (region != NULL && *region != '\0') {
		if (strlen(region) > FED_MAX_REGION)
			return refuse(why, 400, "bad-scope", "\"region\" is over %d bytes", FED_MAX_REGION);
		snprintf(t.region, sizeof(t.region), "%s", region);
	} else if (hi.region[0] != '\0') {
		snprintf(t.region, sizeof(t.region), "%s", hi.region);
	} else if (!rds_token && hi.partition->global_region != NULL) {
		snprintf(t.region, sizeof(t.region), "%s", hi.partition->global_region);
	}
	if (t.service[0] == '\0' || t.region[0] == '\0')
		return refuse(why, 400, "bad-scope", "cannot tell the %s of %s: give \"%s\"",
			      t.service[0] == '\0' ? "service" : "region", t.host,
			      t.service[0] == '\0' ? "service" : "region");
	t.path = end;
	t.pathlen = strcspn(end, "?");
	t.query = end[t.pathlen] == '?' ? end + t.pathlen + 1 : "";
	t.querylen = strlen(t.query);
	if (t.pathlen == 0) {
		t.path = "/";
		t.pathlen = 1;
	}
	*out = t;
	return 0;
}
