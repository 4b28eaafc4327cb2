#!/bin/sh
# make test: build, unit tests, integration tests, the docs check, then the
# same tests under ASan+UBSan, and a short fuzzing smoke run.  Prints a
# closing "N passed, N failed" line for everything.
set -u
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
total_p=0
total_f=0
status=0

step() {
	name=$1
	shift
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	rc=$?
	# POSIX sh has no PIPESTATUS; re-check the closing line instead
	line=$(grep -E '^[a-z-]*:? ?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	p=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
	p=${p:-0}
	f=${f:-0}
	if [ -z "$line" ] || [ "$f" -ne 0 ] || ! tail -n 1 "$log" | grep -q "$line"; then
		[ "$f" -eq 0 ] && f=1
		status=1
		echo "=== $name: FAILED"
	fi
	total_p=$((total_p + p))
	total_f=$((total_f + f))
}

scripts/deps.sh || exit 1
if ! make -j2 all || ! make -j2 asan; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
step "unit tests" env BUILD=build scripts/unit.sh
step "integration tests" env BUILD=build python3 tests/integration/run.py
step "docs check" scripts/docs-check.sh
step "unit tests (ASan+UBSan)" env BUILD=build-asan scripts/unit.sh
step "integration tests (ASan+UBSan)" env BUILD=build-asan \
	python3 tests/integration/run.py
if [ -n "$(ls fuzz/fuzz_*.c 2>/dev/null)" ]; then
	# 60 s per target, two targets at a time on CI's two cores
	step "fuzz smoke (ASan+UBSan)" sh -c 'make -s fuzz && FUZZ_JOBS="${FUZZ_JOBS:-2}" scripts/fuzz.sh "${FUZZ_SECONDS:-60}"'
fi
echo "$total_p passed, $total_f failed"
exit $status
