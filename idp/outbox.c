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
 * The queue holds at most IDP_OUTBOX_MAX deliveries: past that a delivery
 * is refused (CM_ERR_RANGE).  Every delivery that is not made is logged
 * and audited (signal.sent with delivered false for a SET,
 * logout.backchannel_undelivered for a logout token).  At stop the
 * workers go on with what is queued, retries included without their
 * wait, for IDP_OUTBOX_DRAIN_MS (no attempt runs past it); what is left
 * then is dropped, and audited as not made.  A queued delivery lives only in this process: a
 * crash loses it (a logout token expires two minutes after it is made).
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

#define IDP_OUTBOX_THREADS	2
#define IDP_OUTBOX_MAX		1024
#define IDP_OUTBOX_ATTEMPTS	3
#define IDP_OUTBOX_RETRY_MS	2000
#define IDP_OUTBOX_TIMEOUT_MS	3000
#define IDP_OUTBOX_DRAIN_MS	5000

struct job {
	struct job		*next;
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

/* The first job due at now (any, when stopping), unlinked; else NULL and
 * *wake the earliest time one is due (0: none queued). */
static struct job *
take(struct idp_outbox *o, uint64_t now, uint64_t *wake)
{
	struct job **pp, *j, *prev = NULL;

	*wake = 0;
	for (pp = &o->head; (j = *pp) != NULL; prev = j, pp = &j->next) {
		if (o->stopping || j->not_before <= now) {
			*pp = j->next;
			if (o->tail == j)
				o->tail = prev;
			j->next = NULL;
			o->n--;
			brk_metrics_outbox_queued(o->app, -1);
			return j;
		}
		if (*wake == 0 || j->not_before < *wake)
			*wake = j->not_before;
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
		int r;

		if (o->stopping && (o->head == NULL || now >= o->deadline))
			break;
		if ((j = take(o, now, &wake)) == NULL) {
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
		/* stopping: no attempt runs past the drain's deadline */
		tmo = IDP_OUTBOX_TIMEOUT_MS;
		if (o->stopping && o->deadline - now < (uint64_t)tmo)
			tmo = (long)(o->deadline - now);
		pthread_mutex_unlock(&o->mu);
		j->attempts++;
		r = post(j, tmo > 0 ? tmo : 1);
		pthread_mutex_lock(&o->mu);
		if (r == CM_ERR_UNAVAIL && j->attempts < IDP_OUTBOX_ATTEMPTS &&
		    !(o->stopping && cm_now_ms() >= o->deadline)) {
			/* 2 s, then 8 s */
			j->not_before = cm_now_ms() + ((uint64_t)
			    IDP_OUTBOX_RETRY_MS << (2 * (j->attempts - 1)));
			append(o, j);
			pthread_cond_signal(&o->cv);
			continue;
		}
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
		settle(o, j, 0);
	}
	if (left > 0)
		cm_warn(NULL, "outbox.dropped", "{s:I}", "deliveries",
		    (json_int_t)left);
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
	int full = 0, stopping;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (rid != NULL && (j->rid = strdup(rid)) == NULL) ||
	    (j->url = strdup(url)) == NULL ||
	    (j->body = strdup(body)) == NULL ||
	    (event != NULL && (j->event = strdup(event)) == NULL) ||
	    (jti != NULL && (j->jti = strdup(jti)) == NULL)) {
		cm_err(rid, "outbox.nomem", "{s:s}", "uri", url);
		job_free(j);
		return CM_ERR_NOMEM;
	}
	j->kind = kind;
	pthread_mutex_lock(&o->mu);
	if ((stopping = o->stopping) == 0 &&
	    (full = o->n >= IDP_OUTBOX_MAX) == 0) {
		append(o, j);
		pthread_cond_signal(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	if (stopping || full) {
		cm_err(rid, stopping ? "outbox.stopping" : "outbox.full",
		    "{s:s, s:i}", "uri", url, "max", IDP_OUTBOX_MAX);
		settle(o, j, 0);
		return CM_ERR_RANGE;
	}
	return 0;
}
