"""npm packages for the tests that drive Node.js (tests/interop/).

    from npm import ensure_node_modules, node
    ensure_node_modules()        # npm ci when needed; raises on failure
    subprocess.run([node(), "tests/interop/oidc_rp.mjs"], ...)

node_modules is (re)installed with `npm ci` from package-lock.json when it
is missing, older than the lock file, or does not hold exactly the versions
the lock file pins.  Otherwise nothing touches the network, so a tree that
was installed once works offline.  A failing npm is an error, never a skip:
a test that cannot run counts as failed.
"""
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INTEROP = os.path.join(ROOT, "tests", "interop")
NODE_MODULES = os.path.join(INTEROP, "node_modules")


def node():
    """The node binary, or an error (never a skip)."""
    path = shutil.which("node")
    if path is None:
        raise RuntimeError("node is not installed (Node.js 20+ is needed "
                           "for tests/interop and tests/browser)")
    return path


def _locked_versions(lockfile):
    with open(lockfile) as f:
        pk = json.load(f).get("packages", {})
    return {k: v.get("version") for k, v in pk.items()
            if k.startswith("node_modules/")}


def _up_to_date(pkgdir):
    lock = os.path.join(pkgdir, "package-lock.json")
    hidden = os.path.join(pkgdir, "node_modules", ".package-lock.json")
    if not os.path.exists(hidden):
        return False, "node_modules missing"
    if os.path.getmtime(hidden) < os.path.getmtime(lock):
        return False, "node_modules older than package-lock.json"
    want = _locked_versions(lock)
    try:
        have = _locked_versions(hidden)
    except (OSError, ValueError) as e:
        return False, "node_modules/.package-lock.json unreadable: %s" % e
    if want != have:
        return False, "node_modules does not match package-lock.json"
    for path in want:
        if not os.path.exists(os.path.join(pkgdir, path, "package.json")):
            return False, "%s missing" % path
    return True, ""


def ensure_node_modules(pkgdir=INTEROP, timeout=600):
    """Install pkgdir's node_modules with `npm ci` unless it already matches
    package-lock.json.  Serialised with a lock file outside the tree, so two
    test runs do not npm ci over each other.  Raises RuntimeError (with npm's
    output) when npm is missing or fails."""
    node()
    key = hashlib.sha256(pkgdir.encode()).hexdigest()[:16]
    lockpath = os.path.join(tempfile.gettempdir(),
                            "sekimori-npm-%s.lock" % key)
    with open(lockpath, "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        ok, why = _up_to_date(pkgdir)
        if ok:
            return os.path.join(pkgdir, "node_modules")
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed, and %s: %s"
                               % (pkgdir, why))
        p = subprocess.run([npm, "ci", "--no-audit", "--no-fund"],
                           cwd=pkgdir, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("npm ci in %s failed (%d; reason to install: "
                               "%s):\n%s" % (pkgdir, p.returncode, why,
                                             p.stdout[-4000:]))
        ok, why = _up_to_date(pkgdir)
        if not ok:
            raise RuntimeError("npm ci in %s succeeded but %s"
                               % (pkgdir, why))
        return os.path.join(pkgdir, "node_modules")
