"""A passkey in a real browser: Debian's chromium driven by playwright-core
(tests/browser/passkey.mjs) with the DevTools virtual authenticator
(WebAuthn.addVirtualAuthenticator over CDP: CTAP2, internal transport,
resident key, user verification).  Through the real pages and
/static/webauthn.js: sign in with the password, register a passkey on the
account page, sign out, sign in with the passkey without typing a user
name.  Real brokerd and slapd.

WebAuthn needs a domain as the RP ID (not an IP address), so the browser
talks to https://localhost:PORT (webauthn_rp_id = localhost, origin to
match); TLS is verified with the same SPKI pin as test_browser.py, whose
helpers (spki_sha256) and npm.ensure_node_modules() this reuses."""
import json
import os
import secrets
import signal
import subprocess
import unittest

from harness import ROOT, Broker, TempDir
from ldap_harness import Slapd
from npm import ensure_node_modules, node
from test_browser import CHROMIUM, spki_sha256

SCRIPT = os.path.join(ROOT, "tests", "browser", "passkey.mjs")
PW = "Kq7 tundra-lantern 91 mosaic"


class BrowserPasskeyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK):
            raise RuntimeError("%s missing: scripts/deps.sh installs the "
                               "chromium package" % CHROMIUM)
        ensure_node_modules()
        cls.tmp = TempDir(prefix="skm-passkey-")
        cls.slapd = Slapd(cls.tmp.path)
        cls.b = None
        try:
            cls.slapd.start()
            cls.b = Broker(os.path.join(cls.tmp.path, "broker"),
                           cls.slapd.env_lines())
            cls.base = "https://localhost:%d" % cls.b.port
            with open(cls.b.conf, "a") as f:
                f.write("webauthn_rp_id = localhost\n")
                f.write("webauthn_origin = %s\n" % cls.base)
            cls.b.start()
            cls.uid = "pk" + secrets.token_hex(3)
            cls.b.ctl("user", "add", cls.uid, "--name", "Passkey User")
            cls.b.ctl("user", "passwd", cls.uid, input=PW + "\n")
            cls.spki = spki_sha256(cls.b.tlsfiles["cert"])
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

    def run_browser(self, env_extra, timeout=120):
        env = dict(os.environ)
        env.update(env_extra)
        p = subprocess.Popen([node(), SCRIPT], cwd=os.path.dirname(SCRIPT),
                             env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            self.fail("passkey.mjs timed out:\n%s\n%s" % (out[-3000:],
                                                         err[-3000:]))
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return p.returncode, out, err

    def test_passkey_register_then_sign_in(self):
        profile = os.path.join(self.tmp.path, "chromium-profile")
        os.makedirs(profile)
        rc, out, err = self.run_browser({
            "SKM_BASE": self.base,
            "SKM_USERNAME": self.uid,
            "SKM_PASSWORD": PW,
            "SKM_SPKI": self.spki,
            "SKM_USER_DATA_DIR": profile,
            "SKM_CHROMIUM": CHROMIUM,
        })
        lines = [l for l in out.splitlines() if l.strip()]
        self.assertTrue(lines, "no output (rc %d):\n%s" % (rc, err[-4000:]))
        f = json.loads(lines[-1])
        why = "passkey.mjs stopped at %r: %s\n%s\n%s" % (
            f.get("failed"), f.get("message"), json.dumps(f, indent=1),
            err[-2000:])
        self.assertEqual(rc, 0, why)
        self.assertTrue(f["login_page_passkey_button"], why)
        self.assertEqual(f["level_password"], "urn:sekimori:acr:aal1")
        self.assertEqual(f["keys"], [{"state": "active",
                                      "label": "Laptop passkey"}])
        self.assertEqual(len(f["authenticator"]), 1)
        self.assertTrue(f["authenticator"][0]["resident"])
        self.assertEqual(f["authenticator"][0]["rpId"], "localhost")
        self.assertIn(self.uid, f["signed_in_as"])
        self.assertEqual(f["level_passkey"], "urn:sekimori:acr:aal2")
        for m in f["console"]:
            self.assertNotIn("Content Security Policy", m["text"], m)
            self.assertNotEqual(m["type"], "pageerror", m)
        self.assertEqual(f["security_log"], [], f)
        # what the broker recorded
        keys = json.loads(self.b.ctl("--json", "webauthn", "list",
                                     self.uid).stdout)
        self.assertEqual([k["state"] for k in keys], ["active"])
        ev = [a for a in self.b.audit_lines() if a.get("uid") == self.uid]
        names = [a["event"] for a in ev]
        self.assertIn("factor.enrolled", names)
        self.assertIn("webauthn.used", names)
        self.assertTrue(any(a["event"] == "login.success" and
                            a.get("method") == "passkey" for a in ev), names)


if __name__ == "__main__":
    unittest.main()
