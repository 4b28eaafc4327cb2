"""Staff SSO end to end: discovery, authorization code + PKCE through the
login form, tokens, userinfo, refresh rotation, client credentials with
private_key_jwt for RPA accounts, introspection, revocation, RP-initiated
and back-channel logout — and the negative cases.  Real slapd, real
brokerd, real HTTPS."""
import base64
import hashlib
import http.server
import json
import os
import re
import secrets
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import BUILD, Broker, Browser, TempDir, quiet, wait_for
from ldap_harness import Slapd

RP_CB = "https://rp.example.test/cb"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_json(part):
    pad = "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part + pad))


def jwt_parts(tok):
    h, p, _ = tok.split(".")
    return b64url_json(h), b64url_json(p)


def pkce():
    v = b64url(secrets.token_bytes(32))
    c = b64url(hashlib.sha256(v.encode()).digest())
    return v, c


def basic(cid, secret):
    raw = "%s:%s" % (urllib.parse.quote(cid, safe=""),
                     urllib.parse.quote(secret, safe=""))
    return "Basic " + base64.b64encode(raw.encode()).decode()


class BackchannelReceiver:
    """An RP's back-channel logout endpoint on loopback (plain HTTP)."""

    def __init__(self):
        self.tokens = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                outer.tokens.extend(form.get("logout_token", []))
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/bcl" % self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class ScriptedReceiver:
    """A back-channel logout endpoint on a raw socket that answers its
    n-th request with statuses[n] (the last one after that), and can hold
    its first answer until release_ev is set."""

    def __init__(self, statuses, hold=False):
        import socket
        self.statuses = list(statuses)
        self.bodies = []
        self.held = None                # the connection being held
        self.got = threading.Event()    # a request has been read
        self.release_ev = threading.Event()
        if not hold:
            self.release_ev.set()
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.url = "http://127.0.0.1:%d/bcl" % self.lsock.getsockname()[1]
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with c:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                n = int(m.group(1)) if m else 0
                while len(body) < n:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                self.bodies.append(body.decode())
                self.held = c
                self.got.set()
                self.release_ev.wait(30)
                st = self.statuses[min(len(self.bodies),
                                       len(self.statuses)) - 1]
                try:
                    c.sendall(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n"
                              b"Connection: close\r\n\r\n" % st)
                except OSError:
                    pass

    def held_open(self):
        """Is the held connection still open (the sender still waiting)?"""
        import socket
        try:
            return self.held.recv(1, socket.MSG_PEEK |
                                  socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    def tokens(self):
        return [urllib.parse.parse_qs(b)["logout_token"][0]
                for b in self.bodies]

    def close(self):
        self.release_ev.set()
        self.lsock.close()


class OIDCFlows:
    """The flows of a relying party rp1 against self.b (a Broker), for the
    test classes below: self.secret is rp1's secret, self.demo_pw the
    password used by login()."""

    @classmethod
    def start_stack(cls, extra=None):
        """A slapd with the demo user, a broker on it (extra settings), a
        back-channel receiver, and rp1 registered with its URI."""
        cls.tmp = TempDir()
        cls.slapd = Slapd(cls.tmp.path, demo=True)
        cls.bcl = BackchannelReceiver()
        cls.slapd.start()
        cls.b = Broker(os.path.join(cls.tmp.path, "broker"),
                       cls.slapd.env_lines(), extra=extra)
        cls.b.start()
        out = cls.b.ctl("--json", "client", "add", "rp1",
                        "--redirect-uri", RP_CB, "--name", "Test RP",
                        "--backchannel-logout-uri", cls.bcl.url).stdout
        cls.secret = json.loads(out)["client_secret"]

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "b", None):
            cls.b.stop()
        if getattr(cls, "slapd", None):
            cls.slapd.stop()
        if getattr(cls, "bcl", None):
            cls.bcl.close()
        if getattr(cls, "tmp", None):
            cls.tmp.cleanup()

    def authorize(self, br, **extra):
        verifier, challenge = pkce()
        q = {"response_type": "code", "client_id": "rp1",
             "redirect_uri": RP_CB, "scope": "openid profile email",
             "state": "st-" + secrets.token_hex(4),
             "nonce": "n-" + secrets.token_hex(4),
             "code_challenge": challenge, "code_challenge_method": "S256"}
        q.update(extra)
        q = {k: v for k, v in q.items() if v is not None}
        r = br.get("/authorize?" + urllib.parse.urlencode(q))
        return r, q, verifier

    login_user = "demo"

    def login(self, br, r, user=None, password=None):
        user = user or self.login_user
        self.assertEqual(r.status, 303, r.body)
        loc = r.header("Location")
        self.assertTrue(loc.startswith("/login?tx="), loc)
        page = br.get(loc)
        self.assertEqual(page.status, 200, page.body)
        html = page.body.decode()
        tx = re.search(r'name="tx" value="([^"]+)"', html).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        return br.post("/login", {"tx": tx, "csrf": csrf, "username": user,
                                  "password": password or self.demo_pw})

    def code_from(self, r, q):
        self.assertEqual(r.status, 303, r.body)
        loc = urllib.parse.urlparse(r.header("Location"))
        self.assertEqual("%s://%s%s" % (loc.scheme, loc.netloc, loc.path),
                         RP_CB)
        params = urllib.parse.parse_qs(loc.query)
        self.assertEqual(params["state"], [q["state"]])
        self.assertEqual(params["iss"], [self.b.issuer])
        return params["code"][0]

    def token(self, form, cid="rp1", secret=None, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if secret is not False:
            h["Authorization"] = basic(cid, secret or self.secret)
        h.update(headers or {})
        return self.b.request("POST", "/token",
                              body=urllib.parse.urlencode(form), headers=h)

    def full_login(self, **extra):
        br = Browser(self.b)
        r, q, v = self.authorize(br, **extra)
        code = self.code_from(self.login(br, r), q)
        t = self.token({"grant_type": "authorization_code", "code": code,
                        "redirect_uri": RP_CB, "code_verifier": v})
        self.assertEqual(t.status, 200, t.body)
        return br, q, t.json()

    def introspect(self, tok, cid="rp1", secret=None):
        r = self.b.request(
            "POST", "/introspect",
            body=urllib.parse.urlencode({"token": tok}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic(cid, secret or self.secret)})
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def redirect_error(self, r):
        self.assertEqual(r.status, 303, r.body)
        loc = r.header("Location")
        self.assertTrue(loc.startswith(RP_CB + "?"), loc)
        return urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)


class OIDCTest(OIDCFlows, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.start_stack()
            with open(os.path.join(cls.slapd.dir, "demo.pw")) as f:
                cls.demo_pw = f.read().strip()
            out = cls.b.ctl("--json", "client", "add", "svc1",
                            "--grant", "client_credentials",
                            "--scope", "reports.read").stdout
            cls.svc_secret = json.loads(out)["client_secret"]
        except Exception:
            cls.tearDownClass()
            raise

    # -- discovery -----------------------------------------------------------

    def test_discovery(self):
        r = self.b.request("GET", "/.well-known/openid-configuration")
        self.assertEqual(r.status, 200)
        d = r.json()
        self.assertEqual(d["issuer"], self.b.issuer)
        for k in ("authorization_endpoint", "token_endpoint", "jwks_uri",
                  "userinfo_endpoint", "end_session_endpoint"):
            self.assertTrue(d[k].startswith(self.b.issuer + "/"), k)
        self.assertEqual(d["code_challenge_methods_supported"], ["S256"])
        self.assertEqual(d["response_types_supported"], ["code"])
        self.assertIn("private_key_jwt",
                      d["token_endpoint_auth_methods_supported"])
        self.assertTrue(d["backchannel_logout_supported"])
        jw = self.b.request("GET", "/jwks.json")
        self.assertEqual(jw.status, 200)
        keys = jw.json()["keys"]
        self.assertGreaterEqual(len(keys), 1)
        self.assertTrue(all("d" not in k for k in keys))
        self.assertIn("max-age", jw.header("Cache-Control"))

    # -- the code flow -------------------------------------------------------

    def test_code_flow_tokens_and_userinfo(self):
        br, q, t = self.full_login()
        self.assertEqual(t["token_type"], "Bearer")
        h, idt = jwt_parts(t["id_token"])
        self.assertEqual(h["typ"], "JWT")
        self.assertEqual(idt["iss"], self.b.issuer)
        self.assertEqual(idt["aud"], "rp1")
        self.assertEqual(idt["sub"], "demo")
        self.assertEqual(idt["nonce"], q["nonce"])
        self.assertEqual(idt["amr"], ["pwd"])
        self.assertTrue(idt["acr"].endswith("aal1"))
        self.assertIn("sid", idt)
        self.assertLessEqual(idt["exp"] - idt["iat"], 3600)
        h, at = jwt_parts(t["access_token"])
        self.assertEqual(h["typ"], "at+jwt")
        for claim in ("iss", "sub", "aud", "exp", "iat", "jti", "client_id",
                      "scope", "acr", "amr", "auth_time", "sid", "groups"):
            self.assertIn(claim, at)
        self.assertEqual(at["exp"] - at["iat"], 300)
        # the tokens verify with our PEP library (brokerctl token verify)
        p = self.b.ctl("token", "verify", "--aud", "rp1", t["access_token"])
        self.assertEqual(json.loads(p.stdout)["sub"], "demo")
        p = self.b.ctl("token", "verify", "--aud", "rp1", "--typ", "JWT",
                       t["id_token"])
        self.assertEqual(json.loads(p.stdout)["nonce"], q["nonce"])
        u = self.b.request("GET", "/userinfo", headers={
            "Authorization": "Bearer " + t["access_token"]})
        self.assertEqual(u.status, 200, u.body)
        self.assertEqual(u.json()["sub"], "demo")
        self.assertEqual(u.json()["name"], "Demo User")
        # the login and the token are audited with request ids
        ev = [a["event"] for a in self.b.audit_lines()]
        self.assertIn("login.success", ev)
        self.assertIn("token.issued", ev)
        self.assertFalse(any(self.demo_pw in l for l in
                             open(self.b.audit).readlines() +
                             open(self.b.log).readlines()))

    def test_sso_session_reused_and_prompt_none(self):
        br, q, t = self.full_login()
        # a second authorization in the same browser needs no login
        r, q2, v2 = self.authorize(br)
        code = self.code_from(r, q2)
        # prompt=none works on a live session
        r, q3, v3 = self.authorize(br, prompt="none")
        self.code_from(r, q3)
        # prompt=login forces the form again
        r, q4, v4 = self.authorize(br, prompt="login")
        self.assertTrue(r.header("Location").startswith("/login?tx="))
        self.assertTrue(code)

    def test_prompt_none_without_session(self):
        r, q, v = self.authorize(Browser(self.b), prompt="none")
        self.assertEqual(r.status, 303)
        p = urllib.parse.parse_qs(urllib.parse.urlparse(
            r.header("Location")).query)
        self.assertEqual(p["error"], ["login_required"])
        self.assertEqual(p["state"], [q["state"]])

    def test_max_age_zero_forces_login(self):
        br, q, t = self.full_login()
        time.sleep(1.1)
        r, q2, v2 = self.authorize(br, max_age="0")
        self.assertTrue(r.header("Location").startswith("/login?tx="))

    # -- PKCE and code negatives ---------------------------------------------

    def test_missing_pkce_refused(self):
        r, q, v = self.authorize(Browser(self.b), code_challenge=None,
                                 code_challenge_method=None)
        self.assertEqual(self.redirect_error(r)["error"], ["invalid_request"])

    def test_plain_pkce_refused(self):
        r, q, v = self.authorize(Browser(self.b), code_challenge_method="plain")
        self.assertEqual(self.redirect_error(r)["error"], ["invalid_request"])

    def test_wrong_verifier_refused(self):
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        code = self.code_from(self.login(br, r), q)
        _, other = pkce()
        t = self.token({"grant_type": "authorization_code", "code": code,
                        "redirect_uri": RP_CB, "code_verifier": other * 1})
        self.assertEqual(t.status, 400)
        self.assertEqual(t.json()["error"], "invalid_grant")

    def test_replayed_code_refused_and_revokes(self):
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        code = self.code_from(self.login(br, r), q)
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": RP_CB, "code_verifier": v}
        t1 = self.token(form)
        self.assertEqual(t1.status, 200)
        self.assertTrue(self.introspect(t1.json()["access_token"])["active"])
        t2 = self.token(form)
        self.assertEqual(t2.status, 400)
        self.assertEqual(t2.json()["error"], "invalid_grant")
        self.assertEqual(t2.json()["code"], "SKM-4003")
        self.assertEqual(t2.json()["request_id"], t2.header("X-Request-Id"))
        # what the first redemption issued is revoked
        self.assertEqual(self.introspect(t1.json()["access_token"]),
                         {"active": False})
        rt = self.token({"grant_type": "refresh_token",
                         "refresh_token": t1.json()["refresh_token"]})
        self.assertEqual(rt.status, 400)

    def test_mismatched_redirect_uri_shown_not_redirected(self):
        r, q, v = self.authorize(Browser(self.b),
                                 redirect_uri="https://rp.example.test/other")
        self.assertEqual(r.status, 400)
        self.assertIsNone(r.header("Location"))
        self.assertIn(b"SKM-4001", r.body)
        self.assertIn(r.header("X-Request-Id").encode(), r.body)

    def test_open_redirect_attempts_refused(self):
        for uri in ("https://evil.example/cb", RP_CB + "/../../evil",
                    RP_CB + "?x=1", "https://rp.example.test/cb#frag",
                    "HTTPS://RP.EXAMPLE.TEST/cb", RP_CB + "%2F.."):
            r, q, v = self.authorize(Browser(self.b), redirect_uri=uri)
            self.assertEqual(r.status, 400, uri)
            self.assertIsNone(r.header("Location"), uri)

    def test_token_redirect_uri_must_match(self):
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        code = self.code_from(self.login(br, r), q)
        t = self.token({"grant_type": "authorization_code", "code": code,
                        "redirect_uri": RP_CB + "x", "code_verifier": v})
        self.assertEqual(t.json()["error"], "invalid_grant")

    def test_wrong_client_secret(self):
        t = self.token({"grant_type": "client_credentials"}, cid="svc1",
                       secret="not-the-secret")
        self.assertEqual(t.status, 401)
        self.assertEqual(t.json()["error"], "invalid_client")
        self.assertIn("Basic", t.header("WWW-Authenticate"))

    def test_repeated_parameter_refused(self):
        t = self.b.request(
            "POST", "/token",
            body="grant_type=client_credentials&grant_type=client_credentials",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic("svc1", self.svc_secret)})
        self.assertEqual(t.status, 400)
        self.assertEqual(t.json()["error"], "invalid_request")

    # -- login page negatives ------------------------------------------------

    def test_csrf_token_missing_refused(self):
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        page = br.get(r.header("Location"))
        tx = re.search(r'name="tx" value="([^"]+)"', page.body.decode()).group(1)
        p = br.post("/login", {"tx": tx, "username": "demo",
                               "password": self.demo_pw})
        self.assertEqual(p.status, 403)
        self.assertIn(b"SKM-4013", p.body)
        p = br.post("/login", {"tx": tx, "csrf": "x" * 43, "username": "demo",
                               "password": self.demo_pw})
        self.assertEqual(p.status, 403)

    def test_login_without_tx_cookie_refused(self):
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        page = br.get(r.header("Location"))
        html = page.body.decode()
        tx = re.search(r'name="tx" value="([^"]+)"', html).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        other = Browser(self.b)      # no cookie: a cross-site post
        p = other.post("/login", {"tx": tx, "csrf": csrf, "username": "demo",
                                  "password": self.demo_pw})
        self.assertEqual(p.status, 403)

    def test_one_transaction_one_login(self):
        # the same form posted four times at once (a double click, a
        # replay): the password stage's transaction is spent by the first
        # delete, so exactly one post logs in
        import threading
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        page = br.get(r.header("Location"))
        html = page.body.decode()
        form = {"tx": re.search(r'name="tx" value="([^"]+)"', html).group(1),
                "csrf": re.search(r'name="csrf" value="([^"]+)"',
                                  html).group(1),
                "username": "demo", "password": self.demo_pw}
        bars = threading.Barrier(4)
        out = []

        def post():
            b2 = Browser(self.b)
            b2.cookies = dict(br.cookies)
            bars.wait()
            out.append(b2.post("/login", form))

        ths = [threading.Thread(target=post) for _ in range(4)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(30)
        self.assertEqual(len(out), 4)
        ok = [x for x in out if x.status == 303]
        self.assertEqual(len(ok), 1, [x.status for x in out])
        self.code_from(ok[0], q)
        for x in out:
            if x.status != 303:
                self.assertEqual(x.status, 400)
                self.assertIn(b"SKM-4014", x.body)

    def test_wrong_password_same_answer_as_unknown_user(self):
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        a = self.login(br, r, password="wrong-password-123456")
        r, q, v = self.authorize(br)
        b = self.login(br, r, user="nosuchuser")
        for x in (a, b):
            self.assertEqual(x.status, 401)
            self.assertIn(b"SKM-4008", x.body)
            self.assertIsNone(x.header("Location"))
            self.assertIn(x.header("X-Request-Id").encode(), x.body)

    def test_login_page_languages(self):
        br = Browser(self.b)
        r, q, v = self.authorize(br, ui_locales="en")
        self.assertIn("lang=en", r.header("Location"))
        en = br.get(r.header("Location"))
        self.assertIn(b'<html lang="en"', en.body)
        self.assertIn(b"Sign in", en.body)
        r, q, v = self.authorize(br, ui_locales="ja")
        ja = br.get(r.header("Location"))
        self.assertIn(b'<html lang="ja"', ja.body)
        self.assertIn("サインイン".encode(), ja.body)
        # scripts only as files (the CSP forbids inline script)
        self.assertIsNone(re.search(rb"<script(?![^>]*\bsrc=)", ja.body))
        self.assertIn(b'autocomplete="current-password"', ja.body)

    def test_disabled_user_cannot_log_in(self):
        self.b.ctl("user", "add", "leaver", "--name", "Leaver",
                   "--mail", "leaver@example.test")
        pw = "correct horse battery staple 42"
        self.b.ctl("user", "passwd", "leaver", input=pw + "\n")
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        ok = self.login(br, r, user="leaver", password=pw)
        self.assertEqual(ok.status, 303)
        self.b.ctl("user", "disable", "leaver")
        br = Browser(self.b)
        r, q, v = self.authorize(br)
        no = self.login(br, r, user="leaver", password=pw)
        self.assertEqual(no.status, 401)

    # -- refresh -------------------------------------------------------------

    def test_refresh_rotation_and_reuse_revokes_family(self):
        br, q, t = self.full_login()
        r1 = self.token({"grant_type": "refresh_token",
                         "refresh_token": t["refresh_token"]})
        self.assertEqual(r1.status, 200, r1.body)
        t2 = r1.json()
        self.assertNotEqual(t2["refresh_token"], t["refresh_token"])
        self.assertIn("id_token", t2)
        # reuse of the rotated token: refused, and the family dies
        again = self.token({"grant_type": "refresh_token",
                            "refresh_token": t["refresh_token"]})
        self.assertEqual(again.json()["error"], "invalid_grant")
        fresh = self.token({"grant_type": "refresh_token",
                            "refresh_token": t2["refresh_token"]})
        self.assertEqual(fresh.json()["error"], "invalid_grant")
        self.assertFalse(self.introspect(t2["access_token"])["active"])
        self.assertIn("token.family_revoked",
                      [a["event"] for a in self.b.audit_lines()])

    def test_refresh_of_other_client_refused(self):
        br, q, t = self.full_login()
        r = self.token({"grant_type": "refresh_token",
                        "refresh_token": t["refresh_token"]},
                       cid="svc1", secret=self.svc_secret)
        self.assertEqual(r.status, 400)

    # -- introspection and revocation ----------------------------------------

    def test_introspection(self):
        br, q, t = self.full_login()
        i = self.introspect(t["access_token"])
        self.assertTrue(i["active"])
        self.assertEqual(i["client_id"], "rp1")
        self.assertEqual(i["sub"], "demo")
        self.assertIn("acr", i)
        self.assertEqual(self.introspect("garbage"), {"active": False})
        # another client may not read rp1's token
        self.assertEqual(self.introspect(t["access_token"], "svc1",
                                         self.svc_secret), {"active": False})
        ri = self.introspect(t["refresh_token"])
        self.assertTrue(ri["active"])
        self.assertEqual(ri["token_type"], "refresh_token")

    def test_revocation(self):
        br, q, t = self.full_login()
        r = self.b.request(
            "POST", "/revoke",
            body=urllib.parse.urlencode({"token": t["refresh_token"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic("rp1", self.secret)})
        self.assertEqual(r.status, 200)
        self.assertFalse(self.introspect(t["refresh_token"])["active"])
        self.assertFalse(self.introspect(t["access_token"])["active"])
        # unknown tokens are 200 too (RFC 7009 §2.2)
        r = self.b.request(
            "POST", "/revoke", body="token=nothing",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic("rp1", self.secret)})
        self.assertEqual(r.status, 200)

    # -- client credentials --------------------------------------------------

    def test_client_credentials_secret(self):
        t = self.token({"grant_type": "client_credentials",
                        "scope": "reports.read"}, cid="svc1",
                       secret=self.svc_secret)
        self.assertEqual(t.status, 200, t.body)
        self.assertNotIn("refresh_token", t.json())
        self.assertNotIn("id_token", t.json())
        h, at = jwt_parts(t.json()["access_token"])
        self.assertEqual(at["sub"], "svc1")
        self.assertEqual(at["scope"], "reports.read")
        bad = self.token({"grant_type": "client_credentials",
                          "scope": "admin"}, cid="svc1",
                         secret=self.svc_secret)
        self.assertEqual(bad.json()["error"], "invalid_scope")

    # -- RPA accounts: private_key_jwt ---------------------------------------

    def rpa(self, name, owner):
        kd = os.path.join(self.tmp.path, "rpa-" + name)
        tool = os.path.join(BUILD, "tests", "tokctl_test")
        subprocess.run([tool, "rotate", kd, "ES256"], check=True,
                       stdout=subprocess.PIPE)
        jwks = subprocess.run([tool, "jwks", kd], check=True,
                              stdout=subprocess.PIPE, text=True).stdout
        jf = os.path.join(kd, "public.jwks")
        with open(jf, "w") as f:
            f.write(jwks)
        self.b.ctl("rpa", "add", name, "--owner", owner, "--jwks", jf,
                   "--scope", "ledger.write")
        return kd

    def assertion(self, kd, cid, **over):
        now = int(time.time())
        claims = {"iss": cid, "sub": cid, "aud": self.b.issuer,
                  "jti": secrets.token_hex(16), "iat": now, "exp": now + 60}
        claims.update(over)
        tool = os.path.join(BUILD, "tests", "tokctl_test")
        return subprocess.run([tool, "sign", kd, "JWT", json.dumps(claims)],
                              check=True, stdout=subprocess.PIPE,
                              text=True).stdout.strip()

    def cc_jwt(self, cid, assertion):
        return self.token({"grant_type": "client_credentials",
                           "client_assertion_type":
                           "urn:ietf:params:oauth:client-assertion-type:"
                           "jwt-bearer", "client_assertion": assertion},
                          secret=False)

    def test_rpa_private_key_jwt(self):
        kd = self.rpa("robot1", "demo")
        a = self.assertion(kd, "robot1")
        t = self.cc_jwt("robot1", a)
        self.assertEqual(t.status, 200, t.body)
        h, at = jwt_parts(t.json()["access_token"])
        self.assertEqual(at["sub"], "robot1")
        self.assertEqual(at["owner"], "demo")
        self.assertEqual(at["scope"], "ledger.write")
        # the same assertion again: replay
        again = self.cc_jwt("robot1", a)
        self.assertEqual(again.status, 401)
        self.assertIn("replay", again.json()["error_description"])

    def test_rpa_expired_assertion(self):
        kd = self.rpa("robot2", "demo")
        now = int(time.time())
        t = self.cc_jwt("robot2", self.assertion(kd, "robot2", iat=now - 600,
                                                 exp=now - 300))
        self.assertEqual(t.status, 401)
        self.assertEqual(t.json()["error"], "invalid_client")

    def test_rpa_wrong_audience(self):
        kd = self.rpa("robot3", "demo")
        t = self.cc_jwt("robot3", self.assertion(kd, "robot3",
                                                 aud="https://other.example"))
        self.assertEqual(t.status, 401)

    def test_rpa_disabled_owner(self):
        self.b.ctl("user", "add", "owner9", "--name", "Owner Nine",
                   "--mail", "owner9@example.test")
        kd = self.rpa("robot9", "owner9")
        self.assertEqual(self.cc_jwt("robot9", self.assertion(
            kd, "robot9")).status, 200)
        self.b.ctl("user", "disable", "owner9")
        # refused within client_cache_ttl (5 s: the documented bound)
        t0 = time.time()
        while True:
            t = self.cc_jwt("robot9", self.assertion(kd, "robot9"))
            if t.status != 200 or time.time() - t0 > 7:
                break
            time.sleep(0.25)
        self.assertEqual(t.status, 401)
        self.assertEqual(t.json()["code"], "SKM-4015")
        self.assertLess(time.time() - t0, 6.5)

    def test_rpa_secret_auth_refused(self):
        self.rpa("robot4", "demo")
        t = self.token({"grant_type": "client_credentials"}, cid="robot4",
                       secret="anything")
        self.assertEqual(t.status, 401)

    # -- logout --------------------------------------------------------------

    def test_rp_initiated_and_backchannel_logout(self):
        br, q, t = self.full_login()
        sid = jwt_parts(t["id_token"])[1]["sid"]
        before = len(self.bcl.tokens)
        r = br.get("/logout?" + urllib.parse.urlencode({
            "id_token_hint": t["id_token"],
            "post_logout_redirect_uri": RP_CB, "state": "bye"}))
        self.assertEqual(r.status, 303, r.body)
        self.assertEqual(r.header("Location"), RP_CB + "?state=bye")
        # the back-channel receiver got a logout token for that session
        # (the outbox posts it after the answer)
        wait_for(lambda: len(self.bcl.tokens) > before)
        self.assertTrue(quiet(lambda: len(self.bcl.tokens)))
        self.assertEqual(len(self.bcl.tokens), before + 1)
        h, lt = jwt_parts(self.bcl.tokens[-1])
        self.assertEqual(h["typ"], "logout+jwt")
        self.assertEqual(lt["sid"], sid)
        self.assertEqual(lt["aud"], "rp1")
        self.assertIn("http://schemas.openid.net/event/backchannel-logout",
                      lt["events"])
        self.assertNotIn("nonce", lt)
        # the session is gone: prompt=none fails, tokens are inactive
        r, q2, v = self.authorize(br, prompt="none")
        self.assertEqual(self.redirect_error(r)["error"], ["login_required"])
        self.assertFalse(self.introspect(t["access_token"])["active"])
        # the session-bound refresh token too, before anyone tries it
        self.assertEqual(self.introspect(t["refresh_token"]),
                         {"active": False})
        ref = self.token({"grant_type": "refresh_token",
                          "refresh_token": t["refresh_token"]})
        self.assertEqual(ref.status, 400)

    # -- the outbox: deliveries off the request thread ----------------------

    def rp_login(self, rx):
        """A client whose back-channel logout URI is rx's; a login through
        it.  Returns (browser, token response, client_id)."""
        cid = "rp-" + secrets.token_hex(4)
        sec = json.loads(self.b.ctl(
            "--json", "client", "add", cid, "--redirect-uri", RP_CB,
            "--backchannel-logout-uri", rx.url).stdout)["client_secret"]
        br = Browser(self.b)
        r, q, v = self.authorize(br, client_id=cid)
        code = self.code_from(self.login(br, r), q)
        t = self.token({"grant_type": "authorization_code", "code": code,
                        "redirect_uri": RP_CB, "code_verifier": v},
                       cid=cid, secret=sec)
        self.assertEqual(t.status, 200, t.body)
        return br, t.json(), cid

    def bcl_log(self, rx):
        return [(l.get("status"), l.get("attempt"), l.get("result"))
                for l in self.b.log_lines()
                if l.get("event") == "logout.backchannel" and
                l.get("uri") == rx.url]

    def test_logout_does_not_wait_for_the_client(self):
        # a client that holds its answer: the logout has answered while
        # the client still holds the logout token's connection open
        rx = ScriptedReceiver([200], hold=True)
        self.addCleanup(rx.close)
        br, t, cid = self.rp_login(rx)
        r = br.get("/logout?" + urllib.parse.urlencode({
            "id_token_hint": t["id_token"]}))
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(rx.got.wait(10))
        self.assertTrue(rx.held_open())
        self.assertEqual(self.bcl_log(rx), [])
        delivered = self.outbox_metric("logout", "delivered")
        rx.release_ev.set()
        self.assertEqual(wait_for(lambda: self.bcl_log(rx)),
                         [(200, 1, "delivered")])
        self.assertTrue(wait_for(lambda: self.outbox_metric(
            "logout", "delivered") > delivered))
        lt = jwt_parts(rx.tokens()[0])[1]
        self.assertEqual((lt["aud"], lt["sid"]),
                         (cid, jwt_parts(t["id_token"])[1]["sid"]))

    def logout_to(self, statuses):
        """A login through a client whose receiver answers statuses, then
        its logout; returns (receiver, client_id)."""
        rx = ScriptedReceiver(statuses)
        self.addCleanup(rx.close)
        br, t, cid = self.rp_login(rx)
        r = br.get("/logout?" + urllib.parse.urlencode({
            "id_token_hint": t["id_token"]}))
        self.assertEqual(r.status, 200, r.body)
        return rx, cid

    def test_logout_token_tried_again_after_503(self):
        rx, cid = self.logout_to([503, 200])
        self.assertEqual(wait_for(lambda: len(self.bcl_log(rx)) >= 2 and
                                  self.bcl_log(rx)),
                         [(503, 1, "failed"), (200, 2, "delivered")])
        # the same token both times
        toks = rx.tokens()
        self.assertEqual(len(toks), 2)
        self.assertEqual(toks[0], toks[1])
        self.assertEqual(jwt_parts(toks[0])[1]["aud"], cid)

    def outbox_metric(self, kind, result):
        text = self.b.request("GET", "/metrics").body.decode()
        m = re.search(r'(?m)^sekimori_outbox_deliveries_total\{kind="%s",'
                      r'result="%s"\} (\d+)$' % (kind, result), text)
        self.assertIsNotNone(m, text)
        return int(m.group(1))

    def test_logout_token_given_up_after_three_attempts(self):
        rx, cid = self.logout_to([503])
        # 2 s, then 8 s apart
        self.assertEqual(wait_for(lambda: len(self.bcl_log(rx)) >= 3 and
                                  self.bcl_log(rx), timeout=20),
                         [(503, 1, "failed"), (503, 2, "failed"),
                          (503, 3, "failed")])
        ev = wait_for(lambda: [
            a for a in self.b.audit_lines()
            if a["event"] == "logout.backchannel_undelivered" and
            a["uri"] == rx.url])
        lt = jwt_parts(rx.tokens()[0])[1]
        self.assertEqual([(a["attempts"], a["sid"], a["jti"]) for a in ev],
                         [(3, lt["sid"], lt["jti"])])
        self.assertFalse(wait_for(lambda: len(rx.bodies) > 3, timeout=1))

    def test_logout_token_refused_is_not_sent_again(self):
        before = self.outbox_metric("logout", "undelivered")
        rx, cid = self.logout_to([400, 200])
        self.assertEqual(wait_for(lambda: self.bcl_log(rx)),
                         [(400, 1, "refused")])
        # a retry would come 2 s later: none does
        self.assertFalse(wait_for(lambda: len(rx.bodies) > 1, timeout=3.5))
        self.assertTrue(wait_for(lambda: [
            a for a in self.b.log_lines()
            if a.get("event") == "logout.backchannel_undelivered" and
            a.get("uri") == rx.url]))
        self.assertEqual(self.outbox_metric("logout", "undelivered"),
                         before + 1)

    def log_out(self, br, t):
        r = br.get("/logout?" + urllib.parse.urlencode({
            "id_token_hint": t["id_token"]}))
        self.assertEqual(r.status, 200, r.body)

    def outbox_down(self):
        text = self.b.request("GET", "/metrics").body.decode()
        m = re.search(r"(?m)^sekimori_outbox_receivers_down (\d+)$", text)
        self.assertIsNotNone(m, text)
        return int(m.group(1))

    def test_a_receiver_that_never_answers_holds_up_no_other(self):
        # three logouts to a client that never answers, then one to a
        # client that does: the last is delivered while the first is
        # still unanswered and before any attempt at the dead one has
        # timed out (with every worker waiting on the dead one, it came
        # only after 3 s, behind two timeouts)
        dead = ScriptedReceiver([200], hold=True)
        self.addCleanup(dead.close)
        live = ScriptedReceiver([200])
        self.addCleanup(live.close)
        gone = [self.rp_login(dead) for _ in range(3)]
        br, t, cid = self.rp_login(live)
        for b, tok, _ in gone:
            self.log_out(b, tok)
        self.assertTrue(dead.got.wait(10))
        self.log_out(br, t)
        self.assertEqual(wait_for(lambda: self.bcl_log(live)),
                         [(200, 1, "delivered")])
        self.assertEqual(self.bcl_log(dead), [])
        self.assertTrue(dead.held_open())
        self.assertEqual(len(dead.bodies), 1)

    def test_a_failing_receiver_is_held_down_until_a_probe_answers(self):
        # four logouts to one receiver that fails three times: after the
        # third failure it is down, and the fourth token's first attempt
        # fails without a connection; the retry 2 s later is a probe,
        # answered, and then every token is delivered
        rx = ScriptedReceiver([503, 503, 503, 200])
        self.addCleanup(rx.close)
        down = self.outbox_down()
        logins = [self.rp_login(rx) for _ in range(4)]
        for b, tok, _ in logins:
            self.log_out(b, tok)
        origin = rx.url.rsplit("/", 1)[0]
        ev = wait_for(lambda: [l for l in self.b.log_lines()
                               if l.get("event") == "outbox.receiver_down"
                               and l.get("receiver") == origin])
        self.assertEqual([l["failed_attempts"] for l in ev], [3])
        self.assertEqual(self.outbox_down(), down + 1)
        self.assertIn((0, 1, "receiver down"),
                      wait_for(lambda: len(self.bcl_log(rx)) >= 4 and
                               self.bcl_log(rx)))
        self.assertEqual(len(rx.bodies), 3)
        self.assertTrue(wait_for(lambda: [
            l for l in self.b.log_lines()
            if l.get("event") == "outbox.receiver_up" and
            l.get("receiver") == origin], timeout=15))
        self.assertEqual(self.outbox_down(), down)
        sids = {jwt_parts(tok["id_token"])[1]["sid"] for _, tok, _ in logins}
        self.assertEqual(len(sids), 4)
        # delivered: the 4th request and those after it were answered 200
        self.assertTrue(wait_for(lambda: {
            jwt_parts(x)[1]["sid"] for x in rx.tokens()[3:]} == sids,
            timeout=20), rx.tokens())

    def test_logout_without_hint_asks_first(self):
        br, q, t = self.full_login()
        r = br.get("/logout")
        self.assertEqual(r.status, 200)
        html = r.body.decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        # a forged post without the token does not log out
        bad = br.post("/logout", {"csrf": "x"})
        self.assertEqual(bad.status, 200)
        self.assertIn(b'name="csrf"', bad.body)
        ok = br.post("/logout", {"csrf": csrf})
        self.assertEqual(ok.status, 200)
        self.assertNotIn(b'name="csrf"', ok.body)
        r, q2, v = self.authorize(br, prompt="none")
        self.assertEqual(self.redirect_error(r)["error"], ["login_required"])

    def test_logout_unregistered_redirect_refused(self):
        br, q, t = self.full_login()
        r = br.get("/logout?" + urllib.parse.urlencode({
            "id_token_hint": t["id_token"],
            "post_logout_redirect_uri": "https://evil.example/"}))
        self.assertEqual(r.status, 400)
        self.assertIsNone(r.header("Location"))


class SessionLimitTest(OIDCFlows, unittest.TestCase):
    """max_sessions_per_user: past the limit a login ends the user's oldest
    sessions as a logout would (back-channel logout, refresh refused), and
    only that user's."""
    LIMIT = 3

    @classmethod
    def setUpClass(cls):
        try:
            cls.start_stack({"max_sessions_per_user": str(cls.LIMIT)})
            cls.demo_pw = "Limit-" + secrets.token_hex(8)
            cls.b.ctl("user", "add", "capped", "--name", "Capped Staff")
            cls.b.ctl("user", "passwd", "capped", input=cls.demo_pw + "\n")
        except Exception:
            cls.tearDownClass()
            raise

    login_user = "capped"

    def alive(self, br):
        """Does the browser's session still give a code without a login?"""
        r, q, v = self.authorize(br, prompt="none")
        self.assertEqual(r.status, 303, r.body)
        return "code=" in r.header("Location")

    def test_expired_sessions_do_not_count(self):
        # sessions past their expiry that the prune has not taken yet are
        # no live sessions: newer than two live ones and more than a login
        # reads, they must neither push those out nor hide the oldest
        pw = "Limit2-" + secrets.token_hex(8)
        self.b.ctl("user", "add", "capped2", "--name", "Capped Two")
        self.b.ctl("user", "passwd", "capped2", input=pw + "\n")

        def login():
            br = Browser(self.b)
            r, q, v = self.authorize(br)
            self.code_from(self.login(br, r, user="capped2", password=pw),
                           q)
            return br
        brs = [login(), login()]
        ldif = "".join(
            "dn: cn=expired%d,ou=sess,ou=state,%s\nobjectClass: skmState\n"
            "cn: expired%d\nskmStateData: {}\nskmStateVersion: v%d\n"
            "skmStateExpires: %d\nskmStateSubject: capped2\n\n"
            % (i, self.slapd.base, i, i, int(time.time()) - 10)
            for i in range(20))
        self.slapd.ldap("ldapadd", stdin=ldif)
        brs.append(login())             # three live: at the limit
        self.assertTrue(all(self.alive(br) for br in brs))
        self.assertEqual([a for a in self.b.audit_lines()
                          if a["event"] == "session.evicted" and
                          a["uid"] == "capped2"], [])
        brs.append(login())             # four: the oldest live one goes
        self.assertFalse(self.alive(brs[0]))
        self.assertTrue(all(self.alive(br) for br in brs[1:]))
        self.assertEqual(len([a for a in self.b.audit_lines()
                              if a["event"] == "session.evicted" and
                              a["uid"] == "capped2"]), 1)

    def test_oldest_sessions_end_past_the_limit(self):
        # another user's session, which the limit of "capped" never touches
        other = Browser(self.b)
        r, q, v = self.authorize(other)
        self.code_from(self.login(other, r, user="demo",
                                  password=self.slapd.demo_password()), q)
        logins = [self.full_login() for _ in range(self.LIMIT)]
        sids = [jwt_parts(t["id_token"])[1]["sid"] for _, _, t in logins]
        self.assertTrue(all(self.alive(br) for br, _, _ in logins))
        before = len(self.bcl.tokens)
        # one more: the oldest session goes, the others stay
        br4, _, t4 = self.full_login()
        self.assertFalse(self.alive(logins[0][0]))
        self.assertTrue(all(self.alive(br) for br, _, _ in logins[1:]))
        self.assertTrue(self.alive(br4))
        self.assertTrue(self.alive(other))
        # ended as a logout ends it: its client is told, its session-bound
        # refresh token is refused, the audit stream says why
        wait_for(lambda: len(self.bcl.tokens) > before)
        self.assertTrue(quiet(lambda: len(self.bcl.tokens)))
        self.assertEqual(len(self.bcl.tokens), before + 1)
        self.assertEqual(jwt_parts(self.bcl.tokens[-1])[1]["sid"], sids[0])
        ref = self.token({"grant_type": "refresh_token",
                          "refresh_token": logins[0][2]["refresh_token"]})
        self.assertEqual(ref.status, 400, ref.body)
        ref = self.token({"grant_type": "refresh_token",
                          "refresh_token": logins[1][2]["refresh_token"]})
        self.assertEqual(ref.status, 200, ref.body)
        ev = [a for a in self.b.audit_lines()
              if a["event"] == "session.evicted" and a["uid"] == "capped"]
        self.assertEqual([(a["uid"], a["sid"], a["limit"]) for a in ev],
                         [("capped", sids[0], self.LIMIT)])
        # two more logins: the next two oldest go, in order
        self.full_login()
        self.full_login()
        ev = [a["sid"] for a in self.b.audit_lines()
              if a["event"] == "session.evicted" and a["uid"] == "capped"]
        self.assertEqual(ev, sids)
        self.assertFalse(any(self.alive(br) for br, _, _ in logins))
        self.assertTrue(self.alive(br4))


class DirectoryMapTest(OIDCFlows, unittest.TestCase):
    """The broker watches how much of slapd's LMDB map is in use (a full
    map fails every write): gauges in /metrics, a warning past 80 %."""

    @classmethod
    def setUpClass(cls):
        try:
            cls.start_stack()
        except Exception:
            cls.tearDownClass()
            raise

    def map_gauges(self):
        text = self.b.request("GET", "/metrics").body.decode()
        pages = dict(re.findall(
            r'(?m)^sekimori_directory_map_pages\{kind="(\w+)"\} (\d+)$',
            text))
        ratio = re.search(r"(?m)^sekimori_directory_map_in_use_ratio "
                          r"([0-9.]+)$", text)
        self.assertEqual(sorted(pages), ["free", "max", "used"], text)
        self.assertIsNotNone(ratio, text)
        return {k: int(v) for k, v in pages.items()}, float(ratio.group(1))

    def set_map_size(self, size):
        self.slapd.ldap("ldapmodify", stdin=(
            "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\n"
            "replace: olcDbMaxSize\nolcDbMaxSize: %d\n" % size))

    def map_events(self):
        return [(l["event"], l["level"]) for l in self.b.log_lines()
                if l.get("event", "").startswith("directory.map_")]

    def test_map_use_watched(self):
        pages, ratio = self.map_gauges()
        self.assertEqual(pages["max"], 16 * 2 ** 30 // 4096)  # the template
        self.assertGreater(pages["used"], pages["free"])
        self.assertAlmostEqual(
            ratio, (pages["used"] - pages["free"]) / pages["max"], places=5)
        self.assertLess(ratio, 0.8)
        self.assertEqual(self.map_events(), [])
        # a directory with some state in it, then a map only that large
        # (LMDB rounds a smaller size up to the pages the file reached)
        pad = "x" * 3000
        self.slapd.ldap("ldapadd", stdin="".join(
            "dn: cn=fill%d,ou=sess,ou=state,%s\nobjectClass: skmState\n"
            "cn: fill%d\nskmStateData: {\"pad\":\"%s\"}\n"
            "skmStateVersion: v%d\nskmStateExpires: %d\n\n"
            % (i, self.slapd.base, i, pad, i, int(time.time()) + 3600)
            for i in range(150)))
        self.addCleanup(self.set_map_size, 16 * 2 ** 30)
        self.set_map_size(4096)
        pages, ratio = self.map_gauges()
        self.assertEqual(pages["max"], pages["used"])
        self.assertGreaterEqual(ratio, 0.8)
        self.assertIn(self.map_events()[0],
                      [("directory.map_filling", "warn"),
                       ("directory.map_filling", "err")])
        # room again: back to normal, said once
        self.set_map_size(16 * 2 ** 30)
        pages, ratio = self.map_gauges()
        self.assertEqual(pages["max"], 16 * 2 ** 30 // 4096)
        self.assertLess(ratio, 0.8)
        self.assertEqual(self.map_events()[-1], ("directory.map_ok", "info"))


if __name__ == "__main__":
    unittest.main()
