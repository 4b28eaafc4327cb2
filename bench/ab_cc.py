"""bench/ab_cc.py — a focused A/B of one scenario (used for the before/after
figures in the closing note, where a full make bench takes too long):
client_credentials (client_secret_basic, keep-alive), plain HTTP
on loopback, wrk -t2 -c32 -d10s, N rounds; brokerd and slapd CPU per
request from /proc (brokerd with its key process, and slapd).

  BUILD=build python3 bench/ab_cc.py after
  AB_ROOT=/path/to/old/checkout BUILD=/path/to/old/checkout/build \\
      python3 bench/ab_cc.py before
  python3 bench/ab_cc.py t64 threads=64    # extra brokerd settings
  AB_ROUNDS=3 AB_CONNS=64 python3 bench/ab_cc.py c64
"""
import base64, json, os, re, subprocess, sys, tempfile, time
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("AB_ROOT", os.path.join(HERE, "..")))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("BUILD", "build")
from harness import Broker, TempDir
from ldap_harness import Slapd

def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def tree_cpu(pid):
    """brokerd and its key process (a child that signs)."""
    total = cpu(pid)
    kids = subprocess.run(["pgrep", "-P", str(pid)], stdout=subprocess.PIPE,
                          text=True).stdout.split()
    for k in kids:
        total += cpu(int(k))
    return total

def slapd_pid(s):
    return int(open(os.path.join(s.dir, "slapd.pid")).read().strip())

label = sys.argv[1]
ROUNDS = int(os.environ.get("AB_ROUNDS", "5"))
CONNS = os.environ.get("AB_CONNS", "32")
EXTRA = dict(a.split("=", 1) for a in sys.argv[2:])
tmp = TempDir(prefix="skm-ab-")
s = Slapd(tmp.path)
s.start()
b = Broker(os.path.join(tmp.path, "b"), s.env_lines(), tls=False,
           extra={"log_level": "warn", "webauthn_rp_id": "localhost",
                  "webauthn_origin": "http://localhost", **EXTRA})
try:
    b.start()
    sec = json.loads(b.ctl("--json", "client", "add", "svc", "--grant",
                           "client_credentials", "--scope", "api").stdout)[
                               "client_secret"]
    env = dict(os.environ, WRK_BODY="grant_type=client_credentials",
               WRK_BASIC="svc:" + sec)
    spid = slapd_pid(s)
    res = []
    for rnd in range(ROUNDS):
        c0, s0 = tree_cpu(b.proc.pid), cpu(spid)
        out = subprocess.run(["wrk", "-t2", "-c" + CONNS, "-d10s", "--latency",
                              "-s", os.path.join(HERE, "wrk", "post.lua"),
                              "http://127.0.0.1:%d/token" % b.port],
                             env=env, stdout=subprocess.PIPE, text=True).stdout
        c1, s1 = tree_cpu(b.proc.pid), cpu(spid)
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        p99ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
        n = rps * 10
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        res.append((rps, p99ms, (c1 - c0) / n * 1e6, (s1 - s0) / n * 1e6,
                    int(non2xx.group(1)) if non2xx else 0))
        print("%s r%d %.0f req/s p99 %.1f ms brokerd+keyproc %.0f us/req slapd %.0f us/req non2xx %d"
              % ((label, rnd) + res[-1]), flush=True)
    res.sort()
    m = res[len(res) // 2]
    print("%s MEDIAN %.0f req/s p99 %.1f ms brokerd %.0f us slapd %.0f us" % ((label,) + m[:4]))
finally:
    b.stop()
    s.stop()
    tmp.cleanup()
