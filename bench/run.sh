#!/bin/bash
# bench/run.sh — Sekimori benchmarks side by side with Glewlwyd and
# oidc-provider (what `make bench` runs).  Loopback only.
#
#   bench/run.sh            everything (~30-40 min on 2 cores)
#   BENCH_DUR=5 BENCH_ROUNDS=2 BENCH_SCALE=1000 bench/run.sh   a shorter run
#
# Steps: install the bench tools (Debian packages: wrk, glewlwyd, sqlite3,
# bc, curl, argon2 + libargon2-dev, strace, linux-perf; oidc-provider comes
# from npm through the peers' own script), build brokerd into $BUILD
# (default build-bench), build bench/out/bin/*, copy ../shared/bench to a
# temp dir (the peers' scripts write next to themselves), run bench.py,
# then report.py writes bench/RESULTS.md.  Raw output: bench/out/ (ignored
# by git).  See bench.py for the BENCH_* knobs; BENCH_REV=<rev> benchmarks
# a commit instead of the working tree; BENCH_BEFORE=<an earlier run's
# results.json> adds a before/after table to RESULTS.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-build-bench}
export BUILD
PEERS_SRC=${PEERS_SRC:-$TOP/../shared/bench}
OUT=$HERE/out

need=""
for c in wrk:wrk glewlwyd:glewlwyd sqlite3:sqlite3 bc:bc curl:curl \
    argon2:argon2 strace:strace perf:linux-perf node:nodejs npm:npm; do
	command -v "${c%%:*}" >/dev/null 2>&1 || need="$need ${c#*:}"
done
[ -f /usr/include/argon2.h ] || need="$need libargon2-dev"
if [ -n "$need" ]; then
	echo "bench: installing the benchmark tools (not project deps):$need"
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: need root for apt-get install$need" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi

# BENCH_REV=<rev>: benchmark that commit (a `git archive` snapshot in a
# temp dir) instead of the working tree, e.g. while the tree is mid-edit
SRC=$TOP
if [ -n "${BENCH_REV:-}" ]; then
	SRC=$(mktemp -d /tmp/skm-bench-src-XXXXXX)
	git -C "$TOP" archive "$BENCH_REV" | tar -x -C "$SRC"
	echo "bench: benchmarking $BENCH_REV ($(git -C "$TOP" rev-parse --short "$BENCH_REV")) from $SRC"
fi
export BENCH_SRC=$SRC
echo "bench: building brokerd into $SRC/$BUILD/"
# the tree may be edited concurrently: retry a failing build a few times
i=0
until make -C "$SRC" --no-print-directory BUILD="$BUILD" -j"$(nproc)" all; do
	i=$((i + 1))
	[ $i -lt 4 ] || { echo "bench: build failed" >&2; exit 1; }
	echo "bench: build failed, retrying in 30 s ($i/3)"
	sleep 30
done

mkdir -p "$OUT"
rm -rf "$OUT/raw"
PEERS=$(mktemp -d /tmp/skm-bench-peers-XXXXXX)
cleanup() {
	bash "$PEERS/99_stop.sh" >/dev/null 2>&1 || true
	rm -rf "$PEERS"
	[ "$SRC" = "$TOP" ] || rm -rf "$SRC"
}
trap cleanup EXIT INT TERM
if [ -d "$PEERS_SRC" ]; then
	cp -R "$PEERS_SRC/." "$PEERS/"
	chmod -R u+w "$PEERS"
	rm -rf "$PEERS/results" "$PEERS/glewlwyd" "$PEERS/node/server.pid"
else
	echo "bench: $PEERS_SRC not found: peers skipped"
	BENCH_PEERS=0
	export BENCH_PEERS
fi
make -C "$HERE" --no-print-directory BUILD="$BUILD" TOP="$SRC" \
	ARGON2_SRC="$PEERS/argon2_bench.c" all

python3 "$HERE/bench.py" "$OUT" "$PEERS" 2>&1 | tee "$OUT/bench.log"
python3 "$HERE/report.py" "$OUT/results.json" "$HERE/RESULTS.md" "$HERE/notes.md"
"$HERE/sign.sh" "$SRC/$BUILD" >> "$HERE/RESULTS.md"
echo "bench: wrote $HERE/RESULTS.md (raw output in $OUT/)"
