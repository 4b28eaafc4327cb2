/*
 * bench/pep_bench.c — in-process JWT access-token verification rate of the
 * PEP library (tokens/pep.h, build/libsekimori-pep.a), to set beside the raw
 * `openssl speed ecdsap256` verify rate.
 *
 *   pep_bench JWKS_FILE ISSUER AUDIENCE TOKEN_FILE NOW SECONDS [THREADS]
 *
 * NOW is the verification time (seconds since the epoch) handed to
 * pep_verify(), so a token issued a while ago still verifies as fresh.
 * Every thread verifies the same token in a loop for SECONDS; the result is
 * the sum over threads.  Bounded: SECONDS <= 60, THREADS <= 16.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokens/pep.h"

static pep_verifier *ver;
static char tok[PEP_TOKEN_MAX_LEN + 1];
static size_t toklen;
static int64_t vnow;
static double secs;

struct res { long n; long bad; int firsterr; double cpu; };

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
tcpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
	struct res *r = arg;
	double t0 = mono(), c0 = tcpu();
	json_t *claims;
	int e;

	for (;;) {
		for (int i = 0; i < 64; i++) {
			e = pep_verify(ver, tok, toklen, vnow, &claims);
			if (e == 0)
				json_decref(claims);
			else {
				if (r->bad++ == 0)
					r->firsterr = e;
			}
			r->n++;
		}
		if (mono() - t0 >= secs)
			break;
	}
	r->cpu = tcpu() - c0;
	return NULL;
}

int
main(int argc, char **argv)
{
	struct pep_config cfg;
	pthread_t th[16];
	struct res rs[16];
	FILE *f;
	int nth = 1, e;
	double t0, t1;
	long n = 0, bad = 0;
	double cpu = 0;

	if (argc < 7) {
		fprintf(stderr, "usage: %s JWKS ISSUER AUDIENCE TOKEN_FILE NOW "
		    "SECONDS [THREADS]\n", argv[0]);
		return 2;
	}
	vnow = strtoll(argv[5], NULL, 10);
	secs = atof(argv[6]);
	if (argc > 7)
		nth = atoi(argv[7]);
	if (secs <= 0 || secs > 60 || nth < 1 || nth > 16) {
		fprintf(stderr, "SECONDS in (0,60], THREADS in [1,16]\n");
		return 2;
	}
	if ((f = fopen(argv[4], "r")) == NULL) {
		perror(argv[4]);
		return 1;
	}
	toklen = fread(tok, 1, PEP_TOKEN_MAX_LEN, f);
	fclose(f);
	while (toklen > 0 && (tok[toklen - 1] == '\n' || tok[toklen - 1] == ' '))
		toklen--;
	tok[toklen] = '\0';

	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = argv[2];
	cfg.audience = argv[3];
	cfg.skew = 60;
	cfg.jwks_file = argv[1];
	if ((e = pep_verifier_new(&cfg, &ver)) != 0) {
		fprintf(stderr, "pep_verifier_new: %s\n", pep_strerror(e));
		return 1;
	}
	/* one check first, so a wrong setup fails loudly */
	{
		json_t *c;

		if ((e = pep_verify(ver, tok, toklen, vnow, &c)) != 0) {
			fprintf(stderr, "pep_verify: %s\n", pep_strerror(e));
			return 1;
		}
		json_decref(c);
	}
	memset(rs, 0, sizeof(rs));
	t0 = mono();
	for (int i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, &rs[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < nth; i++) {
		pthread_join(th[i], NULL);
		n += rs[i].n;
		bad += rs[i].bad;
		cpu += rs[i].cpu;
	}
	t1 = mono();
	printf("RESULT threads=%d verifies=%ld failed=%ld secs=%.2f "
	    "rate=%.1f per_cpu_s=%.1f us_per_verify_cpu=%.2f\n",
	    nth, n, bad, t1 - t0, n / (t1 - t0), n / cpu, 1e6 * cpu / n);
	if (bad)
		fprintf(stderr, "first error: %s\n", pep_strerror(rs[0].firsterr));
	pep_verifier_free(&ver);
	return bad ? 1 : 0;
}
