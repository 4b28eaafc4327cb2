/*
 * skm_argon2.c — slapd password scheme {ARGON2} on libsodium.
 *
 * A drop-in replacement for OpenLDAP's argon2.so (Debian builds it on
 * libargon2 and it writes Argon2i).  This module
 *
 *   - writes Argon2id (RFC 9106 section 4, the recommended variant) in the
 *     PHC string form slapd already stores:
 *       {ARGON2}$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
 *   - verifies Argon2id and Argon2i strings, so entries hashed by argon2.so
 *     keep working and move to Argon2id at their next password change;
 *   - uses libsodium's Argon2 (run-time dispatch to AVX2/AVX-512F), which
 *     computes the same function at the same cost about 1.8 times faster
 *     than Debian's libargon2 on our machines (docs/directory.md).
 *
 * Loaded by slapd (olcModuleLoad: /path/skm_argon2.so m=19456 t=2); the
 * arguments are the cost: m in KiB, t passes, p lanes (1 only: libsodium
 * hashes with one lane), and c, how many hashes may run at once (default:
 * the number of CPUs slapd may run on).  Bad arguments fail the module load, so
 * slapd and slaptest refuse the configuration.
 *
 * The cap c bounds the memory the hashes take (c * m; without it, every
 * slapd thread could hold m at once) and keeps them from thrashing each
 * other: each hash maps and faults in m afresh, and with more hashes than
 * cores slapd spent almost half its CPU in the kernel (bench/notes.md).
 * A verification takes m from the stored string, so the bound holds for
 * hashes this module wrote; only the broker may write userPassword.
 * Binds waiting for a slot hold a slapd thread: olcThreads must leave room
 * for searches (docs/directory.md).
 *
 * There is no slapd-dev package: the two liblutil prototypes below are
 * those of OpenLDAP's include/lutil.h (2.4 to 2.6; the ABI slapd exports).
 */

#include <sys/types.h>

#include <sched.h>

#include <lber.h>
#include <sodium.h>
#include <errno.h>
#include <semaphore.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (lutil_passwd_chk_fn)(const struct berval *scheme,
    const struct berval *passwd, const struct berval *cred,
    const char **text);
typedef int (lutil_passwd_hash_fn)(const struct berval *scheme,
    const struct berval *passwd, struct berval *hash, const char **text);
int lutil_passwd_add(struct berval *scheme, lutil_passwd_chk_fn *chk,
    lutil_passwd_hash_fn *hash);

int init_module(int argc, char *argv[]);

#define SKM_PASSWD_OK	0	/* LUTIL_PASSWD_OK */
#define SKM_PASSWD_ERR	(-1)	/* LUTIL_PASSWD_ERR */

/* the cost written into new hashes: the OWASP minimum for Argon2id */
#define SKM_ARGON2_M_KIB_DEFAULT	19456
#define SKM_ARGON2_T_DEFAULT		2
/* a sane ceiling for the configuration (4 GiB; 64 passes) */
#define SKM_ARGON2_M_KIB_MAX		(4UL * 1024 * 1024)
#define SKM_ARGON2_T_MAX		64
#define SKM_ARGON2_C_MAX		256

static char scheme_name[] = "{ARGON2}";
static struct berval scheme = { sizeof(scheme_name) - 1, scheme_name };

static unsigned long cost_m_kib = SKM_ARGON2_M_KIB_DEFAULT;
static unsigned long long cost_t = SKM_ARGON2_T_DEFAULT;

/* hashes running at once, at most c */
static sem_t slots;
static int slots_init;

/* 0 with a slot taken; -1 (no slot: do not give one back) otherwise */
static int
slot_get(void)
{
	while (sem_wait(&slots) != 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

static void
slot_put(void)
{
	sem_post(&slots);
}

/*
 * Checks cred (the cleartext) against passwd (the stored value after the
 * scheme name).  Only $argon2id$ and $argon2i$ strings are accepted.
 */
static int
skm_argon2_chk(const struct berval *sch, const struct berval *passwd,
    const struct berval *cred, const char **text)
{
	char enc[crypto_pwhash_STRBYTES];
	int r;

	(void)sch;
	(void)text;
	if (passwd == NULL || cred == NULL || passwd->bv_val == NULL ||
	    passwd->bv_len == 0 || passwd->bv_len >= sizeof(enc))
		return SKM_PASSWD_ERR;
	if (cred->bv_val == NULL && cred->bv_len != 0)
		return SKM_PASSWD_ERR;
	memcpy(enc, passwd->bv_val, passwd->bv_len);
	enc[passwd->bv_len] = '\0';
	if (strlen(enc) != passwd->bv_len)	/* an embedded NUL */
		return SKM_PASSWD_ERR;
	if (slot_get() != 0)
		return SKM_PASSWD_ERR;
	if (strncmp(enc, "$argon2id$", 10) == 0)
		r = crypto_pwhash_argon2id_str_verify(enc,
		    cred->bv_val == NULL ? "" : cred->bv_val, cred->bv_len);
	else if (strncmp(enc, "$argon2i$", 9) == 0)
		r = crypto_pwhash_argon2i_str_verify(enc,
		    cred->bv_val == NULL ? "" : cred->bv_val, cred->bv_len);
	else
		r = -1;
	slot_put();
	return r == 0 ? SKM_PASSWD_OK : SKM_PASSWD_ERR;
}

/*
 * Hashes passwd (the cleartext) into hash: "{ARGON2}" and the PHC string,
 * allocated with ber_memalloc (slapd frees it with ber_memfree).
 */
static int
skm_argon2_hash(const struct berval *sch, const struct berval *passwd,
    struct berval *hash, const char **text)
{
	char enc[crypto_pwhash_STRBYTES];
	size_t elen;
	int r;

	(void)text;
	if (sch == NULL || passwd == NULL || hash == NULL ||
	    (passwd->bv_val == NULL && passwd->bv_len != 0))
		return SKM_PASSWD_ERR;
	if (slot_get() != 0)
		return SKM_PASSWD_ERR;
	r = crypto_pwhash_argon2id_str(enc,
	    passwd->bv_val == NULL ? "" : passwd->bv_val, passwd->bv_len,
	    cost_t, (size_t)cost_m_kib * 1024);
	slot_put();
	if (r != 0)
		return SKM_PASSWD_ERR;
	elen = strlen(enc);
	hash->bv_len = sch->bv_len + elen;
	if ((hash->bv_val = ber_memalloc(hash->bv_len + 1)) == NULL) {
		hash->bv_len = 0;
		return SKM_PASSWD_ERR;
	}
	memcpy(hash->bv_val, sch->bv_val, sch->bv_len);
	memcpy(hash->bv_val + sch->bv_len, enc, elen + 1);
	return SKM_PASSWD_OK;
}

/* "key=N" with N a decimal in [lo, hi]; 0 on success */
static int
cost_arg(const char *arg, const char *key, unsigned long lo,
    unsigned long hi, unsigned long *out)
{
	size_t klen = strlen(key);
	unsigned long v;
	char *end;

	if (strncmp(arg, key, klen) != 0 || arg[klen] != '=')
		return 1;
	arg += klen + 1;
	if (*arg < '0' || *arg > '9')
		return -1;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
init_module(int argc, char *argv[])
{
	unsigned long m = SKM_ARGON2_M_KIB_DEFAULT, t = SKM_ARGON2_T_DEFAULT;
	unsigned long p = 1, c = 0;
	unsigned long mmin;
	cpu_set_t set;
	long ncpu;
	int i, r;

	if (sodium_init() < 0)
		return -1;
	mmin = (crypto_pwhash_argon2id_MEMLIMIT_MIN + 1023) / 1024;
	for (i = 0; i < argc; i++) {
		if (argv == NULL || argv[i] == NULL)
			return -1;
		if ((r = cost_arg(argv[i], "m", mmin, SKM_ARGON2_M_KIB_MAX,
		    &m)) == 0)
			continue;
		if (r < 0)
			return -1;
		if ((r = cost_arg(argv[i], "t",
		    crypto_pwhash_argon2id_OPSLIMIT_MIN, SKM_ARGON2_T_MAX,
		    &t)) == 0)
			continue;
		if (r < 0)
			return -1;
		/* libsodium computes one lane; p=1 is accepted for clarity */
		if ((r = cost_arg(argv[i], "p", 1, 1, &p)) == 0)
			continue;
		if (r < 0)
			return -1;
		if ((r = cost_arg(argv[i], "c", 1, SKM_ARGON2_C_MAX, &c)) == 0)
			continue;
		return -1;
	}
	if (c == 0) {
		/* the CPUs slapd may run on (affinity, cpusets) */
		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			ncpu = CPU_COUNT(&set);
		else
			ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		c = ncpu < 1 ? 1 : ncpu > SKM_ARGON2_C_MAX ?
		    SKM_ARGON2_C_MAX : (unsigned long)ncpu;
	}
	/* slapd loads a module once; the unit test loads it again */
	if (slots_init)
		sem_destroy(&slots);
	if (sem_init(&slots, 0, (unsigned int)c) != 0)
		return -1;
	slots_init = 1;
	cost_m_kib = m;
	cost_t = t;
	return lutil_passwd_add(&scheme, skm_argon2_chk, skm_argon2_hash);
}
