#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# api_bench.sh: awsgated re-signing AWS API requests beside nghttpx passing them on, under h2load with a client certificate (make bench-api).
#
# usage: api_bench.sh SHIM.so JSON_BACKEND   (from the build directory)
# Environment: BENCH_REQUESTS (20000), BENCH_CLIENTS (10), BENCH_CONCURRENCY
# (10,100), BENCH_WORKERS (1,2), AWSGATED (default: ./awsgated).
# docs/BENCH-API.md says how to read the output.
set -eu
if [ $# -ne 2 ]; then
	echo "usage: api_bench.sh SHIM.so JSON_BACKEND (make bench-api runs it)" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
abs_top_builddir=${abs_top_builddir:-$(pwd)}
export abs_top_builddir
for tool in h2load nghttpx openssl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "api_bench.sh: $tool not found (apt-get install nghttp2-client nghttp2-proxy openssl)" >&2
		exit 1
	fi
done
exec /usr/bin/python3 "$here/api_bench.py" --shim "$1" --backend "$2"
