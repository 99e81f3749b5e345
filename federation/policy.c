/* SPDX-License-Identifier: Apache-2.0 */
/* policy.c: the IAM trust and permission policies the gate needs, and what an AccessDenied from AssumeRole most likely lacks. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "federation/federation.h"
#include "federation/federation_int.h"

#define MAX_ARN 2048

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Splits arn:<partition>:<service>:<region>:<account>:<resource>. */
struct arn {
	char partition[16];
	char service[16];
	char account[16];
	const char *resource;
};

static bool arn_parse(const char *s, struct arn *a)
{
	if (s == NULL || strlen(s) > MAX_ARN || strncmp(s, "arn:", 4) != 0)
		return false;
	for (const char *c = s; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || *c == '"' || *c == 0x7f)
			return false;
	/* partition, service, region, account; the resource is the rest. */
	const char *parts[4];
	size_t lens[4];
	const char *p = s + 4;
	for (int i = 0; i < 4; i++) {
		const char *c = strchr(p, ':');
		if (c == NULL)
			return false;
		parts[i] = p;
		lens[i] = (size_t)(c - p);
		p = c + 1;
	}
	if (lens[0] == 0 || lens[0] >= sizeof(a->partition) || lens[1] == 0 || lens[1] >= sizeof(a->service) ||
	    lens[3] >= sizeof(a->account) || (lens[3] != 0 && !all_digits(parts[3], lens[3])))
		return false;
	memcpy(a->partition, parts[0], lens[0]);
	a->partition[lens[0]] = '\0';
	memcpy(a->service, parts[1], lens[1]);
	a->service[lens[1]] = '\0';
	memcpy(a->account, parts[3], lens[3]);
	a->account[lens[3]] = '\0';
	a->resource = p;
	return fed_partition_by_name(a->partition) != NULL;
}

static int role_arn_check(const char *role_arn, struct arn *a)
{
	if (!arn_parse(role_arn, a) || strcmp(a->service, "iam") != 0 || strlen(a->account) != 12 ||
	    strncmp(a->resource, "role/", 5) != 0 || a->resource[5] == '\0')
		return FED_ERR_INVALID;
	return 0;
}

/* The principal to name in the trust policy, in |out|. */
static int principal_of(const char *gate, const struct arn *role, char *out, size_t size)
{
	struct fed_buf b;
	fed_buf_init_fixed(&b, out, size);
	if (gate == NULL)
		return FED_ERR_INVALID;
	if (strlen(gate) == 12 && all_digits(gate, 12)) {
		fed_buf_adds(&b, "arn:");
		fed_buf_adds(&b, role->partition);
		fed_buf_adds(&b, ":iam::");
		fed_buf_adds(&b, gate);
		fed_buf_adds(&b, ":root");
		return b.err ? FED_ERR_INVALID : 0;
	}
	struct arn g;
	if (!arn_parse(gate, &g) || strlen(g.account) != 12)
		return FED_ERR_INVALID;
	if (strcmp(g.service, "iam") == 0 && (strncmp(g.resource, "role/", 5) == 0 ||
	                                      strncmp(g.resource, "user/", 5) == 0 || strcmp(g.resource, "root") == 0)) {
		fed_buf_adds(&b, gate);
		return b.err ? FED_ERR_INVALID : 0;
	}
	if (strcmp(g.service, "sts") == 0 && strncmp(g.resource, "assumed-role/", 13) == 0) {
		/* assumed-role/<role>/<session>: trust names the role (a path, if
		 * the role has one, is not in this ARN: the admin adds it). */
		const char *r = g.resource + 13;
		const char *slash = strchr(r, '/');
		if (slash == NULL || slash == r)
			return FED_ERR_INVALID;
		fed_buf_adds(&b, "arn:");
		fed_buf_adds(&b, g.partition);
		fed_buf_adds(&b, ":iam::");
		fed_buf_adds(&b, g.account);
		fed_buf_adds(&b, ":role/");
		fed_buf_add(&b, r, (size_t)(slash - r));
		return b.err ? FED_ERR_INVALID : 0;
	}
	return FED_ERR_INVALID;
}

static json_t *actions(const struct fed_policy_params *p)
{
	json_t *a = json_array();
	if (a == NULL)
		return NULL;
	json_array_append_new(a, json_string("sts:AssumeRole"));
	if (p->source_identity)
		json_array_append_new(a, json_string("sts:SetSourceIdentity"));
	if (p->tag_session)
		json_array_append_new(a, json_string("sts:TagSession"));
	return a;
}

static int dump(json_t *doc, char **json)
{
	if (doc == NULL)
		return FED_ERR_NOMEM;
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (s == NULL)
		return FED_ERR_NOMEM;
	*json = s;
	return 0;
}

int fed_policy_trust(const struct fed_policy_params *p, char **json)
{
	struct arn role;
	char principal[MAX_ARN + 1];
	if (p == NULL || json == NULL || role_arn_check(p->role_arn, &role) != 0 ||
	    principal_of(p->gate_principal, &role, principal, sizeof(principal)) != 0)
		return FED_ERR_INVALID;
	if (p->external_id != NULL && (strlen(p->external_id) < 2 || strlen(p->external_id) > 1224))
		return FED_ERR_INVALID;
	/* One statement: SetSourceIdentity and TagSession are evaluated within
	 * the same AssumeRole call, whose context carries the external ID. */
	json_t *st = json_pack("{s:s, s:s, s:{s:s}, s:o}", "Sid", "AwsgateAssumeRole", "Effect", "Allow", "Principal",
	                       "AWS", principal, "Action", actions(p));
	if (st != NULL && p->external_id != NULL)
		json_object_set_new(st, "Condition",
		                    json_pack("{s:{s:s}}", "StringEquals", "sts:ExternalId", p->external_id));
	json_t *doc = st ? json_pack("{s:s, s:[o]}", "Version", "2012-10-17", "Statement", st) : NULL;
	return dump(doc, json);
}

int fed_policy_permissions(const struct fed_policy_params *p, char **json)
{
	struct arn role;
	if (p == NULL || json == NULL || role_arn_check(p->role_arn, &role) != 0)
		return FED_ERR_INVALID;
	json_t *st = json_pack("{s:s, s:s, s:o, s:s}", "Sid", "AwsgateAssumeTargetRole", "Effect", "Allow", "Action",
	                       actions(p), "Resource", p->role_arn);
	json_t *doc = st ? json_pack("{s:s, s:[o]}", "Version", "2012-10-17", "Statement", st) : NULL;
	return dump(doc, json);
}

unsigned fed_policy_explain_denied(const char *message, const struct fed_policy_sent *sent, char *text, size_t size)
{
	struct fed_buf b;
	unsigned bits = 0;
	const char *msg = message ? message : "";
	bool identity = strstr(msg, "no identity-based policy allows") != NULL;
	bool resource = strstr(msg, "no resource-based policy allows") != NULL;
	const char *perform = strstr(msg, "perform: ");
	const char *action = perform ? perform + 9 : NULL;

	fed_buf_init_fixed(&b, text, size);
	if (action != NULL && strncmp(action, "sts:SetSourceIdentity", 21) == 0) {
		bits = FED_POLICY_SET_SOURCE_IDENTITY;
		fed_buf_adds(&b, "The gate sets SourceIdentity to the user name, which needs sts:SetSourceIdentity");
		fed_buf_adds(&b, identity ? " in the gate's own permission policy"
		                          : " in the role's trust policy (and the gate's permission policy)");
		fed_buf_adds(&b, ". Add it (see `awsgatectl aws iam-policy`), or turn source identity off for this app.");
	} else if (action != NULL && strncmp(action, "sts:TagSession", 14) == 0) {
		bits = FED_POLICY_TAG_SESSION;
		fed_buf_adds(&b, "The gate passes session tags, which need sts:TagSession");
		fed_buf_adds(&b, identity ? " in the gate's own permission policy"
		                          : " in the role's trust policy (and the gate's permission policy)");
		fed_buf_adds(&b, ". Add it (see `awsgatectl aws iam-policy`), or configure no session tags.");
	} else if (action != NULL && strncmp(action, "sts:AssumeRole", 14) == 0 &&
	           (action[14] == ' ' || action[14] == '\0')) {
		if (identity) {
			bits = FED_POLICY_GATE_ASSUME_ROLE;
			fed_buf_adds(&b, "The gate's own identity may not call sts:AssumeRole on this role: add the "
			                 "permission policy `awsgatectl aws iam-policy` prints to it.");
		} else {
			bits = FED_POLICY_TRUST_ASSUME_ROLE | (resource ? 0 : FED_POLICY_GATE_ASSUME_ROLE);
			fed_buf_adds(&b, "The role's trust policy does not let the gate assume it");
			if (sent != NULL && sent->external_id) {
				bits |= FED_POLICY_EXTERNAL_ID;
				fed_buf_adds(&b, ", or its sts:ExternalId condition does not match the app's external_id");
			} else {
				fed_buf_adds(&b, " (if it has an sts:ExternalId condition, set the app's external_id)");
			}
			if (!resource)
				fed_buf_adds(&b, "; or the gate's own permission policy lacks sts:AssumeRole on the role");
			fed_buf_adds(&b, ". Compare with `awsgatectl aws iam-policy`.");
		}
	} else {
		fed_buf_adds(&b, "AWS denied the call and its message does not say which permission is missing.");
		if (sent != NULL && (sent->source_identity || sent->tags))
			fed_buf_adds(&b, " The gate also sent SourceIdentity or session tags, which need "
			                 "sts:SetSourceIdentity and sts:TagSession.");
	}
	return bits;
}
