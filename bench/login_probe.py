"""bench/login_probe.py — CPU per full password login, one at a time
(authorize -> login page -> POST /login -> code -> token, bench.py's
full_login), for brokerd and slapd.  With SEKIMORI_SLAPD_DEBUG=1 slapd
logs `stats`, and the operations of the measured logins are counted.

  python3 bench/login_probe.py 20
  SEKIMORI_SLAPD_DEBUG=1 python3 bench/login_probe.py 10
"""
import collections
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("BUILD", "build")
sys.path.insert(0, HERE)
import bench  # noqa: E402  (its harness imports follow $BUILD)

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
with bench.login_stack("skm-login-") as (sl, s):
    cl = bench.Client(s.b)
    bench.full_login(cl, s)     # warm
    log = os.path.join(sl.dir, "slapd.log")
    mark = os.path.getsize(log) if os.path.exists(log) else 0
    c0, b0 = bench.cpu_ticks([sl.pid()]), bench.cpu_ticks([s.pid])
    for _ in range(N):
        bench.full_login(cl, s)
    c1, b1 = bench.cpu_ticks([sl.pid()]), bench.cpu_ticks([s.pid])
    tck = os.sysconf("SC_CLK_TCK")
    print("slapd %.1f ms per login, brokerd %.1f ms per login"
          % ((c1 - c0) / tck / N * 1000, (b1 - b0) / tck / N * 1000))
    if os.path.exists(log):
        with open(log, errors="replace") as f:
            f.seek(mark)
            # one line per operation: slapd also logs "SRCH attr=",
            # "MOD attr=" and three lines per BIND, which are not counted
            ops = collections.Counter(re.findall(
                r" (SRCH base|ADD dn|MOD dn|DEL dn|BIND dn=\S+ method|CMP dn"
                r"|EXT oid|MODRDN dn)", f.read()))
            ops = {k.split()[0]: v for k, v in ops.items()}
        print("per login:", ", ".join("%s %.1f" % (k, v / N)
                                      for k, v in sorted(ops.items())))
