/* SPDX-License-Identifier: Apache-2.0 */
/* presign.h: the target of a presign request: the URL parsed and its host checked as X-Forwarded-Host is (pure, fuzzed). */
#ifndef AWSGATE_PROXY_PRESIGN_H
#define AWSGATE_PROXY_PRESIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "federation/federation.h"

#define PX_FRONT_MAX_MSG 1536     /* bytes of a refusal's message */
#define PX_PRESIGN_MAX_URL 16384  /* bytes of the URL to presign */

/* What the gate's front half answers instead of going on (front.h, gateapi.c):
 * a status and a reason of its own. The API pipeline turns one into an
 * error in the addressed service's protocol (api.c: px_deny_reason_info()). */
struct px_deny {
	int status;         /* 400, 401, 403, 413, 500, 502, 503 */
	const char *reason; /* static token for X-Awsgate-Error and the audit */
	char msg[PX_FRONT_MAX_MSG]; /* says what was wrong and what to do; no secret */
};

struct px_presign_target {
	char host[FED_MAX_HOST + 1];         /* lower case */
	char hostport[FED_MAX_HOST + 8];     /* the Host header to sign: ":port" unless 443 */
	char service[FED_MAX_SERVICE + 1];
	char region[FED_MAX_REGION + 1];
	const char *partition;               /* static: "aws", ... */
	const char *path;                    /* into the URL; "/" when it has none */
	size_t pathlen;
	const char *query;                   /* into the URL, after '?'; "" when none */
	size_t querylen;
};

/*
 * Parses |url| (NUL-terminated) for POST /awsgate/v1/presign: https only,
 * at most PX_PRESIGN_MAX_URL bytes of printable ASCII without '"', '\\' or
 * '#', no userinfo; the host a DNS name that fed_host_classify() calls an
 * AWS service endpoint of a partition in |partitions| (PX_PARTITION_* bits),
 * port 443. Customer names are refused unless |allow_customer|, except an
 * RDS database with |service| "rds-db", which may also carry a port (an
 * IAM auth token). |service| and |region| (NULL or "": from the host) set
 * the signing scope. Returns 0 with |out| filled (pointers into |url|), or
 * -1 with |why| (400 or 403); |out| is then untouched.
 */
int px_presign_target(const char *url, const char *service, const char *region, bool allow_customer,
		      unsigned partitions, struct px_presign_target *out, struct px_deny *why);

#endif
