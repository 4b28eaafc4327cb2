/*
 * tests/helpers/dir_tool.c — drives the directory API for the integration
 * tests (tests/integration/test_directory.py).
 *
 *   dir_tool CONF ping
 *   dir_tool CONF ping-loop SECONDS        one "elapsed_ms result" per ping
 *   dir_tool CONF find-user UID            OK uid dn | NOTFOUND | error
 *   dir_tool CONF verify UID               password on stdin; prints result
 *                                          and elapsed ms
 *   dir_tool CONF cas-race DN ATTR OLD NEW1 NEW2
 *                                          two pools (two "nodes") swap
 *                                          OLD->NEWi at the same moment
 *   dir_tool CONF cas DN ATTR OLD|- NEW|-
 *   dir_tool CONF rpa-check ID
 *   dir_tool CONF groups UID [nested]
 *   dir_tool CONF scope UID                one request scope (directory.h):
 *                                          a line per step, "step status
 *                                          hits misses invalidated"; the
 *                                          password on stdin; leaves UID
 *                                          active
 *   dir_tool CONF scopefill UID            a scope filled past
 *                                          DIR_SCOPE_ANSWERS_MAX: lines as
 *                                          for scope
 *
 * CONF is a sekimori.conf; only the keys the directory owns are read.
 * Exit 0 on success (for cas-race: exactly one winner), 1 otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "directory/directory.h"

static int
load_conf(const char *path, struct dir_config *c)
{
	char line[4096], err[256];
	FILE *f;
	int lineno = 0, r;

	dir_config_defaults(c);
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *k = line, *v, *e;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*k == ' ' || *k == '\t')
			k++;
		if (*k == '#' || *k == '\0')
			continue;
		if ((v = strchr(k, '=')) == NULL)
			continue;
		*v++ = '\0';
		for (e = v - 2; e >= k && (*e == ' ' || *e == '\t'); e--)
			*e = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		r = dir_config_set(c, k, v, err, sizeof(err));
		if (r != 0 && r != CM_ERR_NOTFOUND) {
			fprintf(stderr, "%s:%d: %s\n", path, lineno, err);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	if (dir_config_check(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	return 0;
}

static const char *
rname(int r)
{
	switch (r) {
	case 0: return "OK";
	case CM_ERR_NOTFOUND: return "NOTFOUND";
	case CM_ERR_DENIED: return "DENIED";
	case CM_ERR_LOCKED: return "LOCKED";
	case CM_ERR_EXPIRED: return "EXPIRED";
	case CM_ERR_DISABLED: return "DISABLED";
	case CM_ERR_CONFLICT: return "CONFLICT";
	case CM_ERR_UNAVAIL: return "UNAVAIL";
	case CM_ERR_TIMEOUT: return "TIMEOUT";
	case CM_ERR_INVAL: return "INVAL";
	case DIR_ERR_MUST_CHANGE: return "MUST_CHANGE";
	default: return dir_strerror(r);
	}
}

struct race {
	struct dir_pool		*pool;
	const char		*dn, *attr, *old, *new_value;
	pthread_barrier_t	*bar;
	int			 r;
};

static void *
race_run(void *arg)
{
	struct race *x = arg;

	pthread_barrier_wait(x->bar);
	x->r = dir_cas_attr(x->pool, x->dn, x->attr, x->old, x->new_value);
	return NULL;
}

/* "step status hits misses invalidated" */
static int
scope_line(struct dir_pool *p, const char *step, const char *uid)
{
	struct dir_scope_stats st;
	struct dir_user *u = NULL;
	int r;

	r = dir_user_find(p, uid, &u);
	dir_scope_stats(&st);
	printf("%s %s %lu %lu %lu\n", step, r == 0 ?
	    dir_status_str(u->status) : rname(r), st.hits, st.misses,
	    st.invalidated);
	dir_user_free(&u);
	return r;
}

static int
scope_steps(struct dir_pool *p, const char *uid)
{
	char pw[4096];
	size_t n = fread(pw, 1, sizeof(pw) - 1, stdin);
	int r = 0;

	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		n--;
	dir_scope_begin();
	r |= scope_line(p, "first", uid);
	r |= scope_line(p, "again", uid);
	dir_scope_begin();		/* nested: the same scope */
	r |= scope_line(p, "nested", uid);
	dir_scope_end();
	/* a write elsewhere in the tree (a state entry) forgets nothing */
	r |= dir_state_add(p, "tx", "scopeprobe", NULL, NULL, "{}",
	    (int64_t)time(NULL) + 60);
	r |= scope_line(p, "other-write", uid);
	r |= dir_state_delete(p, "tx", "scopeprobe");
	r |= scope_line(p, "other-write", uid);
	r |= dir_user_set_status(p, uid, DIR_STATUS_SUSPENDED);
	r |= scope_line(p, "after-write", uid);
	r |= scope_line(p, "again", uid);
	r |= dir_user_set_status(p, uid, DIR_STATUS_ACTIVE);
	(void)scope_line(p, "after-write", uid);
	printf("bind %s\n", rname(dir_user_passwd_verify(p, uid, pw, n)));
	r |= scope_line(p, "after-bind", uid);
	dir_scope_end();
	r |= scope_line(p, "outside", uid);
	r |= scope_line(p, "outside", uid);
	memset(pw, 0, sizeof(pw));
	return r;
}

/* More answers than a scope keeps: the oldest go first. */
static int
scope_fill(struct dir_pool *p, const char *uid)
{
	char other[32];
	int i, r = 0;

	dir_scope_begin();
	r |= scope_line(p, "first", uid);
	/* as many others as the scope keeps: the first answer goes */
	for (i = 0; i < DIR_SCOPE_ANSWERS_MAX; i++) {
		struct dir_user *u = NULL;

		snprintf(other, sizeof(other), "absent%02d", i);
		if (dir_user_find(p, other, &u) != CM_ERR_NOTFOUND)
			r = 1;
		dir_user_free(&u);
	}
	(void)scope_line(p, "newest", other);
	r |= scope_line(p, "oldest", uid);	/* it makes room again */
	(void)scope_line(p, "next-oldest", "absent00");
	(void)scope_line(p, "kept", "absent02");
	dir_scope_end();
	return r;
}

int
main(int argc, char **argv)
{
	struct dir_config cfg;
	struct dir_pool *p = NULL, *p2 = NULL;
	const char *cmd;
	int r = CM_ERR_INTERNAL, ok = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: dir_tool CONF CMD [args]\n");
		return 2;
	}
	if (cm_init() != 0 || cm_log_open("-", CM_LOG_ERR) != 0)
		return 2;
	if (load_conf(argv[1], &cfg) != 0)
		return 2;
	if ((r = dir_pool_new(&cfg, &p)) != 0) {
		fprintf(stderr, "dir_pool_new: %s\n", dir_strerror(r));
		return 2;
	}
	cmd = argv[2];
	if (strcmp(cmd, "ping") == 0) {
		r = dir_pool_ping(p);
		printf("%s\n", rname(r));
		ok = r == 0;
	} else if (strcmp(cmd, "ping-loop") == 0 && argc == 4) {
		long long secs;
		uint64_t end;

		if (cm_parse_ll(argv[3], 1, 600, &secs) != 0)
			return 2;
		end = cm_now_ms() + (uint64_t)secs * 1000;
		setvbuf(stdout, NULL, _IOLBF, 0);
		while (cm_now_ms() < end) {
			uint64_t t0 = cm_now_ms();

			r = dir_pool_ping(p);
			printf("%llu %s\n", (unsigned long long)(cm_now_ms() -
			    t0), rname(r));
			usleep(100 * 1000);
		}
		ok = 1;
	} else if (strcmp(cmd, "find-user") == 0 && argc == 4) {
		struct dir_user *u = NULL;

		r = dir_user_find(p, argv[3], &u);
		if (r == 0)
			printf("OK %s %s %s\n", u->uid, u->dn,
			    dir_status_str(u->status));
		else
			printf("%s\n", rname(r));
		dir_user_free(&u);
		ok = r == 0;
	} else if (strcmp(cmd, "verify") == 0 && argc == 4) {
		char pw[4096];
		size_t n = fread(pw, 1, sizeof(pw) - 1, stdin);
		uint64_t t0;

		while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
			n--;
		t0 = cm_now_ms();
		r = dir_user_passwd_verify(p, argv[3], pw, n);
		printf("%s %llu\n", rname(r),
		    (unsigned long long)(cm_now_ms() - t0));
		memset(pw, 0, sizeof(pw));
		ok = r == 0;
	} else if (strcmp(cmd, "cas") == 0 && argc == 7) {
		r = dir_cas_attr(p, argv[3], argv[4],
		    strcmp(argv[5], "-") == 0 ? NULL : argv[5],
		    strcmp(argv[6], "-") == 0 ? NULL : argv[6]);
		printf("%s\n", rname(r));
		ok = r == 0;
	} else if (strcmp(cmd, "cas-race") == 0 && argc == 8) {
		struct race a, b;
		pthread_t ta, tb;
		pthread_barrier_t bar;

		if ((r = dir_pool_new(&cfg, &p2)) != 0) {
			printf("%s\n", rname(r));
			goto done;
		}
		/* warm both pools so the race is on the modify itself */
		if (dir_pool_ping(p) != 0 || dir_pool_ping(p2) != 0) {
			printf("UNAVAIL\n");
			goto done;
		}
		pthread_barrier_init(&bar, NULL, 2);
		a = (struct race){ p, argv[3], argv[4], argv[5], argv[6], &bar, 0 };
		b = (struct race){ p2, argv[3], argv[4], argv[5], argv[7], &bar, 0 };
		pthread_create(&ta, NULL, race_run, &a);
		pthread_create(&tb, NULL, race_run, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&bar);
		printf("%s %s\n", rname(a.r), rname(b.r));
		ok = (a.r == 0 && b.r == CM_ERR_CONFLICT) ||
		    (b.r == 0 && a.r == CM_ERR_CONFLICT);
	} else if (strcmp(cmd, "state-add") == 0 && argc == 5) {
		char *ver = NULL;

		r = dir_state_add_v(p, argv[3], argv[4], NULL, NULL, "{}",
		    (int64_t)time(NULL) + 3600, &ver);
		printf("%s %s\n", rname(r), ver != NULL ? ver : "-");
		free(ver);
		ok = r == 0;
	} else if (strcmp(cmd, "state-update") == 0 && argc == 6) {
		char *ver = NULL;

		r = dir_state_update(p, argv[3], argv[4], argv[5], "{\"n\":1}",
		    (int64_t)time(NULL) + 3600, &ver);
		printf("%s %s\n", rname(r), ver != NULL ? ver : "-");
		free(ver);
		ok = r == 0;
	} else if (strcmp(cmd, "state-delete-v") == 0 && argc == 6) {
		r = dir_state_delete_v(p, argv[3], argv[4], argv[5]);
		printf("%s\n", rname(r));
		ok = r == 0;
	} else if (strcmp(cmd, "rpa-check") == 0 && argc == 4) {
		r = dir_rpa_check(p, argv[3]);
		printf("%s\n", rname(r));
		ok = r == 0;
	} else if (strcmp(cmd, "groups") == 0 && (argc == 4 || argc == 5)) {
		char **names = NULL;
		size_t n = 0;

		r = dir_user_groups(p, argv[3], argc == 5, &names, &n);
		if (r == 0) {
			for (size_t i = 0; i < n; i++)
				printf("%s%s", i ? " " : "", names[i]);
			printf("\n");
		} else
			printf("%s\n", rname(r));
		dir_names_free(&names, n);
		ok = r == 0;
	} else if (strcmp(cmd, "scope") == 0 && argc == 4) {
		ok = scope_steps(p, argv[3]) == 0;
	} else if (strcmp(cmd, "scopefill") == 0 && argc == 4) {
		ok = scope_fill(p, argv[3]) == 0;
	} else {
		fprintf(stderr, "dir_tool: bad command\n");
		dir_pool_free(&p);
		return 2;
	}
 done:
	dir_pool_free(&p);
	dir_pool_free(&p2);
	return ok ? 0 : 1;
}
