"""bench/ab_login.py — a focused A/B of the password login (the before/after
figures in a closing note, where a full make bench takes an hour): bench.py's
login driver (8 browsers: authorize -> GET /login -> POST /login -> POST
/token, plain HTTP) against a harness slapd and brokerd, N rounds of D
seconds, each right after the libsodium argon2id rate with all cores hashing
(what slapd's skm_argon2.so computes).  Prints logins/s, the ratio to the
hash rate, and brokerd / slapd CPU per login.

  python3 bench/ab_login.py after
  AB_ROOT=/path/to/old/checkout BUILD=/path/to/old/checkout/build \\
      python3 bench/ab_login.py before
  AB_ROUNDS=5 AB_SECS=15 AB_CONC=8 python3 bench/ab_login.py x

Needs bench/out/bin/sodium_argon2_bench (make -C bench BUILD=build all, or
one make bench).
"""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("AB_ROOT", os.path.join(HERE, "..")))
os.environ.setdefault("BUILD", "build")
os.environ["BENCH_SRC"] = ROOT      # bench.py's harness imports follow it
sys.path.insert(0, HERE)
import bench  # noqa: E402

label = sys.argv[1] if len(sys.argv) > 1 else "run"
ROUNDS = int(os.environ.get("AB_ROUNDS", "3"))
SECS = int(os.environ.get("AB_SECS", "15"))
CONC = int(os.environ.get("AB_CONC", str(bench.LOGIN_CONC)))

with bench.login_stack("skm-abl-") as (sl, s):
    cl = bench.Client(s.b)
    bench.full_login(cl, s)     # warm
    cl.close()
    rows = []
    for rnd in range(ROUNDS):
        ref = bench.argon2_all_cores(impl="sodium")
        r = bench.login_run(s, SECS, 10 ** 6, CONC)
        row = (r["rps"], r["rps"] / ref, ref, r["cpu_us"] / 1000,
               r["slapd_cpu_us"] / 1000, r["errors"])
        rows.append(row)
        print("%s r%d %.1f logins/s = %.0f %% of %.1f argon2id/s (all "
              "cores); brokerd %.2f ms, slapd %.2f ms per login; errors %d"
              % ((label, rnd, row[0], 100 * row[1]) + row[2:]), flush=True)
    med = [statistics.median(c) for c in zip(*rows)]
    print("%s MEDIAN %.1f logins/s = %.0f %% of %.1f argon2id/s; brokerd "
          "%.2f ms, slapd %.2f ms per login"
          % (label, med[0], 100 * med[1], med[2], med[3], med[4]))
