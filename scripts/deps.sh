#!/bin/sh
# Install the Debian packages Sekimori needs to build, run and test.
# Idempotent: does nothing when every package is present.  Needs root only
# when something is missing.  Usage: scripts/deps.sh [--check]
set -eu

PKGS="build-essential pkg-config
libssl-dev openssl
libmicrohttpd-dev libgnutls28-dev
libldap-dev slapd ldap-utils
liboath-dev oathtool
libfido2-dev libcbor-dev
libjansson-dev libsodium-dev libbsd-dev libqrencode-dev
libcmocka-dev
wamerican
clang libclang-rt-14-dev
curl libcurl4-openssl-dev python3 procps psmisc
fonts-ipafont-gothic nginx-light
libunistring-dev
chromium"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "${1:-}" = "--check" ]; then
	echo "deps: missing packages:$missing" >&2
	exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'scripts/deps.sh' as root (or: apt-get install$missing)" >&2
	exit 1
fi

echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# slapd's postinst would create a system database we never use; keep it quiet.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
if ! apt-get install -y --no-install-recommends $missing; then
	apt-get update
	apt-get install -y --no-install-recommends $missing
fi
