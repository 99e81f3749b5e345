/* SPDX-License-Identifier: Apache-2.0 */
/* error.c: the text of rbac's error codes. */
#include "rbac.h"

const char *rbac_strerror(int code)
{
	switch (code) {
	case 0:
		return "success";
	case RBAC_ERR_NOMEM:
		return "out of memory";
	case RBAC_ERR_SYNTAX:
		return "not valid JSON";
	case RBAC_ERR_INVALID:
		return "invalid value";
	case RBAC_ERR_DUPLICATE:
		return "defined twice";
	case RBAC_ERR_NOT_FOUND:
		return "not found";
	case RBAC_ERR_AMBIGUOUS:
		return "ambiguous name";
	case RBAC_ERR_CERT:
		return "unusable certificate";
	case RBAC_ERR_TOO_LARGE:
		return "too large";
	case RBAC_ERR_CRYPTO:
		return "cryptographic operation failed";
	case RBAC_ERR_DURATION:
		return "not a duration (use 90s, 15m, 8h, 1h30m or seconds)";
	case RBAC_ERR_RANGE:
		return "number out of range";
	}
	return "unknown error";
}
