/* directory/dir_device.c — devices under ou=devices (RFC 4519 device +
 * skmDevice): serial number, assigned IP, owner, compliance state. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dir_private.h"

static const char *const device_attrs[] = {
	"cn", "serialNumber", "skmAssignedIP", "owner", "skmComplianceState",
	"description", "skmAccountStatus", NULL
};

void
dir_device_free(struct dir_device **dp)
{
	struct dir_device *d;

	if (dp == NULL || (d = *dp) == NULL)
		return;
	free(d->dn);
	free(d->id);
	free(d->serial);
	free(d->ip);
	free(d->owner_dn);
	free(d->owner_uid);
	free(d->compliance);
	free(d->description);
	free(d);
	*dp = NULL;
}

void
dir_device_list_free(struct dir_device ***vp, size_t n)
{
	if (vp == NULL || *vp == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_device_free(&(*vp)[i]);
	free(*vp);
	*vp = NULL;
}

static int
device_from_entry(struct dir_pool *p, const struct dir_entry *e,
    struct dir_device **out)
{
	struct dir_device *d = NULL;
	char *st = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return CM_ERR_NOMEM;
	if ((d->dn = strdup(e->dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = dir_dn_child_value(e->dn, "cn", p->devices_dn, &d->id)) != 0 ||
	    (r = dir_entry_str(e, "serialNumber", &d->serial)) != 0 ||
	    (r = dir_entry_str(e, "skmAssignedIP", &d->ip)) != 0 ||
	    (r = dir_entry_str(e, "owner", &d->owner_dn)) != 0 ||
	    (r = dir_entry_str(e, "skmComplianceState", &d->compliance)) != 0 ||
	    (r = dir_entry_str(e, "description", &d->description)) != 0 ||
	    (r = dir_entry_str(e, "skmAccountStatus", &st)) != 0)
		goto out;
	if (d->owner_dn != NULL &&
	    dir_dn_child_value(d->owner_dn, "uid", p->people_dn,
	    &d->owner_uid) != 0)
		d->owner_uid = NULL;
	if (st == NULL || dir_status_parse(st, &d->status) != 0)
		d->status = DIR_STATUS_DISABLED;
	*out = d;
	d = NULL;	/* transferred */
	r = 0;
 out:
	free(st);
	dir_device_free(&d);
	return r;
}

static int
find_by(struct dir_pool *p, const char *attr, const char *value,
    struct dir_device **out)
{
	struct dir_result res;
	int r;

	*out = NULL;
	if ((r = dir_find_one(p, p->devices_dn, "device", attr, value,
	    device_attrs, &res)) != 0)
		return r;
	r = device_from_entry(p, &res.v[0], out);
	dir_result_clear(&res);
	return r;
}

int
dir_device_find(struct dir_pool *p, const char *id, struct dir_device **out)
{
	*out = NULL;
	if (dir_name_check(id) != 0)
		return CM_ERR_NOTFOUND;
	return find_by(p, "cn", id, out);
}

int
dir_device_find_serial(struct dir_pool *p, const char *serial,
    struct dir_device **out)
{
	return find_by(p, "serialNumber", serial, out);
}

static int
cmp_dev(const void *a, const void *b)
{
	const struct dir_device *x = *(struct dir_device *const *)a;
	const struct dir_device *y = *(struct dir_device *const *)b;

	return strcmp(x->id, y->id);
}

int
dir_device_list(struct dir_pool *p, struct dir_device ***out, size_t *n)
{
	struct dir_result res;
	struct dir_device **v = NULL;
	size_t k = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	if ((r = dir_search(p, p->devices_dn, LDAP_SCOPE_ONELEVEL,
	    "(objectClass=device)", device_attrs, DIR_SEARCH_MAX, &res)) != 0)
		return r;
	if (res.n > 0 && (v = calloc(res.n, sizeof(*v))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < res.n; i++) {
		if ((r = device_from_entry(p, &res.v[i], &v[k])) != 0)
			goto out;
		k++;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_dev);
	*out = v;
	*n = k;
	v = NULL;	/* transferred */
	r = 0;
 out:
	dir_device_list_free(&v, k);
	dir_result_clear(&res);
	return r;
}

/* serialNumber has PrintableString syntax (RFC 4517 §3.3.29). */
static int
check_serial(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 128)
		return CM_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("'()+,-./:=? ", ch) !=
		    NULL))
			return CM_ERR_INVAL;
	}
	return 0;
}

static int
check_ip(const char *ip)
{
	unsigned char buf[16];

	if (ip == NULL || strlen(ip) > 45)
		return CM_ERR_INVAL;
	if (inet_pton(AF_INET, ip, buf) == 1 ||
	    inet_pton(AF_INET6, ip, buf) == 1)
		return 0;
	return CM_ERR_INVAL;
}

int
dir_device_add(struct dir_pool *p, const struct dir_device_new *d)
{
	static const char *const ocs[] = { "device", "skmDevice", NULL };
	struct dir_device *dup = NULL;
	struct dir_user *owner = NULL;
	struct dir_modset ms;
	char dn[DIR_MAX_DN], now[16];
	int r = CM_ERR_INTERNAL;

	if (d == NULL || dir_name_check(d->id) != 0 ||
	    check_serial(d->serial) != 0 ||
	    (d->ip != NULL && check_ip(d->ip) != 0) ||
	    (d->description != NULL &&
	    dir_text_check(d->description, DIR_VALUE_MAX) != 0))
		return CM_ERR_INVAL;
	if (d->owner_uid != NULL &&
	    (r = dir_user_find(p, d->owner_uid, &owner)) != 0)
		goto out;
	/* serial numbers identify devices: refuse a second one */
	r = dir_device_find_serial(p, d->serial, &dup);
	if (r == 0) {
		r = CM_ERR_EXISTS;
		goto out;
	}
	if (r != CM_ERR_NOTFOUND)
		goto out;
	if ((r = dir_make_dn(dn, sizeof(dn), "cn", d->id, p->devices_dn)) != 0)
		goto out;
	dir_gentime(now);
	dir_modset_init(&ms);
	if ((r = dir_modset_add(&ms, LDAP_MOD_ADD, "objectClass", ocs)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "cn", d->id)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "serialNumber",
	    d->serial)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAccountStatus",
	    "active")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmComplianceState",
	    "unknown")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmCreatedAt", now)) != 0 ||
	    (d->ip != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "skmAssignedIP", d->ip)) != 0) ||
	    (owner != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "owner",
	    owner->dn)) != 0) ||
	    (d->description != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "description", d->description)) != 0))
		goto out;
	if ((r = dir_add(p, dn, dir_modset_get(&ms), NULL)) == 0)
		cm_info(NULL, "dir.device_added", "{s:s}", "device", d->id);
 out:
	dir_device_free(&dup);
	dir_user_free(&owner);
	return r;
}

static int
device_replace(struct dir_pool *p, const char *id, const char *attr,
    const char *val)
{
	struct dir_device *d = NULL;
	struct dir_modset ms;
	char now[16];
	int r;

	if ((r = dir_device_find(p, id, &d)) != 0)
		return r;
	dir_modset_init(&ms);
	dir_gentime(now);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, attr, val)) == 0 &&
	    (strcmp(attr, "skmComplianceState") != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE,
	    "skmComplianceCheckedAt", now)) == 0))
		r = dir_modify(p, d->dn, dir_modset_get(&ms), NULL);
	dir_device_free(&d);
	return r;
}

int
dir_device_set_compliance(struct dir_pool *p, const char *id,
    const char *state)
{
	if (state == NULL || (strcmp(state, "compliant") != 0 &&
	    strcmp(state, "noncompliant") != 0 && strcmp(state, "unknown") != 0))
		return CM_ERR_INVAL;
	return device_replace(p, id, "skmComplianceState", state);
}

int
dir_device_set_status(struct dir_pool *p, const char *id, enum dir_status s)
{
	return device_replace(p, id, "skmAccountStatus", dir_status_str(s));
}
