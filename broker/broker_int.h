/* broker/broker_int.h — private to broker/. */
#ifndef BROKER_INT_H
#define BROKER_INT_H

#include <stdint.h>

#include "broker.h"

/* metrics.c */
int	 brk_metrics_inflight_acquire(struct brk_metrics *m, unsigned max);
void	 brk_metrics_inflight_release(struct brk_metrics *m);
long	 brk_metrics_inflight(struct brk_metrics *m);
void	 brk_metrics_request(struct brk_metrics *m, int route, int status,
	    uint64_t ms);
int	 brk_metrics_render(struct brk_metrics *m, const struct brk_app *app,
	    struct cm_buf *out) CM_WUR;

/* pages.c: the HTML error page (code and request id shown). */
int	 brk_page_error(struct brk_req *r, const struct cm_errdef *e,
	    char **html) CM_WUR;

#endif /* BROKER_INT_H */
