#!/usr/bin/env python3
"""Integration test runner: discovers tests/integration/test_*.py (unittest),
runs them against the binaries in $BUILD (default: build), and prints a
closing "integration: N passed, N failed" line.  A skipped test counts as a
failure: nothing here may silently not run.

  python3 tests/integration/run.py [-k PATTERN] [module ...]
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    args = sys.argv[1:]
    pattern = None
    if len(args) >= 2 and args[0] == "-k":
        pattern = args[1]
        args = args[2:]
    loader = unittest.TestLoader()
    if pattern:
        loader.testNamePatterns = ["*%s*" % pattern]
    if args:
        suite = unittest.TestSuite(loader.loadTestsFromName(a) for a in args)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result,
                                     stream=sys.stdout)
    t0 = time.time()
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.skipped) + \
        len(res.unexpectedSuccesses)
    for t, why in res.skipped:
        print("SKIPPED (counted as failed): %s: %s" % (t, why))
    print("took %.1f s" % (time.time() - t0))
    print("integration: %d passed, %d failed" % (res.passed, failed))
    sys.exit(0 if failed == 0 and res.passed > 0 else 1)


if __name__ == "__main__":
    main()
