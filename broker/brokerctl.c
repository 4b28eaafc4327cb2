/*
 * broker/brokerctl.c — the operator CLI.
 *
 *   brokerctl [-c config] [--json] GROUP VERB [args...]
 *
 * Without -c: $SEKIMORI_CONF, else var/sekimori.conf (the dev
 * configuration that `make run` writes), else conf/sekimori.conf.
 * Exit: 0 success, 1 usage error or refused, 2 dependency unavailable.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "idp/idp.h"

static const struct {
	const char	*name;
	brk_ctl_fn	 fn;
	int		 needs_config;
	const char	*help;
} groups[] = {
	{ "user",   brk_ctl_user,   1, "user add|show|list|disable|enable|"
	    "passwd|check-password" },
	{ "group",  brk_ctl_group,  1, "group add|add-member|remove-member|"
	    "show" },
	{ "device", brk_ctl_device, 1, "device add|show|list" },
	{ "rpa",    brk_ctl_rpa,    1, "rpa add|show|disable" },
	{ "client", brk_ctl_client, 1, "client add|show|list|disable|enable" },
	{ "key",    brk_ctl_key,    1, "key rotate|list" },
	{ "token",  brk_ctl_token,  1, "token verify [--aud AUD] [TOKEN]" },
	{ "kek",    brk_ctl_kek,    1, "kek rotate" },
	{ "webauthn", brk_ctl_webauthn, 1, "webauthn list|suspend|bootstrap|"
	    "list-pending|approve" },
	{ "proofing", brk_ctl_proofing, 1, "proofing add|show|list|revoke" },
	{ "errors", brk_ctl_errors, 0, "errors [--markdown]" },
	{ "config", brk_ctl_config, 1, "config check" },
};

static void
usage(void)
{
	size_t i;

	fprintf(stderr, "usage: brokerctl [-c config] [--json] GROUP VERB "
	    "[args...]\n");
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		fprintf(stderr, "  %s\n", groups[i].help);
	exit(1);
}

void
brk_ctl_errx(const char *fmt, ...)
{
	va_list ap;

	fputs("brokerctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
brk_ctl_print_json(json_t *o)
{
	if (o == NULL)
		return;
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

struct dir_pool *
brk_ctl_dir(struct brk_ctl *ctl)
{
	int r;

	if (ctl->dir != NULL)
		return ctl->dir;
	if ((r = dir_pool_new(&ctl->cfg->dir, &ctl->dir)) != 0) {
		brk_ctl_errx("directory: %s", cm_strerror(r));
		return NULL;
	}
	return ctl->dir;
}

int
brk_ctl_config(struct brk_ctl *ctl, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "check") != 0) {
		brk_ctl_errx("usage: config check");
		return 1;
	}
	printf("%s: ok\n", ctl->cfg->path);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct brk_config cfg;
	static struct idp_config icfg;
	struct brk_config_ext ext[] = {
		{ "idp", idp_config_set, idp_config_check, &icfg },
	};
	struct brk_ctl ctl;
	char err[1024];
	const char *path = NULL;
	char **av;
	int ac = 0, i, rc;
	size_t g;

	memset(&ctl, 0, sizeof(ctl));
	if ((av = calloc((size_t)argc + 1, sizeof(*av))) == NULL)
		return 1;
	/* global options may come anywhere; the rest keeps its order */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl.json = 1;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc &&
		    ac == 0)
			path = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			usage();
		else
			av[ac++] = argv[i];
	}
	if (ac < 1)
		usage();
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		if (strcmp(groups[g].name, av[0]) == 0)
			break;
	if (g == sizeof(groups) / sizeof(groups[0])) {
		brk_ctl_errx("unknown command '%s'", av[0]);
		usage();
	}
	if (cm_init() != 0) {
		brk_ctl_errx("library initialisation failed");
		return 1;
	}
	/* logs from the libraries go to stderr, warnings only */
	if (cm_log_open("-", CM_LOG_WARN) != 0)
		return 1;
	if (groups[g].needs_config) {
		path = brk_config_path(path);
		idp_config_defaults(&icfg);
		if (brk_config_load(&cfg, path, ext, 1, err,
		    sizeof(err)) != 0) {
			brk_ctl_errx("%s", err);
			return 1;
		}
		ctl.cfg = &cfg;
		ctl.kek_file = icfg.kek_file;
		ctl.admin_group = icfg.admin_group;
		ctl.idp_cfg = &icfg;
	}
	rc = groups[g].fn(&ctl, ac, av);
	dir_pool_free(&ctl.dir);
	free(av);
	return rc;
}
