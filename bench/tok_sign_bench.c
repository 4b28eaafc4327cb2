/*
 * bench/tok_sign_bench.c — signing a typical RFC 9068 access token, on one
 * core, for SECONDS: in-process (tok_signer_new_local) and through the key
 * process (tok_keyproc_start: the price of keeping private keys out of the
 * HTTP process).  Compare with `openssl speed ecdsap256` (the primitive).
 *
 *   tok_sign_bench KEYDIR SECONDS
 * prints: RESULT mode=local signs=N secs=S rate=R
 *         RESULT mode=keyproc signs=N secs=S rate=R
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokens/tokens.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
run(const char *mode, tok_signer *s, double secs)
{
	json_t *cl;
	double t0, t;
	long n = 0;
	char *tok = NULL;
	int64_t iat = (int64_t)time(NULL);

	/* what the broker signs for client_credentials / a user login */
	cl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s,"
	    " s:s, s:[s,s], s:I, s:[s], s:s}",
	    "iss", "https://idp.example.go.jp", "sub", "alice",
	    "aud", "payroll", "iat", (json_int_t)iat, "nbf", (json_int_t)iat,
	    "exp", (json_int_t)(iat + 300),
	    "jti", "bW8K3zq4yA1tJ8tLk2b0VfT9cQ1n0s8pXzR4eYw6uHg",
	    "client_id", "payroll", "scope", "openid payroll:read",
	    "acr", "urn:sekimori:acr:aal2", "amr", "pwd", "otp",
	    "auth_time", (json_int_t)iat, "groups", "staff", "sid",
	    "q1Uz8xWc2mAlK4dN0eRtYg");
	if (cl == NULL)
		return 1;
	t0 = now_s();
	do {
		if (tok_jwt_sign_at(s, "at+jwt", cl, iat, &tok) != 0) {
			fprintf(stderr, "%s: sign failed\n", mode);
			json_decref(cl);
			return 1;
		}
		free(tok);
		n++;
	} while ((t = now_s() - t0) < secs);
	printf("RESULT mode=%s signs=%ld secs=%.2f rate=%.0f\n", mode, n, t,
	    (double)n / t);
	json_decref(cl);
	return 0;
}

int
main(int argc, char **argv)
{
	tok_signer *s = NULL;
	double secs;
	int r = 0;

	if (argc != 3 || (secs = atof(argv[2])) <= 0 || secs > 60) {
		fprintf(stderr, "usage: tok_sign_bench KEYDIR SECONDS\n");
		return 2;
	}
	if (cm_init() != 0)
		return 1;
	/* the key process first: it must fork before any thread exists */
	if (tok_keyproc_start(argv[1], &s) != 0) {
		fprintf(stderr, "key process: cannot start on %s\n", argv[1]);
		return 1;
	}
	r |= run("keyproc", s, secs);
	tok_signer_free(&s);
	if (tok_signer_new_local(argv[1], &s) != 0) {
		fprintf(stderr, "local signer: cannot load %s\n", argv[1]);
		return 1;
	}
	r |= run("local", s, secs);
	tok_signer_free(&s);
	return r;
}
