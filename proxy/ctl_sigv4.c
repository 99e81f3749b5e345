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
	fputs("Usage: awsgatectl sigv4 sign [options]   sign a request (see: awsgatectl sigv4 sign --help)\n", f);
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

static void print_request(FILE *f, const struct sv4_reqfile *rf, const struct sv4_sign_params *params,
                          const struct sv4_signed *sig)
{
	const struct sv4_request *req = &rf->req;
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
	if (req->bodylen > 0)
		fwrite(req->body, 1, req->bodylen, f);
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

	char *data = NULL;
	size_t len = 0;
	const char *name = example ? "(example)" : request;
	if (example) {
		len = sizeof(example_request) - 1;
		data = malloc(len + 1);
		if (data == NULL) {
			fputs("awsgatectl: out of memory\n", stderr);
			return PX_EXIT_USAGE;
		}
		memcpy(data, example_request, len + 1);
	} else {
		char why[256];
		int rv = px_file_read(request, REQUEST_FILE_MAX, &data, &len, why, sizeof(why));
		if (rv != 0) {
			fprintf(stderr, "awsgatectl: cannot read request file '%s': %s\n", request,
			        rv == PX_ERR_IO ? why : rv == PX_ERR_TOO_LARGE ? "too large" : "out of memory");
			return PX_EXIT_USAGE;
		}
	}

	struct sv4_reqfile rf;
	struct sv4_reqfile_error perr = {0, 0, NULL};
	struct sv4_signer *signer = NULL;
	struct sv4_signed sig;
	int rv = sv4_reqfile_parse(&rf, data, len, &perr);
	free(data);
	if (rv != 0) {
		if (perr.line != 0 && perr.column != 0)
			fprintf(stderr, "awsgatectl: %s:%u:%u: %s\n", name, perr.line, perr.column, perr.what);
		else if (perr.line != 0)
			fprintf(stderr, "awsgatectl: %s:%u: %s\n", name, perr.line, perr.what);
		else
			fprintf(stderr, "awsgatectl: %s: %s\n", name, perr.what ? perr.what : sv4_strerror(rv));
		return PX_EXIT_USAGE;
	}
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

int px_ctl_sigv4(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		sigv4_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? PX_EXIT_USAGE : PX_EXIT_OK;
	}
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	fprintf(stderr, "awsgatectl: unknown command 'sigv4 %s'\n", argv[1]);
	sigv4_usage(stderr);
	return PX_EXIT_USAGE;
}
