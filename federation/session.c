/* SPDX-License-Identifier: Apache-2.0 */
/* session.c: RoleSessionName from a user name, and the DurationSeconds to ask STS for. */
#include <string.h>

#include "federation/federation.h"
#include "sigv4/sigv4.h"

static int allowed(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
	       c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}

int fed_session_name(const char *user, char dst[FED_SESSION_NAME_MAX + 1])
{
	char name[FED_SESSION_MAX_USER + 1];
	size_t n = 0;
	bool changed = false;

	if (user == NULL || user[0] == '\0' || strlen(user) > FED_SESSION_MAX_USER)
		return FED_ERR_INVALID;
	for (const unsigned char *p = (const unsigned char *)user; *p != '\0';) {
		if (allowed(*p)) {
			name[n++] = (char)*p++;
			continue;
		}
		/* One '_' for a whole UTF-8 character (lead byte and its
		 * continuation bytes), so "Jürgen" becomes "J_rgen". */
		name[n++] = '_';
		changed = true;
		p++;
		while ((*p & 0xc0) == 0x80)
			p++;
	}
	name[n] = '\0';
	if (!changed && n >= FED_SESSION_NAME_MIN && n <= FED_SESSION_NAME_MAX) {
		memcpy(dst, name, n + 1);
		return 0;
	}
	char hex[65];
	if (sv4_sha256_hex(user, strlen(user), hex) != 0)
		return FED_ERR_NOMEM;
	size_t keep = FED_SESSION_NAME_MAX - 1 - FED_SESSION_HASH_HEX;
	if (n > keep)
		n = keep;
	memcpy(dst, name, n);
	dst[n++] = '-';
	memcpy(dst + n, hex, FED_SESSION_HASH_HEX);
	dst[n + FED_SESSION_HASH_HEX] = '\0';
	return 0;
}

int fed_session_duration(uint32_t requested, int64_t user_left_s, uint32_t role_max, bool chained, uint32_t *out)
{
	int64_t d = requested ? requested : FED_SESSION_DEFAULT_DURATION;
	int64_t rmax = role_max ? role_max : FED_SESSION_ROLE_DEFAULT_MAX;
	if (d > rmax)
		d = rmax;
	if (d > FED_SESSION_MAX_DURATION)
		d = FED_SESSION_MAX_DURATION;
	if (chained && d > FED_SESSION_CHAINED_MAX)
		d = FED_SESSION_CHAINED_MAX;
	if (d > user_left_s)
		d = user_left_s;
	if (d < FED_STS_MIN_DURATION)
		return FED_ERR_SESSION_TOO_SHORT;
	*out = (uint32_t)d;
	return 0;
}
