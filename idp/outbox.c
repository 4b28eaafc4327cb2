/*
 * idp/outbox.c — deliveries to other parties, off the request thread:
 * back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.5)
 * and Security Event Tokens pushed to receivers (RFC 8935).
 *
 * The request that ends a session or emits a signal signs what it sends
 * and queues it here; it never waits for a relying party.  IDP_OUTBOX_THREADS
 * workers post each delivery (IDP_OUTBOX_TIMEOUT_MS per attempt).  A
 * delivery that fails for a reason that may pass (no connection, a
 * timeout, HTTP 429 or 5xx) is tried again IDP_OUTBOX_RETRY_MS later, and
 * four times as long after that: IDP_OUTBOX_ATTEMPTS in all.  A receiver
 * that refuses it (another 4xx) is not asked again.
 *
 * One receiver cannot hold the others up.  A receiver is an origin
 * (scheme, host and port of the URL):
 *   - it has at most one attempt in flight, so a receiver that never
 *     answers takes one worker, not all of them, while deliveries to the
 *     others go on;
 *   - after IDP_OUTBOX_DOWN_AFTER failed attempts in a row it is held
 *     down: its deliveries' attempts fail at once, without a connection,
 *     until a probe is due (IDP_OUTBOX_RETRY_MS, doubling up to
 *     IDP_OUTBOX_DOWN_MAX_MS).  Then one delivery is tried; any answer
 *     brings the receiver back up.  So the deliveries of a dead receiver
 *     are settled within their retry schedule (about 10 s) instead of
 *     filling the queue at one timeout each.
 * Logged as outbox.receiver_down / outbox.receiver_up, counted by the
 * sekimori_outbox_receivers_down gauge.
 *
 * The queue holds at most IDP_OUTBOX_MAX deliveries: past that a delivery
 * is refused (CM_ERR_RANGE).  Every delivery that is not made is logged
 * and audited (signal.sent with delivered false for a SET,
 * logout.backchannel_undelivered for a logout token).  At stop the
 * workers go on with what is queued, retries included without their
 * wait, for IDP_OUTBOX_DRAIN_MS (no attempt runs past it); what is left
 * then is dropped, and audited as not made.  A queued delivery lives only
 * in this process: a crash loses it (a logout token expires two minutes
 * after it is made).
 *
 * Bodies are wiped when freed (cm_strfree): a logout token is a signed
 * statement about a user's session, and SETs may name users.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "idp_int.h"

#define IDP_OUTBOX_THREADS	4
#define IDP_OUTBOX_MAX		1024
#define IDP_OUTBOX_ATTEMPTS	3
#define IDP_OUTBOX_RETRY_MS	2000
#define IDP_OUTBOX_TIMEOUT_MS	3000
#define IDP_OUTBOX_DRAIN_MS	5000
#define IDP_OUTBOX_DOWN_AFTER	3	/* failed attempts in a row */
#define IDP_OUTBOX_DOWN_MAX_MS	60000	/* longest wait for a probe */

/* A receiver (an origin), under the outbox mutex.  Kept while deliveries
 * refer to it or it has failed (so that failures in a row are counted
 * across deliveries); the set is bounded by the registered receivers. */
struct rcv {
	struct rcv		*next;
	char			*origin;
	size_t			 refs;		/* deliveries queued or in flight */
	int			 busy;		/* an attempt is in flight */
	unsigned		 fails;		/* failed attempts in a row */
	uint64_t		 probe_at;	/* down: when to try again */
};

struct job {
	struct job		*next;
	struct rcv		*rcv;
	enum idp_out_kind	 kind;
	char			*rid;		/* the request that made it */
	char			*url;
	char			*body;
	char			*event;		/* SET: event name; logout: sid */
	char			*jti;		/* of the SET or logout token */
	int			 attempts;
	uint64_t		 not_before;	/* cm_now_ms() */
};

struct idp_outbox {
	struct brk_app		*app;		/* metrics */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct job		*head, *tail;
	size_t			 n;
	struct rcv		*rcvs;
	int			 stopping;
	uint64_t		 deadline;	/* of the drain */
	pthread_t		 th[IDP_OUTBOX_THREADS];
	size_t			 nth;
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->rid);
	free(j->url);
	cm_strfree(&j->body);
	free(j->event);
	free(j->jti);
	free(j);
}

/* The origin of url ("scheme://host:port"), malloc'd; a URL that does
 * not parse is its own receiver.  NULL only when out of memory. */
static char *
origin_of(const char *url)
{
	char *sch = NULL, *host = NULL, *port = NULL, *out = NULL;
	CURLU *u;

	if ((u = curl_url()) != NULL &&
	    curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &sch, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK && asprintf(&out, "%s://%s:%s", sch, host, port) == -1)
		out = NULL;
	curl_free(sch);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out != NULL ? out : strdup(url);
}

static int
rcv_down(const struct rcv *rc)
{
	return rc->fails >= IDP_OUTBOX_DOWN_AFTER;
}

/* The receiver of origin (consumed), with one more reference; NULL when
 * out of memory.  Called with o->mu held. */
static struct rcv *
rcv_ref(struct idp_outbox *o, char *origin)
{
	struct rcv *rc;

	for (rc = o->rcvs; rc != NULL; rc = rc->next)
		if (strcmp(rc->origin, origin) == 0)
			break;
	if (rc == NULL) {
		if ((rc = calloc(1, sizeof(*rc))) == NULL) {
			free(origin);
			return NULL;
		}
		rc->origin = origin;
		rc->next = o->rcvs;
		o->rcvs = rc;
	} else
		free(origin);
	rc->refs++;
	return rc;
}

/* One reference less; a receiver without deliveries or failures goes.
 * Called with o->mu held. */
static void
rcv_unref(struct idp_outbox *o, struct rcv *rc)
{
	struct rcv **pp;

	if (rc == NULL || --rc->refs > 0 || rc->busy || rc->fails > 0)
		return;
	for (pp = &o->rcvs; *pp != rc; pp = &(*pp)->next)
		;
	*pp = rc->next;
	free(rc->origin);
	free(rc);
}

/* An attempt at rc ended: r is what post() said.  Called with o->mu
 * held. */
static void
rcv_answered(struct idp_outbox *o, struct rcv *rc, int r, uint64_t now)
{
	unsigned shift;
	uint64_t ms;

	rc->busy = 0;
	if (r != CM_ERR_UNAVAIL) {		/* it answered */
		if (rcv_down(rc)) {
			cm_info(NULL, "outbox.receiver_up", "{s:s}",
			    "receiver", rc->origin);
			brk_metrics_outbox_down(o->app, -1);
		}
		rc->fails = 0;
		return;
	}
	if (++rc->fails < IDP_OUTBOX_DOWN_AFTER)
		return;
	shift = rc->fails - IDP_OUTBOX_DOWN_AFTER;
	ms = (uint64_t)IDP_OUTBOX_RETRY_MS << (shift < 5 ? shift : 5);
	rc->probe_at = now + (ms < IDP_OUTBOX_DOWN_MAX_MS ? ms :
	    IDP_OUTBOX_DOWN_MAX_MS);
	if (rc->fails == IDP_OUTBOX_DOWN_AFTER) {
		cm_warn(NULL, "outbox.receiver_down", "{s:s, s:i}",
		    "receiver", rc->origin, "failed_attempts", (int)rc->fails);
		brk_metrics_outbox_down(o->app, 1);
	}
}

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p; (void)arg;
	return sz * n;
}

/* One attempt within timeout_ms: 0 delivered, CM_ERR_UNAVAIL worth
 * another try, CM_ERR_DENIED refused. */
static int
post(struct job *j, long timeout_ms)
{
	struct curl_slist *h = NULL;
	CURL *c;
	long status = 0;
	CURLcode cc;
	int r;

	if ((c = curl_easy_init()) == NULL)
		return CM_ERR_UNAVAIL;
	if (j->kind == IDP_OUT_SET) {
		h = curl_slist_append(h,
		    "Content-Type: application/secevent+jwt");
		h = curl_slist_append(h, "Accept: application/json");
	} else
		h = curl_slist_append(h,
		    "Content-Type: application/x-www-form-urlencoded");
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK || status == 429 || status >= 500)
		r = CM_ERR_UNAVAIL;
	else if (j->kind == IDP_OUT_SET ? status == 202 :
	    status == 200 || status == 204)
		r = 0;
	else
		r = CM_ERR_DENIED;
	cm_info(j->rid, j->kind == IDP_OUT_SET ? "ssf.pushed" :
	    "logout.backchannel", "{s:s, s:i, s:i, s:s}", "uri", j->url,
	    "status", (int)status, "attempt", j->attempts, "result",
	    cc != CURLE_OK ? curl_easy_strerror(cc) : r == 0 ? "delivered" :
	    r == CM_ERR_DENIED ? "refused" : "failed");
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r;
}

/* The last word on a delivery (its audit, for a SET); frees it. */
static void
settle(struct idp_outbox *o, struct job *j, int delivered)
{
	brk_metrics_outbox(o->app, j->kind == IDP_OUT_SET, delivered);
	if (j->kind == IDP_OUT_SET && cm_audit_emit(j->rid, "signal.sent",
	    "{s:s, s:s, s:s, s:b, s:i}", "event", j->event, "receiver", j->url,
	    "jti", j->jti, "delivered", delivered, "attempts",
	    j->attempts) != 0)
		cm_err(j->rid, "audit.write_failed", NULL);
	/* a client not told of a logout may keep its session: on record */
	if (!delivered && j->kind == IDP_OUT_BCL) {
		cm_warn(j->rid, "logout.backchannel_undelivered",
		    "{s:s, s:i}", "uri", j->url, "attempts", j->attempts);
		if (cm_audit_emit(j->rid, "logout.backchannel_undelivered",
		    "{s:s, s:s?, s:s?, s:i}", "uri", j->url, "sid", j->event,
		    "jti", j->jti, "attempts", j->attempts) != 0)
			cm_err(j->rid, "audit.write_failed", NULL);
	}
	job_free(j);
}

/*
 * The first job due at now (any, when stopping) whose receiver has no
 * attempt in flight, unlinked; *held is set when its receiver is down and
 * no probe is due (the attempt fails without a connection), else the
 * receiver is marked busy.  NULL when none: *wake is then the earliest
 * time a job is due (0: none, or only jobs waiting for a busy receiver,
 * whose worker signals when it is done).
 */
static struct job *
take(struct idp_outbox *o, uint64_t now, uint64_t *wake, int *held)
{
	struct job **pp, *j, *prev = NULL;

	*wake = 0;
	*held = 0;
	for (pp = &o->head; (j = *pp) != NULL; prev = j, pp = &j->next) {
		struct rcv *rc = j->rcv;

		if (!o->stopping && j->not_before > now) {
			if (*wake == 0 || j->not_before < *wake)
				*wake = j->not_before;
			continue;
		}
		if (rcv_down(rc) && now < rc->probe_at)
			*held = 1;
		else if (rc->busy)
			continue;
		else
			rc->busy = 1;
		*pp = j->next;
		if (o->tail == j)
			o->tail = prev;
		j->next = NULL;
		o->n--;
		brk_metrics_outbox_queued(o->app, -1);
		return j;
	}
	return NULL;
}

static void
append(struct idp_outbox *o, struct job *j)
{
	if (o->tail != NULL)
		o->tail->next = j;
	else
		o->head = j;
	o->tail = j;
	o->n++;
	brk_metrics_outbox_queued(o->app, 1);
}

static void *
worker(void *arg)
{
	struct idp_outbox *o = arg;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		uint64_t now = cm_now_ms(), wake;
		struct job *j;
		long tmo;
		int r, held;

		if (o->stopping && (o->head == NULL || now >= o->deadline))
			break;
		if ((j = take(o, now, &wake, &held)) == NULL) {
			if (wake == 0)
				pthread_cond_wait(&o->cv, &o->mu);
			else {
				struct timespec ts;
				uint64_t ms;

				clock_gettime(CLOCK_MONOTONIC, &ts);
				ms = wake - now;
				ts.tv_sec += (time_t)(ms / 1000);
				ts.tv_nsec += (long)(ms % 1000) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&o->cv, &o->mu, &ts);
			}
			continue;
		}
		j->attempts++;
		if (held) {
			/* its receiver is down: no connection, no worker */
			cm_info(j->rid, j->kind == IDP_OUT_SET ? "ssf.pushed" :
			    "logout.backchannel", "{s:s, s:i, s:i, s:s}", "uri",
			    j->url, "status", 0, "attempt", j->attempts,
			    "result", "receiver down");
			r = CM_ERR_UNAVAIL;
		} else {
			/* stopping: no attempt runs past the drain's deadline */
			tmo = IDP_OUTBOX_TIMEOUT_MS;
			if (o->stopping && o->deadline - now < (uint64_t)tmo)
				tmo = (long)(o->deadline - now);
			pthread_mutex_unlock(&o->mu);
			r = post(j, tmo > 0 ? tmo : 1);
			pthread_mutex_lock(&o->mu);
			rcv_answered(o, j->rcv, r, cm_now_ms());
			/* its next delivery may wait for no one now */
			pthread_cond_broadcast(&o->cv);
		}
		if (r == CM_ERR_UNAVAIL && j->attempts < IDP_OUTBOX_ATTEMPTS &&
		    !(o->stopping && cm_now_ms() >= o->deadline)) {
			/* 2 s, then 8 s */
			j->not_before = cm_now_ms() + ((uint64_t)
			    IDP_OUTBOX_RETRY_MS << (2 * (j->attempts - 1)));
			append(o, j);
			pthread_cond_signal(&o->cv);
			continue;
		}
		rcv_unref(o, j->rcv);
		j->rcv = NULL;
		pthread_mutex_unlock(&o->mu);
		settle(o, j, r == 0);
		pthread_mutex_lock(&o->mu);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

int
idp_outbox_init(struct idp *idp)
{
	struct idp_outbox *o;
	pthread_condattr_t ca;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return CM_ERR_NOMEM;
	if (pthread_mutex_init(&o->mu, NULL) != 0) {
		free(o);
		return CM_ERR_INTERNAL;
	}
	/* retries wait on the monotonic clock, as cm_now_ms() counts */
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&o->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail;
	}
	pthread_condattr_destroy(&ca);
	o->app = idp->app;
	idp->outbox = o;
	for (o->nth = 0; o->nth < IDP_OUTBOX_THREADS; o->nth++)
		if (pthread_create(&o->th[o->nth], NULL, worker, o) != 0) {
			idp_outbox_free(idp);
			return CM_ERR_INTERNAL;
		}
	return 0;
 fail:
	pthread_mutex_destroy(&o->mu);
	free(o);
	return CM_ERR_INTERNAL;
}

void
idp_outbox_free(struct idp *idp)
{
	struct idp_outbox *o;
	struct job *j;
	struct rcv *rc;
	size_t i, left = 0;

	if (idp == NULL || (o = idp->outbox) == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	o->stopping = 1;
	o->deadline = cm_now_ms() + IDP_OUTBOX_DRAIN_MS;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	for (i = 0; i < o->nth; i++)
		pthread_join(o->th[i], NULL);
	while ((j = o->head) != NULL) {
		o->head = j->next;
		left++;
		brk_metrics_outbox_queued(o->app, -1);
		j->rcv = NULL;
		settle(o, j, 0);
	}
	if (left > 0)
		cm_warn(NULL, "outbox.dropped", "{s:I}", "deliveries",
		    (json_int_t)left);
	while ((rc = o->rcvs) != NULL) {
		o->rcvs = rc->next;
		if (rcv_down(rc))
			brk_metrics_outbox_down(o->app, -1);
		free(rc->origin);
		free(rc);
	}
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
	idp->outbox = NULL;
}

int
idp_outbox_put(struct idp *idp, const char *rid, enum idp_out_kind kind,
    const char *url, const char *body, const char *event, const char *jti)
{
	struct idp_outbox *o = idp->outbox;
	struct job *j;
	char *origin = NULL;
	int full = 0, stopping;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (origin = origin_of(url)) == NULL ||
	    (rid != NULL && (j->rid = strdup(rid)) == NULL) ||
	    (j->url = strdup(url)) == NULL ||
	    (j->body = strdup(body)) == NULL ||
	    (event != NULL && (j->event = strdup(event)) == NULL) ||
	    (jti != NULL && (j->jti = strdup(jti)) == NULL)) {
		cm_err(rid, "outbox.nomem", "{s:s}", "uri", url);
		free(origin);
		job_free(j);
		return CM_ERR_NOMEM;
	}
	j->kind = kind;
	pthread_mutex_lock(&o->mu);
	if ((stopping = o->stopping) == 0 &&
	    (full = o->n >= IDP_OUTBOX_MAX) == 0) {
		if ((j->rcv = rcv_ref(o, origin)) == NULL) {
			pthread_mutex_unlock(&o->mu);
			cm_err(rid, "outbox.nomem", "{s:s}", "uri", url);
			settle(o, j, 0);
			return CM_ERR_NOMEM;
		}
		append(o, j);
		pthread_cond_signal(&o->cv);
	} else
		free(origin);
	pthread_mutex_unlock(&o->mu);
	if (stopping || full) {
		cm_err(rid, stopping ? "outbox.stopping" : "outbox.full",
		    "{s:s, s:i}", "uri", url, "max", IDP_OUTBOX_MAX);
		settle(o, j, 0);
		return CM_ERR_RANGE;
	}
	return 0;
}
