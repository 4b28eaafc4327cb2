/*
 * broker/pages.c — the HTML error page.  Shown in Japanese and English
 * together, with the error code and the request id so that a help desk can
 * trace the access through the logs.  Nothing from the request is echoed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "broker.h"
#include "broker_int.h"

int
brk_page_error(struct brk_req *r, const struct cm_errdef *e, char **html)
{
	struct cm_buf b;
	int rc;

	*html = NULL;
	cm_buf_init(&b, 16384, 0);
	rc = cm_buf_appendf(&b,
	    "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"><title>%s — Sekimori</title>"
	    "<link rel=\"stylesheet\" href=\"/static/sekimori.css\"></head>"
	    "<body><main class=\"card\" role=\"main\">"
	    "<h1>エラー <span lang=\"en\">/ Error</span></h1>"
	    "<p>%s</p><p lang=\"en\">%s</p>"
	    "<dl class=\"trace\"><dt>エラーコード <span lang=\"en\">/ Error "
	    "code</span></dt><dd><code>%s</code></dd>"
	    "<dt>リクエスト ID <span lang=\"en\">/ Request ID</span></dt>"
	    "<dd><code>%s</code></dd></dl>"
	    "<p class=\"hint\">お問い合わせの際は、上記のコードと ID "
	    "をお知らせください。<span lang=\"en\">When contacting the help "
	    "desk, quote the code and ID above.</span></p>"
	    "</main></body></html>\n",
	    e->code, e->msg_ja, e->msg_en, e->code, brk_req_id(r));
	if (rc == 0 && (rc = cm_buf_cstr(&b)) == 0) {
		*html = (char *)b.data;
		return 0;
	}
	cm_buf_free(&b);
	return rc;
}
