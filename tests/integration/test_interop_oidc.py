"""Staff SSO interoperability: an independent relying party, panva's
openid-client (a certified OpenID RP library, tests/interop/oidc_rp.mjs),
against a real brokerd and slapd.  Discovery, authorization code + PKCE
through the real login form, ID token validation by the library
(signature via our JWKS, iss, aud, nonce, exp), userinfo, refresh
rotation, and the refused replay of a rotated refresh token."""
import json
import os
import subprocess
import unittest

from harness import ROOT, Broker, TempDir
from ldap_harness import Slapd
from npm import ensure_node_modules, node

RP = os.path.join(ROOT, "tests", "interop", "oidc_rp.mjs")
RP_CB = "https://rp.interop.test/cb"
CLIENT = "interop-rp"


class InteropOIDCTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_node_modules()
        cls.tmp = TempDir()
        cls.slapd = Slapd(cls.tmp.path, demo=True)
        cls.b = None
        try:
            cls.slapd.start()
            cls.b = Broker(os.path.join(cls.tmp.path, "broker"),
                           cls.slapd.env_lines())
            cls.b.start()
            cls.demo_pw = cls.slapd.demo_password()
            out = cls.b.ctl("--json", "client", "add", CLIENT,
                            "--redirect-uri", RP_CB,
                            "--name", "openid-client RP").stdout
            cls.secret = json.loads(out)["client_secret"]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.b is not None:
                cls.b.stop()
        finally:
            cls.slapd.stop()
            cls.tmp.cleanup()

    def run_rp(self, user="demo", password=None):
        env = dict(os.environ)
        env.update({
            "NODE_EXTRA_CA_CERTS": self.b.ca,
            "OIDC_ISSUER": self.b.issuer,
            "OIDC_CLIENT_ID": CLIENT,
            "OIDC_CLIENT_SECRET": self.secret,
            "OIDC_REDIRECT_URI": RP_CB,
            "OIDC_USERNAME": user,
            "OIDC_PASSWORD": password or self.demo_pw,
        })
        # no proxy between node and the loopback broker
        for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            env.pop(k, None)
        p = subprocess.run([node(), RP], cwd=os.path.dirname(RP), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        self.assertTrue(lines, "no output; rc %d; stderr:\n%s"
                        % (p.returncode, p.stderr[-3000:]))
        out = json.loads(lines[-1])
        return p, out

    def test_openid_client_code_flow_refresh_userinfo(self):
        p, out = self.run_rp()
        self.assertEqual(p.returncode, 0, "openid-client failed at %r:\n%s\n"
                         "stderr:\n%s\nbrokerd log tail:\n%s"
                         % (out.get("failed"), json.dumps(out, indent=1),
                            p.stderr[-3000:], self.b.output()))
        iss = self.b.issuer

        # discovery: the library accepted our issuer identifier
        d = out["discovery"]
        self.assertEqual(d["issuer"], iss)
        self.assertTrue(d["supportsPKCE"])
        self.assertEqual(d["token_endpoint"], iss + "/token")

        # the authorization response (RFC 9207 iss, state echoed)
        cb = out["callback"]
        self.assertEqual(cb["origin_path"], RP_CB)
        self.assertEqual(cb["state"], out["request"]["state"])
        self.assertEqual(cb["iss"], iss)
        self.assertTrue(cb["has_code"])

        # the ID token, as validated by openid-client
        t = out["tokens"]
        self.assertEqual(t["token_type"].lower(), "bearer")
        self.assertGreater(t["expires_in"], 0)
        self.assertTrue(t["has_refresh_token"])
        self.assertIn(t["id_token_header"]["alg"],
                      d["id_token_signing_alg_values_supported"])
        c = t["id_token_claims"]
        self.assertEqual(c["iss"], iss)
        self.assertEqual(c["aud"], CLIENT)
        self.assertEqual(c["sub"], "demo")
        self.assertEqual(c["nonce"], out["request"]["nonce"])
        self.assertEqual(c["amr"], ["pwd"])
        self.assertLess(c["iat"], c["exp"])
        self.assertIn("auth_time", c)
        self.assertIn("sid", c)

        # userinfo (openid-client checked that sub matches the ID token's)
        u = out["userinfo"]
        self.assertEqual(u["sub"], "demo")
        self.assertEqual(u["name"], "Demo User")

        # refresh: a new refresh token and a new access token; the ID token
        # of the refresh response is about the same user and session
        r = out["refresh"]
        self.assertTrue(r["refresh_token_rotated"])
        self.assertNotEqual(r["refresh_token"], t["refresh_token"])
        self.assertTrue(r["access_token_changed"])
        rc = r["id_token_claims"]
        self.assertIsNotNone(rc, "no ID token in the refresh response")
        for k in ("iss", "sub", "aud", "auth_time", "sid"):
            self.assertEqual(rc.get(k), c.get(k), k)
        self.assertNotIn("nonce", rc)
        self.assertEqual(out["userinfo_after_refresh"]["sub"], "demo")

        # replaying the rotated refresh token: invalid_grant, parsed by the
        # library as an OAuth error response, and the family is revoked
        rp = out["replay"]
        self.assertTrue(rp["refused"], rp)
        self.assertEqual(rp["name"], "ResponseBodyError", rp)
        self.assertEqual(rp["error"], "invalid_grant", rp)
        self.assertEqual(rp["status"], 400, rp)
        self.assertTrue((rp["skm_code"] or "").startswith("SKM-"), rp)
        ur = out["userinfo_revoked"]
        self.assertTrue(ur["refused"], ur)
        self.assertEqual(ur["status"], 401, ur)
        self.assertIn({"scheme": "bearer", "error": "invalid_token"},
                      ur["challenges"])

        # the broker saw a login and issued tokens to this client
        events = [a["event"] for a in self.b.audit_lines()]
        self.assertIn("login.success", events)
        self.assertIn("token.issued", events)

    def test_openid_client_wrong_password_no_code(self):
        p, out = self.run_rp(password="definitely-not-the-password-1")
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(out["failed"], "browser: POST login form")
        self.assertIn("HTTP 401", out["message"])
        self.assertIn("SKM-4008", out["message"])


if __name__ == "__main__":
    unittest.main()
