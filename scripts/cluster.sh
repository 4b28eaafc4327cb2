#!/bin/sh
# make cluster: a two-provider, two-node Sekimori stack on loopback for
# people to try (docs/cluster.md).  State under var/cluster/ (reused when
# run again):
#   var/cluster/p1, p2     slapd providers in multi-provider replication
#                          (ldap://127.0.0.1:18389 and :18390, StartTLS)
#   var/cluster/cluster    the providers' shared CA and replication secret
#   var/cluster/shared     one issuer's signing keys, KEK and certificate
#   var/cluster/node-a, -b brokerd nodes on https://127.0.0.1:8443 and :8444
# Both nodes write through one directory endpoint (p1, then p2 if p1 is
# down).  Ctrl-C stops everything.
#
#   scripts/cluster.sh start      (what make cluster runs)
# Ports: SEKIMORI_CLUSTER_PORT_A/_B, SEKIMORI_CLUSTER_LDAP_1/_2.
set -eu
cd "$(dirname "$0")/.."
case "${1:-start}" in
start) ;;
*) echo "usage: $0 start" >&2; exit 2 ;;
esac
[ -x build/brokerd ] && [ -x build/brokerctl ] || make -j2 all
mkdir -p var/cluster
chmod 0700 var var/cluster
exec python3 tests/integration/cluster_harness.py serve "$(pwd)/var/cluster"
