/* Unit tests for the audit stream's group commit (common/log.c): records
 * from many threads all land, once each, as whole JSON lines; a failing
 * stream is reported to the caller (never silently lost). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/cm.h"

#define THREADS	8
#define EACH	400

static void *
writer(void *arg)
{
	long id = (long)arg;
	int i;

	for (i = 0; i < EACH; i++)
		if (cm_audit_emit(NULL, "test.record", "{s:i, s:i}", "t",
		    (int)id, "i", i) != 0)
			return (void *)1;
	return NULL;
}

static void
test_concurrent_records_all_land_once(void **state)
{
	char path[] = "/tmp/skm-audit-XXXXXX";
	pthread_t t[THREADS];
	static uint8_t seen[THREADS][EACH];
	char line[512];
	void *ret;
	FILE *f;
	long i;
	int fd, n = 0;

	(void)state;
	memset(seen, 0, sizeof(seen));
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	assert_int_equal(cm_audit_open(path), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer,
		    (void *)i), 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);		/* every emit said durable */
	}
	cm_audit_close();
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *o = json_loads(line, 0, NULL);
		json_int_t tt, ii;

		assert_non_null(o);		/* a whole JSON line */
		assert_int_equal(json_unpack(o, "{s:I, s:I}", "t", &tt,
		    "i", &ii), 0);
		assert_false(seen[tt][ii]);	/* once */
		seen[tt][ii] = 1;
		json_decref(o);
		n++;
	}
	fclose(f);
	unlink(path);
	assert_int_equal(n, THREADS * EACH);	/* all */
}

static void
test_closed_stream_reports_failure(void **state)
{
	(void)state;
	cm_audit_close();
	assert_int_not_equal(cm_audit_emit(NULL, "test.lost", NULL), 0);
}

static void
test_full_disk_reports_failure(void **state)
{
	(void)state;
	/* /dev/full: every write fails with ENOSPC */
	if (access("/dev/full", W_OK) != 0)
		fail_msg("/dev/full is needed for this test");
	assert_int_equal(cm_audit_open("/dev/full"), 0);
	assert_int_not_equal(cm_audit_emit(NULL, "test.lost", "{s:s}",
	    "why", "disk full"), 0);
	cm_audit_close();
}

/* A batch that only half fits (disk full) leaves no torn line behind:
 * the file holds whole JSON lines only, and later records are intact. */
static void
test_torn_batch_truncated(void **state)
{
	char path[] = "/tmp/skm-audit-XXXXXX", big[600], line[2048];
	struct rlimit old, lim;
	struct stat st;
	FILE *f;
	int fd, n = 0;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	signal(SIGXFSZ, SIG_IGN);		/* EFBIG instead of a signal */
	assert_int_equal(cm_audit_open(path), 0);
	assert_int_equal(cm_audit_emit(NULL, "first", "{s:s}", "k", "v"), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 100;	/* half a record fits */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_not_equal(cm_audit_emit(NULL, "torn", "{s:s}", "big",
	    big), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(cm_audit_emit(NULL, "after", "{s:s}", "k", "v"), 0);
	cm_audit_close();
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *o = json_loads(line, 0, NULL);

		assert_non_null(o);		/* no half line anywhere */
		assert_string_not_equal(json_string_value(json_object_get(o,
		    "event")), "torn");
		json_decref(o);
		n++;
	}
	fclose(f);
	unlink(path);
	assert_int_equal(n, 2);			/* first and after */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_records_all_land_once),
		cmocka_unit_test(test_closed_stream_reports_failure),
		cmocka_unit_test(test_full_disk_reports_failure),
		cmocka_unit_test(test_torn_batch_truncated),
	};

	if (cm_init() != 0 || cm_log_open("/dev/null", CM_LOG_ERR) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
