"""Scale-out (docs/cluster.md): two slapd providers in multi-provider
replication and several brokerd nodes sharing one issuer, one key_dir and
one directory.

Nodes "a" and "b" are the recommended deployment: both write through one
directory endpoint (active/backup: p1, then p2), so every compare-and-swap
lands on one provider.  Nodes "c" (straight to p1) and "d" (straight to p2)
show what replication alone gives: a revocation crosses providers within the
documented bound, but a compare-and-swap is only atomic on one provider.

Each race is its own named test.  Real slapd (two), real brokerd (four),
real HTTPS."""
import json
import os
import re
import secrets
import subprocess
import threading
import time
import unittest
import urllib.parse

from cluster_harness import Cluster
from harness import BUILD, Browser, TempDir
from test_oidc import RP_CB, basic, jwt_parts, pkce

# Documented bound (docs/cluster.md): a revocation or logout on one node is
# seen by every other node within this many seconds, also across providers.
BOUND = 2.0
PW = "Kq7 tundra-lantern 91 mosaic"


def totp(key, offset=0):
    return subprocess.run(["oathtool", "--totp", "-b", "-N",
                           "@%d" % (int(time.time()) + offset), key],
                          check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def steady():
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.2)


def race(*calls):
    """Run the calls at the same moment (threads and a barrier)."""
    out = [None] * len(calls)
    go = threading.Barrier(len(calls))

    def run(i):
        go.wait()
        try:
            out[i] = calls[i]()
        except Exception as e:      # noqa: BLE001 (reported by the test)
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir(prefix="skm-cl-")
        cls.c = Cluster(cls.tmp.path, nodes=("a", "b"),
                        direct={"c": 0, "d": 1},
                        extra={"ldap_timeout_ms": "2000"})
        try:
            cls.c.start()
            cls.a, cls.b = cls.c.nodes["a"], cls.c.nodes["b"]
            cls.nc, cls.nd = cls.c.nodes["c"], cls.c.nodes["d"]
            cls.demo_pw = cls.c.p[0].demo_password()
            out = cls.a.ctl("--json", "client", "add", "rp1",
                            "--redirect-uri", RP_CB).stdout
            cls.secret = json.loads(out)["client_secret"]
            # the client reaches p2 by replication before we go on
            ok, _, _, _, _ = cls.c.wait_converged("ou=clients")
            assert ok, "clients did not replicate"
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()
        cls.tmp.cleanup()

    # -- helpers -------------------------------------------------------------

    def form(self, node, path, form, cid="rp1", secret=None, auth=True):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth:
            h["Authorization"] = basic(cid, secret or self.secret)
        return node.request("POST", path, body=urllib.parse.urlencode(form),
                            headers=h)

    def introspect(self, node, tok):
        r = self.form(node, "/introspect", {"token": tok})
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def refresh(self, node, rt):
        return self.form(node, "/token", {"grant_type": "refresh_token",
                                          "refresh_token": rt})

    def authorize(self, br, **extra):
        v, ch = pkce()
        q = {"response_type": "code", "client_id": "rp1",
             "redirect_uri": RP_CB, "scope": "openid profile",
             "state": "s-" + secrets.token_hex(4),
             "nonce": "n-" + secrets.token_hex(4),
             "code_challenge": ch, "code_challenge_method": "S256"}
        q.update(extra)
        return br.get("/authorize?" + urllib.parse.urlencode(q)), v

    def password(self, br, r, user="demo", pw=None):
        self.assertEqual(r.status, 303, r.body)
        page = br.get(r.header("Location"))
        self.assertEqual(page.status, 200, page.body)
        html = page.body.decode()
        tx = re.search(r'name="tx" value="([^"]+)"', html).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        return br.post("/login", {"tx": tx, "csrf": csrf, "username": user,
                                  "password": pw or self.demo_pw})

    @staticmethod
    def code_of(r):
        loc = r.header("Location") or ""
        q = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
        return q.get("code", [None])[0]

    def login_code(self, node, user="demo", pw=None):
        br = Browser(node)
        r, v = self.authorize(br)
        r = self.password(br, r, user, pw)
        self.assertEqual(r.status, 303, r.body)
        code = self.code_of(r)
        self.assertTrue(code, r.header("Location"))
        return br, code, v

    def redeem(self, node, code, v):
        return self.form(node, "/token", {
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": RP_CB, "code_verifier": v})

    def login(self, node, token_node=None):
        br, code, v = self.login_code(node)
        t = self.redeem(token_node or node, code, v)
        self.assertEqual(t.status, 200, t.body)
        return br, t.json()

    def until_inactive(self, node, toks, bound=BOUND):
        """Poll introspection on node until every token is inactive;
        returns the seconds it took (fails past twice the bound)."""
        t0 = time.time()
        while True:
            if not any(self.introspect(node, t)["active"] for t in toks):
                return time.time() - t0
            if time.time() - t0 > 2 * bound:
                self.fail("still active on %s after %.1f s" %
                          (node.name, time.time() - t0))
            time.sleep(0.02)

    @staticmethod
    def browser_on(node, br):
        """The same browser talking to another node (the load balancer
        sent it elsewhere): same cookies."""
        other = Browser(node)
        other.cookies = dict(br.cookies)
        return other

    def user(self):
        uid = "cl%s" % secrets.token_hex(3)
        self.a.ctl("user", "add", uid, "--name", "Cluster Staff",
                   "--mail", uid + "@example.test")
        self.a.ctl("user", "passwd", uid, input=PW + "\n")
        return uid

    # -- one logical broker ----------------------------------------------------

    def test_keys_and_issuer_shared(self):
        ja = self.a.request("GET", "/jwks.json").json()
        jb = self.b.request("GET", "/jwks.json").json()
        self.assertEqual(ja, jb)
        da = self.a.request("GET", "/.well-known/openid-configuration").json()
        db = self.b.request("GET", "/.well-known/openid-configuration").json()
        self.assertEqual(da["issuer"], db["issuer"])
        # a token minted by a is valid on b, and b's on a
        _, t = self.login(self.a)
        self.assertTrue(self.introspect(self.b, t["access_token"])["active"])
        r = self.b.request("GET", "/userinfo", headers={
            "Authorization": "Bearer " + t["access_token"]})
        self.assertEqual(r.status, 200, r.body)

    def test_login_a_refresh_b_revoke_b_refused_a(self):
        br, t = self.login(self.a)
        r = self.refresh(self.b, t["refresh_token"])
        self.assertEqual(r.status, 200, r.body)
        t2 = r.json()
        self.assertTrue(self.introspect(self.a, t2["refresh_token"])
                        ["active"])
        self.assertTrue(self.introspect(self.a, t2["access_token"])
                        ["active"])
        r = self.form(self.b, "/revoke", {"token": t2["refresh_token"]})
        self.assertEqual(r.status, 200)
        took = self.until_inactive(self.a, [t2["refresh_token"],
                                            t2["access_token"]])
        self.assertLess(took, BOUND)
        self.assertEqual(self.refresh(self.a, t2["refresh_token"]).status,
                         400)
        # and the rotated-out one too (reuse)
        self.assertEqual(self.refresh(self.a, t["refresh_token"]).status,
                         400)
        print("\n  revoke on b -> refused on a (same endpoint): %.3f s"
              % took)

    def test_revocation_crosses_providers_within_bound(self):
        # c writes to p1, d to p2: the revocation travels by replication
        br, t = self.login(self.nc)
        ok, _, _, _, _ = self.c.wait_converged("ou=rt,ou=state")
        r = self.refresh(self.nd, t["refresh_token"])
        self.assertEqual(r.status, 200, r.body)
        t2 = r.json()
        r = self.form(self.nd, "/revoke", {"token": t2["refresh_token"]})
        self.assertEqual(r.status, 200)
        took = self.until_inactive(self.nc, [t2["refresh_token"],
                                             t2["access_token"]])
        self.assertLess(took, BOUND)
        print("\n  revoke on d (p2) -> inactive on c (p1): %.3f s" % took)

    def test_logout_b_inactive_on_a_within_bound(self):
        for first, second in ((self.a, self.b), (self.nc, self.nd)):
            br, t = self.login(first)
            sid = jwt_parts(t["id_token"])[1]["sid"]
            self.assertTrue(sid)
            # the session cookie from the first node works on the second
            other = self.browser_on(second, br)
            r, v = self.authorize(other, prompt="none")
            if second is self.nd:
                # across providers the session may need replication first
                t0 = time.time()
                while self.code_of(r) is None and time.time() - t0 < BOUND:
                    time.sleep(0.05)
                    r, v = self.authorize(other, prompt="none")
            self.assertIsNotNone(self.code_of(r), r.header("Location"))
            r = other.get("/logout?" + urllib.parse.urlencode({
                "id_token_hint": t["id_token"],
                "post_logout_redirect_uri": RP_CB, "state": "bye"}))
            self.assertEqual(r.status, 303, r.body)
            # introspection of the access token checks the session; (the
            # refresh token's introspection does not: docs/cluster.md)
            took = self.until_inactive(first, [t["access_token"]])
            self.assertLess(took, BOUND)
            self.assertEqual(self.refresh(first, t["refresh_token"]).status,
                             400)
            # and the old cookie no longer logs in silently on the first
            r, v = self.authorize(self.browser_on(first, br), prompt="none")
            self.assertIsNone(self.code_of(r))
            print("\n  logout on %s -> inactive on %s: %.3f s"
                  % (second.name, first.name, took))

    # -- races (the recommended deployment: one write provider) -------------

    def test_race_authorization_code_a_and_b(self):
        for _ in range(3):
            br, code, v = self.login_code(self.a)
            res = race(lambda: self.redeem(self.a, code, v),
                       lambda: self.redeem(self.b, code, v))
            st = sorted(r.status for r in res)
            self.assertEqual(st, [200, 400], [r.body for r in res])

    def test_race_refresh_token_a_and_b(self):
        """The same refresh token on a and b at once: at most one
        successor is issued, and never two valid ones."""
        outcomes = []
        for _ in range(4):
            _, t = self.login(self.a)
            res = race(lambda: self.refresh(self.a, t["refresh_token"]),
                       lambda: self.refresh(self.b, t["refresh_token"]))
            ok = [r for r in res if r.status == 200]
            self.assertLessEqual(len(ok), 1, [r.body for r in res])
            for r in res:
                self.assertIn(r.status, (200, 400), r.body)
            valid = [r for r in ok if self.introspect(
                self.a, r.json()["refresh_token"])["active"]]
            self.assertLessEqual(len(valid), 1)
            # the loser's reuse revokes the family (token.c grant_refresh)
            outcomes.append((len(ok), len(valid)))
        print("\n  refresh race (issued, still valid): %s" % outcomes)

    def test_race_totp_code_a_and_b(self):
        uid = self.user()
        br = Browser(self.a)
        r = br.get("/account")
        r = self.password(br, r, uid, PW)
        self.assertEqual(r.header("Location"), "/account")
        page = br.get("/account")
        csrf = re.search(r'name="csrf" value="([^"]+)"',
                         page.body.decode()).group(1)
        r = br.post("/account/totp", {"csrf": csrf, "action": "start"})
        key = re.search(r'id="totp-key">([A-Z2-7=]+)<',
                        r.body.decode()).group(1)
        steady()
        r = br.post("/account/totp", {"csrf": csrf, "action": "confirm",
                                      "code": totp(key, -30)})
        self.assertEqual(r.status, 200, r.body)
        steady()
        code = totp(key)
        forms = []
        for node in (self.a, self.b):
            bx = Browser(node)
            r, v = self.authorize(bx)
            r = self.password(bx, r, uid, PW)
            self.assertTrue(r.header("Location").startswith("/login/otp"))
            html = bx.get(r.header("Location")).body.decode()
            forms.append((bx, {
                "tx": re.search(r'name="tx" value="([^"]+)"', html).group(1),
                "csrf": re.search(r'name="csrf" value="([^"]+)"',
                                  html).group(1), "code": code}))
        res = race(*[(lambda bx=bx, f=f: bx.post("/login/otp", f))
                     for bx, f in forms])
        st = sorted(r.status for r in res)
        self.assertEqual(st, [303, 401], [r.body[:200] for r in res])
        self.assertTrue(any(b"SKM-5006" in r.body for r in res))

    def test_race_client_assertion_jti_a_and_b(self):
        kd = os.path.join(self.tmp.path, "rpa-robot")
        tool = os.path.join(BUILD, "tests", "tokctl_test")
        subprocess.run([tool, "rotate", kd, "ES256"], check=True,
                       stdout=subprocess.PIPE)
        jwks = subprocess.run([tool, "jwks", kd], check=True,
                              stdout=subprocess.PIPE, text=True).stdout
        jf = os.path.join(kd, "public.jwks")
        with open(jf, "w") as f:
            f.write(jwks)
        self.a.ctl("rpa", "add", "robot1", "--owner", "demo", "--jwks", jf,
                   "--scope", "ledger.write")
        for _ in range(3):
            now = int(time.time())
            claims = {"iss": "robot1", "sub": "robot1",
                      "aud": self.a.issuer, "jti": secrets.token_hex(16),
                      "iat": now, "exp": now + 60}
            a = subprocess.run([tool, "sign", kd, "JWT", json.dumps(claims)],
                               check=True, stdout=subprocess.PIPE,
                               text=True).stdout.strip()
            f = {"grant_type": "client_credentials",
                 "client_assertion_type":
                 "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                 "client_assertion": a}
            res = race(lambda: self.form(self.a, "/token", f, auth=False),
                       lambda: self.form(self.b, "/token", f, auth=False))
            st = sorted(r.status for r in res)
            self.assertEqual(st, [200, 401], [r.body for r in res])

    # The limitation (compare-and-swap is per provider; two nodes writing
    # to two providers can both win, and near-simultaneous changes to one
    # entry can leave the providers diverged) is shown by
    # tests/soak/chaos.py (split-writes experiment) and docs/cluster.md.

    # -- failover -------------------------------------------------------------

    def test_zz_failover_provider1_killed_then_catches_up(self):
        """Runs last (name): p1 dies (kill -9); a and b go on through p2;
        p1 restarts and receives what was written meanwhile."""
        br, t = self.login(self.a)
        self.c.p[0].kill9()
        t0 = time.time()
        t2 = None
        while time.time() - t0 < 10:
            r = self.refresh(self.b, t["refresh_token"])
            if r.status == 200:
                t2 = r.json()
                break
            # a pooled connection found dead: one 503 (SKM directory
            # unavailable) at most while the pool reconnects
            self.assertIn(r.status, (503,), r.body)
            time.sleep(0.1)
        self.assertIsNotNone(t2, "no refresh through p2 within 10 s")
        took = time.time() - t0
        # new logins and sessions work on both nodes while p1 is down
        # (each node's pools reconnect: a few documented 503s SKM-2001)
        t1 = time.time()
        while True:
            try:
                br2, t3 = self.login(self.b, token_node=self.a)
                break
            except AssertionError:
                if time.time() - t1 > 10:
                    raise
                time.sleep(0.2)
        self.assertTrue(self.introspect(self.a, t2["access_token"])["active"])
        self.assertEqual(self.c.fwd.active, 1)
        # p1 comes back and catches up
        self.c.p[0].start()
        ok, secs, only1, only2, diff = self.c.wait_converged(
            "ou=rt,ou=state", timeout=15)
        self.assertTrue(ok, (only1, only2, diff))
        ok2, _, _, _, _ = self.c.wait_converged("ou=sess,ou=state",
                                                timeout=15)
        self.assertTrue(ok2)
        print("\n  failover: first success after kill -9 of p1 in %.2f s; "
              "p1 caught up %.2f s after restart" % (took, secs))


if __name__ == "__main__":
    unittest.main()
