/* common/log.c — JSON-lines logs and the fsync'ed audit stream. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cm.h"

/*
 * The operational log.  A line is one write(2).  Where the kernel keeps
 * concurrent writes whole (a regular file opened for appending, or a pipe
 * and a line of at most PIPE_BUF bytes) threads write at once; elsewhere
 * (a socket, a terminal) log_mtx orders them.  With one mutex for every
 * line, 32 HTTP threads at info level queued on it: about 1.8 futex calls
 * per token, the most of any lock on that path (strace -c, bench/notes.md).
 * log_rw only guards log_fd against cm_log_open/close: writers share it
 * (no system call unless the fd is being swapped), and it prefers the
 * swapper, so a reopen is not starved.  (A short write, on a full disk,
 * may let another line in between its two parts.)
 */
enum log_sink { SINK_SERIAL, SINK_APPEND, SINK_PIPE };

static pthread_rwlock_t	 log_rw =
    PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_mutex_t	 log_mtx = PTHREAD_MUTEX_INITIALIZER;
static int		 log_fd = STDERR_FILENO;
static enum log_sink	 log_sink = SINK_SERIAL;
static enum cm_log_level log_min = CM_LOG_INFO;

/*
 * The audit stream with group commit.  A caller appends its record to the
 * open batch and sleeps until that batch is on disk; one flusher thread
 * (started by the first record) takes the whole open batch, writes it with
 * one write(2) and one fdatasync(2), publishes the result and wakes the
 * batch's callers, then at once takes the batch that filled meanwhile.
 * Every caller returns only when its own record is on disk (or its batch
 * failed): durability per record, one sync per batch.
 *
 * Why a thread: before it, the first waiter of a batch led its flush.  On a
 * busy machine the waiter woken to lead sat in the run queue while the disk
 * idled and every caller of the next batch waited behind it.  The flusher
 * goes from one fdatasync to the next without being scheduled in between.
 *
 * Callers sleep on a futex, not on a condition variable: FUTEX_WAIT_BITSET
 * on audit_done32 with the bit of their batch, without the mutex, and read
 * their result lock-free.  With a condition variable every flush woke every
 * waiter and each re-took audit_mtx: at 32 threads that mutex was most of
 * the futex calls on the token path (perf, bench/notes.md).  Only two
 * batches have waiters at once (the one being written and the open one),
 * so 32 bits never alias.
 */
#define AUDIT_RING	1024		/* results of recent batches */
#define AUDIT_MAX_BATCH	(4u << 20)	/* bytes pending before callers wait */

static pthread_mutex_t	 audit_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 audit_cv = PTHREAD_COND_INITIALIZER;	/* flushed */
static pthread_cond_t	 audit_work_cv;		/* to the flusher (monotonic) */
static int		 audit_fd = -1;
static struct cm_buf	 audit_pending;		/* the open batch */
static uint64_t		 audit_batch = 1;	/* id of the open batch */
static uint64_t		 audit_done;		/* last batch flushed (atomic) */
static uint32_t		 audit_done32;		/* its low bits: the futex */
static int		 audit_flushing;	/* a batch is being written */
static int		 audit_flusher;		/* the thread is running */
static int		 audit_idle;		/* it waits on audit_work_cv */
static int8_t		 audit_result[AUDIT_RING];	/* 0 ok, -1 failed (atomic) */
/*
 * Gathering: when the last batch held more than one record (records are
 * arriving concurrently) and the open one holds fewer, the flusher waits up
 * to AUDIT_GATHER_US for as many records as the last batch had, so that
 * requests arriving one after another share one sync (bench/RESULTS.md:
 * ~0.96 fdatasync per token without it).  It stops waiting as soon as the
 * batch is that large: a fixed wait put a floor of 300 us under every
 * batch.  A lone request never waits.
 */
#define AUDIT_GATHER_US	300
static int		 audit_gathering;
static size_t		 audit_pending_n;	/* records in the open batch */
static size_t		 audit_last_n;		/* records in the last one */
/* the hook and its argument, under audit_hook_mtx (held while it runs) */
static pthread_mutex_t	 audit_hook_mtx = PTHREAD_MUTEX_INITIALIZER;
static void		(*audit_hook)(void *, uint64_t);
static void		*audit_hook_arg;

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

/* What fd is as a log: whether the kernel keeps concurrent lines whole. */
static enum log_sink
sink_of(int fd)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) != 0 || (fl = fcntl(fd, F_GETFL)) == -1)
		return SINK_SERIAL;
	if (S_ISREG(st.st_mode) && (fl & O_APPEND) != 0)
		return SINK_APPEND;
	if (S_ISFIFO(st.st_mode))
		return SINK_PIPE;
	return SINK_SERIAL;
}

int
cm_log_open(const char *path, enum cm_log_level min)
{
	int fd = STDERR_FILENO, old;
	enum log_sink sink;

	if (path != NULL && strcmp(path, "-") != 0 &&
	    (fd = open_append(path)) == -1)
		return CM_ERR_IO;
	sink = sink_of(fd);
	pthread_rwlock_wrlock(&log_rw);
	old = log_fd;
	log_fd = fd;
	log_sink = sink;
	log_min = min;
	pthread_rwlock_unlock(&log_rw);
	/* no writer holds old now: they write under log_rw */
	if (old != STDERR_FILENO && old != fd)
		close(old);
	return 0;
}

void
cm_log_close(void)
{
	pthread_rwlock_wrlock(&log_rw);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	log_sink = sink_of(STDERR_FILENO);
	pthread_rwlock_unlock(&log_rw);
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

/*
 * RFC 3339 UTC with milliseconds.  The part up to the seconds is kept per
 * thread for the second it was made: gmtime_r and snprintf ran for every
 * log and audit record (two per token at 15,000/s).
 */
static void
iso_time(char *buf, size_t sz)
{
	static __thread time_t last = -1;
	static __thread char head[32];
	static __thread size_t headlen;
	struct timespec ts;
	struct tm tm;
	long ms;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last) {
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		if (n < 0 || (size_t)n >= sizeof(head)) {
			last = -1;
			snprintf(buf, sz, "1970-01-01T00:00:00.000Z");
			return;
		}
		headlen = (size_t)n;
		last = ts.tv_sec;
	}
	if (sz < headlen + 6)
		return;
	ms = (long)(ts.tv_nsec / 1000000) % 1000;
	memcpy(buf, head, headlen);
	buf[headlen] = '.';
	buf[headlen + 1] = (char)('0' + ms / 100);
	buf[headlen + 2] = (char)('0' + ms / 10 % 10);
	buf[headlen + 3] = (char)('0' + ms % 10);
	buf[headlen + 4] = 'Z';
	buf[headlen + 5] = '\0';
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

/*
 * The record as one line ending in a newline: in buf when it fits (almost
 * always: no allocation on the hot path), else in a new allocation left in
 * *heap for the caller to free.  NULL on failure.
 */
#define RECORD_BUF	2048

static char *
record_line(json_t *o, char *buf, size_t bufsz, size_t *len, char **heap)
{
	size_t n;
	char *s;

	*heap = NULL;
	n = json_dumpb(o, buf, bufsz - 1, JSON_COMPACT);
	if (n > 0 && n < bufsz - 1) {
		buf[n] = '\n';
		*len = n + 1;
		return buf;
	}
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
	*heap = s;
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
	char src[128], buf[RECORD_BUF], *heap;
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
	s = record_line(o, buf, sizeof(buf), &n, &heap);
	json_decref(o);
	if (s == NULL)
		return;
	pthread_rwlock_rdlock(&log_rw);
	if (log_sink == SINK_APPEND || (log_sink == SINK_PIPE &&
	    n <= PIPE_BUF))
		(void)write_all(log_fd, s, n);
	else {
		pthread_mutex_lock(&log_mtx);
		(void)write_all(log_fd, s, n);
		pthread_mutex_unlock(&log_mtx);
	}
	pthread_rwlock_unlock(&log_rw);
	free(heap);
}

int
cm_audit_open(const char *path)
{
	int fd, old;

	if ((fd = open_append(path)) == -1)
		return CM_ERR_IO;
	pthread_mutex_lock(&audit_mtx);
	while (audit_flushing)		/* the flusher is using the old one */
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
	/* the records already accepted go to disk first */
	while (audit_flushing || audit_pending_n > 0) {
		pthread_cond_signal(&audit_work_cv);
		pthread_cond_wait(&audit_cv, &audit_mtx);
	}
	if (audit_fd != -1)
		close(audit_fd);
	audit_fd = -1;
	cm_buf_free(&audit_pending);
	audit_last_n = 0;
	pthread_mutex_unlock(&audit_mtx);
}

static uint32_t
batch_bit(uint64_t id)
{
	return 1u << (id % 32);
}

static void
futex_wake(uint32_t bits)
{
	(void)syscall(SYS_futex, &audit_done32, FUTEX_WAKE_BITSET |
	    FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, bits);
}

/* Sleep until audit_done32 moves from seen or a wake for bits. */
static void
futex_wait(uint32_t seen, uint32_t bits)
{
	(void)syscall(SYS_futex, &audit_done32, FUTEX_WAIT_BITSET |
	    FUTEX_PRIVATE_FLAG, seen, NULL, NULL, bits);
}

/*
 * Flusher, audit_mtx held, records pending: wait up to AUDIT_GATHER_US for
 * the open batch to reach the size of the last one.
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
	while (audit_pending_n < audit_last_n &&
	    pthread_cond_timedwait(&audit_work_cv, &audit_mtx, &until) == 0)
		;
	audit_gathering = 0;
}

/* Flusher: the open batch goes to disk.  Called and returns with
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
	futex_wake(batch_bit(id));
}

static void *
audit_flusher_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&audit_mtx);
	for (;;) {
		while (audit_pending_n == 0) {
			audit_idle = 1;
			pthread_cond_wait(&audit_work_cv, &audit_mtx);
			audit_idle = 0;
		}
		if (audit_last_n > 1 && audit_pending_n < audit_last_n)
			audit_gather_locked();
		audit_flush_locked();
		{
			uint64_t done = audit_done;

			pthread_mutex_unlock(&audit_mtx);
			pthread_mutex_lock(&audit_hook_mtx);
			if (audit_hook != NULL)
				audit_hook(audit_hook_arg, done);
			pthread_mutex_unlock(&audit_hook_mtx);
			pthread_mutex_lock(&audit_mtx);
		}
	}
	return NULL;
}

/* With audit_mtx held: the flusher runs, or CM_ERR_NOMEM.  It blocks every
 * signal (they are for the thread that waits on them). */
static int
audit_flusher_start_locked(void)
{
	pthread_condattr_t ca;
	pthread_attr_t a;
	pthread_t t;
	sigset_t all, old;
	int r;

	if (audit_flusher)
		return 0;
	if (pthread_condattr_init(&ca) != 0)
		return CM_ERR_NOMEM;
	r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&audit_work_cv, &ca) != 0;
	pthread_condattr_destroy(&ca);
	if (r || pthread_attr_init(&a) != 0)
		return CM_ERR_NOMEM;
	(void)pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&t, &a, audit_flusher_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (r != 0) {
		pthread_cond_destroy(&audit_work_cv);
		return CM_ERR_NOMEM;
	}
	audit_flusher = 1;
	return 0;
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

void
cm_audit_set_hook(void (*fn)(void *, uint64_t), void *arg)
{
	/* once this returns, an old hook is not running and will not run */
	pthread_mutex_lock(&audit_hook_mtx);
	audit_hook = fn;
	audit_hook_arg = arg;
	pthread_mutex_unlock(&audit_hook_mtx);
}

int
cm_audit_ticket_done(uint64_t ticket, int *result)
{
	if (__atomic_load_n(&audit_done, __ATOMIC_ACQUIRE) < ticket)
		return 0;
	*result = audit_result_of(ticket);
	return 1;
}

/*
 * Append one record to the open batch; *mine is its batch and *seen the
 * futex value to wait from.  The flusher is woken when it sleeps or when a
 * gathered batch is full.
 */
static int
audit_append_v(const char *rid, const char *event, uint64_t *mine,
    uint32_t *seen, const char *fmt, va_list ap)
{
	char buf[RECORD_BUF], *heap;
	json_t *o;
	char *s;
	size_t n;
	int r;

	o = build_record(NULL, rid, event, NULL, fmt, ap);
	if (o == NULL)
		return CM_ERR_NOMEM;
	s = record_line(o, buf, sizeof(buf), &n, &heap);
	json_decref(o);
	if (s == NULL)
		return CM_ERR_NOMEM;
	pthread_mutex_lock(&audit_mtx);
	if (audit_fd == -1) {
		r = CM_ERR_UNAVAIL;
		goto out;
	}
	if ((r = audit_flusher_start_locked()) != 0)
		goto out;
	if (audit_pending.max == 0)
		cm_buf_init(&audit_pending, AUDIT_MAX_BATCH, 0);
	/* a full open batch: wait until the flusher has taken it */
	while (audit_pending.len + n > audit_pending.max &&
	    audit_pending_n > 0) {
		pthread_cond_signal(&audit_work_cv);
		pthread_cond_wait(&audit_cv, &audit_mtx);
	}
	if ((r = cm_buf_append(&audit_pending, s, n)) != 0)
		goto out;
	audit_pending_n++;
	*mine = audit_batch;
	*seen = audit_done32;
	if (audit_idle || (audit_gathering && audit_pending_n >= audit_last_n))
		pthread_cond_signal(&audit_work_cv);
 out:
	pthread_mutex_unlock(&audit_mtx);
	free(heap);
	return r;
}

int
cm_audit_vappend(const char *rid, const char *event, uint64_t *ticket,
    const char *fmt, va_list ap)
{
	uint32_t seen;
	int r;

	*ticket = 0;
	r = audit_append_v(rid, event, ticket, &seen, fmt, ap);
	if (r != 0)
		cm_err(rid, "audit.write_failed", "{s:s, s:s}",
		    "audit_event", event, "error", cm_strerror(r));
	return r;
}

int
cm_audit_append(const char *rid, const char *event, uint64_t *ticket,
    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cm_audit_vappend(rid, event, ticket, fmt, ap);
	va_end(ap);
	return r;
}

int
cm_audit_emit(const char *rid, const char *event, const char *fmt, ...)
{
	uint64_t mine = 0;
	uint32_t seen = 0;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = audit_append_v(rid, event, &mine, &seen, fmt, ap);
	va_end(ap);
	if (r != 0)
		goto out;
	while (__atomic_load_n(&audit_done, __ATOMIC_ACQUIRE) < mine) {
		futex_wait(seen, batch_bit(mine));
		seen = __atomic_load_n(&audit_done32, __ATOMIC_ACQUIRE);
	}
	r = audit_result_of(mine);
 out:
	if (r != 0)
		cm_err(rid, "audit.write_failed", "{s:s, s:s}",
		    "audit_event", event, "error", cm_strerror(r));
	return r;
}
