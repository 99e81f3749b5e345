/* SPDX-License-Identifier: Apache-2.0 */
/* creds.c: one set of AWS credentials: copy, and free with the secrets wiped. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "federation/federation.h"

static void wipe_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void fed_creds_free(struct fed_creds *c)
{
	if (c == NULL)
		return;
	free(c->access_key_id);
	wipe_free(c->secret_access_key);
	wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

int fed_creds_copy(struct fed_creds *dst, const struct fed_creds *src)
{
	struct fed_creds c = *src;

	c.access_key_id = src->access_key_id ? strdup(src->access_key_id) : NULL;
	c.secret_access_key = src->secret_access_key ? strdup(src->secret_access_key) : NULL;
	c.session_token = src->session_token ? strdup(src->session_token) : NULL;
	if ((src->access_key_id && !c.access_key_id) || (src->secret_access_key && !c.secret_access_key) ||
	    (src->session_token && !c.session_token)) {
		fed_creds_free(&c);
		return FED_ERR_NOMEM;
	}
	*dst = c;
	return 0;
}
