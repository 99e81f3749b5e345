/* SPDX-License-Identifier: Apache-2.0 */
/* time.c: the ISO 8601 basic time format SigV4 uses, without gmtime(). */
#include "sigv4.h"

/* Days since 1970-01-01 of a proleptic Gregorian date, and back: the
 * era-based conversion (400-year cycles of 146097 days). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 0001-01-01 .. 9999-12-31: what four digits of year can say. */
#define MAX_TIME INT64_C(253402300799)

static void put_digits(char *dst, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		dst[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

int sv4_format_time(char dst[17], int64_t t)
{
	if (t < 0 || t > MAX_TIME)
		return SV4_ERR_BAD_TIME;
	int64_t days = t / 86400;
	unsigned secs = (unsigned)(t % 86400);
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	put_digits(dst, (unsigned)y, 4);
	put_digits(dst + 4, m, 2);
	put_digits(dst + 6, d, 2);
	dst[8] = 'T';
	put_digits(dst + 9, secs / 3600, 2);
	put_digits(dst + 11, secs / 60 % 60, 2);
	put_digits(dst + 13, secs % 60, 2);
	dst[15] = 'Z';
	dst[16] = '\0';
	return 0;
}

static int get_digits(const char *s, int n, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

int sv4_parse_time(const char *s, size_t len, int64_t *t)
{
	unsigned y, mo, d, h, mi, sec;
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (len != 16 || s[8] != 'T' || s[15] != 'Z' || get_digits(s, 4, &y) || get_digits(s + 4, 2, &mo) ||
	    get_digits(s + 6, 2, &d) || get_digits(s + 9, 2, &h) || get_digits(s + 11, 2, &mi) ||
	    get_digits(s + 13, 2, &sec))
		return SV4_ERR_BAD_TIME;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
		return SV4_ERR_BAD_TIME;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return SV4_ERR_BAD_TIME;
	*t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}
