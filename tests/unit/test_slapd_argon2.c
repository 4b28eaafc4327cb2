/* Unit tests for directory/slapd/skm_argon2.c, slapd's {ARGON2} scheme on
 * libsodium: what it registers, the Argon2id strings it writes, the
 * Argon2i / Argon2id strings written by libargon2 (the reference
 * implementation, through Debian's `argon2` tool) that it accepts, what it
 * refuses, and the cost arguments.  The module is compiled into this test;
 * lutil_passwd_add, which slapd provides, is captured here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "directory/slapd/skm_argon2.c"

static int n_added;
static struct berval *added_scheme;
static lutil_passwd_chk_fn *added_chk;
static lutil_passwd_hash_fn *added_hash;

int
lutil_passwd_add(struct berval *sch, lutil_passwd_chk_fn *chk,
    lutil_passwd_hash_fn *hash)
{
	n_added++;
	added_scheme = sch;
	added_chk = chk;
	added_hash = hash;
	return 0;
}

/* `argon2 sekimori-salt-16 -i|-id|-d -t 2 -k 19456 -p 1|4 -e` of the
 * password below (libargon2 20190702, Debian) */
static const char ref_pw[] = "Tr0ub4dor&3";
static const char ref_i[] = "$argon2i$v=19$m=19456,t=2,p=1$"
    "c2VraW1vcmktc2FsdC0xNg$BYLID1Y/A9NS0HfDRSAHBG9JfMKSLPVvqjpOkVk+8x0";
static const char ref_id_p4[] = "$argon2id$v=19$m=19456,t=2,p=4$"
    "c2VraW1vcmktc2FsdC0xNg$20DeBkOKgXcrJFVkarYSCM1WX5EooNS/CjnFbsN9OFk";
static const char ref_d[] = "$argon2d$v=19$m=19456,t=2,p=1$"
    "c2VraW1vcmktc2FsdC0xNg$AZZ4ICfjKQ8qiweTpfUEt4xsg3tYOxe40IJ0QYPx7I0";

static int
chk(const char *stored, size_t slen, const char *pw, size_t plen)
{
	struct berval s = { slen, (char *)(uintptr_t)stored };
	struct berval c = { plen, (char *)(uintptr_t)pw };
	const char *text = NULL;

	return added_chk(added_scheme, &s, &c, &text);
}

static int
chk_str(const char *stored, const char *pw)
{
	return chk(stored, strlen(stored), pw, strlen(pw));
}

static int
load(int argc, const char **argv)
{
	n_added = 0;
	added_chk = NULL;
	added_hash = NULL;
	return init_module(argc, (char **)(uintptr_t)argv);
}

/* hash pw with the loaded module; returns the malloc'd stored value */
static char *
hash_of(const char *pw, size_t plen)
{
	struct berval p = { plen, (char *)(uintptr_t)pw };
	struct berval h = { 0, NULL };
	const char *text = NULL;
	char *out;

	assert_int_equal(added_hash(added_scheme, &p, &h, &text), 0);
	assert_non_null(h.bv_val);
	assert_int_equal(strlen(h.bv_val), h.bv_len);
	out = strdup(h.bv_val);
	ber_memfree(h.bv_val);
	assert_non_null(out);
	return out;
}

static void
test_registers_argon2_scheme(void **state)
{
	(void)state;
	assert_int_equal(load(0, NULL), 0);
	assert_int_equal(n_added, 1);
	assert_int_equal(added_scheme->bv_len, 8);
	assert_memory_equal(added_scheme->bv_val, "{ARGON2}", 8);
	assert_non_null(added_chk);
	assert_non_null(added_hash);
}

static void
test_writes_argon2id_and_verifies(void **state)
{
	static const char pre[] = "{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$";
	const char *args[] = { "m=19456", "t=2" };
	char *h, *h2;

	(void)state;
	assert_int_equal(load(2, args), 0);
	h = hash_of("correct horse", 13);
	assert_memory_equal(h, pre, sizeof(pre) - 1);
	/* slapd hands the check the value after the scheme name */
	assert_int_equal(chk_str(h + 8, "correct horse"), 0);
	assert_int_not_equal(chk_str(h + 8, "correct horsf"), 0);
	assert_int_not_equal(chk_str(h + 8, "correct hors"), 0);
	assert_int_not_equal(chk_str(h + 8, "correct horse "), 0);
	assert_int_not_equal(chk_str(h + 8, ""), 0);
	/* a fresh salt every time */
	h2 = hash_of("correct horse", 13);
	assert_string_not_equal(h, h2);
	assert_int_equal(chk_str(h2 + 8, "correct horse"), 0);
	free(h);
	free(h2);
}

static void
test_password_length_not_nul_terminated(void **state)
{
	char *h;

	(void)state;
	assert_int_equal(load(0, NULL), 0);
	/* the berval length counts: an embedded NUL is part of the password */
	h = hash_of("ab\0cd", 5);
	assert_int_equal(chk(h + 8, strlen(h + 8), "ab\0cd", 5), 0);
	assert_int_not_equal(chk(h + 8, strlen(h + 8), "ab\0ce", 5), 0);
	assert_int_not_equal(chk(h + 8, strlen(h + 8), "ab", 2), 0);
	free(h);
}

static void
test_cost_arguments_are_written(void **state)
{
	const char *args[] = { "t=3", "m=8192", "p=1" };
	char *h;

	(void)state;
	assert_int_equal(load(3, args), 0);
	h = hash_of("pw", 2);
	assert_non_null(strstr(h, "$argon2id$v=19$m=8192,t=3,p=1$"));
	assert_int_equal(chk_str(h + 8, "pw"), 0);
	free(h);
}

static void
test_reference_argon2i_accepted(void **state)
{
	(void)state;
	assert_int_equal(load(0, NULL), 0);
	/* what Debian's argon2.so stored before this module */
	assert_int_equal(chk_str(ref_i, ref_pw), 0);
	assert_int_not_equal(chk_str(ref_i, "Tr0ub4dor&4"), 0);
}

static void
test_reference_argon2id_four_lanes_accepted(void **state)
{
	(void)state;
	assert_int_equal(load(0, NULL), 0);
	assert_int_equal(chk_str(ref_id_p4, ref_pw), 0);
	assert_int_not_equal(chk_str(ref_id_p4, "tr0ub4dor&3"), 0);
}

static void
test_other_strings_refused(void **state)
{
	char buf[300];
	char *h;

	(void)state;
	assert_int_equal(load(0, NULL), 0);
	/* Argon2d (data-dependent: never for passwords), other schemes */
	assert_int_not_equal(chk_str(ref_d, ref_pw), 0);
	assert_int_not_equal(chk_str("Tr0ub4dor&3", ref_pw), 0);
	assert_int_not_equal(chk_str("$2b$10$abcdefghijklmnopqrstuu", ref_pw),
	    0);
	assert_int_not_equal(chk("", 0, ref_pw, strlen(ref_pw)), 0);
	/* the reference string with its hash cut short or a byte changed */
	assert_int_not_equal(chk(ref_i, strlen(ref_i) - 4, ref_pw,
	    strlen(ref_pw)), 0);
	snprintf(buf, sizeof(buf), "%s", ref_i);
	buf[strlen(buf) - 2] = buf[strlen(buf) - 2] == 'A' ? 'B' : 'A';
	assert_int_not_equal(chk_str(buf, ref_pw), 0);
	/* an embedded NUL does not cut the stored value short */
	h = hash_of("x", 1);
	snprintf(buf, sizeof(buf), "%s", h + 8);
	assert_int_equal(chk(buf, strlen(buf), "x", 1), 0);
	assert_int_not_equal(chk(buf, strlen(buf) + 1, "x", 1), 0);
	/* longer than any PHC string libsodium writes */
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "$argon2id$", 10);
	assert_int_not_equal(chk(buf, sizeof(buf), "x", 1), 0);
	free(h);
}

static void
test_bad_arguments_refuse_the_load(void **state)
{
	static const char *bad[] = {
		"m=1", "m=0", "m=", "m=12a", "m=-1", "m= 19456", "m=4194305",
		"t=0", "t=65", "t=99999999999999999999999", "p=2", "p=0",
		"c=0", "c=257", "c=-2",
		"x=1", "m", "19456", "",
	};
	const char *one[1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		one[0] = bad[i];
		assert_int_equal(load(1, one), -1);
		assert_int_equal(n_added, 0);
	}
	/* a good load after the failures still writes the default cost */
	assert_int_equal(load(0, NULL), 0);
	{
		char *h = hash_of("pw", 2);

		assert_non_null(strstr(h, "$m=19456,t=2,p=1$"));
		free(h);
	}
}

struct waiter {
	const char *stored;
	volatile int done;
	int rc;
};

static void *
verify_thread(void *arg)
{
	struct waiter *w = arg;

	w->rc = chk_str(w->stored, ref_pw);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
test_cap_holds_a_verification_back(void **state)
{
	const char *args[] = { "c=1" };
	struct waiter w = { ref_i, 0, -7 };
	pthread_t th;

	(void)state;
	assert_int_equal(load(1, args), 0);
	/* take the only slot: the verification (about 10 ms) must wait */
	slot_get();
	assert_int_equal(pthread_create(&th, NULL, verify_thread, &w), 0);
	usleep(300 * 1000);
	assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
	slot_put();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.done, 1);
	assert_int_equal(w.rc, 0);
}

static void
test_cap_of_two_lets_two_run(void **state)
{
	const char *args[] = { "c=2" };
	struct waiter w = { ref_i, 0, -7 };
	pthread_t th;
	int i;

	(void)state;
	assert_int_equal(load(1, args), 0);
	slot_get();	/* one of two taken: the other is free */
	assert_int_equal(pthread_create(&th, NULL, verify_thread, &w), 0);
	for (i = 0; i < 500 && !__atomic_load_n(&w.done, __ATOMIC_SEQ_CST);
	    i++)
		usleep(10 * 1000);
	assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 1);
	slot_put();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.rc, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers_argon2_scheme),
		cmocka_unit_test(test_writes_argon2id_and_verifies),
		cmocka_unit_test(test_password_length_not_nul_terminated),
		cmocka_unit_test(test_cost_arguments_are_written),
		cmocka_unit_test(test_reference_argon2i_accepted),
		cmocka_unit_test(test_reference_argon2id_four_lanes_accepted),
		cmocka_unit_test(test_other_strings_refused),
		cmocka_unit_test(test_bad_arguments_refuse_the_load),
		cmocka_unit_test(test_cap_holds_a_verification_back),
		cmocka_unit_test(test_cap_of_two_lets_two_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
