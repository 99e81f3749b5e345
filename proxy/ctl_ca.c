/* SPDX-License-Identifier: Apache-2.0 */
/* ctl_ca.c: `awsgatectl ca init|pin|crl` and `certs user|server|revoke|show`, the built-in CA's files. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "proxy.h"
#include "rbac/rbac.h"
#include "sigv4/sigv4.h"

/* The files of a CA directory (docs/CA.md, "Files"). */
#define CA_CERT_FILE "ca.crt"
#define CA_KEY_FILE "ca.key"
#define REVOKED_FILE "revoked.json"

#define CA_DEFAULT_TTL (87600u * 3600u) /* 10 years of 365 days */
#define CRL_DEFAULT_TTL (24u * 3600u)

/* Largest files read: a certificate, a key, the revocation list. */
#define CERT_FILE_MAX (1024 * 1024)
#define KEY_FILE_MAX (64 * 1024)
#define REVOKED_FILE_MAX (16 * 1024 * 1024)

#define MODE_PUBLIC 0644u
#define MODE_SECRET 0600u

/* ------------------------------------------------------------------------
 * Shared pieces */

/* Prints what was wrong with the options of |cmd| and returns the usage
 * status: getopt_long() returned '?' or ':' for the option before optind. */
static int bad_option(const struct option *opts, int first, char **argv, const char *cmd)
{
	if (optopt != 0)
		fprintf(stderr, "awsgatectl: option --%s needs a value\n", opts[optopt - first].name);
	else
		fprintf(stderr, "awsgatectl: unknown option '%s'\n", argv[optind - 1]);
	fprintf(stderr, "Try 'awsgatectl %s --help'.\n", cmd);
	return PX_EXIT_USAGE;
}

static int no_arguments(int argc, char **argv, const char *cmd)
{
	if (optind < argc) {
		fprintf(stderr, "awsgatectl: unexpected argument '%s'\nTry 'awsgatectl %s --help'.\n",
		        argv[optind], cmd);
		return PX_EXIT_USAGE;
	}
	return PX_EXIT_OK;
}

/* |dir|/|name| into |buf|; 0, or -1 (with a message) when it is too long. */
static int join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "awsgatectl: the path '%s/%s' is too long\n", dir, name);
		return -1;
	}
	return 0;
}

/* Writes |t| as 2015-08-30T12:36:00Z (without gmtime(): sigv4's formatter). */
static void format_time(char out[21], int64_t t)
{
	char basic[17];

	if (sv4_format_time(basic, t) != 0) {
		snprintf(out, 21, "%s", t < 0 ? "before 1970" : "after 9999");
		return;
	}
	snprintf(out, 21, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", basic, basic + 4, basic + 6, basic + 9,
	         basic + 11, basic + 13);
}

/* Parses the --ttl of |cmd|; prints why not. */
static int parse_ttl(const char *arg, uint32_t *ttl)
{
	uint32_t secs;

	if (px_duration_parse(arg, &secs) != 0 || secs == 0) {
		fprintf(stderr, "awsgatectl: bad --ttl '%s': a duration such as 8h, 90m, 1h30m or 8760h\n",
		        arg);
		return PX_EXIT_USAGE;
	}
	*ttl = secs;
	return PX_EXIT_OK;
}

/* Prints an rbac error from |what| with its diagnostic. */
static void print_diag(const char *what, int rv, const struct rbac_diag *diag)
{
	fprintf(stderr, "awsgatectl: %s: %s\n", what, diag->msg[0] != '\0' ? diag->msg : rbac_strerror(rv));
}

/* Reads a certificate, PEM or DER, from |path|. Returns an exit status. */
static int read_cert(const char *path, const char *what, X509 **cert)
{
	char *data = NULL, why[256];
	size_t len = 0;
	int rv = px_file_read(path, CERT_FILE_MAX, &data, &len, why, sizeof(why));
	X509 *x = NULL;

	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot read %s '%s': %s\n", what, path,
		        rv == PX_ERR_IO          ? why
		        : rv == PX_ERR_TOO_LARGE ? "too large"
		                                 : "out of memory");
		return PX_EXIT_USAGE;
	}
	BIO *b = BIO_new_mem_buf(data, (int)len);
	if (b != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL) {
		const unsigned char *p = (const unsigned char *)data;
		x = d2i_X509(NULL, &p, (long)len);
	}
	ERR_clear_error();
	free(data);
	if (x == NULL) {
		fprintf(stderr, "awsgatectl: %s '%s' is not a certificate (PEM or DER)\n", what, path);
		return PX_EXIT_USAGE;
	}
	*cert = x;
	return PX_EXIT_OK;
}

/* Loads the CA of |dir|, certificate and key. Returns an exit status. */
static int load_ca(const char *dir, struct rbac_ca *ca)
{
	char cpath[PATH_MAX], kpath[PATH_MAX], why[256];
	char *cert = NULL, *key = NULL;
	size_t clen = 0, klen = 0;
	struct rbac_diag diag;
	int rv;

	if (join(cpath, sizeof(cpath), dir, CA_CERT_FILE) != 0 ||
	    join(kpath, sizeof(kpath), dir, CA_KEY_FILE) != 0)
		return PX_EXIT_USAGE;
	rv = px_file_read(cpath, CERT_FILE_MAX, &cert, &clen, why, sizeof(why));
	if (rv != 0) {
		fprintf(stderr,
		        "awsgatectl: cannot read the CA certificate '%s': %s; make a CA with 'awsgatectl ca "
		        "init --dir %s'\n",
		        cpath, rv == PX_ERR_IO ? why : "too large", dir);
		return PX_EXIT_USAGE;
	}
	rv = px_file_read_secret(kpath, KEY_FILE_MAX, &key, &klen, why, sizeof(why));
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot read the CA key '%s': %s\n", kpath,
		        rv == PX_ERR_IO ? why : "too large");
		free(cert);
		return PX_EXIT_USAGE;
	}
	memset(&diag, 0, sizeof(diag));
	rv = rbac_ca_from_pem(cert, clen, key, klen, ca, &diag);
	OPENSSL_cleanse(key, klen);
	free(key);
	free(cert);
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: unusable CA in %s: %s\n", dir, diag.msg);
		return PX_EXIT_USAGE;
	}
	return PX_EXIT_OK;
}

/* Whether |path| exists (as anything, a dangling link included). */
static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Writes what |b| holds to |path|. Returns an exit status: 1 when the file
 * exists and |flags| does not say to replace it. */
static int write_bio(BIO *b, const char *path, unsigned mode, unsigned flags)
{
	char *data = NULL, why[256];
	long len = BIO_get_mem_data(b, &data);
	int rv;

	if (len <= 0) {
		fprintf(stderr, "awsgatectl: nothing to write to '%s'\n", path);
		return PX_EXIT_USAGE;
	}
	rv = px_file_write(path, data, (size_t)len, mode, flags, why, sizeof(why));
	if (rv == PX_ERR_EXISTS) {
		fprintf(stderr,
		        "awsgatectl: '%s' exists: refusing to overwrite it (move it away, or add --force)\n",
		        path);
		return PX_EXIT_NO;
	}
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot write '%s': %s\n", path,
		        rv == PX_ERR_IO ? why : "out of memory");
		return PX_EXIT_USAGE;
	}
	return PX_EXIT_OK;
}

/* Memory BIOs for what is written: a secure-heap one for keys (OpenSSL
 * wipes its buffers when they grow and when it is freed). */
static BIO *new_bio(int secret)
{
	return BIO_new(secret ? BIO_s_secmem() : BIO_s_mem());
}

/* ------------------------------------------------------------------------
 * The revocation list, DIR/revoked.json:
 *   {"crl_number": N, "revoked": [{"serial": "HEX", "revoked_at": "2025-01-02T03:04:05Z", "user": "alice"}]}
 * ("user" only when known). Read strictly, written atomically, changed
 * only under an exclusive flock() of DIR. */

/* Locks |dir| against other revokes and CRLs; returns the descriptor to
 * close to unlock, or -1 after a message. */
static int lock_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		fprintf(stderr, "awsgatectl: cannot lock '%s': %s\n", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Checks one entry of the list; says what is wrong in |why|. */
static int revoked_entry_ok(json_t *e, char *why, size_t len)
{
	const char *key;
	json_t *v;
	int64_t t;
	char hex[RBAC_SERIAL_HEX_SIZE];

	if (!json_is_object(e)) {
		snprintf(why, len, "an entry is not an object");
		return 0;
	}
	json_object_foreach(e, key, v)
	{
		if (strcmp(key, "serial") == 0) {
			if (!json_is_string(v) || rbac_serial_normalize(json_string_value(v), hex) != 0 ||
			    strcmp(hex, json_string_value(v)) != 0) {
				snprintf(why, len,
				         "\"serial\" must be upper-case hex, as 'certs revoke' writes it");
				return 0;
			}
		} else if (strcmp(key, "revoked_at") == 0) {
			if (!json_is_string(v) || px_time_parse(json_string_value(v), &t) != 0) {
				snprintf(why, len,
				         "\"revoked_at\" must be a time such as 2025-01-02T03:04:05Z");
				return 0;
			}
		} else if (strcmp(key, "user") == 0) {
			if (!json_is_string(v)) {
				snprintf(why, len, "\"user\" must be a string");
				return 0;
			}
		} else {
			snprintf(why, len,
			         "unknown key \"%.64s\" in an entry (known: serial, revoked_at, user)", key);
			return 0;
		}
	}
	if (json_object_get(e, "serial") == NULL || json_object_get(e, "revoked_at") == NULL) {
		snprintf(why, len, "an entry needs \"serial\" and \"revoked_at\"");
		return 0;
	}
	return 1;
}

/* Reads |dir|'s revocation list into |*root| (an empty one when there is
 * no file yet). Returns an exit status. */
static int revoked_load(const char *dir, json_t **root)
{
	char path[PATH_MAX], why[256];
	char *data = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *doc, *v;
	const char *key;
	int rv;

	if (join(path, sizeof(path), dir, REVOKED_FILE) != 0)
		return PX_EXIT_USAGE;
	rv = px_file_read(path, REVOKED_FILE_MAX, &data, &len, why, sizeof(why));
	if (rv == PX_ERR_IO && !exists(path)) {
		*root = json_pack("{s:I, s:[]}", "crl_number", (json_int_t)0, "revoked");
		return *root != NULL ? PX_EXIT_OK : PX_EXIT_USAGE;
	}
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot read '%s': %s\n", path,
		        rv == PX_ERR_IO          ? why
		        : rv == PX_ERR_TOO_LARGE ? "too large"
		                                 : "out of memory");
		return PX_EXIT_USAGE;
	}
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (doc == NULL) {
		fprintf(stderr, "awsgatectl: %s:%d:%d: %s; fix the file or restore it from a backup\n", path,
		        jerr.line, jerr.column, jerr.text);
		return PX_EXIT_USAGE;
	}
	why[0] = '\0';
	if (!json_is_object(doc))
		snprintf(why, sizeof(why), "not a JSON object");
	json_object_foreach(doc, key, v)
	{
		if (why[0] != '\0')
			break;
		if (strcmp(key, "crl_number") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				snprintf(why, sizeof(why), "\"crl_number\" must be a number of 0 or more");
		} else if (strcmp(key, "revoked") == 0) {
			size_t i;
			json_t *e;
			if (!json_is_array(v))
				snprintf(why, sizeof(why), "\"revoked\" must be an array");
			json_array_foreach(v, i, e)
			{
				if (why[0] == '\0' && !revoked_entry_ok(e, why, sizeof(why))) {
					size_t n = strlen(why);
					snprintf(why + n, sizeof(why) - n, " (revoked[%zu])", i);
				}
			}
		} else {
			snprintf(why, sizeof(why), "unknown key \"%.64s\" (known: crl_number, revoked)", key);
		}
	}
	if (why[0] == '\0' &&
	    (json_object_get(doc, "crl_number") == NULL || json_object_get(doc, "revoked") == NULL))
		snprintf(why, sizeof(why), "it needs \"crl_number\" and \"revoked\"");
	if (why[0] != '\0') {
		fprintf(stderr, "awsgatectl: %s: %s; fix the file or restore it from a backup\n", path, why);
		json_decref(doc);
		return PX_EXIT_USAGE;
	}
	*root = doc;
	return PX_EXIT_OK;
}

/* Writes |root| to |dir|'s revocation list, replacing it atomically. */
static int revoked_save(const char *dir, json_t *root)
{
	char path[PATH_MAX], why[256];
	char *text;
	int rv;

	if (join(path, sizeof(path), dir, REVOKED_FILE) != 0)
		return PX_EXIT_USAGE;
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		fputs("awsgatectl: out of memory\n", stderr);
		return PX_EXIT_USAGE;
	}
	/* The file ends with a newline: it takes the NUL's byte, and the
	 * buffer is written by length. */
	size_t len = strlen(text);
	text[len] = '\n';
	rv = px_file_write(path, text, len + 1, MODE_PUBLIC, PX_FILE_REPLACE, why, sizeof(why));
	free(text);
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot write '%s': %s\n", path,
		        rv == PX_ERR_IO ? why : "out of memory");
		return PX_EXIT_USAGE;
	}
	return PX_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * ca init */

static void ca_usage(FILE *f)
{
	fputs("Usage: awsgatectl ca init --dir DIR [--name CN] [--ttl DURATION]\n"
	      "       awsgatectl ca pin --dir DIR\n"
	      "       awsgatectl ca crl --dir DIR --out FILE|- [--ttl DURATION] [--force]\n"
	      "\n"
	      "The built-in certificate authority (docs/CA.md). 'awsgatectl ca COMMAND --help'\n"
	      "describes each command.\n",
	      f);
}

static void init_usage(FILE *f)
{
	fputs("Usage: awsgatectl ca init --dir DIR [--name CN] [--ttl DURATION]\n"
	      "\n"
	      "Creates a certificate authority in DIR (made 0700 if it does not exist):\n"
	      "DIR/ca.crt (0644) and DIR/ca.key (0600), an ECDSA P-256 key and a self-signed\n"
	      "certificate that may sign client and server certificates and CRLs.\n"
	      "\n"
	      "  --dir DIR        the CA directory\n"
	      "  --name CN        the CA's common name (default: awsgate CA)\n"
	      "  --ttl DURATION   how long the CA is valid (default 87600h, 10 years); 8760h, 720h...\n"
	      "\n"
	      "An existing CA is never replaced: move DIR/ca.crt and DIR/ca.key away first.\n"
	      "Exit status: 0 created; 1 a CA exists in DIR (nothing changed); 2 usage error or failure.\n",
	      f);
}

static int cmd_init(int argc, char **argv)
{
	enum { OPT_DIR = 256, OPT_NAME, OPT_TTL, OPT_HELP };
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"ttl", required_argument, NULL, OPT_TTL},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *name = NULL;
	uint32_t ttl = CA_DEFAULT_TTL;
	char cpath[PATH_MAX], kpath[PATH_MAX], pin[RBAC_CERT_PIN_SIZE], until[21];
	struct rbac_ca ca = {NULL, NULL};
	struct rbac_diag diag;
	BIO *cb = NULL, *kb = NULL;
	int c, status;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: dir = optarg; break;
		case OPT_NAME: name = optarg; break;
		case OPT_TTL:
			if ((status = parse_ttl(optarg, &ttl)) != PX_EXIT_OK)
				return status;
			break;
		case OPT_HELP: init_usage(stdout); return PX_EXIT_OK;
		default: return bad_option(opts, OPT_DIR, argv, "ca init");
		}
	}
	if ((status = no_arguments(argc, argv, "ca init")) != PX_EXIT_OK)
		return status;
	if (dir == NULL) {
		fputs("awsgatectl: ca init needs --dir DIR\nTry 'awsgatectl ca init --help'.\n", stderr);
		return PX_EXIT_USAGE;
	}
	if (join(cpath, sizeof(cpath), dir, CA_CERT_FILE) != 0 ||
	    join(kpath, sizeof(kpath), dir, CA_KEY_FILE) != 0)
		return PX_EXIT_USAGE;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "awsgatectl: cannot create the directory '%s': %s\n", dir, strerror(errno));
		return PX_EXIT_USAGE;
	}
	/* Checked before the key is made; px_file_write() checks again, so a
	 * CA created meanwhile is not replaced either. */
	if (exists(kpath) || exists(cpath)) {
		fprintf(stderr,
		        "awsgatectl: a CA exists in '%s' (%s): refusing to overwrite it; move %s and %s away "
		        "first, or use another --dir\n",
		        dir, exists(kpath) ? kpath : cpath, CA_CERT_FILE, CA_KEY_FILE);
		return PX_EXIT_NO;
	}
	memset(&diag, 0, sizeof(diag));
	int rv = rbac_ca_create(name, (int64_t)time(NULL), ttl, &ca, &diag);
	if (rv != 0) {
		print_diag("cannot create the CA", rv, &diag);
		return PX_EXIT_USAGE;
	}
	status = PX_EXIT_USAGE;
	if ((cb = new_bio(0)) == NULL || (kb = new_bio(1)) == NULL || !PEM_write_bio_X509(cb, ca.cert) ||
	    !PEM_write_bio_PrivateKey(kb, ca.key, NULL, NULL, 0, NULL, NULL)) {
		fputs("awsgatectl: cannot encode the CA\n", stderr);
		goto out;
	}
	if ((status = write_bio(kb, kpath, MODE_SECRET, 0)) != PX_EXIT_OK)
		goto out;
	if ((status = write_bio(cb, cpath, MODE_PUBLIC, 0)) != PX_EXIT_OK) {
		unlink(kpath); /* ours: a key without its certificate is of no use */
		goto out;
	}
	if (rbac_cert_pin(ca.cert, pin) != 0)
		snprintf(pin, sizeof(pin), "(unknown)");
	format_time(until, (int64_t)time(NULL) + ttl);
	fprintf(stderr, "awsgatectl: created the CA in %s: %s, %s (0600); valid until %s; pin %s\n", dir,
	        CA_CERT_FILE, CA_KEY_FILE, until, pin);
out:
	BIO_free(cb);
	BIO_free(kb);
	rbac_ca_free(&ca);
	return status;
}

/* ------------------------------------------------------------------------
 * ca pin */

static void pin_usage(FILE *f)
{
	fputs("Usage: awsgatectl ca pin --dir DIR\n"
	      "\n"
	      "Prints the pin of the CA in DIR: sha256: and the hex SHA-256 of the DER of its\n"
	      "certificate's SubjectPublicKeyInfo. Clients that join check the CA against it.\n"
	      "Exit status: 0 printed; 2 usage error or no readable CA.\n",
	      f);
}

static int cmd_pin(int argc, char **argv)
{
	enum { OPT_DIR = 256, OPT_HELP };
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	char path[PATH_MAX], pin[RBAC_CERT_PIN_SIZE];
	X509 *cert = NULL;
	int c, status;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: dir = optarg; break;
		case OPT_HELP: pin_usage(stdout); return PX_EXIT_OK;
		default: return bad_option(opts, OPT_DIR, argv, "ca pin");
		}
	}
	if ((status = no_arguments(argc, argv, "ca pin")) != PX_EXIT_OK)
		return status;
	if (dir == NULL) {
		fputs("awsgatectl: ca pin needs --dir DIR\nTry 'awsgatectl ca pin --help'.\n", stderr);
		return PX_EXIT_USAGE;
	}
	if (join(path, sizeof(path), dir, CA_CERT_FILE) != 0)
		return PX_EXIT_USAGE;
	if ((status = read_cert(path, "the CA certificate", &cert)) != PX_EXIT_OK)
		return status;
	if (rbac_cert_pin(cert, pin) != 0) {
		fprintf(stderr, "awsgatectl: cannot read the public key of '%s'\n", path);
		X509_free(cert);
		return PX_EXIT_USAGE;
	}
	X509_free(cert);
	printf("%s\n", pin);
	return fflush(stdout) == 0 ? PX_EXIT_OK : PX_EXIT_USAGE;
}

/* ------------------------------------------------------------------------
 * ca crl */

static void crl_usage(FILE *f)
{
	fputs("Usage: awsgatectl ca crl --dir DIR --out FILE|- [--ttl DURATION] [--force]\n"
	      "\n"
	      "Writes a PEM certificate revocation list of every serial 'certs revoke' recorded\n"
	      "in DIR/revoked.json, signed by the CA in DIR, with the next CRL number.\n"
	      "\n"
	      "  --out FILE      where to write it (0644); '-' writes standard output\n"
	      "  --ttl DURATION  nextUpdate, from now (default 24h): publish a new one before then\n"
	      "  --force         replace FILE if it exists\n"
	      "\n"
	      "Exit status: 0 written; 1 FILE exists (without --force); 2 usage error or failure.\n",
	      f);
}

static int cmd_crl(int argc, char **argv)
{
	enum { OPT_DIR = 256, OPT_OUT, OPT_TTL, OPT_FORCE, OPT_HELP };
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR}, {"out", required_argument, NULL, OPT_OUT},
	    {"ttl", required_argument, NULL, OPT_TTL}, {"force", no_argument, NULL, OPT_FORCE},
	    {"help", no_argument, NULL, OPT_HELP},     {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *out = NULL;
	uint32_t ttl = CRL_DEFAULT_TTL;
	unsigned flags = 0;
	struct rbac_ca ca = {NULL, NULL};
	struct rbac_revoked *list = NULL;
	struct rbac_diag diag;
	json_t *root = NULL;
	X509_CRL *crl = NULL;
	BIO *b = NULL;
	int c, status, lock = -1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: dir = optarg; break;
		case OPT_OUT: out = optarg; break;
		case OPT_TTL:
			if ((status = parse_ttl(optarg, &ttl)) != PX_EXIT_OK)
				return status;
			break;
		case OPT_FORCE: flags |= PX_FILE_REPLACE; break;
		case OPT_HELP: crl_usage(stdout); return PX_EXIT_OK;
		default: return bad_option(opts, OPT_DIR, argv, "ca crl");
		}
	}
	if ((status = no_arguments(argc, argv, "ca crl")) != PX_EXIT_OK)
		return status;
	if (dir == NULL || out == NULL) {
		fprintf(stderr, "awsgatectl: ca crl needs %s\nTry 'awsgatectl ca crl --help'.\n",
		        dir == NULL && out == NULL ? "--dir DIR and --out FILE"
		        : dir == NULL              ? "--dir DIR"
		                                   : "--out FILE");
		return PX_EXIT_USAGE;
	}
	int to_stdout = strcmp(out, "-") == 0;
	if (!to_stdout && !(flags & PX_FILE_REPLACE) && exists(out)) {
		fprintf(stderr,
		        "awsgatectl: '%s' exists: refusing to overwrite it (move it away, or add --force)\n",
		        out);
		return PX_EXIT_NO;
	}
	if ((status = load_ca(dir, &ca)) != PX_EXIT_OK)
		return status;
	status = PX_EXIT_USAGE;
	if ((lock = lock_dir(dir)) < 0 || revoked_load(dir, &root) != PX_EXIT_OK)
		goto out;

	json_t *revoked = json_object_get(root, "revoked");
	size_t n = json_array_size(revoked);
	if (n > 0 && (list = calloc(n, sizeof(*list))) == NULL) {
		fputs("awsgatectl: out of memory\n", stderr);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(revoked, i);
		list[i].serial = json_string_value(json_object_get(e, "serial"));
		(void)px_time_parse(json_string_value(json_object_get(e, "revoked_at")), &list[i].revoked_at);
	}
	/* The number is recorded before the CRL is written: a number lost to
	 * a failure leaves a gap, which is allowed; one used twice is not. */
	json_int_t number = json_integer_value(json_object_get(root, "crl_number"));
	if (number >= INT64_MAX) {
		fprintf(stderr, "awsgatectl: %s/%s: crl_number cannot grow any more; fix the file\n", dir,
		        REVOKED_FILE);
		goto out;
	}
	number++;
	if (json_object_set_new(root, "crl_number", json_integer(number)) != 0) {
		fputs("awsgatectl: out of memory\n", stderr);
		goto out;
	}
	if (revoked_save(dir, root) != PX_EXIT_OK)
		goto out;
	memset(&diag, 0, sizeof(diag));
	int rv = rbac_crl_build(&ca, list, n, (uint64_t)number, (int64_t)time(NULL), ttl, &crl, &diag);
	if (rv != 0) {
		print_diag("cannot make the CRL", rv, &diag);
		goto out;
	}
	if ((b = new_bio(0)) == NULL || !PEM_write_bio_X509_CRL(b, crl)) {
		fputs("awsgatectl: cannot encode the CRL\n", stderr);
		goto out;
	}
	if (to_stdout) {
		char *data;
		long len = BIO_get_mem_data(b, &data);
		if (fwrite(data, 1, (size_t)len, stdout) != (size_t)len || fflush(stdout) != 0) {
			fputs("awsgatectl: cannot write the CRL to standard output\n", stderr);
			goto out;
		}
		status = PX_EXIT_OK;
	} else if ((status = write_bio(b, out, MODE_PUBLIC, flags)) == PX_EXIT_OK) {
		fprintf(stderr, "awsgatectl: wrote CRL number %lld with %zu revoked serial%s to %s\n",
		        (long long)number, n, n == 1 ? "" : "s", out);
	}
out:
	if (lock >= 0)
		close(lock);
	BIO_free(b);
	X509_CRL_free(crl);
	free(list);
	json_decref(root);
	rbac_ca_free(&ca);
	return status;
}

int px_ctl_ca(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		ca_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? PX_EXIT_USAGE : PX_EXIT_OK;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "pin") == 0)
		return cmd_pin(argc - 1, argv + 1);
	if (strcmp(argv[1], "crl") == 0)
		return cmd_crl(argc - 1, argv + 1);
	fprintf(stderr, "awsgatectl: unknown command 'ca %s'\n", argv[1]);
	ca_usage(stderr);
	return PX_EXIT_USAGE;
}

/* ------------------------------------------------------------------------
 * certs user and certs server */

static void certs_usage(FILE *f)
{
	fputs("Usage: awsgatectl certs user --dir DIR --user NAME [--roles a,b] [--trait k=v ...] --ttl "
	      "DURATION\n"
	      "                             --out PREFIX [--p12-password PW] [--force]\n"
	      "       awsgatectl certs server --dir DIR --dns NAME [--dns NAME ...] [--ip ADDR ...]\n"
	      "                               --ttl DURATION --out PREFIX [--force]\n"
	      "       awsgatectl certs revoke --dir DIR --serial HEX | --cert FILE\n"
	      "       awsgatectl certs show --cert FILE [--ca FILE] [--json]\n"
	      "\n"
	      "Certificates of the built-in CA (docs/CA.md). 'awsgatectl certs COMMAND --help'\n"
	      "describes each command.\n",
	      f);
}

static void user_usage(FILE *f)
{
	fputs("Usage: awsgatectl certs user --dir DIR --user NAME [--roles a,b] [--trait k=v ...] --ttl "
	      "DURATION\n"
	      "                             --out PREFIX [--p12-password PW] [--force]\n"
	      "\n"
	      "Issues a user's client certificate, signed by the CA in DIR, with the user's\n"
	      "roles and traits in the identity extension; writes PREFIX.crt (0644),\n"
	      "PREFIX.key (0600) and PREFIX.p12 (0600, certificate, key and CA for browsers).\n"
	      "\n"
	      "  --user NAME         the user (the subject CN)\n"
	      "  --roles a,b         roles, comma-separated; may be repeated\n"
	      "  --trait k=v         a trait value; repeat it, also with the same k for several values\n"
	      "  --ttl DURATION      how long the certificate is valid: 8h, 15m, 1h30m; at most\n"
	      "                      what is left of the CA's life\n"
	      "  --out PREFIX        where to write: PREFIX.crt, PREFIX.key, PREFIX.p12\n"
	      "  --p12-password PW   the PKCS#12 password (default: empty). Other local users can\n"
	      "                      see command lines: give one only on a machine of your own\n"
	      "  --force             replace files that exist\n"
	      "\n"
	      "Exit status: 0 issued; 1 an output file exists (without --force); 2 usage error\n"
	      "or failure (no CA, a TTL past the CA's notAfter, a bad name).\n",
	      f);
}

static void server_usage(FILE *f)
{
	fputs("Usage: awsgatectl certs server --dir DIR --dns NAME [--dns NAME ...] [--ip ADDR ...]\n"
	      "                               --ttl DURATION --out PREFIX [--force]\n"
	      "\n"
	      "Issues a TLS server certificate, signed by the CA in DIR, for the gate: subject CN\n"
	      "the first DNS name, subjectAltName every DNS name and IP address, extKeyUsage\n"
	      "serverAuth. Writes PREFIX.crt (0644) and PREFIX.key (0600).\n"
	      "\n"
	      "  --dns NAME      a DNS name (repeat it); '*.' may start one\n"
	      "  --ip ADDR       an IPv4 or IPv6 address (repeat it)\n"
	      "  --ttl DURATION  how long the certificate is valid: 8760h, 720h...\n"
	      "  --out PREFIX    where to write: PREFIX.crt, PREFIX.key\n"
	      "  --force         replace files that exist\n"
	      "\n"
	      "Exit status: 0 issued; 1 an output file exists (without --force); 2 usage error\n"
	      "or failure.\n",
	      f);
}

/* Appends a copy of |s| to the string array |*v| of |*n|. */
static int push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strndup(s, len)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* Adds the roles of one --roles value ("a,b") to |id|. */
static int add_roles(struct rbac_identity *id, const char *arg)
{
	const char *p = arg;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 0) {
			fprintf(stderr, "awsgatectl: --roles '%s' has an empty role name: use --roles a,b\n",
			        arg);
			return PX_EXIT_USAGE;
		}
		if (push(&id->roles, &id->nroles, p, len) != 0) {
			fputs("awsgatectl: out of memory\n", stderr);
			return PX_EXIT_USAGE;
		}
		if (comma == NULL)
			return PX_EXIT_OK;
		p = comma + 1;
	}
}

/* Adds one --trait k=v to |id|: a value of trait k, new or not. */
static int add_trait(struct rbac_identity *id, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq ? (size_t)(eq - arg) : 0;

	if (eq == NULL || klen == 0) {
		fprintf(stderr,
		        "awsgatectl: bad --trait '%s': use --trait NAME=VALUE, e.g. --trait logins=alice\n",
		        arg);
		return PX_EXIT_USAGE;
	}
	size_t i = 0;
	while (i < id->ntraits &&
	       !(strlen(id->traits[i].name) == klen && memcmp(id->traits[i].name, arg, klen) == 0))
		i++;
	if (i == id->ntraits) {
		struct rbac_trait *nt = realloc(id->traits, (id->ntraits + 1) * sizeof(*nt));
		if (nt == NULL)
			goto nomem;
		id->traits = nt;
		memset(&nt[i], 0, sizeof(nt[i]));
		if ((nt[i].name = strndup(arg, klen)) == NULL)
			goto nomem;
		id->ntraits++;
	}
	if (push(&id->traits[i].values, &id->traits[i].nvalues, eq + 1, strlen(eq + 1)) != 0)
		goto nomem;
	return PX_EXIT_OK;
nomem:
	fputs("awsgatectl: out of memory\n", stderr);
	return PX_EXIT_USAGE;
}

/* The outputs of certs user/server: PREFIX.crt, .key and (user) .p12. */
struct outputs {
	char crt[PATH_MAX];
	char key[PATH_MAX];
	char p12[PATH_MAX];
	int with_p12;
};

/* Names the outputs of |prefix| and, unless |force|, refuses when one
 * exists. Returns an exit status. */
static int outputs_init(struct outputs *o, const char *prefix, int with_p12, int force)
{
	int bad = 0;

	o->with_p12 = with_p12;
	if (snprintf(o->crt, sizeof(o->crt), "%s.crt", prefix) >= (int)sizeof(o->crt) ||
	    snprintf(o->key, sizeof(o->key), "%s.key", prefix) >= (int)sizeof(o->key) ||
	    snprintf(o->p12, sizeof(o->p12), "%s.p12", prefix) >= (int)sizeof(o->p12)) {
		fprintf(stderr, "awsgatectl: --out '%s' is too long\n", prefix);
		return PX_EXIT_USAGE;
	}
	if (force)
		return PX_EXIT_OK;
	const char *paths[] = {o->crt, o->key, with_p12 ? o->p12 : NULL};
	for (size_t i = 0; i < 3; i++)
		if (paths[i] != NULL && exists(paths[i])) {
			fprintf(stderr, "awsgatectl: '%s' exists: refusing to overwrite it\n", paths[i]);
			bad = 1;
		}
	if (bad) {
		fputs("awsgatectl: move the files away, choose another --out, or add --force\n", stderr);
		return PX_EXIT_NO;
	}
	return PX_EXIT_OK;
}

/* Writes the new certificate, its key and (for a user) the PKCS#12 file;
 * on a failure removes what it wrote, unless it replaced files (|flags|). */
static int outputs_write(const struct outputs *o, const struct rbac_ca *ca, X509 *cert, EVP_PKEY *key,
                         const char *p12_name, const char *p12_password, unsigned flags)
{
	BIO *cb = new_bio(0), *kb = new_bio(1), *pb = NULL;
	PKCS12 *p12 = NULL;
	STACK_OF(X509) *chain = NULL;
	int status = PX_EXIT_USAGE, wrote_key = 0, wrote_crt = 0;

	if (cb == NULL || kb == NULL || !PEM_write_bio_X509(cb, cert) ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL)) {
		fputs("awsgatectl: cannot encode the certificate and key\n", stderr);
		goto out;
	}
	if (o->with_p12) {
		/* OpenSSL 3's defaults, which Chromium, Firefox (NSS) and
		 * Windows import: AES-256-CBC with PBKDF2 for the key and the
		 * certificates, 2048 iterations, an HMAC-SHA-256 MAC (2048
		 * iterations too, as `openssl pkcs12 -export` does). The CA
		 * goes in too, so a browser has the whole chain. */
		if ((pb = new_bio(1)) == NULL || (chain = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(chain, ca->cert) ||
		    (p12 = PKCS12_create(p12_password, p12_name, key, cert, chain, NID_aes_256_cbc,
		                         NID_aes_256_cbc, PKCS12_DEFAULT_ITER, PKCS12_DEFAULT_ITER, 0)) ==
		        NULL ||
		    !i2d_PKCS12_bio(pb, p12)) {
			fputs("awsgatectl: cannot make the PKCS#12 file\n", stderr);
			goto out;
		}
	}
	if ((status = write_bio(kb, o->key, MODE_SECRET, flags)) != PX_EXIT_OK)
		goto out;
	wrote_key = 1;
	if ((status = write_bio(cb, o->crt, MODE_PUBLIC, flags)) != PX_EXIT_OK)
		goto out;
	wrote_crt = 1;
	if (o->with_p12 && (status = write_bio(pb, o->p12, MODE_SECRET, flags)) != PX_EXIT_OK)
		goto out;
out:
	if (status != PX_EXIT_OK && !(flags & PX_FILE_REPLACE)) {
		if (wrote_key)
			unlink(o->key);
		if (wrote_crt)
			unlink(o->crt);
	}
	sk_X509_free(chain); /* the CA certificate stays the caller's */
	PKCS12_free(p12);
	BIO_free(cb);
	BIO_free(kb);
	BIO_free(pb);
	return status;
}

static int cmd_user(int argc, char **argv)
{
	enum {
		OPT_DIR = 256,
		OPT_USER,
		OPT_ROLES,
		OPT_TRAIT,
		OPT_TTL,
		OPT_OUT,
		OPT_P12_PASSWORD,
		OPT_FORCE,
		OPT_HELP
	};
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"user", required_argument, NULL, OPT_USER},
	    {"roles", required_argument, NULL, OPT_ROLES},
	    {"trait", required_argument, NULL, OPT_TRAIT},
	    {"ttl", required_argument, NULL, OPT_TTL},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"p12-password", required_argument, NULL, OPT_P12_PASSWORD},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *user = NULL, *out = NULL, *password = "";
	uint32_t ttl = 0;
	unsigned flags = 0;
	struct rbac_identity id;
	struct rbac_ca ca = {NULL, NULL};
	struct rbac_diag diag;
	struct outputs o;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int c, status;

	memset(&id, 0, sizeof(id));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		status = PX_EXIT_OK;
		switch (c) {
		case OPT_DIR: dir = optarg; break;
		case OPT_USER: user = optarg; break;
		case OPT_ROLES: status = add_roles(&id, optarg); break;
		case OPT_TRAIT: status = add_trait(&id, optarg); break;
		case OPT_TTL: status = parse_ttl(optarg, &ttl); break;
		case OPT_OUT: out = optarg; break;
		case OPT_P12_PASSWORD: password = optarg; break;
		case OPT_FORCE: flags |= PX_FILE_REPLACE; break;
		case OPT_HELP:
			user_usage(stdout);
			rbac_identity_free(&id);
			return PX_EXIT_OK;
		default: status = bad_option(opts, OPT_DIR, argv, "certs user");
		}
		if (status != PX_EXIT_OK)
			goto out;
	}
	if ((status = no_arguments(argc, argv, "certs user")) != PX_EXIT_OK)
		goto out;
	status = PX_EXIT_USAGE;
	if (dir == NULL || user == NULL || ttl == 0 || out == NULL) {
		fprintf(stderr, "awsgatectl: certs user needs %s\nTry 'awsgatectl certs user --help'.\n",
		        dir == NULL    ? "--dir DIR"
		        : user == NULL ? "--user NAME"
		        : ttl == 0     ? "--ttl DURATION (e.g. 8h)"
		                       : "--out PREFIX");
		goto out;
	}
	if ((id.user = strdup(user)) == NULL) {
		fputs("awsgatectl: out of memory\n", stderr);
		goto out;
	}
	if ((status = outputs_init(&o, out, 1, flags & PX_FILE_REPLACE)) != PX_EXIT_OK)
		goto out;
	if ((status = load_ca(dir, &ca)) != PX_EXIT_OK)
		goto out;
	memset(&diag, 0, sizeof(diag));
	int64_t now = (int64_t)time(NULL);
	int rv = rbac_cert_issue_user(&ca, &id, now, ttl, &cert, &key, &diag);
	if (rv != 0) {
		print_diag("cannot issue the certificate", rv, &diag);
		status = PX_EXIT_USAGE;
		goto out;
	}
	if ((status = outputs_write(&o, &ca, cert, key, user, password, flags)) != PX_EXIT_OK)
		goto out;
	char serial[RBAC_SERIAL_HEX_SIZE], until[21];
	if (rbac_cert_serial(cert, serial) != 0)
		snprintf(serial, sizeof(serial), "?");
	format_time(until, now + ttl);
	fprintf(stderr, "awsgatectl: issued %s's certificate, serial %s, valid until %s: %s, %s, %s\n", user,
	        serial, until, o.crt, o.key, o.p12);
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	rbac_ca_free(&ca);
	rbac_identity_free(&id);
	return status;
}

static int cmd_server(int argc, char **argv)
{
	enum { OPT_DIR = 256, OPT_DNS, OPT_IP, OPT_TTL, OPT_OUT, OPT_FORCE, OPT_HELP };
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR}, {"dns", required_argument, NULL, OPT_DNS},
	    {"ip", required_argument, NULL, OPT_IP},   {"ttl", required_argument, NULL, OPT_TTL},
	    {"out", required_argument, NULL, OPT_OUT}, {"force", no_argument, NULL, OPT_FORCE},
	    {"help", no_argument, NULL, OPT_HELP},     {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *out = NULL;
	const char *dns[RBAC_MAX_SAN], *ips[RBAC_MAX_SAN];
	size_t ndns = 0, nips = 0;
	uint32_t ttl = 0;
	unsigned flags = 0;
	struct rbac_ca ca = {NULL, NULL};
	struct rbac_diag diag;
	struct outputs o;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int c, status;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: dir = optarg; break;
		case OPT_DNS:
		case OPT_IP:
			if (ndns + nips == RBAC_MAX_SAN) {
				fprintf(stderr, "awsgatectl: more than %d --dns and --ip names\n",
				        RBAC_MAX_SAN);
				return PX_EXIT_USAGE;
			}
			if (c == OPT_DNS)
				dns[ndns++] = optarg;
			else
				ips[nips++] = optarg;
			break;
		case OPT_TTL:
			if ((status = parse_ttl(optarg, &ttl)) != PX_EXIT_OK)
				return status;
			break;
		case OPT_OUT: out = optarg; break;
		case OPT_FORCE: flags |= PX_FILE_REPLACE; break;
		case OPT_HELP: server_usage(stdout); return PX_EXIT_OK;
		default: return bad_option(opts, OPT_DIR, argv, "certs server");
		}
	}
	if ((status = no_arguments(argc, argv, "certs server")) != PX_EXIT_OK)
		return status;
	if (dir == NULL || ndns + nips == 0 || ttl == 0 || out == NULL) {
		fprintf(stderr, "awsgatectl: certs server needs %s\nTry 'awsgatectl certs server --help'.\n",
		        dir == NULL        ? "--dir DIR"
		        : ndns + nips == 0 ? "--dns NAME (or --ip ADDR)"
		        : ttl == 0         ? "--ttl DURATION (e.g. 8760h)"
		                           : "--out PREFIX");
		return PX_EXIT_USAGE;
	}
	if ((status = outputs_init(&o, out, 0, flags & PX_FILE_REPLACE)) != PX_EXIT_OK)
		return status;
	if ((status = load_ca(dir, &ca)) != PX_EXIT_OK)
		return status;
	memset(&diag, 0, sizeof(diag));
	int64_t now = (int64_t)time(NULL);
	int rv = rbac_cert_issue_server(&ca, dns, ndns, ips, nips, now, ttl, &cert, &key, &diag);
	if (rv != 0) {
		print_diag("cannot issue the certificate", rv, &diag);
		status = PX_EXIT_USAGE;
		goto out;
	}
	if ((status = outputs_write(&o, &ca, cert, key, NULL, NULL, flags)) != PX_EXIT_OK)
		goto out;
	char serial[RBAC_SERIAL_HEX_SIZE], until[21];
	if (rbac_cert_serial(cert, serial) != 0)
		snprintf(serial, sizeof(serial), "?");
	format_time(until, now + ttl);
	fprintf(stderr,
	        "awsgatectl: issued the server certificate for %s, serial %s, valid until %s: %s, %s\n",
	        ndns > 0 ? dns[0] : ips[0], serial, until, o.crt, o.key);
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	rbac_ca_free(&ca);
	return status;
}

/* ------------------------------------------------------------------------
 * certs revoke */

static void revoke_usage(FILE *f)
{
	fputs("Usage: awsgatectl certs revoke --dir DIR --serial HEX\n"
	      "       awsgatectl certs revoke --dir DIR --cert FILE\n"
	      "\n"
	      "Records a certificate of the CA in DIR as revoked, in DIR/revoked.json; the next\n"
	      "'awsgatectl ca crl' lists it. Revoking a serial twice is not an error: the first\n"
	      "revocation stays, and the command says so.\n"
	      "\n"
	      "  --serial HEX   the serial, as 'openssl x509 -serial' or 'certs show' print it\n"
	      "                 (upper or lower case, colons between pairs allowed)\n"
	      "  --cert FILE    the certificate itself (PEM or DER); it must be this CA's\n"
	      "\n"
	      "Exit status: 0 revoked, or revoked already; 2 usage error or failure.\n",
	      f);
}

static int cmd_revoke(int argc, char **argv)
{
	enum { OPT_DIR = 256, OPT_SERIAL, OPT_CERT, OPT_HELP };
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, OPT_DIR},
	    {"serial", required_argument, NULL, OPT_SERIAL},
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *serial_arg = NULL, *cert_path = NULL;
	char path[PATH_MAX], serial[RBAC_SERIAL_HEX_SIZE], when[21];
	X509 *ca = NULL, *cert = NULL;
	struct rbac_identity id;
	json_t *root = NULL, *revoked, *e;
	int c, status, lock = -1;
	size_t i;

	memset(&id, 0, sizeof(id));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: dir = optarg; break;
		case OPT_SERIAL: serial_arg = optarg; break;
		case OPT_CERT: cert_path = optarg; break;
		case OPT_HELP: revoke_usage(stdout); return PX_EXIT_OK;
		default: return bad_option(opts, OPT_DIR, argv, "certs revoke");
		}
	}
	if ((status = no_arguments(argc, argv, "certs revoke")) != PX_EXIT_OK)
		return status;
	if (dir == NULL || (serial_arg == NULL) == (cert_path == NULL)) {
		fprintf(stderr, "awsgatectl: certs revoke needs %s\nTry 'awsgatectl certs revoke --help'.\n",
		        dir == NULL ? "--dir DIR" : "either --serial HEX or --cert FILE (one of them)");
		return PX_EXIT_USAGE;
	}
	if (join(path, sizeof(path), dir, CA_CERT_FILE) != 0)
		return PX_EXIT_USAGE;
	if ((status = read_cert(path, "the CA certificate", &ca)) != PX_EXIT_OK)
		return status;
	status = PX_EXIT_USAGE;
	if (serial_arg != NULL) {
		int rv = rbac_serial_normalize(serial_arg, serial);
		if (rv != 0) {
			fprintf(stderr, "awsgatectl: bad --serial '%s': %s\n", serial_arg,
			        rv == RBAC_ERR_TOO_LARGE
			            ? "longer than 20 bytes"
			            : "use the hex serial 'certs show' prints, e.g. 4A3F09...");
			goto out;
		}
	} else {
		if (read_cert(cert_path, "the certificate", &cert) != PX_EXIT_OK)
			goto out;
		/* Only this CA's certificates can be revoked by its CRL; the
		 * signature proves the issuer, the name alone would not. */
		if (X509_check_issued(ca, cert) != X509_V_OK ||
		    X509_verify(cert, X509_get0_pubkey(ca)) != 1) {
			ERR_clear_error();
			fprintf(stderr,
			        "awsgatectl: '%s' was not issued by the CA in %s: its CRL cannot revoke it\n",
			        cert_path, dir);
			goto out;
		}
		if (rbac_cert_serial(cert, serial) != 0 || serial[0] == '-') {
			fprintf(stderr, "awsgatectl: '%s' has a serial this CA never issues\n", cert_path);
			goto out;
		}
		(void)rbac_identity_from_cert(cert, NULL, &id, NULL); /* the user, for the record only */
	}
	if ((lock = lock_dir(dir)) < 0 || revoked_load(dir, &root) != PX_EXIT_OK)
		goto out;
	revoked = json_object_get(root, "revoked");
	json_array_foreach(revoked, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "serial")), serial) == 0) {
			fprintf(stderr, "awsgatectl: serial %s was revoked already, at %s; nothing changed\n",
			        serial, json_string_value(json_object_get(e, "revoked_at")));
			status = PX_EXIT_OK;
			goto out;
		}
	}
	format_time(when, (int64_t)time(NULL));
	e = json_pack("{s:s, s:s}", "serial", serial, "revoked_at", when);
	if (e == NULL || (id.user != NULL && json_object_set_new(e, "user", json_string(id.user)) != 0) ||
	    json_array_append_new(revoked, e) != 0) {
		fputs("awsgatectl: out of memory\n", stderr);
		goto out;
	}
	if (revoked_save(dir, root) != PX_EXIT_OK)
		goto out;
	fprintf(
	    stderr,
	    "awsgatectl: revoked serial %s%s%s; publish a new CRL: awsgatectl ca crl --dir %s --out FILE\n",
	    serial, id.user ? " of " : "", id.user ? id.user : "", dir);
	status = PX_EXIT_OK;
out:
	if (lock >= 0)
		close(lock);
	json_decref(root);
	rbac_identity_free(&id);
	X509_free(cert);
	X509_free(ca);
	return status;
}

/* ------------------------------------------------------------------------
 * certs show */

static void show_usage(FILE *f)
{
	fputs("Usage: awsgatectl certs show --cert FILE [--ca FILE] [--json]\n"
	      "\n"
	      "Prints the identity the gate reads from a client certificate (PEM or DER): user,\n"
	      "roles, traits, validity, serial, and whether the identity extension is trusted.\n"
	      "Roles and traits are read only from certificates issued by the CA that --ca\n"
	      "names (the gate's identity CA); without --ca, or from another CA, the extension\n"
	      "is reported as untrusted and its contents are not shown.\n"
	      "\n"
	      "  --cert FILE   the certificate\n"
	      "  --ca FILE     the identity CA's certificate, e.g. DIR/ca.crt\n"
	      "  --json        one JSON object: user, roles, traits, serial, issuer, not_before,\n"
	      "                not_after, expired, extension (trusted, untrusted or absent)\n"
	      "\n"
	      "Exit status: 0 shown; 2 usage error, or a certificate without a usable identity.\n",
	      f);
}

/* "trusted", "untrusted" or "absent". */
static const char *extension_state(const struct rbac_identity *id)
{
	return id->from_extension ? "trusted" : id->extension_ignored ? "untrusted" : "absent";
}

static int show_json(const struct rbac_identity *id, const char *serial, const char *issuer, int expired)
{
	char nb[21], na[21];
	json_t *roles = json_array(), *traits = json_object(), *doc;
	int ok = roles != NULL && traits != NULL;

	for (size_t i = 0; ok && i < id->nroles; i++)
		ok = json_array_append_new(roles, json_string(id->roles[i])) == 0;
	for (size_t i = 0; ok && i < id->ntraits; i++) {
		json_t *values = json_array();
		ok = values != NULL && json_object_set_new(traits, id->traits[i].name, values) == 0;
		for (size_t k = 0; ok && k < id->traits[i].nvalues; k++)
			ok = json_array_append_new(values, json_string(id->traits[i].values[k])) == 0;
	}
	if (!ok) {
		json_decref(roles);
		json_decref(traits);
		fputs("awsgatectl: out of memory\n", stderr);
		return PX_EXIT_USAGE;
	}
	format_time(nb, id->not_before);
	format_time(na, id->not_after);
	doc = json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:b, s:s}", "user", id->user, "roles", roles,
	                "traits", traits, "serial", serial, "issuer", issuer, "not_before", nb, "not_after",
	                na, "expired", expired, "extension", extension_state(id));
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (text == NULL) {
		fputs("awsgatectl: out of memory\n", stderr);
		return PX_EXIT_USAGE;
	}
	printf("%s\n", text);
	free(text);
	return PX_EXIT_OK;
}

static void show_text(const struct rbac_identity *id, const char *serial, const char *issuer, int expired,
                      int have_ca)
{
	char nb[21], na[21];

	format_time(nb, id->not_before);
	format_time(na, id->not_after);
	printf("user:       %s\n", id->user);
	printf("roles:      ");
	for (size_t i = 0; i < id->nroles; i++)
		printf("%s%s", i ? ", " : "", id->roles[i]);
	printf("%s\n", id->nroles == 0 ? "(none)" : "");
	printf("traits:%s\n", id->ntraits == 0 ? "     (none)" : "");
	for (size_t i = 0; i < id->ntraits; i++) {
		printf("  %s:", id->traits[i].name);
		for (size_t k = 0; k < id->traits[i].nvalues; k++)
			printf(" %s", id->traits[i].values[k]);
		printf("\n");
	}
	printf("serial:     %s\n", serial);
	printf("issuer:     %s\n", issuer);
	printf("not before: %s\n", nb);
	printf("not after:  %s%s\n", na, expired ? " (expired)" : "");
	if (id->from_extension)
		printf("extension:  trusted (issued by the identity CA)\n");
	else if (id->extension_ignored)
		printf("extension:  untrusted: %s; roles and traits ignored\n",
		       have_ca ? "not issued by the CA of --ca" : "no --ca to check it against");
	else
		printf("extension:  absent\n");
}

static int cmd_show(int argc, char **argv)
{
	enum { OPT_CERT = 256, OPT_CA, OPT_JSON, OPT_HELP };
	static const struct option opts[] = {
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *cert_path = NULL, *ca_path = NULL;
	char serial[RBAC_SERIAL_HEX_SIZE], issuer[512];
	X509 *cert = NULL, *ca = NULL;
	struct rbac_identity id;
	struct rbac_diag diag;
	int c, status, json = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CERT: cert_path = optarg; break;
		case OPT_CA: ca_path = optarg; break;
		case OPT_JSON: json = 1; break;
		case OPT_HELP: show_usage(stdout); return PX_EXIT_OK;
		default: return bad_option(opts, OPT_CERT, argv, "certs show");
		}
	}
	if ((status = no_arguments(argc, argv, "certs show")) != PX_EXIT_OK)
		return status;
	if (cert_path == NULL) {
		fputs("awsgatectl: certs show needs --cert FILE\nTry 'awsgatectl certs show --help'.\n",
		      stderr);
		return PX_EXIT_USAGE;
	}
	if ((status = read_cert(cert_path, "the certificate", &cert)) != PX_EXIT_OK)
		return status;
	if (ca_path != NULL && (status = read_cert(ca_path, "the CA certificate", &ca)) != PX_EXIT_OK)
		goto out;
	status = PX_EXIT_USAGE;
	memset(&diag, 0, sizeof(diag));
	int rv = rbac_identity_from_cert(cert, ca, &id, &diag);
	if (rv != 0) {
		if (diag.path[0] != '\0' && strcmp(diag.path, "subject") != 0)
			fprintf(stderr, "awsgatectl: %s: no usable identity: %s (at %s)\n", cert_path,
			        diag.msg, diag.path);
		else
			fprintf(stderr, "awsgatectl: %s: no usable identity: %s\n", cert_path, diag.msg);
		goto out;
	}
	if (rbac_cert_serial(cert, serial) != 0)
		snprintf(serial, sizeof(serial), "(longer than 20 bytes)");
	/* RFC 2253 escapes what a name may hold; a control character is shown
	 * as an escape, never written to the terminal. */
	BIO *b = BIO_new(BIO_s_mem());
	issuer[0] = '\0';
	if (b != NULL && X509_NAME_print_ex(b, X509_get_issuer_name(cert), 0,
	                                    XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB) >= 0) {
		int n = BIO_read(b, issuer, (int)sizeof(issuer) - 1);
		issuer[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	int expired = (int64_t)time(NULL) > id.not_after;
	if (json)
		status = show_json(&id, serial, issuer, expired);
	else {
		show_text(&id, serial, issuer, expired, ca != NULL);
		status = PX_EXIT_OK;
	}
	rbac_identity_free(&id);
	if (fflush(stdout) != 0) {
		fputs("awsgatectl: cannot write the output\n", stderr);
		status = PX_EXIT_USAGE;
	}
out:
	X509_free(cert);
	X509_free(ca);
	return status;
}

int px_ctl_certs(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		certs_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? PX_EXIT_USAGE : PX_EXIT_OK;
	}
	if (strcmp(argv[1], "user") == 0)
		return cmd_user(argc - 1, argv + 1);
	if (strcmp(argv[1], "server") == 0)
		return cmd_server(argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return cmd_revoke(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	fprintf(stderr, "awsgatectl: unknown command 'certs %s'\n", argv[1]);
	certs_usage(stderr);
	return PX_EXIT_USAGE;
}
