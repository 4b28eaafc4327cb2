/* broker/routes.c — /healthz, /readyz and /metrics. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "broker_int.h"

static void
healthz(struct brk_app *app, struct brk_req *r, void *ctx)
{
	(void)app; (void)ctx;
	brk_resp_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void
readyz(struct brk_app *app, struct brk_req *r, void *ctx)
{
	json_t *checks = json_object();
	const char *why;
	size_t i;
	int ready = 1;

	(void)ctx;
	for (i = 0; i < app->nready; i++) {
		why = NULL;
		if (app->ready[i].fn(app, app->ready[i].ctx, &why) != 0) {
			ready = 0;
			json_object_set_new(checks, app->ready[i].name,
			    json_string(why ? why : "not ready"));
		} else
			json_object_set_new(checks, app->ready[i].name,
			    json_string("ok"));
	}
	if (!ready) {
		const struct cm_errdef *e = cm_errcat_get(CM_E_NOT_READY);

		cm_warn(brk_req_id(r), "http.not_ready", "{s:O}",
		    "checks", checks);
		brk_resp_json(r, 503, json_pack("{s:s, s:o, s:s, s:s}",
		    "status", "not ready", "checks", checks,
		    "code", e->code, "request_id", brk_req_id(r)));
		return;
	}
	brk_resp_json(r, 200, json_pack("{s:s, s:o}", "status", "ready",
	    "checks", checks));
}

static void
metrics(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct cm_buf b;

	(void)ctx;
	cm_buf_init(&b, 1024 * 1024, 0);
	brk_metrics_dir_map(app);	/* one search: as fresh as the scrape */
	if (brk_metrics_render(app->metrics, app, &b) != 0) {
		cm_buf_free(&b);
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_body(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
	cm_buf_free(&b);
}

int
brk_routes_builtin(struct brk_app *app)
{
	int r;

	if ((r = brk_route_add(app, BRK_M_GET, "/healthz", 0, healthz,
	    NULL)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET, "/readyz", 0, readyz,
	    NULL)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET, "/metrics", 0, metrics,
	    NULL)) != 0)
		return r;
	return 0;
}
