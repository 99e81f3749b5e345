/* SPDX-License-Identifier: Apache-2.0 */
/* gated_main.c: awsgated's main(); everything else is in libproxy.a (server.c). */
#include "server.h"

int main(int argc, char **argv)
{
	return px_gated_main(argc, argv);
}
