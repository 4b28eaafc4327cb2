"""Continuous evaluation end to end: nginx (Debian) in front of a small
upstream (a second nginx server) with auth_request to Sekimori's
forward-auth endpoint; a test PDP posting signed Security Event Tokens
(RFC 8417, RFC 8935 push); our own signals (new network); the CAEP
transmitter.  Real slapd, brokerd, nginx."""
import base64
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import (BUILD, Broker, Browser, TempDir, free_port, quiet,
                     wait_for)
from ldap_harness import Slapd
from test_mfa import PW, steady, totp
from test_oidc import RP_CB, basic, jwt_parts, pkce
from test_webauthn import field, wa_cli

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
PDP = "https://pdp.example.test"

POLICY = """
[rule staff-area]
description = the staff area needs two factors
match.path = /staff
require.level = aal2

[rule admin-area]
description = the admin area needs a hardware key
match.path = /admin
require.level = aal3

[rule quarantine-devices]
description = non-compliant devices are refused
match.device = not-compliant
deny = yes

[rule risky-users]
description = a high-risk user is refused until the risk drops
match.risk = high
deny = yes

[rule new-network-mfa]
description = a login from an unusual network needs a second factor
match.client = rp-nn
match.risk = medium
require.level = aal2

[rule new-network-watch]
mode = report-only
match.client = rp1
match.risk = medium
require.level = aal2
"""

NGINX = """
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /_sekimori {{
            internal;
            proxy_pass https://127.0.0.1:{broker}/forward-auth;
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {ca};
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Device-Id $http_x_device_id;
        }}
        location / {{
            auth_request /_sekimori;
            auth_request_set $skm_user $upstream_http_x_auth_subject;
            auth_request_set $skm_acr $upstream_http_x_auth_acr;
            auth_request_set $skm_www $upstream_http_www_authenticate;
            auth_request_set $skm_rid $upstream_http_x_request_id;
            add_header WWW-Authenticate $skm_www always;
            add_header X-Sekimori-Request-Id $skm_rid always;
            proxy_set_header X-Auth-Subject $skm_user;
            proxy_set_header X-Auth-Acr $skm_acr;
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
    # the protected application: echoes who nginx says the user is (the
    # values are a uid and an acr URN, which need no JSON escaping)
    server {{
        listen 127.0.0.1:{upstream};
        location / {{
            default_type application/json;
            return 200 '{{"path":"$request_uri","user":"$http_x_auth_subject","acr":"$http_x_auth_acr"}}';
        }}
    }}
}}
"""


class SetSink:
    """A CAEP receiver (SIEM): records the SETs the broker pushes."""

    def __init__(self):
        self.sets = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                outer.sets.append((self.headers.get("Content-Type"),
                                   self.rfile.read(n).decode()))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/ssf" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class RiskTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.slapd = Slapd(cls.tmp.path)
        cls.sink = SetSink()
        cls.nginx = None
        try:
            cls.slapd.start()
            d = cls.tmp.path
            tool = os.path.join(BUILD, "tests", "tokctl_test")
            # the test PDP's signing key and its JWKS
            cls.pdp_keys = os.path.join(d, "pdp-keys")
            subprocess.run([tool, "rotate", cls.pdp_keys, "ES256"],
                           check=True, stdout=subprocess.PIPE)
            jwks = json.loads(subprocess.run(
                [tool, "jwks", cls.pdp_keys], check=True,
                stdout=subprocess.PIPE, text=True).stdout)
            cls.evil_keys = os.path.join(d, "evil-keys")
            subprocess.run([tool, "rotate", cls.evil_keys, "ES256"],
                           check=True, stdout=subprocess.PIPE)
            with open(os.path.join(d, "policy"), "w") as f:
                f.write(POLICY)
            with open(os.path.join(d, "transmitters.json"), "w") as f:
                json.dump({"transmitters": [{"issuer": PDP,
                                             "jwks": jwks}]}, f)
            with open(os.path.join(d, "receivers.json"), "w") as f:
                json.dump({"receivers": [{"url": cls.sink.url,
                                          "audience": "urn:test:siem"}]}, f)
            # attestation trust for hardware keys (the test authenticator)
            cls.pki = os.path.join(d, "pki")
            wa_cli("pki", cls.pki)
            aaguid = wa_cli("aaguid")
            # identity proofing: a second authenticator needs a record
            pk = os.path.join(d, "proofing.key")
            with open(pk, "w") as f:
                f.write(base64.urlsafe_b64encode(secrets.token_bytes(32))
                        .rstrip(b"=").decode() + "\n")
            os.chmod(pk, 0o600)
            cls.b = Broker(os.path.join(d, "broker"), cls.slapd.env_lines(),
                           extra={"policy_file": os.path.join(d, "policy"),
                                  "webauthn_roots_dir":
                                  os.path.join(cls.pki, "roots"),
                                  "webauthn_aaguids": aaguid,
                                  "proofing_key_file": pk,
                                  "ssf_transmitters_file":
                                  os.path.join(d, "transmitters.json"),
                                  "ssf_receivers_file":
                                  os.path.join(d, "receivers.json")})
            cls.b.start()
            cls.secrets = {}
            for cid in ("rp1", "rp-nn"):
                out = cls.b.ctl("--json", "client", "add", cid,
                                "--redirect-uri", RP_CB).stdout
                cls.secrets[cid] = json.loads(out)["client_secret"]
            # nginx in front of the upstream
            nd = os.path.join(d, "nginx")
            os.makedirs(nd)
            cls.nginx_port = free_port()
            app_port = free_port()
            while app_port == cls.nginx_port:
                app_port = free_port()
            with open(os.path.join(nd, "nginx.conf"), "w") as f:
                f.write(NGINX.format(d=nd, port=cls.nginx_port,
                                     broker=cls.b.port, ca=cls.b.ca,
                                     upstream=app_port))
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            cls.nginx = subprocess.Popen(
                [nginx, "-p", nd, "-c", os.path.join(nd, "nginx.conf")],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", cls.nginx_port),
                                             1).close()
                    break
                except OSError:
                    if cls.nginx.poll() is not None:
                        raise RuntimeError(cls.nginx.stderr.read())
                    time.sleep(0.05)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.nginx is not None and cls.nginx.poll() is None:
            cls.nginx.terminate()
            try:
                cls.nginx.wait(10)
            except subprocess.TimeoutExpired:
                cls.nginx.kill()
        if getattr(cls, "b", None):
            cls.b.stop()
        cls.slapd.stop()
        cls.sink.close()
        cls.tmp.cleanup()

    # -- helpers -------------------------------------------------------------

    def via_nginx(self, path, token=None, device=None):
        import http.client
        h = {"Host": "app.example.test"}
        if token:
            h["Authorization"] = "Bearer " + token
        if device:
            h["X-Device-Id"] = device
        c = http.client.HTTPConnection("127.0.0.1", self.nginx_port,
                                       timeout=10)
        try:
            c.request("GET", path, headers=h)
            r = c.getresponse()
            status, body = r.status, r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()
        if status >= 500:
            # nginx's own account of the failure goes with the body into
            # the assertion message: a 5xx here is nginx's, not ours
            try:
                with open(os.path.join(self.tmp.path, "nginx",
                                       "error.log"), "rb") as f:
                    body += b"\n--- nginx error.log ---\n" + f.read()[-4096:]
            except OSError:
                pass
        return status, hdrs, body

    def user(self, totp_factor=False):
        uid = "r" + secrets.token_hex(3)
        self.b.ctl("user", "add", uid, "--name", "Staff Member", "--mail",
                   uid + "@example.test")
        self.b.ctl("user", "passwd", uid, input=PW + "\n")
        key = None
        if totp_factor:
            br = Browser(self.b)
            r = br.get("/account")
            r = self.password(br, r.header("Location"), uid)
            page = br.get("/account").body.decode()
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            r = br.post("/account/totp", {"csrf": csrf, "action": "start"})
            key = re.search(r'id="totp-key">([A-Z2-7=]+)<',
                            r.body.decode()).group(1)
            steady()
            r = br.post("/account/totp", {"csrf": csrf, "action": "confirm",
                                          "code": totp(key, -30)})
            self.assertEqual(r.status, 200)
        return uid, key

    def password(self, br, loc, uid):
        html = br.get(loc).body.decode()
        return br.post("/login", {
            "tx": re.search(r'name="tx" value="([^"]+)"', html).group(1),
            "csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1),
            "username": uid, "password": PW})

    def otp(self, br, loc, code):
        html = br.get(loc).body.decode()
        return br.post("/login/otp", {
            "tx": re.search(r'name="tx" value="([^"]+)"', html).group(1),
            "csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1),
            "code": code})

    def authorize(self, br, cid="rp1", **extra):
        v, c = pkce()
        q = {"response_type": "code", "client_id": cid,
             "redirect_uri": RP_CB, "scope": "openid", "state": "s",
             "code_challenge": c, "code_challenge_method": "S256"}
        q.update(extra)
        return br.get("/authorize?" + urllib.parse.urlencode(q)), v

    def tokens(self, r, v, cid="rp1"):
        self.assertEqual(r.status, 303, r.body)
        loc = r.header("Location")
        self.assertTrue(loc.startswith(RP_CB), loc)
        code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)[
            "code"][0]
        t = self.b.request(
            "POST", "/token", body=urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": RP_CB, "code_verifier": v}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic(cid, self.secrets[cid])})
        self.assertEqual(t.status, 200, t.body)
        return t.json()

    def login(self, uid, key=None, br=None, cid="rp1"):
        br = br or Browser(self.b)
        r, v = self.authorize(br, cid=cid)
        r = self.password(br, r.header("Location"), uid)
        if key is not None:
            r = self.otp(br, r.header("Location"), totp(key))
        return br, self.tokens(r, v, cid=cid)

    def set_token(self, event, sub_id, fields=None, keys=None, **over):
        now = int(time.time())
        claims = {"iss": PDP, "aud": self.b.issuer, "iat": now,
                  "jti": secrets.token_hex(12), "sub_id": sub_id,
                  "events": {CAEP + event: dict(fields or {},
                                                event_timestamp=now)}}
        claims.update(over)
        tool = os.path.join(BUILD, "tests", "tokctl_test")
        return subprocess.run([tool, "sign", keys or self.pdp_keys,
                               "secevent+jwt", json.dumps(claims)],
                              check=True, stdout=subprocess.PIPE,
                              text=True).stdout.strip()

    def push(self, set_jwt):
        return self.b.request("POST", "/ssf/events", body=set_jwt,
                              headers={"Content-Type":
                                       "application/secevent+jwt"})

    def user_sub(self, uid):
        return {"format": "iss_sub", "iss": self.b.issuer, "sub": uid}

    # -- forward-auth through nginx -----------------------------------------

    def enrol_here(self, br):
        page = br.get("/account").body.decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        r = br.post("/account/totp", {"csrf": csrf, "action": "start"})
        key = re.search(r'id="totp-key">([A-Z2-7=]+)<',
                        r.body.decode()).group(1)
        steady()
        r = br.post("/account/totp", {"csrf": csrf, "action": "confirm",
                                      "code": totp(key, -30)})
        self.assertEqual(r.status, 200)
        return key

    def test_forward_auth_and_step_up(self):
        uid, _ = self.user()
        br, t1 = self.login(uid)                 # AAL1: password only
        s, h, body = self.via_nginx("/", t1["access_token"])
        self.assertEqual(s, 200, body)
        self.assertEqual(json.loads(body)["user"], uid)
        s, h, body = self.via_nginx("/staff/users", t1["access_token"])
        self.assertEqual(s, 401, body)
        www = h.get("www-authenticate", "")
        self.assertIn('error="insufficient_user_authentication"', www)
        self.assertIn('acr_values="urn:sekimori:acr:aal2"', www)
        self.assertTrue(h.get("x-sekimori-request-id"))
        # "/staffing" is not under "/admin"
        s, h, body = self.via_nginx("/staffing", t1["access_token"])
        self.assertEqual(s, 200)
        # the user sets up TOTP in the same SSO session; the client
        # answers the challenge with acr_values: only the factor is asked
        key = self.enrol_here(br)
        r, v = self.authorize(br, acr_values="urn:sekimori:acr:aal2")
        self.assertTrue(r.header("Location").startswith("/login/otp?tx="))
        t2 = self.tokens(self.otp(br, r.header("Location"), totp(key)), v)
        s, h, body = self.via_nginx("/staff/users", t2["access_token"])
        self.assertEqual(s, 200, body)
        self.assertTrue(json.loads(body)["acr"].endswith("aal2"))
        # no token at all: 401 invalid_token
        s, h, body = self.via_nginx("/")
        self.assertEqual(s, 401)
        self.assertIn('error="invalid_token"', h.get("www-authenticate", ""))

    def test_nginx_step_up_to_aal3_with_hardware_key(self):
        """The issue's scenario: an AAL2 session reaches /, gets the RFC
        9470 challenge on /admin (AAL3), steps up with an attested
        hardware key (software authenticator), and then passes."""
        uid, _ = self.user()
        br, _ = self.login(uid)
        key = self.enrol_here(br)            # TOTP: the AAL2 factor
        steady()
        br = Browser(self.b)
        r, v = self.authorize(br)
        r = self.password(br, r.header("Location"), uid)
        t2 = self.tokens(self.otp(br, r.header("Location"), totp(key)), v)
        self.assertTrue(jwt_parts(t2["id_token"])[1]["acr"].endswith("aal2"))
        s, h, body = self.via_nginx("/", t2["access_token"])
        self.assertEqual(s, 200, body)
        s, h, body = self.via_nginx("/admin/keys", t2["access_token"])
        self.assertEqual(s, 401, body)
        www = h.get("www-authenticate", "")
        self.assertIn('error="insufficient_user_authentication"', www)
        self.assertIn('acr_values="urn:sekimori:acr:aal3"', www)
        # a hardware key, attested under the configured root, registered
        # from the account page of the AAL2 session; a second
        # authenticator needs identity proofing first (the officer's
        # record, here made by the operator)
        self.b.ctl("proofing", "add", uid, "--ial", "2", "--method",
                   "in_person", "--name", "Staff Member", "--evidence-type",
                   "passport", "--issuer", "MOFA", "--country", "JP",
                   "--valid-until", "2033-01-01", input="RK%08d\n" %
                   secrets.randbelow(10 ** 8))
        store = os.path.join(self.tmp.path, "hwk-%s.json" % uid)
        page = br.get("/account").body.decode()
        csrf = field(page, "csrf")
        r = br.post("/webauthn/register/options",
                    {"csrf": csrf, "kind": "key"})
        self.assertEqual(r.status, 200, r.body)
        cred = wa_cli("create", store, self.b.issuer, "--att", "full",
                      "--pki", self.pki, input=r.body.decode())
        r = br.post("/account/webauthn", {"csrf": csrf, "action": "register",
                                          "kind": "key",
                                          "credential": cred, "label": "hk"})
        self.assertEqual(r.status, 303, r.body)
        # the client answers the challenge: only the key is asked for
        r, v = self.authorize(br, acr_values="urn:sekimori:acr:aal3")
        self.assertEqual(r.status, 303, r.body)
        loc = r.header("Location")
        self.assertTrue(loc.startswith("/login/webauthn"), loc)
        html = br.get(loc).body.decode()
        tx, csrf2 = field(html, "tx"), field(html, "csrf")
        r = br.post("/webauthn/login/options", {"tx": tx, "csrf": csrf2})
        self.assertEqual(r.status, 200, r.body)
        cred = wa_cli("get", store, self.b.issuer, input=r.body.decode())
        r = br.post("/login/webauthn", {"tx": tx, "csrf": csrf2,
                                        "credential": cred})
        t3 = self.tokens(r, v)
        idt = jwt_parts(t3["id_token"])[1]
        self.assertTrue(idt["acr"].endswith("aal3"), idt)
        self.assertIn("hwk", idt["amr"])
        s, h, body = self.via_nginx("/admin/keys", t3["access_token"])
        self.assertEqual(s, 200, body)
        self.assertTrue(json.loads(body)["acr"].endswith("aal3"))

    def test_device_compliance_signal_within_a_second(self):
        uid, _ = self.user()
        dev = "lt" + secrets.token_hex(3)
        self.b.ctl("device", "add", dev, "--serial", "SN" + dev,
                   "--ip", "10.1.2.3", "--owner", uid)
        br, t = self.login(uid)
        at = t["access_token"]
        self.assertEqual(self.via_nginx("/", at, device=dev)[0], 200)
        t0 = time.time()
        r = self.push(self.set_token("device-compliance-change",
                                     {"format": "opaque", "id": dev},
                                     {"previous_status": "compliant",
                                      "current_status": "not-compliant"}))
        self.assertEqual(r.status, 202, r.body)
        s, h, body = self.via_nginx("/", at, device=dev)
        elapsed = time.time() - t0
        self.assertEqual(s, 403, body)
        self.assertLess(elapsed, 1.0)
        # the same token from a compliant device (or none) still passes
        self.assertEqual(self.via_nginx("/", at)[0], 200)
        ev = [a for a in self.b.audit_lines()
              if a["event"] == "signal.received" and a.get("device") == dev]
        self.assertIn("not-compliant", ev[-1]["action"])

    def test_session_revoked_signal(self):
        uid, _ = self.user()
        br, t = self.login(uid)
        self.assertEqual(self.via_nginx("/", t["access_token"])[0], 200)
        r = self.push(self.set_token("session-revoked", self.user_sub(uid)))
        self.assertEqual(r.status, 202, r.body)
        ref = self.b.request(
            "POST", "/token", body=urllib.parse.urlencode({
                "grant_type": "refresh_token",
                "refresh_token": t["refresh_token"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic("rp1", self.secrets["rp1"])})
        self.assertEqual(ref.json()["error"], "invalid_grant")
        i = self.b.request(
            "POST", "/introspect",
            body=urllib.parse.urlencode({"token": t["access_token"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic("rp1", self.secrets["rp1"])})
        self.assertEqual(i.json(), {"active": False})
        self.assertEqual(self.via_nginx("/", t["access_token"])[0], 401)

    def test_risk_level_change_signal(self):
        uid, _ = self.user()
        br, t = self.login(uid)
        r = self.push(self.set_token(
            "risk-level-change", self.user_sub(uid),
            {"principal": "USER", "current_level": "HIGH",
             "risk_reason": "credential seen on a paste site"}))
        self.assertEqual(r.status, 202, r.body)
        s, h, body = self.via_nginx("/", t["access_token"])
        self.assertEqual(s, 403)
        d = [a for a in self.b.audit_lines()
             if a["event"] == "policy.decision" and a.get("uid") == uid]
        self.assertEqual(d[-1]["rule"], "risky-users")

    def test_bad_sets_rejected_and_change_nothing(self):
        uid, _ = self.user()
        dev = "ld" + secrets.token_hex(3)
        self.b.ctl("device", "add", dev, "--serial", "SN" + dev,
                   "--ip", "10.1.2.4", "--owner", uid)
        br, t = self.login(uid)
        sub = {"format": "opaque", "id": dev}
        f = {"current_status": "not-compliant"}
        now = int(time.time())
        good = self.set_token("device-compliance-change", sub, f)
        cases = {
            "bad signature": (self.set_token("device-compliance-change",
                                             sub, f, keys=self.evil_keys),
                              "invalid_key"),
            "wrong audience": (self.set_token("device-compliance-change",
                                              sub, f, aud="urn:other"),
                               "invalid_audience"),
            "stale iat": (self.set_token("device-compliance-change", sub, f,
                                         iat=now - 3600),
                          "invalid_request"),
            "unknown issuer": (self.set_token("device-compliance-change",
                                              sub, f,
                                              iss="https://evil.example"),
                               "invalid_issuer"),
        }
        for name, (tok, err) in cases.items():
            r = self.push(tok)
            self.assertEqual(r.status, 400, name)
            self.assertEqual(r.json()["err"], err, name)
            self.assertTrue(r.json()["code"].startswith("SKM-8"), name)
            self.assertEqual(r.json()["request_id"], r.header("X-Request-Id"))
        # nothing changed: the device still passes
        self.assertEqual(self.via_nginx("/", t["access_token"],
                                        device=dev)[0], 200)
        # a reused jti is refused, and changes nothing a second time
        self.assertEqual(self.push(good).status, 202)
        r = self.push(good)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["err"], "invalid_request")
        # wrong content type
        r = self.b.request("POST", "/ssf/events", body=good,
                           headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)

    # -- our own signals -----------------------------------------------------

    def test_new_network_asks_for_second_factor(self):
        uid2, _ = self.user()
        # the first login (from 127.0.0.1) records the network
        self.login(uid2, cid="rp-nn")
        # from another network: the rule wants AAL2; no factor to give
        br = Browser(self.b, source=("127.1.0.7", 0))
        r, v = self.authorize(br, cid="rp-nn")
        r = self.password(br, r.header("Location"), uid2)
        self.assertEqual(r.status, 403)
        self.assertIn(b"SKM-5002", r.body)
        d = [a for a in self.b.audit_lines()
             if a["event"] == "policy.decision" and a.get("uid") == uid2]
        self.assertEqual(d[-1]["rule"], "new-network-mfa")
        self.assertEqual(d[-1]["risk"], "medium")

    def test_new_network_report_only_lets_through(self):
        uid, _ = self.user()
        self.login(uid)                       # records 127.0.0.0/24
        br = Browser(self.b, source=("127.2.0.9", 0))
        br, t = self.login(uid, br=br)        # rp1: report-only rule
        self.assertEqual(jwt_parts(t["id_token"])[1]["amr"], ["pwd"])
        rep = [a for a in self.b.audit_lines()
               if a["event"] == "policy.report_only" and
               a.get("uid") == uid]
        self.assertEqual(rep[-1]["rule"], "new-network-watch")

    # -- transmitter ---------------------------------------------------------

    def test_clone_suspension_emits_credential_change(self):
        """A key suspended as a possible clone is announced to the
        receivers: CAEP credential-change, change_type revoke."""
        uid, _ = self.user()
        br, _ = self.login(uid)
        store = os.path.join(self.tmp.path, "clone-%s.json" % uid)
        csrf = field(br.get("/account").body.decode(), "csrf")
        r = br.post("/webauthn/register/options", {"csrf": csrf,
                                                   "kind": "key"})
        cred = wa_cli("create", store, self.b.issuer, "--att", "none",
                      input=r.body.decode())
        r = br.post("/account/webauthn", {"csrf": csrf, "action": "register",
                                          "kind": "key", "credential": cred,
                                          "label": "k"})
        self.assertEqual(r.status, 303, r.body)
        before = len(self.sink.sets)
        for counter, status in (("5", 303), ("3", 401)):
            b2 = Browser(self.b)
            r, v = self.authorize(b2)
            r = self.password(b2, r.header("Location"), uid)
            html = b2.get(r.header("Location")).body.decode()
            tx, c2 = field(html, "tx"), field(html, "csrf")
            r = b2.post("/webauthn/login/options", {"tx": tx, "csrf": c2})
            a = wa_cli("get", store, self.b.issuer, "--counter", counter,
                       input=r.body.decode())
            r = b2.post("/login/webauthn", {"tx": tx, "csrf": c2,
                                            "credential": a})
            self.assertEqual(r.status, status, r.body)

        def changes():
            sets = [jwt_parts(t)[1] for ct, t in self.sink.sets[before:]]
            return [c for c in sets
                    if CAEP + "credential-change" in c["events"]]
        wait_for(changes)
        # what else the outbox had queued by now: still just the one
        self.assertTrue(quiet(lambda: len(self.sink.sets)))
        cc = changes()
        self.assertEqual(len(cc), 1, cc)
        ev = cc[0]["events"][CAEP + "credential-change"]
        self.assertEqual(ev["change_type"], "revoke")
        self.assertEqual(cc[0]["sub_id"]["sub"], uid)

    def test_logout_emits_session_revoked(self):
        uid, _ = self.user()
        br, t = self.login(uid)
        before = len(self.sink.sets)
        r = br.get("/logout?" + urllib.parse.urlencode({
            "id_token_hint": t["id_token"]}))
        self.assertEqual(r.status, 200)
        wait_for(lambda: len(self.sink.sets) > before)
        self.assertTrue(quiet(lambda: len(self.sink.sets)))
        self.assertEqual(len(self.sink.sets), before + 1)
        ctype, tok = self.sink.sets[-1]
        self.assertEqual(ctype, "application/secevent+jwt")
        h, c = jwt_parts(tok)
        self.assertEqual(h["typ"], "secevent+jwt")
        self.assertEqual(c["iss"], self.b.issuer)
        self.assertEqual(c["aud"], "urn:test:siem")
        self.assertIn(CAEP + "session-revoked", c["events"])
        self.assertEqual(c["sub_id"]["user"]["sub"], uid)
        # signed with a key we publish
        kids = [k["kid"] for k in
                self.b.request("GET", "/jwks.json").json()["keys"]]
        self.assertIn(h["kid"], kids)


if __name__ == "__main__":
    unittest.main()
