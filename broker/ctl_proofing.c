/*
 * broker/ctl_proofing.c — brokerctl proofing: the operator's path to
 * identity proofing records (docs/proofing.md).
 *
 *   proofing add UID --ial 1|2|3 --method M [--name N] [--birthdate D]
 *            [--address A] [--evidence-type T --issuer I --country CC
 *            --valid-until D [--issued D]] [--expires D]
 *            [--no-recovery-code]
 *        The document number is read from stdin (one line), never from
 *        argv.  The officer recorded is "brokerctl:<unix user>", an
 *        identity that is never a subject.  Prints the record id and a
 *        one-time recovery code (shown once; the directory keeps its
 *        Argon2id hash) for the person to complete credential recovery.
 *   proofing add DEVICE --device --presented SERIAL
 *        records an inventory comparison made by the operator (valid
 *        when SERIAL equals the inventory serial, failed otherwise)
 *   proofing show SUBJECT [--device]     the current level and record
 *   proofing list SUBJECT [--device]     the history, newest first
 *   proofing revoke SUBJECT ID --reason R [--device]
 *
 * Exit status: 0 done, 1 usage error or refused, 2 directory unavailable.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <openssl/crypto.h>

#include "broker.h"
#include "idp/idp.h"
#include "idp/assurance.h"
#include "proofing/proofing.h"

struct popt {
	const char	*name;
	int		 flag;
	const char	*val;
};

enum { O_IAL, O_METHOD, O_NAME, O_BIRTH, O_ADDR, O_ETYPE, O_ISSUER,
	O_COUNTRY, O_VALID, O_ISSUED, O_EXPIRES, O_NOCODE, O_DEVICE,
	O_PRESENTED, O_REASON, O_MAX };

static int
parse(int argc, char **argv, const char **pos, size_t npos, size_t *got,
    struct popt *o)
{
	size_t k = 0, j;
	int i;

	*got = 0;
	for (i = 2; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			if (k >= npos) {
				brk_ctl_errx("proofing %s: unexpected argument "
				    "'%s'", argv[1], argv[i]);
				return -1;
			}
			pos[k++] = argv[i];
			continue;
		}
		for (j = 0; j < O_MAX; j++)
			if (strcmp(o[j].name, argv[i]) == 0)
				break;
		if (j == O_MAX || o[j].val != NULL) {
			brk_ctl_errx("proofing %s: unknown or repeated option "
			    "'%s'", argv[1], argv[i]);
			return -1;
		}
		if (o[j].flag) {
			o[j].val = "";
			continue;
		}
		if (i + 1 >= argc) {
			brk_ctl_errx("proofing %s: %s needs a value", argv[1],
			    argv[i]);
			return -1;
		}
		o[j].val = argv[++i];
	}
	*got = k;
	return 0;
}

static int
fail(int r, const char *what, const char *why)
{
	if (r == CM_ERR_UNAVAIL || r == CM_ERR_TIMEOUT) {
		brk_ctl_errx("%s: the directory is unavailable", what);
		return 2;
	}
	if (why != NULL && why[0] != '\0')
		brk_ctl_errx("%s: refused: %s", what, why);
	else if (r == CM_ERR_NOTFOUND)
		brk_ctl_errx("%s: not found", what);
	else if (r == CM_ERR_CONFLICT)
		brk_ctl_errx("%s: refused: the record is not valid", what);
	else
		brk_ctl_errx("%s: %s", what, dir_strerror(r));
	return 1;
}

static int
set(char *dst, size_t sz, const char *v, const char *what)
{
	if (v != NULL && strlcpy(dst, v, sz) >= sz) {
		brk_ctl_errx("proofing add: %s too long", what);
		return -1;
	}
	return 0;
}

/* One line from stdin (the document number); wiped by the caller. */
static int
read_line(char *buf, size_t sz, size_t *len)
{
	size_t n = 0;
	ssize_t got;

	*len = 0;
	while (n < sz - 1) {
		got = read(STDIN_FILENO, buf + n, 1);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return n > 0 ? 0 : -1;
}

static json_t *
record_json(const struct prf_entry *e)
{
	const struct prf_record *r = &e->rec;
	json_t *o, *ev = json_array();
	size_t i;

	for (i = 0; ev != NULL && i < r->nev; i++)
		json_array_append_new(ev, json_pack("{s:s, s:s, s:s, s:s, s:s,"
		    " s:s}", "type", r->ev[i].type, "issuer", r->ev[i].issuer,
		    "country", r->ev[i].country, "number_last4",
		    r->ev[i].number_last4, "issued", r->ev[i].issued,
		    "valid_until", r->ev[i].expiry));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o}",
	    "id", r->id, "kind", prf_kind_name(r->kind), "subject",
	    r->subject, "ial", prf_ial_name(r->ial), "method",
	    prf_method_name(r->method), "status", prf_status_name(r->status),
	    "officer", r->officer, "time", (json_int_t)r->time, "expires",
	    (json_int_t)r->expires, "evidence", ev);
	if (o == NULL)
		return NULL;
	if (r->reason[0] != '\0')
		json_object_set_new(o, "reason", json_string(r->reason));
	if (r->kind == PRF_KIND_PERSON)
		json_object_set_new(o, "verified", json_pack("{s:b, s:b, s:b}",
		    "name", r->name[0] != '\0', "birthdate",
		    r->birthdate[0] != '\0', "address", r->address[0] != '\0'));
	else
		json_object_set_new(o, "device", json_pack("{s:s, s:s}",
		    "serial", r->serial, "presented", r->presented));
	return o;
}

static void
print_record(const struct prf_entry *e)
{
	const struct prf_record *r = &e->rec;

	printf("%s %s %s %s %s officer=%s%s%s\n", r->id,
	    prf_status_name(r->status), prf_ial_name(r->ial),
	    prf_method_name(r->method), r->subject, r->officer,
	    r->reason[0] ? " reason=" : "", r->reason);
}

static int
officer_name(char *out, size_t sz)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw == NULL || pw->pw_name == NULL)
		return -1;
	return snprintf(out, sz, "brokerctl:%s", pw->pw_name) >= (int)sz ?
	    -1 : 0;
}

static int
cmd_add(struct brk_ctl *ctl, struct dir_pool *p, const char *subject,
    struct popt *o)
{
	const struct idp_config *ic = ctl->idp_cfg;
	struct prf_record *r = NULL;
	struct idp_recovery_code code;
	struct dir_device *dev = NULL;
	prf_key *key = NULL;
	char num[4 * PRF_DOCNUM_MAX + 2], why[256] = "";
	size_t numlen = 0;
	int64_t now = cm_time(), ex, code_exp = 0;
	int rc = 1, have_code = 0, e;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return 1;
	memset(&code, 0, sizeof(code));
	r->time = now;
	r->status = PRF_ST_VALID;
	r->expires = now + (int64_t)ic->prf_validity * 86400;
	if (officer_name(r->officer, sizeof(r->officer)) != 0 ||
	    set(r->subject, sizeof(r->subject), subject, "subject") != 0)
		goto out;
	if (o[O_DEVICE].val != NULL) {
		r->kind = PRF_KIND_DEVICE;
		r->ial = PRF_IAL1;
		r->method = PRF_M_DEVICE_INVENTORY;
		if (o[O_PRESENTED].val == NULL) {
			brk_ctl_errx("proofing add: --presented SERIAL needed");
			goto out;
		}
		if ((e = dir_device_find(p, subject, &dev)) != 0) {
			rc = fail(e, "proofing add", NULL);
			goto out;
		}
		if (set(r->serial, sizeof(r->serial), dev->serial,
		    "serial") != 0 || set(r->ip, sizeof(r->ip), dev->ip,
		    "ip") != 0 || set(r->presented, sizeof(r->presented),
		    o[O_PRESENTED].val, "--presented") != 0)
			goto out;
		if (strcmp(dev->serial, o[O_PRESENTED].val) != 0) {
			r->status = PRF_ST_FAILED;
			strlcpy(r->reason, "serial number does not match the "
			    "inventory", sizeof(r->reason));
		}
	} else {
		r->kind = PRF_KIND_PERSON;
		if (o[O_IAL].val == NULL || prf_ial_parse(o[O_IAL].val,
		    &r->ial) != 0 || o[O_METHOD].val == NULL ||
		    prf_method_parse(o[O_METHOD].val, &r->method) != 0) {
			brk_ctl_errx("proofing add: --ial 1|2|3 and --method "
			    "in_person|supervised_remote|remote_signature|"
			    "remote_document are required");
			goto out;
		}
		if (set(r->name, sizeof(r->name), o[O_NAME].val, "--name") ||
		    set(r->birthdate, sizeof(r->birthdate), o[O_BIRTH].val,
		    "--birthdate") || set(r->address, sizeof(r->address),
		    o[O_ADDR].val, "--address"))
			goto out;
	}
	if (o[O_ETYPE].val != NULL) {
		struct prf_evidence *ev = &r->ev[0];

		if ((e = prf_key_load(ic->prf_key_file, &key)) != 0) {
			brk_ctl_errx("proofing add: proofing_key_file: %s",
			    cm_strerror(e));
			goto out;
		}
		if (set(ev->type, sizeof(ev->type), o[O_ETYPE].val,
		    "--evidence-type") || set(ev->issuer, sizeof(ev->issuer),
		    o[O_ISSUER].val, "--issuer") || set(ev->country,
		    sizeof(ev->country), o[O_COUNTRY].val, "--country") ||
		    set(ev->expiry, sizeof(ev->expiry), o[O_VALID].val,
		    "--valid-until") || set(ev->issued, sizeof(ev->issued),
		    o[O_ISSUED].val, "--issued"))
			goto out;
		if (isatty(STDIN_FILENO))
			fprintf(stderr, "document number: ");
		if (read_line(num, sizeof(num), &numlen) != 0 ||
		    prf_doc_hash(key, ev->type, num, numlen, ev->number_hash,
		    ev->number_last4) != 0) {
			brk_ctl_errx("proofing add: a document number (4-%d "
			    "letters and digits) on stdin, and a valid "
			    "--evidence-type", PRF_DOCNUM_MAX);
			goto out;
		}
		r->nev = 1;
	}
	if (o[O_EXPIRES].val != NULL) {
		if (prf_date_epoch(o[O_EXPIRES].val, &ex) != 0 || ex <= now) {
			brk_ctl_errx("proofing add: --expires: a future date "
			    "YYYY-MM-DD");
			goto out;
		}
		r->expires = ex;
	}
	/* a person gets a one-time code to complete credential recovery */
	if (r->kind == PRF_KIND_PERSON && o[O_NOCODE].val == NULL) {
		if (idp_recovery_generate(&code, 1) != 0) {
			brk_ctl_errx("proofing add: cannot make a code");
			goto out;
		}
		have_code = 1;
		code_exp = now + ic->prf_code_ttl;
	}
	if ((e = prf_add(p, r, have_code ? code.hash : NULL, code_exp, NULL,
	    why, sizeof(why))) != 0) {
		rc = fail(e, "proofing add", why);
		goto out;
	}
	if (ctl->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "id", r->id, "subject",
		    r->subject, "status", prf_status_name(r->status));

		if (j != NULL && have_code) {
			json_object_set_new(j, "recovery_code",
			    json_string(code.code));
			json_object_set_new(j, "recovery_code_expires",
			    json_integer(code_exp));
		}
		brk_ctl_print_json(j);
	} else {
		printf("%s %s\n", r->id, prf_status_name(r->status));
		if (have_code)
			printf("recovery code (hand it to the person; shown "
			    "once): %s\n", code.code);
	}
	rc = 0;
 out:
	OPENSSL_cleanse(num, sizeof(num));
	if (have_code)
		idp_recovery_wipe(&code, 1);
	prf_key_free(&key);
	dir_device_free(&dev);
	free(r);
	return rc;
}

int
brk_ctl_proofing(struct brk_ctl *ctl, int argc, char **argv)
{
	struct popt o[O_MAX] = {
		{ "--ial", 0, NULL }, { "--method", 0, NULL },
		{ "--name", 0, NULL }, { "--birthdate", 0, NULL },
		{ "--address", 0, NULL }, { "--evidence-type", 0, NULL },
		{ "--issuer", 0, NULL }, { "--country", 0, NULL },
		{ "--valid-until", 0, NULL }, { "--issued", 0, NULL },
		{ "--expires", 0, NULL }, { "--no-recovery-code", 1, NULL },
		{ "--device", 1, NULL }, { "--presented", 0, NULL },
		{ "--reason", 0, NULL },
	};
	const char *pos[2] = { NULL, NULL };
	struct prf_entry *v = NULL;
	struct dir_pool *p;
	enum prf_kind k;
	size_t got = 0, n = 0, i;
	int rc = 1, e, ial;
	json_t *a;

	if (argc < 2 || ctl->idp_cfg == NULL) {
		brk_ctl_errx("usage: proofing add|show|list|revoke SUBJECT ...");
		return 1;
	}
	if (parse(argc, argv, pos, 2, &got, o) != 0 || got < 1)
		return 1;
	k = o[O_DEVICE].val != NULL ? PRF_KIND_DEVICE : PRF_KIND_PERSON;
	if ((p = brk_ctl_dir(ctl)) == NULL)
		return 2;
	/* every record and revocation is audited: no audit, no change */
	if ((strcmp(argv[1], "add") == 0 || strcmp(argv[1], "revoke") == 0) &&
	    (ctl->cfg->audit_file[0] == '\0' ||
	    cm_audit_open(ctl->cfg->audit_file) != 0)) {
		brk_ctl_errx("cannot open the audit file");
		return 1;
	}
	if (strcmp(argv[1], "add") == 0 && got == 1)
		return cmd_add(ctl, p, pos[0], o);
	if (strcmp(argv[1], "revoke") == 0 && got == 2) {
		char by[PRF_OFFICER_MAX];

		if (o[O_REASON].val == NULL || officer_name(by,
		    sizeof(by)) != 0) {
			brk_ctl_errx("proofing revoke: --reason is required");
			return 1;
		}
		if ((e = prf_revoke(p, k, pos[0], pos[1], o[O_REASON].val, by,
		    NULL)) != 0)
			return fail(e, "proofing revoke", NULL);
		printf("%s revoked\n", pos[1]);
		return 0;
	}
	if ((strcmp(argv[1], "list") != 0 && strcmp(argv[1], "show") != 0) ||
	    got != 1) {
		brk_ctl_errx("usage: proofing add|show|list|revoke SUBJECT ...");
		return 1;
	}
	if ((e = prf_history(p, k, pos[0], &v, &n)) != 0)
		return fail(e, "proofing", NULL);
	if (strcmp(argv[1], "show") == 0) {
		ial = prf_current_ial(p, k, pos[0], cm_time());
		if (ctl->json)
			brk_ctl_print_json(json_pack("{s:s, s:s, s:o?}",
			    "subject", pos[0], "ial", prf_ial_name(ial > 0 ?
			    (enum prf_ial)ial : PRF_IAL_NONE), "latest",
			    n > 0 ? record_json(&v[0]) : NULL));
		else {
			printf("%s %s\n", pos[0], prf_ial_name(ial > 0 ?
			    (enum prf_ial)ial : PRF_IAL_NONE));
			if (n > 0)
				print_record(&v[0]);
		}
		rc = 0;
		goto out;
	}
	if (ctl->json) {
		a = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(a, record_json(&v[i]));
		brk_ctl_print_json(a);
	} else
		for (i = 0; i < n; i++)
			print_record(&v[i]);
	rc = 0;
 out:
	prf_history_free(&v, n);
	return rc;
}
