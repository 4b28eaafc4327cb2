/* common/log.c — JSON-lines logs and the fsync'ed audit stream. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cm.h"

static pthread_mutex_t	 log_mtx = PTHREAD_MUTEX_INITIALIZER;
static int		 log_fd = STDERR_FILENO;
static enum cm_log_level log_min = CM_LOG_INFO;

/*
 * The audit stream with group commit: a record is appended to the pending
 * batch; the first waiter whose batch is not yet durable becomes the leader,
 * takes the whole batch, writes it with one write(2) and one fdatasync(2),
 * and wakes everyone.  Every caller returns only when its own record is on
 * disk (or its batch failed): durability per record, one sync per batch.
 *
 * Waiting is on a futex, not on audit_cv: a waiter sleeps on the bit of the
 * batch it waits for (FUTEX_WAIT_BITSET on audit_done32), without the
 * mutex.  A finished flush wakes every waiter of its batch, which read
 * their result lock-free and return, and exactly one waiter of the next
 * batch, which leads it.  With a condition variable every flush woke every
 * waiter and each re-took audit_mtx: at 32 threads that mutex was most of
 * the futex calls on the token path (perf, bench/notes.md).  Only two
 * batches can have waiters at once (the one in flight and the open one),
 * so 31 bits never alias; bit 31 wakes a gathering leader.
 */
#define AUDIT_RING	1024		/* results of recent batches */
#define AUDIT_MAX_BATCH	(4u << 20)	/* bytes pending before callers wait */

static pthread_mutex_t	 audit_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 audit_cv = PTHREAD_COND_INITIALIZER;
static int		 audit_fd = -1;
static struct cm_buf	 audit_pending;		/* the open batch */
static uint64_t		 audit_batch = 1;	/* id of the open batch */
static uint64_t		 audit_done;		/* last batch flushed (atomic) */
static uint32_t		 audit_done32;		/* its low bits: the futex */
static int		 audit_flushing;
static int8_t		 audit_result[AUDIT_RING];	/* 0 ok, -1 failed (atomic) */
/*
 * Gathering: when the last batch held more than one record (records are
 * arriving concurrently) and the open one holds fewer, the leader waits up
 * to AUDIT_GATHER_US for as many records as the last batch had, so that
 * requests arriving one after another share one sync (bench/RESULTS.md:
 * ~0.96 fdatasync per token without it).  It stops waiting as soon as the
 * batch is that large: a fixed wait put a floor of 300 us under every
 * batch and capped the token endpoint near 11,600/s at 32 threads.  A lone
 * request never waits.
 */
#define AUDIT_GATHER_US	300
#define GATHER_BIT	(1u << 31)
static int		 audit_gathering;
static size_t		 audit_pending_n;	/* records in the open batch */
static size_t		 audit_last_n;		/* records in the last one */

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
cm_log_level_parse(const char *s, enum cm_log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum cm_log_level)i;
			return 0;
		}
	}
	return CM_ERR_INVAL;
}

static int
open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

int
cm_log_open(const char *path, enum cm_log_level min)
{
	int fd = STDERR_FILENO, old;

	if (path != NULL && strcmp(path, "-") != 0 &&
	    (fd = open_append(path)) == -1)
		return CM_ERR_IO;
	pthread_mutex_lock(&log_mtx);
	old = log_fd;
	log_fd = fd;
	log_min = min;
	pthread_mutex_unlock(&log_mtx);
	if (old != STDERR_FILENO && old != fd)
		close(old);
	return 0;
}

void
cm_log_close(void)
{
	pthread_mutex_lock(&log_mtx);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	pthread_mutex_unlock(&log_mtx);
}

char *
cm_log_sanitize(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	size_t i;

	if (dstsz == 0)
		return dst;
	for (i = 0; i < srclen && i < dstsz - 1; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[i] = '\0';
	return dst;
}

/* Truncate long string values in place (at a UTF-8 boundary). */
static void
truncate_values(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		size_t n;
		const char *s;

		if (!json_is_string(v) ||
		    (n = json_string_length(v)) <= CM_LOG_MAX_VALUE)
			continue;
		s = json_string_value(v);
		n = CM_LOG_MAX_VALUE;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		json_string_setn(v, s, n);
	}
}

static void
iso_time(char *buf, size_t sz)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, sz, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000) % 1000);
}

/* Build the line: fields first, then the fixed members (which win). */
static json_t *
build_record(const char *level, const char *rid, const char *event,
    const char *src, const char *fmt, va_list ap)
{
	char ts[80];
	json_t *o = NULL;
	json_error_t jerr;

	if (fmt != NULL) {
		o = json_vpack_ex(&jerr, 0, fmt, ap);
		if (o != NULL && !json_is_object(o)) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o == NULL) {
		if ((o = json_object()) == NULL)
			return NULL;
		if (fmt != NULL)	/* e.g. a value that is not UTF-8 */
			json_object_set_new(o, "log_error",
			    json_string("fields not loggable"));
	}
	truncate_values(o);
	iso_time(ts, sizeof(ts));
	json_object_set_new(o, "ts", json_string(ts));
	if (level != NULL)
		json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "request_id", rid ? json_string(rid) : json_null());
	if (src != NULL)
		json_object_set_new(o, "src", json_string(src));
	return o;
}

static char *
record_line(json_t *o, size_t *len)
{
	char *s;
	size_t n;

	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		return NULL;
	n = strlen(s);
	/* room for the newline: json_dumps allocates exactly n+1 */
	{
		char *t = realloc(s, n + 2);
		if (t == NULL) {
			free(s);
			return NULL;
		}
		s = t;
	}
	s[n] = '\n';
	s[n + 1] = '\0';
	*len = n + 1;
	return s;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return CM_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
cm_log_emit(enum cm_log_level lvl, const char *file, int line,
    const char *rid, const char *event, const char *fmt, ...)
{
	char src[128];
	const char *base;
	json_t *o;
	char *s;
	size_t n;
	va_list ap;

	if (lvl < log_min)
		return;
	base = strrchr(file, '/');
	snprintf(src, sizeof(src), "%s:%d", base ? base + 1 : file, line);
	va_start(ap, fmt);
	o = build_record(level_names[lvl], rid, event, src, fmt, ap);
	va_end(ap);
	if (o == NULL)
		return;
	s = record_line(o, &n);
	json_decref(o);
	if (s == NULL)
		return;
	pthread_mutex_lock(&log_mtx);
	(void)write_all(log_fd, s, n);
	pthread_mutex_unlock(&log_mtx);
	free(s);
}

int
cm_audit_open(const char *path)
{
	int fd, old;

	if ((fd = open_append(path)) == -1)
		return CM_ERR_IO;
	pthread_mutex_lock(&audit_mtx);
	while (audit_flushing)		/* a leader is using the old one */
		pthread_cond_wait(&audit_cv, &audit_mtx);
	old = audit_fd;
	audit_fd = fd;
	if (old != -1)
		close(old);
	pthread_mutex_unlock(&audit_mtx);
	return 0;
}

void
cm_audit_close(void)
{
	pthread_mutex_lock(&audit_mtx);
	while (audit_flushing)
		pthread_cond_wait(&audit_cv, &audit_mtx);
	if (audit_fd != -1)
		close(audit_fd);
	audit_fd = -1;
	cm_buf_free(&audit_pending);
	audit_pending_n = audit_last_n = 0;
	pthread_mutex_unlock(&audit_mtx);
}

static uint32_t
batch_bit(uint64_t id)
{
	return 1u << (id % 31);
}

static long
futex_wake(uint32_t bits, int n)
{
	return syscall(SYS_futex, &audit_done32, FUTEX_WAKE_BITSET |
	    FUTEX_PRIVATE_FLAG, n, NULL, NULL, bits);
}

/* Sleep until audit_done32 moves from seen, a wake for bits, or until
 * (CLOCK_MONOTONIC; NULL: no limit). */
static void
futex_wait(uint32_t seen, uint32_t bits, const struct timespec *until)
{
	(void)syscall(SYS_futex, &audit_done32, FUTEX_WAIT_BITSET |
	    FUTEX_PRIVATE_FLAG, seen, until, NULL, bits);
}

/*
 * Called by the leader with audit_mtx held and no flush in flight: wait up
 * to AUDIT_GATHER_US for the open batch to reach the size of the last one.
 * Returns with audit_mtx held.
 */
static void
audit_gather_locked(void)
{
	struct timespec until;

	(void)clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += AUDIT_GATHER_US * 1000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	audit_gathering = 1;
	while (audit_pending_n < audit_last_n) {
		uint32_t seen = audit_done32;
		struct timespec now;

		pthread_mutex_unlock(&audit_mtx);
		futex_wait(seen, GATHER_BIT, &until);
		pthread_mutex_lock(&audit_mtx);
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec &&
		    now.tv_nsec >= until.tv_nsec))
			break;
	}
	audit_gathering = 0;
}

/* Lead one flush: the open batch goes to disk.  Called and returns with
 * audit_mtx held. */
static void
audit_flush_locked(void)
{
	struct cm_buf b = audit_pending;
	uint64_t id = audit_batch;
	int fd = audit_fd, r;

	cm_buf_init(&audit_pending, AUDIT_MAX_BATCH, 0);
	audit_batch++;
	audit_last_n = audit_pending_n;
	audit_pending_n = 0;
	audit_flushing = 1;
	pthread_mutex_unlock(&audit_mtx);
	if (fd == -1)
		r = CM_ERR_UNAVAIL;
	else {
		struct stat st;
		off_t before = fstat(fd, &st) == 0 ? st.st_size : -1;

		if ((r = write_all(fd, (const char *)b.data, b.len)) == 0 &&
		    fdatasync(fd) != 0)
			r = CM_ERR_IO;
		/* a torn batch (disk full) must not glue the next records
		 * onto half a line: back to where the batch began */
		if (r != 0 && before >= 0 && ftruncate(fd, before) == 0)
			(void)fdatasync(fd);
	}
	cm_buf_free(&b);
	pthread_mutex_lock(&audit_mtx);
	__atomic_store_n(&audit_result[id % AUDIT_RING], r == 0 ? 0 : -1,
	    __ATOMIC_RELAXED);
	__atomic_store_n(&audit_done, id, __ATOMIC_RELEASE);
	__atomic_store_n(&audit_done32, (uint32_t)id, __ATOMIC_RELEASE);
	audit_flushing = 0;
	pthread_cond_broadcast(&audit_cv);	/* open, close, a full batch */
	/* everyone of this batch; one of the next, to lead it */
	(void)futex_wake(batch_bit(id), INT_MAX);
	if (audit_pending_n > 0)
		(void)futex_wake(batch_bit(id + 1), 1);
}

/* Our batch's result, once audit_done has reached it. */
static int
audit_result_of(uint64_t mine)
{
	uint64_t d = __atomic_load_n(&audit_done, __ATOMIC_ACQUIRE);

	/* the ring outlives any batch a waiter can still be asking about
	 * unless AUDIT_RING flushes passed while it slept: then unknown,
	 * which fails closed */
	return d - mine < AUDIT_RING && __atomic_load_n(
	    &audit_result[mine % AUDIT_RING], __ATOMIC_RELAXED) == 0 ?
	    0 : CM_ERR_IO;
}

int
cm_audit_emit(const char *rid, const char *event, const char *fmt, ...)
{
	json_t *o;
	char *s;
	size_t n;
	uint64_t mine;
	int r;
	va_list ap;

	va_start(ap, fmt);
	o = build_record(NULL, rid, event, NULL, fmt, ap);
	va_end(ap);
	if (o == NULL)
		return CM_ERR_NOMEM;
	s = record_line(o, &n);
	json_decref(o);
	if (s == NULL)
		return CM_ERR_NOMEM;
	pthread_mutex_lock(&audit_mtx);
	if (audit_fd == -1) {
		pthread_mutex_unlock(&audit_mtx);
		free(s);
		r = CM_ERR_UNAVAIL;
		goto out;
	}
	if (audit_pending.max == 0)
		cm_buf_init(&audit_pending, AUDIT_MAX_BATCH, 0);
	/* a full open batch: wait until a flush has taken it */
	while (audit_pending.len + n > audit_pending.max) {
		if (!audit_flushing)
			audit_flush_locked();
		else
			pthread_cond_wait(&audit_cv, &audit_mtx);
	}
	r = cm_buf_append(&audit_pending, s, n);
	free(s);
	if (r != 0) {
		pthread_mutex_unlock(&audit_mtx);
		goto out;
	}
	audit_pending_n++;
	mine = audit_batch;
	if (audit_gathering && audit_pending_n == audit_last_n)
		(void)futex_wake(GATHER_BIT, 1);	/* the batch is full */
	for (;;) {
		uint32_t seen, bit;

		if (audit_done >= mine)
			break;
		if (!audit_flushing && !audit_gathering) {
			if (audit_last_n > 1 && audit_pending_n <
			    audit_last_n && audit_batch == mine) {
				/* lead, after letting concurrent records
				 * join */
				audit_gather_locked();
				if (audit_done >= mine)
					break;
			}
			audit_flush_locked();	/* lead: flush what is there */
			continue;
		}
		/*
		 * Someone is flushing (our batch or the one before it) or
		 * gathering ours: sleep without the mutex until ours is done
		 * or we are woken to lead it.
		 */
		seen = audit_done32;
		bit = batch_bit(mine);
		pthread_mutex_unlock(&audit_mtx);
		futex_wait(seen, bit, NULL);
		if (__atomic_load_n(&audit_done, __ATOMIC_ACQUIRE) >= mine) {
			r = audit_result_of(mine);
			goto out;
		}
		pthread_mutex_lock(&audit_mtx);
	}
	r = audit_result_of(mine);
	pthread_mutex_unlock(&audit_mtx);
 out:
	if (r != 0)
		cm_err(rid, "audit.write_failed", "{s:s, s:s}",
		    "audit_event", event, "error", cm_strerror(r));
	return r;
}
