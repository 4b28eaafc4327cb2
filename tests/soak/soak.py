#!/usr/bin/env python3
"""make soak: mixed load on a two-node, two-provider cluster.

    SOAK_SECONDS  duration (default 600)
    SOAK_CLIENTS  concurrent clients, each with its own connection (300)
    SOAK_WARMUP   seconds before the RSS/fd baseline (default 20 % of the
                  run, at least 20)

Load: logins through the form, code redemption, refreshes, introspection
and forward-auth with bearer tokens, spread over nodes a and b.  Every 5 s
the RSS and open fds of each brokerd are sampled.  Passes when: no 5xx
other than a 503 with a documented SKM code; RSS growth after warm-up below
5 %; no fd growth; both providers hold the same refresh tokens afterwards.
Prints "soak: N passed, N failed".
"""
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import load  # noqa: E402
from cluster_harness import Cluster  # noqa: E402
from harness import TempDir  # noqa: E402
from test_oidc import RP_CB  # noqa: E402

PW = "Kq7 tundra-lantern 91 mosaic"


def growth(samples, warm_until):
    """(baseline, end, growth fraction) of RSS and fds after warm-up:
    medians of the first and last three samples after warm-up."""
    post = [s for s in samples if s[0] >= warm_until]
    if len(post) < 4:
        return None
    b_rss = statistics.median(s[1] for s in post[:3])
    e_rss = statistics.median(s[1] for s in post[-3:])
    b_fd = statistics.median(s[2] for s in post[:3])
    e_fd = statistics.median(s[2] for s in post[-3:])
    return b_rss, e_rss, (e_rss - b_rss) / b_rss, b_fd, e_fd


def main():
    secs = int(os.environ.get("SOAK_SECONDS", "600"))
    nclients = int(os.environ.get("SOAK_CLIENTS", "300"))
    warm = int(os.environ.get("SOAK_WARMUP", str(max(20, secs // 5))))
    build = os.environ.get("BUILD", "build")
    os.environ["BUILD"] = build
    ck = load.Checks()
    tmp = TempDir(prefix="skm-soak-")
    c = Cluster(tmp.path, nodes=("a", "b"),
                extra={"log_level": "info", "max_connections": "2048"})
    try:
        c.start()
        a = c.nodes["a"]
        import json
        sec = json.loads(a.ctl("--json", "client", "add", "soak-rp",
                               "--redirect-uri", RP_CB).stdout)[
            "client_secret"]
        users = load.make_users(a, 20, PW)
        c.wait_converged("ou=people")
        stats = load.Stats()
        stop = threading.Event()
        names = sorted(c.nodes)
        clients = [load.Client(c.nodes[names[i % len(names)]], c.ca,
                               "soak-rp", sec, users[i % len(users)], PW,
                               stats, stop, think=(0.2, 1.0))
                   for i in range(nclients)]
        sampler = load.Sampler(c.nodes, every=5.0)
        sampler.start()
        t0 = time.time()
        for cl in clients:
            cl.start()
        print("soak: %d clients on %s for %d s (warm-up %d s)" %
              (nclients, ", ".join(names), secs, warm))
        sys.stdout.flush()
        last = t0
        while time.time() - t0 < secs:
            time.sleep(1)
            if time.time() - last >= 30:
                last = time.time()
                print("  t=%4d s  requests %d  errors %s" %
                      (last - t0, stats.total(), stats.errors or "-"))
                sys.stdout.flush()
        stop.set()
        for cl in clients:
            cl.join(20)
        sampler.stop.set()
        sampler.join(10)
        dur = time.time() - t0
        stats.report()
        print("  throughput: %.0f requests/s" % (stats.total() / dur))
        five, other = stats.bad(load.documented_503())
        ck.check("no 5xx other than documented 503s", not five, str(five))
        ck.check("no unexpected answers", not other, str(other))
        conn_err = sum(stats.errors.values())
        ck.check("no connection errors", conn_err == 0, str(stats.errors))
        for n in names:
            g = growth(sampler.samples[n], t0 + warm)
            if g is None:
                ck.check("node %s sampled" % n, False, "too few samples")
                continue
            b_rss, e_rss, frac, b_fd, e_fd = g
            rs = [s[1] for s in sampler.samples[n]]
            fs = [s[2] for s in sampler.samples[n]]
            print("  node %s: RSS %d -> %d kB after warm-up (%+.2f %%), "
                  "min %d max %d; fds %d -> %d (min %d max %d); %d samples"
                  % (n, b_rss, e_rss, 100 * frac, min(rs), max(rs), b_fd,
                     e_fd, min(fs), max(fs), len(rs)))
            ck.check("node %s RSS growth < 5 %% after warm-up" % n,
                     frac < 0.05, "%+.2f %%" % (100 * frac))
            # clients keep their connections: allow jitter of in-flight
            # reconnects, not a trend
            ck.check("node %s no fd growth" % n, e_fd <= b_fd + 8,
                     "%d -> %d" % (b_fd, e_fd))
        for sub in ("ou=rt,ou=state", "ou=sess,ou=state", "ou=people"):
            ok, t, o1, o2, diff = c.wait_converged(sub, timeout=20)
            ck.check("providers consistent: %s" % sub, ok,
                     "only p1 %d, only p2 %d, differ %d" %
                     (len(o1), len(o2), len(diff)))
        ck.check("enough load", stats.total() > 10 * nclients,
                 "%d requests" % stats.total())
    except Exception as e:      # noqa: BLE001
        import traceback
        traceback.print_exc()
        ck.check("soak ran", False, repr(e))
    finally:
        c.stop()
        tmp.cleanup()
    return ck.finish("soak")


if __name__ == "__main__":
    sys.exit(main())
