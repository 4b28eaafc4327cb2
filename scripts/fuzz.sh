#!/bin/sh
# Run every libFuzzer target for N seconds over its seed corpus (a copy, so
# the checked-in corpus is not grown by a smoke run).
#
#   scripts/fuzz.sh [SECONDS]     default 10
#   FUZZ_JOBS=2 scripts/fuzz.sh 60    two targets at a time (2 cores)
#
# make test runs 60 s per target under ASan+UBSan, two at a time; make
# fuzz-long runs FUZZ_LONG_SECONDS (600) per target.  A crash leaves its
# input in tests/out/fuzz/ and fails the run.
set -u
secs=${1:-10}
jobs=${FUZZ_JOBS:-1}
case "$jobs" in ''|*[!0-9]*|0) jobs=1 ;; esac
passed=0
failed=0
mkdir -p tests/out/fuzz
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

run_one() { # binary -> writes $results/NAME.{ok,fail,log}
	f=$1
	name=$(basename "$f")
	seeds=fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -R "$seeds"/. "$work"/
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=tests/out/fuzz/ \
		"$work" >"$results/$name.log" 2>&1; then
		: > "$results/$name.ok"
	else
		: > "$results/$name.fail"
	fi
	rm -rf "$work"
}

running=0
for f in build-fuzz/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	run_one "$f" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

for f in build-fuzz/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$results/$name.log" | tail -n 1)
	if [ -f "$results/$name.ok" ]; then
		passed=$((passed + 1))
		echo "ok   $name ($secs s, ${execs:-?} runs)"
	else
		failed=$((failed + 1))
		echo "--- $name FAILED:"
		tail -n 40 "$results/$name.log"
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
