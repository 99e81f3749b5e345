/* SPDX-License-Identifier: Apache-2.0 */
/* explain.c: a decision in words a person can act on. */
#include <stdio.h>
#include <string.h>

#include "rbac_int.h"

/* From days since the epoch (Howard Hinnant's civil_from_days), without
 * gmtime(). */
void rbac_time_format(int64_t t, char *buf, size_t size)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	snprintf(buf, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y, (long long)m, (long long)d,
		 (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60));
}

static void ttl_format(uint32_t s, char *buf, size_t size)
{
	if (s % 3600 == 0)
		snprintf(buf, size, "%uh", s / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%uh%um%us", s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, size, "%um%us", s / 60, s % 60);
	else
		snprintf(buf, size, "%us", s);
}

/* The subject's role names, comma-separated. */
static void roles_list(const struct rbac_subject *s, char *buf, size_t size)
{
	const char *name;
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; (name = rbac_subject_role_at(s, i)) != NULL && used < size; i++) {
		int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

size_t rbac_decision_explain(const struct rbac_decision *d, const struct rbac_subject *s,
			     const struct rbac_app *app, const char *arn, char *buf, size_t size)
{
	const char *user = rbac_subject_user(s);
	const char *account = rbac_app_label(app, "aws_account_id");
	char t[96], roles[256];
	struct rbac_arn a;
	int n = 0;

	switch (d->reason) {
	case RBAC_ALLOWED:
		ttl_format(d->session_ttl, t, sizeof(t));
		n = snprintf(buf, size, "allowed: role \"%s\" lets user \"%s\" use %s in app \"%s\" (%s: \"%s\"); the session may last %s",
			     d->role, user, arn, app->name, d->rule, d->pattern, t);
		break;
	case RBAC_DENY_NOT_YET_VALID:
		n = snprintf(buf, size,
			     "denied: the certificate of user \"%s\" is not valid yet; check this machine's clock or wait",
			     user);
		break;
	case RBAC_DENY_EXPIRED:
		n = snprintf(buf, size, "denied: the certificate of user \"%s\" has expired; log in again for a new one",
			     user);
		break;
	case RBAC_DENY_LOCKED: {
		struct rbac_lock_info li;
		int64_t exp = 0;
		for (size_t i = 0; rbac_policy_lock_at(rbac_subject_policy(s), i, &li) == 0; i++)
			if (strcmp(li.name, d->lock) == 0)
				exp = li.expires;
		if (exp != 0)
			rbac_time_format(exp, t, sizeof(t));
		n = snprintf(buf, size, "denied: lock \"%s\" on %s \"%s\"%s%s%s%s%s; an administrator can remove it with `awsgatectl lock rm %s`",
			     d->lock, d->role ? "role" : "user", d->role ? d->role : user, exp ? " until " : "",
			     exp ? t : "", d->message ? ": \"" : "", d->message ? d->message : "",
			     d->message ? "\"" : "", d->lock);
		break;
	}
	case RBAC_DENY_BAD_ARN:
		n = snprintf(buf, size, "denied: \"%s\" is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)",
			     arn);
		break;
	case RBAC_DENY_ACCOUNT:
		rbac_arn_parse(arn, strlen(arn), &a);
		n = snprintf(buf, size,
			     "denied: %s is a role of account %.12s, but app \"%s\" is account %s; choose a role of that "
			     "account, or another app",
			     arn, a.account, app->name, account);
		break;
	case RBAC_DENY_RULE_APP:
		n = snprintf(buf, size,
			     "denied: role \"%s\" denies app \"%s\" entirely (its spec.deny.app_labels match the app's "
			     "labels); an administrator must take that role from user \"%s\" or change its deny rule",
			     d->role, app->name, user);
		break;
	case RBAC_DENY_RULE_ARN:
		n = snprintf(buf, size, "denied: role \"%s\" denies %s in app \"%s\" (%s: \"%s\"); deny rules win over any allow",
			     d->role, arn, app->name, d->rule, d->pattern);
		break;
	case RBAC_DENY_NO_ROLES:
		n = snprintf(buf, size,
			     "denied: user \"%s\" has no roles: its certificate carries none and no user resource gives it "
			     "any (or none of its roles is defined)",
			     user);
		break;
	case RBAC_DENY_NO_APP:
		roles_list(s, roles, sizeof(roles));
		n = snprintf(buf, size,
			     "denied: no role of user \"%s\" (%s) allows app \"%s\": no allow.app_labels match the app's "
			     "labels",
			     user, roles, app->name);
		break;
	case RBAC_DENY_NO_ARN:
		roles_list(s, roles, sizeof(roles));
		n = snprintf(buf, size,
			     "denied: roles of user \"%s\" (%s) allow app \"%s\", but none allows %s in its "
			     "allow.aws_role_arns; `awsgatectl rbac roles` lists the roles the user may use",
			     user, roles, app->name, arn);
		break;
	}
	if (n < 0) {
		if (size > 0)
			buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}
