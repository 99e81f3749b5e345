/* SPDX-License-Identifier: Apache-2.0 */
/* s3action.c: the S3 operation a REST request names (GetObject, ListObjectsV2, ...), for the audit, from its method, path, query sub-resources and x-amz-copy-source. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "pipeline.h"

/*
 * S3 has no Action parameter: the operation is the HTTP method applied to
 * the service, a bucket or an object, chosen further by a sub-resource key
 * in the query ("?uploads", "?tagging", "?list-type=2"). The table is read
 * in order and the first row whose keys are all in the query wins; a row
 * without keys is the scope's fallback. The x-id query parameter some SDKs
 * add is ignored: it is the client's word, and the audit records what S3
 * does with the request.
 */

enum scope { SVC, BKT, OBJ };

struct op {
	unsigned char scope;
	char method[7];
	const char *key;  /* a query key that must be present; NULL: none */
	const char *key2; /* a second one; NULL: none */
	const char *name;
};

static const struct op ops[] = {
	{SVC, "GET", NULL, NULL, "ListBuckets"},

	{BKT, "GET", "accelerate", NULL, "GetBucketAccelerateConfiguration"},
	{BKT, "GET", "acl", NULL, "GetBucketAcl"},
	{BKT, "GET", "analytics", "id", "GetBucketAnalyticsConfiguration"},
	{BKT, "GET", "analytics", NULL, "ListBucketAnalyticsConfigurations"},
	{BKT, "GET", "cors", NULL, "GetBucketCors"},
	{BKT, "GET", "encryption", NULL, "GetBucketEncryption"},
	{BKT, "GET", "intelligent-tiering", "id", "GetBucketIntelligentTieringConfiguration"},
	{BKT, "GET", "intelligent-tiering", NULL, "ListBucketIntelligentTieringConfigurations"},
	{BKT, "GET", "inventory", "id", "GetBucketInventoryConfiguration"},
	{BKT, "GET", "inventory", NULL, "ListBucketInventoryConfigurations"},
	{BKT, "GET", "lifecycle", NULL, "GetBucketLifecycleConfiguration"},
	{BKT, "GET", "location", NULL, "GetBucketLocation"},
	{BKT, "GET", "logging", NULL, "GetBucketLogging"},
	{BKT, "GET", "metadataTable", NULL, "GetBucketMetadataTableConfiguration"},
	{BKT, "GET", "metrics", "id", "GetBucketMetricsConfiguration"},
	{BKT, "GET", "metrics", NULL, "ListBucketMetricsConfigurations"},
	{BKT, "GET", "notification", NULL, "GetBucketNotificationConfiguration"},
	{BKT, "GET", "object-lock", NULL, "GetObjectLockConfiguration"},
	{BKT, "GET", "ownershipControls", NULL, "GetBucketOwnershipControls"},
	{BKT, "GET", "policy", NULL, "GetBucketPolicy"},
	{BKT, "GET", "policyStatus", NULL, "GetBucketPolicyStatus"},
	{BKT, "GET", "publicAccessBlock", NULL, "GetPublicAccessBlock"},
	{BKT, "GET", "replication", NULL, "GetBucketReplication"},
	{BKT, "GET", "requestPayment", NULL, "GetBucketRequestPayment"},
	{BKT, "GET", "session", NULL, "CreateSession"},
	{BKT, "GET", "tagging", NULL, "GetBucketTagging"},
	{BKT, "GET", "versioning", NULL, "GetBucketVersioning"},
	{BKT, "GET", "website", NULL, "GetBucketWebsite"},
	{BKT, "GET", "uploads", NULL, "ListMultipartUploads"},
	{BKT, "GET", "versions", NULL, "ListObjectVersions"},
	{BKT, "GET", "list-type", NULL, "ListObjectsV2"},
	{BKT, "GET", NULL, NULL, "ListObjects"},
	{BKT, "HEAD", NULL, NULL, "HeadBucket"},

	{BKT, "PUT", "accelerate", NULL, "PutBucketAccelerateConfiguration"},
	{BKT, "PUT", "acl", NULL, "PutBucketAcl"},
	{BKT, "PUT", "analytics", NULL, "PutBucketAnalyticsConfiguration"},
	{BKT, "PUT", "cors", NULL, "PutBucketCors"},
	{BKT, "PUT", "encryption", NULL, "PutBucketEncryption"},
	{BKT, "PUT", "intelligent-tiering", NULL, "PutBucketIntelligentTieringConfiguration"},
	{BKT, "PUT", "inventory", NULL, "PutBucketInventoryConfiguration"},
	{BKT, "PUT", "lifecycle", NULL, "PutBucketLifecycleConfiguration"},
	{BKT, "PUT", "logging", NULL, "PutBucketLogging"},
	{BKT, "PUT", "metrics", NULL, "PutBucketMetricsConfiguration"},
	{BKT, "PUT", "notification", NULL, "PutBucketNotificationConfiguration"},
	{BKT, "PUT", "object-lock", NULL, "PutObjectLockConfiguration"},
	{BKT, "PUT", "ownershipControls", NULL, "PutBucketOwnershipControls"},
	{BKT, "PUT", "policy", NULL, "PutBucketPolicy"},
	{BKT, "PUT", "publicAccessBlock", NULL, "PutPublicAccessBlock"},
	{BKT, "PUT", "replication", NULL, "PutBucketReplication"},
	{BKT, "PUT", "requestPayment", NULL, "PutBucketRequestPayment"},
	{BKT, "PUT", "tagging", NULL, "PutBucketTagging"},
	{BKT, "PUT", "versioning", NULL, "PutBucketVersioning"},
	{BKT, "PUT", "website", NULL, "PutBucketWebsite"},
	{BKT, "PUT", NULL, NULL, "CreateBucket"},

	{BKT, "DELETE", "analytics", NULL, "DeleteBucketAnalyticsConfiguration"},
	{BKT, "DELETE", "cors", NULL, "DeleteBucketCors"},
	{BKT, "DELETE", "encryption", NULL, "DeleteBucketEncryption"},
	{BKT, "DELETE", "intelligent-tiering", NULL, "DeleteBucketIntelligentTieringConfiguration"},
	{BKT, "DELETE", "inventory", NULL, "DeleteBucketInventoryConfiguration"},
	{BKT, "DELETE", "lifecycle", NULL, "DeleteBucketLifecycle"},
	{BKT, "DELETE", "metadataTable", NULL, "DeleteBucketMetadataTableConfiguration"},
	{BKT, "DELETE", "metrics", NULL, "DeleteBucketMetricsConfiguration"},
	{BKT, "DELETE", "ownershipControls", NULL, "DeleteBucketOwnershipControls"},
	{BKT, "DELETE", "policy", NULL, "DeleteBucketPolicy"},
	{BKT, "DELETE", "publicAccessBlock", NULL, "DeletePublicAccessBlock"},
	{BKT, "DELETE", "replication", NULL, "DeleteBucketReplication"},
	{BKT, "DELETE", "tagging", NULL, "DeleteBucketTagging"},
	{BKT, "DELETE", "website", NULL, "DeleteBucketWebsite"},
	{BKT, "DELETE", NULL, NULL, "DeleteBucket"},

	{BKT, "POST", "delete", NULL, "DeleteObjects"},
	{BKT, "POST", "metadataTable", NULL, "CreateBucketMetadataTableConfiguration"},
	{BKT, "POST", NULL, NULL, "PostObject"}, /* a browser form upload */

	{OBJ, "GET", "acl", NULL, "GetObjectAcl"},
	{OBJ, "GET", "attributes", NULL, "GetObjectAttributes"},
	{OBJ, "GET", "legal-hold", NULL, "GetObjectLegalHold"},
	{OBJ, "GET", "retention", NULL, "GetObjectRetention"},
	{OBJ, "GET", "tagging", NULL, "GetObjectTagging"},
	{OBJ, "GET", "torrent", NULL, "GetObjectTorrent"},
	{OBJ, "GET", "uploadId", NULL, "ListParts"},
	{OBJ, "GET", NULL, NULL, "GetObject"},
	{OBJ, "HEAD", NULL, NULL, "HeadObject"},

	/* PUT with x-amz-copy-source is settled before the table. */
	{OBJ, "PUT", "uploadId", "partNumber", "UploadPart"},
	{OBJ, "PUT", "acl", NULL, "PutObjectAcl"},
	{OBJ, "PUT", "legal-hold", NULL, "PutObjectLegalHold"},
	{OBJ, "PUT", "retention", NULL, "PutObjectRetention"},
	{OBJ, "PUT", "tagging", NULL, "PutObjectTagging"},
	{OBJ, "PUT", NULL, NULL, "PutObject"},

	{OBJ, "POST", "uploads", NULL, "CreateMultipartUpload"},
	{OBJ, "POST", "uploadId", NULL, "CompleteMultipartUpload"},
	{OBJ, "POST", "restore", NULL, "RestoreObject"},
	{OBJ, "POST", "select", NULL, "SelectObjectContent"},

	{OBJ, "DELETE", "uploadId", NULL, "AbortMultipartUpload"},
	{OBJ, "DELETE", "tagging", NULL, "DeleteObjectTagging"},
	{OBJ, "DELETE", NULL, NULL, "DeleteObject"},
};

/* Whether the query (|n| bytes) has a parameter named |key|, with or
 * without a value. Names are compared raw: every sub-resource name is
 * plain ASCII, and an encoded one is not what S3 reads as one either. */
static bool has_key(const char *q, size_t n, const char *key)
{
	size_t k = strlen(key);
	struct px_qpair p;
	for (size_t at = 0; px_qpair_next(q, n, &at, &p);)
		if (px_qpair_is(&p, key, k))
			return true;
	return false;
}

static bool has_header(const struct sv4_request *req, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < req->nheaders; i++)
		if (req->headers[i].namelen == n && strncasecmp(req->headers[i].name, name, n) == 0)
			return true;
	return false;
}

void px_s3_action(const struct sv4_request *req, bool virtual_host, char action[PX_MAX_ACTION + 1])
{
	const char *p = req->path, *q = req->query != NULL ? req->query : "";
	size_t pl = req->pathlen, ql = req->query != NULL ? req->querylen : 0;
	const char *name = NULL;
	enum scope sc;

	action[0] = '\0';
	if (pl == 0 || p[0] != '/')
		return;
	p++;
	pl--;
	if (virtual_host) {
		sc = pl == 0 ? BKT : OBJ;
	} else {
		/* path style: "/", "/bucket", "/bucket/" or "/bucket/key" */
		const char *slash = memchr(p, '/', pl);
		if (pl == 0)
			sc = SVC;
		else if (slash == NULL || (size_t)(slash - p) == pl - 1)
			sc = BKT;
		else
			sc = OBJ;
	}
	if (sc == OBJ && req->methodlen == 3 && memcmp(req->method, "PUT", 3) == 0 &&
	    has_header(req, "x-amz-copy-source")) {
		name = has_key(q, ql, "uploadId") && has_key(q, ql, "partNumber") ? "UploadPartCopy" : "CopyObject";
	}
	for (size_t i = 0; name == NULL && i < sizeof(ops) / sizeof(ops[0]); i++) {
		const struct op *o = &ops[i];
		if (o->scope != sc || strlen(o->method) != req->methodlen ||
		    memcmp(o->method, req->method, req->methodlen) != 0)
			continue;
		if ((o->key == NULL || has_key(q, ql, o->key)) && (o->key2 == NULL || has_key(q, ql, o->key2)))
			name = o->name;
	}
	if (name != NULL)
		memcpy(action, name, strlen(name) + 1);
}
