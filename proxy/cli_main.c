/* SPDX-License-Identifier: Apache-2.0 */
/* cli_main.c: main() of awsgate, the user's command-line tool (the rest is in libproxy.a, proxy/cli_*.c). */
#include <curl/curl.h>

#include "cli.h"

int main(int argc, char **argv)
{
	/* Once, before any thread: libcurl's global state. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	int rv = px_cli_main(argc, argv);
	curl_global_cleanup();
	return rv;
}
