#!/bin/sh
# make run: the development stack, all state under var/ (git-ignored):
#   var/tls/       dev CA (var/tls/ca.pem: trust this) and server certificate
#   var/ldap/      a private slapd (mdb), schema, demo user
#   var/keys/      token signing keys
#   var/sekimori.conf, var/audit.log
# then brokerd in the foreground on https://127.0.0.1:8443.  Ctrl-C stops
# brokerd and slapd; nothing is left running.  Running it again reuses var/.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
var="$top/var"
port=${SEKIMORI_PORT:-8443}
ldap_port=${SEKIMORI_LDAP_PORT:-8389}

mkdir -p "$var"
chmod 0700 "$var"
scripts/tls.sh "$var/tls"
scripts/slapd.sh start "$var/ldap" "$ldap_port" --demo

cleanup() {
	trap - EXIT INT TERM
	scripts/slapd.sh stop "$var/ldap" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -f "$var/sekimori.conf" ]; then
	{
		echo "# Development configuration written by scripts/run.sh."
		echo "# Relative paths are relative to this file's directory."
		echo "listen = 127.0.0.1:$port"
		echo "issuer = https://127.0.0.1:$port"
		echo "tls_cert = tls/server.pem"
		echo "tls_key = tls/server.key"
		echo "log_file = -"
		echo "log_level = info"
		echo "audit_file = audit.log"
		echo "key_dir = keys"
		echo "kek_file = kek"
		scripts/slapd.sh env "$var/ldap"
	} > "$var/sekimori.conf.tmp"
	mv "$var/sekimori.conf.tmp" "$var/sekimori.conf"
fi
issuer=$(sed -n 's/^issuer = //p' "$var/sekimori.conf")
# the first signing key (later ones: brokerctl key rotate, then SIGHUP)
if [ ! -f "$var/keys/keys.json" ]; then
	build/brokerctl -c "$var/sekimori.conf" key rotate >/dev/null
fi
if [ ! -f "$var/kek" ]; then
	build/brokerctl -c "$var/sekimori.conf" kek rotate >/dev/null
fi

cat <<MSG

  Sekimori (development)
  issuer     $issuer
  CA         var/tls/ca.pem     (curl --cacert var/tls/ca.pem $issuer/healthz)
  demo login demo / $(cat "$var/ldap/demo.pw" 2>/dev/null || echo '?')
  operator   build/brokerctl user show demo   (uses var/sekimori.conf)
  Ctrl-C stops brokerd and slapd.

MSG
# foreground, so that Ctrl-C reaches brokerd (it drains, then exits)
build/brokerd -c "$var/sekimori.conf" || rc=$?
exit "${rc:-0}"
