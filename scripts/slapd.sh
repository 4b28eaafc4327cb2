#!/bin/sh
# Throwaway / development slapd for Sekimori.  Never touches /etc/ldap.
#
#   scripts/slapd.sh start DIR PORT [--demo]
#       Create DIR on first use (cn=config from conf/ldap/, checked with
#       slaptest; mdb under DIR/data; schema; base tree; the broker's service
#       identity with a random password in DIR/broker.pw), then start slapd
#       on ldapi://DIR/ldapi and ldap://127.0.0.1:PORT (StartTLS, self-signed
#       CA in DIR/tls/ca.pem) and wait until it answers.  An existing DIR is
#       reused as it is.  --demo adds user "demo" (password in DIR/demo.pw,
#       generated unless present), and an administrator "demoadmin"
#       (password in DIR/demoadmin.pw) alone in the group "administrators".
#   scripts/slapd.sh stop DIR
#   scripts/slapd.sh env DIR      the ldap_* lines for sekimori.conf
#
# Environment (read when DIR is created):
#   SEKIMORI_LDAP_BASE              suffix (default dc=sekimori,dc=test)
#   SEKIMORI_PPOLICY_MAX_FAILURE    failed binds before lockout (default 5)
#   SEKIMORI_PPOLICY_FAILURE_INTERVAL  seconds failures are counted (900)
#   SEKIMORI_PPOLICY_LOCKOUT_DURATION  seconds an account stays locked (900)
#   SEKIMORI_SLAPD_DEBUG            non-empty: slapd logs to DIR/slapd.log
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
CONFDIR="$TOP/conf/ldap"
MODDIR=${SEKIMORI_SLAPD_MODDIR:-/usr/lib/ldap}
SCHEMADIR=${SEKIMORI_SLAPD_SCHEMADIR:-/etc/ldap/schema}
SLAPD=${SEKIMORI_SLAPD:-/usr/sbin/slapd}
PATH="$PATH:/usr/sbin:/sbin"

die() { echo "slapd.sh: $*" >&2; exit 1; }

usage() {
	echo "usage: $0 start DIR PORT [--demo] | stop DIR | env DIR" >&2
	exit 2
}

# Absolute path of DIR (which may not exist yet).
abspath() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(pwd)" "$1" ;;
	esac
}

# Percent-encoding of a path for an ldapi:// URL (RFC 3986 / RFC 4516).
urlenc() {
	printf '%s' "$1" | sed -e 's/%/%25/g' -e 's|/|%2F|g' -e 's/ /%20/g' \
	    -e 's/:/%3A/g' -e 's/?/%3F/g' -e 's/#/%23/g' -e 's/,/%2C/g'
	echo
}

# A random password: 32 bytes from the kernel, base64url (43 characters).
randpw() {
	head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

rootdn() {
	echo "gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth"
}

ldapi_url() { echo "ldapi://$(urlenc "$1/ldapi")"; }

base_of() {
	if [ -f "$1/base" ]; then cat "$1/base"; else echo "${SEKIMORI_LDAP_BASE:-dc=sekimori,dc=test}"; fi
}

is_running() {
	[ -f "$1/slapd.pid" ] || return 1
	pid=$(cat "$1/slapd.pid" 2>/dev/null) || return 1
	case "$pid" in ''|*[!0-9]*) return 1 ;; esac
	kill -0 "$pid" 2>/dev/null
}

ext() { # ldap tool via ldapi + SASL EXTERNAL as the instance's root
	tool=$1; shift
	"$tool" -Q -Y EXTERNAL -H "$(ldapi_url "$D")" "$@"
}

fill() { # template -> stdout
	sed -e "s|@DIR@|$D|g" -e "s|@BASE@|$BASE|g" -e "s|@ROOTDN@|$ROOT|g" \
	    -e "s|@BROKER@|$BROKER|g" -e "s|@MODDIR@|$MODDIR|g" \
	    -e "s|@SCHEMADIR@|$SCHEMADIR|g" -e "s|@CONFDIR@|$CONFDIR|g" \
	    -e "s|@DC@|$DC|g" -e "s|@MAX_FAILURE@|$MAXF|g" \
	    -e "s|@MAX_RECORDED@|$MAXR|g" -e "s|@FAILURE_INTERVAL@|$FINT|g" \
	    -e "s|@LOCKOUT_DURATION@|$LDUR|g" "$1"
}

posint() { # name value
	case "$2" in ''|*[!0-9]*) die "$1 must be a non-negative integer" ;; esac
}

create() {
	BASE=$(base_of "$D")
	case "$BASE" in
	dc=*) ;;
	*) die "SEKIMORI_LDAP_BASE must start with dc= (got '$BASE')" ;;
	esac
	case "$BASE" in *'|'*|*'&'*|*'\'*) die "unsupported character in base DN" ;; esac
	DC=${BASE#dc=}; DC=${DC%%,*}
	MAXF=${SEKIMORI_PPOLICY_MAX_FAILURE:-5}
	FINT=${SEKIMORI_PPOLICY_FAILURE_INTERVAL:-900}
	LDUR=${SEKIMORI_PPOLICY_LOCKOUT_DURATION:-900}
	posint SEKIMORI_PPOLICY_MAX_FAILURE "$MAXF"
	posint SEKIMORI_PPOLICY_FAILURE_INTERVAL "$FINT"
	posint SEKIMORI_PPOLICY_LOCKOUT_DURATION "$LDUR"
	[ "$MAXF" -ge 1 ] || die "SEKIMORI_PPOLICY_MAX_FAILURE must be >= 1"
	MAXR=$((MAXF * 2))
	ROOT=$(rootdn)
	BROKER="cn=broker,ou=services,$BASE"

	umask 077
	mkdir -p "$D"
	[ -z "$(ls -A "$D" 2>/dev/null)" ] || die "$D exists but is not an instance (no slapd.d); remove it"
	mkdir "$D/slapd.d" "$D/data" "$D/tls"
	printf '%s\n' "$BASE" > "$D/base"

	# StartTLS on the TCP listener: a throwaway CA and server certificate.
	openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=Sekimori test CA" \
	    -keyout "$D/tls/ca.key" -out "$D/tls/ca.pem" \
	    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	    >/dev/null 2>&1 || die "openssl: cannot create the CA"
	openssl req -newkey rsa:3072 -nodes -subj "/CN=localhost" \
	    -keyout "$D/tls/server.key" -out "$D/tls/server.csr" >/dev/null 2>&1 \
	    || die "openssl: cannot create the server key"
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$D/tls/ext"
	openssl x509 -req -in "$D/tls/server.csr" -CA "$D/tls/ca.pem" -CAkey "$D/tls/ca.key" \
	    -CAcreateserial -days 3650 -extfile "$D/tls/ext" -out "$D/tls/server.pem" \
	    >/dev/null 2>&1 || die "openssl: cannot sign the server certificate"
	rm -f "$D/tls/ca.key" "$D/tls/server.csr" "$D/tls/ext"
	chmod 0644 "$D/tls/ca.pem"

	fill "$CONFDIR/slapd-config.ldif.in" > "$D/config.ldif"
	fill "$CONFDIR/base.ldif.in" > "$D/base.ldif"
	slapadd -n0 -F "$D/slapd.d" -l "$D/config.ldif" >"$D/setup.log" 2>&1 \
	    || { cat "$D/setup.log" >&2; die "slapadd of cn=config failed"; }
	slaptest -Q -u -F "$D/slapd.d" >>"$D/setup.log" 2>&1 \
	    || { cat "$D/setup.log" >&2; die "slaptest: configuration rejected"; }
	slapadd -q -F "$D/slapd.d" -b "$BASE" -l "$D/base.ldif" >>"$D/setup.log" 2>&1 \
	    || { cat "$D/setup.log" >&2; die "slapadd of the base tree failed"; }
	slaptest -Q -F "$D/slapd.d" >>"$D/setup.log" 2>&1 \
	    || { cat "$D/setup.log" >&2; die "slaptest: database check failed"; }
}

# Passwords are set through the running server so that slapd hashes them.
setpw() { # dn file
	ext ldappasswd -T "$2" "$1" >/dev/null || die "cannot set the password of $1"
}

init_secrets() {
	umask 077
	BASE=$(base_of "$D")
	randpw > "$D/broker.pw.new"
	setpw "cn=broker,ou=services,$BASE" "$D/broker.pw.new"
	mv "$D/broker.pw.new" "$D/broker.pw"
	chmod 0600 "$D/broker.pw"
	randpw > "$D/dummy.pw"
	setpw "cn=dummy,ou=services,$BASE" "$D/dummy.pw"
	rm -f "$D/dummy.pw"
	: > "$D/.initialized"
}

demo() {
	BASE=$(base_of "$D")
	if ! ext ldapsearch -LLL -b "uid=demo,ou=people,$BASE" -s base 1.1 >/dev/null 2>&1; then
		ext ldapadd >/dev/null <<EOF || die "cannot create the demo user"
dn: uid=demo,ou=people,$BASE
objectClass: inetOrgPerson
objectClass: skmAccount
objectClass: skmStaff
uid: demo
cn: Demo User
sn: User
givenName: Demo
displayName: Demo User
mail: demo@example.test
skmAccountStatus: active
skmAffiliation: staff

dn: uid=demoadmin,ou=people,$BASE
objectClass: inetOrgPerson
objectClass: skmAccount
objectClass: skmStaff
uid: demoadmin
cn: Demo Administrator
sn: Administrator
givenName: Demo
displayName: Demo Administrator
mail: demoadmin@example.test
skmAccountStatus: active
skmAffiliation: staff

dn: cn=administrators,ou=groups,$BASE
objectClass: groupOfNames
cn: administrators
description: Sekimori administrators (hardware keys required, AAL3)
member: uid=demoadmin,ou=people,$BASE
EOF
	fi
	umask 077
	if [ ! -s "$D/demo.pw" ]; then
		randpw | cut -c1-24 > "$D/demo.pw"
	fi
	chmod 0600 "$D/demo.pw"
	# the password file must not end with a newline for ldappasswd -T
	tr -d '\n' < "$D/demo.pw" > "$D/demo.pw.raw"
	setpw "uid=demo,ou=people,$BASE" "$D/demo.pw.raw"
	rm -f "$D/demo.pw.raw"
	echo "demo user: uid=demo password=$(cat "$D/demo.pw")"
	# the demo administrator: bootstrap its hardware key with
	# brokerctl webauthn bootstrap demoadmin (docs/webauthn.md)
	if [ ! -s "$D/demoadmin.pw" ]; then
		randpw | cut -c1-24 > "$D/demoadmin.pw"
	fi
	chmod 0600 "$D/demoadmin.pw"
	tr -d '\n' < "$D/demoadmin.pw" > "$D/demoadmin.pw.raw"
	setpw "uid=demoadmin,ou=people,$BASE" "$D/demoadmin.pw.raw"
	rm -f "$D/demoadmin.pw.raw"
}

start() {
	[ $# -ge 2 ] || usage
	D=$(abspath "$1"); PORT=$2; shift 2
	DEMO=0
	for a in "$@"; do
		case "$a" in --demo) DEMO=1 ;; *) usage ;; esac
	done
	case "$PORT" in ''|*[!0-9]*) die "bad port '$PORT'" ;; esac
	[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "bad port '$PORT'"
	[ ${#D} -lt 90 ] || die "DIR path too long for a Unix socket: $D"
	command -v slapadd >/dev/null || die "slapadd not found (scripts/deps.sh)"
	[ -x "$SLAPD" ] || die "$SLAPD not found (scripts/deps.sh)"

	if is_running "$D"; then
		die "slapd already running for $D (pid $(cat "$D/slapd.pid"))"
	fi
	if [ ! -d "$D/slapd.d" ]; then
		create
	fi
	rm -f "$D/ldapi" "$D/slapd.pid"
	if [ -n "${SEKIMORI_SLAPD_DEBUG:-}" ]; then
		"$SLAPD" -F "$D/slapd.d" -h "$(ldapi_url "$D") ldap://127.0.0.1:$PORT/" \
		    -d stats >"$D/slapd.log" 2>&1 &
	else
		"$SLAPD" -F "$D/slapd.d" -h "$(ldapi_url "$D") ldap://127.0.0.1:$PORT/" \
		    >"$D/slapd.out" 2>&1 || { cat "$D/slapd.out" >&2; die "slapd failed to start"; }
	fi
	# Wait (bounded) until it answers.
	i=0
	while :; do
		if [ -S "$D/ldapi" ] && ext ldapwhoami >/dev/null 2>&1; then
			break
		fi
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			do_stop "$D" >/dev/null 2>&1 || true
			die "slapd did not answer within 10 s (see $D/slapd.out)"
		fi
		sleep 0.1
	done
	[ -f "$D/.initialized" ] || init_secrets
	[ "$DEMO" -eq 0 ] || demo
	echo "slapd: started (pid $(cat "$D/slapd.pid")) on $(ldapi_url "$D") and ldap://127.0.0.1:$PORT"
}

do_stop() {
	D=$1
	is_running "$D" || { rm -f "$D/slapd.pid"; return 0; }
	pid=$(cat "$D/slapd.pid")
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			echo "slapd.sh: slapd $pid ignored SIGTERM for 10 s; killing" >&2
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
			break
		fi
		sleep 0.1
	done
	rm -f "$D/slapd.pid"
}

envlines() {
	D=$(abspath "$1")
	[ -d "$D/slapd.d" ] || die "$D is not an instance"
	BASE=$(base_of "$D")
	echo "ldap_uri = $(ldapi_url "$D")"
	echo "ldap_base = $BASE"
	echo "ldap_bind_dn = cn=broker,ou=services,$BASE"
	echo "ldap_bind_password_file = $D/broker.pw"
	echo "ldap_ca_file = $D/tls/ca.pem"
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
start) start "$@" ;;
stop) [ $# -eq 1 ] || usage; do_stop "$(abspath "$1")" ;;
env) [ $# -eq 1 ] || usage; envlines "$1" ;;
*) usage ;;
esac
