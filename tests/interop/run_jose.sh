#!/bin/sh
# tests/interop/run_jose.sh — tokens/ against the npm jose library.
#
#   (a) tokens signed by Sekimori (key process, tokctl_test sign) are
#       verified by jose for ES256, EdDSA, PS256, RS256;
#   (b) tokens signed by jose are verified by pep_verify (tokctl_test
#       verify) for ES256, EdDSA, Ed25519, PS256, RS256.
# Each positive check has a tampered twin that must be rejected.
#
# Usage: BUILD=build-tok tests/interop/run_jose.sh   (needs
# $BUILD/tests/tokctl_test).  Installs jose from package-lock.json unless
# node_modules is already there (works offline then).  The last line is
# "N passed, N failed"; the exit status is non-zero on any failure.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
TOKCTL=${TOKCTL:-$ROOT/$BUILD/tests/tokctl_test}
ISS=https://idp.example.com
AUD=https://api.example.com
pass=0
fail=0

ok()  { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }

if [ ! -x "$TOKCTL" ]; then
	echo "FAIL - $TOKCTL missing (make BUILD=$BUILD)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
command -v node >/dev/null 2>&1 || { echo "0 passed, 1 failed (no node)"; exit 1; }

cd "$HERE" || exit 1
if [ ! -f node_modules/jose/package.json ]; then
	npm ci --no-audit --no-fund >/dev/null 2>&1 ||
	    npm install --no-audit --no-fund >/dev/null 2>&1 ||
	    { echo "0 passed, 1 failed (npm install)"; exit 1; }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sekimori-interop.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

# Flip one character in the middle of the signature.
tamper() {
	printf '%s' "$1" | awk -F. '{
		s = $3; i = int(length(s) / 2);
		c = substr(s, i, 1); n = (c == "A") ? "B" : "A";
		printf "%s.%s.%s", $1, $2, substr(s, 1, i - 1) n substr(s, i + 1)
	}'
}

# (a) Sekimori signs, jose verifies.
for alg in ES256 EdDSA PS256 RS256; do
	d=$TMP/ks-$alg
	if ! "$TOKCTL" rotate "$d" "$alg" >/dev/null; then
		bad "sekimori->jose $alg: rotate"; continue
	fi
	"$TOKCTL" jwks "$d" >"$TMP/our-$alg.json" || { bad "sekimori->jose $alg: jwks"; continue; }
	tok=$("$TOKCTL" sign "$d" at+jwt \
	    "{\"iss\":\"$ISS\",\"aud\":\"$AUD\",\"sub\":\"alice\",\"client_id\":\"c1\",\"jti\":\"j-$alg\"}") ||
	    { bad "sekimori->jose $alg: sign"; continue; }
	if node interop.mjs verify "$TMP/our-$alg.json" "$tok" "$alg" "$ISS" "$AUD" >/dev/null; then
		ok "sekimori->jose $alg verifies"
	else
		bad "sekimori->jose $alg verifies"
	fi
	if node interop.mjs verify "$TMP/our-$alg.json" "$(tamper "$tok")" "$alg" "$ISS" "$AUD" >/dev/null 2>&1; then
		bad "sekimori->jose $alg tampered rejected"
	else
		ok "sekimori->jose $alg tampered rejected"
	fi
done

# (b) jose signs, Sekimori verifies.
for alg in ES256 EdDSA Ed25519 PS256 RS256; do
	d=$TMP/jose-$alg
	mkdir -p "$d"
	tok=$(node interop.mjs sign "$alg" "$d" "$ISS" "$AUD") ||
	    { bad "jose->sekimori $alg: jose sign"; continue; }
	if out=$("$TOKCTL" verify "$d/jwks.json" "$ISS" "$AUD" "$alg" "$tok"); then
		ok "jose->sekimori $alg verifies"
	else
		bad "jose->sekimori $alg verifies ($out)"
	fi
	if "$TOKCTL" verify "$d/jwks.json" "$ISS" "$AUD" "$alg" "$(tamper "$tok")" >/dev/null; then
		bad "jose->sekimori $alg tampered rejected"
	else
		ok "jose->sekimori $alg tampered rejected"
	fi
	# wrong audience must fail on our side too
	if "$TOKCTL" verify "$d/jwks.json" "$ISS" "https://other.example" "$alg" "$tok" >/dev/null; then
		bad "jose->sekimori $alg foreign aud rejected"
	else
		ok "jose->sekimori $alg foreign aud rejected"
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
