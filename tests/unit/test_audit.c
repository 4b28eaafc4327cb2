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

static char vis_path[] = "/tmp/skm-audit-vis-XXXXXX";

/* Is the record of thread t, number i, in the file? */
static int
in_file(long t, int i)
{
	char want[64], line[512];
	FILE *f;
	int found = 0;

	snprintf(want, sizeof(want), "{\"t\":%ld,\"i\":%d,", t, i);
	if ((f = fopen(vis_path, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

static void *
visible_writer(void *arg)
{
	long id = (long)arg;
	int i;

	for (i = 0; i < 50; i++)
		if (cm_audit_emit(NULL, "test.record", "{s:i, s:i}", "t",
		    (int)id, "i", i) != 0 || !in_file(id, i))
			return (void *)1;
	return NULL;
}

/* A caller returns only once its own record has been written (and synced)
 * by the flusher: never while it still sits in the open batch. */
static void
test_record_written_before_return(void **state)
{
	pthread_t t[6];
	void *ret;
	long i;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(vis_path)) != -1);
	close(fd);
	assert_int_equal(cm_audit_open(vis_path), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, visible_writer,
		    (void *)i), 0);
	for (i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	cm_audit_close();
	unlink(vis_path);
}

/* Read the audit file's lines into a JSON array. */
static json_t *
read_lines(const char *path)
{
	char line[16384];
	json_t *a = json_array();
	FILE *f;

	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *o = json_loads(line, 0, NULL);

		assert_non_null(o);
		json_array_append_new(a, o);
	}
	fclose(f);
	return a;
}

/* Timestamps are RFC 3339 UTC with milliseconds and move with the clock
 * (the seconds part is cached per thread); a record longer than the
 * on-stack buffer is written whole. */
static void
test_record_format(void **state)
{
	char path[] = "/tmp/skm-audit-fmt-XXXXXX", big[CM_LOG_MAX_VALUE + 1];
	const char *t1, *t2;
	json_t *a;
	int fd, y, mo, d, h, mi, sec, ms, sec2, ms2;
	char z;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	assert_int_equal(cm_audit_open(path), 0);
	assert_int_equal(cm_audit_emit(NULL, "one", NULL), 0);
	usleep(1100 * 1000);
	/* five values at the longest kept: over 2 KiB on one line */
	assert_int_equal(cm_audit_emit(NULL, "two",
	    "{s:s, s:s, s:s, s:s, s:s}", "a", big, "b", big, "c", big, "d",
	    big, "e", big), 0);
	cm_audit_close();
	a = read_lines(path);
	unlink(path);
	assert_int_equal(json_array_size(a), 2);
	t1 = json_string_value(json_object_get(json_array_get(a, 0), "ts"));
	t2 = json_string_value(json_object_get(json_array_get(a, 1), "ts"));
	assert_non_null(t1);
	assert_non_null(t2);
	assert_int_equal(strlen(t1), 24);
	assert_int_equal(sscanf(t1, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo,
	    &d, &h, &mi, &sec, &ms, &z), 8);
	assert_int_equal(z, 'Z');
	assert_int_equal(sscanf(t2 + 17, "%2d.%3d", &sec2, &ms2), 2);
	/* 1.1 s later: at least one second on (modulo the minute) */
	assert_true(((sec2 * 1000 + ms2) - (sec * 1000 + ms) + 60000) % 60000
	    >= 1000);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(a, 1), "e")), big);
	json_decref(a);
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
		cmocka_unit_test(test_record_written_before_return),
		cmocka_unit_test(test_record_format),
		cmocka_unit_test(test_closed_stream_reports_failure),
		cmocka_unit_test(test_full_disk_reports_failure),
		cmocka_unit_test(test_torn_batch_truncated),
	};

	if (cm_init() != 0 || cm_log_open("/dev/null", CM_LOG_ERR) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
