"""bench/bind_probe.py — slapd CPU per password bind (the {ARGON2} check
alone): a harness slapd with the demo user, N binds per client thread with
ldapwhoami over ldapi, CONC client threads at once.

  CONC=2 python3 bench/bind_probe.py 100
"""
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("BUILD", "build")
from harness import TempDir  # noqa: E402
from ldap_harness import Slapd  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
CONC = int(os.environ.get("CONC", "2"))


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


tmp = TempDir(prefix="skm-bind-")
s = Slapd(tmp.path, demo=True)
s.start()
try:
    pid = s.pid()
    dn = "uid=demo,ou=people," + s.base
    pw = s.demo_password()

    def loop(n):
        for _ in range(n):
            subprocess.run(["ldapwhoami", "-x", "-H", s.ldapi, "-D", dn,
                            "-w", pw], stdout=subprocess.DEVNULL, check=True)

    loop(5)     # warm
    c0, t0 = cpu(pid), time.time()
    th = [threading.Thread(target=loop, args=(N,)) for _ in range(CONC)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    c1, t1 = cpu(pid), time.time()
    print("binds %d (%d at a time): %.1f/s, slapd CPU %.2f ms per bind"
          % (CONC * N, CONC, CONC * N / (t1 - t0),
             (c1 - c0) / (CONC * N) * 1000))
finally:
    s.stop()
    tmp.cleanup()
