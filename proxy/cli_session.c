/* SPDX-License-Identifier: Apache-2.0 */
/* cli_session.c: the active awsgate profile and its files, turned into the local proxy's configuration and the child's environment. */
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "lproxy.h"
#include "proxy.h"

int px_cli_session_load(const char *profile_flag, struct px_cli_session *s, char *err, size_t errlen)
{
	char home[PX_CLI_PATH_MAX];
	char name[PX_CLI_NAME_MAX + 1];
	struct px_cli_session t;
	int rv;

	memset(&t, 0, sizeof(t));
	if ((rv = px_cli_home(home, sizeof(home), 0, err, errlen)) < 0 ||
	    (rv = px_cli_profile_choose(home, profile_flag, name, sizeof(name), err, errlen)) < 0 ||
	    (rv = px_cli_profile_load(home, name, &t.p, err, errlen)) < 0)
		return rv;
	if (px_cli_profile_path(t.dir, sizeof(t.dir), home, name, NULL) < 0 ||
	    px_cli_profile_path(t.cert, sizeof(t.cert), home, name, "client.crt") < 0 ||
	    px_cli_profile_path(t.key, sizeof(t.key), home, name, "client.key") < 0 ||
	    px_cli_profile_path(t.gate_ca, sizeof(t.gate_ca), home, name, "gate-ca.crt") < 0 ||
	    px_cli_profile_path(t.local_ca_cert, sizeof(t.local_ca_cert), home, name, "local-ca.crt") < 0 ||
	    px_cli_profile_path(t.local_ca_key, sizeof(t.local_ca_key), home, name, "local-ca.key") < 0) {
		px_cli_session_wipe(&t);
		return PX_ERR_TOO_LARGE;
	}
	*s = t;
	px_cli_session_wipe(&t);
	return 0;
}

void px_cli_session_lproxy(const struct px_cli_session *s, struct px_lproxy_config *cfg)
{
	cfg->gate = s->p.gate;
	cfg->cert_file = s->cert;
	cfg->key_file = s->key;
	cfg->gate_ca_file = s->gate_ca;
	cfg->local_ca_cert_file = s->local_ca_cert;
	cfg->local_ca_key_file = s->local_ca_key;
	cfg->access_key_id = s->p.access_key_id;
	cfg->secret_access_key = s->p.secret_access_key;
	/* Unchosen: the gate picks when there is one choice, else says which. */
	cfg->app = s->p.app[0] ? s->p.app : NULL;
	cfg->role = s->p.role[0] ? s->p.role : NULL;
}

void px_cli_session_awsenv(const struct px_cli_session *s, uint16_t port, struct px_cli_awsenv *e)
{
	memset(e, 0, sizeof(*e));
	e->port = port;
	e->ca_file = s->local_ca_cert;
	e->access_key_id = s->p.access_key_id;
	e->secret_access_key = s->p.secret_access_key;
}

void px_cli_session_wipe(struct px_cli_session *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}
