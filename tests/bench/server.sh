#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# server.sh: awsgated beside nghttpx: h2load with a client certificate, CPU per request, memory of idle connections (make bench-server).
#
# usage: server.sh SHIM.so JSON_BACKEND   (from the build directory)
# Environment: BENCH_REQUESTS (20000), BENCH_CLIENTS (10), BENCH_STREAMS (10),
# BENCH_CONNS (1000), AWSGATED (default: ./awsgated). docs/BENCH-SERVER.md
# says how to read the output.
set -eu
if [ $# -ne 2 ]; then
	echo "usage: server.sh SHIM.so JSON_BACKEND (make bench-server runs it)" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
abs_top_builddir=${abs_top_builddir:-$(pwd)}
export abs_top_builddir
for tool in h2load nghttpx; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "server.sh: $tool not found (apt-get install nghttp2-client nghttp2-proxy)" >&2
		exit 1
	fi
done
exec /usr/bin/python3 "$here/server_bench.py" --shim "$1" --backend "$2"
