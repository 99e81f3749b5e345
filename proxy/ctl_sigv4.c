/* SPDX-License-Identifier: Apache-2.0 */
/* ctl_sigv4.c: `awsgatectl sigv4 sign`, SigV4 signing of a request file for debugging and tests. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "proxy.h"
#include "sigv4/sigv4.h"

/* The built-in sample of `--example`: the AWS SigV4 test suite's
 * get-vanilla-query-order-key-case request with the suite's published example
 * key; the suite's signature for it is b97d918c...cdf2500. */
static const char example_request[] = "GET /?Param2=value2&Param1=value1 HTTP/1.1\n"
                                      "Host:example.amazonaws.com\n"
                                      "\n";
#define EXAMPLE_ACCESS_KEY "AKIDEXAMPLE"
#define EXAMPLE_SECRET_KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define EXAMPLE_TIME "20150830T123600Z"
#define EXAMPLE_REGION "us-east-1"
#define EXAMPLE_SERVICE "service"

/* A request file may hold the largest body the reader accepts plus the head. */
#define REQUEST_FILE_MAX ((size_t)SV4_MAX_BODY + 256 * 1024)

enum print_stage {
	PRINT_REQUEST,
	PRINT_CANONICAL,
	PRINT_STRING_TO_SIGN,
	PRINT_SIGNATURE,
	PRINT_AUTHORIZATION,
	PRINT_URL,
	PRINT_ALL,
};

static const char *const stage_names[] = {
	"request", "canonical", "string-to-sign", "signature", "authorization", "url", "all",
};

static void sign_usage(FILE *f)
{
	fputs("Usage: awsgatectl sigv4 sign --request FILE|- --region R --service S\n"
	      "                             [--access-key AK --secret-key SK [--session-token T]]\n"
	      "                             [--time 20150830T123600Z] [--presign [--expires DURATION]]\n"
	      "                             [--payload-hash HEX|UNSIGNED-PAYLOAD|...] [--sign-body]\n"
	      "                             [--no-normalize-path] [--omit-session-token]\n"
	      "                             [--print request|canonical|string-to-sign|signature|\n"
	      "                                      authorization|url|all]\n"
	      "       awsgatectl sigv4 sign --example [options]\n"
	      "\n"
	      "Signs the request in FILE (the AWS SigV4 test suite's request.txt format) with\n"
	      "AWS Signature Version 4 and prints the stage --print names (default: the signed\n"
	      "request, CRLF line ends).\n"
	      "\n"
	      "  --request FILE        the unsigned request; '-' reads standard input\n"
	      "  --region R            signing region, e.g. us-east-1\n"
	      "  --service S           signing name, e.g. s3, sts, dynamodb (s3, s3-object-lambda,\n"
	      "                        s3-outposts and s3express sign with S3's rules)\n"
	      "  --access-key AK       access key ID     } without these three, the values of\n"
	      "  --secret-key SK       secret access key } AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\n"
	      "  --session-token T     session token     } and AWS_SESSION_TOKEN are used\n"
	      "  --time T              signing time: 20150830T123600Z, 2015-08-30T12:36:00Z or\n"
	      "                        seconds since the epoch (default: now)\n"
	      "  --presign             sign in the query string (a presigned URL)\n"
	      "  --expires DURATION    presigned lifetime, 1s to 168h (default 15m): 90s, 15m, 1h30m\n"
	      "  --payload-hash H      the payload hash to sign instead of the body's SHA-256\n"
	      "  --sign-body           add X-Amz-Content-Sha256 (S3 services always do)\n"
	      "  --no-normalize-path   keep dot segments and repeated slashes (non-S3 services)\n"
	      "  --omit-session-token  send the session token but leave it out of the signature\n"
	      "  --print STAGE         request, canonical, string-to-sign, signature,\n"
	      "                        authorization, url (https://host/path?query), or all\n"
	      "  --example             sign a built-in sample request with AWS's published example\n"
	      "                        key and print every stage\n"
	      "\n"
	      "Exit status: 0 signed; 2 usage error or an input that cannot be signed.\n",
	      f);
}

static void sigv4_usage(FILE *f)
{
	fputs("Usage: awsgatectl sigv4 sign [options]     sign a request (see: awsgatectl sigv4 sign --help)\n"
	      "       awsgatectl sigv4 verify [options]   verify a signed request (awsgatectl sigv4 verify --help)\n"
	      "       awsgatectl sigv4 resign [options]   verify, then sign with other keys (... resign --help)\n",
	      f);
}

static int header_is(const struct sv4_header *h, const char *lit)
{
	size_t n = strlen(lit);
	if (h->namelen != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h->name[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != lit[i])
			return 0;
	}
	return 1;
}

static void print_url(FILE *f, const struct sv4_request *req, const struct sv4_signed *sig)
{
	const char *host = "";
	size_t hostlen = 0;
	for (size_t i = 0; i < req->nheaders; i++)
		if (header_is(&req->headers[i], "host")) {
			host = req->headers[i].value;
			hostlen = req->headers[i].valuelen;
			while (hostlen > 0 && (host[hostlen - 1] == ' ' || host[hostlen - 1] == '\t'))
				hostlen--;
		}
	const char *q = sig->query ? sig->query : req->query;
	size_t qlen = sig->query ? sig->querylen : req->querylen;
	fprintf(f, "https://%.*s%.*s%s%.*s\n", (int)hostlen, host, (int)req->pathlen, req->path, qlen ? "?" : "",
	        (int)qlen, q);
}

static void print_head(FILE *f, const struct sv4_reqfile *rf, const struct sv4_request *req,
                       const struct sv4_sign_params *params, const struct sv4_signed *sig)
{
	const char *q = sig->query ? sig->query : req->query;
	size_t qlen = sig->query ? sig->querylen : req->querylen;

	fprintf(f, "%.*s %.*s%s%.*s %s\r\n", (int)req->methodlen, req->method, (int)req->pathlen, req->path,
	        qlen ? "?" : "", (int)qlen, q, rf->protocol);
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sv4_header *h = &req->headers[i];
		if (sv4_header_is_replaced(h->name, h->namelen, params, sig))
			continue;
		fprintf(f, "%.*s:%.*s\r\n", (int)h->namelen, h->name, (int)h->valuelen, h->value);
	}
	if (params->mode == SV4_MODE_HEADER) {
		if (sig->add_session_token)
			fprintf(f, "X-Amz-Security-Token:%s\r\n", params->creds->session_token);
		fprintf(f, "X-Amz-Date:%s\r\n", sig->date);
		if (sig->add_content_sha256)
			fprintf(f, "X-Amz-Content-Sha256:%.*s\r\n", (int)sig->payload_hashlen, sig->payload_hash);
		fprintf(f, "Authorization:%.*s\r\n", (int)sig->authorizationlen, sig->authorization);
	}
	fputs("\r\n", f);
}

static void print_request(FILE *f, const struct sv4_reqfile *rf, const struct sv4_sign_params *params,
                          const struct sv4_signed *sig)
{
	print_head(f, rf, &rf->req, params, sig);
	if (rf->req.bodylen > 0)
		fwrite(rf->req.body, 1, rf->req.bodylen, f);
}

static int print_stage(FILE *f, enum print_stage stage, const struct sv4_reqfile *rf,
                       const struct sv4_sign_params *params, const struct sv4_signed *sig)
{
	switch (stage) {
	case PRINT_REQUEST:
		print_request(f, rf, params, sig);
		break;
	case PRINT_CANONICAL:
		fprintf(f, "%.*s\n", (int)sig->canonicallen, sig->canonical);
		break;
	case PRINT_STRING_TO_SIGN:
		fprintf(f, "%.*s\n", (int)sig->string_to_signlen, sig->string_to_sign);
		break;
	case PRINT_SIGNATURE:
		fprintf(f, "%s\n", sig->signature);
		break;
	case PRINT_AUTHORIZATION:
		if (sig->authorization == NULL) {
			fputs("awsgatectl: a presigned request has no Authorization header; use --print url\n", stderr);
			return PX_EXIT_USAGE;
		}
		fprintf(f, "%.*s\n", (int)sig->authorizationlen, sig->authorization);
		break;
	case PRINT_URL:
		print_url(f, &rf->req, sig);
		break;
	case PRINT_ALL:
		fputs("# canonical request\n", f);
		print_stage(f, PRINT_CANONICAL, rf, params, sig);
		fputs("\n# string to sign\n", f);
		print_stage(f, PRINT_STRING_TO_SIGN, rf, params, sig);
		fputs("\n# signature\n", f);
		print_stage(f, PRINT_SIGNATURE, rf, params, sig);
		if (sig->authorization != NULL) {
			fputs("\n# Authorization header\n", f);
			print_stage(f, PRINT_AUTHORIZATION, rf, params, sig);
		} else {
			fputs("\n# presigned URL\n", f);
			print_stage(f, PRINT_URL, rf, params, sig);
		}
		fputs("\n# signed request\n", f);
		print_request(f, rf, params, sig);
		break;
	}
	return PX_EXIT_OK;
}

/* What to say after an error from sv4_sign(). */
static const char *sign_hint(int err)
{
	switch (err) {
	case SV4_ERR_TOO_LARGE:
		return " (limits: docs/SIGV4.md, \"Limits\")";
	case SV4_ERR_BAD_SCOPE:
		return ": check --region and --service";
	case SV4_ERR_BAD_CREDENTIALS:
		return ": check --access-key, --secret-key and --session-token";
	case SV4_ERR_BAD_PAYLOAD:
		return ": check --payload-hash or the request's x-amz-content-sha256 header";
	case SV4_ERR_NO_HOST:
		return ": add one 'Host:' line to the request file";
	default:
		return "";
	}
}

/* Parses |len| bytes of a request file named |name| into |rf|; says why not. */
static int parse_request(const char *name, const char *data, size_t len, struct sv4_reqfile *rf)
{
	struct sv4_reqfile_error perr = {0, 0, NULL};
	int rv = sv4_reqfile_parse(rf, data, len, &perr);
	if (rv == 0)
		return PX_EXIT_OK;
	if (perr.line != 0 && perr.column != 0)
		fprintf(stderr, "awsgatectl: %s:%u:%u: %s\n", name, perr.line, perr.column, perr.what);
	else if (perr.line != 0)
		fprintf(stderr, "awsgatectl: %s:%u: %s\n", name, perr.line, perr.what);
	else
		fprintf(stderr, "awsgatectl: %s: %s\n", name, perr.what ? perr.what : sv4_strerror(rv));
	return PX_EXIT_USAGE;
}

/* Reads and parses the request file |path| ("-": standard input). */
static int load_request(const char *path, struct sv4_reqfile *rf)
{
	char *data = NULL, why[256];
	size_t len = 0;
	int rv = px_file_read(path, REQUEST_FILE_MAX, &data, &len, why, sizeof(why));
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot read request file '%s': %s\n", path,
		        rv == PX_ERR_IO ? why : rv == PX_ERR_TOO_LARGE ? "too large" : "out of memory");
		return PX_EXIT_USAGE;
	}
	int status = parse_request(strcmp(path, "-") == 0 ? "(stdin)" : path, data, len, rf);
	free(data);
	return status;
}

static int cmd_sign(int argc, char **argv)
{
	enum {
		OPT_REQUEST = 256,
		OPT_REGION,
		OPT_SERVICE,
		OPT_ACCESS_KEY,
		OPT_SECRET_KEY,
		OPT_SESSION_TOKEN,
		OPT_TIME,
		OPT_PRESIGN,
		OPT_EXPIRES,
		OPT_PAYLOAD_HASH,
		OPT_SIGN_BODY,
		OPT_NO_NORMALIZE,
		OPT_OMIT_TOKEN,
		OPT_PRINT,
		OPT_EXAMPLE,
		OPT_HELP,
	};
	static const struct option opts[] = {
		{"request", required_argument, NULL, OPT_REQUEST},
		{"region", required_argument, NULL, OPT_REGION},
		{"service", required_argument, NULL, OPT_SERVICE},
		{"access-key", required_argument, NULL, OPT_ACCESS_KEY},
		{"secret-key", required_argument, NULL, OPT_SECRET_KEY},
		{"session-token", required_argument, NULL, OPT_SESSION_TOKEN},
		{"time", required_argument, NULL, OPT_TIME},
		{"presign", no_argument, NULL, OPT_PRESIGN},
		{"expires", required_argument, NULL, OPT_EXPIRES},
		{"payload-hash", required_argument, NULL, OPT_PAYLOAD_HASH},
		{"sign-body", no_argument, NULL, OPT_SIGN_BODY},
		{"no-normalize-path", no_argument, NULL, OPT_NO_NORMALIZE},
		{"omit-session-token", no_argument, NULL, OPT_OMIT_TOKEN},
		{"print", required_argument, NULL, OPT_PRINT},
		{"example", no_argument, NULL, OPT_EXAMPLE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	const char *request = NULL, *region = NULL, *service = NULL, *time_arg = NULL, *expires_arg = NULL;
	struct sv4_credentials creds = {NULL, NULL, NULL};
	struct sv4_sign_params params;
	int example = 0, print = -1, c;
	int exit_status = PX_EXIT_USAGE;

	memset(&params, 0, sizeof(params));
	params.mode = SV4_MODE_HEADER;
	params.expires = 900;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_REQUEST: request = optarg; break;
		case OPT_REGION: region = optarg; break;
		case OPT_SERVICE: service = optarg; break;
		case OPT_ACCESS_KEY: creds.access_key = optarg; break;
		case OPT_SECRET_KEY: creds.secret_key = optarg; break;
		case OPT_SESSION_TOKEN: creds.session_token = optarg; break;
		case OPT_TIME: time_arg = optarg; break;
		case OPT_PRESIGN: params.mode = SV4_MODE_QUERY; break;
		case OPT_EXPIRES: expires_arg = optarg; break;
		case OPT_PAYLOAD_HASH: params.payload_hash = optarg; break;
		case OPT_SIGN_BODY: params.flags |= SV4_F_ADD_CONTENT_SHA256; break;
		case OPT_NO_NORMALIZE: params.flags |= SV4_F_NO_NORMALIZE_PATH; break;
		case OPT_OMIT_TOKEN: params.flags |= SV4_F_OMIT_SESSION_TOKEN; break;
		case OPT_EXAMPLE: example = 1; break;
		case OPT_HELP: sign_usage(stdout); return PX_EXIT_OK;
		case OPT_PRINT:
			for (size_t i = 0; i < sizeof(stage_names) / sizeof(stage_names[0]); i++)
				if (strcmp(optarg, stage_names[i]) == 0)
					print = (int)i;
			if (print < 0) {
				fprintf(stderr, "awsgatectl: unknown --print stage '%s': use request, canonical, "
				                "string-to-sign, signature, authorization, url or all\n", optarg);
				return PX_EXIT_USAGE;
			}
			break;
		default:
			if (optopt != 0)
				fprintf(stderr, "awsgatectl: option --%s needs a value\n",
				        opts[optopt - OPT_REQUEST].name);
			else
				fprintf(stderr, "awsgatectl: unknown option '%s'\n", argv[optind - 1]);
			fputs("Try 'awsgatectl sigv4 sign --help'.\n", stderr);
			return PX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "awsgatectl: unexpected argument '%s'\nTry 'awsgatectl sigv4 sign --help'.\n",
		        argv[optind]);
		return PX_EXIT_USAGE;
	}

	if (example) {
		if (request != NULL) {
			fputs("awsgatectl: --example signs a built-in request: leave out --request\n", stderr);
			return PX_EXIT_USAGE;
		}
		if (region == NULL)
			region = EXAMPLE_REGION;
		if (service == NULL)
			service = EXAMPLE_SERVICE;
		if (time_arg == NULL)
			time_arg = EXAMPLE_TIME;
		if (creds.access_key == NULL && creds.secret_key == NULL && creds.session_token == NULL) {
			creds.access_key = EXAMPLE_ACCESS_KEY;
			creds.secret_key = EXAMPLE_SECRET_KEY;
		}
		if (print < 0)
			print = PRINT_ALL;
	}
	if (print < 0)
		print = PRINT_REQUEST;
	if (request == NULL && !example) {
		fputs("awsgatectl: sigv4 sign needs --request FILE (or - for standard input), or --example\n"
		      "Try 'awsgatectl sigv4 sign --help'.\n", stderr);
		return PX_EXIT_USAGE;
	}
	if (region == NULL || service == NULL) {
		fprintf(stderr, "awsgatectl: sigv4 sign needs %s\n",
		        region == NULL && service == NULL ? "--region and --service"
		        : region == NULL                  ? "--region"
		                                          : "--service");
		return PX_EXIT_USAGE;
	}
	/* Credentials: all from the command line, or all from the environment,
	 * never a mixture that would sign with someone else's token. */
	if (creds.access_key == NULL && creds.secret_key == NULL && creds.session_token == NULL) {
		creds.access_key = getenv("AWS_ACCESS_KEY_ID");
		creds.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
		creds.session_token = getenv("AWS_SESSION_TOKEN");
		if (creds.session_token != NULL && *creds.session_token == '\0')
			creds.session_token = NULL;
		if (creds.access_key == NULL || creds.secret_key == NULL) {
			fputs("awsgatectl: no credentials: pass --access-key and --secret-key, or set "
			      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n", stderr);
			return PX_EXIT_USAGE;
		}
	} else if (creds.access_key == NULL || creds.secret_key == NULL) {
		fprintf(stderr, "awsgatectl: %s needs %s too\n", creds.access_key ? "--access-key" : "--secret-key",
		        creds.access_key ? "--secret-key" : "--access-key");
		return PX_EXIT_USAGE;
	}
	if (time_arg != NULL) {
		if (px_time_parse(time_arg, &params.time) != 0) {
			fprintf(stderr, "awsgatectl: bad --time '%s': use 20150830T123600Z, 2015-08-30T12:36:00Z "
			                "or seconds since the epoch\n", time_arg);
			return PX_EXIT_USAGE;
		}
	} else {
		params.time = (int64_t)time(NULL);
	}
	if (expires_arg != NULL) {
		uint32_t secs;
		if (params.mode != SV4_MODE_QUERY) {
			fputs("awsgatectl: --expires applies to presigned requests: add --presign\n", stderr);
			return PX_EXIT_USAGE;
		}
		if (px_duration_parse(expires_arg, &secs) != 0 || secs < 1 || secs > SV4_MAX_EXPIRES) {
			fprintf(stderr, "awsgatectl: bad --expires '%s': a duration from 1s to 168h, such as 900, "
			                "15m or 1h30m\n", expires_arg);
			return PX_EXIT_USAGE;
		}
		params.expires = secs;
	}
	if ((params.flags & SV4_F_ADD_CONTENT_SHA256) && params.mode == SV4_MODE_QUERY) {
		fputs("awsgatectl: --sign-body adds a header, which a presigned request does not carry\n", stderr);
		return PX_EXIT_USAGE;
	}
	params.creds = &creds;
	params.region = region;
	params.service = service;

	struct sv4_reqfile rf;
	struct sv4_signer *signer = NULL;
	struct sv4_signed sig;
	const char *name = example ? "(example)" : request;
	if (example)
		exit_status = parse_request(name, example_request, sizeof(example_request) - 1, &rf);
	else
		exit_status = load_request(request, &rf);
	if (exit_status != PX_EXIT_OK)
		return exit_status;
	exit_status = PX_EXIT_USAGE;
	int rv;
	signer = sv4_signer_new();
	if (signer == NULL) {
		fputs("awsgatectl: cannot set up OpenSSL's SHA-256 and HMAC\n", stderr);
		goto out;
	}
	rv = sv4_sign(signer, &rf.req, &params, &sig);
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot sign %s: %s%s\n", name, sv4_strerror(rv), sign_hint(rv));
		goto out;
	}
	exit_status = print_stage(stdout, (enum print_stage)print, &rf, &params, &sig);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("awsgatectl: cannot write the output\n", stderr);
		exit_status = PX_EXIT_USAGE;
	}
out:
	sv4_signer_del(signer);
	sv4_reqfile_free(&rf);
	return exit_status;
}

/* ------------------------------------------------------------------------
 * aws-chunked bodies in verify and resign */

static const char *chunk_reason(int err)
{
	switch (err) {
	case SV4_ERR_CHUNK_SIGNATURE: return "chunk-mismatch";
	case SV4_ERR_TRAILER_SIGNATURE: return "trailer-mismatch";
	case SV4_ERR_CHUNK_TOO_LARGE: return "too-large";
	default: return "chunk-malformed";
	}
}

/* Re-encodes a decoded body with a new chain (or measures it when |out| is NULL). */
struct rechunk {
	FILE *out;
	struct sv4_chain *sign;
	enum sv4_chunked_kind kind;
	uint64_t length; /* of the encoded body */
};

static size_t hex_digits(size_t n)
{
	size_t d = 1;
	while (n >= 16) {
		n >>= 4;
		d++;
	}
	return d;
}

static int rechunk_chunk(void *arg, const unsigned char *data, size_t len, const char *hash, const char *sig)
{
	struct rechunk *rc = arg;
	char nsig[65];
	(void)sig;
	/* SIZE;chunk-signature=SIG CRLF DATA CRLF; the final chunk of the
	 * trailer kind has no CRLF of its own (the trailers follow). */
	int crlf = len > 0 || rc->kind == SV4_CHUNKED_SIGNED;
	rc->length += hex_digits(len) + 17 + 64 + 2 + len + (crlf ? 2 : 0);
	if (rc->out == NULL)
		return 0;
	if (sv4_chain_chunk(rc->sign, hash, nsig) != 0)
		return SV4_ERR_CRYPTO;
	char line[SV4_MAX_CHUNK_LINE];
	fwrite(line, 1, sv4_chunk_line(line, len, nsig), rc->out);
	fwrite(data, 1, len, rc->out);
	if (crlf)
		fputs("\r\n", rc->out);
	return 0;
}

static int rechunk_trailers(void *arg, const char *canonical, size_t len, const char *sig)
{
	struct rechunk *rc = arg;
	char nsig[65];
	size_t lines = 0;
	(void)sig;
	for (size_t i = 0; i < len; i++)
		lines += canonical[i] == '\n';
	rc->length += len + lines + 24 + 64 + 2 + 2;
	if (rc->out == NULL)
		return 0;
	if (sv4_chain_trailer(rc->sign, canonical, len, nsig) != 0)
		return SV4_ERR_CRYPTO;
	char text[2 * SV4_MAX_TRAILER_BYTES + 96];
	fwrite(text, 1, sv4_trailer_lines(text, canonical, len, nsig), rc->out);
	return 0;
}

/* Returns the value of the header |lname|, or NULL. */
static const struct sv4_header *header_get(const struct sv4_request *req, const char *lname)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (header_is(&req->headers[i], lname))
			return &req->headers[i];
	return NULL;
}

/* Decodes (and, with |chain|, verifies) the aws-chunked body of |req| with
 * |rc|'s callbacks; checks x-amz-decoded-content-length. Returns 0, or 1
 * with the reason printed. */
static int run_chunked(const struct sv4_request *req, enum sv4_chunked_kind kind, size_t max_chunk,
                       struct sv4_chain *chain, struct rechunk *rc)
{
	const struct sv4_header *dl = header_get(req, "x-amz-decoded-content-length");
	uint64_t want = 0, got = 0;
	if (dl == NULL || dl->valuelen == 0 || dl->valuelen > 19) {
		fputs("awsgatectl: signature invalid: chunk-malformed: an aws-chunked body needs "
		      "x-amz-decoded-content-length\n", stderr);
		return 1;
	}
	for (size_t i = 0; i < dl->valuelen; i++) {
		if (dl->value[i] < '0' || dl->value[i] > '9') {
			fputs("awsgatectl: signature invalid: chunk-malformed: x-amz-decoded-content-length is not a "
			      "number\n", stderr);
			return 1;
		}
		want = want * 10 + (uint64_t)(dl->value[i] - '0');
	}
	struct sv4_dechunk *d = sv4_dechunk_new(kind, max_chunk, chain, rechunk_chunk, rechunk_trailers, rc);
	if (d == NULL) {
		fputs("awsgatectl: out of memory\n", stderr);
		return 1;
	}
	int rv = sv4_dechunk_feed(d, req->body, req->bodylen);
	if (rv == 0)
		rv = sv4_dechunk_finish(d, &got);
	if (rv != 0) {
		uint64_t off;
		const char *what = sv4_dechunk_error(d, &off);
		fprintf(stderr, "awsgatectl: signature invalid: %s: %s (body byte %llu)\n", chunk_reason(rv), what,
		        (unsigned long long)off);
		sv4_dechunk_del(d);
		return 1;
	}
	sv4_dechunk_del(d);
	if (got != want) {
		fprintf(stderr, "awsgatectl: signature invalid: chunk-malformed: the chunks hold %llu bytes, "
		                "x-amz-decoded-content-length says %llu\n", (unsigned long long)got,
		        (unsigned long long)want);
		return 1;
	}
	return 0;
}

static void verify_usage(FILE *f)
{
	fputs("Usage: awsgatectl sigv4 verify --request FILE|- [--access-key AK --secret-key SK]\n"
	      "                               [--time T] [--max-skew DURATION] [--payload-hash H]\n"
	      "                               [--print canonical|string-to-sign]\n"
	      "\n"
	      "Verifies the AWS Signature Version 4 of the request in FILE (Authorization header\n"
	      "or presigned query), made by someone else with the key AK/SK: strict parsing,\n"
	      "the signature recomputed and compared in constant time, clock skew and presign\n"
	      "expiry checked.\n"
	      "\n"
	      "  --request FILE       the signed request; '-' reads standard input\n"
	      "  --access-key AK      the access key the request must be signed with } default:\n"
	      "  --secret-key SK      its secret                                       } AWS_ACCESS_KEY_ID,\n"
	      "                                                       AWS_SECRET_ACCESS_KEY\n"
	      "  --time T             now, for the skew and expiry checks (default: the clock)\n"
	      "  --max-skew DURATION  largest distance of X-Amz-Date from now (default 5m)\n"
	      "  --payload-hash H     the body's hash when the request has no x-amz-content-sha256\n"
	      "                       (default: the SHA-256 of the file's body)\n"
	      "  --print STAGE        also print our canonical request or string to sign\n"
	      "  --max-chunk-size N   largest aws-chunked chunk accepted, bytes (default 1048576)\n"
	      "\n"
	      "Exit status: 0 the signature holds; 1 it does not, with the reason on stderr\n"
	      "(malformed, unsigned, unsupported, unknown-key, skew, expired, mismatch,\n"
	      "payload-mismatch, unsigned-header, chunk-malformed, chunk-mismatch,\n"
	      "trailer-mismatch, too-large);\n"
	      "2 usage error.\n",
	      f);
}

static void resign_usage(FILE *f)
{
	fputs("Usage: awsgatectl sigv4 resign --request FILE|- --access-key AK --secret-key SK\n"
	      "                               --new-access-key AK2 --new-secret-key SK2 [--new-session-token T2]\n"
	      "                               [--time T] [--max-skew DURATION] [--max-chunk-size BYTES]\n"
	      "\n"
	      "Verifies the request in FILE as 'sigv4 verify' does (an aws-chunked body chunk by\n"
	      "chunk), then prints it signed again, in the same region and service, with the new\n"
	      "credentials at --time (default now): what the gate does to every request. A signed\n"
	      "aws-chunked body keeps its chunk boundaries and gets new chunk signatures chained\n"
	      "to the new seed signature and a new trailer signature; an unsigned-trailer body\n"
	      "passes through as it is. The output is the request with CRLF line ends.\n"
	      "\n"
	      "  --max-chunk-size BYTES  largest chunk accepted (default 1048576)\n"
	      "  --session-token T       accepted for symmetry; the incoming token is a signed header\n"
	      "\n"
	      "Exit status: 0 re-signed; 1 the incoming signature does not hold (reason on stderr);\n"
	      "2 usage error.\n",
	      f);
}

/* `sigv4 verify` and `sigv4 resign`: the second verifies, then signs again
 * with other credentials, re-encoding an aws-chunked body on the new chain. */
static int cmd_verify(int argc, char **argv, int resign)
{
	enum { OPT_REQUEST = 256, OPT_ACCESS_KEY, OPT_SECRET_KEY, OPT_TIME, OPT_MAX_SKEW, OPT_PAYLOAD_HASH, OPT_PRINT,
	       OPT_MAX_CHUNK, OPT_SESSION_TOKEN, OPT_NEW_ACCESS_KEY, OPT_NEW_SECRET_KEY, OPT_NEW_SESSION_TOKEN,
	       OPT_HELP };
	static const struct option opts[] = {
		{"request", required_argument, NULL, OPT_REQUEST},
		{"access-key", required_argument, NULL, OPT_ACCESS_KEY},
		{"secret-key", required_argument, NULL, OPT_SECRET_KEY},
		{"time", required_argument, NULL, OPT_TIME},
		{"max-skew", required_argument, NULL, OPT_MAX_SKEW},
		{"payload-hash", required_argument, NULL, OPT_PAYLOAD_HASH},
		{"print", required_argument, NULL, OPT_PRINT},
		{"max-chunk-size", required_argument, NULL, OPT_MAX_CHUNK},
		{"session-token", required_argument, NULL, OPT_SESSION_TOKEN},
		{"new-access-key", required_argument, NULL, OPT_NEW_ACCESS_KEY},
		{"new-secret-key", required_argument, NULL, OPT_NEW_SECRET_KEY},
		{"new-session-token", required_argument, NULL, OPT_NEW_SESSION_TOKEN},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = resign ? "resign" : "verify";
	const char *request = NULL, *time_arg = NULL, *skew_arg = NULL, *print = NULL, *chunk_arg = NULL;
	struct sv4_credentials next = {NULL, NULL, NULL};
	struct sv4_verify_params vp;
	size_t max_chunk = SV4_DEFAULT_MAX_CHUNK;
	int c;

	memset(&vp, 0, sizeof(vp));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_REQUEST: request = optarg; break;
		case OPT_ACCESS_KEY: vp.access_key = optarg; break;
		case OPT_SECRET_KEY: vp.secret_key = optarg; break;
		case OPT_TIME: time_arg = optarg; break;
		case OPT_MAX_SKEW: skew_arg = optarg; break;
		case OPT_PAYLOAD_HASH: vp.payload_hash = optarg; break;
		case OPT_PRINT: print = optarg; break;
		case OPT_MAX_CHUNK: chunk_arg = optarg; break;
		case OPT_SESSION_TOKEN: break; /* the incoming token is signed as a header: nothing to check */
		case OPT_NEW_ACCESS_KEY: next.access_key = optarg; break;
		case OPT_NEW_SECRET_KEY: next.secret_key = optarg; break;
		case OPT_NEW_SESSION_TOKEN: next.session_token = optarg; break;
		case OPT_HELP:
			if (resign)
				resign_usage(stdout);
			else
				verify_usage(stdout);
			return PX_EXIT_OK;
		default:
			if (optopt != 0)
				fprintf(stderr, "awsgatectl: option --%s needs a value\n", opts[optopt - OPT_REQUEST].name);
			else
				fprintf(stderr, "awsgatectl: unknown option '%s'\n", argv[optind - 1]);
			fprintf(stderr, "Try 'awsgatectl sigv4 %s --help'.\n", cmd);
			return PX_EXIT_USAGE;
		}
		if (!resign && c >= OPT_SESSION_TOKEN && c <= OPT_NEW_SESSION_TOKEN) {
			fprintf(stderr, "awsgatectl: --%s belongs to sigv4 resign\n", opts[c - OPT_REQUEST].name);
			return PX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "awsgatectl: unexpected argument '%s'\nTry 'awsgatectl sigv4 %s --help'.\n", argv[optind],
		        cmd);
		return PX_EXIT_USAGE;
	}
	if (request == NULL) {
		fprintf(stderr, "awsgatectl: sigv4 %s needs --request FILE (or - for standard input)\n", cmd);
		return PX_EXIT_USAGE;
	}
	if (print != NULL && strcmp(print, "canonical") != 0 && strcmp(print, "string-to-sign") != 0) {
		fprintf(stderr, "awsgatectl: unknown --print stage '%s': use canonical or string-to-sign\n", print);
		return PX_EXIT_USAGE;
	}
	if (resign && (next.access_key == NULL || next.secret_key == NULL)) {
		fputs("awsgatectl: sigv4 resign needs --new-access-key and --new-secret-key\n", stderr);
		return PX_EXIT_USAGE;
	}
	if (vp.access_key == NULL && vp.secret_key == NULL) {
		vp.access_key = getenv("AWS_ACCESS_KEY_ID");
		vp.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
		if (vp.access_key == NULL || vp.secret_key == NULL) {
			fputs("awsgatectl: no key to verify with: pass --access-key and --secret-key, or set "
			      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n", stderr);
			return PX_EXIT_USAGE;
		}
	} else if (vp.access_key == NULL || vp.secret_key == NULL) {
		fprintf(stderr, "awsgatectl: %s needs %s too\n", vp.access_key ? "--access-key" : "--secret-key",
		        vp.access_key ? "--secret-key" : "--access-key");
		return PX_EXIT_USAGE;
	}
	if (time_arg != NULL) {
		if (px_time_parse(time_arg, &vp.now) != 0) {
			fprintf(stderr, "awsgatectl: bad --time '%s': use 20150830T123600Z, 2015-08-30T12:36:00Z "
			                "or seconds since the epoch\n", time_arg);
			return PX_EXIT_USAGE;
		}
	} else {
		vp.now = (int64_t)time(NULL);
	}
	if (skew_arg != NULL && (px_duration_parse(skew_arg, &vp.max_skew) != 0 || vp.max_skew == 0)) {
		fprintf(stderr, "awsgatectl: bad --max-skew '%s': a duration such as 5m or 90s\n", skew_arg);
		return PX_EXIT_USAGE;
	}
	if (chunk_arg != NULL) {
		uint64_t n = 0;
		size_t i = 0;
		for (; chunk_arg[i] >= '0' && chunk_arg[i] <= '9' && n <= SV4_MAX_BODY; i++)
			n = n * 10 + (uint64_t)(chunk_arg[i] - '0');
		if (i == 0 || chunk_arg[i] != '\0' || n < 1 || n > SV4_MAX_BODY) {
			fprintf(stderr, "awsgatectl: bad --max-chunk-size '%s': bytes, 1 to %d\n", chunk_arg, SV4_MAX_BODY);
			return PX_EXIT_USAGE;
		}
		max_chunk = (size_t)n;
	}

	struct sv4_reqfile rf;
	int status = load_request(request, &rf);
	if (status != PX_EXIT_OK)
		return status;
	struct sv4_signer *signer = sv4_signer_new();
	struct sv4_chain *chain = NULL, *next_chain = NULL;
	struct sv4_verified v;
	int rv = signer ? sv4_verify(signer, &rf.req, &vp, &v) : SV4_ERR_NOMEM;
	if (rv != 0) {
		fprintf(stderr, "awsgatectl: cannot verify: %s\n", sv4_strerror(rv));
		status = PX_EXIT_USAGE;
		goto out;
	}
	if (print != NULL && v.canonical != NULL) {
		if (strcmp(print, "canonical") == 0)
			printf("%.*s\n", (int)v.canonicallen, v.canonical);
		else
			printf("%.*s\n", (int)v.string_to_signlen, v.string_to_sign);
	}
	if (v.verdict != SV4_VALID) {
		fprintf(stderr, "awsgatectl: signature invalid: %s: %s\n", sv4_verdict_name(v.verdict), v.detail);
		status = PX_EXIT_NO;
		goto out;
	}

	/* An aws-chunked body: every chunk and the trailer are checked too. */
	enum sv4_chunked_kind kind = v.mode == SV4_MODE_HEADER ? sv4_chunked_kind(v.payload_hash, v.payload_hashlen)
	                                                        : SV4_CHUNKED_NONE;
	struct rechunk measure = {NULL, NULL, kind, 0};
	if (kind != SV4_CHUNKED_NONE) {
		chain = sv4_chain_new(signer, vp.secret_key, v.date, v.region, v.service, v.signature);
		if (chain == NULL) {
			fputs("awsgatectl: cannot set up the chunk signature chain\n", stderr);
			status = PX_EXIT_USAGE;
			goto out;
		}
		if (run_chunked(&rf.req, kind, max_chunk, chain, &measure) != 0) {
			status = PX_EXIT_NO;
			goto out;
		}
	}
	if (!resign) {
		fprintf(stderr, "awsgatectl: signature valid (%s, %s/%s/%s%s)\n",
		        v.mode == SV4_MODE_HEADER ? "Authorization header" : "presigned", v.date, v.region, v.service,
		        kind == SV4_CHUNKED_NONE             ? ""
		        : kind == SV4_CHUNKED_UNSIGNED_TRAILER ? ", aws-chunked body well-formed (its chunks are unsigned)"
		                                               : ", every chunk and trailer");
		status = PX_EXIT_OK;
		goto out;
	}

	/* Sign again in the same scope with the new credentials, at --time. A
	 * signed aws-chunked body keeps its chunk boundaries; Content-Length
	 * follows the re-encoded body's length. */
	struct sv4_header headers[SV4_MAX_HEADERS];
	char length[24];
	struct sv4_request req = rf.req;
	/* The incoming session token belongs to the incoming credentials. */
	req.nheaders = 0;
	for (size_t i = 0; i < rf.req.nheaders; i++)
		if (!header_is(&rf.req.headers[i], "x-amz-security-token"))
			headers[req.nheaders++] = rf.req.headers[i];
	req.headers = headers;
	if (kind == SV4_CHUNKED_SIGNED || kind == SV4_CHUNKED_SIGNED_TRAILER) {
		snprintf(length, sizeof(length), "%llu", (unsigned long long)measure.length);
		for (size_t i = 0; i < req.nheaders; i++)
			if (header_is(&headers[i], "content-length")) {
				headers[i].value = length;
				headers[i].valuelen = strlen(length);
			}
	}
	struct sv4_sign_params params = {&next, v.region, v.service, vp.now, v.mode, v.expires, NULL, 0};
	struct sv4_signed sig;
	if ((rv = sv4_sign(signer, &req, &params, &sig)) != 0) {
		fprintf(stderr, "awsgatectl: cannot sign again: %s%s\n", sv4_strerror(rv), sign_hint(rv));
		status = PX_EXIT_USAGE;
		goto out;
	}
	print_head(stdout, &rf, &req, &params, &sig);
	if (kind == SV4_CHUNKED_SIGNED || kind == SV4_CHUNKED_SIGNED_TRAILER) {
		next_chain = sv4_chain_new(signer, next.secret_key, sig.date, v.region, v.service, sig.signature);
		struct rechunk write = {stdout, next_chain, kind, 0};
		if (next_chain == NULL || run_chunked(&rf.req, kind, max_chunk, NULL, &write) != 0) {
			fputs("awsgatectl: cannot re-encode the body\n", stderr);
			status = PX_EXIT_USAGE;
			goto out;
		}
	} else if (rf.req.bodylen > 0) {
		fwrite(rf.req.body, 1, rf.req.bodylen, stdout);
	}
	status = PX_EXIT_OK;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("awsgatectl: cannot write the output\n", stderr);
		status = PX_EXIT_USAGE;
	}
out:
	sv4_chain_del(chain);
	sv4_chain_del(next_chain);
	sv4_signer_del(signer);
	sv4_reqfile_free(&rf);
	return status;
}

int px_ctl_sigv4(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		sigv4_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? PX_EXIT_USAGE : PX_EXIT_OK;
	}
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1, 0);
	if (strcmp(argv[1], "resign") == 0)
		return cmd_verify(argc - 1, argv + 1, 1);
	fprintf(stderr, "awsgatectl: unknown command 'sigv4 %s'\n", argv[1]);
	sigv4_usage(stderr);
	return PX_EXIT_USAGE;
}
