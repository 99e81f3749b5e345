/* SPDX-License-Identifier: Apache-2.0 */
/* partition.c: the one partition table, region lookup, STS hosts, and the classification of host names under AWS suffixes. */
#include <string.h>

#include "federation/federation.h"
#include "federation/federation_int.h"

/* The facts below are botocore's data/partitions.json and endpoints.json
 * (partition names, suffixes, region patterns and regions, the global
 * regions from iam's credentialScope, sts.amazonaws.com as aws-global) and
 * AWS's IAM user guide (console and sign-in hosts of aws, aws-us-gov and
 * aws-cn). The ISO partitions have no public console documentation, so
 * console sign-in is refused there. */

static const char *const aws_prefixes[] = {"us", "eu", "ap", "sa", "ca", "me", "af", NULL};
static const char *const aws_regions[] = {
	"af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
	"ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ca-central-1", "eu-central-1",
	"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"me-central-1", "me-south-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2", NULL,
};
static const char *const cn_prefixes[] = {"cn", NULL};
static const char *const cn_regions[] = {"cn-north-1", "cn-northwest-1", NULL};
static const char *const gov_prefixes[] = {"us-gov", NULL};
static const char *const gov_regions[] = {"us-gov-east-1", "us-gov-west-1", NULL};
static const char *const iso_prefixes[] = {"us-iso", NULL};
static const char *const iso_regions[] = {"us-iso-east-1", "us-iso-west-1", NULL};
static const char *const isob_prefixes[] = {"us-isob", NULL};
static const char *const isob_regions[] = {"us-isob-east-1", NULL};

static const struct fed_partition partitions[] = {
	{"aws", "amazonaws.com", "api.aws", aws_prefixes, "us-east-1", "sts.amazonaws.com",
	 "console.aws.amazon.com", "signin.aws.amazon.com", "signin.aws.amazon.com", aws_regions},
	{"aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", cn_prefixes, "cn-north-1", NULL,
	 "console.amazonaws.cn", "signin.amazonaws.cn", NULL, cn_regions},
	{"aws-us-gov", "amazonaws.com", "api.aws", gov_prefixes, "us-gov-west-1", NULL,
	 "console.amazonaws-us-gov.com", "signin.amazonaws-us-gov.com", "signin.amazonaws-us-gov.com", gov_regions},
	{"aws-iso", "c2s.ic.gov", NULL, iso_prefixes, "us-iso-east-1", NULL, NULL, NULL, NULL, iso_regions},
	{"aws-iso-b", "sc2s.sgov.gov", NULL, isob_prefixes, "us-isob-east-1", NULL, NULL, NULL, NULL, isob_regions},
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

#define P_AWS (&partitions[0])
#define P_CN (&partitions[1])
#define P_GOV (&partitions[2])
#define P_ISO (&partitions[3])
#define P_ISOB (&partitions[4])

const struct fed_partition *fed_partitions(void)
{
	return partitions;
}

const struct fed_partition *fed_partition_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (const struct fed_partition *p = partitions; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* [a-z0-9-], starts and ends alphanumeric, no "--", 1..FED_MAX_REGION. */
static bool region_well_formed(const char *r, size_t len)
{
	if (len == 0 || len > FED_MAX_REGION || !is_lower_alnum(r[0]) || !is_lower_alnum(r[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (r[i] == '-') {
			if (r[i - 1] == '-')
				return false;
		} else if (!is_lower_alnum(r[i])) {
			return false;
		}
	}
	return true;
}

/* <prefix>-<word>-<digits>, as botocore's regionRegex says (\w+ read as [a-z0-9]+). */
static bool region_matches(const struct fed_partition *p, const char *r, size_t len)
{
	for (const char *const *pre = p->region_prefixes; *pre != NULL; pre++) {
		size_t pl = strlen(*pre);
		if (len < pl + 4 || memcmp(r, *pre, pl) != 0 || r[pl] != '-')
			continue;
		size_t i = pl + 1, w = i;
		while (i < len && is_lower_alnum(r[i]))
			i++;
		if (i == w || i >= len || r[i] != '-')
			continue;
		size_t d = ++i;
		while (i < len && is_digit(r[i]))
			i++;
		if (i == len && i > d)
			return true;
	}
	return false;
}

/* A region's own partition: known, else by pattern; NULL when neither. */
static const struct fed_partition *region_partition(const char *r, size_t len)
{
	for (const struct fed_partition *p = partitions; p->name != NULL; p++)
		for (const char *const *k = p->regions; *k != NULL; k++)
			if (strlen(*k) == len && memcmp(*k, r, len) == 0)
				return p;
	for (const struct fed_partition *p = partitions; p->name != NULL; p++)
		if (region_matches(p, r, len))
			return p;
	return NULL;
}

/* Looks like a region at all: letters, then -part..., ending in -digits. */
static bool region_shaped(const char *r, size_t len)
{
	if (!region_well_formed(r, len) || !(r[0] >= 'a' && r[0] <= 'z'))
		return false;
	const char *dash = NULL;
	for (size_t i = 0; i < len; i++)
		if (r[i] == '-')
			dash = r + i;
	if (dash == NULL || dash == r)
		return false;
	for (const char *c = dash + 1; c < r + len; c++)
		if (!is_digit(*c))
			return false;
	return true;
}

int fed_partition_for_region(const char *region, const struct fed_partition **p)
{
	if (region == NULL)
		return FED_ERR_INVALID;
	size_t len = strlen(region);
	if (!region_well_formed(region, len))
		return FED_ERR_INVALID;
	const struct fed_partition *found = region_partition(region, len);
	*p = found ? found : P_AWS;
	return 0;
}

int fed_sts_host(const struct fed_partition *p, const char *region, char *dst, size_t size)
{
	if (p == NULL || dst == NULL)
		return FED_ERR_INVALID;
	if (region == NULL) {
		if (p->sts_global_host != NULL)
			return fed_str_copy(dst, size, p->sts_global_host) ? 0 : FED_ERR_TOO_LARGE;
		region = p->global_region;
	}
	if (!region_well_formed(region, strlen(region)))
		return FED_ERR_INVALID;
	struct fed_buf b;
	fed_buf_init_fixed(&b, dst, size);
	fed_buf_adds(&b, "sts.");
	fed_buf_adds(&b, region);
	fed_buf_addc(&b, '.');
	fed_buf_adds(&b, p->dns_suffix);
	return b.err ? FED_ERR_TOO_LARGE : 0;
}

/* --- host classification ------------------------------------------------ */

#define MAX_LABELS ((FED_MAX_HOST + 1) / 2)

struct labels {
	char buf[FED_MAX_HOST + 1];
	const char *l[MAX_LABELS];
	size_t len[MAX_LABELS];
	size_t n;
};

/* Lower-cases and splits |host| into labels; false when it is not a DNS name. */
static bool split_host(const char *host, size_t len, struct labels *L)
{
	if (host == NULL || len == 0 || len > FED_MAX_HOST)
		return false;
	L->n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? host[i] : '.';
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			size_t ll = i - start;
			/* Empty labels (leading, doubled or trailing dots) are refused. */
			if (ll == 0 || ll > FED_MAX_LABEL || L->n == MAX_LABELS)
				return false;
			if (L->buf[start] == '-' || L->buf[i - 1] == '-')
				return false;
			L->l[L->n] = L->buf + start;
			L->len[L->n] = ll;
			L->n++;
			L->buf[i] = '\0';
			start = i + 1;
			continue;
		}
		if (!is_lower_alnum(c) && c != '-')
			return false;
		L->buf[i] = c;
	}
	/* An all-digit last label is an IPv4 literal (or shorthand of one):
	 * no top-level domain is numeric. */
	bool digits = true;
	for (size_t i = 0; i < L->len[L->n - 1]; i++)
		digits = digits && is_digit(L->l[L->n - 1][i]);
	return !digits;
}

static bool label_is(const struct labels *L, size_t i, const char *s)
{
	return strlen(s) == L->len[i] && memcmp(L->l[i], s, L->len[i]) == 0;
}

static bool label_starts(const struct labels *L, size_t i, const char *s)
{
	size_t sl = strlen(s);
	return L->len[i] >= sl && memcmp(L->l[i], s, sl) == 0;
}

static bool label_ends(const struct labels *L, size_t i, const char *s)
{
	size_t sl = strlen(s);
	return L->len[i] >= sl && memcmp(L->l[i] + L->len[i] - sl, s, sl) == 0;
}

struct suffix {
	const char *name;
	int nlabels;
	const struct fed_partition *part; /* NULL: aws or aws-us-gov, by region */
	bool dualstack;
	const char *customer; /* every name under it belongs to a customer */
};

/* Longest first, so api.amazonwebservices.com.cn wins over amazonaws.com.cn. */
static const struct suffix suffixes[] = {
	{"api.amazonwebservices.com.cn", 4, P_CN, true, NULL},
	{"amazonaws.com.cn", 3, P_CN, false, NULL},
	{"sc2s.sgov.gov", 3, P_ISOB, false, NULL},
	{"c2s.ic.gov", 3, P_ISO, false, NULL},
	{"amazonaws.com", 2, NULL, false, NULL},
	{"api.aws", 2, NULL, true, NULL},
	/* Lambda function URLs (<id>.lambda-url.<region>.on.aws) and nothing
	 * else AWS-operated that the gate signs for. */
	{"on.aws", 2, P_AWS, false, "lambda-function-url"},
};

/* Customer resources recognised by the label just before the suffix. */
static const struct {
	const char *label;
	const char *what;
} customer_last[] = {
	{"compute", "ec2-instance"},       /* ec2-1-2-3-4.<region>.compute.amazonaws.com */
	{"compute-1", "ec2-instance"},     /* ec2-1-2-3-4.compute-1.amazonaws.com (us-east-1) */
	{"elb", "load-balancer"},          /* name-123.<region>.elb.amazonaws.com */
	{"rds", "rds-instance"},           /* db.abc.<region>.rds.amazonaws.com (also DocumentDB, Neptune) */
	{"cache", "elasticache-node"},     /* name.abc.0001.use1.cache.amazonaws.com */
	{"redshift", "redshift-cluster"},  /* cluster.abc.<region>.redshift.amazonaws.com */
	{"es", "opensearch-domain"},       /* search-name-abc.<region>.es.amazonaws.com */
	{"vpce", "vpc-endpoint"},          /* vpce-...<svc>.<region>.vpce.amazonaws.com */
};

/* Customer resources recognised by a label with something in front of it. */
static const struct {
	const char *label;
	const char *what;
} customer_inner[] = {
	{"execute-api", "api-gateway"},        /* <id>.execute-api.<region>.amazonaws.com */
	{"appsync-api", "appsync-api"},        /* <id>.appsync-api.<region>.amazonaws.com */
	{"lambda-url", "lambda-function-url"}, /* <id>.lambda-url.<region>.on.aws */
	{"elb", "load-balancer"},              /* name-abc.elb.<region>.amazonaws.com (NLB) */
	{"mq", "mq-broker"},                   /* b-id-1.mq.<region>.amazonaws.com */
	{"kafka", "msk-broker"},               /* b-1.cluster.abc.c2.kafka.<region>.amazonaws.com */
	{"dax-clusters", "dax-cluster"},       /* name.abc.dax-clusters.<region>.amazonaws.com */
	{"vpce", "vpc-endpoint"},
	{"compute", "ec2-instance"},
	{"rds", "rds-instance"},
	{"cache", "elasticache-node"},
	{"redshift", "redshift-cluster"},
	{"es", "opensearch-domain"},
};

/* Sub-labels in front of <svc>.<region> that AWS itself operates. */
static const char *const service_sublabels[] = {"api", "runtime", "streams", "data", "data-ats", "models", NULL};

/* Resolves |region| (a label) against the suffix: sets |*part|; false when
 * it is no region of a partition that uses this suffix. */
static bool region_for_suffix(const struct suffix *s, const char *r, size_t len, const struct fed_partition **part)
{
	if (!region_shaped(r, len))
		return false;
	const struct fed_partition *p = region_partition(r, len);
	if (s->part != NULL) {
		if (p != s->part)
			return false;
	} else {
		/* amazonaws.com and api.aws: aws-us-gov's regions or aws's; an
		 * unknown but region-shaped name is aws's, as botocore has it. */
		if (p == NULL)
			p = P_AWS;
		if (p != P_AWS && p != P_GOV)
			return false;
	}
	*part = p;
	return true;
}

static void set_service(struct fed_host_info *o, const char *svc, size_t len)
{
	if (len > 5 && memcmp(svc + len - 5, "-fips", 5) == 0) {
		o->fips = true;
		len -= 5;
	}
	if (len > FED_MAX_SERVICE)
		len = FED_MAX_SERVICE;
	memcpy(o->service, svc, len);
	o->service[len] = '\0';
}

static void set_region(struct fed_host_info *o, const char *r, size_t len)
{
	memcpy(o->region, r, len); /* len <= FED_MAX_REGION: region_shaped() checked */
	o->region[len] = '\0';
}

/* The S3 family: bucket and access point virtual hosts, legacy dash forms,
 * dualstack and FIPS. |n| labels precede the suffix. Returns 1 when it is
 * S3 (|o| filled), -1 when an S3 label is in a shape S3 does not use, 0
 * when no S3 label is there. */
static int classify_s3(const struct labels *L, size_t n, const struct suffix *s, struct fed_host_info *o)
{
	for (size_t k = n; k-- > 0;) {
		if (!label_starts(L, k, "s3"))
			continue;
		size_t tail = n - 1 - k; /* labels between this one and the suffix */
		const char *lab = L->l[k];
		size_t ll = L->len[k];
		const struct fed_partition *part = s->part ? s->part : P_AWS;
		bool known = label_is(L, k, "s3") || label_is(L, k, "s3-fips") || label_is(L, k, "s3-accesspoint") ||
		             label_is(L, k, "s3-accesspoint-fips") || label_is(L, k, "s3-object-lambda") ||
		             label_is(L, k, "s3-control") || label_is(L, k, "s3-control-fips");
		o->dualstack = s->dualstack;
		if (known) {
			if (tail == 0) {
				/* s3.amazonaws.com: global (us-east-1). */
				if (s->part == NULL && !label_is(L, k, "s3"))
					return -1;
			} else if (tail == 1) {
				if (!region_for_suffix(s, L->l[k + 1], L->len[k + 1], &part))
					return -1;
				set_region(o, L->l[k + 1], L->len[k + 1]);
			} else if (tail == 2 && label_is(L, k + 1, "dualstack")) {
				if (!region_for_suffix(s, L->l[k + 2], L->len[k + 2], &part))
					return -1;
				set_region(o, L->l[k + 2], L->len[k + 2]);
				o->dualstack = true;
			} else {
				return -1;
			}
			set_service(o, lab, ll);
			if (label_starts(L, k, "s3-accesspoint") || label_starts(L, k, "s3-control"))
				memcpy(o->service, "s3", 3);
			if ((label_starts(L, k, "s3-accesspoint") || label_is(L, k, "s3-object-lambda")) && k == 0)
				return -1; /* an access point name is required */
		} else if (tail == 0 && ll > 3 && lab[2] == '-') {
			/* Legacy: s3-<region>, s3-fips-<region>, s3-external-1. */
			const char *r = lab + 3;
			size_t rl = ll - 3;
			if (rl > 5 && memcmp(r, "fips-", 5) == 0) {
				o->fips = true;
				r += 5;
				rl -= 5;
			}
			if (rl == 10 && memcmp(r, "external-1", 10) == 0) {
				set_region(o, "us-east-1", 9);
			} else if (region_for_suffix(s, r, rl, &part)) {
				set_region(o, r, rl);
			} else {
				return -1;
			}
			memcpy(o->service, "s3", 3);
		} else {
			return 0; /* s3-outposts and other s3-* services: the generic shapes */
		}
		o->kind = FED_HOST_SERVICE;
		o->partition = part;
		o->s3_virtual_host = k > 0;
		return 1;
	}
	return 0;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return false;
	return len > 0;
}

int fed_host_classify(const char *host, size_t len, struct fed_host_info *out)
{
	struct labels L;
	struct fed_host_info o;

	if (!split_host(host, len, &L))
		return FED_ERR_INVALID;
	memset(&o, 0, sizeof(o));

	const struct suffix *s = NULL;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i].name);
		size_t nl = (size_t)suffixes[i].nlabels;
		if (L.n < nl)
			continue;
		/* Whole labels only: the suffix starts at a label. */
		const char *start = L.l[L.n - nl];
		if ((size_t)(L.l[L.n - 1] + L.len[L.n - 1] - start) != sl)
			continue;
		/* buf has NULs between labels: compare label by label. */
		const char *want = suffixes[i].name;
		bool eq = true;
		for (size_t j = L.n - nl; j < L.n && eq; j++) {
			eq = strncmp(want, L.l[j], L.len[j]) == 0 && (want[L.len[j]] == '.' || want[L.len[j]] == '\0');
			want += L.len[j] + 1;
		}
		if (eq) {
			s = &suffixes[i];
			break;
		}
	}
	if (s == NULL) {
		o.kind = FED_HOST_NOT_AWS;
		goto out;
	}
	size_t n = L.n - (size_t)s->nlabels; /* labels in front of the suffix */
	o.partition = s->part ? s->part : P_AWS;
	o.dualstack = s->dualstack;
	if (n == 0) {
		o.kind = FED_HOST_UNRECOGNISED;
		goto out;
	}

	/* Customer-controlled names first: they may contain service-like labels. */
	if (s->customer != NULL) {
		o.kind = FED_HOST_CUSTOMER;
		o.customer = s->customer;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		if (label_starts(&L, k, "s3-website")) {
			o.kind = FED_HOST_CUSTOMER;
			o.customer = "s3-website";
			goto out;
		}
	}
	if (n >= 2) {
		for (size_t i = 0; i < sizeof(customer_last) / sizeof(customer_last[0]); i++) {
			if (label_is(&L, n - 1, customer_last[i].label)) {
				o.kind = FED_HOST_CUSTOMER;
				o.customer = customer_last[i].what;
				goto out;
			}
		}
		for (size_t k = 1; k < n; k++) {
			for (size_t i = 0; i < sizeof(customer_inner) / sizeof(customer_inner[0]); i++) {
				if (label_is(&L, k, customer_inner[i].label)) {
					o.kind = FED_HOST_CUSTOMER;
					o.customer = customer_inner[i].what;
					goto out;
				}
			}
		}
	}

	int s3 = classify_s3(&L, n, s, &o);
	if (s3 > 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.partition = s->part ? s->part : P_AWS;
	o.dualstack = s->dualstack;
	o.kind = FED_HOST_UNRECOGNISED;

	if (s3 < 0)
		goto out;
	const struct fed_partition *part = o.partition;
	size_t svc; /* index of the service label */
	if (n == 1) {
		/* <svc>.<suffix>: a global endpoint of aws (sts, iam, s3, route53). */
		svc = 0;
	} else if (n == 2 && s->part == NULL && label_is(&L, 1, "us-gov")) {
		/* iam.us-gov.amazonaws.com: aws-us-gov's global form. */
		svc = 0;
		part = P_GOV;
	} else if (region_for_suffix(s, L.l[n - 1], L.len[n - 1], &part)) {
		set_region(&o, L.l[n - 1], L.len[n - 1]);
		size_t rest = n - 1;
		if (rest >= 2 && label_is(&L, rest - 1, "dualstack")) {
			o.dualstack = true;
			rest--;
		}
		svc = rest - 1;
		if (rest == 1) {
			/* <svc>.<region>: the common form. */
		} else if (rest == 2) {
			bool ok = false;
			for (const char *const *sub = service_sublabels; *sub != NULL && !ok; sub++)
				ok = label_is(&L, 0, *sub);
			/* <prefix>-ats.iot.<region>: an account's IoT data endpoint. */
			ok = ok || (label_is(&L, 1, "iot") && label_ends(&L, 0, "-ats"));
			if (!ok)
				goto out;
		} else if (rest == 3 && label_is(&L, 1, "dkr") && label_is(&L, 2, "ecr") &&
		           all_digits(L.l[0], L.len[0])) {
			/* <account>.dkr.ecr.<region>: an account's ECR registry. */
			svc = 2;
		} else {
			goto out;
		}
	} else {
		goto out;
	}
	if (L.len[svc] > FED_MAX_SERVICE || !(L.l[svc][0] >= 'a' && L.l[svc][0] <= 'z'))
		goto out;
	set_service(&o, L.l[svc], L.len[svc]);
	o.partition = part;
	o.kind = FED_HOST_SERVICE;
out:
	if (o.kind == FED_HOST_UNRECOGNISED) {
		/* Half-read shapes name no service or region anyone should use. */
		o.service[0] = '\0';
		o.region[0] = '\0';
	}
	*out = o;
	return 0;
}

const char *fed_host_kind_name(enum fed_host_kind k)
{
	switch (k) {
	case FED_HOST_NOT_AWS: return "not-aws";
	case FED_HOST_SERVICE: return "service";
	case FED_HOST_CUSTOMER: return "customer";
	case FED_HOST_UNRECOGNISED: return "unrecognised";
	}
	return "unknown";
}
