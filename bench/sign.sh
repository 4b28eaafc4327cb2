#!/bin/sh
# bench/sign.sh BUILD_DIR — signing a typical access token (tokens/) next
# to `openssl speed ecdsap256` in the same run, one core each; prints a
# Markdown section (appended to bench/RESULTS.md by bench/run.sh).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BIN="$HERE/out/bin/tok_sign_bench"
BUILD=$1
KD=$(mktemp -d)
trap 'rm -rf "$KD"' EXIT
chmod 700 "$KD"
"$BUILD/tests/tokctl_test" rotate "$KD/keys" ES256 >/dev/null
out=$("$BIN" "$KD/keys" 5)
speed=$(openssl speed -seconds 5 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $(NF-1)}')
kp=$(echo "$out" | awk '/mode=keyproc/ {sub("rate=","",$5); print $5}')
# the same, both processes on one CPU: no cross-CPU wake-up per sign
kp1=$(taskset -c 0 "$BIN" "$KD/keys" 5 | awk '/mode=keyproc/ {sub("rate=","",$5); print $5}')
lo=$(echo "$out" | awk '/mode=local/ {sub("rate=","",$5); print $5}')
echo
echo "## Signing a typical access token (tokens/, ES256, one core)"
echo
echo "| what | signs/s | of openssl speed |"
echo "|---|---|---|"
echo "| openssl speed ecdsap256 (the primitive) | ${speed} | 100 % |"
echo "| tok_jwt_sign, in-process signer | ${lo} | $(awk "BEGIN{printf \"%.0f\", 100*$lo/$speed}") % |"
echo "| tok_jwt_sign through the key process | ${kp} | $(awk "BEGIN{printf \"%.0f\", 100*$kp/$speed}") % |"
echo "| the same, both processes pinned to one CPU | ${kp1} | $(awk "BEGIN{printf \"%.0f\", 100*$kp1/$speed}") % |"
echo
echo "Command: \`bench/sign.sh $BUILD\` (bench/tok_sign_bench.c; the key"
echo "process keeps private keys out of the HTTP process: its cost is the"
echo "difference between the rows). One signer called in a loop pays a"
echo "cross-CPU wake-up per sign when the machine is idle; the pinned row"
echo "shows the cost of the key process itself."
