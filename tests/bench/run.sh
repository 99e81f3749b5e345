#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run.sh: runs the SigV4 signing benchmark: the timing table, openssl speed, and instructions per signature under callgrind.
#
# usage: run.sh [path/to/sigv4_bench]
# Environment: SV4_BENCH_ITERS, SV4_BENCH_REPS (timing loops), SV4_BENCH_K1,
# SV4_BENCH_K2 (callgrind runs K1 and K2 signatures; their difference over
# K2-K1 drops the start-up cost), VALGRIND, OPENSSL.
set -eu

bench=${1:-tests/bench/sigv4_bench}
k1=${SV4_BENCH_K1:-200}
k2=${SV4_BENCH_K2:-1200}
valgrind=${VALGRIND:-valgrind}
openssl=${OPENSSL:-openssl}

if [ ! -x "$bench" ]; then
	echo "run.sh: $bench not built (make tests/bench/sigv4_bench)" >&2
	exit 1
fi
case $k1$k2 in *[!0-9]*)
	echo "run.sh: SV4_BENCH_K1 and SV4_BENCH_K2 must be counts" >&2
	exit 1 ;;
esac
if [ "$k2" -le "$k1" ]; then
	echo "run.sh: SV4_BENCH_K2 must exceed SV4_BENCH_K1" >&2
	exit 1
fi

echo "== Timing (CLOCK_MONOTONIC)"
"$bench"

echo
echo "== Chunk re-signing against openssl speed -evp sha256 -bytes 16384 -seconds 3"
chunks=$("$bench" --chunks)
echo "$chunks"
if command -v "$openssl" >/dev/null 2>&1; then
	# The last line reads "sha256  123456.78k": thousands of bytes per second.
	speed=$("$openssl" speed -evp sha256 -bytes 16384 -seconds 3 2>/dev/null |
	    awk '$1 ~ /^sha256$/ && $2 ~ /k$/ { v = $2; sub(/k$/, "", v); printf "%.1f", v / 1000 }')
	if [ -z "$speed" ]; then
		echo "openssl speed: no sha256 line"
	else
		echo "SHA-256, 16 KiB blocks: $speed MB/s"
		echo "$chunks $speed" | awk '{ r = $(NF - 2) / $NF; printf "chunk re-signing / openssl speed: %.3f  %s\n", r, (r >= 0.7 ? "ok" : "MISS") }'
	fi
else
	echo "openssl not found: skipped"
fi

echo
echo "== Instructions per signature (callgrind; (K2 run - K1 run) / $((k2 - k1)), K1=$k1 K2=$k2)"
if ! command -v "$valgrind" >/dev/null 2>&1; then
	echo "valgrind not found: skipped (apt-get install valgrind)"
	exit 0
fi

# Prints the instructions callgrind collected for one run.
irefs() {
	"$valgrind" --tool=callgrind --callgrind-out-file=/dev/null "$bench" --callgrind "$@" 2>&1 >/dev/null |
	    sed -n 's/^==[0-9]*== Collected : \([0-9][0-9]*\)$/\1/p'
}

per_sig() {
	a=$(irefs "$1" "$2" "$k1")
	b=$(irefs "$1" "$2" "$k2")
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "run.sh: callgrind gave no count for $1 $2" >&2
		exit 1
	fi
	echo "$a $b $k1 $k2" | awk '{ printf "%.0f", ($2 - $1) / ($4 - $3) }'
}

# valgrind hides SHA-NI from OpenSSL, so both sides run its SSSE3/AVX2
# SHA-256 here: the floor counts more instructions than it runs natively.
printf '%-16s %12s %12s %10s  %s\n' case "sign instr" "floor instr" sign/floor "goal <= 1.4"
for c in $("$bench" --list); do
	s=$(per_sig "$c" sign)
	f=$(per_sig "$c" floor)
	echo "$c $s $f" | awk '{ r = $2 / $3; printf "%-16s %12d %12d %10.3f  %s\n", $1, $2, $3, r, r <= 1.4 ? "ok" : "MISS" }'
done
