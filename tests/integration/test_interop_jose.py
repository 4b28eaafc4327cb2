"""Interoperability of tokens/ with an independent JOSE implementation
(npm jose): our tokens verify with jose, jose's verify with our PEP
library; every positive check has a tampered twin that must fail.  The
checks themselves are tests/interop/run_jose.sh."""
import os
import subprocess
import unittest

from harness import BUILD, ROOT
from npm import ensure_node_modules


class JoseInteropTest(unittest.TestCase):
    def test_jose_interop(self):
        ensure_node_modules()
        env = dict(os.environ)
        env["BUILD"] = os.path.relpath(BUILD, ROOT)
        p = subprocess.run(["sh", os.path.join(ROOT, "tests", "interop",
                                               "run_jose.sh")],
                           env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
        last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        self.assertEqual(p.returncode, 0, p.stdout[-3000:])
        self.assertRegex(last, r"^\d+ passed, 0 failed$")
        self.assertGreaterEqual(int(last.split()[0]), 20, last)


if __name__ == "__main__":
    unittest.main()
