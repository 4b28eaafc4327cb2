/* Unit tests for common/: base64url strictness, bounded parsing, buffers,
 * log sanitising, log lines written by many threads across reopens, the
 * error catalogue, constant-time comparison. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/cm.h"

static void
test_b64url_roundtrip(void **state)
{
	const uint8_t in[] = { 0xfb, 0xff, 0xbf, 0x00, 0x01, 0x02, 0xfe };
	uint8_t *dec = NULL;
	size_t declen = 0, n;
	char *enc = NULL;

	(void)state;
	for (n = 0; n <= sizeof(in); n++) {
		assert_int_equal(cm_b64url_encode(in, n, &enc), 0);
		assert_null(strpbrk(enc, "+/="));
		assert_int_equal(cm_b64url_decode(enc, strlen(enc), &dec,
		    &declen), 0);
		assert_int_equal(declen, n);
		assert_memory_equal(dec, in, n);
		free(enc);
		free(dec);
	}
}

static void
test_b64url_rfc4648_vector(void **state)
{
	char *enc = NULL;

	(void)state;
	assert_int_equal(cm_b64url_encode((const uint8_t *)"foobar", 6,
	    &enc), 0);
	assert_string_equal(enc, "Zm9vYmFy");
	free(enc);
	assert_int_equal(cm_b64url_encode((const uint8_t *)"fo", 2, &enc), 0);
	assert_string_equal(enc, "Zm8");
	free(enc);
}

static void
expect_b64_rejected(const char *s)
{
	uint8_t *dec = (uint8_t *)1;
	size_t declen = 1;

	assert_int_equal(cm_b64url_decode(s, strlen(s), &dec, &declen),
	    CM_ERR_INVAL);
	assert_null(dec);
	assert_int_equal(declen, 0);
}

static void test_b64url_padding_rejected(void **s) { (void)s;
	expect_b64_rejected("Zm8="); }
static void test_b64url_std_alphabet_rejected(void **s) { (void)s;
	expect_b64_rejected("+/8"); }
static void test_b64url_trailing_bits_rejected(void **s) { (void)s;
	expect_b64_rejected("Zm9"); /* 'Zm8' is canonical */ }
static void test_b64url_bad_length_rejected(void **s) { (void)s;
	expect_b64_rejected("Zm9vY"); }
static void test_b64url_whitespace_rejected(void **s) { (void)s;
	expect_b64_rejected("Zm9v YmFy"); }

static void
test_b64url_embedded_nul_rejected(void **state)
{
	uint8_t *dec = NULL;
	size_t declen = 0;

	(void)state;
	assert_int_equal(cm_b64url_decode("Zm9v\0mFy", 8, &dec, &declen),
	    CM_ERR_INVAL);
}

static void
test_parse_ll(void **state)
{
	long long v = 0;

	(void)state;
	assert_int_equal(cm_parse_ll("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cm_parse_ll("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(cm_parse_ll("101", 0, 100, &v), CM_ERR_RANGE);
	assert_int_equal(cm_parse_ll("", 0, 100, &v), CM_ERR_INVAL);
	assert_int_equal(cm_parse_ll(" 1", 0, 100, &v), CM_ERR_INVAL);
	assert_int_equal(cm_parse_ll("+1", 0, 100, &v), CM_ERR_INVAL);
	assert_int_equal(cm_parse_ll("1x", 0, 100, &v), CM_ERR_INVAL);
	assert_int_equal(cm_parse_ll("99999999999999999999", 0, 100, &v),
	    CM_ERR_RANGE);
	assert_int_equal(v, -5);	/* untouched on failure */
}

static void
test_buf_limit(void **state)
{
	struct cm_buf b;

	(void)state;
	cm_buf_init(&b, 10, 1);
	assert_int_equal(cm_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(cm_buf_append(&b, "x", 1), CM_ERR_RANGE);
	assert_int_equal(b.len, 10);
	assert_int_equal(cm_buf_cstr(&b), 0);
	assert_string_equal((char *)b.data, "0123456789");
	cm_buf_free(&b);
	assert_null(b.data);
	cm_buf_init(&b, 8, 0);
	assert_int_equal(cm_buf_appendf(&b, "%d-%s", 12, "ab"), 0);
	assert_int_equal(cm_buf_appendf(&b, "%s", "toolong"), CM_ERR_RANGE);
	assert_int_equal(b.len, 5);
	cm_buf_free(&b);
}

static void
test_log_sanitize(void **state)
{
	char out[16];

	(void)state;
	cm_log_sanitize(out, sizeof(out), "a\nb\rc\x1b\xff", 7);
	assert_string_equal(out, "a?b?c??");
	cm_log_sanitize(out, 4, "abcdef", 6);
	assert_string_equal(out, "abc");
}

static void
test_errcat_codes_unique_and_complete(void **state)
{
	const struct cm_errdef *e;
	size_t n, i, j;
	int id;

	(void)state;
	e = cm_errcat_all(&n);
	assert_int_equal(n, CM_E_MAX - 1);
	for (id = 1; id < CM_E_MAX; id++)
		assert_int_equal(cm_errcat_get((enum cm_eid)id)->id, id);
	for (i = 0; i < n; i++) {
		assert_int_equal(strlen(e[i].code), 8);
		assert_memory_equal(e[i].code, "SKM-", 4);
		assert_true(e[i].http_status >= 400 && e[i].http_status < 600);
		assert_true(strlen(e[i].msg_en) > 0 && strlen(e[i].msg_ja) > 0);
		for (j = i + 1; j < n; j++) {
			assert_string_not_equal(e[i].code, e[j].code);
			assert_int_not_equal(e[i].id, e[j].id);
		}
	}
	/* an unknown id maps to the internal error, never NULL */
	assert_int_equal(cm_errcat_get((enum cm_eid)9999)->id, CM_E_INTERNAL);
}

static void
test_ct_streq(void **state)
{
	(void)state;
	assert_true(cm_ct_streq("secret", "secret"));
	assert_false(cm_ct_streq("secret", "secreT"));
	assert_false(cm_ct_streq("secret", "secret2"));
	assert_false(cm_ct_streq(NULL, "x"));
}

static void
test_random_rid(void **state)
{
	char a[CM_RID_LEN + 1], b[CM_RID_LEN + 1];
	size_t i;

	(void)state;
	assert_int_equal(cm_random_rid(a), 0);
	assert_int_equal(cm_random_rid(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_string_not_equal(a, b);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
}

#define LOGT_THREADS	8
#define LOGT_LINES	2000

static void *
logt_writer(void *arg)
{
	int t = (int)(intptr_t)arg, i;
	char pad[201];

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (i = 0; i < LOGT_LINES; i++)
		cm_info(NULL, "logt.line", "{s:i, s:i, s:s}", "t", t, "i", i,
		    "pad", pad);
	return NULL;
}

/* Lines of path: each must be a whole record of ours; seen[t][i] set. */
static size_t
logt_read(const char *path, unsigned char seen[][LOGT_LINES])
{
	char line[4096];
	size_t n = 0;
	FILE *f;

	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);
		json_int_t t = -1, i = -1;

		assert_non_null(o);
		assert_int_equal(json_unpack(o, "{s:I, s:I}", "t", &t, "i", &i),
		    0);
		assert_true(t >= 0 && t < LOGT_THREADS && i >= 0 &&
		    i < LOGT_LINES);
		assert_int_equal(seen[t][i], 0);	/* once */
		seen[t][i] = 1;
		json_decref(o);
		n++;
	}
	fclose(f);
	return n;
}

/*
 * Eight threads log at once while the log is reopened, alternately on two
 * files, 4,000 times: every line lands whole, once, in one of the files
 * (writers share the log without a lock; the swap waits for them).
 */
static void
test_log_lines_whole_across_threads_and_reopen(void **state)
{
	static unsigned char seen[LOGT_THREADS][LOGT_LINES];
	char dir[] = "/tmp/skm-logt-XXXXXX", a[64], b[64];
	pthread_t th[LOGT_THREADS];
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a.log", dir);
	snprintf(b, sizeof(b), "%s/b.log", dir);
	assert_int_equal(cm_log_open(a, CM_LOG_INFO), 0);
	for (i = 0; i < LOGT_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, logt_writer,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < 4000; i++) {
		assert_int_equal(cm_log_open(i % 2 ? a : b, CM_LOG_INFO), 0);
		if (i % 64 == 0)
			usleep(100);
	}
	for (i = 0; i < LOGT_THREADS; i++)
		pthread_join(th[i], NULL);
	cm_log_close();
	assert_int_equal(logt_read(a, seen) + logt_read(b, seen),
	    LOGT_THREADS * LOGT_LINES);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_b64url_rfc4648_vector),
		cmocka_unit_test(test_b64url_padding_rejected),
		cmocka_unit_test(test_b64url_std_alphabet_rejected),
		cmocka_unit_test(test_b64url_trailing_bits_rejected),
		cmocka_unit_test(test_b64url_bad_length_rejected),
		cmocka_unit_test(test_b64url_whitespace_rejected),
		cmocka_unit_test(test_b64url_embedded_nul_rejected),
		cmocka_unit_test(test_parse_ll),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_log_sanitize),
		cmocka_unit_test(test_log_lines_whole_across_threads_and_reopen),
		cmocka_unit_test(test_errcat_codes_unique_and_complete),
		cmocka_unit_test(test_ct_streq),
		cmocka_unit_test(test_random_rid),
	};

	if (cm_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
