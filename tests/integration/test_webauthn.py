"""WebAuthn end to end through the JSON endpoints the page script calls,
with tests/helpers/wa_cli (the software authenticator producing real
CTAP2 bytes) in place of the browser: registration from the account page,
the key as second factor, usernameless passkey sign-in, clone detection
(sign-count regression: refused, suspended, audited), a wrong origin
refused, the administrators' two-person rule and bootstrap, the admin
step-up to AAL3, and an MDS BLOB marking the model compromised.  Real
slapd, real brokerd, real HTTPS."""
import json
import os
import re
import secrets
import signal
import subprocess
import time
import unittest
import urllib.parse

from harness import BUILD, Broker, Browser, TempDir
from ldap_harness import Slapd
from test_oidc import RP_CB, basic, jwt_parts, pkce

PW = "Kq7 tundra-lantern 91 mosaic"
WA_CLI = os.path.join(BUILD, "tests", "wa_cli")


def wa_cli(*args, input=None):
    env = dict(os.environ)
    # a short-lived helper: its leaks are not the broker's
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    p = subprocess.run([WA_CLI] + list(args), input=input, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("wa_cli %s: %s" % (" ".join(args), p.stderr))
    return p.stdout.strip()


def totp(key, offset=0):
    return subprocess.run(["oathtool", "--totp", "-b", "-N",
                           "@%d" % (int(time.time()) + offset), key],
                          check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def steady():
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.2)


def field(html, name):
    return re.search(r'name="%s" value="([^"]*)"' % name, html).group(1)


class WebAuthnBase(unittest.TestCase):
    EXTRA = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir(prefix="skm-wa-")
        cls.slapd = Slapd(cls.tmp.path)
        cls.b = None
        try:
            cls.pki = os.path.join(cls.tmp.path, "pki")
            wa_cli("pki", cls.pki)
            cls.aaguid = wa_cli("aaguid")
            cls.slapd.start()
            # administrators' keys need identity proofing (proofing.md)
            pkey = os.path.join(cls.tmp.path, "wa-proofing.key")
            fd = os.open(pkey, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, (secrets.token_urlsafe(32) + "\n").encode())
            os.close(fd)
            extra = {"webauthn_roots_dir": os.path.join(cls.pki, "roots"),
                     "webauthn_aaguids": cls.aaguid,
                     "proofing_key_file": pkey}
            extra.update(cls.extra_conf())
            cls.b = Broker(os.path.join(cls.tmp.path, "broker"),
                           cls.slapd.env_lines(), extra=extra)
            cls.b.start()
            cls.origin = cls.b.issuer
            out = cls.b.ctl("--json", "client", "add", "rp1",
                            "--redirect-uri", RP_CB).stdout
            cls.secret = json.loads(out)["client_secret"]
            cls.b.ctl("group", "add", "administrators")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def extra_conf(cls):
        return {}

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "b", None):
            cls.b.stop()
        cls.slapd.stop()
        cls.tmp.cleanup()

    # -- helpers -------------------------------------------------------------

    def store(self, name):
        return os.path.join(self.tmp.path, "store-%s-%s.json"
                            % (name, secrets.token_hex(3)))

    def user(self, prefix="u"):
        uid = "%s%s" % (prefix, secrets.token_hex(3))
        self.b.ctl("user", "add", uid, "--name", "Staff Member")
        self.b.ctl("user", "passwd", uid, input=PW + "\n")
        return uid

    def audit(self, event, **match):
        return [a for a in self.b.audit_lines() if a.get("event") == event
                and all(a.get(k) == v for k, v in match.items())]

    def password_form(self, br, loc, uid):
        page = br.get(loc)
        self.assertEqual(page.status, 200, page.body)
        html = page.body.decode()
        return br.post("/login", {"tx": field(html, "tx"),
                                  "csrf": field(html, "csrf"),
                                  "username": uid, "password": PW})

    def account_login(self, br, uid, key=None, store=None):
        """Sign in to the account page; with TOTP (key) or a WebAuthn
        key (store) when the login asks for one."""
        r = br.get("/account")
        self.assertEqual(r.status, 303)
        r = self.password_form(br, r.header("Location"), uid)
        self.assertEqual(r.status, 303, r.body)
        loc = r.header("Location")
        if loc.startswith("/login/otp"):
            page = br.get(loc).body.decode()
            steady()
            r = br.post("/login/otp", {"tx": field(page, "tx"),
                                       "csrf": field(page, "csrf"),
                                       "code": totp(key)})
            self.assertEqual(r.status, 303, r.body)
            loc = r.header("Location")
        elif loc.startswith("/login/webauthn"):
            r = self.webauthn_stage(br, loc, store)
            self.assertEqual(r.status, 303, r.body)
            loc = r.header("Location")
        self.assertEqual(loc, "/account")
        return br.get("/account")

    def account_csrf(self, br):
        page = br.get("/account")
        self.assertEqual(page.status, 200, page.body)
        return field(page.body.decode(), "csrf"), page

    def register(self, br, store, kind="passkey", att="none", label="k",
                 code=None, cli=(), expect=303):
        csrf, _ = self.account_csrf(br)
        r = br.post("/webauthn/register/options",
                    {"csrf": csrf, "kind": kind})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.header("content-type").split(";")[0],
                         "application/json")
        opts = r.body.decode()
        args = ["create", store, self.origin, "--att", att] + list(cli)
        if att == "full":
            args += ["--pki", self.pki]
        cred = wa_cli(*args, input=opts)
        form = {"csrf": csrf, "action": "register", "kind": kind,
                "credential": cred, "label": label}
        if code is not None:
            form["code"] = code
        r = br.post("/account/webauthn", form)
        self.assertEqual(r.status, expect, r.body)
        return json.loads(cred)["id"], json.loads(opts)

    def keys(self, uid):
        out = self.b.ctl("--json", "webauthn", "list", uid).stdout
        return json.loads(out)

    def webauthn_stage(self, br, loc, store, cli=()):
        """The login stage page: options, the authenticator, the form."""
        page = br.get(loc)
        self.assertEqual(page.status, 200, page.body)
        html = page.body.decode()
        self.assertIn('src="/static/webauthn.js"', html)
        return self.assert_with_key(br, field(html, "tx"),
                                    field(html, "csrf"), store, cli)

    def assert_with_key(self, br, tx, csrf, store, cli=(), origin=None):
        r = br.post("/webauthn/login/options", {"tx": tx, "csrf": csrf})
        self.assertEqual(r.status, 200, r.body)
        cred = wa_cli("get", store, origin or self.origin, *cli,
                      input=r.body.decode())
        return br.post("/login/webauthn", {"tx": tx, "csrf": csrf,
                                           "credential": cred})

    def authorize(self, br, **extra):
        v, c = pkce()
        q = {"response_type": "code", "client_id": "rp1",
             "redirect_uri": RP_CB, "scope": "openid", "state": "s1",
             "nonce": "n1", "code_challenge": c,
             "code_challenge_method": "S256"}
        q.update(extra)
        return br.get("/authorize?" + urllib.parse.urlencode(q)), v

    def redeem(self, r, v):
        self.assertEqual(r.status, 303, r.body)
        loc = r.header("Location")
        self.assertTrue(loc.startswith(RP_CB + "?"), loc)
        code = urllib.parse.parse_qs(
            urllib.parse.urlparse(loc).query)["code"][0]
        t = self.b.request(
            "POST", "/token", body=urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": RP_CB, "code_verifier": v}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic("rp1", self.secret)})
        self.assertEqual(t.status, 200, t.body)
        return jwt_parts(t.json()["id_token"])[1]

    def login_page(self, br):
        r, v = self.authorize(br)
        self.assertEqual(r.status, 303, r.body)
        page = br.get(r.header("Location"))
        self.assertEqual(page.status, 200)
        return page.body.decode(), v

    def user_with_key(self, kind="passkey", att="none", cli=()):
        uid = self.user()
        br = Browser(self.b)
        self.account_login(br, uid)
        store = self.store(uid)
        cid, _ = self.register(br, store, kind=kind, att=att, cli=cli)
        return uid, store, cid

    def enrol_totp(self, br):
        csrf, _ = self.account_csrf(br)
        r = br.post("/account/totp", {"csrf": csrf, "action": "start"})
        self.assertEqual(r.status, 200, r.body)
        key = re.search(r'id="totp-key">([A-Z2-7=]+)<',
                        r.body.decode()).group(1)
        steady()
        r = br.post("/account/totp", {"csrf": csrf, "action": "confirm",
                                      "code": totp(key, -30)})
        self.assertEqual(r.status, 200, r.body)
        return key


class WebAuthnTest(WebAuthnBase):
    # -- registration and login ---------------------------------------------

    def test_register_and_second_factor_login(self):
        uid, store, cid = self.user_with_key(kind="key")
        keys = self.keys(uid)
        self.assertEqual(len(keys), 1)
        self.assertEqual(keys[0]["state"], "active")
        self.assertEqual(keys[0]["aaguid"], self.aaguid)
        self.assertTrue(self.audit("factor.enrolled", uid=uid,
                                   method="webauthn"))
        # the account page lists it
        br = Browser(self.b)
        page = self.account_login(br, uid, store=store).body.decode()
        self.assertIn('data-state="active"', page)
        # password, then the key, then a code for the client
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), uid)
        self.assertEqual(r.status, 303, r.body)
        self.assertTrue(r.header("Location").startswith(
            "/login/webauthn?tx="), r.header("Location"))
        r = self.webauthn_stage(br, r.header("Location"), store)
        idt = self.redeem(r, v)
        self.assertTrue(idt["acr"].endswith("aal2"), idt)
        for m in ("pwd", "swk", "mfa"):
            self.assertIn(m, idt["amr"])
        self.assertTrue(self.audit("webauthn.used", uid=uid))

    def test_options_need_session_and_csrf(self):
        br = Browser(self.b)
        r = br.post("/webauthn/register/options", {"csrf": "x",
                                                   "kind": "passkey"})
        self.assertEqual(r.status, 403)
        uid = self.user()
        self.account_login(br, uid)
        r = br.post("/webauthn/register/options", {"csrf": "x" * 43,
                                                   "kind": "passkey"})
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["code"], "SKM-4013")

    def test_script_served_as_file(self):
        r = self.b.request("GET", "/static/webauthn.js")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith(
            "text/javascript"))
        self.assertIn("public", r.header("cache-control"))
        self.assertIn(b"navigator.credentials.create", r.body)

    def test_passkey_usernameless_login(self):
        uid, store, cid = self.user_with_key(kind="passkey")
        br = Browser(self.b)
        html, v = self.login_page(br)
        self.assertIn('id="passkey-form"', html)
        tx, csrf = field(html, "tx"), field(html, "csrf")
        r = br.post("/webauthn/login/options", {"tx": tx, "csrf": csrf})
        self.assertEqual(r.status, 200, r.body)
        opts = r.json()["publicKey"]
        self.assertEqual(opts["allowCredentials"], [])
        self.assertEqual(opts["userVerification"], "required")
        cred = wa_cli("get", store, self.origin, "--cred", cid,
                      input=r.body.decode())
        r = br.post("/login/webauthn", {"tx": tx, "csrf": csrf,
                                        "credential": cred})
        idt = self.redeem(r, v)
        self.assertEqual(idt["sub"], uid)
        self.assertTrue(idt["acr"].endswith("aal2"), idt)
        self.assertNotIn("pwd", idt["amr"])
        self.assertIn("mfa", idt["amr"])
        self.assertTrue(self.audit("login.success", uid=uid,
                                   method="passkey"))

    def test_passkey_without_uv_refused(self):
        uid, store, cid = self.user_with_key(kind="passkey")
        br = Browser(self.b)
        html, _ = self.login_page(br)
        r = self.assert_with_key(br, field(html, "tx"), field(html, "csrf"),
                                 store, ("--cred", cid, "--no-uv"))
        self.assertEqual(r.status, 401, r.body)
        self.assertIn(b"SKM-6007", r.body)

    def test_replayed_response_refused(self):
        uid, store, cid = self.user_with_key(kind="key")
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), uid)
        html = br.get(r.header("Location")).body.decode()
        tx, csrf = field(html, "tx"), field(html, "csrf")
        r = br.post("/webauthn/login/options", {"tx": tx, "csrf": csrf})
        cred = wa_cli("get", store, self.origin, input=r.body.decode())
        # a wrong first attempt spends the challenge: the same response
        # cannot be replayed afterwards
        bad = json.loads(cred)
        bad["response"]["signature"] = bad["response"]["signature"][:-4] + \
            "AAAA"
        r = br.post("/login/webauthn", {"tx": tx, "csrf": csrf,
                                        "credential": json.dumps(bad)})
        self.assertEqual(r.status, 401, r.body)
        r = br.post("/login/webauthn", {"tx": tx, "csrf": csrf,
                                        "credential": cred})
        self.assertEqual(r.status, 401, r.body)
        self.assertIn(b"SKM-6007", r.body)

    def test_wrong_origin_refused(self):
        uid, store, cid = self.user_with_key(kind="key")
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), uid)
        html = br.get(r.header("Location")).body.decode()
        r = self.assert_with_key(br, field(html, "tx"), field(html, "csrf"),
                                 store, origin="https://evil.example")
        self.assertEqual(r.status, 401, r.body)
        self.assertIn(b"SKM-6007", r.body)
        self.assertTrue(self.audit("factor.failure", uid=uid,
                                   method="webauthn"))

    def test_wrong_origin_registration_refused(self):
        uid = self.user()
        br = Browser(self.b)
        self.account_login(br, uid)
        csrf, _ = self.account_csrf(br)
        r = br.post("/webauthn/register/options",
                    {"csrf": csrf, "kind": "passkey"})
        cred = wa_cli("create", self.store(uid), "https://evil.example",
                      input=r.body.decode())
        r = br.post("/account/webauthn", {"csrf": csrf, "action": "register",
                                          "kind": "passkey",
                                          "credential": cred})
        self.assertEqual(r.status, 401, r.body)
        self.assertEqual(self.keys(uid), [])

    def test_sign_count_regression_suspends(self):
        uid, store, cid = self.user_with_key(kind="key")
        # counter 5 first (accepted), then 3: a second copy of the key
        for counter, status in (("5", 303), ("3", 401)):
            br = Browser(self.b)
            r, v = self.authorize(br)
            r = self.password_form(br, r.header("Location"), uid)
            r = self.webauthn_stage(br, r.header("Location"), store,
                                    ("--counter", counter))
            self.assertEqual(r.status, status, r.body)
        self.assertIn(b"SKM-6002", r.body)
        ev = self.audit("webauthn.clone_suspected", uid=uid)
        self.assertEqual(len(ev), 1)
        self.assertEqual((ev[0]["stored"], ev[0]["presented"]), (5, 3))
        self.assertTrue(self.audit("webauthn.suspended", uid=uid,
                                   reason="sign_count"))
        self.assertEqual(self.keys(uid)[0]["state"], "suspended")
        # suspended until re-proofing: even a good counter is refused;
        # the login cannot even offer the key any more
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), uid)
        self.assertEqual(r.status, 303, r.body)
        self.assertEqual(r.header("Location").split("?")[0], RP_CB)

    def test_key_registered_twice_refused(self):
        uid, store, cid = self.user_with_key(kind="key")
        other = self.user()
        br = Browser(self.b)
        self.account_login(br, other)
        csrf, _ = self.account_csrf(br)
        r = br.post("/webauthn/register/options",
                    {"csrf": csrf, "kind": "key"})
        # the same credential id (the authenticator reused it)
        st = json.load(open(store))
        resp = json.loads(wa_cli("create", self.store(other), self.origin,
                                 input=r.body.decode()))
        resp["id"] = resp["rawId"] = st[0]["id"]
        r = br.post("/account/webauthn", {"csrf": csrf, "action": "register",
                                          "kind": "key",
                                          "credential": json.dumps(resp)})
        self.assertIn(r.status, (401, 409), r.body)
        self.assertEqual(self.keys(other), [])

    def test_remove_key(self):
        uid, store, cid = self.user_with_key(kind="key")
        br = Browser(self.b)
        self.account_login(br, uid, store=store)
        csrf, _ = self.account_csrf(br)
        key = self.keys(uid)[0]["key"]
        r = br.post("/account/webauthn", {"csrf": csrf, "action": "remove",
                                          "key": key})
        self.assertEqual(r.status, 303, r.body)
        self.assertEqual(self.keys(uid), [])
        self.assertTrue(self.audit("factor.removed", uid=uid,
                                   method="webauthn"))

    # -- administrators ------------------------------------------------------

    def admin(self, prefix):
        """A user with TOTP, then made an administrator."""
        uid = self.user(prefix)
        br = Browser(self.b)
        self.account_login(br, uid)
        key = self.enrol_totp(br)
        self.b.ctl("group", "add-member", "administrators", uid)
        # administrators are proofed at IAL3 in person (proofing.md)
        self.b.ctl("proofing", "add", uid, "--ial", "3", "--method",
                   "in_person", "--name", "Staff Member", "--evidence-type",
                   "passport", "--issuer", "MOFA", "--country", "JP",
                   "--valid-until", "2033-01-01",
                   input="TK%08d\n" % secrets.randbelow(10 ** 8))
        return uid, key

    def test_admin_two_person_rule(self):
        a1, k1 = self.admin("adma")
        s1 = self.store(a1)
        # bootstrap: the operator's one-time code for the first admin
        out = json.loads(self.b.ctl("--json", "webauthn", "bootstrap",
                                    a1).stdout)
        code = out["code"]
        self.assertTrue(self.audit("webauthn.bootstrap_issued", uid=a1))
        br1 = Browser(self.b)
        self.account_login(br1, a1, key=k1)          # AAL2 (TOTP)
        # an admin may register only attested hardware keys
        csrf, _ = self.account_csrf(br1)
        r = br1.post("/webauthn/register/options",
                     {"csrf": csrf, "kind": "key"})
        self.assertEqual(r.json()["publicKey"]["attestation"], "direct")
        self.register(br1, s1, kind="key", att="none", expect=400)
        self.register(br1, s1, kind="key", att="full", code="x" * 43,
                      expect=403)                    # wrong code
        k1id, _ = self.register(br1, s1, kind="key", att="full",
                                label="first", code=code)
        self.assertEqual([k["state"] for k in self.keys(a1)], ["active"])
        # the code is single-use
        self.register(br1, s1, kind="key", att="full", code=code,
                      expect=403)
        # bootstrap is over: the console commands refuse
        for args in (("webauthn", "list-pending"),
                     ("webauthn", "bootstrap", a1)):
            p = self.b.ctl(*args, check=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("refused", p.stderr)

        # a second key of the first admin: pending; not self-approvable
        k1b, _ = self.register(br1, s1, kind="key", att="full",
                               label="spare")
        self.assertTrue(self.audit("webauthn.enrolment_pending", uid=a1))
        br = Browser(self.b)
        r = br.get("/admin/approvals")
        self.assertEqual(r.status, 303)
        r = self.password_form(br, r.header("Location"), a1)
        self.assertTrue(r.header("Location").startswith("/login/webauthn"),
                        r.header("Location"))
        r = self.webauthn_stage(br, r.header("Location"), s1,
                                ("--cred", k1id))
        self.assertEqual(r.status, 303, r.body)
        self.assertEqual(r.header("Location"), "/admin/approvals")
        page = br.get("/admin/approvals")
        self.assertEqual(page.status, 200, page.body)
        html = page.body.decode()
        spare = [k for k in self.keys(a1) if k["state"] == "pending"][0]
        self.assertIn(spare["key"], html)
        self.assertNotIn('name="key" value="%s"' % spare["key"], html)
        r = br.post("/admin/approvals", {"csrf": self.session_csrf(br),
                                         "uid": a1, "key": spare["key"]})
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-6004", r.body)
        self.assertTrue(self.audit("webauthn.approval_refused",
                                   approver=a1, uid=a1))

        # the second admin: AAL2 with TOTP, registers a key -> pending
        a2, k2 = self.admin("admb")
        s2 = self.store(a2)
        br2 = Browser(self.b)
        self.account_login(br2, a2, key=k2)
        k2id, _ = self.register(br2, s2, kind="key", att="full",
                                label="admb key")
        self.assertEqual([k["state"] for k in self.keys(a2)], ["pending"])
        # pending key unusable: a client login needs AAL3, refused
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), a2)
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-5003", r.body)
        # ... and the key itself is refused as pending
        br = Browser(self.b)
        html, _ = self.login_page(br)
        r = self.assert_with_key(br, field(html, "tx"), field(html, "csrf"),
                                 s2, ("--cred", k2id))
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-6003", r.body)
        # admin action at AAL2: refused (no active key to step up with)
        r = br2.get("/admin/approvals")
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-5003", r.body)

        # the first admin (AAL3) approves it
        page = self.approvals_as(a1, s1, k1id)
        key2 = self.keys(a2)[0]["key"]
        r = page[0].post("/admin/approvals", {"csrf": page[1], "uid": a2,
                                              "key": key2})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(b'id="approved"', r.body)
        self.assertEqual([k["state"] for k in self.keys(a2)], ["active"])
        self.assertTrue(self.keys(a2)[0]["approved_by"].startswith(
            "uid=%s," % a1))
        self.assertTrue(self.audit("webauthn.approved", approver=a1,
                                   uid=a2))

        # admin at AAL2 (the earlier session): a step-up to the key
        r = br2.get("/admin/approvals")
        self.assertEqual(r.status, 303, r.body)
        self.assertTrue(r.header("Location").startswith("/login/webauthn"))
        r, v = self.authorize(br2, prompt="none")
        self.assertEqual(r.status, 303)
        q = urllib.parse.parse_qs(urllib.parse.urlparse(
            r.header("Location")).query)
        self.assertEqual(q["error"], ["interaction_required"])
        r, v = self.authorize(br2)
        self.assertTrue(r.header("Location").startswith("/login/webauthn"),
                        r.header("Location"))
        r = self.webauthn_stage(br2, r.header("Location"), s2)
        idt = self.redeem(r, v)
        self.assertEqual(idt["acr"], "urn:sekimori:acr:aal3")
        self.assertIn("hwk", idt["amr"])

        # a fresh login of the second admin reaches AAL3 with the key
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), a2)
        self.assertTrue(r.header("Location").startswith("/login/webauthn"))
        r = self.webauthn_stage(br, r.header("Location"), s2)
        idt = self.redeem(r, v)
        self.assertEqual(idt["acr"], "urn:sekimori:acr:aal3")
        self.assertIn("hwk", idt["amr"])
        self.assertTrue(self.audit("policy.admin_floor", uid=a2))

    def session_csrf(self, br):
        return field(br.get("/account").body.decode(), "csrf")

    def approvals_as(self, uid, store, cid):
        br = Browser(self.b)
        r = br.get("/admin/approvals")
        r = self.password_form(br, r.header("Location"), uid)
        r = self.webauthn_stage(br, r.header("Location"), store,
                                ("--cred", cid))
        self.assertEqual(r.header("Location"), "/admin/approvals")
        return br, self.session_csrf(br)

    def test_admin_without_two_factors_cannot_register(self):
        uid = self.user("admc")
        br = Browser(self.b)
        self.account_login(br, uid)                  # AAL1
        self.b.ctl("group", "add-member", "administrators", uid)
        csrf, _ = self.account_csrf(br)
        r = br.post("/webauthn/register/options",
                    {"csrf": csrf, "kind": "key"})
        self.assertEqual(r.status, 403, r.body)
        self.assertEqual(r.json()["code"], "SKM-6009")
        self.assertTrue(self.audit("webauthn.enrolment_refused", uid=uid))


class WebAuthnMDSTest(WebAuthnBase):
    """A new MDS BLOB that marks the model compromised suspends the key
    and ends its owner's sessions."""

    @classmethod
    def extra_conf(cls):
        cls.mdsdir = os.path.join(cls.tmp.path, "mds")
        wa_cli("mds-pki", cls.mdsdir)
        cls.blob = os.path.join(cls.tmp.path, "mds.jwt")
        with open(cls.blob, "w") as f:
            f.write(wa_cli("mds", cls.mdsdir, "1", "FIDO_CERTIFIED",
                           cls.pki))
        return {"webauthn_mds_file": cls.blob,
                "webauthn_mds_root": os.path.join(cls.mdsdir,
                                                  "mds-root.pem")}

    def test_compromised_model_suspended(self):
        uid, store, cid = self.user_with_key(kind="passkey")
        br = Browser(self.b)
        html, v = self.login_page(br)
        r = self.assert_with_key(br, field(html, "tx"), field(html, "csrf"),
                                 store, ("--cred", cid))
        self.redeem(r, v)
        self.assertEqual(br.get("/account").status, 200)   # a session
        with open(self.blob + ".new", "w") as f:
            f.write(wa_cli("mds", self.mdsdir, "2",
                           "ATTESTATION_KEY_COMPROMISE", self.pki))
        os.replace(self.blob + ".new", self.blob)
        self.b.signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and not self.audit(
                "webauthn.suspended", uid=uid, reason="mds"):
            time.sleep(0.1)
        ev = self.audit("webauthn.suspended", uid=uid, reason="mds")
        self.assertEqual(len(ev), 1, self.b.audit_lines()[-5:])
        self.assertEqual(ev[0]["aaguid"], self.aaguid)
        self.assertGreaterEqual(ev[0]["sessions_ended"], 1)
        self.assertEqual(self.keys(uid)[0]["state"], "suspended")
        # the session is gone (stepped down to signed out)
        self.assertEqual(br.get("/account").status, 303)
        # and the key is refused
        br = Browser(self.b)
        html, v = self.login_page(br)
        r = self.assert_with_key(br, field(html, "tx"), field(html, "csrf"),
                                 store, ("--cred", cid))
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-6005", r.body)
        # an older BLOB (replay) changes nothing
        with open(self.blob, "w") as f:
            f.write(wa_cli("mds", self.mdsdir, "1", "FIDO_CERTIFIED",
                           self.pki))
        self.b.signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertEqual(self.keys(uid)[0]["state"], "suspended")


if __name__ == "__main__":
    unittest.main()
