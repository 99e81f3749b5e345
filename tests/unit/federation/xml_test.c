/* SPDX-License-Identifier: Apache-2.0 */
/* xml_test.c: the bounded XML extractor: element paths, entities, CDATA, and everything it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/federation_int.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct xml_case {
	const char *name;
	const char *doc;
	const char *path;
	int rv;
	const char *want;
} cases[] = {
	{"simple", "<a><b>x</b></a>", "a/b", 0, "x"},
	{"first-component-any-depth", "<r><s><a><b>x</b></a></s></r>", "a/b", 0, "x"},
	{"rest-direct-children", "<a><z><b>x</b></z></a>", "a/b", FED_XML_ERR_NOT_FOUND, ""},
	{"first-match-wins", "<a><b>1</b><b>2</b></a>", "a/b", 0, "1"},
	{"sibling-after-miss", "<a><c/><b>2</b></a>", "a/b", 0, "2"},
	{"namespace-prefix", "<p:a xmlns:p='u'><p:b>x</p:b></p:a>", "a/b", 0, "x"},
	{"attributes", "<a x=\"1\" y='2' z = \"&amp;\"><b q=\"&lt;\">v</b></a>", "a/b", 0, "v"},
	{"empty-element", "<a><b/></a>", "a/b", 0, ""},
	{"empty-pair", "<a><b></b></a>", "a/b", 0, ""},
	{"entities", "<a>&lt;&gt;&amp;&quot;&apos;</a>", "a", 0, "<>&\"'"},
	{"char-refs", "<a>&#65;&#x42;&#X43;</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"char-refs-ok", "<a>&#65;&#x42;&#x263A;&#x1F600;</a>", "a", 0, "AB\xe2\x98\xba\xf0\x9f\x98\x80"},
	{"cdata", "<a>x<![CDATA[<b>&amp;]]>y</a>", "a", 0, "x<b>&amp;y"},
	{"children-skipped", "<a>x<b>inner</b>y</a>", "a", 0, "xy"},
	{"comment-and-pi", "<?xml version=\"1.0\"?><!-- c --><a><!-- <b>no</b> -->x<?pi?></a><!-- after -->", "a", 0, "x"},
	{"bom", "\xef\xbb\xbf<a>x</a>", "a", 0, "x"},
	{"whitespace-kept", "<a>  x \n</a>", "a", 0, "  x \n"},
	{"not-found", "<a><b>x</b></a>", "a/c", FED_XML_ERR_NOT_FOUND, ""},
	{"root-path", "<Error><Code>C</Code></Error>", "Error/Code", 0, "C"},
	/* Refused. */
	{"doctype", "<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", "a", FED_XML_ERR_DOCTYPE, ""},
	{"entity-decl-inside", "<a><!ENTITY e 'x'></a>", "a", FED_XML_ERR_DOCTYPE, ""},
	{"unknown-entity", "<a>&e;</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"entity-no-semicolon", "<a>&amp</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"bare-ampersand", "<a>a & b</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"char-ref-nul", "<a>&#0;</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"char-ref-control", "<a>&#x1;</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"char-ref-surrogate", "<a>&#xD800;</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"char-ref-too-big", "<a>&#x110000;</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"char-ref-empty", "<a>&#;</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"char-ref-long", "<a>&#000000000065;</a>", "a", FED_XML_ERR_ENTITY, ""},
	{"mismatched-close", "<a><b>x</c></a>", "a/b", FED_XML_ERR_SYNTAX, ""},
	{"unclosed", "<a><b>x</b>", "a/b", FED_XML_ERR_SYNTAX, ""},
	{"close-without-open", "</a>", "a", FED_XML_ERR_SYNTAX, ""},
	{"two-roots", "<a>x</a><a>y</a>", "a", FED_XML_ERR_SYNTAX, ""},
	{"text-outside-root", "junk<a>x</a>", "a", FED_XML_ERR_SYNTAX, ""},
	{"text-after-root", "<a>x</a>junk", "a", FED_XML_ERR_SYNTAX, ""},
	{"empty-doc", "", "a", FED_XML_ERR_SYNTAX, ""},
	{"unterminated-comment", "<a>x</a><!-- ", "a", FED_XML_ERR_SYNTAX, ""},
	{"unterminated-cdata", "<a><![CDATA[x</a>", "a", FED_XML_ERR_SYNTAX, ""},
	{"cdata-outside-root", "<![CDATA[x]]><a/>", "a", FED_XML_ERR_SYNTAX, ""},
	{"unquoted-attribute", "<a x=1>v</a>", "a", FED_XML_ERR_SYNTAX, ""},
	{"attribute-without-space", "<a x='1'y='2'>v</a>", "a", FED_XML_ERR_SYNTAX, ""},
	{"lt-in-attribute", "<a x='<'>v</a>", "a", FED_XML_ERR_SYNTAX, ""},
	{"bad-name", "<1a>v</1a>", "1a", FED_XML_ERR_SYNTAX, ""},
	{"unterminated-tag", "<a", "a", FED_XML_ERR_SYNTAX, ""},
	{"error-after-found", "<a><b>x</b><c></a>", "a/b", FED_XML_ERR_SYNTAX, ""},
	{"empty-path-part", "<a><b>x</b></a>", "a//b", FED_XML_ERR_SYNTAX, ""},
	{"empty-path", "<a>x</a>", "", FED_XML_ERR_SYNTAX, ""},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(cases); i++) {
		const struct xml_case *c = &cases[i];
		char dst[256];
		size_t outlen = 4242;
		memset(dst, 'Z', sizeof(dst));
		int rv = fed_xml_text(c->doc, strlen(c->doc), c->path, dst, sizeof(dst), &outlen);
		if (rv != c->rv)
			fail_msg("%s: returned %d (%s), want %d", c->name, rv, fed_xml_strerror(rv), c->rv);
		if (strcmp(dst, c->want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->name, dst, c->want);
		if (rv == 0)
			assert_int_equal(outlen, strlen(c->want));
		else
			assert_int_equal(outlen, 4242); /* written only on success */
	}
}

static void test_nul_bytes(void **state)
{
	(void)state;
	char dst[16];
	assert_int_equal(fed_xml_text("<a>x\0y</a>", 10, "a", dst, sizeof(dst), NULL), FED_XML_ERR_SYNTAX);
	assert_int_equal(fed_xml_text("<a><![CDATA[x\0]]></a>", 21, "a", dst, sizeof(dst), NULL), FED_XML_ERR_SYNTAX);
	assert_int_equal(fed_xml_text("<a x='\0'>v</a>", 14, "a", dst, sizeof(dst), NULL), FED_XML_ERR_SYNTAX);
	/* The length bounds the document, not a NUL: what follows is not read. */
	assert_int_equal(fed_xml_text("<a>x</a>JUNK", 8, "a", dst, sizeof(dst), NULL), 0);
	assert_string_equal(dst, "x");
}

static void test_limits(void **state)
{
	(void)state;
	char dst[8];
	size_t outlen;
	/* Room: 7 bytes and the NUL fit, 8 do not; nothing is left behind. */
	assert_int_equal(fed_xml_text("<a>1234567</a>", 14, "a", dst, sizeof(dst), &outlen), 0);
	assert_string_equal(dst, "1234567");
	assert_int_equal(fed_xml_text("<a>12345678</a>", 15, "a", dst, sizeof(dst), &outlen), FED_XML_ERR_TOO_LARGE);
	assert_string_equal(dst, "");
	assert_int_equal(fed_xml_text("<a>x</a>", 8, "a", dst, 0, &outlen), FED_XML_ERR_TOO_LARGE);

	/* Depth: FED_XML_MAX_DEPTH elements nest, one more does not. */
	char doc[1024];
	size_t n = 0;
	for (int i = 0; i < FED_XML_MAX_DEPTH; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "<e%d>", i);
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "x");
	for (int i = FED_XML_MAX_DEPTH; i-- > 0;)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "</e%d>", i);
	char path[16];
	snprintf(path, sizeof(path), "e%d", FED_XML_MAX_DEPTH - 1);
	assert_int_equal(fed_xml_text(doc, n, path, dst, sizeof(dst), NULL), 0);
	assert_string_equal(dst, "x");
	n = 0;
	for (int i = 0; i <= FED_XML_MAX_DEPTH; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "<e>");
	assert_int_equal(fed_xml_text(doc, n, "e", dst, sizeof(dst), NULL), FED_XML_ERR_DEPTH);

	/* Input size. */
	size_t big = FED_XML_MAX_INPUT + 1;
	char *b = malloc(big);
	assert_non_null(b);
	memset(b, ' ', big);
	memcpy(b, "<a>x</a>", 8);
	assert_int_equal(fed_xml_text(b, big, "a", dst, sizeof(dst), NULL), FED_XML_ERR_TOO_LARGE);
	assert_int_equal(fed_xml_text(b, big - 1, "a", dst, sizeof(dst), NULL), 0);
	free(b);

	/* Names. */
	char longname[FED_XML_MAX_NAME + 16];
	memset(longname, 'n', sizeof(longname));
	n = (size_t)snprintf(doc, sizeof(doc), "<%.*s/>", FED_XML_MAX_NAME + 1, longname);
	assert_int_equal(fed_xml_text(doc, n, "n", dst, sizeof(dst), NULL), FED_XML_ERR_TOO_LARGE);
	n = (size_t)snprintf(doc, sizeof(doc), "<%.*s/>", FED_XML_MAX_NAME, longname);
	assert_int_equal(fed_xml_text(doc, n, "n", dst, sizeof(dst), NULL), FED_XML_ERR_NOT_FOUND);

	/* Path components. */
	char longpath[64];
	n = 0;
	for (int i = 0; i <= FED_XML_MAX_PATH; i++)
		n += (size_t)snprintf(longpath + n, sizeof(longpath) - n, "%s", i ? "/a" : "a");
	assert_int_equal(fed_xml_text("<a/>", 4, longpath, dst, sizeof(dst), NULL), FED_XML_ERR_SYNTAX);
}

/* A billion laughs and an external entity: refused before any expansion. */
static void test_entity_attacks(void **state)
{
	(void)state;
	static const char laughs[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
	                             " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n]>\n"
	                             "<lolz>&lol2;</lolz>";
	static const char xxe[] = "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>";
	char dst[64];
	assert_int_equal(fed_xml_text(laughs, strlen(laughs), "lolz", dst, sizeof(dst), NULL), FED_XML_ERR_DOCTYPE);
	assert_int_equal(fed_xml_text(xxe, strlen(xxe), "foo", dst, sizeof(dst), NULL), FED_XML_ERR_DOCTYPE);
}

static char *slurp(const char *name, size_t *len)
{
	const char *top = getenv("abs_top_srcdir");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/federation/sts/%s", top ? top : ".", name);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	char *buf = malloc(65536);
	assert_non_null(buf);
	*len = fread(buf, 1, 65535, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

static void test_sts_documents(void **state)
{
	(void)state;
	static const struct {
		const char *file, *path, *want;
	} reads[] = {
		{"assume-role.xml", "AssumeRoleResult/Credentials/AccessKeyId", "ASIAIOSFODNN7EXAMPLE"},
		{"assume-role.xml", "AssumeRoleResult/Credentials/Expiration", "2025-12-01T01:00:00Z"},
		{"assume-role.xml", "AssumeRoleResult/AssumedRoleUser/Arn",
		 "arn:aws:sts::123456789012:assumed-role/Dev/alice@example.com"},
		{"assume-role.xml", "AssumeRoleResult/SourceIdentity", "alice@example.com"},
		{"assume-role.xml", "ResponseMetadata/RequestId", "c6104cbe-af31-11e0-8154-cbc7ccf896c7"},
		{"caller-identity.xml", "GetCallerIdentityResult/Account", "123456789012"},
		{"error-denied.xml", "Error/Code", "AccessDenied"},
		{"error-denied.xml", "ErrorResponse/RequestId", "9d2b2a6f-0d1b-4c4e-9a34-2b9f0e4d5a11"},
	};
	for (size_t i = 0; i < LEN(reads); i++) {
		size_t len;
		char *doc = slurp(reads[i].file, &len);
		char dst[256];
		int rv = fed_xml_text(doc, len, reads[i].path, dst, sizeof(dst), NULL);
		if (rv != 0)
			fail_msg("%s %s: %s", reads[i].file, reads[i].path, fed_xml_strerror(rv));
		assert_string_equal(dst, reads[i].want);
		free(doc);
	}
}

static size_t unhex(const char *hex, char *out, size_t room)
{
	if (strcmp(hex, "-") == 0) {
		out[0] = '\0';
		return 0;
	}
	size_t n = strlen(hex) / 2;
	if (n >= room)
		fail_msg("case too long");
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			fail_msg("bad hex");
		out[i] = (char)v;
	}
	out[n] = '\0';
	return n;
}

/* Python's ElementTree (expat) is the oracle: tests/data/federation/xml_cases.txt. */
static void test_elementtree_oracle(void **state)
{
	(void)state;
	const char *top = getenv("abs_top_srcdir");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/federation/xml_cases.txt", top ? top : ".");
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	static char line[65536], doc[32768], want[32768], got[32768];
	size_t n = 0, counts[3] = {0, 0, 0};
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *f[4];
		char *save = line;
		for (int i = 0; i < 4; i++) {
			f[i] = save;
			save = strpbrk(save, " \n");
			if (save == NULL)
				fail_msg("bad line in xml_cases.txt");
			*save++ = '\0';
		}
		size_t dl = unhex(f[0], doc, sizeof(doc));
		unhex(f[3], want, sizeof(want));
		int outcome = f[2][0] - '0';
		size_t gl = 0;
		int rv = fed_xml_text(doc, dl, f[1], got, sizeof(got), &gl);
		if (outcome == 0 && (rv != 0 || strcmp(got, want) != 0))
			fail_msg("case %zu (%s in %s): rv %d \"%s\", ElementTree \"%s\"", n, f[1], doc, rv, got, want);
		if (outcome == 1 && rv != FED_XML_ERR_NOT_FOUND)
			fail_msg("case %zu (%s in %s): rv %d, ElementTree found nothing", n, f[1], doc, rv);
		if (outcome == 2 && (rv == 0 || rv == FED_XML_ERR_NOT_FOUND))
			fail_msg("case %zu (%s): accepted %s, which expat refuses", n, f[1], doc);
		counts[outcome]++;
		n++;
	}
	fclose(fp);
	assert_true(counts[0] > 100 && counts[1] > 20 && counts[2] > 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_entity_attacks),
		cmocka_unit_test(test_sts_documents),
		cmocka_unit_test(test_elementtree_oracle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
