"""The daemon itself: configuration errors, TLS profile, limits, request ids,
security headers, error format, metrics, readiness, SIGTERM drain, SIGHUP
reload.  Real brokerd, real TLS, real HTTP."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

from harness import BUILD, Broker, TempDir, free_port, make_tls

UNUSED_LDAP = ["ldap_uri = ldap://127.0.0.1:%d" % 1,
               "ldap_base = dc=sekimori,dc=test",
               "ldap_bind_dn = cn=broker,ou=services,dc=sekimori,dc=test",
               "ldap_timeout_ms = 300"]


def ldap_lines_unreachable(tmp):
    pw = os.path.join(tmp, "broker.pw")
    with open(pw, "w") as f:
        f.write("unused-password\n")
    os.chmod(pw, 0o600)
    return UNUSED_LDAP + ["ldap_bind_password_file = %s" % pw]


class BrokerTest(unittest.TestCase):
    """One brokerd for the read-only checks (directory unreachable)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.b = Broker(cls.tmp.path, ldap_lines_unreachable(cls.tmp.path),
                       extra={"max_body": "1024", "max_headers": "20",
                              "max_header_bytes": "8192"})
        try:
            cls.b.start()
        except Exception:
            cls.b.stop()
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.b.stop()
        out = cls.b.output()
        cls.tmp.cleanup()
        if rc != 0:
            raise AssertionError("brokerd exit %r: %s" % (rc, out))

    # -- request ids, headers, error format --------------------------------

    def test_healthz_ok(self):
        r = self.b.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ok")

    def test_request_id_present_and_unique(self):
        ids = set()
        for _ in range(40):
            r = self.b.request("GET", "/healthz")
            rid = r.header("X-Request-Id")
            self.assertRegex(rid, r"^[0-9a-f]{32}$")
            ids.add(rid)
        self.assertEqual(len(ids), 40)
        # every request's log line carries its id (written when the
        # request completes, which may be just after the client has it)
        deadline = time.time() + 3
        while True:
            logged = {l.get("request_id") for l in self.b.log_lines()
                      if l.get("event") == "http.request"}
            if ids <= logged or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(ids - logged, set())

    def test_security_headers(self):
        for path in ("/healthz", "/nope"):
            r = self.b.request("GET", path)
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
            self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
            self.assertIn("max-age=", r.header("Strict-Transport-Security"))
            csp = r.header("Content-Security-Policy")
            self.assertIn("default-src 'none'", csp)
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertNotIn("unsafe-inline", csp)
            self.assertEqual(r.header("Cache-Control"), "no-store")

    def test_not_found_json_error(self):
        r = self.b.request("GET", "/does-not-exist")
        self.assertEqual(r.status, 404)
        j = r.json()
        self.assertEqual(j["code"], "SKM-1001")
        self.assertEqual(j["request_id"], r.header("X-Request-Id"))
        self.assertIn("error", j)
        self.assertIn("error_description", j)

    def test_method_not_allowed(self):
        r = self.b.request("POST", "/healthz", body=b"x",
                           headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 405)
        self.assertEqual(r.json()["code"], "SKM-1002")
        self.assertIn("GET", r.header("Allow"))

    def test_head_is_get_without_body(self):
        r = self.b.request("HEAD", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")

    # -- limits --------------------------------------------------------------

    def test_body_over_limit_declared_413(self):
        r = self.b.request("POST", "/healthz", body=b"a" * 5000,
                           headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 413)
        self.assertEqual(r.json()["code"], "SKM-1003")

    def test_body_over_limit_chunked_413(self):
        c = self.b.connection()
        try:
            c.putrequest("POST", "/healthz")
            c.putheader("Transfer-Encoding", "chunked")
            c.putheader("Content-Type", "text/plain")
            c.endheaders()
            chunk = b"b" * 600
            try:
                for _ in range(4):
                    c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                c.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the server may answer and close early
            r = c.getresponse()
            self.assertEqual(r.status, 413)
            r.read()
        finally:
            c.close()

    def test_too_many_headers_431(self):
        h = {"X-Filler-%d" % i: "v" for i in range(30)}
        r = self.b.request("GET", "/healthz", headers=h)
        self.assertEqual(r.status, 431)
        self.assertEqual(r.json()["code"], "SKM-1004")

    def test_header_bytes_over_limit_431(self):
        r = self.b.request("GET", "/healthz", headers={"X-Big": "a" * 9000})
        self.assertEqual(r.status, 431)
        # and the server still serves afterwards
        self.assertEqual(self.b.request("GET", "/healthz").status, 200)

    # -- TLS profile ---------------------------------------------------------

    def s_client(self, *args):
        p = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.b.port,
             "-CAfile", self.b.ca, "-brief"] + list(args),
            input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=20)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def test_tls13_accepted(self):
        rc, out = self.s_client("-tls1_3")
        self.assertEqual(rc, 0, out)
        self.assertIn("TLSv1.3", out)

    def test_tls12_aead_accepted(self):
        rc, out = self.s_client("-tls1_2", "-cipher",
                                "ECDHE-ECDSA-AES128-GCM-SHA256")
        self.assertEqual(rc, 0, out)
        self.assertIn("ECDHE-ECDSA-AES128-GCM-SHA256", out)

    def test_tls11_refused(self):
        rc, out = self.s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("Protocol version: TLSv1.1", out)

    def test_tls12_cbc_suite_refused(self):
        rc, out = self.s_client("-tls1_2", "-cipher",
                                "ECDHE-ECDSA-AES128-SHA256")
        self.assertNotEqual(rc, 0, out)

    def test_tls12_non_ecdhe_suite_refused(self):
        rc, out = self.s_client("-tls1_2", "-cipher", "AES128-GCM-SHA256")
        self.assertNotEqual(rc, 0, out)

    def test_plain_http_refused(self):
        with socket.create_connection(("127.0.0.1", self.b.port), 5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            try:
                data = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                data = b""
        self.assertFalse(data.startswith(b"HTTP/"))

    # -- metrics -------------------------------------------------------------

    def test_metrics(self):
        for _ in range(3):
            self.b.request("GET", "/healthz")
        self.b.request("GET", "/missing")
        r = self.b.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        text = r.body.decode()
        m = re.search(r'^sekimori_http_requests_total\{route="/healthz",'
                      r'status="200"\} (\d+)$', text, re.M)
        self.assertIsNotNone(m, text)
        self.assertGreaterEqual(int(m.group(1)), 3)
        self.assertRegex(text, r'requests_total\{route="other",'
                               r'status="404"\} [1-9]')
        self.assertIn("sekimori_http_request_duration_seconds_bucket", text)
        # itself at least (a previous request may still be completing)
        self.assertRegex(text, r"(?m)^sekimori_http_in_flight [1-9]\d*$")
        self.assertIn('sekimori_auth_total{method="password"', text)

    def test_readyz_503_when_directory_unreachable(self):
        r = self.b.request("GET", "/readyz")
        self.assertEqual(r.status, 503)
        j = r.json()
        self.assertNotEqual(j["checks"]["directory"], "ok")
        self.assertEqual(j["request_id"], r.header("X-Request-Id"))


class ReadinessTest(unittest.TestCase):
    """/readyz follows the real directory: 503 while slapd is stopped,
    200 again once it is back (same brokerd, same pool)."""

    def test_readyz_follows_slapd(self):
        from ldap_harness import Slapd
        tmp = TempDir()
        self.addCleanup(tmp.cleanup)
        slapd = Slapd(tmp.path)
        self.addCleanup(slapd.stop)
        slapd.start()
        b = Broker(os.path.join(tmp.path, "broker"), slapd.env_lines(),
                   extra={"ldap_timeout_ms": "500"})
        self.addCleanup(b.stop)
        b.start()

        def ready_within(want, seconds):
            deadline = time.time() + seconds
            while True:
                r = b.request("GET", "/readyz")
                if r.status == want or time.time() > deadline:
                    return r
                time.sleep(0.1)

        r = ready_within(200, 10)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["checks"], {"directory": "ok",
                                              "keys": "ok"})
        slapd.stop()
        t0 = time.time()
        r = ready_within(503, 10)
        self.assertEqual(r.status, 503, r.body)
        self.assertNotEqual(r.json()["checks"]["directory"], "ok")
        self.assertEqual(r.json()["code"], "SKM-1007")
        # a clear error within the timeout, not a hang
        self.assertLess(time.time() - t0, 5)
        slapd.start()
        r = ready_within(200, 15)
        self.assertEqual(r.status, 200, r.body)


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.base = ["issuer = https://127.0.0.1:8443",
                     "tls_cert = c.pem", "tls_key = k.pem",
                     "audit_file = audit.log", "key_dir = keys"] + \
            ldap_lines_unreachable(self.tmp.path)

    def check(self, lines):
        path = os.path.join(self.tmp.path, "t.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = subprocess.run([os.path.join(BUILD, "brokerd"), "-t", "-c", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return p.returncode, p.stderr.decode(), path

    def test_valid_config_accepted(self):
        rc, err, _ = self.check(self.base)
        self.assertEqual(rc, 0, err)

    def test_unknown_key(self):
        rc, err, path = self.check(self.base + ["# c", "", "colour = blue"])
        self.assertNotEqual(rc, 0)
        self.assertIn("%s:%d: unknown key 'colour'" % (path, len(self.base) + 3),
                      err)

    def test_bad_number(self):
        rc, err, path = self.check(["max_body = lots"] + self.base)
        self.assertNotEqual(rc, 0)
        self.assertIn("%s:1: max_body: expected a whole number" % path, err)

    def test_number_out_of_range(self):
        rc, err, path = self.check(self.base + ["max_headers = 100000"])
        self.assertNotEqual(rc, 0)
        self.assertIn(":%d: max_headers" % (len(self.base) + 1), err)

    def test_session_limit_range(self):
        for v in ("0", "16", "1000"):
            rc, err, _ = self.check(self.base +
                                    ["max_sessions_per_user = " + v])
            self.assertEqual(rc, 0, err)
        for v in ("-1", "1001", "many"):
            rc, err, _ = self.check(self.base +
                                    ["max_sessions_per_user = " + v])
            self.assertNotEqual(rc, 0, v)
            self.assertIn(":%d: max_sessions_per_user: expected a count "
                          "from 0 (no limit) to 1000" % (len(self.base) + 1),
                          err)

    def test_bad_listen(self):
        rc, err, _ = self.check(["listen = localhost"] + self.base)
        self.assertNotEqual(rc, 0)
        self.assertIn(":1: listen: expected IPv4ADDRESS:PORT", err)

    def test_bad_bool(self):
        rc, err, _ = self.check(["dev_plain_http = maybe"] + self.base)
        self.assertNotEqual(rc, 0)
        self.assertIn(":1: dev_plain_http: expected yes or no", err)

    def test_missing_equals(self):
        rc, err, _ = self.check(["just words"] + self.base)
        self.assertNotEqual(rc, 0)
        self.assertIn(":1: expected 'key = value'", err)

    def test_duplicate_key(self):
        rc, err, _ = self.check(self.base + ["max_body = 2048",
                                             "max_body = 4096"])
        self.assertNotEqual(rc, 0)
        self.assertIn("max_body: given twice", err)

    def test_missing_issuer(self):
        rc, err, _ = self.check(self.base[1:])
        self.assertNotEqual(rc, 0)
        self.assertIn("issuer is required", err)

    def test_http_issuer_without_dev_flag(self):
        rc, err, _ = self.check(["issuer = http://127.0.0.1:8443"] +
                                self.base[1:])
        self.assertNotEqual(rc, 0)
        self.assertIn("issuer must be https://", err)

    def test_missing_file(self):
        path = os.path.join(self.tmp.path, "absent.conf")
        p = subprocess.run([os.path.join(BUILD, "brokerd"), "-t", "-c", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("%s: cannot open: No such file" % path,
                      p.stderr.decode())


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)

    def start(self, **kw):
        b = Broker(self.tmp.path, ldap_lines_unreachable(self.tmp.path), **kw)
        self.addCleanup(b.stop)
        return b.start()

    def test_sigterm_completes_slow_request(self):
        b = self.start()
        c = b.connection(timeout=20)
        c.putrequest("POST", "/healthz")
        c.putheader("Content-Type", "text/plain")
        c.putheader("Content-Length", "20")
        c.endheaders()
        c.send(b"0123456789")          # half the body: request in flight
        time.sleep(0.3)
        b.signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(b.proc.poll(), "exited before draining")
        c.send(b"0123456789")
        r = c.getresponse()
        body = r.read()
        c.close()
        # the request was answered (405: /healthz is GET only), not cut
        self.assertEqual(r.status, 405, body)
        self.assertEqual(b.proc.wait(15), 0, b.output())
        # no new connections while/after draining
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", b.port), 2).close()

    def test_sighup_reloads_certificate(self):
        b = self.start()
        c = b.connection()
        self.assertEqual(b.request("GET", "/healthz", conn=c).status, 200)
        old = ssl.get_server_certificate(("127.0.0.1", b.port))
        # re-issue the server certificate under the same CA
        os.remove(b.tlsfiles["cert"])
        make_tls(os.path.dirname(b.tlsfiles["cert"]))
        b.signal(signal.SIGHUP)
        deadline = time.time() + 5
        new = old
        while time.time() < deadline and new == old:
            time.sleep(0.1)
            new = ssl.get_server_certificate(("127.0.0.1", b.port))
        self.assertNotEqual(old, new)
        # the connection opened before the reload still works
        self.assertEqual(b.request("GET", "/healthz", conn=c).status, 200)
        c.close()
        self.assertTrue(any(l.get("event") == "broker.reloaded"
                            for l in b.log_lines()))

    def test_sighup_with_broken_certificate_keeps_old(self):
        b = self.start()
        with open(b.tlsfiles["cert"], "w") as f:
            f.write("not a certificate\n")
        b.signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertEqual(b.request("GET", "/healthz").status, 200)
        self.assertTrue(any(l.get("event") == "broker.reload_failed"
                            for l in b.log_lines()))

    def test_audit_stream_records_start_and_stop(self):
        b = self.start()
        self.assertEqual(b.stop(), 0, b.output())
        events = [l["event"] for l in b.audit_lines()]
        self.assertEqual(events[0], "broker.started")
        self.assertEqual(events[-1], "broker.stopped")

    def test_overload_gives_503(self):
        b = self.start(extra={"max_in_flight": "1"})
        c = b.connection(timeout=20)
        c.putrequest("POST", "/healthz")
        c.putheader("Content-Length", "10")
        c.endheaders()
        c.send(b"01234")               # holds the only slot
        # until the server has taken the head, a request may still pass
        deadline = time.time() + 10
        while True:
            r = b.request("GET", "/healthz")
            if r.status != 200 or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["code"], "SKM-1005")
        c.send(b"56789")
        self.assertEqual(c.getresponse().status, 405)
        c.close()
        self.assertEqual(b.request("GET", "/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
