/* SPDX-License-Identifier: Apache-2.0 */
/* lproxy.h: the user's local proxy (`awsgate proxy aws`, `awsgate aws`): HTTP CONNECT on loopback, AWS hosts intercepted with a local CA and forwarded to the gate over one HTTP/2 mTLS connection. */
#ifndef AWSGATE_PROXY_LPROXY_H
#define AWSGATE_PROXY_LPROXY_H

#include <stddef.h>
#include <stdint.h>

/*
 * docs/LPROXY.md describes the design. In short: an SDK configured with
 * HTTPS_PROXY=http://127.0.0.1:PORT and AWS_CA_BUNDLE=<local CA> sends
 * `CONNECT host:443`; for an AWS host (the partition table) the proxy
 * answers with TLS under a certificate for that host minted from the local
 * CA, parses the requests (llhttp), verifies each one's SigV4 with the
 * throw-away keys (the only thing that keeps other local users out), and
 * forwards it over one HTTP/2 mTLS connection to the gate with
 * X-Forwarded-Host, X-Awsgate-App and X-Awsgate-Role; the response is
 * streamed back. Other hosts are tunnelled untouched (or refused).
 *
 * Threads: everything runs on the loop of px_lproxy_run(); only
 * px_lproxy_stop() may be called from another thread or a signal handler.
 */

#define PX_ERR_LPROXY -480 /* the local proxy could not start: the message says why */

struct px_lproxy_config {
	/* Listening: 127.0.0.1 always; |port| 0 for an ephemeral port. */
	uint16_t port;

	/* The gate: "HOST:PORT" (the profile's), the client certificate and
	 * key, and the CA that the gate's server certificate must chain to. */
	const char *gate;
	const char *cert_file;
	const char *key_file;
	const char *gate_ca_file;

	/* The local CA (created by px_lproxy_ca_ensure()): leaf certificates
	 * for intercepted hosts are minted from it. */
	const char *local_ca_cert_file;
	const char *local_ca_key_file;

	/* The throw-away keys the SDK signs with: requests not signed with
	 * them (header or presigned query) are refused locally with 403. */
	const char *access_key_id;
	const char *secret_access_key;

	/* The app and role chosen by `awsgate apps login` (sent as
	 * X-Awsgate-App / X-Awsgate-Role); NULL: let the gate choose. */
	const char *app;
	const char *role;

	/* Non-AWS hosts: 0 tunnel them, 1 refuse them (403 to CONNECT). */
	int refuse_other_hosts;
	/* The user's own proxy for tunnelled hosts, and NO_PROXY (curl's
	 * syntax); NULL: connect directly. AWS hosts always go to the gate. */
	const char *upstream_proxy;
	const char *no_proxy;

	/* A hosts(5) file consulted before DNS for tunnelled hosts and the
	 * gate's name (tests, air-gapped machines); NULL: DNS only. */
	const char *hosts_file;

	/* The gate connection's connect timeout in milliseconds: the lookup
	 * of its name, TCP and TLS (0: 10 s). */
	uint32_t gate_connect_timeout_ms;

	/* Allowed clock skew of the SDK's signatures, seconds (0: 300). */
	uint32_t clock_skew;
	/* Progress and errors for the user (stderr), no secrets; NULL: quiet. */
	void (*log)(void *arg, const char *msg);
	void *log_arg;
};

struct px_lproxy;

/*
 * Creates the proxy: loads the files, binds 127.0.0.1:|cfg->port| and
 * connects nothing yet (the gate connection is made on the first request
 * and re-made with backoff). Copies what it needs from |cfg|.
 * This function returns 0 if it succeeds, or PX_ERR_LPROXY with a message
 * in |err| (|errlen| bytes) that says what to do.
 */
int px_lproxy_new(const struct px_lproxy_config *cfg, struct px_lproxy **out, char *err, size_t errlen);

/* The port listened on (the ephemeral one when the config said 0). */
uint16_t px_lproxy_port(const struct px_lproxy *lp);

/* Runs the proxy's loop on the calling thread until px_lproxy_stop().
 * Returns 0, or PX_ERR_LPROXY when it had to stop on its own (the gate's
 * certificate expired: the log said so). */
int px_lproxy_run(struct px_lproxy *lp);

/* Asks px_lproxy_run() to return: async-signal-safe and thread-safe. */
void px_lproxy_stop(struct px_lproxy *lp);

/* Frees the proxy after px_lproxy_run() returned (or was never called).
 * NULL is fine. */
void px_lproxy_del(struct px_lproxy *lp);

/*
 * Makes sure |dir| holds the profile's local CA, `DIR/local-ca.crt` and
 * `DIR/local-ca.key` (0600, ECDSA P-256, ten years): created once and kept,
 * so trust stores built from it stay valid. Checks an existing pair
 * (readable, a CA, key matching) and never overwrites it.
 * This function returns 0 if it succeeds, or PX_ERR_LPROXY with a message
 * in |err|.
 */
int px_lproxy_ca_ensure(const char *dir, char *err, size_t errlen);

#endif
