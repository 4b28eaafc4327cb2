/*
 * tests/helpers/wa_cli.c — a command-line WebAuthn client over the
 * software authenticator (tests/support/wa_softauth), for the integration
 * tests: it reads the options JSON the broker's endpoints return and
 * prints the JSON the page script (/static/webauthn.js) would POST.
 *
 *   wa_cli pki DIR
 *       a test attestation PKI: DIR/root.pem (CA), DIR/att.pem, DIR/att.key,
 *       DIR/root.key, and DIR/roots/root.pem for webauthn_roots_dir; the
 *       attestation certificate carries the soft authenticator's AAGUID
 *   wa_cli create STORE ORIGIN [--att none|self|full] [--pki DIR] [--no-uv]
 *       [--be] [--alg N]            creation options on stdin
 *   wa_cli get STORE ORIGIN [--no-uv] [--counter N] [--cred ID]
 *       [--omit-user-handle] [--be]  request options on stdin
 *   wa_cli mds-pki DIR               MDS root and signer (DIR/mds-root.pem)
 *   wa_cli mds DIR NO STATUS [PKI]   a signed MDS3 BLOB (serial NO) with
 *                                    one entry for the soft AAGUID whose
 *                                    status report is STATUS
 *   wa_cli aaguid                    the soft authenticator's AAGUID
 *
 * STORE is a JSON file of the credentials made so far (private keys in
 * PEM: test material only).  `get` uses the credential named by --cred,
 * else the first one in allowCredentials, else the last one made for the
 * RP ID (usernameless), and stores the new counter.  Exit 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/cm.h"
#include "fido/fido.h"
#include "tests/support/wa_softauth.h"

static void
die(const char *msg)
{
	fprintf(stderr, "wa_cli: %s\n", msg);
	exit(1);
}

static char *
b64u(const uint8_t *p, size_t n)
{
	char *s = NULL;

	if (cm_b64url_encode(p, n, &s) != 0)
		die("base64url");
	return s;
}

static uint8_t *
unb64u(const char *s, size_t *n)
{
	uint8_t *p = NULL;

	if (s == NULL || cm_b64url_decode(s, strlen(s), &p, n) != 0)
		die("bad base64url in the options");
	return p;
}

static json_t *
read_stdin_json(void)
{
	json_error_t e;
	json_t *o = json_loadf(stdin, JSON_REJECT_DUPLICATES, &e);

	if (o == NULL)
		die("options JSON on stdin");
	if (json_object_get(o, "publicKey") != NULL) {
		json_t *pk = json_incref(json_object_get(o, "publicKey"));

		json_decref(o);
		o = pk;
	}
	return o;
}

static void
write_pem_key(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
	    NULL) != 1)
		die(path);
	fclose(f);
}

static void
write_pem_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || PEM_write_X509(f, x) != 1)
		die(path);
	fclose(f);
}

static EVP_PKEY *
read_pem_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		die(path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die(path);
	return k;
}

static X509 *
read_pem_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		die(path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die(path);
	return x;
}

static const uint8_t *
soft_aaguid(void)
{
	static uint8_t a[16];
	struct wa_sa *sa = wa_sa_new(WA_SA_ES256);

	if (sa == NULL)
		die("softauth");
	memcpy(a, sa->aaguid, 16);
	wa_sa_free(&sa);
	return a;
}

static void
path_join(char *out, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		die("path too long");
}

static int
cmd_pki(const char *dir)
{
	struct wa_sa_pki_opts o;
	struct wa_sa_pki *p;
	char path[1024];

	memset(&o, 0, sizeof(o));
	o.aaguid_ext = soft_aaguid();
	if ((p = wa_sa_pki_new(&o)) == NULL)
		die("pki");
	mkdir(dir, 0700);
	path_join(path, sizeof(path), dir, "root.pem");
	write_pem_cert(path, p->root);
	path_join(path, sizeof(path), dir, "root.key");
	write_pem_key(path, p->root_key);
	path_join(path, sizeof(path), dir, "att.pem");
	write_pem_cert(path, p->att);
	path_join(path, sizeof(path), dir, "att.key");
	write_pem_key(path, p->att_key);
	path_join(path, sizeof(path), dir, "roots");
	mkdir(path, 0700);
	path_join(path, sizeof(path), dir, "roots/root.pem");
	write_pem_cert(path, p->root);
	wa_sa_pki_free(&p);
	return 0;
}

static struct wa_sa_pki *
load_pki(const char *dir)
{
	struct wa_sa_pki *p = calloc(1, sizeof(*p));
	char path[1024];

	if (p == NULL)
		die("nomem");
	path_join(path, sizeof(path), dir, "root.pem");
	p->root = read_pem_cert(path);
	path_join(path, sizeof(path), dir, "root.key");
	p->root_key = read_pem_key(path);
	path_join(path, sizeof(path), dir, "att.pem");
	p->att = read_pem_cert(path);
	path_join(path, sizeof(path), dir, "att.key");
	p->att_key = read_pem_key(path);
	return p;
}

static json_t *
store_load(const char *path)
{
	json_error_t e;
	json_t *a = json_load_file(path, 0, &e);

	if (a == NULL)
		a = json_array();
	if (!json_is_array(a))
		die("store is not a JSON array");
	return a;
}

static void
store_save(const char *path, json_t *a)
{
	if (json_dump_file(a, path, JSON_INDENT(1)) != 0)
		die(path);
}

static char *
key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;

	if (b == NULL || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL) != 1)
		die("pem");
	n = BIO_get_mem_data(b, &p);
	if ((s = strndup(p, (size_t)n)) == NULL)
		die("nomem");
	BIO_free(b);
	return s;
}

static EVP_PKEY *
key_from_pem(const char *s)
{
	BIO *b = BIO_new_mem_buf(s, -1);
	EVP_PKEY *k;

	if (b == NULL || (k = PEM_read_bio_PrivateKey(b, NULL, NULL,
	    NULL)) == NULL)
		die("stored key");
	BIO_free(b);
	return k;
}

static const char *
opt(int argc, char **argv, const char *name)
{
	int i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return i + 1 < argc ? argv[i + 1] : "";
	return NULL;
}

static int
cmd_create(const char *store, const char *origin, int argc, char **argv)
{
	json_t *o = read_stdin_json(), *a = store_load(store), *out, *e;
	const char *att = opt(argc, argv, "--att"), *pki = opt(argc, argv,
	    "--pki"), *alg = opt(argc, argv, "--alg");
	struct wa_sa *sa;
	struct wa_sa_out so;
	uint8_t *ch, *user;
	size_t chlen, ulen;
	char *pem;

	sa = wa_sa_new(alg != NULL ? (int)strtol(alg, NULL, 10) :
	    WA_SA_ES256);
	if (sa == NULL)
		die("softauth");
	snprintf(sa->rp_id, sizeof(sa->rp_id), "%s", json_string_value(
	    json_object_get(json_object_get(o, "rp"), "id")));
	snprintf(sa->origin, sizeof(sa->origin), "%s", origin);
	sa->flags = WA_SA_UP | (opt(argc, argv, "--no-uv") ? 0 : WA_SA_UV) |
	    (opt(argc, argv, "--be") ? WA_SA_BE : 0);
	sa->counter = 0;
	sa->att = att == NULL || strcmp(att, "none") == 0 ? WA_SA_ATT_NONE :
	    strcmp(att, "self") == 0 ? WA_SA_ATT_SELF : WA_SA_ATT_FULL;
	if (sa->att == WA_SA_ATT_FULL) {
		if (pki == NULL)
			die("--att full needs --pki DIR");
		sa->pki = load_pki(pki);
	}
	ch = unb64u(json_string_value(json_object_get(o, "challenge")), &chlen);
	user = unb64u(json_string_value(json_object_get(json_object_get(o,
	    "user"), "id")), &ulen);
	if (wa_sa_make_credential(sa, ch, chlen, user, ulen, &so) != 0)
		die("makeCredential");
	pem = key_pem(sa->key);
	e = json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:i}", "id",
	    b64u(sa->cred_id, sa->cred_id_len), "key", pem, "alg", sa->alg,
	    "counter", (json_int_t)sa->counter, "user", b64u(user, ulen),
	    "rp", sa->rp_id, "flags", sa->flags);
	json_array_append_new(a, e);
	store_save(store, a);
	out = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:[s]}}",
	    "id", b64u(sa->cred_id, sa->cred_id_len),
	    "rawId", b64u(sa->cred_id, sa->cred_id_len), "type", "public-key",
	    "response", "clientDataJSON", b64u(so.clientdata,
	    so.clientdata_len), "attestationObject", b64u(so.attobj,
	    so.attobj_len), "transports", "usb");
	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	/* a short-lived test helper: the small leaks above do not matter */
	free(pem);
	free(ch);
	free(user);
	wa_sa_out_clear(&so);
	if (sa->pki != NULL)
		wa_sa_pki_free(&sa->pki);
	wa_sa_free(&sa);
	json_decref(out);
	json_decref(a);
	json_decref(o);
	return 0;
}

static json_t *
pick(json_t *a, json_t *o, const char *want)
{
	json_t *allow = json_object_get(o, "allowCredentials"), *e, *c, *last
	    = NULL;
	const char *rp = json_string_value(json_object_get(o, "rpId"));
	size_t i, k;

	json_array_foreach(a, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));

		if (want != NULL) {
			if (strcmp(id, want) == 0)
				return e;
			continue;
		}
		if (json_array_size(allow) > 0) {
			json_array_foreach(allow, k, c)
				if (strcmp(json_string_value(json_object_get(c,
				    "id")), id) == 0)
					return e;
			continue;
		}
		if (rp != NULL && strcmp(rp, json_string_value(json_object_get(
		    e, "rp"))) == 0)
			last = e;
	}
	return last;
}

static int
cmd_get(const char *store, const char *origin, int argc, char **argv)
{
	json_t *o = read_stdin_json(), *a = store_load(store), *e, *out;
	const char *counter = opt(argc, argv, "--counter");
	struct wa_sa *sa;
	struct wa_sa_out so;
	uint8_t *ch, *id, *user;
	size_t chlen, idlen, ulen;

	if ((e = pick(a, o, opt(argc, argv, "--cred"))) == NULL)
		die("no stored credential fits the options");
	sa = wa_sa_new((int)json_integer_value(json_object_get(e, "alg")));
	if (sa == NULL)
		die("softauth");
	EVP_PKEY_free(sa->key);
	sa->key = key_from_pem(json_string_value(json_object_get(e, "key")));
	id = unb64u(json_string_value(json_object_get(e, "id")), &idlen);
	user = unb64u(json_string_value(json_object_get(e, "user")), &ulen);
	if (idlen > sizeof(sa->cred_id) || ulen > sizeof(sa->user))
		die("stored credential too large");
	memcpy(sa->cred_id, id, idlen);
	sa->cred_id_len = idlen;
	memcpy(sa->user, user, ulen);
	sa->user_len = ulen;
	snprintf(sa->rp_id, sizeof(sa->rp_id), "%s", json_string_value(
	    json_object_get(o, "rpId")));
	snprintf(sa->origin, sizeof(sa->origin), "%s", origin);
	sa->flags = WA_SA_UP | (opt(argc, argv, "--no-uv") ? 0 : WA_SA_UV) |
	    (opt(argc, argv, "--be") ? WA_SA_BE : 0);
	sa->omit_user_handle = opt(argc, argv, "--omit-user-handle") != NULL;
	sa->counter = (uint32_t)json_integer_value(json_object_get(e,
	    "counter"));
	sa->counter_step = 1;
	if (counter != NULL)
		sa->counter = (uint32_t)strtoul(counter, NULL, 10) - 1;
	ch = unb64u(json_string_value(json_object_get(o, "challenge")), &chlen);
	if (wa_sa_get_assertion(sa, ch, chlen, &so) != 0)
		die("getAssertion");
	json_object_set_new(e, "counter", json_integer(sa->counter));
	store_save(store, a);
	out = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}",
	    "id", b64u(id, idlen), "rawId", b64u(id, idlen), "type",
	    "public-key", "response", "clientDataJSON", b64u(so.clientdata,
	    so.clientdata_len), "authenticatorData", b64u(so.authdata,
	    so.authdata_len), "signature", b64u(so.sig, so.sig_len));
	if (so.user_handle != NULL)
		json_object_set_new(json_object_get(out, "response"),
		    "userHandle", json_string(b64u(so.user_handle,
		    so.user_handle_len)));
	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	free(ch);
	free(id);
	free(user);
	wa_sa_out_clear(&so);
	wa_sa_free(&sa);
	json_decref(out);
	json_decref(a);
	json_decref(o);
	return 0;
}

/* ---- MDS3 BLOBs (as in tests/unit/test_wa_mds.c) ---- */

static char *
b64std(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	if (s == NULL || EVP_EncodeBlock((unsigned char *)s, p, (int)n) < 0)
		die("base64");
	return s;
}

static char *
cert_b64(X509 *x)
{
	size_t n = 0;
	uint8_t *der = wa_sa_cert_der(x, &n);
	char *s;

	if (der == NULL)
		die("der");
	s = b64std(der, n);
	free(der);
	return s;
}

static int
cmd_mds_pki(const char *dir)
{
	struct wa_sa_certspec rs = { "US", "Test MDS", NULL, "Test MDS Root",
	    1, NULL, 0, 0 };
	struct wa_sa_certspec ss = { "US", "Test MDS", NULL,
	    "Test MDS Signer", 0, NULL, 0, 0 };
	EVP_PKEY *rk = wa_sa_key_new(WA_SA_ES256), *sk = wa_sa_key_new(
	    WA_SA_ES256);
	X509 *root, *sign;
	char path[1024];

	if (rk == NULL || sk == NULL ||
	    (root = wa_sa_cert_new(rk, &rs, NULL, NULL)) == NULL ||
	    (sign = wa_sa_cert_new(sk, &ss, root, rk)) == NULL)
		die("mds pki");
	mkdir(dir, 0700);
	path_join(path, sizeof(path), dir, "mds-root.pem");
	write_pem_cert(path, root);
	path_join(path, sizeof(path), dir, "mds-sign.pem");
	write_pem_cert(path, sign);
	path_join(path, sizeof(path), dir, "mds-sign.key");
	write_pem_key(path, sk);
	X509_free(root);
	X509_free(sign);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(sk);
	return 0;
}

static int
cmd_mds(const char *dir, long no, const char *status, const char *pkidir)
{
	char path[1024], aag[37], next[11], *x5c, *root = NULL, *h, *p, *hb,
	    *pb, *sb, *in;
	X509 *sign;
	EVP_PKEY *sk;
	json_t *o, *entry;
	uint8_t *sig = NULL, raw[64];
	size_t siglen = 0, n;
	time_t t = time(NULL) + 30 * 86400;
	struct tm tm;
	const unsigned char *q;
	ECDSA_SIG *es;
	const BIGNUM *br, *bs;

	path_join(path, sizeof(path), dir, "mds-sign.pem");
	sign = read_pem_cert(path);
	path_join(path, sizeof(path), dir, "mds-sign.key");
	sk = read_pem_key(path);
	gmtime_r(&t, &tm);
	strftime(next, sizeof(next), "%Y-%m-%d", &tm);
	wa_aaguid_format(soft_aaguid(), aag);
	if (pkidir != NULL) {
		path_join(path, sizeof(path), pkidir, "root.pem");
		X509 *ar = read_pem_cert(path);

		root = cert_b64(ar);
		X509_free(ar);
	}
	entry = json_pack("{s:s, s:{s:s, s:[]}, s:[{s:s, s:s}], s:s}",
	    "aaguid", aag, "metadataStatement", "description",
	    "Sekimori soft authenticator", "attestationRootCertificates",
	    "statusReports", "status", status, "effectiveDate", "2024-01-01",
	    "timeOfLastStatusChange", "2024-01-01");
	if (entry == NULL)
		die("json");
	if (root != NULL)
		json_array_append_new(json_object_get(json_object_get(entry,
		    "metadataStatement"), "attestationRootCertificates"),
		    json_string(root));
	o = json_pack("{s:s, s:I, s:s, s:[o]}", "legalHeader", "test", "no",
	    (json_int_t)no, "nextUpdate", next, "entries", entry);
	p = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	x5c = cert_b64(sign);
	o = json_pack("{s:s, s:s, s:[s]}", "alg", "ES256", "typ", "JWT",
	    "x5c", x5c);
	h = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	hb = b64u((uint8_t *)h, strlen(h));
	pb = b64u((uint8_t *)p, strlen(p));
	n = strlen(hb) + strlen(pb) + 2;
	if ((in = malloc(n)) == NULL)
		die("nomem");
	snprintf(in, n, "%s.%s", hb, pb);
	if (wa_sa_sign(sk, (uint8_t *)in, strlen(in), &sig, &siglen) != 0)
		die("sign");
	q = sig;
	if ((es = d2i_ECDSA_SIG(NULL, &q, (long)siglen)) == NULL)
		die("sig");
	ECDSA_SIG_get0(es, &br, &bs);
	if (BN_bn2binpad(br, raw, 32) != 32 || BN_bn2binpad(bs, raw + 32,
	    32) != 32)
		die("sig");
	ECDSA_SIG_free(es);
	sb = b64u(raw, 64);
	printf("%s.%s\n", in, sb);
	free(in);
	free(sb);
	free(hb);
	free(pb);
	free(h);
	free(p);
	free(x5c);
	free(root);
	free(sig);
	X509_free(sign);
	EVP_PKEY_free(sk);
	return 0;
}

int
main(int argc, char **argv)
{
	char aag[37];

	if (cm_init() != 0)
		die("init");
	if (argc >= 3 && strcmp(argv[1], "pki") == 0)
		return cmd_pki(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "create") == 0)
		return cmd_create(argv[2], argv[3], argc - 4, argv + 4);
	if (argc >= 4 && strcmp(argv[1], "get") == 0)
		return cmd_get(argv[2], argv[3], argc - 4, argv + 4);
	if (argc >= 3 && strcmp(argv[1], "mds-pki") == 0)
		return cmd_mds_pki(argv[2]);
	if (argc >= 5 && strcmp(argv[1], "mds") == 0)
		return cmd_mds(argv[2], strtol(argv[3], NULL, 10), argv[4],
		    argc >= 6 ? argv[5] : NULL);
	if (argc == 2 && strcmp(argv[1], "aaguid") == 0) {
		wa_aaguid_format(soft_aaguid(), aag);
		printf("%s\n", aag);
		return 0;
	}
	fprintf(stderr, "usage: wa_cli pki DIR | create STORE ORIGIN [...] | "
	    "get STORE ORIGIN [...] | mds-pki DIR | mds DIR NO STATUS [PKI] | "
	    "aaguid\n");
	return 2;
}
