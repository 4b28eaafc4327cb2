"""A throwaway slapd for integration tests, wrapping scripts/slapd.sh.

    with Slapd(tmpdir, demo=True) as s:      # or s.start() / s.stop()
        s.env_lines()                         # ldap_* lines for sekimori.conf
        s.write_conf(path, extra={...})
        s.ldap("ldapadd", ldif_text)          # as the instance's root (ldapi)

Everything lives under tmpdir; stop() is safe to call more than once and
after a failed start, and kills slapd by the pid it wrote (never by name).
Never uses the dev var/ directory.

Multi-provider replication (docs/cluster.md): name= picks the folder under
tmpdir, and cluster=CDIR, server_id=N, peers=[URI...], join=True pass the
--cluster/--server-id/--peer/--join options of scripts/slapd.sh start.
"""
import os
import signal
import socket
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLAPD_SH = os.path.join(ROOT, "scripts", "slapd.sh")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Slapd:
    """slapd in tmpdir/slapd on a free loopback port (ldapi + StartTLS)."""

    def __init__(self, tmpdir, port=None, demo=False, env=None, name="slapd",
                 cluster=None, server_id=None, peers=(), join=False):
        self.dir = os.path.join(os.path.abspath(tmpdir), name)
        self.port = port or free_port()
        self.demo = demo
        self.cluster = cluster
        self.server_id = server_id
        self.peers = list(peers)
        self.join = join
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.started = False

    # -- lifecycle --
    def start(self):
        args = [SLAPD_SH, "start", self.dir, str(self.port)]
        if self.demo:
            args.append("--demo")
        if self.cluster:
            args += ["--cluster", self.cluster, "--server-id",
                     str(self.server_id)]
            for peer in self.peers:
                args += ["--peer", peer]
            if self.join:
                args.append("--join")
        p = subprocess.run(args, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.started = True       # stop() even if start half-worked
        if p.returncode != 0:
            self.stop()
            raise RuntimeError("slapd.sh start failed (%d): %s%s"
                               % (p.returncode, p.stdout, p.stderr))
        return p.stdout

    def stop(self):
        if not self.started:
            return
        subprocess.run([SLAPD_SH, "stop", self.dir], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30)
        pid = self.pid()
        if pid is not None:                 # belt and braces
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def pid(self):
        try:
            with open(os.path.join(self.dir, "slapd.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def suspend(self):
        """SIGSTOP: slapd accepts nothing and answers nothing (a hang)."""
        os.kill(self.pid(), signal.SIGSTOP)

    def resume(self):
        os.kill(self.pid(), signal.SIGCONT)

    def kill9(self):
        """SIGKILL by the recorded pid (a crash: no clean shutdown)."""
        pid = self.pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.05)

    @property
    def url(self):
        return "ldap://127.0.0.1:%d/" % self.port

    # -- configuration for the broker --
    def env_lines(self):
        p = subprocess.run([SLAPD_SH, "env", self.dir], env=self.env,
                           check=True, stdout=subprocess.PIPE, text=True)
        return [l for l in p.stdout.splitlines() if l.strip()]

    def write_conf(self, path, extra=None):
        with open(path, "w") as f:
            f.write("# written by tests/integration/ldap_harness.py\n")
            for line in self.env_lines():
                f.write(line + "\n")
            for k, v in (extra or {}).items():
                f.write("%s = %s\n" % (k, v))
        return path

    @property
    def base(self):
        with open(os.path.join(self.dir, "base")) as f:
            return f.read().strip()

    @property
    def ldapi(self):
        path = os.path.join(self.dir, "ldapi")
        return "ldapi://" + path.replace("%", "%25").replace("/", "%2F")

    def demo_password(self):
        with open(os.path.join(self.dir, "demo.pw")) as f:
            return f.read().strip()

    def broker_password_file(self):
        return os.path.join(self.dir, "broker.pw")

    # -- direct access --
    def ldap(self, tool, stdin=None, args=(), check=True, root=True,
             timeout=20):
        """Run an ldap-utils tool against the instance: as its root (SASL
        EXTERNAL over ldapi) or, with root=False, with the args given."""
        cmd = [tool, "-H", self.ldapi]
        if root:
            cmd += ["-Q", "-Y", "EXTERNAL"]
        cmd += list(args)
        p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (tool, p.returncode,
                                                     p.stderr))
        return p
