"""Mixed load against Sekimori broker nodes (Python stdlib, threads), and
process sampling (RSS, file descriptors) for `make soak` and `make chaos`.

Each client is a thread with its own keep-alive HTTPS connection to one node
(clients alternate between nodes, as behind a load balancer).  It logs in
once through the login form, then loops over a mix of refreshes,
introspections and forward-auth checks with bearer tokens, with a fresh
login now and then.  Every answer is counted by (operation, status, code).
"""
import http.client
import json
import os
import random
import re
import secrets
import ssl
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from test_oidc import RP_CB, basic, pkce  # noqa: E402

EXPECTED = {"login": (303,), "token": (200,), "refresh": (200,),
            "introspect": (200,), "forward": (200,), "authorize": (303,),
            "login_page": (200,)}


def documented_503():
    """SKM codes the error catalogue documents with HTTP 503."""
    path = os.path.join(HERE, "..", "..", "docs", "errors.md")
    codes = set()
    with open(path) as f:
        for line in f:
            m = re.match(r"\|\s*(SKM-\d+)\s*\|\s*503\s*\|", line)
            if m:
                codes.add(m.group(1))
    return codes


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}          # (op, status, code) -> n
        self.lat = {}             # op -> [max, sum, n]
        self.errors = {}          # exception name -> n
        self.events = []          # (t, op, status, code) of 5xx

    def add(self, op, status, code, dt):
        with self.lock:
            k = (op, status, code)
            self.counts[k] = self.counts.get(k, 0) + 1
            m = self.lat.setdefault(op, [0.0, 0.0, 0])
            m[0] = max(m[0], dt)
            m[1] += dt
            m[2] += 1
            if status >= 500:
                self.events.append((time.time(), op, status, code))

    def error(self, e):
        with self.lock:
            n = type(e).__name__
            self.errors[n] = self.errors.get(n, 0) + 1

    def total(self):
        return sum(self.counts.values())

    def bad(self, allowed_503):
        """(5xx not documented, unexpected non-5xx) lists."""
        five, other = [], []
        for (op, st, code), n in sorted(self.counts.items()):
            if st >= 500:
                if not (st == 503 and code in allowed_503):
                    five.append((op, st, code, n))
            elif st not in EXPECTED.get(op, (st,)):
                other.append((op, st, code, n))
        return five, other

    def report(self, out=sys.stdout):
        print("  requests: %d  connection errors: %s" %
              (self.total(), self.errors or "none"), file=out)
        for (op, st, code), n in sorted(self.counts.items()):
            print("    %-11s %3d %-9s %7d" % (op, st, code or "", n), file=out)
        for op, (mx, sm, n) in sorted(self.lat.items()):
            print("    latency %-11s mean %6.1f ms  max %7.1f ms" %
                  (op, 1000 * sm / max(n, 1), 1000 * mx), file=out)


class Client(threading.Thread):
    """One simulated user + relying party on one keep-alive connection."""

    def __init__(self, node, ca, cid, secret, user, pw, stats, stop,
                 think=(0.05, 0.5), login_every=40, timeout=15,
                 on_login=None, fallback=None):
        super().__init__(daemon=True)
        self.node, self.ca, self.cid, self.secret = node, ca, cid, secret
        # a load balancer's health check: on a connection failure the
        # client goes to the fallback node (and back when that fails)
        self.nodes = [node] + ([fallback] if fallback else [])
        self.user, self.pw = user, pw
        self.stats, self.stop = stats, stop
        self.think, self.login_every = think, login_every
        self.timeout = timeout
        self.conn = None
        self.ctx = ssl.create_default_context(cafile=ca)
        self.cookies = {}
        self.at = self.rt = None
        self.on_login = on_login

    # -- HTTP --
    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(
                "127.0.0.1", self.node.port, timeout=self.timeout,
                context=self.ctx)
        return self.conn

    def req(self, op, method, path, body=None, headers=None, cookies=False):
        h = dict(headers or {})
        if cookies and self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in
                                    self.cookies.items())
        t0 = time.time()
        for attempt in (0, 1):
            try:
                c = self._conn()
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                break
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                # a kept-alive connection the server closed: retry once
                if attempt == 1 or self.stop.is_set():
                    self.stats.error(e)
                    if len(self.nodes) > 1:
                        i = self.nodes.index(self.node)
                        self.node = self.nodes[(i + 1) % len(self.nodes)]
                    return None, None, None
        dt = time.time() - t0
        hdrs = r.getheaders()
        if cookies:
            for k, v in hdrs:
                if k.lower() == "set-cookie":
                    nv = v.split(";", 1)[0]
                    n, _, val = nv.partition("=")
                    if val == "" or "max-age=0" in v.lower():
                        self.cookies.pop(n, None)
                    else:
                        self.cookies[n] = val
        code = None
        if r.status >= 400:
            m = re.search(rb"SKM-\d{4}", data)
            code = m.group(0).decode() if m else None
        self.stats.add(op, r.status, code, dt)
        if (r.getheader("Connection") or "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r.status, {k.lower(): v for k, v in hdrs}, data

    def form(self, op, path, f, auth=True):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth:
            h["Authorization"] = basic(self.cid, self.secret)
        return self.req(op, "POST", path, urllib.parse.urlencode(f), h)

    # -- flows --
    def login(self):
        self.cookies = {}
        v, ch = pkce()
        q = {"response_type": "code", "client_id": self.cid,
             "redirect_uri": RP_CB, "scope": "openid",
             "state": secrets.token_hex(4), "nonce": secrets.token_hex(4),
             "code_challenge": ch, "code_challenge_method": "S256"}
        st, h, _ = self.req("authorize", "GET",
                            "/authorize?" + urllib.parse.urlencode(q),
                            cookies=True)
        if st != 303:
            return False
        loc = h.get("location", "")
        if not loc.startswith("/login"):
            return False
        st, h, body = self.req("login_page", "GET", loc, cookies=True)
        if st != 200:
            return False
        html = body.decode("utf-8", "replace")
        tx = re.search(r'name="tx" value="([^"]+)"', html)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        if not tx or not csrf:
            return False
        st, h, _ = self.req("login", "POST", "/login", urllib.parse.urlencode(
            {"tx": tx.group(1), "csrf": csrf.group(1), "username": self.user,
             "password": self.pw}),
            {"Content-Type": "application/x-www-form-urlencoded"},
            cookies=True)
        if st != 303:
            return False
        code = urllib.parse.parse_qs(urllib.parse.urlparse(
            h.get("location", "")).query).get("code", [None])[0]
        if not code:
            return False
        st, h, body = self.form("token", "/token", {
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": RP_CB, "code_verifier": v})
        if st != 200:
            return False
        t = json.loads(body)
        self.at, self.rt = t["access_token"], t["refresh_token"]
        if self.on_login:
            self.on_login(self)
        return True

    def refresh(self):
        st, h, body = self.form("refresh", "/token", {
            "grant_type": "refresh_token", "refresh_token": self.rt})
        if st == 200:
            t = json.loads(body)
            self.at, self.rt = t["access_token"], t["refresh_token"]
        elif st is not None and st < 500:
            self.at = None      # lost the grant: log in again

    def introspect(self):
        self.form("introspect", "/introspect", {"token": self.at})

    def forward(self):
        self.req("forward", "GET", "/forward-auth", headers={
            "Authorization": "Bearer " + self.at,
            "X-Forwarded-Host": "app.example.test",
            "X-Original-URI": "/reports"})

    def run(self):
        rnd = random.Random()
        n = 0
        # spread the first logins over a few seconds
        self.stop.wait(rnd.uniform(0, 3))
        while not self.stop.is_set():
            try:
                if self.at is None or n % self.login_every == 0:
                    if not self.login():
                        self.stop.wait(0.5)
                        n += 1
                        continue
                else:
                    x = rnd.random()
                    if x < 0.2:
                        self.refresh()
                    elif x < 0.55:
                        self.introspect()
                    else:
                        self.forward()
            except Exception as e:       # noqa: BLE001 (counted)
                self.stats.error(e)
            n += 1
            self.stop.wait(rnd.uniform(*self.think))
        if self.conn is not None:
            self.conn.close()


def proc_sample(pid):
    """(RSS kB, open fds) of a process, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))
        fds = len(os.listdir("/proc/%d/fd" % pid))
        return rss, fds
    except (OSError, AttributeError):
        return None


class Sampler(threading.Thread):
    def __init__(self, nodes, every=5.0):
        super().__init__(daemon=True)
        self.nodes, self.every = nodes, every
        self.samples = {n: [] for n in nodes}     # name -> [(t, rss, fds)]
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for n, b in self.nodes.items():
                if b.proc is not None:
                    s = proc_sample(b.proc.pid)
                    if s:
                        self.samples[n].append((time.time(), s[0], s[1]))
            self.stop.wait(self.every)


def make_users(node, n, pw):
    """n users with a known password (brokerctl on any node)."""
    users = []
    for i in range(n):
        uid = "soak%s" % secrets.token_hex(3)
        node.ctl("user", "add", uid, "--name", "Soak User %d" % i,
                 "--mail", uid + "@example.test")
        node.ctl("user", "passwd", uid, input=pw + "\n")
        users.append(uid)
    return users


class Checks:
    """Named checks; prints 'N passed, N failed' at the end."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        print("%s %s%s" % ("ok  " if ok else "FAIL", name,
                           (": " + detail) if detail else ""))
        sys.stdout.flush()
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def finish(self, prefix):
        print("%s: %d passed, %d failed" % (prefix, self.passed, self.failed))
        return 0 if self.failed == 0 and self.passed > 0 else 1
