"""Staff SSO in a real browser: Debian's chromium driven by playwright-core
(tests/browser/login.mjs) through the authorization code + PKCE flow on
the real login page, against a real brokerd and slapd.

The relying party is this test: it computes the PKCE pair, registers a
loopback redirect URI (RFC 8252 §7.3, http://127.0.0.1:PORT/cb) served by
a tiny http.server that records what the browser brings back, and redeems
the code at /token with client_secret_basic.

TLS stays verified: chromium gets --ignore-certificate-errors-spki-list
with the SHA-256 of the broker certificate's public key (computed here with
openssl), which accepts a certificate with exactly that key and nothing
else; ignoreHTTPSErrors stays false.  (Chromium reads trust anchors only
from its NSS store, not from a CA file, and we do not want to touch the
system or user NSS database for a test.)

Screenshots go to tests/out/ (git-ignored): login-ja.png, login-en.png,
login-en-error.png and login-en-error-320.png (320 CSS px, WCAG reflow).

Japanese glyphs need a Japanese font on the machine (Debian:
fonts-ipafont-gothic or fonts-noto-cjk); without one the screenshots show
boxes, the checks here do not depend on it."""
import base64
import hashlib
import http.server
import json
import os
import secrets
import signal
import subprocess
import threading
import unittest
import urllib.parse

from harness import ROOT, Broker, TempDir
from ldap_harness import Slapd
from npm import ensure_node_modules, node

CHROMIUM = "/usr/bin/chromium"
SCRIPT = os.path.join(ROOT, "tests", "browser", "login.mjs")
OUT = os.path.join(ROOT, "tests", "out")
CLIENT = "browser-rp"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt_claims(tok):
    part = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def spki_sha256(cert_pem):
    """base64(SHA-256(DER SubjectPublicKeyInfo)) of the certificate, as
    chromium's --ignore-certificate-errors-spki-list wants it."""
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in",
                          cert_pem], check=True, stdout=subprocess.PIPE)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=pub.stdout, check=True,
                         stdout=subprocess.PIPE)
    dgst = subprocess.run(["openssl", "dgst", "-sha256", "-binary"],
                          input=der.stdout, check=True,
                          stdout=subprocess.PIPE)
    out = base64.b64encode(dgst.stdout).decode()
    # cross-check the pipeline with Python's own hash of the same DER
    assert out == base64.b64encode(hashlib.sha256(der.stdout).digest()) \
        .decode()
    return out


class Receiver:
    """The RP's redirect URI on loopback (plain HTTP, RFC 8252 §7.3):
    records the query strings of /cb and answers a small page."""

    def __init__(self):
        self.hits = []
        self.got = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                if u.path != "/cb":
                    self.send_error(404)
                    return
                outer.hits.append(u.query)
                outer.got.set()
                body = (b"<!DOCTYPE html><html lang=\"en\"><title>RP</title>"
                        b"<p>callback received</p></html>")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/cb" % self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class BrowserLoginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK):
            raise RuntimeError("%s missing: scripts/deps.sh installs the "
                               "chromium package" % CHROMIUM)
        ensure_node_modules()
        cls.tmp = TempDir(prefix="skm-browser-")
        cls.slapd = Slapd(cls.tmp.path, demo=True)
        cls.b = None
        cls.rx = None
        try:
            cls.rx = Receiver()
            cls.slapd.start()
            cls.b = Broker(os.path.join(cls.tmp.path, "broker"),
                           cls.slapd.env_lines())
            cls.b.start()
            cls.demo_pw = cls.slapd.demo_password()
            out = cls.b.ctl("--json", "client", "add", CLIENT,
                            "--redirect-uri", cls.rx.url,
                            "--name", "Browser RP").stdout
            cls.secret = json.loads(out)["client_secret"]
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
            try:
                cls.slapd.stop()
            finally:
                if cls.rx is not None:
                    cls.rx.close()
                cls.tmp.cleanup()

    def run_browser(self, env_extra, timeout=90):
        """node login.mjs in its own process group, so that chromium and its
        helpers go away with it even when node is killed on a timeout."""
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
            self.fail("login.mjs timed out after %ds:\n%s\n%s"
                      % (timeout, out[-3000:], err[-3000:]))
        finally:
            try:                       # stragglers of our own group only
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return p.returncode, out, err

    def test_login_in_chromium(self):
        verifier = b64url(secrets.token_bytes(32))
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        state = "st-" + secrets.token_hex(8)
        nonce = "n-" + secrets.token_hex(8)
        q = {"response_type": "code", "client_id": CLIENT,
             "redirect_uri": self.rx.url, "scope": "openid profile",
             "state": state, "nonce": nonce, "code_challenge": challenge,
             "code_challenge_method": "S256"}
        auth_url = self.b.issuer + "/authorize?" + urllib.parse.urlencode(q)
        profile = os.path.join(self.tmp.path, "chromium-profile")
        os.makedirs(profile)
        rc, out, err = self.run_browser({
            "SKM_AUTH_URL": auth_url,
            "SKM_CALLBACK": self.rx.url,
            "SKM_USERNAME": "demo",
            "SKM_PASSWORD": self.demo_pw,
            "SKM_BAD_PASSWORD": "not-the-password-" + secrets.token_hex(4),
            "SKM_SPKI": self.spki,
            "SKM_USER_DATA_DIR": profile,
            "SKM_OUT_DIR": OUT,
            "SKM_CHROMIUM": CHROMIUM,
        })
        lines = [l for l in out.splitlines() if l.strip()]
        self.assertTrue(lines, "no output (rc %d):\n%s" % (rc, err[-4000:]))
        f = json.loads(lines[-1])
        why = "login.mjs stopped at %r: %s\nfacts:\n%s\nstderr:\n%s" % (
            f.get("failed"), f.get("message"),
            json.dumps(f, indent=1, ensure_ascii=False)[-6000:], err[-2000:])
        # What the run got to is checked in independent parts, so that one
        # broken thing does not hide another.
        with self.subTest("TLS verified against the pinned key"):
            self.assertIn("tls", f, why)
            self.assertEqual(f["tls"]["subjectName"], "localhost")
            self.assertEqual(f["tls"]["issuer"], "Sekimori dev CA")
            self.assertIn("TLS 1.3", f["tls"]["protocol"])
        with self.subTest("login pages: ja and en, labels, focus, contrast"):
            for lang in ("ja", "en", "en-error"):
                self.assertIn(lang, f.get("pages", {}), why)
                pg = f["pages"][lang]
                self.assertEqual(pg["html_lang"], lang[:2])
                self.assertTrue(pg["focus_visible_rule"], lang)
                for c in pg["controls"]:
                    if c["tag"] == "input":
                        self.assertEqual(len(c["labels"]), 1, c)
                for sel, ratio in pg["contrast"].items():
                    self.assertGreaterEqual(ratio, 4.5, (lang, sel))
            self.assertEqual(f["pages"]["ja"]["other_lang_link"], "en")
            self.assertEqual(f["pages"]["en"]["other_lang_link"], "ja")
            self.assertIn("サインイン", f["pages"]["ja"]["title"])
            self.assertIn("Sign in", f["pages"]["en"]["title"])
            for lang in ("ja", "en"):
                self.assertEqual([x["id"] or x["tag"]
                                  for x in f["tab_order"][lang]],
                                 ["username", "password", "button",
                                  "passkey", "a"])
                for x in f["tab_order"][lang][1:]:
                    self.assertTrue(x["focus_visible"], x)
                    self.assertGreaterEqual(x["outline_width"], 2, x)
        with self.subTest("wrong password: role=alert, SKM- code, "
                          "request id"):
            self.assertIn("error", f, why)
            e = f["error"]
            self.assertEqual(e["status"], 401)
            self.assertEqual(e["alert_count"], 1)
            self.assertEqual(e["code"], "SKM-4008")
            self.assertTrue(e["shows_request_id"], e)
            self.assertEqual(e["html_lang"], "en")
            self.assertEqual(e["username_kept"], "demo")
            self.assertEqual(e["focused_after_error"], "password")
            self.assertGreaterEqual(e["error_contrast"], 4.5)
        with self.subTest("layout: nothing sticks out of the card, "
                          "no sideways scrolling at 320 px"):
            bad = []
            for lang, pg in sorted(f.get("pages", {}).items()):
                for lay in pg["layout"]:
                    if lay["page_scrolls_sideways"] or lay["elements"]:
                        bad.append("%s at %d px: %s%s" % (
                            lang, lay["viewport"],
                            "page scrolls sideways; " if
                            lay["page_scrolls_sideways"] else "",
                            ", ".join("<%s> %r sticks out %d px"
                                      % (e["tag"], e["text"], e["px"])
                                      for e in lay["elements"])))
            self.assertEqual(bad, [], "\n".join(bad))
        with self.subTest("no CSP violation or script error on our pages "
                          "before sign-in"):
            n = f.get("console_before_sign_in", len(f.get("console", [])))
            for m in f.get("console", [])[:n]:
                self.assertNotIn("Content Security Policy", m["text"], m)
                self.assertNotEqual(m["type"], "pageerror", m)
        for name in ("login-ja.png", "login-en.png", "login-en-error.png",
                     "login-en-error-320.png"):
            with self.subTest("screenshot " + name):
                path = os.path.join(OUT, name)
                self.assertGreater(os.path.getsize(path), 5000, path)

        # The sign-in: POST /login -> 303 -> the receiver.
        self.assertEqual(rc, 0, why)
        self.assertEqual(f["login_post"]["status"], 303)
        self.assertEqual(f["login_post"]["location"], f["final_url"])
        self.assertTrue(f["final_url"].startswith(self.rx.url + "?"))
        self.assertTrue(self.rx.got.wait(5))
        self.assertEqual(len(self.rx.hits), 1, self.rx.hits)
        self.assertEqual(urllib.parse.urlsplit(f["final_url"]).query,
                         self.rx.hits[0])
        self.assertEqual(f["security_log"], [])
        cb = urllib.parse.parse_qs(self.rx.hits[0])
        self.assertEqual(cb["state"], [state])
        self.assertEqual(cb["iss"], [self.b.issuer])
        self.assertNotIn("error", cb)

        # the RP redeems the code (client_secret_basic + PKCE verifier)
        basic = base64.b64encode(("%s:%s" % (
            urllib.parse.quote(CLIENT, safe=""),
            urllib.parse.quote(self.secret, safe=""))).encode()).decode()
        t = self.b.request(
            "POST", "/token",
            body=urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": cb["code"][0],
                "redirect_uri": self.rx.url, "code_verifier": verifier}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "Basic " + basic})
        self.assertEqual(t.status, 200, t.body)
        idt = jwt_claims(t.json()["id_token"])
        self.assertEqual(idt["sub"], "demo")
        self.assertEqual(idt["aud"], CLIENT)
        self.assertEqual(idt["iss"], self.b.issuer)
        self.assertEqual(idt["nonce"], nonce)
        # the signature too, with the broker's own verifier
        p = self.b.ctl("token", "verify", "--aud", CLIENT, "--typ", "JWT",
                       t.json()["id_token"])
        self.assertEqual(json.loads(p.stdout)["sub"], "demo")

        # one failed and one successful login were audited
        ev = [a["event"] for a in self.b.audit_lines()]
        self.assertIn("login.success", ev)
        self.assertTrue(any(x.startswith("login.fail") for x in ev), ev)

    def test_other_certificate_refused(self):
        """The SPKI pin is a pin, not "ignore certificate errors": with
        another key pinned, chromium refuses the broker's certificate."""
        profile = os.path.join(self.tmp.path, "chromium-profile-wrong-pin")
        os.makedirs(profile)
        wrong = base64.b64encode(hashlib.sha256(
            secrets.token_bytes(32)).digest()).decode()
        rc, out, err = self.run_browser({
            "SKM_AUTH_URL": self.b.issuer + "/healthz",
            "SKM_CALLBACK": self.rx.url,
            "SKM_USERNAME": "demo", "SKM_PASSWORD": "x",
            "SKM_BAD_PASSWORD": "y", "SKM_SPKI": wrong,
            "SKM_USER_DATA_DIR": profile,
            "SKM_OUT_DIR": os.path.join(self.tmp.path, "out"),
            "SKM_CHROMIUM": CHROMIUM,
        })
        f = json.loads([l for l in out.splitlines() if l.strip()][-1])
        self.assertNotEqual(rc, 0, f)
        self.assertEqual(f["failed"], "open the authorization URL", f)
        self.assertIn("ERR_CERT_AUTHORITY_INVALID", f["message"])


if __name__ == "__main__":
    unittest.main()
