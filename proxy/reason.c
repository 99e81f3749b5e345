/* SPDX-License-Identifier: Apache-2.0 */
/* reason.c: the table of refusal reasons (name, status, AWS codes) and the refusal message helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proxy/pipeline.h"

/* AWS codes: authorisation failures are AccessDenied (never retried by the
 * SDKs); malformed input InvalidRequest in the XML protocols and
 * ValidationException in the JSON ones, as the services themselves say;
 * the gateway's own 5xx use AWS's common names. */
#define DENY "AccessDenied", "AccessDeniedException"
#define BAD "InvalidRequest", "ValidationException"

static const struct px_reason_info reasons[PX_R_COUNT] = {
	[PX_R_NONE] = {"none", 200, "", ""},
	[PX_R_HOST_MISSING] = {"forwarded-host-missing", 400, BAD},
	[PX_R_HOST_DUPLICATE] = {"forwarded-host-duplicate", 400, BAD},
	[PX_R_HOST_MALFORMED] = {"forwarded-host-malformed", 400, BAD},
	[PX_R_HOST_PORT] = {"forwarded-host-port", 400, BAD},
	[PX_R_HOST_IP_LITERAL] = {"forwarded-host-ip-literal", 400, BAD},
	[PX_R_HOST_IDN] = {"forwarded-host-idn", 400, BAD},
	[PX_R_HOST_TOO_LONG] = {"forwarded-host-too-long", 400, BAD},
	[PX_R_ENDPOINT_NOT_AWS] = {"endpoint-not-aws", 403, DENY},
	[PX_R_ENDPOINT_PARTITION] = {"endpoint-partition", 403, DENY},
	[PX_R_ENDPOINT_CUSTOMER] = {"endpoint-customer", 403, DENY},
	[PX_R_ENDPOINT_UNRECOGNISED] = {"endpoint-unrecognised", 403, DENY},
	[PX_R_ADDRESS_PRIVATE] = {"address-private", 403, DENY},
	[PX_R_ADDRESS_NONE] = {"address-none", 502, "BadGateway", "BadGatewayException"},
	[PX_R_NO_CERTIFICATE] = {"no-client-certificate", 403, DENY},
	[PX_R_LOCKED] = {"locked", 403, DENY},
	[PX_R_ROLE_DENIED] = {"role-denied", 403, DENY},
	[PX_R_APP_AMBIGUOUS] = {"app-ambiguous", 400, BAD},
	[PX_R_ROLE_AMBIGUOUS] = {"role-ambiguous", 400, BAD},
	[PX_R_SESSION_TOO_SHORT] = {"session-too-short", 403, DENY},
	[PX_R_SIGNATURE_MALFORMED] = {"signature-malformed", 400, BAD},
	[PX_R_SIGNATURE_UNSUPPORTED] = {"signature-unsupported", 400, BAD},
	[PX_R_PRESIGN_EXPIRED] = {"presign-expired", 403, DENY},
	[PX_R_SCOPE_UNKNOWN] = {"scope-unknown", 400, BAD},
	[PX_R_REQUEST_MALFORMED] = {"request-malformed", 400, BAD},
	[PX_R_PAYLOAD_TOO_LARGE] = {"payload-too-large", 413, "RequestEntityTooLarge", "RequestEntityTooLargeException"},
	[PX_R_SOURCE_IDENTITY] = {"source-identity-mismatch", 403, DENY},
	[PX_R_STS_DENIED] = {"sts-denied", 403, DENY},
	[PX_R_STS_UNAVAILABLE] = {"sts-unavailable", 503, "ServiceUnavailable", "ServiceUnavailableException"},
	[PX_R_UPSTREAM_CONNECT] = {"upstream-connect", 502, "BadGateway", "BadGatewayException"},
	[PX_R_UPSTREAM_TLS] = {"upstream-tls", 502, "BadGateway", "BadGatewayException"},
	[PX_R_UPSTREAM_TIMEOUT] = {"upstream-timeout", 504, "GatewayTimeout", "GatewayTimeoutException"},
	[PX_R_UPSTREAM_ERROR] = {"upstream-error", 502, "BadGateway", "BadGatewayException"},
	[PX_R_INTERNAL] = {"internal", 500, "InternalFailure", "InternalFailure"},
};

const struct px_reason_info *px_reason_info(enum px_reason r)
{
	if ((unsigned)r >= PX_R_COUNT || r == PX_R_NONE)
		return &reasons[PX_R_INTERNAL];
	return &reasons[r];
}

int px_refuse(struct px_refusal *why, enum px_reason reason, const char *fmt, ...)
{
	if (why != NULL) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(why->message, sizeof(why->message), fmt, ap);
		va_end(ap);
		if (n < 0)
			why->message[0] = '\0';
		why->reason = reason;
	}
	return PX_ERR_REFUSED;
}

void px_quote(char *dst, size_t size, const char *s, size_t len, size_t max)
{
	if (size == 0)
		return;
	size_t take = len > max ? max : len, room = size - 1, n = 0;
	bool cut = take < len || take > room;
	if (cut)
		room = room >= 3 ? room - 3 : 0;
	for (size_t i = 0; i < take && n < room; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (cut && n + 3 <= size - 1) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}
