#!/usr/bin/env python3
"""Render bench/out/results.json (written by bench.py) as bench/RESULTS.md.

    report.py RESULTS_JSON RESULTS_MD [NOTES_MD]

Medians per (scenario, implementation) over rounds, taken column-wise (req/s,
p50, p99, CPU); peak RSS is the maximum over rounds.  NOTES_MD (hand-written
analysis: profiles, suggestions) is appended verbatim."""
import json
import os
import statistics
import sys
from collections import OrderedDict

res = json.load(open(sys.argv[1]))
out_path = sys.argv[2]
notes_path = sys.argv[3] if len(sys.argv) > 3 else None
M = res["meta"]
P = M.get("params", {})
rows = res["rows"]
L = []
w = L.append


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def groups(scen):
    g = OrderedDict()
    for r in rows:
        if r["scen"] == scen:
            g.setdefault(r["impl"], []).append(r)
    return g


def agg(rs):
    return {"n": len(rs), "rps": med(r["rps"] for r in rs),
            "p50": med(r["p50"] for r in rs), "p99": med(r["p99"] for r in rs),
            "cpu": med(r.get("cpu_us") for r in rs),
            "slapd": med(r.get("slapd_cpu_us") for r in rs),
            "rss": max((r.get("rss_peak_mib") or 0) for r in rs),
            "non2xx": int(sum(r.get("non2xx", 0) for r in rs)),
            "sockerr": int(sum(r.get("sockerr", 0) for r in rs)),
            "runs": [round(r["rps"]) for r in rs]}


def f(x, d=0):
    if x is None:
        return "–"
    return ("{:,.%df}" % d).format(x).replace(",", " ")


def ratio(a, b):
    if not a or not b:
        return "–"
    return "%.1f×" % (a / b) if a / b >= 1.95 else "%.2f×" % (a / b)


def ok(b):
    return "**met**" if b else "**missed**"


IMPL_LABEL = {
    "sekimori-http": "Sekimori, plain HTTP (dev_plain_http)",
    "sekimori-https": "Sekimori, TLS 1.3",
    "oidc-provider-1proc": "oidc-provider 9.13.3, 1 process",
    "oidc-provider-2workers": "oidc-provider 9.13.3, cluster 2 workers",
    "glewlwyd": "Glewlwyd %s (default: PBKDF2 150k client secret)"
    % M.get("glewlwyd", ""),
    "glewlwyd-kdf1": "Glewlwyd, client KDF 1 iteration (diagnostic, "
    "non-default)",
}

w("# Sekimori benchmarks")
w("")
w("Machine: **%s cores, %s**, %s GiB RAM%s; Debian %s, kernel %s; %s; "
  "%s; Node.js %s; Glewlwyd %s; OpenLDAP slapd %s." % (
      M.get("cores"), M.get("cpu"), M.get("mem_gib"),
      " (VM, sha_ni)" if M.get("hypervisor") and M.get("sha_ni") else "",
      M.get("debian"), M.get("kernel"), M.get("openssl"), M.get("wrk"),
      M.get("node"), M.get("glewlwyd"), M.get("slapd")))
w("")
w("Date: %s – %s. Sekimori at `%s`%s, built with the default hardened flags "
  "into `%s/`." % (M.get("started"), M.get("finished", "(unfinished)"),
                   M.get("git"), " (+ uncommitted changes)"
                   if M.get("git_dirty") else (" (`BENCH_REV=%s`: a `git "
                   "archive` snapshot, not the working tree)" % M["bench_rev"]
                   if M.get("bench_rev") else ""), P.get("build")))
w("")
w("**The load generator runs on the same %s cores as the servers** (and "
  "slapd): every figure is a whole-machine figure. The machine is a shared "
  "VM: 10–30 %% run-to-run spread is normal, so each figure is the median of "
  "the rounds shown (p50/p99 are medians of the per-round percentiles)."
  % M.get("cores"))
w("")
w("## How")
w("")
w("```sh")
w("make bench          # = bench/run.sh: installs wrk, glewlwyd, ... if "
  "missing, builds, runs, writes this file")
if M.get("bench_rev"):
    w("BENCH_REV=%s make bench   # what produced this file" % M["bench_rev"])
w("# parameters of this run:")
w("BENCH_DUR=%s BENCH_ROUNDS=%s BENCH_CC_ROUNDS=%s BENCH_THREADS=%s "
  "BENCH_CONNS=%s BENCH_LOGIN_CONC=%s BENCH_LOGIN_SECS=%s BENCH_SCALE=%s" % (
      P.get("dur"), P.get("rounds"), P.get("cc_rounds"), P.get("threads"),
      P.get("conns"), P.get("login_conc"), P.get("login_secs"),
      ",".join(str(x) for x in P.get("scale", []))))
w("```")
w("")
w("* HTTP load: `wrk -t%s -c%s -d%ss --timeout 10s --latency -s "
  "bench/wrk/<script>.lua <url>` on 127.0.0.1 (scripts: `post.lua` fixed "
  "request with Basic auth; `lines.lua` one client assertion per request; "
  "`refresh.lua` refresh tokens used once each, rotated; `manyclients.lua` "
  "random registered clients). Each scenario runs Sekimori and the peers in "
  "turn, round by round. The exact command of every run is in "
  "`bench/out/raw/<scenario>.<impl>.r<round>.txt`." % (
      P.get("threads"), P.get("conns"), P.get("dur")))
w("* Server CPU = utime+stime from /proc of the server process and its "
  "children (brokerd + its key process; node + workers) during the run, "
  "divided by completed requests. Sekimori's directory (slapd) is measured "
  "separately and shown as *+slapd*. Peak RSS = process tree, sampled every "
  "0.25 s.")
w("* Peers are set up with the scripts of `../shared/bench` (copied to a "
  "temp dir): Glewlwyd (Debian package, SQLite, ES256 JWT access tokens) "
  "and panva's oidc-provider (npm, in-memory, ES256 JWT access tokens); all "
  "client_credentials with client_secret_basic, plain HTTP on loopback. "
  "Sekimori: a real slapd (`tests/integration/ldap_harness.py`) and brokerd "
  "with default settings except `log_level = info` and, for the plain rows, "
  "`dev_plain_http = yes`; clients registered with `brokerctl client add`, "
  "the RPA account with `brokerctl rpa add`.")
w("")

# --- targets ---------------------------------------------------------------
cc = {k: agg(v) for k, v in groups("cc_keepalive").items()}
sek = cc.get("sekimori-http")
node1 = cc.get("oidc-provider-1proc")
glwd = cc.get("glewlwyd")
logins = {k: agg(v) for k, v in groups("login").items()}
lg = logins.get("sekimori-http")
a2 = M.get("argon2", {})
sp = M.get("openssl_speed", {})
pep = M.get("pep", {})
st = M.get("startup", {})
rl = M.get("rss_logins", {})

w("## Targets")
w("")
w("| target | measured | |")
w("|---|---|---|")
if sek and node1:
    w("| client_credentials keep-alive ≥ 3× oidc-provider (1 process) | "
      "%s req/s vs %s = **%s** | %s |" % (f(sek["rps"]), f(node1["rps"]),
                                         ratio(sek["rps"], node1["rps"]),
                                         ok(sek["rps"] >= 3 * node1["rps"])))
if sek and glwd:
    w("| … ≥ 10× Glewlwyd | %s vs %s req/s = **%s** (vs its KDF=1 "
      "diagnostic variant: %s) | %s |" % (
          f(sek["rps"]), f(glwd["rps"], 1), ratio(sek["rps"], glwd["rps"]),
          ratio(sek["rps"], cc.get("glewlwyd-kdf1", {}).get("rps")),
          ok(sek["rps"] >= 10 * glwd["rps"])))
if sek:
    w("| p99 < 20 ms (keep-alive, %s connections) | %s ms (plain), %s ms "
      "(TLS) | %s |" % (P.get("conns"), f(sek["p99"], 1),
                        f(cc.get("sekimori-https", {}).get("p99"), 1),
                        ok(sek["p99"] < 20)))
    w("| server CPU per token < 150 µs | %s µs brokerd + key process "
      "(+ %s µs slapd) | %s |" % (f(sek["cpu"]), f(sek["slapd"]),
                                  ok(sek["cpu"] < 150)))
lrows = groups("login").get("sekimori-http", [])
a2s = M.get("argon2_sodium", {})
# The reference is the hash as slapd computes it: since skm_argon2.so
# (directory/slapd/) that is libsodium; the peers' libargon2 loop (what
# slapd ran before, and what the target was first measured against) is
# shown beside it.
for impl, key, meta, note in (
        ("libsodium", "sodium_all_cores", a2s,
         "the implementation slapd runs (skm_argon2.so)"),
        ("libargon2", "argon2_all_cores", a2,
         "the peers' reference loop; Debian's argon2.so ran it")):
    if not (lg and lrows and all(r.get(key) for r in lrows)):
        continue
    refm = med(r[key] for r in lrows)
    rat = med(r["rps"] / r[key] for r in lrows)
    w("| password login ≥ 80 %% of the argon2id rate at the configured cost "
      "(m=19456 KiB, t=2, p=1), **%s**: %s | %s logins/s vs %s hashes/s "
      "with all cores hashing, measured right before each round: **%.0f %%**"
      " (median of per-round ratios) | %s |" % (
          impl, note, f(lg["rps"], 1), f(refm, 1), 100 * rat,
          ok(rat >= 0.8)))
for impl, meta in (("libsodium", a2s), ("libargon2", a2)):
    if not (lg and meta):
        continue
    per_cpu = 1e6 / (lg["cpu"] + lg["slapd"])
    ref = meta["all_cores"] / M.get("cores", 2)
    w("| … per CPU-second (robust to other load on the machine), %s: "
      "logins per CPU-second of brokerd+slapd vs argon2id hashes per "
      "CPU-second with all cores hashing | %s vs %s = %.0f %% | %s |" % (
          impl, f(per_cpu, 1), f(ref, 1), 100 * per_cpu / ref,
          ok(per_cpu >= 0.8 * ref)))
# the PEP's reference: `openssl speed` right before each round when the run
# paired them (bench.py pep_rounds), else the one at the start of the run
pep_ref = (statistics.median(pep["openssl_paired"])
           if pep.get("openssl_paired") else
           sp["es256_verify"] if sp else None)
pep_ratio = (pep["ratio_paired"] if pep.get("ratio_paired") else
             pep["one_thread_per_cpu_s"] / pep_ref if pep and pep_ref
             else None)
if pep and pep_ref:
    w("| PEP verification ≥ 80 %% of `openssl speed` (ES256 verify, one "
      "core; both per CPU-second%s) | %s verifies per CPU-second = %.0f %% of "
      "%s (wall-clock rate %s/s) | %s |" % (
          "; each round right after its own `openssl speed`, median of the "
          "per-round ratios" if pep.get("ratio_paired") else "",
          f(pep["one_thread_per_cpu_s"]), 100 * pep_ratio, f(pep_ref),
          f(pep["one_thread_rate"]), ok(pep_ratio >= 0.8)))
if st:
    ri = med(st["rss_idle_mib"])
    rit = med(st["rss_idle_tree_mib"])
    w("| RSS idle < 16 MiB | %s MiB brokerd (%s MiB with its key process) "
      "| %s |" % (f(ri, 1), f(rit, 1), ok(ri < 16)))
if rl:
    w("| RSS < 64 MiB after 100 000 logins | %s MiB brokerd (%s with key "
      "process) after **%s** logins (%s; see below) | %s |" % (
          f(rl["rss_end_mib"], 1), f(rl["rss_end_tree_mib"], 1),
          f(rl["logins"]), "time-capped: 100 000 would take ~%.0f min at "
          "this rate" % (100000 / max(rl["rps"], 1) / 60)
          if rl["logins"] < rl.get("target_logins", 100000) else "full run",
          ok(rl["rss_end_mib"] < 64) + (" (at this count)"
                                        if rl["logins"] < 100000 else "")))
if st:
    rd = med(st["ready_ms"])
    w("| ready < 200 ms | %s ms exec → first 200 on `/readyz` (median of "
      "%d) | %s |" % (f(rd, 1), len(st["ready_ms"]), ok(rd < 200)))
w("")

# --- client_credentials ----------------------------------------------------
HDR = ("| server | rounds | req/s | vs Sekimori plain | p50 ms | p99 ms | "
       "server CPU µs/req | +slapd µs/req | peak RSS MiB | non-2xx |")
SEP = "|---|---|---|---|---|---|---|---|---|---|"


def table(scen, ref=None, labels=IMPL_LABEL, whatif=False):
    g = groups(scen)
    if not g:
        w("(not run)")
        return {}
    a = {k: agg(v) for k, v in g.items()}
    ref = a.get("baseline (defaults)") if whatif else a.get("sekimori-http")
    w(HDR.replace("vs Sekimori plain", "vs defaults") if whatif else HDR)
    w(SEP)
    for k, x in a.items():
        w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %d |" % (
            labels.get(k, k), x["n"], f(x["rps"], 1 if x["rps"] < 100 else 0),
            "–" if ref is None or x is ref else
            (ratio(x["rps"], ref["rps"]) if whatif else
             "Sekimori %s" % ratio(ref["rps"], x["rps"])),
            f(x["p50"], 1), f(x["p99"], 1), f(x["cpu"]), f(x["slapd"]),
            f(x["rss"], 1), x["non2xx"] + x["sockerr"]))
    w("")
    return a


w("## Token endpoint: client_credentials, client_secret_basic")
w("")
w("Keep-alive (%s connections). Ratios are Sekimori plain HTTP ÷ that row."
  % P.get("conns"))
w("")
table("cc_keepalive")
w("A new connection per request (`Connection: close`; over TLS every request "
  "is a full TLS 1.3 handshake, wrk does not resume sessions):")
w("")
table("cc_newconn")

w("## Other Sekimori scenarios")
w("")
w("No peer row here: the peer setups only cover client_credentials (and "
  "Glewlwyd's password grant, shown with the login).")
w("")
for scen, title in (("pkjwt", "client_credentials with private_key_jwt "
                     "(RPA path: ES256 client assertion, unique jti each, "
                     "replay check in the directory)"),
                    ("refresh", "refresh-token grant (rotation: each refresh "
                     "token used once, the new one used next)"),
                    ("introspect", "introspection (RFC 7662) of a user's "
                     "access token by its client, Basic auth"),
                    ("forward_auth", "forward-auth decision, `GET "
                     "/forward-auth` with a bearer token")):
    w("### " + title)
    w("")
    if scen == "forward_auth" and groups(scen):
        w("A user's access token (from a password login), headers "
          "`X-Forwarded-Host: app.example.test`, `X-Original-URI: "
          "/reports/1`, from loopback (a trusted proxy). The probe before the "
          "runs answered **%s** (`%s`); non-2xx decisions are counted in the "
          "last column." % (M.get("forward_auth_probe"),
                            (M.get("forward_auth_probe_body") or "")[:120]
                            .replace("|", "/")))
        w("")
    if scen == "forward_auth" and not groups(scen):
        w("Skipped: `GET /forward-auth` with a valid bearer token answered "
          "%s — the endpoint does not exist in this build." %
          M.get("forward_auth_probe"))
        w("")
        continue
    table(scen)

w("## Password login (authorize → login form → POST /login → code → token)")
w("")
w("%s concurrent browsers (Python http.client, one keep-alive connection "
  "each, new cookie jar per login), %s s per round. A login is four "
  "requests; the password check is slapd's `{ARGON2}` bind (m=19456 KiB, "
  "t=2, p=1; Argon2id on libsodium through our `skm_argon2.so`, at most "
  "one hash per CPU at once). CPU per *login*." % (P.get("login_conc"),
                                                   P.get("dur")))
w("")
w("| server | rounds | logins/s | p50 ms (whole flow) | p99 ms | POST /login "
  "p50 / p99 ms | brokerd CPU µs/login | slapd CPU µs/login | peak RSS MiB "
  "| errors |")
w("|---|---|---|---|---|---|---|---|---|---|")
for k, rs in groups("login").items():
    x = agg(rs)
    w("| %s | %d | %s | %s | %s | %s / %s | %s | %s | %s | %d |" % (
        IMPL_LABEL.get(k, k), x["n"], f(x["rps"], 1), f(x["p50"]),
        f(x["p99"]), f(med(r["login_post_p50"] for r in rs)),
        f(med(r["login_post_p99"] for r in rs)), f(x["cpu"]),
        f(x["slapd"]), f(x["rss"], 1), x["non2xx"]))
for k, rs in groups("login_ref_ropc").items():
    x = agg(rs)
    w("| reference: Glewlwyd ROPC password grant (wrk, client+user PBKDF2 "
      "150k) | %d | %s | %s | %s | – | %s (all) | – | %s | %d |" % (
          x["n"], f(x["rps"], 1), f(x["p50"]), f(x["p99"]), f(x["cpu"]),
          f(x["rss"], 1), x["non2xx"]))
w("")
if a2s:
    w("argon2id m=19456 KiB t=2 p=1 with libsodium "
      "(`bench/sodium_argon2_bench.c`, `crypto_pwhash_argon2id_str` as "
      "`skm_argon2.so` calls it): **%s hashes/s** on one thread (runs %s), "
      "**%s/s** with one process per core at once." % (
          f(a2s["one_thread"], 1), a2s["runs_one"], f(a2s["all_cores"], 1)))
    w("")
if a2:
    w("argon2id m=19456 KiB t=2 p=1 with libargon2 (`argon2_bench.c` from "
      "../shared/bench; Debian builds the portable reference code): **%s "
      "hashes/s** on one thread (runs %s), **%s/s** with one process per "
      "core at once." % (
          f(a2["one_thread"], 1), a2["runs_one"], f(a2["all_cores"], 1)))
    w("")

w("## PEP: in-process token verification (libsekimori-pep.a)")
w("")
if pep:
    w("| what | verifies/s | µs CPU each |")
    w("|---|---|---|")
    w("| `pep_verify()` of a %d-byte ES256 access token, 1 thread (median "
      "of %d × 5 s; wall-clock runs %s) | %s per CPU-second (%s/s "
      "wall-clock) | %s |" % (
          pep["token_bytes"], len(pep["runs"]),
          [round(x) for x in pep["runs"]], f(pep["one_thread_per_cpu_s"]),
          f(pep["one_thread_rate"]), f(pep["us_per_verify"], 1)))
    w("| `pep_verify()`, 2 threads | %s | – |" % f(pep["two_threads_rate"]))
    if pep_ref:
        nref = (len(pep["openssl_paired"]) if pep.get("openssl_paired")
                else len(sp["runs_verify"]))
        w("| `openssl speed -seconds 3 ecdsap256` verify, one core (median "
          "of %d%s) | %s | %s |" % (
              nref, ", each right before a PEP round"
              if pep.get("openssl_paired") else "", f(pep_ref),
              f(1e6 / pep_ref, 1)))
        w("| ratio PEP ÷ openssl (per CPU-second; `openssl speed` counts "
          "ops per CPU-second too%s) | **%.0f %%** | |" % (
              "; median of the per-round ratios"
              if pep.get("ratio_paired") else "", 100 * pep_ratio))
    w("")
    w("`%s` (bench/pep_bench.c; `now` = the token's iat + 1, so one token "
      "stays valid)." % pep["cmd"])
    if pep.get("remeasured"):
        w("")
        w("*These PEP rows were measured %s; in the run itself: %s "
          "verifies per CPU-second (runs %s).*" % (
              pep["remeasured"], f(pep["in_run"]["one_thread_per_cpu_s"]),
              [round(x) for x in pep["in_run"]["runs"]]))
    w("")

w("## Memory and start-up")
w("")
if st:
    w("| what | value |")
    w("|---|---|")
    w("| ready: exec → first 200 on `/readyz` (slapd up, keys on disk), %d "
      "starts | median %s ms (runs %s) |" % (
          len(st["ready_ms"]), f(med(st["ready_ms"]), 1),
          [round(x, 1) for x in st["ready_ms"] if x]))
    w("| brokerd RSS idle (2 s after ready) | %s MiB (key process adds "
      "%s MiB) |" % (f(med(st["rss_idle_mib"]), 1),
                     f(med(st["rss_idle_tree_mib"]) -
                       med(st["rss_idle_mib"]), 1)))
    for k, lab in (("glewlwyd_idle_rss_mib", "Glewlwyd RSS idle"),
                   ("node1_idle_rss_mib", "oidc-provider RSS idle, 1 process"),
                   ("node2_idle_rss_mib",
                    "oidc-provider RSS idle, primary + 2 workers")):
        if k in M:
            w("| %s | %s MiB |" % (lab, f(M[k], 1)))
    if rl:
        w("| brokerd RSS after %s full logins (%s concurrent, %.0f s, %.1f "
          "logins/s, %d errors) | %s MiB at start → %s MiB after (peak %s; "
          "with key process %s) |" % (
              f(rl["logins"]), P.get("login_conc"), rl["wall"], rl["rps"],
              rl["errors"], f(rl["rss_start_mib"], 1),
              f(rl["rss_end_mib"], 1), f(rl["rss_peak_mib"], 1),
              f(rl["rss_end_tree_mib"], 1)))
    w("")
    if rl and rl.get("series"):
        s = rl["series"]
        w("RSS during the login run (brokerd): " + ", ".join(
            "%s logins → %s MiB" % (f(p["logins"]), f(p["rss_mib"], 1))
            for p in s) + ".")
        if len(s) >= 3 and s[-1]["logins"] > s[1]["logins"]:
            slope = (s[-1]["rss_mib"] - s[1]["rss_mib"]) / \
                (s[-1]["logins"] - s[1]["logins"])
            w("Growth after warm-up: %.2f KiB per login → extrapolated "
              "%s MiB at 100 000 logins (linear; an estimate, not a "
              "measurement)." % (slope * 1024, f(
                  s[-1]["rss_mib"] + slope * (100000 - s[-1]["logins"]), 1)))
        w("")

w("## Scale: client_credentials with more users and clients in the "
  "directory")
w("")
sc = M.get("scale", [])
if sc:
    w("N users (inetOrgPerson, no password) and N clients added by ldapadd "
      "into the same slapd; plain HTTP, keep-alive. *same*: always the "
      "client `bench`; *random*: each request from one of 2 000 random "
      "clients among the N (per wrk thread).")
    w("")
    w("| N users + N clients | ldapadd s | same client req/s | p99 ms | CPU "
      "µs (+slapd) | random clients req/s | p99 ms | CPU µs (+slapd) |")
    w("|---|---|---|---|---|---|---|---|")
    same = groups("scale_cc_same")
    rnd = groups("scale_cc_random")
    for s in sc:
        k = "N=%d" % s["level"]
        a = agg(same[k]) if k in same else None
        b = agg(rnd[k]) if k in rnd else None
        w("| %s | %s | %s | %s | %s (+%s) | %s | %s | %s |" % (
            f(s["level"]), f(s["add_secs"]), f(a and a["rps"]),
            f(a and a["p99"], 1), f(a and a["cpu"]), f(a and a["slapd"]),
            f(b and b["rps"]), f(b and b["p99"], 1),
            "%s (+%s)" % (f(b["cpu"]), f(b["slapd"])) if b else "–"))
    w("")

# before/after: the same scenarios from an earlier run (BENCH_BEFORE=path
# to its results.json), e.g. the commit before an optimisation
bpath = os.environ.get("BENCH_BEFORE")
if bpath and os.path.exists(bpath):
    B = json.load(open(bpath))
    bg = OrderedDict()
    for r in B["rows"]:
        bg.setdefault((r["scen"], r["impl"]), []).append(r)
    w("## Before / after: `%s` (%s) → `%s` (this run)" % (
        B["meta"].get("git"), B["meta"].get("started"), M.get("git")))
    w("")
    w("Same harness and parameters; earlier run's raw output: `%s`. "
      "Medians; CPU = brokerd + key process, *+slapd* separately." %
      os.path.relpath(os.path.dirname(os.path.abspath(bpath)),
                      os.path.dirname(os.path.abspath(out_path))))
    w("")
    w("| scenario | server | req/s before → after | p99 ms before → after "
      "| CPU µs/req before → after | +slapd µs before → after |")
    w("|---|---|---|---|---|---|")
    for (sc, im), brs in bg.items():
        if not im.startswith("sekimori") or sc.startswith(("scale", "whatif")):
            continue
        ars = [r for r in rows if r["scen"] == sc and r["impl"] == im]
        if not ars:
            continue
        a, b = agg(ars), agg(brs)
        w("| %s | %s | %s → **%s** | %s → **%s** | %s → **%s** | %s → %s |"
          % (sc, im, f(b["rps"]), f(a["rps"]), f(b["p99"], 1),
             f(a["p99"], 1), f(b["cpu"]), f(a["cpu"]), f(b["slapd"]),
             f(a["slapd"])))
    w("")

wi = groups("whatif_cc")
if wi:
    w("## What-if: the same binary with configuration changes "
      "(client_credentials, plain, keep-alive)")
    w("")
    w("Each variant is a second brokerd on the same slapd, run alternately "
      "with the default one (2 rounds each); this bounds what the code "
      "suggestions below can gain.")
    w("")
    base = [r for r in rows if r["scen"] == "whatif_cc"
            and r["impl"] == "baseline (defaults)"]
    var = [k for k in wi if k != "baseline (defaults)"]
    w("| variant | rounds | req/s | paired defaults req/s | ratio | p99 ms "
      "(defaults) | brokerd CPU µs/token (defaults) | +slapd µs (defaults) "
      "|")
    w("|---|---|---|---|---|---|---|---|")
    for i, k in enumerate(var):
        x = agg(wi[k])
        bs = [r for r in base if r["round"] // 100 == i + 1]
        b = agg(bs) if bs else None
        w("| %s | %d | %s | %s | %s | %s (%s) | %s (%s) | %s (%s) |" % (
            k, x["n"], f(x["rps"]), f(b and b["rps"]),
            ratio(x["rps"], b and b["rps"]), f(x["p99"], 1),
            f(b and b["p99"], 1), f(x["cpu"]), f(b and b["cpu"]),
            f(x["slapd"]), f(b and b["slapd"])))
    w("")

notes = [n for n in res.get("notes", []) if not n.startswith("forward-auth")]
for n in notes:
    w("* " + n)
if notes:
    w("")
if notes_path:
    try:
        w(open(notes_path).read().rstrip())
        w("")
    except OSError:
        pass
open(out_path, "w").write("\n".join(L) + "\n")
print("wrote", out_path)
