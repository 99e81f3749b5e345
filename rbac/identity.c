/* SPDX-License-Identifier: Apache-2.0 */
/* identity.c: the identity's own memory. */
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

void rbac_identity_free(struct rbac_identity *id)
{
	if (id == NULL)
		return;
	free(id->user);
	for (size_t i = 0; i < id->nroles; i++)
		free(id->roles[i]);
	free(id->roles);
	rbac_traits_free(id->traits, id->ntraits);
	memset(id, 0, sizeof(*id));
}
