#!/bin/sh
# Create a development CA and a server certificate for 127.0.0.1/localhost
# (ECDSA P-256, SHA-256: the IPA TLS guideline's certificate profile).
#   scripts/tls.sh DIR      -> DIR/ca.pem (trust this), DIR/server.pem,
#                              DIR/server.key (0600), DIR/ca.key (0600)
# Idempotent: an existing CA is kept; the server certificate is re-issued
# only when missing or expiring within 30 days.
set -eu
dir=${1:?usage: tls.sh DIR}
mkdir -p "$dir"
chmod 0700 "$dir"
cd "$dir"
umask 077

if [ ! -f ca.key ] || [ ! -f ca.pem ]; then
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out ca.key 2>/dev/null
	openssl req -x509 -new -key ca.key -sha256 -days 3650 \
		-subj "/O=Sekimori development/CN=Sekimori dev CA" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out ca.pem
	rm -f server.pem
fi

if [ ! -f server.pem ] || ! openssl x509 -checkend 2592000 -noout \
	-in server.pem >/dev/null 2>&1; then
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out server.key 2>/dev/null
	openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
	cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		-CAcreateserial -sha256 -days 397 -extfile server.ext \
		-out server.pem 2>/dev/null
	rm -f server.csr server.ext
fi
chmod 0600 ca.key server.key
chmod 0644 ca.pem server.pem
