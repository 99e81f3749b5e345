/* SPDX-License-Identifier: Apache-2.0 */
/* duration.c: the one duration grammar of every flag and configuration value. */
#include "rbac.h"

int rbac_duration_parse(const char *s, uint32_t *secs)
{
	static const struct {
		char unit;
		uint32_t scale;
	} units[] = {{'h', 3600}, {'m', 60}, {'s', 1}};
	uint64_t total = 0;
	size_t next_unit = 0; /* units must come in order, each once */
	const char *p = s;

	if (s == NULL || *s == '\0')
		return RBAC_ERR_DURATION;
	while (*p != '\0') {
		uint64_t n = 0;
		const char *digits = p;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > UINT32_MAX)
				return RBAC_ERR_RANGE;
			p++;
		}
		if (p == digits)
			return RBAC_ERR_DURATION;
		if (*p == '\0') {
			/* A bare integer: seconds, and only on its own. */
			if (digits != s)
				return RBAC_ERR_DURATION;
			total = n;
			break;
		}
		size_t u = next_unit;
		while (u < sizeof(units) / sizeof(units[0]) && units[u].unit != *p)
			u++;
		if (u == sizeof(units) / sizeof(units[0]))
			return RBAC_ERR_DURATION;
		total += n * units[u].scale;
		if (total > UINT32_MAX)
			return RBAC_ERR_RANGE;
		next_unit = u + 1;
		p++;
	}
	*secs = (uint32_t)total;
	return 0;
}
