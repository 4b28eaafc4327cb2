"""A two-provider, multi-node Sekimori stack on loopback for tests, `make
cluster`, soak and chaos runs (docs/cluster.md).

    c = Cluster(tmpdir)        # providers p1 (seed) and p2 (--join)
    c.start()                  # + the directory endpoint, brokers "a" and "b"
    c.nodes["a"], c.nodes["b"] # harness.Broker objects sharing one issuer,
                               # key_dir and kek_file
    c.stop()

The directory endpoint (DirFailover) is what a deployment would run as a
TCP load balancer in active/backup mode (HAProxy "backup" servers, or a
keepalived address): every broker node writes through it, so all
compare-and-swap operations go to ONE provider at a time; it moves to the
next provider only when the current one refuses connections, and stays
there (no automatic fail-back, which would split writes between providers).
"""
import os
import select
import socket
import threading
import time

from harness import Broker, free_port, make_tls
from ldap_harness import Slapd


class DirFailover:
    """Active/backup TCP forwarder on 127.0.0.1 in front of the providers.
    StartTLS passes through untouched (the providers' certificates name
    127.0.0.1, so brokers verify them as usual)."""

    def __init__(self, upstreams, port=None, connect_timeout=0.5):
        self.upstreams = list(upstreams)      # [(host, port), ...]
        self.connect_timeout = connect_timeout
        self.active = 0
        self.failovers = 0
        self.lock = threading.Lock()
        self.pairs = set()
        self.closed = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    @property
    def uri(self):
        return "ldap://127.0.0.1:%d/" % self.port

    def failback(self, index=0):
        """Operator action: make provider `index` the write primary again
        and drop connections to the others (brokers reconnect)."""
        with self.lock:
            self.active = index
            pairs = list(self.pairs)
        for c, u, i in pairs:
            if i != index:
                self._close(c, u)

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(c,),
                             daemon=True).start()

    def _handle(self, c):
        with self.lock:
            first = self.active
        order = [first] + [i for i in range(len(self.upstreams)) if i != first]
        u = None
        for i in order:
            try:
                u = socket.create_connection(self.upstreams[i],
                                             timeout=self.connect_timeout)
            except OSError:
                continue
            with self.lock:
                if i != self.active:
                    self.active = i
                    self.failovers += 1
                self.pairs.add((c, u, i))
            break
        if u is None:
            c.close()
            return
        u.settimeout(None)
        try:
            self._pump(c, u)
        finally:
            with self.lock:
                self.pairs.discard((c, u, i))
            self._close(c, u)

    @staticmethod
    def _pump(c, u):
        socks = [c, u]
        while True:
            try:
                r, _, _ = select.select(socks, [], [], 60)
            except (OSError, ValueError):
                return
            for s in r:
                try:
                    data = s.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                try:
                    (u if s is c else c).sendall(data)
                except OSError:
                    return

    @staticmethod
    def _close(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            pairs = list(self.pairs)
        for c, u, _ in pairs:
            self._close(c, u)


class Cluster:
    """Two providers in multi-provider replication and N broker nodes.

    safe=True (the recommended deployment): every node talks to the
    directory endpoint (p1 first, p2 on failure).  direct={"c": 0, "d": 1}
    adds nodes that talk straight to one provider (to show what replication
    alone does, and its limits)."""

    def __init__(self, root, nodes=("a", "b"), direct=None, demo=True,
                 extra=None, ports=None, slapd_ports=None):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)
        self.cdir = os.path.join(self.root, "cluster")
        sp = slapd_ports or (free_port(), free_port())
        self.p = [
            Slapd(self.root, port=sp[0], demo=demo, name="p1",
                  cluster=self.cdir, server_id=1,
                  peers=["ldap://127.0.0.1:%d/" % sp[1]]),
            Slapd(self.root, port=sp[1], demo=demo, name="p2",
                  cluster=self.cdir, server_id=2,
                  peers=["ldap://127.0.0.1:%d/" % sp[0]], join=True),
        ]
        self.node_names = list(nodes)
        self.direct = dict(direct or {})
        self.extra = dict(extra or {})
        self.ports = dict(ports or {})
        self.fwd = None
        self.nodes = {}
        self.issuer = None

    # -- configuration shared by every node --------------------------------
    def ldap_lines(self, uri):
        base = self.p[0].base
        return ["ldap_uri = %s" % uri,
                "ldap_base = %s" % base,
                "ldap_bind_dn = cn=broker,ou=services,%s" % base,
                "ldap_bind_password_file = %s"
                % os.path.join(self.p[0].dir, "broker.pw"),
                "ldap_ca_file = %s" % os.path.join(self.cdir, "ca.pem")]

    def start(self):
        for s in self.p:
            s.start()
        self.fwd = DirFailover([("127.0.0.1", s.port) for s in self.p])
        shared = os.path.join(self.root, "shared")
        os.makedirs(shared, exist_ok=True)
        key_dir = os.path.join(shared, "keys")
        kek = os.path.join(shared, "kek")
        # one certificate for every node (as behind a load balancer)
        tls = make_tls(os.path.join(shared, "tls"))
        self.ca = tls["ca"]
        names = self.node_names + sorted(self.direct)
        first_port = self.ports.get(names[0]) or free_port()
        self.issuer = "https://127.0.0.1:%d" % first_port
        for n in names:
            uri = (self.fwd.uri if n not in self.direct
                   else self.p[self.direct[n]].url)
            extra = {"issuer": self.issuer, "key_dir": key_dir,
                     "kek_file": kek, "tls_cert": tls["cert"],
                     "tls_key": tls["key"]}
            extra.update(self.extra)
            b = Broker(os.path.join(self.root, "node-" + n),
                       self.ldap_lines(uri), extra=extra)
            port = first_port if n == names[0] else self.ports.get(n)
            if port:
                b.port = port
            _rewrite_listen(b)
            b.key_dir, b.kek = key_dir, kek
            b.ca, b.tlsfiles = tls["ca"], tls
            b.name = n
            self.nodes[n] = b
        for n in names:
            self.nodes[n].start()
        return self

    def stop(self):
        for b in self.nodes.values():
            try:
                b.stop()
            except Exception:
                pass
        if self.fwd:
            self.fwd.close()
        for s in self.p:
            s.stop()

    # -- directory checks ----------------------------------------------------
    def dump(self, i, base_rdn, attrs=("*", "+")):
        """LDIF of every entry under base_rdn on provider i (as its root),
        without the per-provider operational attributes, sorted."""
        s = self.p[i]
        p = s.ldap("ldapsearch", args=["-LLL", "-o", "ldif-wrap=no", "-b",
                                       "%s,%s" % (base_rdn, s.base),
                                       "-s", "sub", "(objectClass=*)"]
                   + list(attrs))
        entries = {}
        for block in p.stdout.strip().split("\n\n"):
            lines = [l for l in block.splitlines() if l and not
                     l.split(":", 1)[0].lower() in
                     ("contextcsn", "structuralobjectclass",
                      "entrydn", "subschemasubentry", "hassubordinates")]
            if lines:
                entries[lines[0]] = sorted(lines[1:])
        return entries

    def wait_converged(self, base_rdn, timeout=10.0):
        """Wait (bounded) until both providers hold the same entries under
        base_rdn; returns (equal, seconds, only_on_p1, only_on_p2, diff)."""
        t0 = time.time()
        while True:
            a, b = self.dump(0, base_rdn), self.dump(1, base_rdn)
            if a == b:
                return True, time.time() - t0, [], [], []
            if time.time() - t0 > timeout:
                diff = [k for k in a if k in b and a[k] != b[k]]
                return (False, time.time() - t0,
                        [k for k in a if k not in b],
                        [k for k in b if k not in a], diff)
            time.sleep(0.1)


def _rewrite_listen(b):
    """Broker() picked a free port and wrote it into its config; put the
    port we chose (and keep the shared issuer)."""
    with open(b.conf) as f:
        lines = f.readlines()
    with open(b.conf, "w") as f:
        for l in lines:
            if l.startswith("listen = "):
                l = "listen = 127.0.0.1:%d\n" % b.port
            f.write(l)


def serve(root):
    """make cluster: the stack in the foreground until Ctrl-C."""
    import json
    import signal
    import sys
    env = os.environ.get
    c = Cluster(root, nodes=("a", "b"),
                ports={"a": int(env("SEKIMORI_CLUSTER_PORT_A", "8443")),
                       "b": int(env("SEKIMORI_CLUSTER_PORT_B", "8444"))},
                slapd_ports=(int(env("SEKIMORI_CLUSTER_LDAP_1", "18389")),
                             int(env("SEKIMORI_CLUSTER_LDAP_2", "18390"))),
                extra={"log_level": "info"})
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        c.start()
        a = c.nodes["a"]
        sec = os.path.join(c.root, "demo-rp.secret")
        if not os.path.exists(sec):
            out = a.ctl("--json", "client", "add", "demo-rp",
                        "--redirect-uri", "https://127.0.0.1/cb").stdout
            with open(sec, "w") as f:
                f.write(json.loads(out)["client_secret"] + "\n")
            os.chmod(sec, 0o600)
        pw = c.p[0].demo_password()
        print("""
  Sekimori cluster (two providers, two broker nodes; docs/cluster.md)
  issuer       %s   (both nodes; one key_dir, one certificate)
  node a       https://127.0.0.1:%d     node b  https://127.0.0.1:%d
  CA           %s
  directory    p1 %s  p2 %s  (multi-provider; nodes write through %s)
  demo login   demo / %s
  client       demo-rp (secret in %s)
  operator     build/brokerctl -c %s user show demo
  Ctrl-C stops everything.
""" % (c.issuer, c.nodes["a"].port, c.nodes["b"].port, c.ca,
               c.p[0].url, c.p[1].url, c.fwd.uri, pw, sec, a.conf))
        sys.stdout.flush()
        while not stop:
            for n, b in c.nodes.items():
                if b.proc.poll() is not None:
                    print("node %s exited (%d); see %s" % (n, b.proc.returncode, b.log))
                    stop.append(1)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the cluster ...")
        c.stop()


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        print("usage: cluster_harness.py serve DIR", file=sys.stderr)
        sys.exit(2)
