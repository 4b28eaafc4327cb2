#!/bin/sh
# Run every cmocka unit test binary in $BUILD/tests; print a closing
# "unit: N passed, N failed" line; exit non-zero on any failure.
set -u
build=${BUILD:-build}
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	"$t" >"$out" 2>&1
	rc=$?
	# cmocka prints its summary on stdout and stderr: match anywhere
	p=$(grep -o '\[  PASSED  \] [0-9]*' "$out" | tail -n 1 | grep -o '[0-9]*$')
	f=$(grep -o '\[  FAILED  \] [0-9]*' "$out" | tail -n 1 | grep -o '[0-9]*$')
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed or sanitizer report
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "--- $t FAILED (exit $rc):"
		cat "$out"
	else
		echo "ok   $(basename "$t"): $p"
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
