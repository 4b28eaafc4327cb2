/*
 * broker/brokerd.c — the Sekimori daemon.
 *
 *   brokerd [-c config] [-t]
 *
 * -t checks the configuration and exits.  Signals: SIGTERM/SIGINT drain
 * in-flight requests and exit 0; SIGHUP reloads the TLS certificate and
 * reopens the log files (a failure is logged, the old state stays).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "broker.h"
#include "idp/idp.h"
#include "tokens/tokens.h"

/* how often the main thread reads the directory's map use (metrics.c) */
#define BRK_MAP_CHECK_MS	60000

static void
usage(void)
{
	fprintf(stderr, "usage: brokerd [-c config] [-t]\n");
	exit(2);
}

static int
ready_directory(struct brk_app *app, void *ctx, const char **why)
{
	int r;

	(void)ctx;
	if ((r = dir_pool_ping(app->dir)) != 0) {
		*why = r == CM_ERR_TIMEOUT ? "directory did not answer in time" :
		    "directory unreachable";
		return r;
	}
	return 0;
}

static void
harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	/* no core dumps and no ptrace attach: memory holds secrets */
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int
open_logs(const struct brk_config *cfg)
{
	if (cm_log_open(cfg->log_file, cfg->log_level) != 0) {
		fprintf(stderr, "brokerd: cannot open log file %s\n",
		    cfg->log_file);
		return -1;
	}
	if (cm_audit_open(cfg->audit_file) != 0) {
		fprintf(stderr, "brokerd: cannot open audit file %s\n",
		    cfg->audit_file);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct brk_config cfg;
	static struct idp_config icfg;
	static struct brk_app app;
	struct brk_config_ext ext[] = {
		{ "idp", idp_config_set, idp_config_check, &icfg },
	};
	tok_signer *signer = NULL;
	struct idp *idp = NULL;
	char err[1024];
	const char *path = NULL;
	sigset_t set;
	uint64_t t0 = cm_now_ms(), next_prune, next_map;
	int ch, check_only = 0, sig, r;

	while ((ch = getopt(argc, argv, "c:t")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check_only = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (cm_init() != 0) {
		fprintf(stderr, "brokerd: library initialisation failed\n");
		return 1;
	}
	path = brk_config_path(path);
	idp_config_defaults(&icfg);
	if (brk_config_load(&cfg, path, ext, 1, err, sizeof(err)) != 0 ||
	    brk_config_check_serve(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check_only) {
		printf("%s: ok\n", path);
		return 0;
	}
	harden_process();
	if (open_logs(&cfg) != 0)
		return 1;
	/*
	 * The key process is forked first, while this is the only thread:
	 * it holds the private keys; this process never opens them.
	 */
	if ((r = tok_keyproc_start(cfg.key_dir, &signer)) != 0) {
		fprintf(stderr, "brokerd: key process: %s: %s\n", cfg.key_dir,
		    cm_strerror(r));
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "brokerd: libcurl initialisation failed\n");
		return 1;
	}

	/* Threads inherit this mask: only the main thread takes signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a file size limit (RLIMIT_FSIZE) on the audit or log file: EFBIG,
	 * refused with SKM-1011 like a full disk, not a dead broker */
	signal(SIGXFSZ, SIG_IGN);

	app.cfg = &cfg;
	app.signer = signer;
	if ((r = brk_metrics_new(&app.metrics)) != 0 ||
	    (r = dir_pool_new(&cfg.dir, &app.dir)) != 0) {
		cm_err(NULL, "broker.start_failed", "{s:s}", "error",
		    cm_strerror(r));
		fprintf(stderr, "brokerd: start-up failed: %s\n",
		    cm_strerror(r));
		return 1;
	}
	if ((r = brk_routes_builtin(&app)) != 0 ||
	    (r = brk_ready_add(&app, "directory", ready_directory,
	    NULL)) != 0 ||
	    (r = idp_new(&app, &icfg, signer, &idp)) != 0) {
		fprintf(stderr, "brokerd: route set-up failed: %s\n",
		    cm_strerror(r));
		return 1;
	}
	if ((r = brk_http_start(&app)) != 0) {
		cm_err(NULL, "broker.listen_failed", "{s:s, s:s, s:i}",
		    "error", cm_strerror(r), "addr", cfg.listen_addr,
		    "port", cfg.listen_port);
		fprintf(stderr, "brokerd: cannot serve on %s:%u: %s\n",
		    cfg.listen_addr, cfg.listen_port, cm_strerror(r));
		return 1;
	}
	cm_info(NULL, "broker.started", "{s:s, s:s, s:i, s:b, s:i, s:I}",
	    "issuer", cfg.issuer, "addr", cfg.listen_addr,
	    "port", cfg.listen_port, "tls", !cfg.dev_plain_http,
	    "threads", cfg.threads, "startup_ms",
	    (json_int_t)(cm_now_ms() - t0));
	if (cm_audit_emit(NULL, "broker.started", "{s:s}", "issuer",
	    cfg.issuer) != 0) {
		fprintf(stderr, "brokerd: cannot write the audit log\n");
		brk_http_drain_stop(&app, 0);
		return 1;
	}

	next_prune = cm_now_ms() + (uint64_t)cfg.state_prune_interval * 1000;
	next_map = cm_now_ms();
	for (;;) {
		struct timespec wait = { 1, 0 };

		/* and watches the directory's map: a full one fails every
		 * write (logins, logouts), so it warns well before */
		if (cm_now_ms() >= next_map) {
			brk_metrics_dir_map(&app);
			next_map = cm_now_ms() + BRK_MAP_CHECK_MS;
		}

		/* the main thread also deletes expired directory state */
		if (cfg.state_prune_interval > 0 && cm_now_ms() >= next_prune) {
			(void)idp_prune_state(idp, cm_time(), NULL);
			next_prune = cm_now_ms() +
			    (uint64_t)cfg.state_prune_interval * 1000;
		}
		{
			uint64_t now_ms = cm_now_ms(), until = next_map, left;

			if (cfg.state_prune_interval > 0 && next_prune < until)
				until = next_prune;
			left = until > now_ms ? until - now_ms : 0;
			wait.tv_sec = (time_t)(left / 1000);
			wait.tv_nsec = (long)(left % 1000) * 1000000L;
			if ((sig = sigtimedwait(&set, NULL, &wait)) == -1)
				continue;	/* time for a task, or EINTR */
		}
		if (sig == SIGHUP) {
			int tr = brk_http_reload_tls(&app);
			int kr = tok_signer_reload(signer);
			int lr = open_logs(&cfg);
			int ir = idp_reload(idp);

			if (tr != 0)
				cm_err(NULL, "broker.reload_failed",
				    "{s:s, s:s}", "what", "tls", "error",
				    cm_strerror(tr));
			if (kr != 0)
				cm_err(NULL, "broker.reload_failed",
				    "{s:s, s:s}", "what", "keys", "error",
				    cm_strerror(kr));
			cm_info(NULL, "broker.reloaded", "{s:b, s:b, s:b, s:b}",
			    "tls", tr == 0, "keys", kr == 0, "logs", lr == 0,
			    "policy", ir == 0);
			continue;
		}
		break;
	}
	cm_info(NULL, "broker.stopping", "{s:i}", "signal", sig);
	brk_http_drain_stop(&app, cfg.drain_timeout);
	/* the outbox's last deliveries and their audit come before ours */
	idp_free(&idp);
	if (cm_audit_emit(NULL, "broker.stopped", NULL) != 0)
		cm_err(NULL, "broker.audit_failed", NULL);
	dir_pool_free(&app.dir);
	tok_signer_free(&signer);
	curl_global_cleanup();
	brk_metrics_free(&app.metrics);
	cm_info(NULL, "broker.stopped", NULL);
	cm_audit_close();
	cm_log_close();
	return 0;
}
