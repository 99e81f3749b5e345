/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_xml.c: libFuzzer target for the STS XML extractor: documented errors only, bounded output, nothing left on failure. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_xml"
#include "tests/fuzz/harness.h"

#include "federation/federation_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {
	"a", "a/b", "Error/Code", "AssumeRoleResult/Credentials/SessionToken", "ResponseMetadata/RequestId",
	"RequestId", "x/y/z",
};

static void check(const char *doc, size_t len, const char *path, size_t room)
{
	char dst[512];
	size_t outlen = (size_t)-1;
	memset(dst, 'Z', sizeof(dst));
	int rv = fed_xml_text(doc, len, path, dst, room, &outlen);
	switch (rv) {
	case 0:
		if (outlen >= room || dst[outlen] != '\0' || strlen(dst) != outlen)
			violated("success without a NUL-terminated value of outlen bytes inside the room");
		if (len > FED_XML_MAX_INPUT)
			violated("success on an input over FED_XML_MAX_INPUT");
		if (memchr(doc, '<', len) == NULL)
			violated("success without any element");
		break;
	case FED_XML_ERR_SYNTAX:
	case FED_XML_ERR_DOCTYPE:
	case FED_XML_ERR_DEPTH:
	case FED_XML_ERR_TOO_LARGE:
	case FED_XML_ERR_NOT_FOUND:
	case FED_XML_ERR_ENTITY:
		if (dst[0] != '\0')
			violated("failure left a value behind");
		if (outlen != (size_t)-1)
			violated("outlen written on failure");
		break;
	default:
		violated("undocumented error code");
	}
	if (rv == FED_XML_ERR_DOCTYPE) {
		bool decl = false;
		for (size_t i = 0; i + 1 < len && !decl; i++)
			decl = doc[i] == '<' && doc[i + 1] == '!';
		if (!decl)
			violated("DOCTYPE error without a markup declaration");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *path = paths[data[0] % COUNTOF(paths)];
	const char *doc = (const char *)data + 1;
	size_t len = size - 1;
	check(doc, len, path, 512);
	/* With a smaller room the answer is the same value or TOO_LARGE. */
	char big[512], small[8];
	size_t bl = 0, sl = 0;
	int rb = fed_xml_text(doc, len, path, big, sizeof(big), &bl);
	int rs = fed_xml_text(doc, len, path, small, sizeof(small), &sl);
	if (rb != 0 && rs != rb && !(rs == FED_XML_ERR_TOO_LARGE))
		violated("a smaller room changed the error");
	if (rb == 0 && rs == 0 && (sl != bl || memcmp(small, big, sl + 1) != 0))
		violated("a smaller room changed the value");
	if (rb == 0 && rs != 0 && rs != FED_XML_ERR_TOO_LARGE)
		violated("a smaller room failed with something but TOO_LARGE");
	if (rb == 0 && rs == FED_XML_ERR_TOO_LARGE && bl < sizeof(small))
		violated("TOO_LARGE for a value that fits");
	return 0;
}
