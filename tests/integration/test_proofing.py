"""Identity proofing end to end (docs/proofing.md): records and their
history through brokerctl, the officer pages (an officer at AAL3 with a
hardware key from tests/helpers/wa_cli, never their own subject), the
recovery gate, the gate on a second authenticator, verified_claims in the
ID token and userinfo validated against the Identity Assurance JSON
schema (tests/schema/), the ial claim of access tokens, device proofing
over mutual TLS, and document numbers never in clear.  Real slapd, real
brokerd, real HTTPS."""
import json
import os
import re
import secrets
import ssl
import subprocess
import urllib.parse

from harness import Browser
from npm import ensure_node_modules, node
from test_oidc import RP_CB, basic, jwt_parts, pkce
from test_webauthn import PW, WebAuthnBase, field

HERE = os.path.dirname(os.path.abspath(__file__))
DOCNUM = "AB12-3456-7890"           # what the officer types
DOCNORM = "AB1234567890"            # its normalised form
NEWPW = "Orbit 57 walnut-harbour quiet"
VC_REQ = {"verified_claims": {
    "verification": {"trust_framework": None, "assurance_level": None,
                     "time": None, "evidence": None,
                     "verification_process": None},
    "claims": {"name": None, "birthdate": None, "address": None}}}


def make_device_pki(d):
    """A CA for device certificates and two device certificates:
    CN = inventory id, serialNumber = hardware serial."""
    os.makedirs(d, exist_ok=True)

    def run(*a):
        subprocess.run(a, cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-out", "dca.key")
    run("openssl", "req", "-x509", "-new", "-key", "dca.key", "-sha256",
        "-days", "30", "-subj", "/O=Sekimori test/CN=Device CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", "dca.pem")
    for name, cn, sn in (("good", "pc-001", "SN-0001"),
                         ("bad", "pc-002", "SN-9999")):
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", name + ".key")
        run("openssl", "req", "-new", "-key", name + ".key", "-subj",
            "/CN=%s/serialNumber=%s" % (cn, sn), "-out", name + ".csr")
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=clientAuth\n")
        run("openssl", "x509", "-req", "-in", name + ".csr", "-CA",
            "dca.pem", "-CAkey", "dca.key", "-CAcreateserial", "-sha256",
            "-days", "30", "-extfile", name + ".ext", "-out", name + ".pem")
    return os.path.join(d, "dca.pem")


class ProofingTest(WebAuthnBase):

    @classmethod
    def extra_conf(cls):
        key = os.path.join(cls.tmp.path, "proofing.key")
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (secrets.token_urlsafe(32) + "\n").encode())
        os.close(fd)
        cls.devpki = os.path.join(cls.tmp.path, "devpki")
        pol = os.path.join(cls.tmp.path, "policy")
        with open(pol, "w") as f:
            f.write("[rule unproofed-devices]\n"
                    "description = rp-dev serves proofed devices only\n"
                    "match.client = rp-dev\n"
                    "match.device_proofed = no\n"
                    "deny = yes\n")
        return {"proofing_key_file": key,
                "verified_claims_clients": "rp1",
                "tls_client_ca": make_device_pki(cls.devpki),
                "policy_file": pol}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b.ctl("group", "add", "proofing-officers")
        out = cls.b.ctl("--json", "client", "add", "rp2",
                        "--redirect-uri", RP_CB).stdout
        cls.secret2 = json.loads(out)["client_secret"]

    # -- helpers -------------------------------------------------------------

    def proof(self, uid, ial="2", method="in_person", number=None,
              extra=(), check=True):
        if number is None:        # one document, one subject
            number = "DN%010d" % secrets.randbelow(10 ** 10)
        args = ["--json", "proofing", "add", uid, "--ial", ial,
                "--method", method, "--name", "Staff Member",
                "--birthdate", "1990-04-01", "--address",
                "1-1 Kasumigaseki, Chiyoda, Tokyo",
                "--evidence-type", "jp_individual_number_card",
                "--issuer", "Chiyoda City", "--country", "JP",
                "--valid-until", "2033-03-31"] + list(extra)
        p = self.b.ctl(*args, input=number + "\n", check=check)
        return json.loads(p.stdout) if p.returncode == 0 else p

    def history(self, uid, device=False):
        args = ["--json", "proofing", "list", uid]
        if device:
            args.append("--device")
        return json.loads(self.b.ctl(*args).stdout)

    def officer(self):
        """An officer signed in at AAL3 with a hardware key: a Browser
        on the proofing page and the page's CSRF token."""
        uid = self.user("off")
        self.b.ctl("group", "add-member", "proofing-officers", uid)
        br = Browser(self.b)
        self.account_login(br, uid)
        store = self.store(uid)
        cid, _ = self.register(br, store, kind="key", att="full")
        br = Browser(self.b)
        r = br.get("/proofing")
        self.assertEqual(r.status, 303, r.body)
        r = self.password_form(br, r.header("Location"), uid)
        self.assertTrue(r.header("Location").startswith("/login/webauthn"),
                        r.header("Location"))
        r = self.webauthn_stage(br, r.header("Location"), store)
        self.assertEqual(r.header("Location"), "/proofing", r.body)
        page = br.get("/proofing")
        self.assertEqual(page.status, 200, page.body)
        return uid, br, field(br.get("/account").body.decode(), "csrf")

    def officer_add(self, br, csrf, uid, **over):
        form = {"csrf": csrf, "action": "add", "uid": uid, "ial": "2",
                "method": "in_person", "name": "Staff Member",
                "birthdate": "1990-04-01",
                "address": "1-1 Kasumigaseki, Chiyoda, Tokyo",
                "evidence_type": "jp_individual_number_card",
                "issuer": "Chiyoda City", "country": "JP",
                "document_number": "DP%010d" % secrets.randbelow(10 ** 10),
                "valid_until": "2033-03-31"}
        form.update(over)
        return br.post("/proofing", form)

    def recover(self, uid, code, password=NEWPW, remove_keys=True,
                reset_totp=False):
        br = Browser(self.b)
        page = br.get("/recovery")
        self.assertEqual(page.status, 200, page.body)
        r = br.post("/recovery", {"csrf": field(page.body.decode(), "csrf"),
                                  "step": "start", "uid": uid,
                                  "code": code})
        if r.status != 200:
            return r
        form = {"csrf": field(r.body.decode(), "csrf"), "step": "finish",
                "password": password}
        if remove_keys:
            form["remove_keys"] = "1"
        if reset_totp:
            form["reset_totp"] = "1"
        return br.post("/recovery", form)

    def code_flow(self, uid, store=None, client="rp1", secret=None,
                  claims=None, password=PW):
        v, c = pkce()
        q = {"response_type": "code", "client_id": client,
             "redirect_uri": RP_CB, "scope": "openid", "state": "s1",
             "nonce": "n1", "code_challenge": c,
             "code_challenge_method": "S256"}
        if claims is not None:
            q["claims"] = json.dumps(claims)
        br = Browser(self.b)
        r = br.get("/authorize?" + urllib.parse.urlencode(q))
        page = br.get(r.header("Location")).body.decode()
        r = br.post("/login", {"tx": field(page, "tx"),
                               "csrf": field(page, "csrf"),
                               "username": uid, "password": password})
        if r.header("Location").startswith("/login/webauthn"):
            r = self.webauthn_stage(br, r.header("Location"), store)
        loc = r.header("Location")
        self.assertTrue(loc.startswith(RP_CB), loc)
        code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)[
            "code"][0]
        t = self.b.request(
            "POST", "/token", body=urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": RP_CB, "code_verifier": v}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic(client, secret or self.secret)})
        self.assertEqual(t.status, 200, t.body)
        return t.json()

    def userinfo(self, at):
        r = self.b.request("GET", "/userinfo",
                           headers={"Authorization": "Bearer " + at})
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def validate_schema(self, *objs):
        ensure_node_modules()
        p = subprocess.run([node(), os.path.join(HERE, "vc_validate.mjs")],
                           input="\n".join(json.dumps(o) for o in objs),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

    # -- records ---------------------------------------------------------------

    def test_record_creation_and_history(self):
        uid = self.user()
        first = self.proof(uid)
        self.assertTrue(first["id"].startswith("prf-"))
        self.assertIn("recovery_code", first)
        second = self.proof(uid, ial="3", number="XY98765432")
        h = self.history(uid)
        self.assertEqual([x["id"] for x in h], [second["id"], first["id"]])
        self.assertEqual(h[0]["status"], "valid")
        self.assertEqual(h[0]["ial"], "IAL3")
        self.assertEqual(h[0]["officer"][:10], "brokerctl:")
        self.assertEqual(h[1]["status"], "superseded")
        self.assertIn(second["id"], h[1]["reason"])
        self.assertEqual(h[0]["evidence"][0]["number_last4"], "5432")
        show = json.loads(self.b.ctl("--json", "proofing", "show",
                                     uid).stdout)
        self.assertEqual(show["ial"], "IAL3")
        # revoke: status and reason, history kept, audited
        self.b.ctl("proofing", "revoke", uid, second["id"], "--reason",
                   "document reported stolen")
        h = self.history(uid)
        self.assertEqual(len(h), 2)
        self.assertEqual(h[0]["status"], "revoked")
        self.assertEqual(h[0]["reason"], "document reported stolen")
        self.assertEqual(json.loads(self.b.ctl(
            "--json", "proofing", "show", uid).stdout)["ial"], "none")
        self.assertTrue(self.audit("proofing.recorded", id=first["id"]))
        self.assertTrue(self.audit("proofing.revoked", id=second["id"]))
        # revoking twice is refused
        p = self.b.ctl("proofing", "revoke", uid, second["id"], "--reason",
                       "again", check=False)
        self.assertEqual(p.returncode, 1)

    def test_invalid_records_refused(self):
        uid = self.user()
        # IAL3 remotely, an unknown document type, a bad country, an
        # expired document, a malformed number: each refused
        for extra, number in ((("--ial", "3", "--method",
                                "remote_document"), DOCNUM),):
            p = self.b.ctl("proofing", "add", uid, *extra, "--name", "X",
                           "--evidence-type", "passport", "--issuer", "MOFA",
                           "--country", "JP", "--valid-until", "2033-01-01",
                           input=number + "\n", check=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("IAL3", p.stderr)
        for opts, msg in ((("--evidence-type", "library_card"), "type"),
                          (("--country", "XX"), "country"),
                          (("--valid-until", "2020-01-01"), "expired"),
                          (("--valid-until", "2033-02-30"), "valid until")):
            args = {"--evidence-type": "passport", "--issuer": "MOFA",
                    "--country": "JP", "--valid-until": "2033-01-01"}
            args[opts[0]] = opts[1]
            flat = [x for kv in args.items() for x in kv]
            p = self.b.ctl("proofing", "add", uid, "--ial", "2", "--method",
                           "in_person", "--name", "X", *flat,
                           input=DOCNUM + "\n", check=False)
            self.assertEqual(p.returncode, 1, (opts, p.stderr))
        p = self.proof(uid, number="12", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.history(uid), [])

    def test_same_document_for_two_subjects_refused(self):
        a, b = self.user(), self.user()
        self.proof(a, number="ZZ11223344")
        p = self.proof(b, number="zz-1122 3344", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("another subject", p.stderr)

    def test_document_numbers_never_in_clear(self):
        uid = self.user()
        self.proof(uid, number="QW-5566778899")
        dump = self.slapd.ldap("ldapsearch", args=[
            "-LLL", "-o", "ldif-wrap=no", "-b", self.slapd.base]).stdout
        self.assertIn("skmProofingDocumentHash", dump)
        for text in (dump, open(self.b.log).read(),
                     open(self.b.audit).read(), self.b.output()):
            self.assertNotIn("5566778899", text)
            self.assertNotIn("QW5566778899", text)
        toks = self.code_flow(uid, claims={"id_token": VC_REQ,
                                           "userinfo": VC_REQ})
        blob = json.dumps([jwt_parts(toks["id_token"]),
                           jwt_parts(toks["access_token"]),
                           self.userinfo(toks["access_token"])])
        self.assertNotIn("5566778899", blob)
        self.assertIn("verified_claims", blob)

    # -- officers ----------------------------------------------------------------

    def test_officer_cannot_proof_self(self):
        off, br, csrf = self.officer()
        r = self.officer_add(br, csrf, off)
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-7004", r.body)
        self.assertEqual(self.history(off), [])
        self.assertTrue(self.audit("proofing.officer_refused", uid=off,
                                   reason="SKM-7004"))

    def test_officer_below_aal3_refused(self):
        uid = self.user("offl")
        self.b.ctl("group", "add-member", "proofing-officers", uid)
        subject = self.user()
        br = Browser(self.b)
        self.account_login(br, uid)                  # password only
        csrf = field(br.get("/account").body.decode(), "csrf")
        r = self.officer_add(br, csrf, subject)
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-5003", r.body)
        r = br.get("/proofing")                      # no key to step up
        self.assertEqual(r.status, 403, r.body)
        self.assertEqual(self.history(subject), [])
        # not an officer at all
        other = self.user()
        br = Browser(self.b)
        self.account_login(br, other)
        r = br.get("/proofing")
        self.assertEqual(r.status, 403)
        self.assertIn(b"SKM-7003", r.body)

    # -- gates ---------------------------------------------------------------------

    def test_recovery_without_proofing_refused(self):
        uid, store, cid = self.user_with_key(kind="key")
        r = self.recover(uid, "ABCDE-FGHJK")
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-7002", r.body)
        r = self.recover("nobody-here", "ABCDE-FGHJK")
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-7002", r.body)
        self.assertTrue(self.audit("recovery.refused", uid=uid))
        self.assertEqual(len(self.keys(uid)), 1)

    def test_recovery_with_proofing(self):
        uid, store, cid = self.user_with_key(kind="key")
        rec = self.proof(uid)
        # a wrong code is refused even with a record
        r = self.recover(uid, "ABCDE-FGHJK")
        self.assertEqual(r.status, 403, r.body)
        r = self.recover(uid, rec["recovery_code"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.keys(uid), [])
        self.assertTrue(self.audit("recovery.completed", uid=uid))
        # the new password works, the old one does not
        p = self.b.ctl("user", "check-password", uid, input=NEWPW + "\n",
                       check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.b.ctl("user", "check-password", uid, input=PW + "\n",
                       check=False)
        self.assertNotEqual(p.returncode, 0)
        # the code was single use
        r = self.recover(uid, rec["recovery_code"])
        self.assertEqual(r.status, 403, r.body)

    def test_recovery_refused_below_required_level(self):
        uid = self.user()
        rec = self.proof(uid, ial="1", number="LV11112222")
        r = self.recover(uid, rec["recovery_code"])
        self.assertEqual(r.status, 403, r.body)

    def test_second_authenticator_needs_proofing(self):
        uid, store, cid = self.user_with_key(kind="key")
        br = Browser(self.b)
        self.account_login(br, uid, store=store)
        csrf, _ = self.account_csrf(br)
        r = br.post("/account/totp", {"csrf": csrf, "action": "start"})
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-7001", r.body)
        r = br.post("/webauthn/register/options",
                    {"csrf": csrf, "kind": "key"})
        self.assertEqual(r.status, 403, r.body)
        self.assertEqual(r.json()["code"], "SKM-7001")
        self.assertTrue(self.audit("proofing.enrolment_refused", uid=uid))
        self.proof(uid, number="SA99887766")
        r = br.post("/account/totp", {"csrf": csrf, "action": "start"})
        self.assertEqual(r.status, 200, r.body)

    # -- tokens --------------------------------------------------------------------

    def test_verified_claims_and_ial(self):
        uid = self.user()
        rec = self.proof(uid, number="VC44556677")
        toks = self.code_flow(uid, claims={"id_token": VC_REQ,
                                           "userinfo": VC_REQ})
        idt = jwt_parts(toks["id_token"])[1]
        at = jwt_parts(toks["access_token"])[1]
        ui = self.userinfo(toks["access_token"])
        self.assertEqual(at["ial"], 2)
        for src in (idt, ui):
            vc = src["verified_claims"]
            self.assertEqual(vc["verification"]["trust_framework"],
                             "nist_800_63A")
            self.assertEqual(vc["verification"]["assurance_level"], "IAL2")
            self.assertEqual(vc["claims"]["name"], "Staff Member")
            self.assertEqual(vc["claims"]["birthdate"], "1990-04-01")
            ev = vc["verification"]["evidence"][0]
            self.assertEqual(ev["type"], "document")
            self.assertEqual(ev["check_details"][0]["check_method"], "vpip")
            self.assertEqual(ev["check_details"][0]["txn"], rec["id"])
            self.assertEqual(ev["document_details"]["type"],
                             "jp_individual_number_card")
            self.assertNotIn("document_number", ev["document_details"])
        self.validate_schema({"verified_claims": idt["verified_claims"]},
                             {"verified_claims": ui["verified_claims"]})
        # only what is asked for
        only = {"id_token": {"verified_claims": {
            "verification": {"trust_framework": None},
            "claims": {"birthdate": None}}}}
        idt = jwt_parts(self.code_flow(uid, claims=only)["id_token"])[1]
        self.assertEqual(idt["verified_claims"]["claims"],
                         {"birthdate": "1990-04-01"})
        self.assertNotIn("evidence", idt["verified_claims"]["verification"])
        self.validate_schema({"verified_claims": idt["verified_claims"]})
        # an unmet constraint omits the element
        want3 = {"id_token": {"verified_claims": {
            "verification": {"trust_framework": None,
                             "assurance_level": {"value": "IAL3"}},
            "claims": {"name": None}}}}
        idt = jwt_parts(self.code_flow(uid, claims=want3)["id_token"])[1]
        self.assertNotIn("verified_claims", idt)
        # a client that is not allowed gets none
        toks = self.code_flow(uid, client="rp2", secret=self.secret2,
                              claims={"id_token": VC_REQ,
                                      "userinfo": VC_REQ})
        self.assertNotIn("verified_claims", jwt_parts(toks["id_token"])[1])
        r = self.b.request("GET", "/userinfo", headers={
            "Authorization": "Bearer " + toks["access_token"]})
        self.assertNotIn("verified_claims", r.json())
        # not proofed: none, ial 0
        other = self.user()
        toks = self.code_flow(other, claims={"id_token": VC_REQ})
        self.assertNotIn("verified_claims", jwt_parts(toks["id_token"])[1])
        self.assertEqual(jwt_parts(toks["access_token"])[1]["ial"], 0)

    # -- devices -------------------------------------------------------------------

    def device_post(self, name):
        ctx = ssl.create_default_context(cafile=self.b.ca)
        ctx.load_cert_chain(os.path.join(self.devpki, name + ".pem"),
                            os.path.join(self.devpki, name + ".key"))
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", self.b.port,
                                        timeout=10, context=ctx)
        try:
            c.request("POST", "/proofing/device", body=b"")
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def test_device_proofed_by_mtls(self):
        # (another test may have registered it already)
        self.b.ctl("device", "add", "pc-001", "--serial", "SN-0001",
                   "--ip", "127.0.0.1", check=False)
        status, body = self.device_post("good")
        self.assertEqual(status, 200, body)
        self.assertTrue(body["proofed"])
        h = self.history("pc-001", device=True)
        self.assertEqual(h[0]["status"], "valid")
        self.assertEqual(h[0]["device"]["presented"], "SN-0001")
        # no certificate: refused, nothing recorded
        r = self.b.request("POST", "/proofing/device", body=b"")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["code"], "SKM-7008")

    def test_device_serial_mismatch_recorded_failed(self):
        self.b.ctl("device", "add", "pc-002", "--serial", "SN-0002",
                   check=False)
        status, body = self.device_post("bad")
        self.assertEqual(status, 403, body)
        self.assertEqual(body["code"], "SKM-7007")
        h = self.history("pc-002", device=True)
        self.assertEqual(h[0]["status"], "failed")
        self.assertIn("serial", h[0]["reason"])
        self.assertTrue(self.audit("proofing.recorded", subject="pc-002",
                                   status="failed"))

    def mtls_browser(self, name):
        """A browser holding a device certificate (mutual TLS)."""
        outer = self

        class Conn:
            def __init__(self):
                self.b = outer.b

            def connection(self, timeout=10):
                import http.client
                ctx = ssl.create_default_context(cafile=outer.b.ca)
                ctx.load_cert_chain(
                    os.path.join(outer.devpki, name + ".pem"),
                    os.path.join(outer.devpki, name + ".key"))
                return http.client.HTTPSConnection(
                    "127.0.0.1", outer.b.port, timeout=timeout, context=ctx)

        return Browser(Conn())

    def test_device_in_tokens_and_policy(self):
        """The session and tokens carry the device the user signed in
        from (mutual TLS) and whether it is proofed; a rule refuses
        unproofed devices."""
        self.b.ctl("device", "add", "pc-001", "--serial", "SN-0001",
                   "--ip", "127.0.0.1", check=False)
        status, body = self.device_post("good")      # proofs pc-001
        self.assertEqual(status, 200, body)
        self.b.ctl("device", "add", "pc-002", "--serial", "SN-0002",
                   check=False)
        uid = self.user()
        secret = json.loads(self.b.ctl("--json", "client", "add", "rp-dev",
                                       "--redirect-uri", RP_CB).stdout)[
                                           "client_secret"]
        results = {}
        for cert in ("good", "bad"):
            v, c = pkce()
            br = self.mtls_browser(cert)
            r = br.get("/authorize?" + urllib.parse.urlencode({
                "response_type": "code", "client_id": "rp-dev",
                "redirect_uri": RP_CB, "scope": "openid", "state": "s",
                "code_challenge": c, "code_challenge_method": "S256"}))
            page = br.get(r.header("Location")).body.decode()
            r = br.post("/login", {"tx": field(page, "tx"),
                                   "csrf": field(page, "csrf"),
                                   "username": uid, "password": PW})
            results[cert] = (r, v)
        # the proofed device: in, and named in the tokens
        r, v = results["good"]
        self.assertEqual(r.status, 303, r.body)
        code = urllib.parse.parse_qs(urllib.parse.urlparse(
            r.header("Location")).query)["code"][0]
        t = self.b.request(
            "POST", "/token", body=urllib.parse.urlencode({
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": RP_CB, "code_verifier": v}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": basic("rp-dev", secret)})
        self.assertEqual(t.status, 200, t.body)
        at = jwt_parts(t.json()["access_token"])[1]
        self.assertEqual(at["device"], "pc-001")
        self.assertIs(at["device_proofed"], True)
        self.assertIn(at["device_compliance"], ("compliant", "unknown"))
        # the certificate whose serial does not match the inventory is no
        # identified device: the rule for unproofed devices refuses it
        r, v = results["bad"]
        self.assertEqual(r.status, 403, r.body)
        self.assertIn(b"SKM-5001", r.body)
        d = [a for a in self.b.audit_lines()
             if a["event"] == "policy.decision" and a.get("uid") == uid]
        self.assertEqual(d[-1]["rule"], "unproofed-devices")

    # -- acceptance ------------------------------------------------------------------

    def test_acceptance_officer_pages_recovery_verified_claims(self):
        """An officer proofs the user at IAL2 through the pages; the
        user's lost-key recovery then succeeds, and an RP asking for
        verified_claims receives them."""
        off, br, csrf = self.officer()
        uid, store, cid = self.user_with_key(kind="key")
        page = br.get("/proofing?uid=" + uid)
        self.assertEqual(page.status, 200, page.body)
        self.assertIn(b'id="add"', page.body)
        r = self.officer_add(br, csrf, uid, document_number="AC-7788-9900")
        self.assertEqual(r.status, 200, r.body)
        html = r.body.decode()
        code = re.search(r'id="recovery-code">([^<]+)<', html).group(1)
        rid = re.search(r'id="recorded" data-id="([^"]+)"', html).group(1)
        self.assertNotIn("7788", html.replace(rid, ""))
        h = self.history(uid)
        self.assertEqual(h[0]["officer"], "uid:" + off)
        self.assertEqual(h[0]["ial"], "IAL2")
        # the key is lost: recovery with the code from the officer
        r = self.recover(uid, code)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.keys(uid), [])
        # the RP asks for verified_claims and gets them
        toks = self.code_flow(uid, password=NEWPW,
                              claims={"id_token": VC_REQ,
                                      "userinfo": VC_REQ})
        idt = jwt_parts(toks["id_token"])[1]
        self.assertEqual(idt["verified_claims"]["verification"][
            "verification_process"], rid)
        ui = self.userinfo(toks["access_token"])
        self.assertEqual(ui["verified_claims"]["claims"]["name"],
                         "Staff Member")
        self.validate_schema({"verified_claims": idt["verified_claims"]},
                             {"verified_claims": ui["verified_claims"]})
