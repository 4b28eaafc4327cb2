/* idp/config.c — the IdP's configuration keys. */
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "idp_int.h"

void
idp_config_defaults(struct idp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->code_ttl = 60;
	c->access_ttl = 300;
	c->id_ttl = 300;
	c->refresh_ttl = 8 * 3600;
	c->login_ttl = 600;
	c->assertion_max_age = 300;
	/* NIST SP 800-63B-4 reauthentication: AAL1 30 d; AAL2 24 h overall,
	 * 1 h idle; AAL3 12 h overall, 15 min idle. */
	c->session_max[1] = 30 * 86400;
	c->session_idle[1] = 30 * 86400;
	c->session_max[2] = 24 * 3600;
	c->session_idle[2] = 3600;
	c->session_max[3] = 12 * 3600;
	c->session_idle[3] = 15 * 60;
	c->backchannel_logout = 1;
	c->client_cache_ttl = 5;
	/* live sessions per user: a person's browsers and devices, not one
	 * stolen password's script filling the directory */
	c->max_sessions = IDP_MAX_SESSIONS_DEFAULT;
	strlcpy(c->admin_group, "administrators", sizeof(c->admin_group));
	strlcpy(c->prf_officer_group, "proofing-officers",
	    sizeof(c->prf_officer_group));
	c->prf_window = 7 * 86400;
	c->prf_code_ttl = 86400;
	c->prf_validity = 3 * 365;
	c->prf_required_ial = 2;
	c->prf_admin_ial = 3;
}

/* String keys: name, field, size. */
static const struct {
	const char	*key;
	size_t		 off, size;
} strs[] = {
	{ "webauthn_rp_id", offsetof(struct idp_config, wa_rp_id),
	    sizeof(((struct idp_config *)0)->wa_rp_id) },
	{ "webauthn_origin", offsetof(struct idp_config, wa_origin),
	    sizeof(((struct idp_config *)0)->wa_origin) },
	{ "webauthn_roots_dir", offsetof(struct idp_config, wa_roots_dir),
	    sizeof(((struct idp_config *)0)->wa_roots_dir) },
	{ "webauthn_aaguids", offsetof(struct idp_config, wa_aaguids),
	    sizeof(((struct idp_config *)0)->wa_aaguids) },
	{ "webauthn_mds_file", offsetof(struct idp_config, wa_mds_file),
	    sizeof(((struct idp_config *)0)->wa_mds_file) },
	{ "webauthn_mds_root", offsetof(struct idp_config, wa_mds_root),
	    sizeof(((struct idp_config *)0)->wa_mds_root) },
	{ "admin_group", offsetof(struct idp_config, admin_group),
	    sizeof(((struct idp_config *)0)->admin_group) },
	{ "proofing_key_file", offsetof(struct idp_config, prf_key_file),
	    sizeof(((struct idp_config *)0)->prf_key_file) },
	{ "proofing_officer_group", offsetof(struct idp_config,
	    prf_officer_group),
	    sizeof(((struct idp_config *)0)->prf_officer_group) },
	{ "verified_claims_clients", offsetof(struct idp_config, vc_clients),
	    sizeof(((struct idp_config *)0)->vc_clients) },
};

static const struct {
	const char	*key;
	size_t		 off;
	long long	 min, max;
} nums[] = {
	{ "code_lifetime", offsetof(struct idp_config, code_ttl), 5,
	    IDP_CODE_TTL_MAX },
	{ "access_token_lifetime", offsetof(struct idp_config, access_ttl),
	    30, IDP_ACCESS_TTL_MAX },
	{ "id_token_lifetime", offsetof(struct idp_config, id_ttl), 30,
	    IDP_ID_TTL_MAX },
	{ "refresh_token_lifetime", offsetof(struct idp_config, refresh_ttl),
	    60, IDP_REFRESH_TTL_MAX },
	{ "login_timeout", offsetof(struct idp_config, login_ttl), 60, 3600 },
	{ "client_cache_ttl", offsetof(struct idp_config, client_cache_ttl),
	    0, 60 },
	{ "client_assertion_max_age",
	    offsetof(struct idp_config, assertion_max_age), 30, 3600 },
	{ "session_idle_aal1", offsetof(struct idp_config, session_idle[1]),
	    60, 30 * 86400 },
	{ "session_max_aal1", offsetof(struct idp_config, session_max[1]),
	    60, 30 * 86400 },
	{ "session_idle_aal2", offsetof(struct idp_config, session_idle[2]),
	    60, 3600 },
	{ "session_max_aal2", offsetof(struct idp_config, session_max[2]),
	    60, 24 * 3600 },
	{ "session_idle_aal3", offsetof(struct idp_config, session_idle[3]),
	    60, 15 * 60 },
	{ "session_max_aal3", offsetof(struct idp_config, session_max[3]),
	    60, 12 * 3600 },
	{ "proofing_recovery_window", offsetof(struct idp_config, prf_window),
	    3600, 90 * 86400 },
	{ "proofing_code_lifetime", offsetof(struct idp_config, prf_code_ttl),
	    300, 7 * 86400 },
};

int
idp_config_set(void *obj, const char *key, const char *val, char *err,
    size_t errlen)
{
	struct idp_config *c = obj;
	long long n;
	size_t i;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(key, nums[i].key) != 0)
			continue;
		if (cm_parse_ll(val, nums[i].min, nums[i].max, &n) != 0) {
			/* the caps are limits of the standards, not defaults */
			snprintf(err, errlen, "%s: expected seconds from %lld "
			    "to %lld", key, nums[i].min, nums[i].max);
			return CM_ERR_INVAL;
		}
		*(unsigned *)(void *)((char *)c + nums[i].off) = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "proofing_required_ial") == 0 ||
	    strcmp(key, "proofing_admin_ial") == 0) {
		if (cm_parse_ll(val, 1, 3, &n) != 0) {
			snprintf(err, errlen, "%s: expected 1, 2 or 3", key);
			return CM_ERR_INVAL;
		}
		if (key[9] == 'r')
			c->prf_required_ial = (int)n;
		else
			c->prf_admin_ial = (int)n;
		return 0;
	}
	if (strcmp(key, "max_sessions_per_user") == 0) {
		if (cm_parse_ll(val, 0, IDP_MAX_SESSIONS_MAX, &n) != 0) {
			snprintf(err, errlen, "%s: expected a count from 0 (no "
			    "limit) to %d", key, IDP_MAX_SESSIONS_MAX);
			return CM_ERR_INVAL;
		}
		c->max_sessions = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "proofing_validity") == 0) {
		if (cm_parse_ll(val, 1, 10 * 366, &n) != 0) {
			snprintf(err, errlen, "%s: expected days from 1 to "
			    "3660", key);
			return CM_ERR_INVAL;
		}
		c->prf_validity = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "backchannel_logout") == 0) {
		if (strcmp(val, "yes") == 0)
			c->backchannel_logout = 1;
		else if (strcmp(val, "no") == 0)
			c->backchannel_logout = 0;
		else {
			snprintf(err, errlen, "%s: expected yes or no", key);
			return CM_ERR_INVAL;
		}
		return 0;
	}
	if (strcmp(key, "kek_file") == 0 || strcmp(key, "policy_file") == 0 ||
	    strcmp(key, "ssf_transmitters_file") == 0 ||
	    strcmp(key, "ssf_receivers_file") == 0) {
		char *dst = key[0] == 'k' ? c->kek_file :
		    key[0] == 'p' ? c->policy_file :
		    key[4] == 't' ? c->ssf_transmitters_file :
		    c->ssf_receivers_file;

		if (strlcpy(dst, val, sizeof(c->kek_file)) >=
		    sizeof(c->kek_file)) {
			snprintf(err, errlen, "%s: value too long", key);
			return CM_ERR_RANGE;
		}
		return 0;
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(key, strs[i].key) != 0)
			continue;
		if (strlcpy((char *)c + strs[i].off, val, strs[i].size) >=
		    strs[i].size) {
			snprintf(err, errlen, "%s: value too long", key);
			return CM_ERR_RANGE;
		}
		if ((strcmp(key, "admin_group") == 0 ||
		    strcmp(key, "proofing_officer_group") == 0) &&
		    dir_name_check(val) != 0) {
			snprintf(err, errlen, "%s: not a group name", key);
			return CM_ERR_INVAL;
		}
		return 0;
	}
	return CM_ERR_NOTFOUND;
}

int
idp_config_check(void *obj, char *err, size_t errlen)
{
	struct idp_config *c = obj;
	int aal;

	for (aal = 1; aal <= 3; aal++) {
		if (c->session_idle[aal] > c->session_max[aal]) {
			snprintf(err, errlen, "session_idle_aal%d is longer "
			    "than session_max_aal%d", aal, aal);
			return CM_ERR_INVAL;
		}
	}
	return 0;
}
