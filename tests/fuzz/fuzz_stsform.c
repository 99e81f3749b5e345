/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_stsform.c: libFuzzer target for the AssumeRole form rewriter and the action extractor: documented errors only, a clean AWS-encoded result that needs no second rewrite. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_stsform"
#include "tests/fuzz/harness.h"

#include "proxy/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char out[PX_STS_MAX_FORM], again[PX_STS_MAX_FORM];

/* Input: one byte choosing the session's time left and the user, then the form. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	static const char *const users[] = {"alice", "al ice+x@y", NULL, "b"};
	static const int64_t lefts[] = {100, 899, 900, 1800, 3600, 43200, 100000, 0};
	struct px_sts_user u = {users[data[0] & 3], lefts[(data[0] >> 2) & 7]};
	const char *form = (const char *)data + 1;
	size_t len = size - 1;
	struct px_sts_change chg;
	struct px_refusal why;
	size_t ol = (size_t)-1;
	size_t room = (data[0] & 0x80) ? 64 : sizeof(out);
	int rv = px_sts_rewrite(form, len, &u, out, room, &ol, &chg, &why);
	if (rv == PX_ERR_REFUSED) {
		if (why.reason != PX_R_REQUEST_MALFORMED && why.reason != PX_R_SOURCE_IDENTITY &&
		    why.reason != PX_R_SESSION_TOO_SHORT)
			violated("a reason px_sts_rewrite() does not document");
		if (ol != (size_t)-1)
			violated("failure wrote the length");
	} else if (rv == PX_ERR_TOO_LARGE) {
		if (ol != (size_t)-1)
			violated("failure wrote the length");
	} else if (rv != 0) {
		violated("an undocumented error code");
	} else if (!chg.rewritten) {
		if (ol != (size_t)-1)
			violated("an unchanged form wrote the length");
	} else {
		if (!chg.assume_role || ol > room)
			violated("a rewrite of something else, or past the room");
		for (size_t i = 0; i < ol; i++) {
			char c = out[i];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			      c == '_' || c == '.' || c == '~' || c == '%' || c == '&' || c == '='))
				violated("a byte outside AWS's encoding in the result");
		}
		if (chg.duration_capped && (int64_t)chg.duration_seconds > u.session_left_s)
			violated("a duration past the session");
		struct px_sts_change c2;
		size_t l2 = 0;
		if (px_sts_rewrite(out, ol, &u, again, sizeof(again), &l2, &c2, &why) != 0 || c2.rewritten)
			violated("the result needs a second rewrite");
	}
	struct sv4_request req = {"POST", 4, "/", 1, form, len, NULL, 0, NULL, 0};
	char action[PX_MAX_ACTION + 1];
	rv = px_action_extract(&req, form, len, action);
	if (rv == 0) {
		if (strlen(action) > PX_MAX_ACTION)
			violated("an action over the limit");
	} else if (rv != PX_ERR_RANGE) {
		violated("an undocumented error code from px_action_extract()");
	}
	return 0;
}
