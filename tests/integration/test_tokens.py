"""Tokens the broker issues, checked by `brokerctl token verify` (the PEP
library): a real token verifies; every attack of the tokens issue is
rejected, each with its own message.  Claim attacks are signed with the
broker's own key (through the key process), so they reach the claim
checks; header attacks are rejected before the signature is looked at."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import unittest
import urllib.parse

from harness import BUILD, Broker, TempDir
from ldap_harness import Slapd


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class SvcBrokerCase(unittest.TestCase):
    """A slapd, a broker, and a client_credentials client "svc" (cls.auth
    is its Basic credential); subclasses add to set_up()."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.slapd = Slapd(cls.tmp.path)
        try:
            cls.slapd.start()
            cls.b = Broker(os.path.join(cls.tmp.path, "broker"),
                           cls.slapd.env_lines())
            cls.b.start()
            out = cls.b.ctl("--json", "client", "add", "svc",
                            "--grant", "client_credentials",
                            "--scope", "api.read").stdout
            secret = json.loads(out)["client_secret"]
            cls.auth = base64.b64encode(("svc:" + secret).encode()).decode()
            cls.set_up()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def set_up(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "b", None):
            cls.b.stop()
        cls.slapd.stop()
        cls.tmp.cleanup()


class AuditHoldTest(SvcBrokerCase):
    """The token endpoint does not hold its thread while the token.issued
    record is synced (brk_audit_emit): the response waits instead.  A
    token must still never reach the client before its record is on disk,
    and a failed audit write must turn into SKM-1011 with no token."""

    def token(self):
        return self.b.request(
            "POST", "/token", body="grant_type=client_credentials",
            headers={"Authorization": "Basic " + self.auth, "Content-Type":
                     "application/x-www-form-urlencoded"})

    def audit_jtis(self):
        jtis = set()
        with open(self.b.audit) as f:
            for line in f:
                rec = json.loads(line)      # whole lines only
                if rec.get("event") == "token.issued":
                    jtis.add(rec["jti"])
        return jtis

    def test_record_on_disk_before_the_token(self):
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            futs = [ex.submit(lambda: (self.token(), self.audit_jtis()))
                    for _ in range(64)]
            for f in futs:
                r, seen = f.result()
                self.assertEqual(r.status, 200, r.body)
                claims = json.loads(unb64(
                    r.json()["access_token"].split(".")[1]))
                # read right after the response: the record was there
                self.assertIn(claims["jti"], seen)

    def test_failed_audit_write_withholds_the_token(self):
        size = os.path.getsize(self.b.audit)
        pid = str(self.b.proc.pid)
        subprocess.run(["prlimit", "--pid", pid,
                        "--fsize=%d:unlimited" % size], check=True)
        try:
            r = self.token()
        finally:
            subprocess.run(["prlimit", "--pid", pid,
                            "--fsize=unlimited:unlimited"], check=True)
        self.assertEqual(r.status, 503, r.body)
        j = r.json()
        self.assertEqual(j["code"], "SKM-1011")
        self.assertEqual(j["error"], "temporarily_unavailable")
        self.assertEqual(j["request_id"], r.headers["x-request-id"])
        self.assertNotIn("access_token", r.body.decode())
        self.assertEqual(os.path.getsize(self.b.audit), size)  # no torn line
        self.audit_jtis()                   # every line still parses
        r = self.token()                    # and the stream recovers
        self.assertEqual(r.status, 200, r.body)
        jti = json.loads(unb64(r.json()["access_token"].split(".")[1]))["jti"]
        self.assertIn(jti, self.audit_jtis())


class TokenVerifyTest(SvcBrokerCase):
    @classmethod
    def set_up(cls):
        r = cls.b.request(
            "POST", "/token", body="grant_type=client_credentials",
            headers={"Authorization": "Basic " + cls.auth, "Content-Type":
                     "application/x-www-form-urlencoded"})
        assert r.status == 200, r.body
        cls.token = r.json()["access_token"]
        h, p, s = cls.token.split(".")
        cls.hdr = json.loads(unb64(h))
        cls.claims = json.loads(unb64(p))
        cls.jwks = cls.b.request("GET", "/jwks.json").json()

    def verify(self, tok, *args):
        p = self.b.ctl("token", "verify", "--aud", "svc", *args, tok,
                       check=False)
        return p.returncode, p.stderr.strip()

    def sign(self, claims, typ="at+jwt"):
        tool = os.path.join(BUILD, "tests", "tokctl_test")
        return subprocess.run([tool, "sign", self.b.key_dir, typ,
                               json.dumps(claims)], check=True,
                              stdout=subprocess.PIPE,
                              text=True).stdout.strip()

    def forge(self, hdr, claims=None, sig=None):
        h = b64(json.dumps(hdr).encode())
        p = b64(json.dumps(claims or self.claims).encode())
        return "%s.%s.%s" % (h, p, sig if sig is not None else
                             self.token.split(".")[2])

    def test_issued_token_verifies(self):
        rc, err = self.verify(self.token)
        self.assertEqual(rc, 0, err)

    def test_example_pep(self):
        """examples/pep.c, linked only with libsekimori-pep, as a service."""
        jw = os.path.join(self.tmp.path, "jwks.json")
        with open(jw, "w") as f:
            json.dump(self.jwks, f)
        pep = os.path.join(BUILD, "examples", "pep")

        def run(tok, *extra):
            return subprocess.run([pep, jw, self.b.issuer, "svc"] +
                                  list(extra), input=tok, text=True,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)

        p = run(self.token)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("allow: sub=svc", p.stdout)
        h, pl, sg = self.token.split(".")
        p = run("%s.%s.%s" % (h, pl[:-2] + ("A" if pl[-2] != "A" else "B")
                              + pl[-1], sg))
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stdout.startswith("deny:"), p.stdout)
        # a client_credentials token has no acr: a minimum refuses it
        p = run(self.token, "urn:sekimori:acr:aal2")
        self.assertEqual(p.returncode, 1)
        # the JWKS fetched from the broker by the library itself (TLS
        # verified against the test CA)
        env = dict(os.environ, PEP_CA_FILE=self.b.ca)
        p = subprocess.run([pep, self.b.issuer + "/jwks.json",
                            self.b.issuer, "svc"], input=self.token,
                           text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("allow: sub=svc", p.stdout)
        # without the CA the fetch must fail (the peer is verified)
        env.pop("PEP_CA_FILE")
        p = subprocess.run([pep, self.b.issuer + "/jwks.json",
                            self.b.issuer, "svc"], input=self.token,
                           text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env)
        self.assertEqual(p.returncode, 1, p.stdout)

    def test_every_attack_rejected_with_its_own_message(self):
        now = int(time.time())
        h, p, s = self.token.split(".")
        kid = self.hdr["kid"]
        jwk = self.jwks["keys"][0]
        flipped_payload = bytearray(unb64(p))
        flipped_payload[5] ^= 0x01
        flipped_sig = bytearray(unb64(s))
        flipped_sig[10] ^= 0x01
        hs_in = ("%s.%s" % (b64(json.dumps({"alg": "HS256", "typ": "at+jwt",
                                            "kid": kid}).encode()), p))
        hs_sig = hmac.new(json.dumps(jwk).encode(), hs_in.encode(),
                          hashlib.sha256).digest()
        dup_hdr = ('{"alg":"ES256","alg":"none","typ":"at+jwt","kid":"%s"}'
                   % kid).encode()
        c = dict(self.claims)
        attacks = {
            "alg none": self.forge({"alg": "none", "typ": "at+jwt",
                                    "kid": kid}, sig=""),
            "HS256 with the public key": hs_in + "." + b64(hs_sig),
            "unknown kid": self.forge(dict(self.hdr, kid="no-such-key")),
            "kid with path characters": self.forge(
                dict(self.hdr, kid="../../etc/passwd")),
            "kid with LDAP/SQL characters": self.forge(
                dict(self.hdr, kid="x')(uid=*)--")),
            "payload altered by one bit": "%s.%s.%s" % (
                h, b64(bytes(flipped_payload)), s),
            "signature altered by one bit": "%s.%s.%s" % (
                h, p, b64(bytes(flipped_sig))),
            "embedded jwk": self.forge(dict(self.hdr, jwk=jwk)),
            "jku header": self.forge(dict(self.hdr,
                                          jku="https://evil.example/jwks")),
            "expired": self.sign(dict(c, iat=now - 900, nbf=now - 900,
                                      exp=now - 600)),
            "nbf in the future": self.sign(dict(c, nbf=now + 900,
                                                exp=now + 1200)),
            "wrong iss": self.sign(dict(c, iss="https://evil.example")),
            "wrong aud": self.sign(dict(c, aud="someone-else")),
            "wrong typ": self.sign(c, typ="JWT"),
            "unknown crit": self.forge(dict(self.hdr, crit=["exp"],
                                            exp=1)),
            "oversized": self.forge(self.hdr, dict(c, pad="x" * 9000)),
            "bad base64url": h[:-2] + "+/" + "." + p + "." + s,
            "duplicate member names": "%s.%s.%s" % (b64(dup_hdr), p, s),
            "two parts": h + "." + p,
            "four parts": self.token + ".x",
        }
        # attacks that are one case of the list share a message
        same_case = [{"kid with path characters",
                      "kid with LDAP/SQL characters"},
                     {"payload altered by one bit",
                      "signature altered by one bit"},
                     {"two parts", "four parts"}]
        messages = {}
        for name, tok in attacks.items():
            rc, err = self.verify(tok)
            self.assertNotEqual(rc, 0, "%s accepted" % name)
            self.assertTrue(err.startswith("brokerctl: token rejected:"),
                            "%s: %s" % (name, err))
            messages.setdefault(err, set()).add(name)
        for msg, names in messages.items():
            if len(names) > 1:
                self.assertIn(names, same_case, msg)
        # 20 attacks, 17 distinct cases, 17 distinct messages
        self.assertEqual(len(messages), len(attacks) - 3, messages)


if __name__ == "__main__":
    unittest.main()
