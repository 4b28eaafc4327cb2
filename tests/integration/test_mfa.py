"""Multi-factor authentication end to end: TOTP enrolment from the account
page (QR and key), login with password + TOTP, replay and concurrent
replay refused, recovery codes, throttling, secrets at rest, KEK rotation,
and the assurance policy (step-up within one SSO session, client
acr_values, report-only, network rules).  Codes come from the independent
`oathtool` command.  Real slapd, real brokerd, real HTTPS."""
import json
import os
import re
import secrets
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import Broker, Browser, TempDir, wait_for
from ldap_harness import Slapd
from test_oidc import RP_CB, BackchannelReceiver, basic, jwt_parts, pkce

POLICY = """
[rule strict-rp]
description = the strict application needs two factors
match.client = rp-strict
require.level = aal2

[rule watch-rp]
description = would require a hardware key (evaluated only)
mode = report-only
match.client = rp-watch
require.level = aal3

[rule netadmins-from-admin-net]
description = network administrators only from the admin network
match.group = netadmins
allow.networks = 10.99.0.0/16
"""

PW = "Kq7 tundra-lantern 91 mosaic"


def totp(key, offset=0):
    return subprocess.run(["oathtool", "--totp", "-b", "-N",
                           "@%d" % (int(time.time()) + offset), key],
                          check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def steady():
    """Not within 5 s of a step boundary: T-1, T and T+1 stay put."""
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.2)


class MFATest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.slapd = Slapd(cls.tmp.path)
        try:
            cls.slapd.start()
            pol = os.path.join(cls.tmp.path, "policy")
            with open(pol, "w") as f:
                f.write(POLICY)
            cls.b = Broker(os.path.join(cls.tmp.path, "broker"),
                           cls.slapd.env_lines(),
                           extra={"policy_file": pol})
            cls.b.start()
            cls.secrets = {}
            for cid in ("rp1", "rp-strict", "rp-watch"):
                out = cls.b.ctl("--json", "client", "add", cid,
                                "--redirect-uri", RP_CB).stdout
                cls.secrets[cid] = json.loads(out)["client_secret"]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "b", None):
            cls.b.stop()
        cls.slapd.stop()
        cls.tmp.cleanup()

    # -- helpers -------------------------------------------------------------

    def user(self, prefix="u", groups=()):
        uid = "%s%s" % (prefix, secrets.token_hex(3))
        args = ["user", "add", uid, "--name", "Staff Member",
                "--mail", uid + "@example.test"]
        for g in groups:
            args += ["--group", g]
        self.b.ctl(*args)
        self.b.ctl("user", "passwd", uid, input=PW + "\n")
        return uid

    def password_form(self, br, loc, uid):
        page = br.get(loc)
        self.assertEqual(page.status, 200, page.body)
        html = page.body.decode()
        tx = re.search(r'name="tx" value="([^"]+)"', html).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        return br.post("/login", {"tx": tx, "csrf": csrf, "username": uid,
                                  "password": PW})

    def otp_form(self, br, loc, code):
        page = br.get(loc)
        self.assertEqual(page.status, 200, page.body)
        html = page.body.decode()
        self.assertIn('autocomplete="one-time-code"', html)
        tx = re.search(r'name="tx" value="([^"]+)"', html).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        return br.post("/login/otp", {"tx": tx, "csrf": csrf, "code": code})

    def account_login(self, br, uid):
        r = br.get("/account")
        self.assertEqual(r.status, 303)
        r = self.password_form(br, r.header("Location"), uid)
        self.assertEqual(r.status, 303, r.body)
        self.assertEqual(r.header("Location"), "/account")
        return br.get("/account")

    def account_csrf(self, br):
        page = br.get("/account")
        self.assertEqual(page.status, 200)
        return re.search(r'name="csrf" value="([^"]+)"',
                         page.body.decode()).group(1), page

    def enrol(self, br):
        """Enrol TOTP on the account page; returns (key, recovery codes)."""
        csrf, _ = self.account_csrf(br)
        r = br.post("/account/totp", {"csrf": csrf, "action": "start"})
        self.assertEqual(r.status, 200, r.body)
        html = r.body.decode()
        self.assertIn('src="data:image/svg+xml;base64,', html)
        key = re.search(r'id="totp-key">([A-Z2-7=]+)<', html).group(1)
        uri = re.search(r'id="totp-uri">([^<]+)<', html).group(1)
        self.assertTrue(uri.startswith("otpauth://totp/"), uri)
        steady()
        r = br.post("/account/totp", {"csrf": csrf, "action": "confirm",
                                      "code": totp(key, -30)})
        self.assertEqual(r.status, 200, r.body)
        codes = re.findall(r"<li><code>([^<]+)</code></li>", r.body.decode())
        self.assertEqual(len(codes), 10)
        return key, codes

    def authorize(self, br, cid="rp1", **extra):
        v, c = pkce()
        q = {"response_type": "code", "client_id": cid,
             "redirect_uri": RP_CB, "scope": "openid", "state": "s1",
             "nonce": "n1", "code_challenge": c,
             "code_challenge_method": "S256"}
        q.update(extra)
        return br.get("/authorize?" + urllib.parse.urlencode(q)), v

    def redeem(self, r, v, cid="rp1"):
        return jwt_parts(self.tokens(r, v, cid)["id_token"])[1]

    def tokens(self, r, v, cid="rp1"):
        """The token response for the code in the redirect r."""
        self.assertEqual(r.status, 303, r.body)
        loc = r.header("Location")
        self.assertTrue(loc.startswith(RP_CB + "?"), loc)
        code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["code"][0]
        t = self.b.request(
            "POST", "/token", body=urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": RP_CB, "code_verifier": v}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic(cid, self.secrets[cid])})
        self.assertEqual(t.status, 200, t.body)
        return t.json()

    def client_post(self, path, form, cid):
        return self.b.request(
            "POST", path, body=urllib.parse.urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic(cid, self.secrets[cid])})

    def enrolled_user(self, **kw):
        uid = self.user(**kw)
        br = Browser(self.b)
        self.account_login(br, uid)
        key, codes = self.enrol(br)
        return uid, key, codes

    # -- enrolment -----------------------------------------------------------

    def test_enrol_then_login_with_password_and_totp(self):
        uid, key, codes = self.enrolled_user()
        # a new browser: password, then the code
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), uid)
        self.assertEqual(r.status, 303)
        self.assertTrue(r.header("Location").startswith("/login/otp?tx="))
        r = self.otp_form(br, r.header("Location"), totp(key))
        idt = self.redeem(r, v)
        self.assertTrue(idt["acr"].endswith("aal2"), idt)
        self.assertIn("pwd", idt["amr"])
        self.assertIn("otp", idt["amr"])
        self.assertIn("mfa", idt["amr"])
        ev = [a for a in self.b.audit_lines() if a.get("uid") == uid]
        self.assertIn("factor.enrolled", [a["event"] for a in ev])

    def test_factor_not_active_before_confirmation(self):
        uid = self.user()
        br = Browser(self.b)
        self.account_login(br, uid)
        csrf, _ = self.account_csrf(br)
        r = br.post("/account/totp", {"csrf": csrf, "action": "start"})
        key = re.search(r'id="totp-key">([A-Z2-7=]+)<',
                        r.body.decode()).group(1)
        bad = br.post("/account/totp", {"csrf": csrf, "action": "confirm",
                                        "code": "000000" if totp(key) !=
                                        "000000" else "111111"})
        self.assertEqual(bad.status, 401)
        self.assertIn(b"SKM-5004", bad.body)
        # still pending: a password-only login is not asked for a code
        br2 = Browser(self.b)
        r, v = self.authorize(br2)
        r = self.password_form(br2, r.header("Location"), uid)
        idt = self.redeem(r, v)
        self.assertEqual(idt["amr"], ["pwd"])

    def test_secret_at_rest_is_wrapped(self):
        uid, key, codes = self.enrolled_user()
        out = self.slapd.ldap("ldapsearch", None, args=[
            "-LLL", "-o", "ldif-wrap=no", "-b", self.slapd.base,
            "(uid=%s)" % uid, "dn"]).stdout
        dn = re.search(r"^dn: (.*)$", out, re.M).group(1)
        out = self.slapd.ldap("ldapsearch", None, args=[
            "-LLL", "-o", "ldif-wrap=no", "-b", "cn=totp," + dn, "-s",
            "base", "skmTotpSecret", "skmRecoveryCodeHash"]).stdout
        secret = re.search(r"^skmTotpSecret: (.*)$", out, re.M).group(1)
        self.assertTrue(secret.startswith("v1."), secret)
        self.assertNotIn(key.rstrip("="), secret)
        hashes = re.findall(r"^skmRecoveryCodeHash: (.*)$", out, re.M)
        self.assertEqual(len(hashes), 10)
        self.assertTrue(all(h.startswith("$argon2id$") for h in hashes))
        self.assertFalse(any(c.replace("-", "") in out for c in codes))

    # -- replay, concurrency, throttling, recovery ---------------------------

    def otp_stage(self, uid):
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), uid)
        self.assertEqual(r.status, 303)
        return br, r.header("Location"), v

    def test_replayed_code_refused(self):
        uid, key, codes = self.enrolled_user()
        code = totp(key)
        br, loc, v = self.otp_stage(uid)
        self.redeem(self.otp_form(br, loc, code), v)
        br, loc, v = self.otp_stage(uid)
        r = self.otp_form(br, loc, code)
        self.assertEqual(r.status, 401)
        self.assertIn(b"SKM-5006", r.body)

    def test_concurrent_submissions_one_wins(self):
        uid, key, codes = self.enrolled_user()
        code = totp(key)
        stages = [self.otp_stage(uid) for _ in range(2)]
        pages = []
        for br, loc, v in stages:
            html = br.get(loc).body.decode()
            pages.append((br, re.search(r'name="tx" value="([^"]+)"',
                                        html).group(1),
                          re.search(r'name="csrf" value="([^"]+)"',
                                    html).group(1)))
        results = [None, None]
        go = threading.Barrier(2)

        def post(i):
            br, tx, csrf = pages[i]
            go.wait()
            results[i] = br.post("/login/otp", {"tx": tx, "csrf": csrf,
                                                "code": code}).status

        ts = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        self.assertEqual(sorted(results), [303, 401], results)

    def test_recovery_code_works_once(self):
        uid, key, codes = self.enrolled_user()
        br, loc, v = self.otp_stage(uid)
        idt = self.redeem(self.otp_form(br, loc, codes[0].lower()), v)
        self.assertTrue(idt["acr"].endswith("aal2"))
        br, loc, v = self.otp_stage(uid)
        r = self.otp_form(br, loc, codes[0])
        self.assertEqual(r.status, 401)

    def test_throttling(self):
        uid, key, codes = self.enrolled_user()
        wrong = "000000" if totp(key) != "000000" else "111111"
        statuses = []
        for _ in range(6):
            br, loc, v = self.otp_stage(uid)
            statuses.append(self.otp_form(br, loc, wrong).status)
        self.assertIn(429, statuses)
        # while throttled even the right code is refused
        br, loc, v = self.otp_stage(uid)
        r = self.otp_form(br, loc, totp(key))
        self.assertEqual(r.status, 429)
        self.assertIn(b"SKM-5005", r.body)

    def test_kek_rotation_keeps_factors_working(self):
        uid, key, codes = self.enrolled_user()
        before = self.b.ctl("--json", "kek", "rotate").stdout
        self.assertGreaterEqual(json.loads(before)["rewrapped"], 1)
        br, loc, v = self.otp_stage(uid)
        idt = self.redeem(self.otp_form(br, loc, totp(key)), v)
        self.assertTrue(idt["acr"].endswith("aal2"))

    # -- policy --------------------------------------------------------------

    def test_step_up_within_one_session(self):
        uid = self.user()
        br = Browser(self.b)
        self.account_login(br, uid)          # AAL1 session
        key, codes = self.enrol(br)
        steady()
        # rp1 is fine with AAL1: straight back with a code
        r, v = self.authorize(br)
        self.assertEqual(self.redeem(r, v)["amr"], ["pwd"])
        # rp-strict needs AAL2: only the second factor is asked for
        r, v = self.authorize(br, cid="rp-strict")
        self.assertTrue(r.header("Location").startswith("/login/otp?tx="))
        r = self.otp_form(br, r.header("Location"), totp(key))
        idt = self.redeem(r, v, cid="rp-strict")
        self.assertTrue(idt["acr"].endswith("aal2"))
        # the stepped-up session serves rp1 at AAL2 now, no prompt
        r, v = self.authorize(br)
        self.assertTrue(self.redeem(r, v)["acr"].endswith("aal2"))
        decisions = [a for a in self.b.audit_lines()
                     if a["event"] == "policy.decision" and
                     a.get("rule") == "strict-rp"]
        self.assertTrue(decisions)

    def test_step_up_keeps_the_session_of_other_clients(self):
        # a session is stepped up for one client; another client already
        # in it keeps its tokens, and a logout reaches both under the one
        # sid they were given
        bcl = BackchannelReceiver()
        self.addCleanup(bcl.close)
        a, b = ("rp-a" + secrets.token_hex(3), "rp-b" + secrets.token_hex(3))
        for cid in (a, b):
            out = self.b.ctl("--json", "client", "add", cid, "--redirect-uri",
                             RP_CB, "--backchannel-logout-uri",
                             bcl.url).stdout
            self.secrets[cid] = json.loads(out)["client_secret"]
        uid = self.user()
        br = Browser(self.b)
        self.account_login(br, uid)          # AAL1 session
        key, codes = self.enrol(br)
        steady()
        r, v = self.authorize(br, cid=a)
        ta = self.tokens(r, v, cid=a)
        sid = jwt_parts(ta["id_token"])[1]["sid"]
        old_cookies = dict(br.cookies)
        r, v = self.authorize(br, cid=b, acr_values="urn:sekimori:acr:aal2")
        self.assertTrue(r.header("Location").startswith("/login/otp?tx="))
        tb = self.tokens(self.otp_form(br, r.header("Location"), totp(key)),
                         v, cid=b)
        idb = jwt_parts(tb["id_token"])[1]
        self.assertTrue(idb["acr"].endswith("aal2"))
        self.assertEqual(idb["sid"], sid)
        # the old cookie is no session any more (fixation): a new one is
        self.assertNotEqual(old_cookies["__Host-skm_session"],
                            br.cookies["__Host-skm_session"])
        old = Browser(self.b)
        old.cookies = old_cookies
        r, _ = self.authorize(old, cid=a, prompt="none")
        self.assertIn("error=login_required", r.header("Location"))
        # a's tokens live on with the session: its access token, and its
        # refresh token, bound to the old cookie's entry, introspected
        # and then used
        for tok in (ta["access_token"], ta["refresh_token"]):
            at = self.client_post("/introspect", {"token": tok}, a).json()
            self.assertTrue(at["active"], at)
        ref = self.client_post("/token", {
            "grant_type": "refresh_token",
            "refresh_token": ta["refresh_token"]}, a)
        self.assertEqual(ref.status, 200, ref.body)
        rt2 = ref.json()["refresh_token"]
        self.assertTrue(self.client_post("/introspect", {"token": rt2},
                                         a).json()["active"])
        # a step-up racing the logout: a second entry of the same sid (as
        # a step-up makes before it deletes the old one); the logout ends
        # it too, so the sid does not live on
        base = "ou=sess,ou=state," + self.slapd.base
        entry = self.slapd.ldap("ldapsearch", args=[
            "-LLL", "-o", "ldif-wrap=no", "-b", base,
            "(skmStateRef=%s)" % sid]).stdout.strip()
        self.assertEqual(entry.count("dn: "), 1, entry)
        dup = re.sub(r"(?m)^dn: cn=[^,]+,", "dn: cn=racingstepup,", entry)
        dup = re.sub(r"(?m)^cn: .*$", "cn: racingstepup", dup)
        self.slapd.ldap("ldapadd", stdin=dup + "\n")
        # logout: both clients are told, with the sid each was given
        r = br.get("/logout?" + urllib.parse.urlencode({
            "id_token_hint": tb["id_token"], "post_logout_redirect_uri":
            RP_CB}))
        self.assertEqual(r.status, 303, r.body)
        wait_for(lambda: len(bcl.tokens) >= 2)
        told = sorted((jwt_parts(t)[1]["aud"], jwt_parts(t)[1]["sid"])
                      for t in bcl.tokens)
        self.assertEqual(told, sorted([(a, sid), (b, sid)]))
        self.assertEqual(self.slapd.ldap("ldapsearch", args=[
            "-LLL", "-b", base, "(skmStateRef=%s)" % sid, "1.1"]).stdout
            .strip(), "")
        # and the refresh token rotated after the step-up ends with it
        self.assertEqual(self.client_post("/introspect", {"token": rt2},
                                          a).json(), {"active": False})
        ref = self.client_post("/token", {"grant_type": "refresh_token",
                                          "refresh_token": rt2}, a)
        self.assertEqual(ref.status, 400, ref.body)

    def test_client_acr_values_step_up(self):
        uid = self.user()
        br = Browser(self.b)
        self.account_login(br, uid)
        key, codes = self.enrol(br)
        r, v = self.authorize(br, acr_values="urn:sekimori:acr:aal2")
        self.assertTrue(r.header("Location").startswith("/login/otp?tx="))

    def test_strict_client_without_factor_refused(self):
        uid = self.user()
        br = Browser(self.b)
        r, v = self.authorize(br, cid="rp-strict")
        r = self.password_form(br, r.header("Location"), uid)
        self.assertEqual(r.status, 403)
        self.assertIn(b"SKM-5002", r.body)

    def test_report_only_logged_not_enforced(self):
        uid = self.user()
        br = Browser(self.b)
        r, v = self.authorize(br, cid="rp-watch")
        r = self.password_form(br, r.header("Location"), uid)
        idt = self.redeem(r, v, cid="rp-watch")
        self.assertTrue(idt["acr"].endswith("aal1"))
        rep = [a for a in self.b.audit_lines()
               if a["event"] == "policy.report_only" and
               a.get("uid") == uid]
        self.assertEqual(rep[-1]["rule"], "watch-rp")
        self.assertNotEqual(rep[-1]["would"], "allow")

    def test_network_rule_refuses_login(self):
        self.b.ctl("group", "add", "netadmins", check=False)
        uid = self.user(prefix="na", groups=("netadmins",))
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password_form(br, r.header("Location"), uid)
        self.assertEqual(r.status, 403)
        self.assertIn(b"SKM-5001", r.body)
        d = [a for a in self.b.audit_lines()
             if a["event"] == "policy.decision" and a.get("uid") == uid]
        self.assertEqual(d[-1]["rule"], "netadmins-from-admin-net")
        self.assertEqual(d[-1]["effect"], "deny")


if __name__ == "__main__":
    unittest.main()
