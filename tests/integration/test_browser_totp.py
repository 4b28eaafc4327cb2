"""Issue 6's acceptance in a real browser (tests/browser/totp.mjs): the
demo user enrols TOTP from the QR page, signs out, and signs in again with
password + TOTP; the ID token says AAL2 with amr pwd and otp."""
import hashlib
import json
import os
import secrets
import signal
import subprocess
import time
import unittest
import urllib.parse

from harness import ROOT, Broker, TempDir
from ldap_harness import Slapd
from npm import ensure_node_modules, node
from test_browser import (CHROMIUM, OUT, Receiver, b64url, jwt_claims,
                          spki_sha256)
from test_oidc import basic

SCRIPT = os.path.join(ROOT, "tests", "browser", "totp.mjs")


class BrowserTotpTest(unittest.TestCase):
    def test_enrol_and_sign_in_with_totp(self):
        if not os.access(CHROMIUM, os.X_OK):
            raise RuntimeError("%s missing: scripts/deps.sh installs it"
                               % CHROMIUM)
        ensure_node_modules()
        tmp = TempDir(prefix="skm-totp-")
        self.addCleanup(tmp.cleanup)
        rx = Receiver()
        self.addCleanup(rx.close)
        slapd = Slapd(tmp.path, demo=True)
        self.addCleanup(slapd.stop)
        slapd.start()
        b = Broker(os.path.join(tmp.path, "broker"), slapd.env_lines())
        self.addCleanup(b.stop)
        b.start()
        secret = json.loads(b.ctl("--json", "client", "add", "totp-rp",
                                  "--redirect-uri", rx.url).stdout)[
                                      "client_secret"]
        verifier = b64url(secrets.token_bytes(32))
        q = {"response_type": "code", "client_id": "totp-rp",
             "redirect_uri": rx.url, "scope": "openid", "state": "s",
             "nonce": "n", "ui_locales": "en",
             "code_challenge": b64url(hashlib.sha256(
                 verifier.encode()).digest()),
             "code_challenge_method": "S256"}
        # not at the end of a time step: enrolment and login use two steps
        left = 30 - time.time() % 30
        if left < 8:
            time.sleep(left + 0.2)
        profile = os.path.join(tmp.path, "profile")
        os.makedirs(profile)
        os.makedirs(OUT, exist_ok=True)
        env = dict(os.environ, SKM_ISSUER=b.issuer, SKM_CALLBACK=rx.url,
                   SKM_AUTH_URL=b.issuer + "/authorize?" +
                   urllib.parse.urlencode(q),
                   SKM_USERNAME="demo", SKM_PASSWORD=slapd.demo_password(),
                   SKM_SPKI=spki_sha256(b.tlsfiles["cert"]),
                   SKM_USER_DATA_DIR=profile, SKM_OUT_DIR=OUT,
                   SKM_CHROMIUM=CHROMIUM)
        p = subprocess.Popen([node(), SCRIPT], cwd=os.path.dirname(SCRIPT),
                             env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        try:
            out, err = p.communicate(timeout=120)
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        lines = [l for l in out.splitlines() if l.strip()]
        self.assertTrue(lines, err[-3000:])
        f = json.loads(lines[-1])
        self.assertNotIn("failed", f, "%s\n%s" % (f, err[-3000:]))
        self.assertEqual(f["account_url"], "/account")
        self.assertEqual(f["qr_src_prefix"], "data:image/svg+xml;base64,")
        self.assertTrue(f["qr_loaded"], f)        # the SVG renders
        self.assertTrue(f["qr_alt"])
        self.assertEqual(f["key_length"], 32)     # 160 bits, base32
        self.assertEqual(f["recovery_codes"], 10)
        self.assertEqual(f["totp_state"], "Set up")
        self.assertEqual(f["second_step"], "/login/otp")
        cb = urllib.parse.parse_qs(urllib.parse.urlsplit(f["callback"]).query)
        t = b.request("POST", "/token", body=urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": cb["code"][0],
            "redirect_uri": rx.url, "code_verifier": verifier}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic("totp-rp", secret)})
        self.assertEqual(t.status, 200, t.body)
        idt = jwt_claims(t.json()["id_token"])
        self.assertEqual(idt["sub"], "demo")
        self.assertEqual(idt["acr"], "urn:sekimori:acr:aal2")
        self.assertIn("pwd", idt["amr"])
        self.assertIn("otp", idt["amr"])


if __name__ == "__main__":
    unittest.main()
