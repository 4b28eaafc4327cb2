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
# Multi-provider replication (docs/cluster.md), options of "start" that are
# read when DIR is created (an existing DIR keeps its configuration):
#   --cluster CDIR   shared material of the cluster: CDIR/ca.pem + ca.key
#                    (one throwaway CA signs every provider's certificate),
#                    CDIR/replicator.pw, and the broker's (and demo users')
#                    password files copied there by the first provider.
#                    Created on first use.
#   --server-id N    this provider's olcServerID (1..4095)
#   --peer URI       another provider, ldap://127.0.0.1:PORT/ (repeatable);
#                    this instance replicates from it (syncrepl,
#                    refreshAndPersist, StartTLS, cn=replicator)
#   --join           start with an empty database and take everything from
#                    the peers (every provider but the first one)
#
# Environment (read when DIR is created):
#   SEKIMORI_LDAP_BASE              suffix (default dc=sekimori,dc=test)
#   SEKIMORI_PPOLICY_MAX_FAILURE    failed binds before lockout (default 5)
#   SEKIMORI_PPOLICY_FAILURE_INTERVAL  seconds failures are counted (900)
#   SEKIMORI_PPOLICY_LOCKOUT_DURATION  seconds an account stays locked (900)
#   SEKIMORI_SLAPD_DEBUG            non-empty: slapd logs to DIR/slapd.log
#   SEKIMORI_SLAPD_PWMOD            the {ARGON2} module, an absolute path
#                                   (default $BUILD/slapd/skm_argon2.so, made
#                                   by make; BUILD defaults to build)
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
CONFDIR="$TOP/conf/ldap"
MODDIR=${SEKIMORI_SLAPD_MODDIR:-/usr/lib/ldap}
SCHEMADIR=${SEKIMORI_SLAPD_SCHEMADIR:-/etc/ldap/schema}
SLAPD=${SEKIMORI_SLAPD:-/usr/sbin/slapd}
# slapd's {ARGON2} scheme: our module (Argon2id on libsodium, built by make
# into $BUILD/slapd/) rather than Debian's argon2.so (Argon2i on libargon2)
# (its path is written into the new instance's cn=config: an installed
# slapd takes SEKIMORI_SLAPD_PWMOD=$PREFIX/lib/sekimori/skm_argon2.so)
case "${BUILD:-build}" in
/*) PWMOD_DEF="${BUILD}/slapd/skm_argon2.so" ;;
*) PWMOD_DEF="$TOP/${BUILD:-build}/slapd/skm_argon2.so" ;;
esac
PWMOD=${SEKIMORI_SLAPD_PWMOD:-$PWMOD_DEF}
case "$PWMOD" in
/*) ;;
*) echo "slapd.sh: SEKIMORI_SLAPD_PWMOD must be an absolute path" >&2; exit 1 ;;
esac
case "$PWMOD" in *[!A-Za-z0-9/._+-]*)
	echo "slapd.sh: unsupported character in the module path $PWMOD" >&2; exit 1 ;;
esac
PATH="$PATH:/usr/sbin:/sbin"

die() { echo "slapd.sh: $*" >&2; exit 1; }

usage() {
	echo "usage: $0 start DIR PORT [--demo] [--cluster CDIR --server-id N --peer URI... [--join]] | stop DIR | env DIR" >&2
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
	    -e "s|@PWMOD@|$PWMOD|g" \
	    -e "s|@SCHEMADIR@|$SCHEMADIR|g" -e "s|@CONFDIR@|$CONFDIR|g" \
	    -e "s|@DC@|$DC|g" -e "s|@MAX_FAILURE@|$MAXF|g" \
	    -e "s|@MAX_RECORDED@|$MAXR|g" -e "s|@FAILURE_INTERVAL@|$FINT|g" \
	    -e "s|@LOCKOUT_DURATION@|$LDUR|g" \
	    -e "s|@REPLICATOR@|cn=replicator,ou=services,$BASE|g" \
	    -e "s|@SERVER_ID@|${SERVER_ID:-0}|g" "$1"
}

# --- multi-provider replication (docs/cluster.md) ---

# The cluster's shared material, created once: a throwaway CA (signs each
# provider's server certificate; each provider trusts only it) and the
# replicator's password.
cluster_init() {
	umask 077
	mkdir -p "$CDIR"
	if [ ! -s "$CDIR/ca.pem" ]; then
		openssl req -x509 -newkey rsa:3072 -nodes -days 3650 \
		    -subj "/CN=Sekimori cluster test CA" \
		    -keyout "$CDIR/ca.key" -out "$CDIR/ca.pem.new" \
		    -addext basicConstraints=critical,CA:TRUE \
		    -addext keyUsage=critical,keyCertSign,cRLSign \
		    >/dev/null 2>&1 || die "openssl: cannot create the cluster CA"
		chmod 0644 "$CDIR/ca.pem.new"
		mv "$CDIR/ca.pem.new" "$CDIR/ca.pem"
	fi
	if [ ! -s "$CDIR/replicator.pw" ]; then
		randpw > "$CDIR/replicator.pw.new"
		chmod 0600 "$CDIR/replicator.pw.new"
		mv "$CDIR/replicator.pw.new" "$CDIR/replicator.pw"
	fi
}

# cn=config changes for replication, applied offline before the data.
cluster_config() {
	REPLPW=$(cat "$CDIR/replicator.pw")
	: > "$D/syncrepl.lines"
	for peer in $PEERS; do
		PEERSID=${peer%%=*}
		PEERURI=${peer#*=}
		printf '%s\n' "olcSyncrepl: rid=$(printf '%03d' "$PEERSID") provider=$PEERURI bindmethod=simple binddn=\"cn=replicator,ou=services,$BASE\" credentials=$REPLPW searchbase=\"$BASE\" scope=sub type=refreshAndPersist retry=\"1 30 5 +\" timeout=3 network-timeout=3 keepalive=30:3:5 starttls=critical tls_cacert=$D/tls/ca.pem tls_reqcert=demand tls_protocol_min=3.3" >> "$D/syncrepl.lines"
	done
	fill "$CONFDIR/replication.ldif.in" | awk -v f="$D/syncrepl.lines" '
	    $0 == "@SYNCREPL@" { while ((getline l < f) > 0) print l; next }
	    { print }' > "$D/replication.ldif"
	rm -f "$D/syncrepl.lines"
	slapmodify -n0 -F "$D/slapd.d" -l "$D/replication.ldif" >>"$D/setup.log" 2>&1 \
	    || { cat "$D/setup.log" >&2; die "slapmodify of the replication configuration failed"; }
	printf '%s\n' "$CDIR" > "$D/cluster"
	[ "$JOIN" -eq 0 ] || : > "$D/join"
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
	[ -f "$PWMOD" ] || die "$PWMOD not found: build it first (make BUILD=${BUILD:-build})"
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

	# StartTLS on the TCP listener: a throwaway CA and server certificate
	# (in a cluster, the cluster's CA signs every provider's certificate).
	if [ -n "$CDIR" ]; then
		cluster_init
		cp "$CDIR/ca.pem" "$D/tls/ca.pem"
		cp "$CDIR/ca.key" "$D/tls/ca.key"
	else
	openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=Sekimori test CA" \
	    -keyout "$D/tls/ca.key" -out "$D/tls/ca.pem" \
	    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	    >/dev/null 2>&1 || die "openssl: cannot create the CA"
	fi
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
	[ -z "$CDIR" ] || cluster_config
	slaptest -Q -u -F "$D/slapd.d" >>"$D/setup.log" 2>&1 \
	    || { cat "$D/setup.log" >&2; die "slaptest: configuration rejected"; }
	if [ -n "$CDIR" ] && [ "$JOIN" -eq 0 ]; then
		echo >> "$D/base.ldif"
		fill "$CONFDIR/replicator.ldif.in" >> "$D/base.ldif"
	fi
	if [ "$JOIN" -eq 0 ]; then
	slapadd -q -F "$D/slapd.d" -b "$BASE" -l "$D/base.ldif" >>"$D/setup.log" 2>&1 \
	    || { cat "$D/setup.log" >&2; die "slapadd of the base tree failed"; }
	slaptest -Q -F "$D/slapd.d" >>"$D/setup.log" 2>&1 \
	    || { cat "$D/setup.log" >&2; die "slaptest: database check failed"; }
	fi
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
	if [ -f "$D/cluster" ]; then
		CD=$(cat "$D/cluster")
		tr -d '\n' < "$CD/replicator.pw" > "$D/replicator.pw.raw"
		setpw "cn=replicator,ou=services,$BASE" "$D/replicator.pw.raw"
		rm -f "$D/replicator.pw.raw"
		cp "$D/broker.pw" "$CD/broker.pw.new" && mv "$CD/broker.pw.new" "$CD/broker.pw"
	fi
	: > "$D/.initialized"
}

# A joining provider: its data (and the broker's password) come from the
# peers; wait (bounded) until the broker's entry has arrived.
join_secrets() {
	umask 077
	BASE=$(base_of "$D")
	CD=$(cat "$D/cluster")
	[ -s "$CD/broker.pw" ] || die "$CD/broker.pw missing: start the first provider first"
	cp "$CD/broker.pw" "$D/broker.pw"
	chmod 0600 "$D/broker.pw"
	for f in demo.pw demoadmin.pw; do
		[ ! -s "$CD/$f" ] || { cp "$CD/$f" "$D/$f"; chmod 0600 "$D/$f"; }
	done
	i=0
	until ext ldapsearch -LLL -b "cn=replicator,ou=services,$BASE" -s base 1.1 >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || die "no data replicated from the peers within 30 s (see $D/slapd.out)"
		sleep 0.1
	done
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
	if [ -f "$D/cluster" ]; then
		CD=$(cat "$D/cluster")
		cp "$D/demo.pw" "$D/demoadmin.pw" "$CD/"
	fi
}

start() {
	[ $# -ge 2 ] || usage
	D=$(abspath "$1"); PORT=$2; shift 2
	DEMO=0
	CDIR=""; SERVER_ID=""; PEERS=""; JOIN=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--demo) DEMO=1 ;;
		--join) JOIN=1 ;;
		--cluster) [ $# -ge 2 ] || usage; CDIR=$(abspath "$2"); shift ;;
		--server-id) [ $# -ge 2 ] || usage; SERVER_ID=$2; shift ;;
		--peer) [ $# -ge 2 ] || usage; PEERS="$PEERS $2"; shift ;;
		*) usage ;;
		esac
		shift
	done
	if [ -n "$CDIR$SERVER_ID$PEERS" ] || [ "$JOIN" -eq 1 ]; then
		[ -n "$CDIR" ] && [ -n "$SERVER_ID" ] && [ -n "$PEERS" ] \
		    || die "--cluster, --server-id and --peer go together"
		posint --server-id "$SERVER_ID"
		[ "$SERVER_ID" -ge 1 ] && [ "$SERVER_ID" -le 4095 ] || die "--server-id: 1..4095"
		# each peer as SID=URI; a bare URI gets the next free id
		np=""; n=0
		for peer in $PEERS; do
			case "$peer" in
			ldap://127.0.0.1:*|ldap://localhost:*) ;;
			[0-9]*=ldap://*) ;;
			*) die "--peer: expected ldap://127.0.0.1:PORT/ (or SID=URI)" ;;
			esac
			case "$peer" in
			*=*) np="$np $peer" ;;
			*) n=$((n + 1)); [ $n -ne "$SERVER_ID" ] || n=$((n + 1)); np="$np $n=$peer" ;;
			esac
		done
		PEERS=$np
	fi
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
	# Each {ARGON2} bind allocates the hash's memory (m = 19 MiB).  By
	# default glibc maps and unmaps it (or trims the heap) on every bind,
	# and the page faults and zeroing cost slapd more than half a hash
	# again per login (bench/notes.md).  Keep it in at most 4 arenas.
	GLIBC_TUNABLES="glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456:glibc.malloc.arena_max=4${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"
	export GLIBC_TUNABLES
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
	if [ ! -f "$D/.initialized" ]; then
		if [ -f "$D/join" ]; then join_secrets; else init_secrets; fi
	fi
	if [ "$DEMO" -eq 1 ] && [ ! -f "$D/join" ]; then demo; fi
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
