#!/usr/bin/env python3
"""Sekimori benchmarks side by side with peers (Glewlwyd, oidc-provider).

Run through bench/run.sh (make bench), which installs the tools, builds
brokerd into $BUILD (default build-bench), copies ../shared/bench into a
temp dir (PEERS) and then calls:  bench.py OUT_DIR PEERS_DIR

Everything runs on 127.0.0.1 only.  Every loop is bounded in count and time.
Results go to OUT_DIR/results.json (rendered by report.py) and raw outputs
to OUT_DIR/raw/.  Environment knobs (defaults in brackets):
  BENCH_DUR [10]      seconds per wrk run      BENCH_ROUNDS [3]
  BENCH_THREADS [2]   wrk threads              BENCH_CONNS [32]
  BENCH_LOGINS [100000] logins for the RSS test, capped by
  BENCH_LOGIN_SECS [240] seconds               BENCH_LOGIN_CONC [8]
  BENCH_SCALE [1000,10000,100000] users + clients in the directory
  BENCH_PEERS [1]     0 skips Glewlwyd / oidc-provider
  BENCH_PROFILE [1]   perf profiles + what-if runs of the broker
"""
import base64
import contextlib
import hashlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("BUILD", "build-bench")
BUILD = os.environ["BUILD"]
# BENCH_SRC: the source tree under test (run.sh sets it to a `git archive`
# snapshot when BENCH_REV is given); its harness, scripts and build are used
SRC = os.path.abspath(os.environ.get("BENCH_SRC", ROOT))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
import harness  # noqa: E402  (reads $BUILD at import)
from ldap_harness import Slapd  # noqa: E402

DUR = int(os.environ.get("BENCH_DUR", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CC_ROUNDS = int(os.environ.get("BENCH_CC_ROUNDS", str(max(ROUNDS, 3))))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONNS = int(os.environ.get("BENCH_CONNS", "32"))
LOGINS = int(os.environ.get("BENCH_LOGINS", "100000"))
LOGIN_SECS = int(os.environ.get("BENCH_LOGIN_SECS", "240"))
LOGIN_CONC = int(os.environ.get("BENCH_LOGIN_CONC", "8"))
SCALE = [int(x) for x in os.environ.get(
    "BENCH_SCALE", "1000,10000,100000").split(",") if x]
PEERS_ON = os.environ.get("BENCH_PEERS", "1") == "1"
PROFILE = os.environ.get("BENCH_PROFILE", "1") == "1"
HZ = os.sysconf("SC_CLK_TCK")
RP_CB = "https://rp.example.test/cb"
BIN = os.path.join(HERE, "out", "bin")
WRK = os.path.join(HERE, "wrk")
CC_BODY = "grant_type=client_credentials&scope=bench"
GLWD_PORT = 4593
NODE_PORT = 4594

OUT = None
RAW = None
RES = {"rows": [], "meta": {}, "notes": [], "series": {}}


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, flush=True)


def save():
    with open(os.path.join(OUT, "results.json.tmp"), "w") as f:
        json.dump(RES, f, indent=1)
    os.replace(os.path.join(OUT, "results.json.tmp"),
               os.path.join(OUT, "results.json"))


def sh(cmd, timeout=600, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: rc %d\n%s" % (cmd, p.returncode, p.stdout))
    return p.stdout


# --- /proc sampling ---------------------------------------------------------

def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            ppid = int(st.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def tree(pid):
    return [pid] + children(pid)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid):
    return sum(rss_kb(p) for p in tree(pid))


def cpu_ticks(pids):
    t = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                v = f.read().rsplit(")", 1)[1].split()
            t += int(v[11]) + int(v[12])
        except (OSError, IndexError, ValueError):
            pass
    return t


class Sampler(threading.Thread):
    """Peak RSS (KiB) of a process tree, every 0.25 s, bounded."""

    def __init__(self, pid, max_secs=3600):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop_ = pid, 0, threading.Event()
        self.max_secs = max_secs

    def run(self):
        t0 = time.time()
        while not self.stop_.is_set() and time.time() - t0 < self.max_secs:
            self.peak = max(self.peak, tree_rss_kb(self.pid))
            self.stop_.wait(0.25)

    def finish(self):
        self.stop_.set()
        self.join(2)
        return self.peak


# --- wrk --------------------------------------------------------------------

def parse_result(text):
    m = re.search(r"^RESULT (.*)$", text, re.M)
    if not m:
        return None
    d = {}
    for kv in m.group(1).split():
        k, v = kv.split("=", 1)
        d[k] = float(v)
    return d


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def quiesce(pids, max_secs=90):
    """Wait until the given processes use < 5 % of a core (a slow peer may
    still be working off requests queued before wrk stopped), at most
    max_secs; returns the seconds waited."""
    t0 = time.time()
    while time.time() - t0 < max_secs:
        a = cpu_ticks(pids)
        time.sleep(0.5)
        if (cpu_ticks(pids) - a) / HZ < 0.025:
            break
    return time.time() - t0


def wrk_once(scen, impl, url, pid, script="post.lua", env=None, rnd=0,
             slapd_pid=None, dur=None, threads=None, conns=None, extra=None):
    dur = dur or DUR
    threads = threads or THREADS
    conns = conns or CONNS
    e = dict(os.environ)
    e.update(env or {})
    e["WRK_THREADS"] = str(threads)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % dur,
           "--timeout", "10s", "--latency", "-s", os.path.join(WRK, script),
           url]
    srv = tree(pid)
    quiesce(srv + ([slapd_pid] if slapd_pid else []), 30)
    la = loadavg()
    smp = Sampler(pid)
    rss0 = tree_rss_kb(pid)
    c0 = cpu_ticks(srv)
    s0 = cpu_ticks([slapd_pid]) if slapd_pid else 0
    smp.start()
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=e, timeout=dur + 60)
    wall = time.time() - t0
    peak = smp.finish()
    c1 = cpu_ticks(srv)
    s1 = cpu_ticks([slapd_pid]) if slapd_pid else 0
    backlog = quiesce(srv + ([slapd_pid] if slapd_pid else []))
    name = "%s.%s.r%d" % (scen, impl, rnd)
    with open(os.path.join(RAW, name + ".txt"), "w") as f:
        f.write("$ " + " ".join(cmd) + "\n" + p.stdout)
        f.write("\nserver pids %s cpu_ticks %d slapd_ticks %d\n"
                % (srv, c1 - c0, s1 - s0))
    r = parse_result(p.stdout)
    if r is None:
        log("wrk failed for", name, p.stdout[-500:])
        return None
    req = max(r["requests"], 1)
    row = {"scen": scen, "impl": impl, "round": rnd, "url": url,
           "rps": r["rps"], "p50": r["p50_ms"], "p99": r["p99_ms"],
           "requests": r["requests"], "non2xx": r["non2xx"],
           "sockerr": r["sockerr"], "secs": r["secs"], "wall": wall,
           "cpu_us": 1e6 * (c1 - c0) / HZ / req,
           "cores": (c1 - c0) / HZ / r["secs"],
           "rss0_mib": rss0 / 1024, "rss_peak_mib": peak / 1024,
           "loadavg_before": la, "backlog_secs": backlog,
           "cmd": " ".join(cmd)}
    if slapd_pid:
        row["slapd_cpu_us"] = 1e6 * (s1 - s0) / HZ / req
    if extra:
        row.update(extra)
    RES["rows"].append(row)
    log("%-28s %-22s r%d %8.1f req/s p50 %6.2f p99 %7.2f ms cpu %6.0f us"
        "%s non2xx %d rss %.1f MiB" % (
            scen, impl, rnd, row["rps"], row["p50"], row["p99"],
            row["cpu_us"], (" (+slapd %.0f)" % row["slapd_cpu_us"])
            if slapd_pid else "", row["non2xx"], row["rss_peak_mib"]))
    save()
    return row


# --- Sekimori ---------------------------------------------------------------

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def basic(cid, secret):
    raw = "%s:%s" % (urllib.parse.quote(cid, safe=""),
                     urllib.parse.quote(secret, safe=""))
    return base64.b64encode(raw.encode()).decode()


class Client:
    """A browser with its own cookie jar and one keep-alive connection."""

    def __init__(self, broker):
        self.b, self.cookies, self.c = broker, {}, None

    def conn(self):
        if self.c is None:
            self.c = self.b.connection(timeout=30)
        return self.c

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def req(self, method, path, form=None, headers=None):
        h = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        for attempt in (0, 1):
            try:
                c = self.conn()
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raw = r.getheaders()
        for k, v in raw:
            if k.lower() == "set-cookie":
                name, _, value = v.split(";", 1)[0].partition("=")
                if value == "" or "max-age=0" in v.lower():
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        if (r.getheader("Connection") or "").lower() == "close":
            self.close()
        return r.status, {k.lower(): v for k, v in raw}, data


def pkce():
    v = b64url(secrets.token_bytes(32))
    return v, b64url(hashlib.sha256(v.encode()).digest())


def authorize(cl):
    v, ch = pkce()
    q = {"response_type": "code", "client_id": "rp1", "redirect_uri": RP_CB,
         "scope": "openid profile", "state": secrets.token_hex(4),
         "nonce": secrets.token_hex(4), "code_challenge": ch,
         "code_challenge_method": "S256"}
    st, h, _ = cl.req("GET", "/authorize?" + urllib.parse.urlencode(q))
    if st != 303:
        raise RuntimeError("authorize: %d" % st)
    return h["location"], v


def code_of(loc):
    p = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
    return p["code"][0]


def redeem(cl, sk, code, v):
    st, h, data = cl.req(
        "POST", "/token", form={"grant_type": "authorization_code",
                                "code": code, "redirect_uri": RP_CB,
                                "code_verifier": v},
        headers={"Authorization": "Basic " + basic("rp1", sk.rp_secret)})
    if st != 200:
        raise RuntimeError("token: %d %s" % (st, data[:200]))
    return json.loads(data)


def full_login(cl, sk):
    """authorize -> login page -> POST /login -> code -> token.
    Returns (tokens, seconds of the POST /login alone)."""
    cl.cookies.clear()
    loc, v = authorize(cl)
    if not loc.startswith("/login?"):
        raise RuntimeError("expected the login form, got %s" % loc)
    st, h, page = cl.req("GET", loc)
    html = page.decode()
    tx = re.search(r'name="tx" value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    t0 = time.time()
    st, h, data = cl.req("POST", "/login", form={
        "tx": tx, "csrf": csrf, "username": "demo", "password": sk.demo_pw})
    tl = time.time() - t0
    if st != 303:
        raise RuntimeError("login: %d %s" % (st, data[:300]))
    return redeem(cl, sk, code_of(h["location"]), v), tl


def sso_tokens(cl, sk):
    """A new code + tokens on an existing session (no password)."""
    loc, v = authorize(cl)
    if loc.startswith("/login?"):
        raise RuntimeError("no SSO session")
    return redeem(cl, sk, code_of(loc), v)


class Sek:
    """One brokerd (plain HTTP or TLS) on the shared slapd."""

    def __init__(self, tmp, slapd, tls, name, extra=None):
        conf = {"log_level": "info", "drain_timeout": "5"}
        conf.update(extra or {})
        self.name = name
        self.b = harness.Broker(os.path.join(tmp, name), slapd.env_lines(),
                                extra=conf, tls=tls)
        self.scheme = "https" if tls else "http"
        self.url = "%s://127.0.0.1:%d" % (self.scheme, self.b.port)
        # Since c574990 the IdP has WebAuthn and refuses an IP address as
        # its RP ID (the default is the issuer's host): give it localhost
        # where the tree knows the key (unused by the benchmark otherwise).
        try:
            with open(os.path.join(SRC, "docs", "configuration.md")) as f:
                has_wa = "`webauthn_rp_id`" in f.read()
        except OSError:
            has_wa = False
        if has_wa and "webauthn_rp_id" not in conf:
            with open(self.b.conf, "a") as f:
                f.write("webauthn_rp_id = localhost\n"
                        "webauthn_origin = %s://localhost:%d\n"
                        % (self.scheme, self.b.port))
        self.slapd = slapd
        self.demo_pw = slapd.demo_password()

    def start(self):
        self.b.start()
        return self

    def stop(self):
        return self.b.stop()

    @property
    def pid(self):
        return self.b.proc.pid

    def token(self, form, auth):
        st, h, data = Client(self.b).req(
            "POST", "/token", form=form,
            headers={"Authorization": "Basic " + auth})
        if st != 200:
            raise RuntimeError("token %d %s" % (st, data[:300]))
        return json.loads(data)


@contextlib.contextmanager
def login_stack(prefix):
    """A harness slapd with the demo user, one plain-HTTP brokerd on it and
    the relying party rp1 for full_login(): the one-scenario probes' common
    set-up.  Yields (slapd, Sek); stops both and removes the temp dir."""
    tmp = harness.TempDir(prefix=prefix)
    sl = Slapd(tmp.path, demo=True)
    sl.start()
    s = None
    try:
        s = Sek(tmp.path, sl, False, "plain").start()
        out = s.b.ctl("--json", "client", "add", "rp1", "--redirect-uri",
                      RP_CB, "--name", "RP").stdout
        s.rp_secret = json.loads(out)["client_secret"]
        yield sl, s
    finally:
        if s is not None:
            s.stop()
        sl.stop()
        tmp.cleanup()


# --- scenarios --------------------------------------------------------------

def rounds_interleaved(scen, targets, rounds=None):
    """targets: list of (impl, url, pid, script, env_fn or dict, slapd_pid).
    Round-robin: impl A r0, impl B r0, ..., A r1, ..."""
    for rnd in range(rounds or ROUNDS):
        for impl, url, pid, script, env, spid in targets:
            e = env(rnd) if callable(env) else env
            if e is None:
                continue
            wrk_once(scen, impl, url, pid, script, e, rnd, spid)


def machine():
    m = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                m["cpu"] = line.split(":", 1)[1].strip()
                break
    m["cores"] = os.cpu_count()
    with open("/proc/meminfo") as f:
        m["mem_gib"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    m["kernel"] = platform.release()
    try:
        with open("/etc/debian_version") as f:
            m["debian"] = f.read().strip()
    except OSError:
        pass
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    m["sha_ni"] = " sha_ni" in flags
    m["hypervisor"] = " hypervisor" in flags
    m["openssl"] = sh(["openssl", "version"]).strip()
    m["wrk"] = sh(["wrk", "-v"], check=False).splitlines()[0].strip()
    m["python"] = platform.python_version()
    try:
        m["node"] = sh(["node", "--version"]).strip()
    except Exception:
        pass
    try:
        m["glewlwyd"] = sh(["dpkg-query", "-W", "-f", "${Version}",
                            "glewlwyd"]).strip()
        m["slapd"] = sh(["dpkg-query", "-W", "-f", "${Version}",
                         "slapd"]).strip()
    except Exception:
        pass
    try:
        rev = os.environ.get("BENCH_REV") or "HEAD"
        m["git"] = sh(["git", "-C", ROOT, "rev-parse", "--short",
                       rev]).strip()
        m["bench_rev"] = os.environ.get("BENCH_REV") or ""
        m["git_dirty"] = not os.environ.get("BENCH_REV") and bool(sh(
            ["git", "-C", ROOT, "status", "--porcelain",
             "--untracked-files=no"]).strip())
    except Exception:
        pass
    return m


def limits():
    """openssl speed (ES256 verify/sign per core) and the argon2id rate."""
    sp = []
    for i in range(2):
        o = sh(["openssl", "speed", "-seconds", "3", "ecdsap256"], timeout=120)
        with open(os.path.join(RAW, "openssl_speed.%d.txt" % i), "w") as f:
            f.write(o)
        m = re.search(r"^ 256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)"
                      r"\s+([\d.]+)", o, re.M)
        if m:
            sp.append((float(m.group(1)), float(m.group(2))))
    RES["meta"]["openssl_speed"] = {
        "es256_sign": statistics.median(s for s, v in sp),
        "es256_verify": statistics.median(v for s, v in sp),
        "runs_verify": [v for s, v in sp]}
    log("openssl speed ecdsap256:", RES["meta"]["openssl_speed"])
    a1, a2 = [], []
    ab = os.path.join(BIN, "argon2_bench")
    for i in range(2):
        o = sh([ab, "19456", "2", "1", "5"], timeout=60)
        a1.append(float(re.search(r"= ([\d.]+) hashes/s", o).group(1)))
    # two at once: what two cores give (slapd verifies on several threads)
    procs = [subprocess.Popen([ab, "19456", "2", "1", "5"],
                              stdout=subprocess.PIPE, text=True)
             for _ in range(os.cpu_count() or 2)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    a2 = sum(float(re.search(r"= ([\d.]+) hashes/s", o).group(1))
             for o in outs)
    with open(os.path.join(RAW, "argon2.txt"), "w") as f:
        f.write("one thread: %s\nall cores at once: %s\n%s" % (
            a1, a2, "".join(outs)))
    RES["meta"]["argon2"] = {"one_thread": statistics.median(a1),
                             "all_cores": a2, "runs_one": a1}
    log("argon2id m=19456 t=2 p=1:", RES["meta"]["argon2"])
    # libsodium: what slapd computes through our skm_argon2.so
    s1 = []
    sb = os.path.join(BIN, "sodium_argon2_bench")
    for i in range(2):
        o = sh([sb, "19456", "2", "1", "5"], timeout=60)
        s1.append(float(re.search(r"= ([\d.]+) hashes/s", o).group(1)))
    s2 = argon2_all_cores(impl="sodium")
    RES["meta"]["argon2_sodium"] = {"one_thread": statistics.median(s1),
                                    "all_cores": s2, "runs_one": s1}
    log("argon2id (libsodium) m=19456 t=2 p=1:",
        RES["meta"]["argon2_sodium"])
    save()


def startup_and_idle(sk, rounds=5):
    """Time from exec to the first 200 on /readyz; RSS idle after 2 s."""
    ts, rss, rss_tree = [], [], []
    for i in range(rounds):
        sk.stop()
        env = dict(os.environ)
        out = open(os.path.join(sk.b.dir, "startup.out"), "ab")
        t0 = time.perf_counter()
        p = subprocess.Popen([os.path.join(harness.BUILD, "brokerd"), "-c",
                              sk.b.conf], stdout=out, stderr=out, env=env)
        ready = None
        while time.perf_counter() - t0 < 10 and p.poll() is None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", sk.b.port,
                                               timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    ready = time.perf_counter() - t0
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            time.sleep(0.002)
        time.sleep(2)
        ts.append(ready)
        rss.append(rss_kb(p.pid) / 1024)
        rss_tree.append(tree_rss_kb(p.pid) / 1024)
        p.send_signal(signal.SIGTERM)
        p.wait(20)
        out.close()
    RES["meta"]["startup"] = {"ready_ms": [t * 1000 if t else None
                                           for t in ts],
                              "rss_idle_mib": rss,
                              "rss_idle_tree_mib": rss_tree}
    log("startup:", RES["meta"]["startup"])
    sk.start()
    save()


def login_run(sk, secs, max_logins, conc, checkpoints=None, tag=""):
    """conc browsers doing full logins until secs or max_logins."""
    lock = threading.Lock()
    state = {"n": 0, "err": 0, "lat": [], "lat_login": [], "errs": []}
    deadline = time.time() + secs
    series = []

    def worker():
        cl = Client(sk.b)
        while time.time() < deadline:
            with lock:
                if state["n"] + state["err"] >= max_logins:
                    break
            t0 = time.time()
            try:
                tok, tl = full_login(cl, sk)
                ok = "access_token" in tok
            except Exception as e:  # counted, first few kept
                ok = False
                with lock:
                    if len(state["errs"]) < 5:
                        state["errs"].append(repr(e)[:300])
                cl.close()
            dt = time.time() - t0
            with lock:
                if ok:
                    state["n"] += 1
                    if len(state["lat"]) < 200000:
                        state["lat"].append(dt)
                        state["lat_login"].append(tl)
                else:
                    state["err"] += 1
        cl.close()

    pid = sk.pid
    srv = tree(pid)
    c0, s0 = cpu_ticks(srv), cpu_ticks([sk.slapd.pid()])
    smp = Sampler(pid)
    smp.start()
    t0 = time.time()
    ths = [threading.Thread(target=worker, daemon=True) for _ in range(conc)]
    for t in ths:
        t.start()
    nextcp = time.time() + (checkpoints or 1e9)
    while any(t.is_alive() for t in ths):
        time.sleep(0.2)
        if checkpoints and time.time() >= nextcp:
            nextcp += checkpoints
            series.append({"t": round(time.time() - t0, 1),
                           "logins": state["n"],
                           "rss_mib": rss_kb(pid) / 1024,
                           "rss_tree_mib": tree_rss_kb(pid) / 1024})
    for t in ths:
        t.join(5)
    wall = time.time() - t0
    c1, s1 = cpu_ticks(srv), cpu_ticks([sk.slapd.pid()])
    peak = smp.finish()
    n = max(state["n"], 1)
    lat = sorted(state["lat"]) or [0]
    ll = sorted(state["lat_login"]) or [0]
    pct = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
    res = {"logins": state["n"], "errors": state["err"], "wall": wall,
           "rps": state["n"] / wall, "p50": 1000 * pct(lat, .5),
           "p99": 1000 * pct(lat, .99), "login_post_p50": 1000 * pct(ll, .5),
           "login_post_p99": 1000 * pct(ll, .99),
           "cpu_us": 1e6 * (c1 - c0) / HZ / n,
           "slapd_cpu_us": 1e6 * (s1 - s0) / HZ / n,
           "rss_peak_mib": peak / 1024, "rss_end_mib": rss_kb(pid) / 1024,
           "rss_end_tree_mib": tree_rss_kb(pid) / 1024,
           "first_errors": state["errs"], "series": series}
    log("logins%s: %d in %.1fs = %.1f/s p50 %.0f p99 %.0f ms, cpu %.0f us "
        "+slapd %.0f us, errors %d %s" % (
            tag, state["n"], wall, res["rps"], res["p50"], res["p99"],
            res["cpu_us"], res["slapd_cpu_us"], state["err"],
            state["errs"][:1]))
    return res


def argon2_all_cores(secs=5, impl="libargon2"):
    """hashes/s with one process per core at once: libargon2 (the peers'
    reference loop, ../shared/bench/argon2_bench.c) or libsodium (ours)."""
    ab = os.path.join(BIN, "argon2_bench" if impl == "libargon2"
                      else "sodium_argon2_bench")
    procs = [subprocess.Popen([ab, "19456", "2", "1", str(secs)],
                              stdout=subprocess.PIPE, text=True)
             for _ in range(os.cpu_count() or 2)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    return sum(float(re.search(r"= ([\d.]+) hashes/s", o).group(1))
               for o in outs)


def logins_bench(sk, impl):
    for rnd in range(ROUNDS):
        ref = argon2_all_cores()
        sref = argon2_all_cores(impl="sodium")
        log("argon2id all cores right before the login round: libargon2 "
            "%.1f/s, libsodium %.1f/s" % (ref, sref))
        r = login_run(sk, DUR, 10 ** 6, LOGIN_CONC, tag=" " + impl)
        row = {"scen": "login", "impl": impl, "round": rnd,
               "rps": r["rps"], "p50": r["p50"], "p99": r["p99"],
               "requests": r["logins"], "non2xx": r["errors"],
               "sockerr": 0, "secs": r["wall"], "cpu_us": r["cpu_us"],
               "slapd_cpu_us": r["slapd_cpu_us"],
               "cores": r["cpu_us"] * r["rps"] / 1e6,
               "rss_peak_mib": r["rss_peak_mib"],
               "argon2_all_cores": ref,
               "sodium_all_cores": sref,
               "login_post_p50": r["login_post_p50"],
               "login_post_p99": r["login_post_p99"],
               "cmd": "bench.py login_run: %d browsers, %d s, authorize -> "
                      "GET /login -> POST /login -> POST /token"
                      % (LOGIN_CONC, DUR)}
        RES["rows"].append(row)
        save()
        time.sleep(1)


def refresh_pool(sk, n):
    """n refresh tokens, each its own family (one login, then SSO)."""
    cl = Client(sk.b)
    full_login(cl, sk)
    out = []
    for _ in range(n):
        out.append(sso_tokens(cl, sk)["refresh_token"])
    cl.close()
    return out


def write_lines(name, lines):
    path = os.path.join(RAW, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def sek_scenarios(sks, slapd_pid, peers):
    """sks: {"sekimori-http": Sek, "sekimori-https": Sek}."""
    cc_auth = basic("bench", sks["sekimori-http"].bench_secret)
    cc_env = {"WRK_BODY": CC_BODY,
              "WRK_BASIC": "bench:" + sks["sekimori-http"].bench_secret}
    # 1. client_credentials, keep-alive: Sekimori and peers in turn
    tg = [(k, s.url + "/token", s.pid, "post.lua", cc_env, slapd_pid)
          for k, s in sks.items()]
    tg += [(k, url, pid, "post.lua", env, None)
           for k, (url, pid, env) in peers.items()]
    log("== client_credentials keep-alive")
    rounds_interleaved("cc_keepalive", tg, CC_ROUNDS)
    # 2. new connection per request
    log("== client_credentials, new connection per request")
    ce = dict(cc_env, WRK_CLOSE="1")
    tg = [(k, s.url + "/token", s.pid, "post.lua", ce, slapd_pid)
          for k, s in sks.items()]
    tg += [(k, url, pid, "post.lua", dict(env, WRK_CLOSE="1"), None)
           for k, (url, pid, env) in peers.items() if k.startswith("oidc")]
    rounds_interleaved("cc_newconn", tg)
    # 3. private_key_jwt (RPA)
    log("== private_key_jwt")
    n_assert = 4000 * DUR  # more than any run completes
    def pk_env(s):
        def f(rnd):
            lines = sh([os.path.join(BIN, "jwt_assert"), "sign",
                        RES["meta"]["rpa_key"], "robot", s.url, str(n_assert),
                        "280"], timeout=300).split()
            path = write_lines("assertions.%s.txt" % s.scheme,
                               lines)
            return {"WRK_LINES": path, "WRK_PREFIX":
                    "grant_type=client_credentials&client_assertion_type="
                    "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3A"
                    "jwt-bearer&client_assertion="}
        return f
    tg = [(k, s.url + "/token", s.pid, "lines.lua", pk_env(s), slapd_pid)
          for k, s in sks.items()]
    rounds_interleaved("pkjwt", tg)
    # 4. refresh-token grant with rotation
    log("== refresh_token")
    def rt_env(s):
        def f(rnd):
            return {"WRK_LINES": write_lines("rt.%s.txt" % s.scheme,
                                             refresh_pool(s, 2 * CONNS)),
                    "WRK_BASIC": basic("rp1", s.rp_secret)}
        return f
    tg = [(k, s.url + "/token", s.pid, "refresh.lua", rt_env(s), slapd_pid)
          for k, s in sks.items()]
    rounds_interleaved("refresh", tg)
    # 5. introspection of a user's access token by its client
    log("== introspection")
    def in_env(s):
        def f(rnd):
            cl = Client(s.b)
            at = full_login(cl, s)[0]["access_token"]
            cl.close()
            return {"WRK_BODY": "token=" + at,
                    "WRK_BASIC": "rp1:" + s.rp_secret}
        return f
    tg = [(k, s.url + "/introspect", s.pid, "post.lua", in_env(s), slapd_pid)
          for k, s in sks.items()]
    rounds_interleaved("introspect", tg)
    # 6. forward-auth with a user's bearer token, if the endpoint exists
    FA_HDRS = {"X-Forwarded-Host": "app.example.test",
               "X-Original-URI": "/reports/1"}
    s = sks["sekimori-http"]
    cl = Client(s.b)
    at = full_login(cl, s)[0]["access_token"]
    cl.close()
    st, h, body = Client(s.b).req("GET", "/forward-auth", headers=dict(
        FA_HDRS, Authorization="Bearer " + at))
    RES["meta"]["forward_auth_probe"] = st
    RES["meta"]["forward_auth_probe_body"] = body[:300].decode("utf-8",
                                                                "replace")
    log("forward-auth probe:", st, body[:200])
    if st == 404:
        RES["notes"].append("forward-auth: `GET /forward-auth` with a bearer "
                            "token answered 404 (no such route at %s): row "
                            "skipped." % RES["meta"].get("git", "?"))
    else:
        def fa_env(s):
            def f(rnd):
                c = Client(s.b)
                tok = full_login(c, s)[0]["access_token"]
                c.close()
                return {"WRK_METHOD": "GET", "WRK_BEARER": tok,
                        "WRK_HEADERS": "|".join("%s: %s" % kv
                                                for kv in FA_HDRS.items())}
            return f
        tg = [(k, s.url + "/forward-auth", s.pid, "post.lua", fa_env(s),
               slapd_pid) for k, s in sks.items()]
        rounds_interleaved("forward_auth", tg)
    save()


# --- PEP --------------------------------------------------------------------

def openssl_verify_rate():
    """ES256 verifies per CPU-second by `openssl speed`, one core."""
    o = sh(["openssl", "speed", "-seconds", "3", "ecdsap256"], timeout=120)
    m = re.search(r"^ 256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)"
                  r"\s+([\d.]+)", o, re.M)
    return float(m.group(2)) if m else None


def pep_rounds(jf, iss, aud, tf, now, rounds):
    """pep_bench rounds, each one-thread round right after its own `openssl
    speed` (this VM's speed drifts by ±10 % within minutes, so a ratio to a
    reference measured earlier in the run says little), then one round with
    2 threads.  Returns RES["meta"]["pep"]."""
    runs = {1: [], 2: []}
    paired = []
    for nth in (1, 2):
        for rnd in range(rounds if nth == 1 else 1):
            ref = openssl_verify_rate() if nth == 1 else None
            cmd = [os.path.join(BIN, "pep_bench"), jf, iss, aud, tf, now,
                   "5", str(nth)]
            o = sh(cmd, timeout=60)
            with open(os.path.join(RAW, "pep.t%d.r%d.txt" % (nth, rnd)),
                      "w") as f:
                f.write("$ " + " ".join(cmd) + "\n" + o)
            r = parse_result(o)
            runs[nth].append(r)
            if ref:
                paired.append((ref, r["per_cpu_s"]))
    return {
        "one_thread_rate": statistics.median(r["rate"] for r in runs[1]),
        "one_thread_per_cpu_s": statistics.median(r["per_cpu_s"]
                                                  for r in runs[1]),
        "us_per_verify": statistics.median(r["us_per_verify_cpu"]
                                           for r in runs[1]),
        "two_threads_rate": runs[2][0]["rate"],
        "runs": [r["rate"] for r in runs[1]],
        "openssl_paired": [p[0] for p in paired],
        "ratio_paired": statistics.median(v / o for o, v in paired)
        if paired else None,
        "cmd": "bench/out/bin/pep_bench JWKS ISSUER AUD TOKEN NOW 5 THREADS"}


def pep_bench(sk):
    st, h, jwks = Client(sk.b).req("GET", "/jwks.json")
    jf = os.path.join(RAW, "jwks.json")
    with open(jf, "wb") as f:
        f.write(jwks)
    at = sk.token({"grant_type": "client_credentials", "scope": "bench"},
                  basic("bench", sk.bench_secret))["access_token"]
    tf = os.path.join(RAW, "pep_token.txt")
    with open(tf, "w") as f:
        f.write(at)
    claims = json.loads(base64.urlsafe_b64decode(
        at.split(".")[1] + "=" * (-len(at.split(".")[1]) % 4)))
    aud = claims["aud"] if isinstance(claims["aud"], str) else \
        claims["aud"][0]
    RES["meta"]["pep"] = pep_rounds(jf, sk.b.issuer, aud, tf,
                                    str(claims["iat"] + 1), max(ROUNDS, 3))
    RES["meta"]["pep"]["token_bytes"] = len(at)
    log("pep:", RES["meta"]["pep"])
    save()


# --- scale ------------------------------------------------------------------

def ldif_entries(lo, hi, secret_hash, base):
    out = []
    for i in range(lo, hi):
        out.append("""dn: uid=bu%06d,ou=people,%s
objectClass: inetOrgPerson
objectClass: skmAccount
objectClass: skmStaff
uid: bu%06d
cn: Bench User %d
sn: User%d
givenName: Bench
displayName: Bench User %d
mail: bu%06d@example.test
skmAccountStatus: active
skmAffiliation: staff

dn: cn=bc%06d,ou=clients,%s
objectClass: applicationProcess
objectClass: skmOAuthClient
cn: bc%06d
skmClientId: bc%06d
description: Bench client %d
skmAccountStatus: active
skmTokenEndpointAuthMethod: client_secret_basic
skmCreatedAt: 20260101000000Z
skmGrantType: client_credentials
skmScope: bench
skmClientSecretHash: %s
""" % (i, base, i, i, i, i, i, i, base, i, i, i, secret_hash))
    return "\n".join(out)


def scale_bench(sk, slapd):
    r = slapd.ldap("ldapsearch", args=["-LLL", "-b", slapd.base,
                                       "(cn=bench)", "skmClientSecretHash"])
    secret_hash = re.search(r"skmClientSecretHash: (\S+)", r.stdout).group(1)
    have = 0
    env = {"WRK_BODY": CC_BODY, "WRK_BASIC": "bench:" + sk.bench_secret}
    RES["meta"]["scale"] = []
    for level in [0] + SCALE:
        t0 = time.time()
        step = 5000
        while have < level:
            hi = min(level, have + step)
            slapd.ldap("ldapadd", stdin=ldif_entries(have, hi, secret_hash,
                                                     slapd.base),
                       args=["-c"], timeout=600)
            have = hi
        add_s = time.time() - t0
        cnt = slapd.ldap("ldapsearch", args=[
            "-LLL", "-b", "ou=clients," + slapd.base, "(skmClientId=*)",
            "1.1"]).stdout.count("dn: ")
        RES["meta"]["scale"].append({"level": level, "add_secs": add_s,
                                     "clients_in_dir": cnt})
        log("scale: %d users + %d clients (%d clients found), added in %.0fs"
            % (level, level, cnt, add_s))
        for rnd in range(ROUNDS):
            wrk_once("scale_cc_same", "N=%d" % level, sk.url + "/token",
                     sk.pid, "post.lua", env, rnd, slapd.pid(),
                     extra={"level": level})
            if level:
                wrk_once("scale_cc_random", "N=%d" % level,
                         sk.url + "/token", sk.pid, "manyclients.lua",
                         {"WRK_NCLIENTS": str(level),
                          "WRK_CLIENT_PREFIX": "bc",
                          "WRK_SECRET": sk.bench_secret}, rnd, slapd.pid(),
                         extra={"level": level})
        save()


# --- profiles and what-ifs --------------------------------------------------

def perf_profile(sk, scen, script, env, path="/token", secs=8):
    """perf record (cpu-clock, call graphs) of brokerd, its key process and
    slapd during a wrk run; flat / per-DSO / inclusive reports saved under
    raw/profile/.  Then strace -c of brokerd (and, separately, slapd) for
    4 s to count syscalls per request.  env may be a function (called once
    per load phase: refresh tokens must be fresh)."""
    if shutil.which("perf") is None:
        return
    d = os.path.join(RAW, "profile")
    os.makedirs(d, exist_ok=True)
    data = os.path.join(d, scen + ".perf.data")
    url = sk.url + path

    def load(dur):
        e = dict(os.environ, WRK_THREADS=str(THREADS),
                 **(env() if callable(env) else env))
        return subprocess.Popen(["wrk", "-t%d" % THREADS, "-c%d" % CONNS,
                                 "-d%ds" % dur, "-s",
                                 os.path.join(WRK, script), url],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=e)
    w = load(secs + 2)
    time.sleep(1)
    pids = ",".join(str(p) for p in tree(sk.pid) + [sk.slapd.pid()])
    sh(["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999", "-g",
        "-p", pids, "-o", data, "--", "sleep", str(secs)], timeout=secs + 60,
       check=False)
    o = w.communicate(timeout=secs + 60)[0]
    with open(os.path.join(d, scen + ".wrk.txt"), "w") as f:
        f.write(o)
    for name, args in (("flat", ["--no-children", "--sort",
                                 "comm,dso,sym", "-g", "none"]),
                       ("dso", ["--no-children", "--sort", "comm,dso",
                                "-g", "none"]),
                       ("children", ["--children", "--sort", "comm,sym",
                                     "-g", "none"])):
        o = sh(["perf", "report", "-i", data, "--stdio", "--percent-limit",
                "0.7"] + args, timeout=300, check=False)
        with open(os.path.join(d, "%s.%s.txt" % (scen, name)), "w") as f:
            f.write(o)
    if not shutil.which("strace"):
        return
    w = load(7)
    time.sleep(1)
    m0 = metrics_requests(sk)
    sts = []
    for tag, plist in (("", tree(sk.pid)), (".slapd", [sk.slapd.pid()])):
        sts.append(subprocess.Popen(
            ["strace", "-f", "-c", "-q", "-o",
             os.path.join(d, scen + tag + ".strace.txt")] +
            sum((["-p", str(p)] for p in plist), []),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(4)
    for st in sts:
        st.send_signal(signal.SIGINT)
    for st in sts:
        st.wait(30)
    m1 = metrics_requests(sk)
    o = w.communicate(timeout=60)[0]
    for tag in ("", ".slapd"):
        with open(os.path.join(d, scen + tag + ".strace.txt"), "a") as f:
            f.write("\nrequests completed while traced: %d\n%s"
                    % (m1 - m0, o))


def metrics_requests(sk):
    try:
        st, h, body = Client(sk.b).req("GET", "/metrics")
        n = 0
        for line in body.decode().splitlines():
            m = re.match(r'^\w*requests_total\{([^}]*)\}\s+(\d+)', line)
            if m:
                n += int(m.group(2))
        return n
    except Exception:
        return 0


def whatif(tmp, slapd, base_sk):
    """Same binary, configuration-only variations: bound what the code
    suggestions can gain (audit fsync, logging, thread count)."""
    variants = [
        ("audit on tmpfs", {"audit_file": "/dev/shm/skm-bench-audit.log"}),
        ("log_level=warn", {"log_level": "warn"}),
        ("audit tmpfs + warn + threads=2",
         {"audit_file": "/dev/shm/skm-bench-audit.log", "log_level": "warn",
          "threads": "2"}),
    ]
    env = {"WRK_BODY": CC_BODY, "WRK_BASIC": "bench:" + base_sk.bench_secret}
    for i, (label, extra) in enumerate(variants):
        s = Sek(tmp, slapd, False, "whatif%d" % i, extra)
        s.bench_secret = base_sk.bench_secret
        s.start()
        try:
            for rnd in range(2):
                wrk_once("whatif_cc", label, s.url + "/token", s.pid,
                         "post.lua", env, rnd, slapd.pid())
                wrk_once("whatif_cc", "baseline (defaults)",
                         base_sk.url + "/token", base_sk.pid, "post.lua",
                         env, 100 * (i + 1) + rnd, slapd.pid())
        finally:
            s.stop()
            try:
                os.unlink("/dev/shm/skm-bench-audit.log")
            except OSError:
                pass


# --- peers ------------------------------------------------------------------

class Peers:
    def __init__(self, d):
        self.d = d

    def run(self, script, env=None, timeout=900):
        e = dict(os.environ)
        e.update(env or {})
        o = sh(["bash", os.path.join(self.d, script)], timeout=timeout,
               env=e, check=False)
        with open(os.path.join(RAW, "peers." + script + ".log"), "a") as f:
            f.write(o)
        return o

    def pid(self, rel):
        try:
            with open(os.path.join(self.d, rel)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def main():
    global OUT, RAW
    OUT = os.path.abspath(sys.argv[1])
    peers_dir = sys.argv[2] if len(sys.argv) > 2 else None
    RAW = os.path.join(OUT, "raw")
    os.makedirs(RAW, exist_ok=True)
    RES["meta"].update(machine())
    RES["meta"]["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    RES["meta"]["params"] = {"dur": DUR, "rounds": ROUNDS,
                             "threads": THREADS, "conns": CONNS,
                             "login_conc": LOGIN_CONC, "build": BUILD,
                             "cc_rounds": CC_ROUNDS,
                             "login_secs": LOGIN_SECS, "scale": SCALE}
    save()
    limits()
    tmp = tempfile.mkdtemp(prefix="skm-bench-")
    slapd = Slapd(tmp, demo=True)
    sks = {}
    pe = Peers(peers_dir) if peers_dir and PEERS_ON else None
    try:
        slapd.start()
        plain = Sek(tmp, slapd, False, "plain").start()
        sks["sekimori-http"] = plain
        startup_and_idle(plain)
        out = plain.b.ctl("--json", "client", "add", "bench", "--grant",
                          "client_credentials", "--scope", "bench").stdout
        bench_secret = json.loads(out)["client_secret"]
        out = plain.b.ctl("--json", "client", "add", "rp1", "--redirect-uri",
                          RP_CB, "--name", "Bench RP").stdout
        rp_secret = json.loads(out)["client_secret"]
        key = os.path.join(tmp, "rpa.pem")
        jwks = os.path.join(tmp, "rpa.jwks")
        sh([os.path.join(BIN, "jwt_assert"), "keygen", key, jwks])
        plain.b.ctl("rpa", "add", "robot", "--owner", "demo", "--jwks", jwks,
                    "--scope", "bench")
        RES["meta"]["rpa_key"] = key
        tls = Sek(tmp, slapd, True, "tls").start()
        sks["sekimori-https"] = tls
        for s in sks.values():
            s.bench_secret, s.rp_secret = bench_secret, rp_secret
        peers = {}
        if pe:
            if port_free(GLWD_PORT):
                log("starting glewlwyd (peer setup script)")
                pe.run("10_glewlwyd_setup.sh")
                gp = pe.pid("glewlwyd/glewlwyd.pid")
                if gp:
                    RES["meta"]["glewlwyd_idle_rss_mib"] = tree_rss_kb(gp) / 1024
                    peers["glewlwyd"] = (
                        "http://127.0.0.1:%d/api/oidc/token" % GLWD_PORT, gp,
                        {"WRK_BODY": CC_BODY, "WRK_BASIC": "bench:benchsecret"})
            else:
                RES["notes"].append("port %d busy: Glewlwyd skipped" % GLWD_PORT)
            if port_free(NODE_PORT):
                log("starting oidc-provider, 1 process (peer script)")
                pe.run("30_node_start.sh", {"WORKERS": "1"})
                npid = pe.pid("node/server.pid")
                if npid:
                    time.sleep(1)
                    RES["meta"]["node1_idle_rss_mib"] = tree_rss_kb(npid) / 1024
                    peers["oidc-provider-1proc"] = (
                        "http://127.0.0.1:%d/token" % NODE_PORT, npid,
                        {"WRK_BODY": CC_BODY, "WRK_BASIC": "bench:benchsecret"})
            else:
                RES["notes"].append("port %d busy: oidc-provider skipped"
                                    % NODE_PORT)
        save()
        sek_scenarios(sks, slapd.pid(), peers)
        # password login (and Glewlwyd's ROPC as a reference)
        log("== password login")
        for k, s in sks.items():
            logins_bench(s, k)
        if "glewlwyd" in peers:
            url, gp, env = peers["glewlwyd"]
            for rnd in range(min(ROUNDS, 2)):
                wrk_once("login_ref_ropc", "glewlwyd", url, gp, "post.lua",
                         {"WRK_BODY": "grant_type=password&username=alice&"
                          "password=alicepassword1&scope=bench",
                          "WRK_BASIC": "bench:benchsecret"}, rnd)
        log("== PEP")
        pep_bench(plain)
        if pe and "glewlwyd" in peers:
            log("glewlwyd: client KDF 1 iteration (diagnostic variant)")
            pe.run("12_glewlwyd_lowkdf.sh", {"ITER": "1"})
            url, gp, env = peers["glewlwyd"]
            for rnd in range(ROUNDS):
                wrk_once("cc_keepalive", "glewlwyd-kdf1", url, gp, "post.lua",
                         env, rnd)
        if pe and "oidc-provider-1proc" in peers:
            pe.run("99_stop.sh")
            log("oidc-provider, cluster of 2 workers")
            pe.run("30_node_start.sh", {"WORKERS": "2"})
            npid = pe.pid("node/server.pid")
            if npid:
                time.sleep(2)
                RES["meta"]["node2_idle_rss_mib"] = tree_rss_kb(npid) / 1024
                for rnd in range(ROUNDS):
                    wrk_once("cc_keepalive", "oidc-provider-2workers",
                             "http://127.0.0.1:%d/token" % NODE_PORT, npid,
                             "post.lua", {"WRK_BODY": CC_BODY,
                                          "WRK_BASIC": "bench:benchsecret"},
                             rnd)
        if pe:
            pe.run("99_stop.sh")
        if PROFILE:
          try:
            log("== profiles (perf cpu-clock) and what-if configurations")
            cc_env = {"WRK_BODY": CC_BODY,
                      "WRK_BASIC": "bench:" + plain.bench_secret}
            perf_profile(plain, "cc_keepalive", "post.lua", cc_env)
            perf_profile(tls, "cc_newconn_tls", "post.lua",
                         dict(cc_env, WRK_CLOSE="1"))
            cl = Client(plain.b)
            at = full_login(cl, plain)[0]["access_token"]
            cl.close()
            perf_profile(plain, "introspect", "post.lua",
                         {"WRK_BODY": "token=" + at,
                          "WRK_BASIC": "rp1:" + plain.rp_secret},
                         path="/introspect")
            perf_profile(plain, "refresh", "refresh.lua", lambda: {
                "WRK_LINES": write_lines("rt.profile.txt",
                                         refresh_pool(plain, 2 * CONNS)),
                "WRK_BASIC": basic("rp1", plain.rp_secret)})
            perf_profile(plain, "pkjwt", "lines.lua", lambda: {
                "WRK_LINES": write_lines("assertions.profile.txt", sh(
                    [os.path.join(BIN, "jwt_assert"), "sign",
                     RES["meta"]["rpa_key"], "robot", plain.url,
                     str(4000 * 12), "280"], timeout=300).split()),
                "WRK_PREFIX": "grant_type=client_credentials&"
                "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                "client-assertion-type%3Ajwt-bearer&client_assertion="})
            whatif(tmp, slapd, plain)
          except Exception as e:
            log("profile/what-if failed (continuing):", repr(e)[:500])
        tls.stop()
        del sks["sekimori-https"]
        if SCALE:
            log("== scale")
            scale_bench(plain, slapd)
        # RSS after many logins: last, because it is the long one (100,000
        # Argon2-bound logins take most of an hour here) and only memory is
        # read from it
        log("== RSS after up to %d logins (cap %d s)" % (LOGINS, LOGIN_SECS))
        plain.stop()
        plain.start()
        time.sleep(1)
        r0 = rss_kb(plain.pid) / 1024
        r = login_run(plain, LOGIN_SECS, LOGINS, LOGIN_CONC,
                      checkpoints=max(5, LOGIN_SECS // 12), tag=" (RSS run)")
        r["rss_start_mib"] = r0
        r["target_logins"] = LOGINS
        RES["meta"]["rss_logins"] = r
        save()
    finally:
        for s in list(sks.values()):
            try:
                s.stop()
            except Exception:
                pass
        if pe:
            try:
                pe.run("99_stop.sh")
            except Exception:
                pass
        slapd.stop()
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
        RES["meta"]["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        save()
    log("done")


if __name__ == "__main__":
    main()
