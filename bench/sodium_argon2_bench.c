/*
 * bench/sodium_argon2_bench.c — Argon2id hashes per second with libsodium,
 * the implementation slapd runs since our {ARGON2} module
 * (directory/slapd/skm_argon2.c): crypto_pwhash_argon2id_str, as the
 * module calls it for a new password (a verification costs the same).
 * The same loop and output line as ../shared/bench/argon2_bench.c
 * (libargon2), so bench.py reads both alike.
 *
 *   sodium_argon2_bench m_kib t p seconds       (p must be 1)
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static const char pw[] = "correct horse battery staple";
	char enc[crypto_pwhash_STRBYTES];
	unsigned long m, t, p;
	double secs, t0, t1;
	long n = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: %s m_kib t p seconds\n", argv[0]);
		return 2;
	}
	m = strtoul(argv[1], NULL, 10);
	t = strtoul(argv[2], NULL, 10);
	p = strtoul(argv[3], NULL, 10);
	secs = atof(argv[4]);
	if (sodium_init() < 0 || p != 1) {
		fprintf(stderr, "libsodium: init failed or p != 1\n");
		return 1;
	}
	/* warm-up, as the reference loop */
	if (crypto_pwhash_argon2id_str(enc, pw, strlen(pw), t, m * 1024) != 0) {
		fprintf(stderr, "crypto_pwhash_argon2id_str failed\n");
		return 1;
	}
	t0 = now();
	do {
		if (crypto_pwhash_argon2id_str(enc, pw, strlen(pw), t,
		    m * 1024) != 0)
			return 1;
		n++;
		t1 = now();
	} while (t1 - t0 < secs);
	printf("argon2id (libsodium) m=%lu KiB t=%lu p=%lu: %ld hashes in "
	    "%.2fs = %.2f hashes/s (%.2f ms/hash)\n", m, t, p, n, t1 - t0,
	    n / (t1 - t0), 1000 * (t1 - t0) / n);
	return 0;
}
