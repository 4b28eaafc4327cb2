/*
 * broker/metrics.c — Prometheus text exposition (format 0.0.4): requests by
 * route and status, a latency histogram, requests in flight,
 * authentication results by method, and the outbox (idp/outbox.c).
 * Lock-free: relaxed atomics only.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "broker_int.h"

static const int status_codes[] = {
	200, 201, 202, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405,
	409, 413, 415, 429, 431, 500, 502, 503, 0 /* other */
};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]))

/* upper bounds in milliseconds */
static const unsigned lat_bounds[] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000
};
#define NBUCKET (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

static const char *const auth_methods[] = {
	"password", "totp", "recovery_code", "webauthn", "client_secret",
	"private_key_jwt", "refresh_token", "other"
};
#define NAUTH (sizeof(auth_methods) / sizeof(auth_methods[0]))

struct brk_metrics {
	atomic_ulong	req[BRK_ROUTE_MAX + 1][NSTATUS];
	atomic_ulong	lat[NBUCKET + 1];
	atomic_ulong	lat_sum_ms;
	atomic_ulong	lat_count;
	atomic_long	in_flight;
	atomic_ulong	auth[NAUTH][2];
	atomic_ulong	outbox[2][2];	/* [logout|set][delivered|not] */
	atomic_long	outbox_queued;
	atomic_long	outbox_down;	/* receivers whose circuit is open */
	/* the directory's LMDB map (brk_metrics_dir_map), pages; max 0:
	 * not read */
	atomic_ulong	map_max, map_used, map_free;
	atomic_int	map_level;	/* 0, 1 from 80 %, 2 from 95 % */
};

int
brk_metrics_new(struct brk_metrics **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return CM_ERR_NOMEM;
	return 0;
}

void
brk_metrics_free(struct brk_metrics **m)
{
	if (m == NULL)
		return;
	free(*m);
	*m = NULL;
}

int
brk_metrics_inflight_acquire(struct brk_metrics *m, unsigned max)
{
	long n = atomic_fetch_add_explicit(&m->in_flight, 1,
	    memory_order_relaxed);

	if (n >= (long)max) {
		atomic_fetch_sub_explicit(&m->in_flight, 1,
		    memory_order_relaxed);
		return CM_ERR_RANGE;
	}
	return 0;
}

void
brk_metrics_inflight_release(struct brk_metrics *m)
{
	atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
}

long
brk_metrics_inflight(struct brk_metrics *m)
{
	return atomic_load_explicit(&m->in_flight, memory_order_relaxed);
}

void
brk_metrics_request(struct brk_metrics *m, int route, int status,
    uint64_t ms)
{
	size_t s, b, ri;

	ri = (route < 0 || route >= BRK_ROUTE_MAX) ? BRK_ROUTE_MAX :
	    (size_t)route;
	for (s = 0; s < NSTATUS - 1; s++)
		if (status_codes[s] == status)
			break;
	atomic_fetch_add_explicit(&m->req[ri][s], 1, memory_order_relaxed);
	for (b = 0; b < NBUCKET; b++)
		if (ms <= lat_bounds[b])
			break;
	atomic_fetch_add_explicit(&m->lat[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_sum_ms, ms, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_count, 1, memory_order_relaxed);
}

void
brk_metrics_auth(struct brk_app *app, const char *method, int ok)
{
	size_t i;

	if (app == NULL || app->metrics == NULL)
		return;
	for (i = 0; i < NAUTH - 1; i++)
		if (strcmp(auth_methods[i], method) == 0)
			break;
	atomic_fetch_add_explicit(&app->metrics->auth[i][ok ? 0 : 1], 1,
	    memory_order_relaxed);
}

void
brk_metrics_outbox(struct brk_app *app, int set, int delivered)
{
	if (app == NULL || app->metrics == NULL)
		return;
	atomic_fetch_add_explicit(&app->metrics->outbox[set ? 1 : 0]
	    [delivered ? 0 : 1], 1, memory_order_relaxed);
}

void
brk_metrics_outbox_queued(struct brk_app *app, long delta)
{
	if (app == NULL || app->metrics == NULL)
		return;
	atomic_fetch_add_explicit(&app->metrics->outbox_queued, delta,
	    memory_order_relaxed);
}

void
brk_metrics_outbox_down(struct brk_app *app, long delta)
{
	if (app == NULL || app->metrics == NULL)
		return;
	atomic_fetch_add_explicit(&app->metrics->outbox_down, delta,
	    memory_order_relaxed);
}

void
brk_metrics_dir_map(struct brk_app *app)
{
	struct brk_metrics *m;
	struct dir_map_usage u;
	uint64_t permille;
	int level, prev;

	if (app == NULL || (m = app->metrics) == NULL || app->dir == NULL)
		return;
	if (dir_map_usage(app->dir, &u) != 0)
		memset(&u, 0, sizeof(u));	/* unknown: no gauge */
	atomic_store_explicit(&m->map_max, u.pages_max, memory_order_relaxed);
	atomic_store_explicit(&m->map_used, u.pages_used,
	    memory_order_relaxed);
	atomic_store_explicit(&m->map_free, u.pages_free,
	    memory_order_relaxed);
	if (u.pages_max == 0)
		return;
	permille = (u.pages_used - u.pages_free) * 1000 / u.pages_max;
	level = permille >= 950 ? 2 : permille >= 800 ? 1 : 0;
	prev = atomic_exchange(&m->map_level, level);
	if (level > prev)
		cm_log(level == 2 ? CM_LOG_ERR : CM_LOG_WARN, NULL,
		    "directory.map_filling", "{s:f, s:I, s:I}", "in_use",
		    (double)permille / 1000.0, "pages_in_use",
		    (json_int_t)(u.pages_used - u.pages_free), "pages_max",
		    (json_int_t)u.pages_max);
	else if (level == 0 && prev > 0)
		cm_info(NULL, "directory.map_ok", "{s:f}", "in_use",
		    (double)permille / 1000.0);
}

int
brk_metrics_render(struct brk_metrics *m, const struct brk_app *app,
    struct cm_buf *o)
{
	size_t ri, s, b, i;
	unsigned long cum = 0, v;
	int r = 0;

	r |= cm_buf_appendf(o, "# HELP sekimori_http_requests_total HTTP "
	    "requests by route and status.\n"
	    "# TYPE sekimori_http_requests_total counter\n");
	for (ri = 0; ri <= BRK_ROUTE_MAX; ri++) {
		const char *name;

		if (ri < BRK_ROUTE_MAX && ri >= app->nroutes)
			continue;
		name = ri == BRK_ROUTE_MAX ? "other" : app->routes[ri].path;
		for (s = 0; s < NSTATUS; s++) {
			v = atomic_load_explicit(&m->req[ri][s],
			    memory_order_relaxed);
			if (v == 0)
				continue;
			if (status_codes[s] == 0)
				r |= cm_buf_appendf(o,
				    "sekimori_http_requests_total{route=\"%s\","
				    "status=\"other\"} %lu\n", name, v);
			else
				r |= cm_buf_appendf(o,
				    "sekimori_http_requests_total{route=\"%s\","
				    "status=\"%d\"} %lu\n", name,
				    status_codes[s], v);
		}
	}
	r |= cm_buf_appendf(o, "# HELP sekimori_http_request_duration_seconds "
	    "Time from request head to response.\n"
	    "# TYPE sekimori_http_request_duration_seconds histogram\n");
	for (b = 0; b < NBUCKET; b++) {
		cum += atomic_load_explicit(&m->lat[b], memory_order_relaxed);
		r |= cm_buf_appendf(o, "sekimori_http_request_duration_seconds_"
		    "bucket{le=\"%g\"} %lu\n", lat_bounds[b] / 1000.0, cum);
	}
	cum += atomic_load_explicit(&m->lat[NBUCKET], memory_order_relaxed);
	r |= cm_buf_appendf(o, "sekimori_http_request_duration_seconds_bucket"
	    "{le=\"+Inf\"} %lu\n", cum);
	r |= cm_buf_appendf(o, "sekimori_http_request_duration_seconds_sum "
	    "%.3f\nsekimori_http_request_duration_seconds_count %lu\n",
	    atomic_load_explicit(&m->lat_sum_ms, memory_order_relaxed) /
	    1000.0, atomic_load_explicit(&m->lat_count, memory_order_relaxed));
	r |= cm_buf_appendf(o, "# HELP sekimori_http_in_flight Requests being "
	    "served.\n# TYPE sekimori_http_in_flight gauge\n"
	    "sekimori_http_in_flight %ld\n", brk_metrics_inflight(m));
	r |= cm_buf_appendf(o, "# HELP sekimori_auth_total Authentication "
	    "results by method.\n# TYPE sekimori_auth_total counter\n");
	for (i = 0; i < NAUTH; i++) {
		r |= cm_buf_appendf(o, "sekimori_auth_total{method=\"%s\","
		    "result=\"success\"} %lu\n", auth_methods[i],
		    atomic_load_explicit(&m->auth[i][0], memory_order_relaxed));
		r |= cm_buf_appendf(o, "sekimori_auth_total{method=\"%s\","
		    "result=\"failure\"} %lu\n", auth_methods[i],
		    atomic_load_explicit(&m->auth[i][1], memory_order_relaxed));
	}
	r |= cm_buf_appendf(o, "# HELP sekimori_outbox_deliveries_total "
	    "Back-channel logout tokens and SETs settled, by result.\n"
	    "# TYPE sekimori_outbox_deliveries_total counter\n");
	for (i = 0; i < 2; i++) {
		static const char *const kind[] = { "logout", "set" };

		r |= cm_buf_appendf(o, "sekimori_outbox_deliveries_total{kind="
		    "\"%s\",result=\"delivered\"} %lu\n", kind[i],
		    atomic_load_explicit(&m->outbox[i][0],
		    memory_order_relaxed));
		r |= cm_buf_appendf(o, "sekimori_outbox_deliveries_total{kind="
		    "\"%s\",result=\"undelivered\"} %lu\n", kind[i],
		    atomic_load_explicit(&m->outbox[i][1],
		    memory_order_relaxed));
	}
	r |= cm_buf_appendf(o, "# HELP sekimori_outbox_queued Deliveries "
	    "waiting in the outbox (retries included).\n"
	    "# TYPE sekimori_outbox_queued gauge\nsekimori_outbox_queued %ld\n",
	    atomic_load_explicit(&m->outbox_queued, memory_order_relaxed));
	r |= cm_buf_appendf(o, "# HELP sekimori_outbox_receivers_down "
	    "Receivers held down after consecutive failed attempts (their "
	    "deliveries are not tried until a probe succeeds).\n"
	    "# TYPE sekimori_outbox_receivers_down gauge\n"
	    "sekimori_outbox_receivers_down %ld\n",
	    atomic_load_explicit(&m->outbox_down, memory_order_relaxed));
	if ((v = atomic_load_explicit(&m->map_max, memory_order_relaxed)) >
	    0) {
		unsigned long used = atomic_load_explicit(&m->map_used,
		    memory_order_relaxed), fr = atomic_load_explicit(
		    &m->map_free, memory_order_relaxed);

		r |= cm_buf_appendf(o, "# HELP sekimori_directory_map_pages "
		    "slapd's LMDB map under ldap_base: its size, the pages "
		    "the file reached, the free ones among those.\n"
		    "# TYPE sekimori_directory_map_pages gauge\n"
		    "sekimori_directory_map_pages{kind=\"max\"} %lu\n"
		    "sekimori_directory_map_pages{kind=\"used\"} %lu\n"
		    "sekimori_directory_map_pages{kind=\"free\"} %lu\n"
		    "# HELP sekimori_directory_map_in_use_ratio Share of the "
		    "map in use; every write fails at 1.\n"
		    "# TYPE sekimori_directory_map_in_use_ratio gauge\n"
		    "sekimori_directory_map_in_use_ratio %.6f\n", v, used, fr,
		    (double)(used - fr) / (double)v);
	}
	return r ? CM_ERR_RANGE : 0;
}
