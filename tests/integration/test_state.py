"""Expired directory state is deleted (brokerd's state_prune_interval):
reads already treat it as gone, but without pruning every login left its
transaction, session and code behind until the directory was full (the
100,000-login benchmark filled a 1 GiB database).  A backlog larger than
one search may return (5,000) is taken in slices."""
import os
import time
import unittest

from harness import Broker, TempDir
from ldap_harness import Slapd

BACKLOG = 5300      # over DIR_SEARCH_MAX: the prune must slice
SAME = 5100         # all expiring in the same second


class StatePruneTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.slapd = Slapd(cls.tmp.path)
        try:
            cls.slapd.start()
            # started by the test, after its entries are in place
            cls.b = Broker(os.path.join(cls.tmp.path, "broker"),
                           cls.slapd.env_lines(),
                           extra={"state_prune_interval": "1"})
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "b", None) and cls.b.proc is not None:
            cls.b.stop()
        cls.slapd.stop()
        cls.tmp.cleanup()

    def entries(self, kind):
        p = self.slapd.ldap("ldapsearch", args=[
            "-LLL", "-b", "ou=%s,ou=state,%s" % (kind, self.slapd.base),
            "-s", "one", "-z", "0", "(objectClass=skmState)", "cn"])
        return {l[4:] for l in p.stdout.splitlines() if l.startswith("cn: ")}

    def add(self, kind, names, expires):
        ldif = "".join(
            "dn: cn=%s,ou=%s,ou=state,%s\nobjectClass: skmState\ncn: %s\n"
            "skmStateData: {}\nskmStateVersion: v1\nskmStateExpires: %d\n\n"
            % (n, kind, self.slapd.base, n, e)
            for n, e in zip(names, expires))
        self.slapd.ldap("ldapadd", stdin=ldif, timeout=600)

    def test_expired_state_is_pruned_and_live_state_kept(self):
        now = int(time.time())
        old = ["old%05d" % i for i in range(BACKLOG)]
        # spread over the last day, so the slices split by expiry
        self.add("tx", old, [now - 86400 + i * 16 for i in range(BACKLOG)])
        self.add("code", ["gone1"], [now - 5])
        # one second alone over the search limit (replay records of many
        # assertions with the same lifetime): split by cn's first char
        same = ["%s%05d" % ("ABCDEFGHabcdefgh0123456789-_"[i % 28], i)
                for i in range(SAME)]
        self.add("jti", same, [now - 30] * SAME)
        self.add("sess", ["live1"], [now + 3600])
        self.add("tx", ["live2"], [now + 3600])
        self.assertEqual(len(self.entries("tx")), BACKLOG + 1)
        self.b.start()          # prunes every second
        deadline = time.time() + 60
        while time.time() < deadline and (
                len(self.entries("tx")) > 1 or self.entries("code") or
                self.entries("jti")):
            time.sleep(0.5)
        self.assertEqual(self.entries("jti"), set())
        self.assertEqual(self.entries("tx"), {"live2"})
        self.assertEqual(self.entries("code"), set())
        self.assertEqual(self.entries("sess"), {"live1"})
        pruned = sum(l.get("removed", 0) for l in self.b.log_lines()
                     if l.get("event") == "state.pruned")
        self.assertEqual(pruned, BACKLOG + 1 + SAME)


if __name__ == "__main__":
    unittest.main()
