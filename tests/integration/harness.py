"""Integration harness: free ports, throwaway TLS material, a real brokerd
process (from $BUILD), and an HTTPS client that trusts the test CA.
Everything lives in a temporary directory and is torn down even when a
test fails (use the context managers or addCleanup)."""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0):
    """pred() until it is true or timeout seconds have passed; its last
    value.  For what the broker does after its answer (the outbox posts
    back-channel logout tokens and SETs off the request thread)."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() >= deadline:
            return v
        time.sleep(0.02)


def quiet(count, secs=0.3, timeout=10.0):
    """Wait until count() stops changing for secs: nothing more arrives
    (after wait_for saw the first, a duplicate would come soon after)."""
    def still():
        n = count()
        time.sleep(secs)
        return count() == n
    return wait_for(still, timeout)


def make_tls(dirpath):
    subprocess.run([os.path.join(ROOT, "scripts", "tls.sh"), dirpath],
                   check=True, stdout=subprocess.DEVNULL)
    return {
        "ca": os.path.join(dirpath, "ca.pem"),
        "cert": os.path.join(dirpath, "server.pem"),
        "key": os.path.join(dirpath, "server.key"),
    }


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


class Broker:
    """A brokerd on a free loopback port with its own config and TLS."""

    def __init__(self, workdir, ldap_lines=(), extra=None, tls=True):
        self.dir = workdir
        self.port = free_port()
        self.tls = tls
        self.proc = None
        os.makedirs(workdir, exist_ok=True)
        self.tlsfiles = make_tls(os.path.join(workdir, "tls"))
        self.ca = self.tlsfiles["ca"]
        self.log = os.path.join(workdir, "brokerd.log")
        self.audit = os.path.join(workdir, "audit.log")
        self.out = os.path.join(workdir, "brokerd.out")
        self.key_dir = os.path.join(workdir, "keys")
        self.kek = os.path.join(workdir, "kek")
        scheme = "https" if tls else "http"
        conf = {
            "listen": "127.0.0.1:%d" % self.port,
            "issuer": "%s://127.0.0.1:%d" % (scheme, self.port),
            "tls_cert": self.tlsfiles["cert"],
            "tls_key": self.tlsfiles["key"],
            "log_file": self.log,
            "log_level": "debug",
            "audit_file": self.audit,
            "key_dir": self.key_dir,
            "kek_file": self.kek,
            "drain_timeout": "10",
        }
        if not tls:
            conf["dev_plain_http"] = "yes"
        if extra:
            conf.update(extra)
        self.conf = os.path.join(workdir, "sekimori.conf")
        with open(self.conf, "w") as f:
            for k, v in conf.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
            for line in ldap_lines:
                f.write(line.rstrip("\n") + "\n")
        self.issuer = conf["issuer"]

    def ctl(self, *args, input=None, check=True):
        """Run brokerctl with this broker's configuration."""
        p = subprocess.run([os.path.join(BUILD, "brokerctl"), "-c", self.conf]
                           + list(args), input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        if check and p.returncode != 0:
            raise RuntimeError("brokerctl %s: %d %s" % (" ".join(args),
                                                       p.returncode, p.stderr))
        return p

    def ensure_key(self):
        if not os.path.exists(os.path.join(self.key_dir, "keys.json")):
            self.ctl("key", "rotate")
        if not os.path.exists(self.kek):
            self.ctl("kek", "rotate")

    def start(self, wait=True):
        self.ensure_key()
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self._out = open(self.out, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "brokerd"), "-c", self.conf],
            stdout=self._out, stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=20.0):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("brokerd exited %d: %s" %
                                   (self.proc.returncode, self.output()))
            try:
                r = self.request("GET", "/healthz", timeout=2)
                if r.status == 200:
                    return
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError("brokerd not healthy: %r %s" % (last, self.output()))

    def output(self):
        try:
            with open(self.out, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def log_lines(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.strip()]

    def audit_lines(self):
        with open(self.audit) as f:
            return [json.loads(l) for l in f if l.strip()]

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        return ctx

    def connection(self, timeout=10):
        if self.tls:
            return http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=timeout,
                context=self.ssl_context())
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=10,
                conn=None):
        own = conn is None
        c = conn or self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return Response(r.status, hdrs, data)
        finally:
            if own:
                c.close()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self._out.close()
        self.proc = None
        return rc


class TempDir:
    """A temporary directory removed at the end (kept with KEEP_TMP=1)."""

    def __init__(self, prefix="skm-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def cleanup(self):
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(self.path, ignore_errors=True)


class Browser:
    """A minimal browser: keeps cookies per name (host-only, like __Host-),
    never follows redirects, speaks HTTPS to one broker."""

    def __init__(self, broker, source=None):
        self.b = broker
        self.cookies = {}
        self.source = source        # e.g. ("127.1.0.1", 0): another network

    def _store(self, resp_headers):
        for k, v in resp_headers:
            if k.lower() != "set-cookie":
                continue
            nv = v.split(";", 1)[0]
            name, _, value = nv.partition("=")
            attrs = v.lower()
            if value == "" or "max-age=0" in attrs:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def request(self, method, path, form=None, headers=None):
        import urllib.parse
        h = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        c = self.b.connection()
        if self.source is not None:
            c.source_address = self.source
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            raw = r.getheaders()
            self._store(raw)
            return Response(r.status, {k.lower(): v for k, v in raw}, data)
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form, **kw):
        return self.request("POST", path, form=form, **kw)
