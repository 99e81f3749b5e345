/* SPDX-License-Identifier: Apache-2.0 */
/* duration.c: the one duration grammar of every flag and configuration value (rbac owns it). */
#include "proxy.h"
#include "rbac/rbac.h"

int px_duration_parse(const char *s, uint32_t *secs)
{
	int rv = rbac_duration_parse(s, secs);

	if (rv == RBAC_ERR_RANGE)
		return PX_ERR_RANGE;
	return rv == 0 ? 0 : PX_ERR_DURATION;
}
