/* SPDX-License-Identifier: Apache-2.0 */
/* subject.c: an identity's roles expanded and indexed once, then decisions that allocate nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

/*
 * The index. Every ARN pattern of the subject's roles, allow and deny, is
 * keyed by its literal prefix: (length, FNV-1a hash of those bytes). A
 * decision walks the ARN once, hashing as it goes, and at each length that
 * some prefix has, probes the table: it meets exactly the patterns whose
 * literal prefix the ARN starts with. Exact patterns are the prefix of
 * themselves, so the common case costs one probe; globs and regexes behind
 * an account's prefix are tried only for ARNs of that account.
 */
#define NO_ENTRY UINT32_MAX
#define ROLE_WORDS ((RBAC_MAX_ROLES + 63) / 64)
/* Per-app results, direct-mapped by the app's index: a connection uses
 * one or a few apps, and 64 slots cost 4.5 KiB per subject. */
#define APP_MEMO 64

struct entry {
	uint32_t hash;
	uint16_t plen;
	uint8_t deny;
	uint16_t role; /* index into the subject's roles */
	uint32_t next;
	const struct rbac_pattern *pat;
	const struct rbac_value *val; /* as written */
	int info;                     /* exact allow ARNs: index into arninfo, else -1 */
};

/* A label selector after expansion: its patterns, or any value. */
struct xsel {
	const char *key;
	const struct rbac_pattern **pats;
	size_t npats;
	bool any;
};

struct srole {
	const struct rbac_role *role; /* NULL for a name the policy does not define */
	struct xsel *allow;
	size_t nallow;
	struct xsel *deny;
	size_t ndeny;
	size_t deny_arns; /* deny ARN patterns after expansion */
};

struct arninfo {
	char *path;
	char account[16];
	const char *name;
};

struct app_memo {
	const struct rbac_app *app;
	uint64_t allow[ROLE_WORDS];    /* roles whose allow.app_labels match */
	uint64_t deny_arn[ROLE_WORDS]; /* roles whose deny ARNs apply here */
	int deny_all;                  /* a role whose deny.app_labels match and that names no ARN, or -1 */
};

struct rbac_subject {
	struct rbac_policy *pol;
	char *user;
	int64_t not_before, not_after;
	char **names; /* the identity's role names, sorted, unique */
	size_t nnames;
	struct srole *roles; /* those the policy defines, in name order */
	size_t nroles;
	const struct rbac_lock **locks;
	size_t nlocks;

	struct entry *entries;
	size_t nentries, capentries;
	uint32_t *heads;
	uint32_t mask;
	uint64_t lens[4]; /* prefix lengths present, 0..255 */

	struct rbac_pattern **owned; /* patterns expanded from templates */
	size_t nowned, capowned;
	struct arninfo *arninfo;
	size_t narninfo, caparninfo;

	struct app_memo memo[APP_MEMO];
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

static uint32_t fnv_step(uint32_t h, unsigned char c)
{
	return (h ^ c) * 16777619u;
}

#define FNV_SEED 2166136261u

static uint32_t bucket_of(const struct rbac_subject *s, uint32_t hash, unsigned plen)
{
	uint32_t x = hash ^ (plen * 0x9e3779b9u);
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	return x & s->mask;
}

/* The bytes a pattern's literal prefix starts at. */
static const char *prefix_of(const struct rbac_pattern *p)
{
	return p->kind == RBAC_PAT_REGEX ? p->text + 1 : p->text;
}

bool rbac_arn_parse(const char *arn, size_t len, struct rbac_arn *out)
{
	const char *end = arn + len, *p = arn;

	if (len < 4 || memcmp(arn, "arn:", 4) != 0)
		return false;
	p += 4;
	out->partition = p;
	while (p < end && ((*p >= 'a' && *p <= 'z') || *p == '-'))
		p++;
	out->partition_len = (size_t)(p - out->partition);
	if (out->partition_len == 0 || (size_t)(end - p) < 7 || memcmp(p, ":iam::", 6) != 0)
		return false;
	p += 6;
	out->account = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	out->account_len = (size_t)(p - out->account);
	if (out->account_len != 12 || (size_t)(end - p) < 7 || memcmp(p, ":role/", 6) != 0)
		return false;
	p += 1;
	out->resource = p;
	out->resource_len = (size_t)(end - p);
	const char *slash = p + 4;
	for (const char *q = p + 5; q < end; q++) {
		if (*q == '/')
			slash = q;
		else if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
			return false;
	}
	out->name = slash + 1;
	out->name_len = (size_t)(end - out->name);
	return out->name_len > 0;
}

/* --- building ------------------------------------------------------------------ */

struct build {
	struct rbac_subject *s;
	rbac_diag_fn *fn;
	void *arg;
	const struct rbac_role *role;
	const struct rbac_value *val;
	const struct rbac_pattern **out; /* expansion target */
	size_t nout, capout;
	int err;
	bool deny;
};

static int push_pat(struct build *b, const struct rbac_pattern *p)
{
	if (b->nout == b->capout) {
		size_t cap = b->capout ? b->capout * 2 : 8;
		const struct rbac_pattern **n = realloc(b->out, cap * sizeof(*n));
		if (n == NULL)
			return RBAC_ERR_NOMEM;
		b->out = n;
		b->capout = cap;
	}
	b->out[b->nout++] = p;
	return 0;
}

static void expand_emit(void *arg, const char *value, size_t len)
{
	struct build *b = arg;
	struct rbac_subject *s = b->s;
	char why[300];

	if (b->err != 0)
		return;
	struct rbac_pattern *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		b->err = RBAC_ERR_NOMEM;
		return;
	}
	int rv = rbac_pattern_init(p, value, len, why, sizeof(why));
	if (rv != 0) {
		free(p);
		if (rv == RBAC_ERR_NOMEM) {
			b->err = rv;
			return;
		}
		/* A deny entry that cannot be built must not narrow a deny. */
		rbac_diag_report(b->fn, b->arg, b->role->file, NULL, 0, b->val->path, b->deny ? rv : 0,
				 "role \"%s\": \"%s\" expands to \"%.*s\": %s%s", b->role->name, b->val->text, (int)len,
				 value, why, b->deny ? "" : "; this value is skipped");
		if (b->deny)
			b->err = RBAC_ERR_INVALID;
		return;
	}
	if (s->nowned == s->capowned) {
		size_t cap = s->capowned ? s->capowned * 2 : 16;
		struct rbac_pattern **n = realloc(s->owned, cap * sizeof(*n));
		if (n == NULL) {
			rbac_pattern_free(p);
			free(p);
			b->err = RBAC_ERR_NOMEM;
			return;
		}
		s->owned = n;
		s->capowned = cap;
	}
	s->owned[s->nowned++] = p;
	if (push_pat(b, p) != 0)
		b->err = RBAC_ERR_NOMEM;
}

/* Expands |v| into b->out (appending). */
static int expand_value(struct build *b, const struct rbac_value *v, const struct rbac_trait *traits, size_t ntraits)
{
	b->val = v;
	if (!v->is_tmpl)
		return push_pat(b, &v->pat);
	int rv = rbac_tmpl_expand(&v->tmpl, traits, ntraits, expand_emit, b);
	return rv != 0 ? rv : b->err;
}

static int sels_build(struct build *b, const struct rbac_rule *r, struct xsel **out, size_t *n,
		      const struct rbac_trait *traits, size_t ntraits)
{
	if (r->nlabels == 0)
		return 0;
	struct xsel *x = calloc(r->nlabels, sizeof(*x));
	if (x == NULL)
		return RBAC_ERR_NOMEM;
	*out = x;
	*n = r->nlabels;
	for (size_t i = 0; i < r->nlabels; i++) {
		const struct rbac_label_sel *sel = &r->labels[i];
		x[i].key = sel->key;
		b->out = NULL;
		b->nout = b->capout = 0;
		for (size_t j = 0; j < sel->nvalues; j++) {
			if (!sel->values[j].is_tmpl && strcmp(sel->values[j].text, "*") == 0) {
				x[i].any = true;
				continue;
			}
			int rv = expand_value(b, &sel->values[j], traits, ntraits);
			if (rv != 0) {
				free(b->out);
				return rv;
			}
		}
		x[i].pats = b->out;
		x[i].npats = b->nout;
	}
	return 0;
}

static int add_entry(struct rbac_subject *s, const struct rbac_pattern *p, const struct rbac_value *v, size_t role,
		     bool deny)
{
	if (s->nentries == s->capentries) {
		size_t cap = s->capentries ? s->capentries * 2 : 32;
		struct entry *n = realloc(s->entries, cap * sizeof(*n));
		if (n == NULL)
			return RBAC_ERR_NOMEM;
		s->entries = n;
		s->capentries = cap;
	}
	if (s->nentries >= NO_ENTRY - 1)
		return RBAC_ERR_TOO_LARGE;
	struct entry *e = &s->entries[s->nentries++];
	const char *pre = prefix_of(p);
	uint32_t h = FNV_SEED;
	for (unsigned i = 0; i < p->prefix; i++)
		h = fnv_step(h, (unsigned char)pre[i]);
	e->hash = h;
	e->plen = (uint16_t)p->prefix;
	e->deny = deny;
	e->role = (uint16_t)role;
	e->pat = p;
	e->val = v;
	e->info = -1;
	e->next = NO_ENTRY;

	struct rbac_arn a;
	if (!deny && p->kind == RBAC_PAT_EXACT && rbac_arn_parse(p->text, p->len, &a)) {
		if (s->narninfo == s->caparninfo) {
			size_t cap = s->caparninfo ? s->caparninfo * 2 : 16;
			struct arninfo *n = realloc(s->arninfo, cap * sizeof(*n));
			if (n == NULL)
				return RBAC_ERR_NOMEM;
			s->arninfo = n;
			s->caparninfo = cap;
		}
		struct arninfo *ai = &s->arninfo[s->narninfo];
		/* resource is "role/PATH/NAME": the path is what lies between. */
		size_t plen = (size_t)(a.name - (a.resource + 4));
		ai->path = strndup(a.resource + 4, plen);
		if (ai->path == NULL)
			return RBAC_ERR_NOMEM;
		memcpy(ai->account, a.account, 12);
		ai->account[12] = '\0';
		ai->name = a.name;
		e->info = (int)s->narninfo++;
	}
	return 0;
}

static int index_build(struct rbac_subject *s)
{
	size_t nb = 16;
	while (nb < s->nentries * 2)
		nb *= 2;
	s->heads = malloc(nb * sizeof(*s->heads));
	if (s->heads == NULL)
		return RBAC_ERR_NOMEM;
	memset(s->heads, 0xff, nb * sizeof(*s->heads));
	s->mask = (uint32_t)nb - 1;
	/* Insert backwards so each chain keeps the entries' order. */
	for (size_t i = s->nentries; i-- > 0;) {
		struct entry *e = &s->entries[i];
		uint32_t b = bucket_of(s, e->hash, e->plen);
		e->next = s->heads[b];
		s->heads[b] = (uint32_t)i;
		s->lens[e->plen >> 6] |= 1ull << (e->plen & 63);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rbac_subject_new(struct rbac_policy *pol, const struct rbac_identity *id, struct rbac_subject **out,
		     rbac_diag_fn *fn, void *arg)
{
	const struct rbac_trait *traits = id->traits;
	size_t ntraits = id->ntraits;
	char *const *names = id->roles;
	size_t nnames = id->nroles;
	int rv = RBAC_ERR_NOMEM;

	if (id->user == NULL || !rbac_name_ok(id->user, strlen(id->user))) {
		rbac_diag_report(fn, arg, NULL, NULL, 0, "", RBAC_ERR_INVALID, "\"%s\" is not a valid user name",
				 id->user ? id->user : "");
		return RBAC_ERR_INVALID;
	}
	if (!id->from_extension) {
		const struct rbac_user *u = rbac_vec_find(&pol->users, id->user, strlen(id->user));
		names = NULL;
		nnames = 0;
		traits = NULL;
		ntraits = 0;
		if (u != NULL) {
			names = u->roles;
			nnames = u->nroles;
			traits = u->traits;
			ntraits = u->ntraits;
		}
	}
	if (nnames > RBAC_MAX_ROLES)
		return RBAC_ERR_TOO_LARGE;

	struct rbac_subject *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return RBAC_ERR_NOMEM;
	s->pol = rbac_policy_ref(pol);
	s->not_before = id->not_before;
	s->not_after = id->not_after;
	s->user = strdup(id->user);
	s->names = calloc(nnames + 1, sizeof(*s->names));
	s->roles = calloc(nnames + 1, sizeof(*s->roles));
	s->locks = calloc(pol->locks.n + 1, sizeof(*s->locks));
	s->md = pcre2_match_data_create(1, NULL);
	s->mc = pcre2_match_context_create(NULL);
	if (s->user == NULL || s->names == NULL || s->roles == NULL || s->locks == NULL || s->md == NULL ||
	    s->mc == NULL)
		goto fail;
	pcre2_set_match_limit(s->mc, RBAC_MAX_MATCH_STEPS);
	pcre2_set_depth_limit(s->mc, RBAC_MAX_MATCH_STEPS / 10);

	for (size_t i = 0; i < nnames; i++) {
		if ((s->names[s->nnames] = strdup(names[i])) == NULL)
			goto fail;
		s->nnames++;
	}
	qsort(s->names, s->nnames, sizeof(*s->names), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < s->nnames; i++) {
		if (u > 0 && strcmp(s->names[u - 1], s->names[i]) == 0) {
			free(s->names[i]);
			continue;
		}
		s->names[u++] = s->names[i];
	}
	s->nnames = u;

	struct build b = {.s = s, .fn = fn, .arg = arg};
	for (size_t i = 0; i < s->nnames; i++) {
		const struct rbac_role *role = rbac_vec_find(&pol->roles, s->names[i], strlen(s->names[i]));
		if (role == NULL) {
			rbac_diag_report(fn, arg, NULL, NULL, 0, "", 0,
					 "user \"%s\" has role \"%s\", which no role resource defines; skipped", s->user,
					 s->names[i]);
			continue;
		}
		size_t ri = s->nroles++;
		struct srole *sr = &s->roles[ri];
		sr->role = role;
		b.role = role;
		b.deny = false;
		if ((rv = sels_build(&b, &role->allow, &sr->allow, &sr->nallow, traits, ntraits)) != 0)
			goto fail;
		b.deny = true;
		if ((rv = sels_build(&b, &role->deny, &sr->deny, &sr->ndeny, traits, ntraits)) != 0)
			goto fail;
		for (int deny = 0; deny < 2; deny++) {
			const struct rbac_rule *r = deny ? &role->deny : &role->allow;
			b.deny = deny;
			for (size_t j = 0; j < r->narns; j++) {
				b.out = NULL;
				b.nout = b.capout = 0;
				rv = expand_value(&b, &r->arns[j], traits, ntraits);
				for (size_t k = 0; rv == 0 && k < b.nout; k++)
					rv = add_entry(s, b.out[k], &r->arns[j], ri, deny);
				if (deny)
					sr->deny_arns += b.nout;
				free(b.out);
				if (rv != 0)
					goto fail;
			}
		}
	}
	rv = RBAC_ERR_NOMEM;
	if (index_build(s) != 0)
		goto fail;

	/* Locks on the user, or on any role it names (defined or not). */
	for (size_t i = 0; i < pol->locks.n; i++) {
		const struct rbac_lock *l = pol->locks.items[i];
		bool hit = l->user != NULL && strcmp(l->user, s->user) == 0;
		for (size_t j = 0; !hit && l->role != NULL && j < s->nnames; j++)
			hit = strcmp(l->role, s->names[j]) == 0;
		if (hit)
			s->locks[s->nlocks++] = l;
	}
	*out = s;
	return 0;
fail:
	rbac_subject_del(s);
	return rv;
}

void rbac_subject_del(struct rbac_subject *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nroles; i++) {
		for (size_t j = 0; j < s->roles[i].nallow; j++)
			free(s->roles[i].allow[j].pats);
		for (size_t j = 0; j < s->roles[i].ndeny; j++)
			free(s->roles[i].deny[j].pats);
		free(s->roles[i].allow);
		free(s->roles[i].deny);
	}
	for (size_t i = 0; i < s->nowned; i++) {
		rbac_pattern_free(s->owned[i]);
		free(s->owned[i]);
	}
	for (size_t i = 0; i < s->narninfo; i++)
		free(s->arninfo[i].path);
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->arninfo);
	free(s->owned);
	free(s->entries);
	free(s->heads);
	free(s->names);
	free(s->roles);
	free(s->locks);
	free(s->user);
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mc);
	rbac_policy_unref(s->pol);
	free(s);
}

const char *rbac_subject_user(const struct rbac_subject *s)
{
	return s->user;
}

const struct rbac_policy *rbac_subject_policy(const struct rbac_subject *s)
{
	return s->pol;
}

const char *rbac_subject_role_at(const struct rbac_subject *s, size_t i)
{
	return i < s->nnames ? s->names[i] : NULL;
}

/* --- deciding ------------------------------------------------------------------- */

/* Whether |sels| match |app|'s labels. A regex out of steps counts as a
 * match when |fail_match| (deny rules fail closed). */
static bool sels_match(struct rbac_subject *s, const struct xsel *sels, size_t n, const struct rbac_app *app,
		       bool fail_match)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct xsel *x = &sels[i];
		if (strcmp(x->key, "*") == 0) {
			if (x->any)
				continue;
			return false;
		}
		const char *v = rbac_app_label(app, x->key);
		if (v == NULL)
			return false;
		if (x->any)
			continue;
		bool hit = false;
		size_t vlen = strlen(v);
		for (size_t j = 0; j < x->npats && !hit; j++) {
			int m = rbac_pattern_matches(x->pats[j], v, vlen, s->md, s->mc);
			hit = m == 1 || (m < 0 && fail_match);
		}
		if (!hit)
			return false;
	}
	return true;
}

static const struct app_memo *app_memo(struct rbac_subject *s, const struct rbac_app *app)
{
	struct app_memo *m = &s->memo[app->index & (APP_MEMO - 1)];
	if (m->app == app)
		return m;
	memset(m, 0, sizeof(*m));
	m->app = app;
	m->deny_all = -1;
	for (size_t r = 0; r < s->nroles; r++) {
		const struct srole *sr = &s->roles[r];
		if (sels_match(s, sr->allow, sr->nallow, app, false))
			m->allow[r >> 6] |= 1ull << (r & 63);
		if (sr->ndeny == 0) {
			/* No labels: every app. ARNs written but all resolved
			 * to nothing deny the whole app, as with labels. */
			if (sr->deny_arns > 0)
				m->deny_arn[r >> 6] |= 1ull << (r & 63);
			else if (sr->role->deny.narns > 0 && m->deny_all < 0)
				m->deny_all = (int)r;
		} else if (sels_match(s, sr->deny, sr->ndeny, app, true)) {
			if (sr->deny_arns > 0)
				m->deny_arn[r >> 6] |= 1ull << (r & 63);
			else if (m->deny_all < 0)
				m->deny_all = (int)r;
		}
	}
	return m;
}

static bool bit(const uint64_t *w, size_t r)
{
	return (w[r >> 6] >> (r & 63)) & 1;
}

void rbac_decide(struct rbac_subject *s, const struct rbac_app *app, const char *arn, size_t len, int64_t now,
		 struct rbac_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (s->not_before != 0 && now < s->not_before) {
		d->reason = RBAC_DENY_NOT_YET_VALID;
		return;
	}
	if (s->not_after != 0 && now >= s->not_after) {
		d->reason = RBAC_DENY_EXPIRED;
		return;
	}
	for (size_t i = 0; i < s->nlocks; i++) {
		const struct rbac_lock *l = s->locks[i];
		if (l->expires == 0 || now < l->expires) {
			d->reason = RBAC_DENY_LOCKED;
			d->lock = l->name;
			d->message = l->message;
			d->role = l->role;
			return;
		}
	}
	struct rbac_arn a;
	if (!rbac_arn_parse(arn, len, &a)) {
		d->reason = RBAC_DENY_BAD_ARN;
		return;
	}
	if (app->account != NULL && memcmp(app->account, a.account, 12) != 0) {
		d->reason = RBAC_DENY_ACCOUNT;
		return;
	}
	if (s->nroles == 0) {
		d->reason = RBAC_DENY_NO_ROLES;
		return;
	}
	const struct app_memo *m = app_memo(s, app);
	if (m->deny_all >= 0) {
		d->reason = RBAC_DENY_RULE_APP;
		d->role = s->roles[m->deny_all].role->name;
		d->rule = "spec.deny.app_labels";
		return;
	}

	const struct entry *grant = NULL;
	uint32_t ttl = UINT32_MAX;
	uint32_t h = FNV_SEED;
	size_t top = len < RBAC_PREFIX_MAX ? len : RBAC_PREFIX_MAX;
	for (size_t i = 0; i <= top; i++) {
		if (i > 0)
			h = fnv_step(h, (unsigned char)arn[i - 1]);
		if (!((s->lens[i >> 6] >> (i & 63)) & 1))
			continue;
		for (uint32_t ei = s->heads[bucket_of(s, h, (unsigned)i)]; ei != NO_ENTRY; ei = s->entries[ei].next) {
			const struct entry *e = &s->entries[ei];
			if (e->hash != h || e->plen != i || memcmp(prefix_of(e->pat), arn, i) != 0)
				continue;
			if (e->deny ? !bit(m->deny_arn, e->role) : !bit(m->allow, e->role))
				continue;
			int hit = rbac_pattern_matches(e->pat, arn, len, s->md, s->mc);
			if (e->deny && hit != 0) {
				d->reason = RBAC_DENY_RULE_ARN;
				d->role = s->roles[e->role].role->name;
				d->rule = e->val->path;
				d->pattern = e->val->text;
				return;
			}
			if (!e->deny && hit == 1) {
				uint32_t rt = s->roles[e->role].role->max_session_ttl;
				if (rt < ttl)
					ttl = rt;
				if (grant == NULL || e->role < grant->role)
					grant = e;
			}
		}
	}
	if (grant == NULL) {
		bool any = false;
		for (size_t w = 0; w < ROLE_WORDS; w++)
			any |= m->allow[w] != 0;
		d->reason = any ? RBAC_DENY_NO_ARN : RBAC_DENY_NO_APP;
		return;
	}
	if (s->not_after != 0 && (uint64_t)(s->not_after - now) < ttl)
		ttl = (uint32_t)(s->not_after - now);
	d->allow = 1;
	d->reason = RBAC_ALLOWED;
	d->role = s->roles[grant->role].role->name;
	d->rule = grant->val->path;
	d->pattern = grant->val->text;
	d->session_ttl = ttl;
}

const char *rbac_reason_str(enum rbac_reason r)
{
	switch (r) {
	case RBAC_ALLOWED:
		return "allowed";
	case RBAC_DENY_NOT_YET_VALID:
		return "not-yet-valid";
	case RBAC_DENY_EXPIRED:
		return "expired";
	case RBAC_DENY_LOCKED:
		return "locked";
	case RBAC_DENY_BAD_ARN:
		return "bad-arn";
	case RBAC_DENY_ACCOUNT:
		return "account-mismatch";
	case RBAC_DENY_RULE_APP:
		return "deny-rule-app";
	case RBAC_DENY_RULE_ARN:
		return "deny-rule-arn";
	case RBAC_DENY_NO_ROLES:
		return "no-roles";
	case RBAC_DENY_NO_APP:
		return "no-role-for-app";
	case RBAC_DENY_NO_ARN:
		return "no-role-for-arn";
	}
	return "unknown";
}

/* --- listing and choosing ------------------------------------------------------ */

static int cmp_choice(const void *a, const void *b)
{
	return strcmp(((const struct rbac_role_choice *)a)->arn, ((const struct rbac_role_choice *)b)->arn);
}

/*
 * The exact ARNs of allow rules that match |app| and its account, sorted and
 * unique, in a new array; free() it. With |decide|, only those
 * rbac_decide() allows at |now| (listing); without, all of them (naming: a
 * name resolves to an ARN, and the decision then says why it is denied).
 */
static int choices(struct rbac_subject *s, const struct rbac_app *app, int64_t now, bool decide,
		   struct rbac_role_choice **out, size_t *n)
{
	struct rbac_role_choice *c = calloc(s->nentries + 1, sizeof(*c));
	const char *account = rbac_app_label(app, "aws_account_id");
	const struct app_memo *m = app_memo(s, app);
	size_t k = 0;

	if (c == NULL)
		return RBAC_ERR_NOMEM;
	for (size_t i = 0; i < s->nentries; i++) {
		const struct entry *e = &s->entries[i];
		if (e->info < 0 || !bit(m->allow, e->role))
			continue;
		const struct arninfo *ai = &s->arninfo[e->info];
		if (account != NULL && strcmp(account, ai->account) != 0)
			continue;
		struct rbac_decision d = {0};
		if (decide) {
			rbac_decide(s, app, e->pat->text, e->pat->len, now, &d);
			if (!d.allow)
				continue;
		}
		c[k].arn = e->pat->text;
		c[k].name = ai->name;
		c[k].path = ai->path;
		c[k].account = ai->account;
		c[k].session_ttl = d.session_ttl;
		k++;
	}
	if (k > 1)
		qsort(c, k, sizeof(*c), cmp_choice);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || strcmp(c[u - 1].arn, c[i].arn) != 0)
			c[u++] = c[i];
	*out = c;
	*n = u;
	return 0;
}

int rbac_subject_roles(struct rbac_subject *s, const struct rbac_app *app, int64_t now, struct rbac_role_choice *out,
		       size_t max, size_t *n)
{
	struct rbac_role_choice *c;
	size_t k;
	int rv = choices(s, app, now, true, &c, &k);

	if (rv != 0)
		return rv;
	if (out != NULL && max > 0 && k > 0)
		memcpy(out, c, (k < max ? k : max) * sizeof(*c));
	*n = k;
	free(c);
	return 0;
}

/* Appends the ARNs of |c| (|k|) that |sel| selects to |msg|. */
static void list_arns(char *msg, size_t size, const struct rbac_role_choice *c, size_t k, const bool *sel)
{
	size_t used = strlen(msg);
	for (size_t i = 0; i < k && used < size; i++) {
		if (sel != NULL && !sel[i])
			continue;
		int w = snprintf(msg + used, size - used, "\n  %s", c[i].arn);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int rbac_subject_choose(struct rbac_subject *s, const struct rbac_app *app, const char *want, int64_t now,
			const char **arn, struct rbac_diag *diag)
{
	struct rbac_role_choice *c;
	size_t k, hits = 0, hit = 0;
	int rv;

	memset(diag, 0, sizeof(*diag));
	if (want != NULL && strncmp(want, "arn:", 4) == 0) {
		*arn = want;
		return 0;
	}
	if ((rv = choices(s, app, now, false, &c, &k)) != 0)
		return rv;
	bool *sel = calloc(k + 1, sizeof(*sel));
	if (sel == NULL) {
		free(c);
		return RBAC_ERR_NOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		bool m = want == NULL;
		if (!m) {
			/* "Admin", or the whole path after role/: "team/Admin". */
			size_t plen = strlen(c[i].path);
			size_t wl = strlen(want);
			m = strcmp(want, c[i].name) == 0 ||
			    (wl == plen - 1 + strlen(c[i].name) && plen >= 1 && strncmp(want, c[i].path + 1, plen - 1) == 0 &&
			     strcmp(want + plen - 1, c[i].name) == 0);
		}
		if (m) {
			sel[i] = true;
			hits++;
			hit = i;
		}
	}
	if (hits == 1) {
		*arn = c[hit].arn;
		rv = 0;
	} else if (hits > 1) {
		snprintf(diag->msg, sizeof(diag->msg), "%s matches %zu roles of app \"%s\"; name one by its ARN:",
			 want ? want : "no role given, and it", hits, app->name);
		list_arns(diag->msg, sizeof(diag->msg), c, k, sel);
		rv = diag->code = RBAC_ERR_AMBIGUOUS;
	} else if (k == 0) {
		snprintf(diag->msg, sizeof(diag->msg), "user \"%s\" may use no role of app \"%s\"", s->user, app->name);
		rv = diag->code = RBAC_ERR_NOT_FOUND;
	} else {
		snprintf(diag->msg, sizeof(diag->msg), "no role \"%s\" in app \"%s\"; the roles are:", want, app->name);
		list_arns(diag->msg, sizeof(diag->msg), c, k, NULL);
		rv = diag->code = RBAC_ERR_NOT_FOUND;
	}
	/* The chosen ARN points into the subject, not into |c|. */
	free(sel);
	free(c);
	return rv;
}
