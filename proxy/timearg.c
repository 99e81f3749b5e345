/* SPDX-License-Identifier: Apache-2.0 */
/* timearg.c: times given on command lines. */
#include <string.h>

#include "proxy.h"
#include "sigv4/sigv4.h"

int px_time_parse(const char *s, int64_t *t)
{
	size_t n = strlen(s);
	char basic[16];

	if (n == 16)
		return sv4_parse_time(s, n, t) == 0 ? 0 : PX_ERR_RANGE;
	/* 2015-08-30T12:36:00Z -> 20150830T123600Z */
	if (n == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z') {
		memcpy(basic, s, 4);
		memcpy(basic + 4, s + 5, 2);
		memcpy(basic + 6, s + 8, 2);
		basic[8] = 'T';
		memcpy(basic + 9, s + 11, 2);
		memcpy(basic + 11, s + 14, 2);
		memcpy(basic + 13, s + 17, 2);
		basic[15] = 'Z';
		return sv4_parse_time(basic, 16, t) == 0 ? 0 : PX_ERR_RANGE;
	}
	/* Seconds since the epoch. */
	if (n == 0 || n > 12)
		return PX_ERR_RANGE;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PX_ERR_RANGE;
		v = v * 10 + (s[i] - '0');
	}
	char check[17];
	if (sv4_format_time(check, v) != 0)
		return PX_ERR_RANGE;
	*t = v;
	return 0;
}
