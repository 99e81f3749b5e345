/* SPDX-License-Identifier: Apache-2.0 */
/* error.c: federation's error strings. */
#include "federation/federation.h"

const char *fed_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case FED_ERR_NOMEM: return "out of memory";
	case FED_ERR_INVALID: return "invalid argument";
	case FED_ERR_TOO_LARGE: return "input or response too large";
	case FED_ERR_TRANSPORT: return "could not reach the endpoint";
	case FED_ERR_TIMEOUT: return "timed out";
	case FED_ERR_CANCELLED: return "cancelled";
	case FED_ERR_PARSE: return "malformed response";
	case FED_ERR_DENIED: return "access denied";
	case FED_ERR_REJECTED: return "request rejected as invalid";
	case FED_ERR_THROTTLED: return "throttled, retries exhausted";
	case FED_ERR_UNAVAILABLE: return "service unavailable, retries exhausted";
	case FED_ERR_NO_CREDENTIALS: return "no AWS credentials found";
	case FED_ERR_CONFIG: return "AWS configuration error";
	case FED_ERR_SESSION_TOO_SHORT: return "session has under 15 minutes left";
	case FED_ERR_EXPIRED: return "credentials expired";
	default: return "unknown error";
	}
}
