#!/bin/sh
# Run every libFuzzer target for N seconds over its seed corpus (a copy, so
# the checked-in corpus is not grown by a smoke run).
set -u
secs=${1:-10}
passed=0
failed=0
for f in build-fuzz/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	seeds=fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -R "$seeds"/. "$work"/
	mkdir -p tests/out/fuzz
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=0 -artifact_prefix=tests/out/fuzz/ \
		"$work" >"$work.log" 2>&1; then
		passed=$((passed + 1))
		echo "ok   $name ($secs s)"
	else
		failed=$((failed + 1))
		echo "--- $name FAILED:"
		tail -n 40 "$work.log"
	fi
	rm -rf "$work" "$work.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
