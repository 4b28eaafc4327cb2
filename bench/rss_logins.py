"""bench/rss_logins.py — the RSS-after-logins phase of bench.py alone:
brokerd on a harness slapd, N full password logins by 8 browsers (bench.py's
login_run), brokerd's RSS sampled along the way.  Writes
bench/out/rss_logins.json and prints the series.

  python3 bench/rss_logins.py 100000 2700      # logins, cap in seconds
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("BUILD", "build")
sys.path.insert(0, HERE)
import bench  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
SECS = int(sys.argv[2]) if len(sys.argv) > 2 else 2700
with bench.login_stack("skm-rss-") as (sl, s):
    time.sleep(1)
    r0 = bench.rss_kb(s.pid) / 1024
    r = bench.login_run(s, SECS, N, bench.LOGIN_CONC,
                        checkpoints=max(5, SECS // 12), tag=" (RSS run)")
    r["rss_start_mib"] = r0
    r["target_logins"] = N
    r["rev"] = bench.sh(["git", "-C", HERE, "rev-parse", "--short",
                         "HEAD"]).strip()
    r["data_mdb_kib"] = int(bench.sh(["du", "-k", os.path.join(
        sl.dir, "data", "data.mdb")]).split()[0])
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "rss_logins.json"), "w") as f:
        json.dump(r, f, indent=1)
    print(json.dumps({k: v for k, v in r.items() if k != "series"}))
    for x in r["series"]:
        print(x)
