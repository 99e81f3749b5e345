/* SPDX-License-Identifier: Apache-2.0 */
/* lproxy_int.h: the local proxy's socket-free parts: the CONNECT target, the routing decision, NO_PROXY, leaf certificates. */
#ifndef AWSGATE_PROXY_LPROXY_INT_H
#define AWSGATE_PROXY_LPROXY_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "federation/federation.h"
#include "proxy/lproxy.h"
#include "proxy/upstream.h" /* PX_ERR_INVALID */
#include "rbac/rbac.h"

/* Limits (docs/LPROXY.md, "Limits"). */
#define PX_LPROXY_MAX_TARGET 300           /* bytes of a CONNECT request target */
#define PX_LPROXY_MAX_CONNS 256            /* client connections at once; more are closed at accept */
#define PX_LPROXY_MAX_HEAD 16384           /* bytes of a CONNECT head, of a request head in a tunnel */
#define PX_LPROXY_MAX_HEADERS 128          /* header fields of a request in a tunnel */
#define PX_LPROXY_TUNNEL_BUF 65536         /* bytes buffered per direction of a tunnel */
#define PX_LPROXY_OUT_HIGH 65536           /* response bytes queued to the SDK before the gate is paused */
#define PX_LPROXY_MAX_SIGNED_BODY (8u * 1024 * 1024) /* body held to check a signature over it */
#define PX_LPROXY_BODY_KEEP 65536        /* capacity of that buffer kept for the connection's next request */
#define PX_LPROXY_MAX_LEAVES 256           /* leaf certificates cached */
#define PX_LPROXY_LEAF_TTL (24u * 3600)    /* validity of a leaf certificate, seconds */
#define PX_LPROXY_CA_TTL (3650u * 86400)   /* validity of the local CA: ten years */
#define PX_LPROXY_MAX_NO_PROXY 4096        /* bytes of the NO_PROXY list */

#define PX_LPROXY_CA_NAME "awsgate local proxy CA"

/* A CONNECT target: host in lower case (an IPv6 literal without its
 * brackets), port, and what the host is. */
enum px_lproxy_hostkind {
	PX_LP_NAME = 0,
	PX_LP_IPV4,
	PX_LP_IPV6,
};

struct px_lproxy_target {
	char host[FED_MAX_HOST + 1];
	size_t hostlen;
	uint16_t port;
	enum px_lproxy_hostkind kind;
};

/*
 * Parses a CONNECT request target (authority-form, RFC 9110 9.3.6):
 * `name:port`, `a.b.c.d:port` or `[v6]:port`, |len| bytes. The port is
 * 1..65535 in decimal, 1 to 5 digits; a name is LDH labels (plus '_') of 1
 * to 63 bytes, at most FED_MAX_HOST bytes, an optional trailing dot
 * dropped; no userinfo, path, spaces or other bytes.
 * This function returns 0 and fills |out| if it succeeds, or
 * PX_ERR_INVALID.
 */
int px_lproxy_target_parse(const char *s, size_t len, struct px_lproxy_target *out);

/* What the proxy does with a CONNECT. */
enum px_lproxy_route {
	PX_LP_INTERCEPT = 0, /* an AWS API endpoint on 443: TLS here, forwarded to the gate */
	PX_LP_TUNNEL_AWS,    /* an AWS host that must not be intercepted (ssmmessages): tunnelled always */
	PX_LP_OTHER,         /* anything else: tunnelled, or refused with refuse_other_hosts */
};

/* Decides the route of |t| with federation's partition table. */
enum px_lproxy_route px_lproxy_route(const struct px_lproxy_target *t);

/* Returns 1 if |host| (lower case, |len| bytes) is matched by |list|, in
 * curl's NO_PROXY syntax: comma- (or space-) separated entries, "*" alone
 * matches everything, a name matches itself and its subdomains (a leading
 * dot is optional), an IP literal matches itself; else 0. */
int px_lproxy_no_proxy_match(const char *list, const char *host, size_t len);

/* Leaf certificates minted from the local CA, cached per host. */
struct px_lproxy_leaves;

int px_lproxy_leaves_new(const char *ca_cert_file, const char *ca_key_file, struct px_lproxy_leaves **out, char *err,
                         size_t errlen);
void px_lproxy_leaves_del(struct px_lproxy_leaves *lv);

/* Sets |*cert| and |*key| (borrowed from the cache, valid until the next
 * call) to a certificate for |host| valid for at least an hour more at
 * |now|, minting one when needed. Returns 0, or PX_ERR_LPROXY with |err|. */
int px_lproxy_leaf_get(struct px_lproxy_leaves *lv, const char *host, int64_t now, X509 **cert, EVP_PKEY **key,
                       char *err, size_t errlen);

#endif
