/*
 * tokens/pep_fetch.c — the built-in JWKS fetcher of the PEP library:
 * HTTPS only (http:// only to loopback, for tests), the peer verified
 * against the system's CA store or the CA file given as fetch_arg, at most
 * PEP_JWKS_MAX_LEN bytes, 5-second timeouts, no redirects.  Used when a
 * jwks_url is configured without a fetch hook.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "pep.h"

struct sink {
	uint8_t	*p;
	size_t	 n;
	int	 over;
};

static size_t
collect(char *data, size_t sz, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = sz * nmemb;
	uint8_t *q;

	if (s->over || n > PEP_JWKS_MAX_LEN || s->n > PEP_JWKS_MAX_LEN - n) {
		s->over = 1;
		return 0;		/* abort: too large */
	}
	if ((q = realloc(s->p, s->n + n + 1)) == NULL)
		return 0;
	memcpy(q + s->n, data, n);
	s->p = q;
	s->n += n;
	return n;
}

static int
url_allowed(const char *url)
{
	return strncmp(url, "https://", 8) == 0 ||
	    strncmp(url, "http://127.0.0.1:", 17) == 0 ||
	    strncmp(url, "http://[::1]:", 13) == 0;
}

int
pep_fetch_https(void *arg, const char *url, uint8_t **body, size_t *len)
{
	struct sink s = { NULL, 0, 0 };
	const char *cafile = arg;
	long status = 0;
	CURLcode cc;
	CURL *c;

	*body = NULL;
	*len = 0;
	if (url == NULL || !url_allowed(url) || (c = curl_easy_init()) == NULL)
		return PEP_ERR_FETCH;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cafile != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK || status != 200 || s.over || s.p == NULL) {
		free(s.p);
		return PEP_ERR_FETCH;
	}
	*body = s.p;
	*len = s.n;
	return 0;
}
