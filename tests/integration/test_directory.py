"""Integration tests of the directory component against a real slapd:
CRUD for every object type through brokerctl, injection attempts, ACLs,
password policy and lockout, disabled accounts, slapd going away and coming
back, and compare-and-swap races between two pools ("two broker nodes").

Binaries: $BUILD/brokerctl and $BUILD/tests/dir_tool (BUILD defaults to
"build"; SEKIMORI_BROKERCTL overrides the brokerctl path).
"""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import unittest

from ldap_harness import ROOT, Slapd

BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
BROKERCTL = os.environ.get("SEKIMORI_BROKERCTL",
                           os.path.join(BUILD, "brokerctl"))
DIR_TOOL = os.path.join(BUILD, "tests", "dir_tool")

GOOD_PW = "mauve lampshade orbiting quietly"


class DirCase(unittest.TestCase):
    """One slapd for the class; brokerctl and dir_tool against it."""
    slapd_env = {}
    conf_extra = {"ldap_timeout_ms": "2000"}
    # brokerctl reads the whole broker config; keys it may insist on
    broker_keys = {"issuer": "http://127.0.0.1:8443",
                   "dev_plain_http": "yes"}
    demo = True

    @classmethod
    def setUpClass(cls):
        for b in (BROKERCTL, DIR_TOOL):
            if not os.access(b, os.X_OK):
                raise unittest.SkipTest("not built: %s" % b)
        cls.tmp = tempfile.mkdtemp(prefix="skm-dir-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.slapd = Slapd(cls.tmp, demo=cls.demo, env=cls.slapd_env)
        cls.addClassCleanup(cls.slapd.stop)
        cls.slapd.start()
        extra = dict(cls.broker_keys)
        extra["key_dir"] = os.path.join(cls.tmp, "keys")
        extra["audit_file"] = os.path.join(cls.tmp, "audit.log")
        extra["log_file"] = os.path.join(cls.tmp, "broker.log")
        extra.update(cls.conf_extra)
        cls.conf = cls.slapd.write_conf(os.path.join(cls.tmp, "sekimori.conf"),
                                        extra)

    def ctl(self, *args, stdin=None, ok=True, timeout=60):
        p = subprocess.run([BROKERCTL, "-c", self.conf] + list(args),
                           input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if ok is True and p.returncode != 0:
            self.fail("brokerctl %s: exit %d: %s" % (" ".join(args),
                                                     p.returncode, p.stderr))
        if ok is False and p.returncode == 0:
            self.fail("brokerctl %s unexpectedly succeeded" % " ".join(args))
        return p

    def ctl_json(self, *args):
        return json.loads(self.ctl(*(args + ("--json",))).stdout)

    def tool(self, *args, stdin=None, timeout=60):
        p = subprocess.run([DIR_TOOL, self.conf] + list(args), input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout.strip()

    def add_user(self, uid, pw=GOOD_PW, *extra):
        self.ctl("user", "add", uid, "--name", "Test %s" % uid.capitalize(),
                 "--mail", "%s@example.test" % uid, *extra)
        if pw is not None:
            self.ctl("user", "passwd", uid, stdin=pw + "\n")


class TestObjects(DirCase):
    def test_user_create_read_disable_enable(self):
        self.add_user("ucrud", None, "--staff-id", "S-1",
                      "--affiliation", "staff")
        u = self.ctl_json("user", "show", "ucrud")
        self.assertEqual(u["uid"], "ucrud")
        self.assertEqual(u["name"], "Test Ucrud")
        self.assertEqual(u["mail"], "ucrud@example.test")
        self.assertEqual(u["status"], "active")
        self.assertEqual(u["staff_id"], "S-1")
        self.assertEqual(u["dn"], "uid=ucrud,ou=people," + self.slapd.base)
        uids = [x["uid"] for x in self.ctl_json("user", "list")]
        self.assertIn("ucrud", uids)
        self.assertIn("demo", uids)
        self.ctl("user", "disable", "ucrud")
        self.assertEqual(self.ctl_json("user", "show", "ucrud")["status"],
                         "disabled")
        self.ctl("user", "enable", "ucrud")
        self.assertEqual(self.ctl_json("user", "show", "ucrud")["status"],
                         "active")

    def test_user_duplicate_refused(self):
        self.add_user("udup", None)
        p = self.ctl("user", "add", "udup", "--name", "X", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already exists", p.stderr)

    def test_user_add_unknown_group_refused_before_write(self):
        p = self.ctl("user", "add", "ugrp", "--name", "X", "--group",
                     "nosuchgroup", ok=False)
        self.assertIn("nosuchgroup", p.stderr)
        self.ctl("user", "show", "ugrp", ok=False)

    def test_unknown_user_clear_error(self):
        p = self.ctl("user", "show", "nobody-here", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not found", p.stderr)

    def test_group_membership_direct_and_nested(self):
        self.add_user("gmem", None)
        self.ctl("group", "add", "inner", "--description", "inner group")
        self.ctl("group", "add", "outer")
        self.ctl("group", "add-member", "inner", "gmem")
        self.ctl("group", "add-member", "outer", "--group", "inner")
        # a cycle must not loop
        self.ctl("group", "add-member", "inner", "--group", "outer")
        g = self.ctl_json("group", "show", "inner")
        self.assertEqual(g["description"], "inner group")
        self.assertIn({"type": "user", "name": "gmem",
                       "dn": "uid=gmem,ou=people," + self.slapd.base},
                      g["members"])
        self.assertEqual(self.tool("groups", "gmem"), (0, "inner"))
        self.assertEqual(self.tool("groups", "gmem", "nested"),
                         (0, "inner outer"))
        self.assertEqual(self.ctl_json("user", "show", "gmem")["groups"],
                         ["inner", "outer"])
        p = self.ctl("group", "add-member", "inner", "gmem", ok=False)
        self.assertIn("already a member", p.stderr)
        self.ctl("group", "remove-member", "inner", "gmem")
        self.assertEqual(self.tool("groups", "gmem", "nested"), (0, ""))
        p = self.ctl("group", "remove-member", "inner", "gmem", ok=False)
        self.assertEqual(p.returncode, 1)
        self.ctl("group", "add-member", "inner", "nosuchuser", ok=False)

    def test_device_create_read_list(self):
        self.add_user("downer", None)
        self.ctl("device", "add", "pc-1", "--serial", "SN 0001/A",
                 "--ip", "192.0.2.7", "--owner", "downer")
        d = self.ctl_json("device", "show", "pc-1")
        self.assertEqual(d["serial"], "SN 0001/A")
        self.assertEqual(d["ip"], "192.0.2.7")
        self.assertEqual(d["owner"], "downer")
        self.assertEqual(d["compliance"], "unknown")
        self.assertEqual(self.ctl_json("device", "show", "--serial",
                                       "SN 0001/A")["id"], "pc-1")
        self.assertIn("pc-1", [x["id"] for x in
                               self.ctl_json("device", "list")])
        # serial numbers are unique; addresses must parse; owners exist
        self.ctl("device", "add", "pc-2", "--serial", "SN 0001/A",
                 "--ip", "192.0.2.8", "--owner", "downer", ok=False)
        self.ctl("device", "add", "pc-3", "--serial", "SN3", "--ip",
                 "192.0.2.300", "--owner", "downer", ok=False)
        self.ctl("device", "add", "pc-4", "--serial", "SN4", "--ip",
                 "2001:db8::4", "--owner", "nobody", ok=False)
        self.ctl("device", "add", "pc-5", "--serial", "SN5", "--ip",
                 "2001:db8::5", "--owner", "downer")

    def test_rpa_create_read_disable(self):
        self.add_user("rowner", None)
        jwks = os.path.join(self.tmp, "jwks.json")
        with open(jwks, "w") as f:
            json.dump({"keys": [{"kty": "EC", "crv": "P-256",
                       "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                       "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]},
                      f)
        self.ctl("rpa", "add", "bot-1", "--owner", "rowner", "--jwks", jwks,
                 "--scope", "reports:read", "--scope", "reports:write")
        r = self.ctl_json("rpa", "show", "bot-1")
        self.assertEqual(r["owner"], "rowner")
        self.assertEqual(r["scopes"], ["reports:read", "reports:write"])
        self.assertEqual(r["jwks"]["keys"][0]["kty"], "EC")
        self.assertTrue(r["can_authenticate"])
        self.assertEqual(self.tool("rpa-check", "bot-1"), (0, "OK"))
        self.ctl("rpa", "disable", "bot-1")
        self.assertEqual(self.tool("rpa-check", "bot-1"), (1, "DISABLED"))
        self.assertFalse(self.ctl_json("rpa", "show", "bot-1")
                         ["can_authenticate"])

    def test_rpa_owner_required_and_active(self):
        self.ctl("rpa", "add", "bot-x", ok=False)
        p = self.ctl("rpa", "add", "bot-x", "--owner", "nobody", ok=False)
        self.assertIn("not found", p.stderr)
        self.add_user("rinact", None)
        self.ctl("user", "disable", "rinact")
        p = self.ctl("rpa", "add", "bot-x", "--owner", "rinact", ok=False)
        self.assertIn("not an active user", p.stderr)
        # a private key in --jwks is refused
        jwks = os.path.join(self.tmp, "priv.json")
        with open(jwks, "w") as f:
            json.dump({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, f)
        self.ctl("user", "enable", "rinact")
        self.ctl("rpa", "add", "bot-x", "--owner", "rinact", "--jwks", jwks,
                 ok=False)

    def test_rpa_disabled_owner_cannot_authenticate(self):
        self.add_user("rown2", None)
        self.ctl("rpa", "add", "bot-2", "--owner", "rown2")
        self.assertEqual(self.tool("rpa-check", "bot-2"), (0, "OK"))
        self.ctl("user", "disable", "rown2")
        self.assertEqual(self.tool("rpa-check", "bot-2"), (1, "DISABLED"))
        self.ctl("user", "enable", "rown2")
        self.assertEqual(self.tool("rpa-check", "bot-2"), (0, "OK"))


class TestInjection(DirCase):
    EVIL = ["*", "*)(uid=*", "demo)(|(uid=*", "*)(objectClass=*))(&(uid=x",
            "demo\\2a", "de*", "uid=demo,ou=people", "demo,ou=people",
            " demo", "#demo", "demo\x00x"]

    def test_filter_injection_matches_nothing(self):
        for evil in self.EVIL:
            if "\x00" in evil:
                continue        # cannot pass a NUL on argv
            with self.subTest(uid=evil):
                self.assertEqual(self.tool("find-user", evil),
                                 (1, "NOTFOUND"))
                p = self.ctl("user", "show", evil, ok=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn("not found", p.stderr)
        self.assertEqual(self.tool("ping"), (0, "OK"))

    def test_injection_in_password_verification(self):
        for evil in self.EVIL[:4]:
            with self.subTest(uid=evil):
                rc, out = self.tool("verify", evil,
                                    stdin=self.slapd.demo_password())
                self.assertEqual(rc, 1)
                self.assertTrue(out.startswith("DENIED"), out)

    def test_dn_specials_refused_as_names(self):
        for evil in ["x,dc=evil", "a+b", "a=b", "A", "-x", "x y", "é"]:
            with self.subTest(name=evil):
                p = self.ctl("user", "add", evil, "--name", "X", ok=False)
                self.assertIn("invalid", p.stderr)
                self.ctl("group", "add", evil, ok=False)

    def test_dn_specials_in_values_stored_verbatim(self):
        self.ctl("user", "add", "dnval", "--name", 'Evil, "Name"+=<x>;#\\')
        self.assertEqual(self.ctl_json("user", "show", "dnval")["name"],
                         'Evil, "Name"+=<x>;#\\')
        self.ctl("device", "add", "dnval-pc", "--serial", "X)(cn=Y,",
                 "--ip", "192.0.2.9")
        self.assertEqual(self.ctl_json("device", "show", "--serial",
                                       "X)(cn=Y,")["id"], "dnval-pc")
        self.ctl("device", "show", "--serial", "*", ok=False)
        self.ctl("device", "show", "--serial", "X)(cn=*", ok=False)
        self.ctl("device", "add", "star", "--serial", "S*", ok=False)


class TestAccessControl(DirCase):
    def test_anonymous_reads_nothing(self):
        for base in (self.slapd.base, ""):
            p = self.slapd.ldap("ldapsearch", root=False, check=False,
                                args=["-x", "-LLL", "-b", base, "-s",
                                      "base", "(objectClass=*)"])
            self.assertNotEqual(p.returncode, 0)
            self.assertNotIn("dn:", p.stdout)

    def _as_demo(self, tool, args, stdin=None):
        pwf = os.path.join(self.tmp, "demo.pw.raw")
        with open(pwf, "w") as f:
            f.write(self.slapd.demo_password())
        os.chmod(pwf, 0o600)
        return self.slapd.ldap(tool, root=False, check=False, stdin=stdin,
                               args=["-x", "-D", "uid=demo,ou=people," +
                                     self.slapd.base, "-y", pwf] + args)

    def test_user_reads_but_cannot_change_own_entry(self):
        dn = "uid=demo,ou=people," + self.slapd.base
        p = self._as_demo("ldapsearch", ["-LLL", "-b", dn, "-s", "base",
                                         "*", "userPassword"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("uid: demo", p.stdout)
        self.assertNotIn("userPassword", p.stdout)
        for attr, val in (("skmAccountStatus", "active"), ("cn", "Me"),
                          ("mail", "me@evil.test")):
            p = self._as_demo("ldapmodify", [], stdin=(
                "dn: %s\nchangetype: modify\nreplace: %s\n%s: %s\n"
                % (dn, attr, attr, val)))
            self.assertEqual(p.returncode, 50, (attr, p.stderr))

    def test_user_cannot_read_others_or_secrets(self):
        base = self.slapd.base
        self.slapd.ldap("ldapadd", stdin=(
            "dn: cn=totp,uid=demo,ou=people,%s\nobjectClass: "
            "skmTotpAuthenticator\ncn: totp\nskmTotpSecret: seed\n"
            "skmTotpLastStep: 1\n" % base))
        p = self._as_demo("ldapsearch", ["-LLL", "-b", base, "(objectClass=*)",
                                         "skmTotpSecret", "dn"])
        self.assertNotIn("skmTotpSecret", p.stdout)
        self.assertNotIn("cn=broker", p.stdout)
        self.assertNotIn("ou=devices", p.stdout)

    def _stored_password(self, uid):
        import base64
        p = self.slapd.ldap("ldapsearch", args=[
            "-LLL", "-b", "uid=%s,ou=people,%s" % (uid, self.slapd.base),
            "-s", "base", "userPassword"])
        line = [l for l in p.stdout.replace("\n ", "").splitlines()
                if l.startswith("userPassword")][0]
        return base64.b64decode(line.split(":: ", 1)[1])

    def test_password_hashed_with_argon2id(self):
        # our module (directory/slapd/skm_argon2.c), not Debian's argon2.so,
        # which writes Argon2i
        self.add_user("hashed")
        value = self._stored_password("hashed")
        self.assertTrue(value.startswith(
            b"{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$"), value[:40])

    def test_argon2i_hash_from_argon2so_still_verifies(self):
        # what Debian's argon2.so stored (libargon2, the reference `argon2`
        # tool: -i -t 2 -k 19456 -p 1, salt "sekimori-salt-16")
        self.add_user("legacyi", None)
        ref = ("{ARGON2}$argon2i$v=19$m=19456,t=2,p=1$c2VraW1vcmktc2FsdC0x"
               "Ng$BYLID1Y/A9NS0HfDRSAHBG9JfMKSLPVvqjpOkVk+8x0")
        self.slapd.ldap("ldapmodify", stdin=(
            "dn: uid=legacyi,ou=people,%s\nchangetype: modify\nreplace: "
            "userPassword\nuserPassword: %s\n" % (self.slapd.base, ref)))
        self.ctl("user", "check-password", "legacyi", stdin="Tr0ub4dor&3\n")
        p = self.ctl("user", "check-password", "legacyi",
                     stdin="Tr0ub4dor&4\n", ok=False)
        self.assertEqual(p.returncode, 1)
        # the next change writes Argon2id
        self.ctl("user", "passwd", "legacyi", stdin=GOOD_PW + "\n")
        self.assertTrue(self._stored_password("legacyi").startswith(
            b"{ARGON2}$argon2id$"))
        self.ctl("user", "check-password", "legacyi", stdin=GOOD_PW + "\n")

    def test_plain_tcp_bind_refused(self):
        pwf = os.path.join(self.tmp, "demo.pw.tcp")
        with open(pwf, "w") as f:
            f.write(self.slapd.demo_password())
        p = subprocess.run(["ldapwhoami", "-x", "-H",
                            "ldap://127.0.0.1:%d" % self.slapd.port, "-D",
                            "uid=demo,ou=people," + self.slapd.base, "-y",
                            pwf], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=20)
        self.assertNotEqual(p.returncode, 0)


class TestRequestScope(DirCase):
    def test_scope_reads_once_and_forgets_after_writes(self):
        self.add_user("scoped")
        rc, out = self.tool("scope", "scoped", stdin=GOOD_PW + "\n")
        self.assertEqual(rc, 0, out)
        rows = [l.split() for l in out.splitlines()]
        # step, status, hits, misses, invalidated.  dir_user_set_status
        # and dir_user_passwd_verify look the user up first themselves.
        self.assertEqual(rows, [
            ["first", "active", "0", "1", "0"],
            ["again", "active", "1", "1", "0"],
            ["nested", "active", "2", "1", "0"],
            # an add and a delete under ou=state cannot change a search
            # of ou=people: the answer stays
            ["other-write", "active", "3", "1", "0"],
            ["other-write", "active", "4", "1", "0"],
            # set_status: its lookup is a hit, its write to the user
            # forgets, and slapd is asked again
            ["after-write", "suspended", "5", "2", "1"],
            ["again", "suspended", "6", "2", "1"],
            ["after-write", "active", "7", "3", "2"],
            ["bind", "OK"],
            # verify: its lookup asks slapd, its bind forgets (password
            # policy state of the bound entry may change), so the next
            # read asks slapd
            ["after-bind", "active", "7", "5", "3"],
            # outside a scope nothing is kept or counted
            ["outside", "active", "7", "5", "3"],
            ["outside", "active", "7", "5", "3"],
        ])

    def test_full_scope_forgets_the_oldest(self):
        # a long request keeps caching: past DIR_SCOPE_ANSWERS_MAX (16)
        # answers the oldest goes, not the newest
        self.add_user("filled")
        rc, out = self.tool("scopefill", "filled")
        self.assertEqual(rc, 0, out)
        rows = [l.split() for l in out.splitlines()]
        self.assertEqual(rows, [
            ["first", "active", "0", "1", "0"],
            # 16 others asked: the newest is kept
            ["newest", "NOTFOUND", "1", "17", "0"],
            # the first answer went to make room; asking again stores it
            # and pushes out absent00, the oldest then
            ["oldest", "active", "1", "18", "0"],
            ["next-oldest", "NOTFOUND", "1", "19", "0"],
            ["kept", "NOTFOUND", "2", "19", "0"],
        ])


class TestPasswords(DirCase):
    def test_passwd_and_check(self):
        self.add_user("pwuser")
        self.ctl("user", "check-password", "pwuser", stdin=GOOD_PW + "\n")
        p = self.ctl("user", "check-password", "pwuser",
                     stdin="wrong password entirely\n", ok=False)
        self.assertEqual(p.returncode, 1)
        self.ctl("user", "check-password", "nosuchuser",
                 stdin=GOOD_PW + "\n", ok=False)
        self.ctl("user", "check-password", "pwuser", stdin="", ok=False)

    def test_nfkc_normalised_on_set_and_verify(self):
        self.add_user("nfkc", None)
        # fullwidth letters are stored in their NFKC form
        fw = "ｍａｕｖｅ lampshade orbiting"
        self.ctl("user", "passwd", "nfkc", stdin=fw + "\n")
        self.ctl("user", "check-password", "nfkc",
                 stdin="mauve lampshade orbiting\n")
        self.ctl("user", "check-password", "nfkc", stdin=fw + "\n")

    def test_policy_rejections(self):
        self.add_user("policy", None)
        for bad, why in (("short pass", "shorter"),
                         ("aaaaaaaaaaaaaaaaaaaa", "repeats"),
                         ("abcdefghijklmnopq", "sequence"),
                         ("policy-is-my-password", "user name"),
                         ("counterrevolutionary", "dictionary"),
                         ("Password123456789!", "common")):
            with self.subTest(pw=bad):
                p = self.ctl("user", "passwd", "policy", stdin=bad + "\n",
                             ok=False)
                self.assertIn(why, p.stderr)
        self.ctl("user", "passwd", "policy", stdin="x" * 65 + "\n",
                 ok=False)
        self.ctl("user", "passwd", "policy",
                 stdin="zebra quantum cobbler fjord " * 2 + "ok\n")

    def test_password_never_on_argv(self):
        p = self.ctl("user", "passwd", "demo", GOOD_PW, ok=False)
        self.assertIn("unexpected argument", p.stderr)

    def test_disabled_user_cannot_authenticate(self):
        self.add_user("disme")
        self.ctl("user", "check-password", "disme", stdin=GOOD_PW)
        self.ctl("user", "disable", "disme")
        self.ctl("user", "check-password", "disme", stdin=GOOD_PW, ok=False)
        self.assertEqual(self.tool("verify", "disme", stdin=GOOD_PW)[1]
                         .split()[0], "DENIED")
        self.ctl("user", "enable", "disme")
        self.ctl("user", "check-password", "disme", stdin=GOOD_PW)

    def test_unknown_user_same_answer_and_time(self):
        self.add_user("timing")
        unknown, wrong = [], []
        for _ in range(5):
            rc, out = self.tool("verify", "no-such-user", stdin=GOOD_PW)
            self.assertEqual((rc, out.split()[0]), (1, "DENIED"))
            unknown.append(int(out.split()[1]))
            rc, out = self.tool("verify", "timing", stdin="wrong " + GOOD_PW)
            self.assertEqual((rc, out.split()[0]), (1, "DENIED"))
            wrong.append(int(out.split()[1]))
        mu, mw = statistics.median(unknown), statistics.median(wrong)
        # both pay one {ARGON2} check: within 40 % (or 25 ms) of each other
        self.assertLess(abs(mu - mw), max(25, 0.4 * max(mu, mw)),
                        (unknown, wrong))


class TestLockout(DirCase):
    slapd_env = {"SEKIMORI_PPOLICY_MAX_FAILURE": "3",
                 "SEKIMORI_PPOLICY_LOCKOUT_DURATION": "4",
                 "SEKIMORI_PPOLICY_FAILURE_INTERVAL": "60"}
    demo = False

    def test_lockout_then_unlock_after_interval(self):
        self.add_user("locky")
        for _ in range(3):
            self.assertEqual(self.tool("verify", "locky", stdin="bad bad bad "
                                       "bad bad")[1].split()[0], "DENIED")
        # the right password no longer works while locked
        self.assertEqual(self.tool("verify", "locky", stdin=GOOD_PW)[1]
                         .split()[0], "LOCKED")
        self.assertTrue(self.ctl_json("user", "show", "locky")["locked"])
        time.sleep(5)
        rc, out = self.tool("verify", "locky", stdin=GOOD_PW)
        self.assertEqual((rc, out.split()[0]), (0, "OK"))

    def test_admin_unlock(self):
        self.add_user("unlk")
        for _ in range(3):
            self.tool("verify", "unlk", stdin="bad bad bad bad bad")
        self.assertEqual(self.tool("verify", "unlk", stdin=GOOD_PW)[1]
                         .split()[0], "LOCKED")
        self.ctl("user", "unlock", "unlk")
        self.assertEqual(self.tool("verify", "unlk", stdin=GOOD_PW)[0], 0)


class TestCompareAndSwap(DirCase):
    def test_concurrent_cas_exactly_one_wins(self):
        self.add_user("casuser", None)
        dn = "cn=totp,uid=casuser,ou=people," + self.slapd.base
        self.slapd.ldap("ldapadd", stdin=(
            "dn: %s\nobjectClass: skmTotpAuthenticator\ncn: totp\n"
            "skmTotpSecret: seed\nskmTotpLastStep: 1000\n" % dn))
        step = 1000
        for i in range(20):
            with self.subTest(round=i):
                rc, out = self.tool("cas-race", dn, "skmTotpLastStep",
                                    str(step), str(step + 1), str(step + 2))
                self.assertEqual(rc, 0, out)
                a, b = out.split()
                self.assertEqual(sorted([a, b]), ["CONFLICT", "OK"])
            p = self.slapd.ldap("ldapsearch", args=[
                "-LLL", "-b", dn, "-s", "base", "skmTotpLastStep"])
            step = int(p.stdout.split("skmTotpLastStep: ")[1].split()[0])

    def test_cas_stale_value_conflicts(self):
        self.add_user("casold", None)
        dn = "cn=totp,uid=casold,ou=people," + self.slapd.base
        self.slapd.ldap("ldapadd", stdin=(
            "dn: %s\nobjectClass: skmTotpAuthenticator\ncn: totp\n"
            "skmTotpSecret: seed\n" % dn))
        self.assertEqual(self.tool("cas", dn, "skmTotpLastStep", "-", "5"),
                         (0, "OK"))
        self.assertEqual(self.tool("cas", dn, "skmTotpLastStep", "-", "6"),
                         (1, "CONFLICT"))
        self.assertEqual(self.tool("cas", dn, "skmTotpLastStep", "4", "6"),
                         (1, "CONFLICT"))
        self.assertEqual(self.tool("cas", dn, "skmTotpLastStep", "5", "6"),
                         (0, "OK"))
        self.assertEqual(self.tool("cas", "cn=x,dc=elsewhere",
                                   "skmTotpLastStep", "5", "6"),
                         (1, "INVAL"))


class TestStateCompareAndDelete(DirCase):
    def test_delete_at_a_version_the_entry_moved_on_from_conflicts(self):
        rc, out = self.tool("state-add", "sess", "cadprobe")
        self.assertEqual(rc, 0, out)
        v1 = out.split()[1]
        rc, out = self.tool("state-update", "sess", "cadprobe", v1)
        self.assertEqual(rc, 0, out)
        v2 = out.split()[1]
        self.assertNotEqual(v1, v2)
        # the version read before the update: refused, the entry stays
        self.assertEqual(self.tool("state-delete-v", "sess", "cadprobe", v1),
                         (1, "CONFLICT"))
        dn = "cn=cadprobe,ou=sess,ou=state," + self.slapd.base
        p = self.slapd.ldap("ldapsearch", args=[
            "-LLL", "-b", dn, "-s", "base", "skmStateVersion"])
        self.assertIn("skmStateVersion: " + v2, p.stdout)
        # a value that is not a version at all cannot match either
        self.assertEqual(self.tool("state-delete-v", "sess", "cadprobe",
                                   "*)(cn=*"), (1, "CONFLICT"))
        self.assertEqual(self.tool("state-delete-v", "sess", "cadprobe", v2),
                         (0, "OK"))
        self.assertEqual(self.tool("state-delete-v", "sess", "cadprobe", v2),
                         (1, "NOTFOUND"))


class TestAvailability(DirCase):
    conf_extra = {"ldap_timeout_ms": "1000", "ldap_backoff_max_ms": "500",
                  "ldap_pool_size": "2"}
    demo = False

    def test_slapd_stopped_errors_fast_and_recovers(self):
        self.assertEqual(self.tool("ping"), (0, "OK"))
        loop = subprocess.Popen([DIR_TOOL, self.conf, "ping-loop", "14"],
                                stdout=subprocess.PIPE, text=True)
        self.addCleanup(loop.kill)
        time.sleep(2)
        self.slapd.stop()
        time.sleep(4)
        self.slapd.start()          # same directory: reused as it is
        out, _ = loop.communicate(timeout=60)
        rows = [l.split() for l in out.splitlines()]
        results = [r for _, r in rows]
        self.assertIn("UNAVAIL", results)
        # never a hang: every call answered within the timeout (+ margin)
        self.assertLess(max(int(ms) for ms, _ in rows), 1500, rows)
        # ... and the same pool recovered once slapd was back
        first_down = results.index("UNAVAIL")
        self.assertIn("OK", results[first_down:], results)
        self.assertEqual(results[-1], "OK", results)

    def test_slapd_hung_times_out(self):
        self.assertEqual(self.tool("ping"), (0, "OK"))
        self.slapd.suspend()
        try:
            t0 = time.monotonic()
            rc, out = self.tool("ping", timeout=30)
            elapsed = time.monotonic() - t0
        finally:
            self.slapd.resume()
        self.assertEqual(rc, 1)
        self.assertIn(out, ("TIMEOUT", "UNAVAIL"))
        self.assertLess(elapsed, 5.0)
        self.assertEqual(self.tool("ping"), (0, "OK"))

    def test_brokerctl_unavailable_exit_2(self):
        self.slapd.stop()
        try:
            p = self.ctl("user", "show", "demo", ok=False)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("unavailable", p.stderr)
        finally:
            self.slapd.start()


if __name__ == "__main__":
    unittest.main()
