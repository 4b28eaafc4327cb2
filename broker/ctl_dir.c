/*
 * broker/ctl_dir.c — brokerctl commands over the directory: user, group,
 * device, rpa.  Passwords are read from stdin, never from argv.
 *
 *   user add UID --name NAME [--mail MAIL] [--staff-id ID]
 *            [--affiliation staff|contractor|external] [--group G]...
 *   user show UID | user list
 *   user disable|enable|suspend|unlock UID
 *   user passwd UID              new password on stdin
 *   user check-password UID      password on stdin; exit 0 if it verifies
 *   group add NAME [--description D]
 *   group add-member|remove-member GROUP (UID | --group SUBGROUP)
 *   group show NAME
 *   device add ID --serial SN [--ip ADDR] [--owner UID] [--description D]
 *   device show ID | device show --serial SN | device list
 *   rpa add ID --owner UID [--jwks FILE] [--scope S]... [--description D]
 *   rpa show ID | rpa disable|enable ID
 *
 * Exit status: 0 done, 1 usage error or refused, 2 directory unavailable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "broker.h"

#define CTL_MAX_REPEAT	DIR_SCOPES_MAX

/* ---- argument parsing ---- */

struct ctl_opt {
	const char	*name;		/* "--name" */
	int		 repeat;	/* may be given several times */
	int		 flag;		/* takes no value */
	const char	*vals[CTL_MAX_REPEAT];
	size_t		 n;
};

/*
 * argv[0] is the group, argv[1] the verb.  Positional arguments go to
 * pos (at most npos); options must be among opts.  Prints the error.
 */
static int
ctl_parse(int argc, char **argv, const char **pos, size_t npos,
    size_t *gotpos, struct ctl_opt *opts, size_t nopts)
{
	size_t k = 0;

	*gotpos = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		size_t j;

		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (k >= npos) {
				brk_ctl_errx("%s %s: unexpected argument '%s'",
				    argv[0], argv[1], a);
				return -1;
			}
			pos[k++] = a;
			continue;
		}
		for (j = 0; j < nopts; j++)
			if (strcmp(opts[j].name, a) == 0)
				break;
		if (j == nopts) {
			brk_ctl_errx("%s %s: unknown option '%s'", argv[0],
			    argv[1], a);
			return -1;
		}
		if (opts[j].n > 0 && !opts[j].repeat) {
			brk_ctl_errx("%s %s: %s given twice", argv[0], argv[1],
			    a);
			return -1;
		}
		if (opts[j].n >= CTL_MAX_REPEAT) {
			brk_ctl_errx("%s %s: too many %s", argv[0], argv[1], a);
			return -1;
		}
		if (opts[j].flag) {
			opts[j].vals[opts[j].n++] = "";
			continue;
		}
		if (i + 1 >= argc) {
			brk_ctl_errx("%s %s: %s needs a value", argv[0],
			    argv[1], a);
			return -1;
		}
		opts[j].vals[opts[j].n++] = argv[++i];
	}
	*gotpos = k;
	return 0;
}

static const char *
opt1(const struct ctl_opt *o)
{
	return o->n > 0 ? o->vals[0] : NULL;
}

/* Report a failed directory call; the exit status follows the contract. */
static int ctl_fail(int r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
ctl_fail(int r, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	switch (r) {
	case CM_ERR_UNAVAIL:
		brk_ctl_errx("%s: the directory is unavailable", what);
		return 2;
	case CM_ERR_TIMEOUT:
		brk_ctl_errx("%s: the directory did not answer in time", what);
		return 2;
	case CM_ERR_NOTFOUND:
		brk_ctl_errx("%s: not found", what);
		return 1;
	case CM_ERR_EXISTS:
		brk_ctl_errx("%s: already exists", what);
		return 1;
	case CM_ERR_INVAL:
		brk_ctl_errx("%s: invalid value (names are 1-%d characters of "
		    "a-z 0-9 . _ - starting with a letter or digit)", what,
		    DIR_NAME_MAX);
		return 1;
	case CM_ERR_DISABLED:
		brk_ctl_errx("%s: the owner is not an active user", what);
		return 1;
	case CM_ERR_DENIED:
		brk_ctl_errx("%s: refused by the directory (access denied)",
		    what);
		return 1;
	default:
		brk_ctl_errx("%s: %s", what, dir_strerror(r));
		return 1;
	}
}

static struct dir_pool *
ctl_dir(struct brk_ctl *ctl)
{
	return brk_ctl_dir(ctl);
}

/* Read a password from stdin (no echo on a terminal).  Strips one trailing
 * newline.  *out is a secret: cm_freezero(*out, DIR_PW_MAX_BYTES + 2). */
static int
read_password(const char *prompt, char **out, size_t *outlen)
{
	struct termios old, noecho;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int tty = isatty(STDIN_FILENO), restore = 0;

	*out = NULL;
	*outlen = 0;
	if ((buf = calloc(1, DIR_PW_MAX_BYTES + 2)) == NULL)
		return CM_ERR_NOMEM;
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) == 0)
			restore = 1;
		fprintf(stderr, "%s", prompt);
	}
	for (;;) {
		n = read(STDIN_FILENO, buf + len, DIR_PW_MAX_BYTES + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (tty && memchr(buf, '\n', len) != NULL)
			break;
		if (len > DIR_PW_MAX_BYTES)
			break;
	}
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (tty) {
		char *nl = memchr(buf, '\n', len);

		if (nl != NULL)
			len = (size_t)(nl - buf);
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > DIR_PW_MAX_BYTES) {
		cm_freezero(buf, DIR_PW_MAX_BYTES + 2);
		return CM_ERR_RANGE;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int
read_file(const char *path, size_t max, char **out)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r = CM_ERR_IO;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return CM_ERR_IO;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		r = CM_ERR_RANGE;
		goto out;
	}
	if ((buf = calloc(1, max + 1)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	while ((n = read(fd, buf + len, max - len)) > 0)
		len += (size_t)n;
	if (n == -1)
		goto out;
	if (memchr(buf, '\0', len) != NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	*out = buf;
	buf = NULL;	/* transferred */
	r = 0;
 out:
	free(buf);
	close(fd);
	return r;
}

static json_t *
jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* ---- user ---- */

/* groups NULL: leave "groups" out (user list). */
static json_t *
user_json(const struct dir_user *u, char **groups, size_t ngroups)
{
	json_t *o, *g;

	o = json_object();
	json_object_set_new(o, "uid", jstr(u->uid));
	json_object_set_new(o, "dn", jstr(u->dn));
	json_object_set_new(o, "name", jstr(u->name));
	json_object_set_new(o, "mail", jstr(u->mail));
	json_object_set_new(o, "status", json_string(dir_status_str(u->status)));
	json_object_set_new(o, "locked", json_boolean(u->locked));
	json_object_set_new(o, "staff_id", jstr(u->staff_id));
	json_object_set_new(o, "affiliation", jstr(u->affiliation));
	json_object_set_new(o, "created", jstr(u->created));
	if (groups != NULL || ngroups == 0) {	/* 0: an empty list */
		g = json_array();
		for (size_t i = 0; i < ngroups; i++)
			json_array_append_new(g, json_string(groups[i]));
		json_object_set_new(o, "groups", g);
	}
	return o;
}

static void
user_print(const struct dir_user *u, char **groups, size_t ngroups)
{
	printf("uid:         %s\n", u->uid);
	printf("dn:          %s\n", u->dn);
	printf("name:        %s\n", u->name);
	printf("mail:        %s\n", u->mail != NULL ? u->mail : "-");
	printf("status:      %s%s\n", dir_status_str(u->status),
	    u->locked ? " (locked by password policy)" : "");
	if (u->staff_id != NULL)
		printf("staff id:    %s\n", u->staff_id);
	if (u->affiliation != NULL)
		printf("affiliation: %s\n", u->affiliation);
	printf("groups:     ");
	for (size_t i = 0; i < ngroups; i++)
		printf(" %s", groups[i]);
	printf("%s\n", ngroups == 0 ? " -" : "");
}

static int
user_add(struct brk_ctl *ctl, int argc, char **argv)
{
	struct ctl_opt opts[] = {
		{ "--name", 0, 0, { 0 }, 0 }, { "--mail", 0, 0, { 0 }, 0 },
		{ "--group", 1, 0, { 0 }, 0 }, { "--staff-id", 0, 0, { 0 }, 0 },
		{ "--affiliation", 0, 0, { 0 }, 0 },
	};
	struct dir_user_new nu;
	struct dir_group *g = NULL;
	struct dir_pool *p;
	const char *pos[1];
	size_t np;
	int r;

	if (ctl_parse(argc, argv, pos, 1, &np, opts, 5) != 0)
		return 1;
	if (np != 1 || opt1(&opts[0]) == NULL) {
		brk_ctl_errx("usage: user add UID --name NAME [--mail MAIL] "
		    "[--group G]... [--staff-id ID] [--affiliation A]");
		return 1;
	}
	if (dir_name_check(pos[0]) != 0)
		return ctl_fail(CM_ERR_INVAL, "user '%s'", pos[0]);
	if ((p = ctl_dir(ctl)) == NULL)
		return 2;
	/* every group must exist before anything is written */
	for (size_t i = 0; i < opts[2].n; i++) {
		if ((r = dir_group_find(p, opts[2].vals[i], &g)) != 0)
			return ctl_fail(r, "group '%s'", opts[2].vals[i]);
		dir_group_free(&g);
	}
	memset(&nu, 0, sizeof(nu));
	nu.uid = pos[0];
	nu.name = opt1(&opts[0]);
	nu.mail = opt1(&opts[1]);
	nu.staff_id = opt1(&opts[3]);
	nu.affiliation = opt1(&opts[4]);
	if ((r = dir_user_add(p, &nu)) != 0) {
		if (r == CM_ERR_INVAL) {
			brk_ctl_errx("user add %s: invalid value (uid: a-z 0-9 "
			    ". _ -; name: printable text; mail: one '@'; "
			    "affiliation: staff, contractor or external)",
			    pos[0]);
			return 1;
		}
		return ctl_fail(r, "user add %s", pos[0]);
	}
	for (size_t i = 0; i < opts[2].n; i++)
		if ((r = dir_group_member_add(p, opts[2].vals[i],
		    DIR_MEMBER_USER, pos[0])) != 0)
			return ctl_fail(r, "group add-member '%s'",
			    opts[2].vals[i]);
	if (ctl->json) {
		json_t *o = json_pack("{s:s, s:s}", "uid", pos[0], "result",
		    "created");

		brk_ctl_print_json(o);
	} else
		printf("user %s created\n", pos[0]);
	return 0;
}

static int
user_show(struct brk_ctl *ctl, const char *uid)
{
	struct dir_pool *p;
	struct dir_user *u = NULL;
	char **groups = NULL;
	size_t ng = 0;
	int r;

	if ((p = ctl_dir(ctl)) == NULL)
		return 2;
	if ((r = dir_user_find(p, uid, &u)) != 0)
		return ctl_fail(r, "user '%s'", uid);
	if ((r = dir_user_groups(p, uid, 1, &groups, &ng)) != 0) {
		dir_user_free(&u);
		return ctl_fail(r, "groups of '%s'", uid);
	}
	if (ctl->json)
		brk_ctl_print_json(user_json(u, groups, ng));
	else
		user_print(u, groups, ng);
	dir_names_free(&groups, ng);
	dir_user_free(&u);
	return 0;
}

static int
user_list(struct brk_ctl *ctl)
{
	struct dir_pool *p;
	struct dir_user **v = NULL;
	size_t n = 0;
	int r;

	if ((p = ctl_dir(ctl)) == NULL)
		return 2;
	if ((r = dir_user_list(p, &v, &n)) != 0)
		return ctl_fail(r, "%s", "user list");
	if (ctl->json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++) {
			/* (NULL, 1): no "groups" member in a listing */
			json_array_append_new(a, user_json(v[i], NULL, 1));
		}
		brk_ctl_print_json(a);
	} else
		for (size_t i = 0; i < n; i++)
			printf("%-20s %-10s %s%s\n", v[i]->uid,
			    dir_status_str(v[i]->status), v[i]->name,
			    v[i]->locked ? " [locked]" : "");
	dir_user_list_free(&v, n);
	return 0;
}

static int
user_status(struct brk_ctl *ctl, const char *verb, const char *uid)
{
	struct dir_pool *p;
	enum dir_status s;
	const char *done;
	int r;

	if ((p = ctl_dir(ctl)) == NULL)
		return 2;
	if (strcmp(verb, "unlock") == 0) {
		if ((r = dir_user_unlock(p, uid)) != 0)
			return ctl_fail(r, "user unlock '%s'", uid);
		done = "unlocked";
	} else {
		if (strcmp(verb, "disable") == 0)
			s = DIR_STATUS_DISABLED;
		else if (strcmp(verb, "suspend") == 0)
			s = DIR_STATUS_SUSPENDED;
		else
			s = DIR_STATUS_ACTIVE;
		if ((r = dir_user_set_status(p, uid, s)) != 0)
			return ctl_fail(r, "user '%s'", uid);
		done = dir_status_str(s);
	}
	if (ctl->json)
		brk_ctl_print_json(json_pack("{s:s, s:s}", "uid", uid,
		    "result", done));
	else
		printf("user %s %s\n", uid, done);
	return 0;
}

static int
user_passwd(struct brk_ctl *ctl, const char *uid)
{
	struct dir_pool *p;
	char *pw = NULL, why[256];
	size_t pwlen = 0;
	int r;

	if ((p = ctl_dir(ctl)) == NULL)
		return 2;
	if ((r = read_password("New password: ", &pw, &pwlen)) != 0) {
		brk_ctl_errx("user passwd %s: cannot read the password from "
		    "stdin (%s)", uid, cm_strerror(r));
		return 1;
	}
	if (pwlen == 0) {
		cm_freezero(pw, DIR_PW_MAX_BYTES + 2);
		brk_ctl_errx("user passwd %s: empty password on stdin", uid);
		return 1;
	}
	why[0] = '\0';
	r = dir_user_passwd_set(p, uid, pw, pwlen, why, sizeof(why));
	cm_freezero(pw, DIR_PW_MAX_BYTES + 2);
	if (r == CM_ERR_POLICY || (r == CM_ERR_INVAL && why[0] != '\0')) {
		brk_ctl_errx("user passwd %s: password refused: %s", uid,
		    why[0] != '\0' ? why : "policy");
		return 1;
	}
	if (r != 0)
		return ctl_fail(r, "user passwd '%s'", uid);
	if (ctl->json)
		brk_ctl_print_json(json_pack("{s:s, s:s}", "uid", uid,
		    "result", "password set"));
	else
		printf("password of %s set\n", uid);
	return 0;
}

static int
user_check_password(struct brk_ctl *ctl, const char *uid)
{
	struct dir_pool *p;
	char *pw = NULL;
	size_t pwlen = 0;
	const char *res;
	int r;

	if ((p = ctl_dir(ctl)) == NULL)
		return 2;
	if ((r = read_password("Password: ", &pw, &pwlen)) != 0) {
		brk_ctl_errx("user check-password %s: cannot read the password "
		    "from stdin", uid);
		return 1;
	}
	r = dir_user_passwd_verify(p, uid, pw, pwlen);
	cm_freezero(pw, DIR_PW_MAX_BYTES + 2);
	switch (r) {
	case 0: res = "ok"; break;
	case CM_ERR_LOCKED: res = "locked"; break;
	case CM_ERR_EXPIRED: res = "expired"; break;
	case DIR_ERR_MUST_CHANGE: res = "must_change"; break;
	case CM_ERR_DENIED: res = "denied"; break;
	default:
		return ctl_fail(r, "user check-password '%s'", uid);
	}
	if (ctl->json)
		brk_ctl_print_json(json_pack("{s:s, s:s}", "uid", uid,
		    "result", res));
	else if (r == 0)
		printf("password of %s verified\n", uid);
	else if (r == DIR_ERR_MUST_CHANGE)
		printf("password of %s verified, but must be changed\n", uid);
	if (r != 0 && !ctl->json)
		brk_ctl_errx("user check-password %s: %s", uid,
		    r == CM_ERR_DENIED ? "unknown user, wrong password or "
		    "account not active" : res);
	return r == 0 ? 0 : 1;
}

int
brk_ctl_user(struct brk_ctl *ctl, int argc, char **argv)
{
	const char *pos[1];
	size_t np;
	const char *verb = argc >= 2 ? argv[1] : "";

	if (strcmp(verb, "add") == 0)
		return user_add(ctl, argc, argv);
	if (strcmp(verb, "list") == 0) {
		if (ctl_parse(argc, argv, pos, 0, &np, NULL, 0) != 0)
			return 1;
		return user_list(ctl);
	}
	if (strcmp(verb, "show") == 0 || strcmp(verb, "disable") == 0 ||
	    strcmp(verb, "enable") == 0 || strcmp(verb, "suspend") == 0 ||
	    strcmp(verb, "unlock") == 0 || strcmp(verb, "passwd") == 0 ||
	    strcmp(verb, "check-password") == 0) {
		if (ctl_parse(argc, argv, pos, 1, &np, NULL, 0) != 0)
			return 1;
		if (np != 1) {
			brk_ctl_errx("usage: user %s UID", verb);
			return 1;
		}
		if (strcmp(verb, "show") == 0)
			return user_show(ctl, pos[0]);
		if (strcmp(verb, "passwd") == 0)
			return user_passwd(ctl, pos[0]);
		if (strcmp(verb, "check-password") == 0)
			return user_check_password(ctl, pos[0]);
		return user_status(ctl, verb, pos[0]);
	}
	brk_ctl_errx("usage: user add|show|list|disable|enable|suspend|unlock|"
	    "passwd|check-password ...");
	return 1;
}

/* ---- group ---- */

static const char *
kind_str(enum dir_member_kind k)
{
	return k == DIR_MEMBER_USER ? "user" : k == DIR_MEMBER_GROUP ?
	    "group" : "other";
}

static int
group_show(struct brk_ctl *ctl, const char *name)
{
	struct dir_pool *p;
	struct dir_group *g = NULL;
	int r;

	if ((p = ctl_dir(ctl)) == NULL)
		return 2;
	if ((r = dir_group_find(p, name, &g)) != 0)
		return ctl_fail(r, "group '%s'", name);
	if (ctl->json) {
		json_t *o = json_object(), *m = json_array();

		json_object_set_new(o, "name", jstr(g->name));
		json_object_set_new(o, "dn", jstr(g->dn));
		json_object_set_new(o, "description", jstr(g->description));
		for (size_t i = 0; i < g->nmembers; i++)
			json_array_append_new(m, json_pack("{s:s, s:o, s:s}",
			    "type", kind_str(g->members[i].kind), "name",
			    jstr(g->members[i].name), "dn", g->members[i].dn));
		json_object_set_new(o, "members", m);
		brk_ctl_print_json(o);
	} else {
		printf("group:       %s\n", g->name);
		printf("dn:          %s\n", g->dn);
		if (g->description != NULL)
			printf("description: %s\n", g->description);
		printf("members:%s\n", g->nmembers == 0 ? "     -" : "");
		for (size_t i = 0; i < g->nmembers; i++)
			printf("  %-6s %s\n", kind_str(g->members[i].kind),
			    g->members[i].name != NULL ? g->members[i].name :
			    g->members[i].dn);
	}
	dir_group_free(&g);
	return 0;
}

int
brk_ctl_group(struct brk_ctl *ctl, int argc, char **argv)
{
	struct ctl_opt opts[] = {
		{ "--description", 0, 0, { 0 }, 0 },
		{ "--group", 0, 0, { 0 }, 0 },
	};
	struct dir_pool *p;
	const char *pos[2];
	const char *verb = argc >= 2 ? argv[1] : "";
	size_t np;
	int r;

	if (strcmp(verb, "add") == 0) {
		if (ctl_parse(argc, argv, pos, 1, &np, opts, 1) != 0)
			return 1;
		if (np != 1) {
			brk_ctl_errx("usage: group add NAME "
			    "[--description TEXT]");
			return 1;
		}
		if (dir_name_check(pos[0]) != 0)
			return ctl_fail(CM_ERR_INVAL, "group '%s'", pos[0]);
		if ((p = ctl_dir(ctl)) == NULL)
			return 2;
		if ((r = dir_group_add(p, pos[0], opt1(&opts[0]))) != 0)
			return ctl_fail(r, "group add %s", pos[0]);
		if (ctl->json)
			brk_ctl_print_json(json_pack("{s:s, s:s}", "group",
			    pos[0], "result", "created"));
		else
			printf("group %s created\n", pos[0]);
		return 0;
	}
	if (strcmp(verb, "add-member") == 0 ||
	    strcmp(verb, "remove-member") == 0) {
		const char *member;
		enum dir_member_kind kind = DIR_MEMBER_USER;
		int add = strcmp(verb, "add-member") == 0;

		if (ctl_parse(argc, argv, pos, 2, &np, opts + 1, 1) != 0)
			return 1;
		if ((np == 2) == (opts[1].n == 1) || np < 1) {
			brk_ctl_errx("usage: group %s GROUP (UID | --group "
			    "SUBGROUP)", verb);
			return 1;
		}
		member = np == 2 ? pos[1] : opts[1].vals[0];
		if (opts[1].n == 1)
			kind = DIR_MEMBER_GROUP;
		if ((p = ctl_dir(ctl)) == NULL)
			return 2;
		r = add ? dir_group_member_add(p, pos[0], kind, member) :
		    dir_group_member_remove(p, pos[0], kind, member);
		if (r == CM_ERR_EXISTS) {
			brk_ctl_errx("group %s: %s is already a member",
			    pos[0], member);
			return 1;
		}
		if (r == CM_ERR_NOTFOUND) {
			brk_ctl_errx("group %s: no such group, no such %s, or "
			    "%s is not a member", pos[0], kind_str(kind),
			    member);
			return 1;
		}
		if (r != 0)
			return ctl_fail(r, "group %s", pos[0]);
		if (ctl->json)
			brk_ctl_print_json(json_pack("{s:s, s:s, s:s, s:s}",
			    "group", pos[0], "type", kind_str(kind), "member",
			    member, "result", add ? "added" : "removed"));
		else
			printf("%s %s %s group %s\n", kind_str(kind), member,
			    add ? "added to" : "removed from", pos[0]);
		return 0;
	}
	if (strcmp(verb, "show") == 0) {
		if (ctl_parse(argc, argv, pos, 1, &np, NULL, 0) != 0)
			return 1;
		if (np != 1) {
			brk_ctl_errx("usage: group show NAME");
			return 1;
		}
		return group_show(ctl, pos[0]);
	}
	brk_ctl_errx("usage: group add|add-member|remove-member|show ...");
	return 1;
}

/* ---- device ---- */

static json_t *
device_json(const struct dir_device *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", jstr(d->id));
	json_object_set_new(o, "dn", jstr(d->dn));
	json_object_set_new(o, "serial", jstr(d->serial));
	json_object_set_new(o, "ip", jstr(d->ip));
	json_object_set_new(o, "owner", jstr(d->owner_uid));
	json_object_set_new(o, "status", json_string(dir_status_str(d->status)));
	json_object_set_new(o, "compliance", jstr(d->compliance));
	json_object_set_new(o, "description", jstr(d->description));
	return o;
}

int
brk_ctl_device(struct brk_ctl *ctl, int argc, char **argv)
{
	struct ctl_opt opts[] = {
		{ "--serial", 0, 0, { 0 }, 0 }, { "--ip", 0, 0, { 0 }, 0 },
		{ "--owner", 0, 0, { 0 }, 0 },
		{ "--description", 0, 0, { 0 }, 0 },
	};
	struct dir_pool *p;
	struct dir_device *d = NULL;
	const char *pos[1];
	const char *verb = argc >= 2 ? argv[1] : "";
	size_t np;
	int r;

	if (strcmp(verb, "add") == 0) {
		struct dir_device_new nd;

		if (ctl_parse(argc, argv, pos, 1, &np, opts, 4) != 0)
			return 1;
		if (np != 1 || opts[0].n != 1) {
			brk_ctl_errx("usage: device add ID --serial SN "
			    "[--ip ADDR] [--owner UID] [--description TEXT]");
			return 1;
		}
		if ((p = ctl_dir(ctl)) == NULL)
			return 2;
		memset(&nd, 0, sizeof(nd));
		nd.id = pos[0];
		nd.serial = opt1(&opts[0]);
		nd.ip = opt1(&opts[1]);
		nd.owner_uid = opt1(&opts[2]);
		nd.description = opt1(&opts[3]);
		r = dir_device_add(p, &nd);
		if (r == CM_ERR_NOTFOUND) {
			brk_ctl_errx("device add %s: owner '%s' not found",
			    pos[0], nd.owner_uid);
			return 1;
		}
		if (r == CM_ERR_EXISTS) {
			brk_ctl_errx("device add %s: a device with that id or "
			    "serial number already exists", pos[0]);
			return 1;
		}
		if (r == CM_ERR_INVAL) {
			brk_ctl_errx("device add %s: invalid value (id: a-z 0-9 "
			    ". _ -; serial: letters, digits, space and "
			    "'()+,-./:=?; ip: an IPv4 or IPv6 address)", pos[0]);
			return 1;
		}
		if (r != 0)
			return ctl_fail(r, "device add %s", pos[0]);
		if (ctl->json)
			brk_ctl_print_json(json_pack("{s:s, s:s}", "id", pos[0],
			    "result", "created"));
		else
			printf("device %s created\n", pos[0]);
		return 0;
	}
	if (strcmp(verb, "show") == 0) {
		if (ctl_parse(argc, argv, pos, 1, &np, opts, 1) != 0)
			return 1;
		if ((np == 1) == (opts[0].n == 1)) {
			brk_ctl_errx("usage: device show ID | device show "
			    "--serial SN");
			return 1;
		}
		if ((p = ctl_dir(ctl)) == NULL)
			return 2;
		r = np == 1 ? dir_device_find(p, pos[0], &d) :
		    dir_device_find_serial(p, opts[0].vals[0], &d);
		if (r != 0)
			return ctl_fail(r, "device '%s'", np == 1 ? pos[0] :
			    opts[0].vals[0]);
		if (ctl->json)
			brk_ctl_print_json(device_json(d));
		else {
			printf("id:          %s\n", d->id);
			printf("dn:          %s\n", d->dn);
			printf("serial:      %s\n", d->serial);
			printf("ip:          %s\n", d->ip ? d->ip : "-");
			printf("owner:       %s\n", d->owner_uid ?
			    d->owner_uid : "-");
			printf("status:      %s\n", dir_status_str(d->status));
			printf("compliance:  %s\n", d->compliance ?
			    d->compliance : "unknown");
		}
		dir_device_free(&d);
		return 0;
	}
	if (strcmp(verb, "list") == 0) {
		struct dir_device **v = NULL;
		size_t n = 0;

		if (ctl_parse(argc, argv, pos, 0, &np, NULL, 0) != 0)
			return 1;
		if ((p = ctl_dir(ctl)) == NULL)
			return 2;
		if ((r = dir_device_list(p, &v, &n)) != 0)
			return ctl_fail(r, "%s", "device list");
		if (ctl->json) {
			json_t *a = json_array();

			for (size_t i = 0; i < n; i++)
				json_array_append_new(a, device_json(v[i]));
			brk_ctl_print_json(a);
		} else
			for (size_t i = 0; i < n; i++)
				printf("%-20s %-20s %-16s %s\n", v[i]->id,
				    v[i]->serial, v[i]->ip ? v[i]->ip : "-",
				    v[i]->owner_uid ? v[i]->owner_uid : "-");
		dir_device_list_free(&v, n);
		return 0;
	}
	brk_ctl_errx("usage: device add|show|list ...");
	return 1;
}

/* ---- rpa ---- */

int
brk_ctl_rpa(struct brk_ctl *ctl, int argc, char **argv)
{
	struct ctl_opt opts[] = {
		{ "--owner", 0, 0, { 0 }, 0 }, { "--jwks", 0, 0, { 0 }, 0 },
		{ "--scope", 1, 0, { 0 }, 0 },
		{ "--description", 0, 0, { 0 }, 0 },
	};
	struct dir_pool *p;
	struct dir_rpa *x = NULL;
	const char *pos[1];
	const char *verb = argc >= 2 ? argv[1] : "";
	size_t np;
	int r;

	if (strcmp(verb, "add") == 0) {
		struct dir_rpa_new nr;
		char *jwks = NULL;

		if (ctl_parse(argc, argv, pos, 1, &np, opts, 4) != 0)
			return 1;
		if (np != 1 || opts[0].n != 1) {
			brk_ctl_errx("usage: rpa add ID --owner UID "
			    "[--jwks FILE] [--scope S]... [--description T]");
			return 1;
		}
		if (opts[1].n == 1 && (r = read_file(opts[1].vals[0],
		    DIR_JWKS_MAX, &jwks)) != 0) {
			brk_ctl_errx("rpa add %s: cannot read %s: %s", pos[0],
			    opts[1].vals[0], cm_strerror(r));
			return 1;
		}
		if ((p = ctl_dir(ctl)) == NULL) {
			free(jwks);
			return 2;
		}
		memset(&nr, 0, sizeof(nr));
		nr.id = pos[0];
		nr.owner_uid = opt1(&opts[0]);
		nr.jwks = jwks;
		nr.scopes = opts[2].vals;
		nr.nscopes = opts[2].n;
		nr.description = opt1(&opts[3]);
		r = dir_rpa_add(p, &nr);
		free(jwks);
		if (r == CM_ERR_NOTFOUND) {
			brk_ctl_errx("rpa add %s: owner '%s' not found", pos[0],
			    nr.owner_uid);
			return 1;
		}
		if (r == CM_ERR_INVAL) {
			brk_ctl_errx("rpa add %s: invalid value (id: a-z 0-9 . _ "
			    "-; --jwks: a JWK Set of public keys; --scope: "
			    "RFC 6749 scope tokens)", pos[0]);
			return 1;
		}
		if (r != 0)
			return ctl_fail(r, "rpa add %s", pos[0]);
		if (ctl->json)
			brk_ctl_print_json(json_pack("{s:s, s:s}", "id", pos[0],
			    "result", "created"));
		else
			printf("rpa %s created (owner %s)\n", pos[0],
			    nr.owner_uid);
		return 0;
	}
	if (strcmp(verb, "show") == 0) {
		if (ctl_parse(argc, argv, pos, 1, &np, NULL, 0) != 0)
			return 1;
		if (np != 1) {
			brk_ctl_errx("usage: rpa show ID");
			return 1;
		}
		if ((p = ctl_dir(ctl)) == NULL)
			return 2;
		if ((r = dir_rpa_find(p, pos[0], &x)) != 0)
			return ctl_fail(r, "rpa '%s'", pos[0]);
		if (ctl->json) {
			json_t *o = json_object(), *s = json_array(), *k;
			json_error_t jerr;

			json_object_set_new(o, "id", jstr(x->id));
			json_object_set_new(o, "dn", jstr(x->dn));
			json_object_set_new(o, "client_id", jstr(x->client_id));
			json_object_set_new(o, "owner", jstr(x->owner_uid));
			json_object_set_new(o, "owner_dn", jstr(x->owner_dn));
			json_object_set_new(o, "status",
			    json_string(dir_status_str(x->status)));
			json_object_set_new(o, "owner_status",
			    json_string(dir_status_str(x->owner_status)));
			json_object_set_new(o, "can_authenticate",
			    json_boolean(x->status == DIR_STATUS_ACTIVE &&
			    x->owner_status == DIR_STATUS_ACTIVE));
			for (size_t i = 0; i < x->nscopes; i++)
				json_array_append_new(s,
				    json_string(x->scopes[i]));
			json_object_set_new(o, "scopes", s);
			k = x->jwks != NULL ? json_loads(x->jwks,
			    JSON_REJECT_DUPLICATES, &jerr) : NULL;
			json_object_set_new(o, "jwks", k != NULL ? k :
			    json_null());
			json_object_set_new(o, "description",
			    jstr(x->description));
			brk_ctl_print_json(o);
		} else {
			printf("id:          %s\n", x->id);
			printf("dn:          %s\n", x->dn);
			printf("client id:   %s\n", x->client_id);
			printf("owner:       %s (%s)\n", x->owner_uid ?
			    x->owner_uid : x->owner_dn,
			    dir_status_str(x->owner_status));
			printf("status:      %s\n", dir_status_str(x->status));
			printf("scopes:     ");
			for (size_t i = 0; i < x->nscopes; i++)
				printf(" %s", x->scopes[i]);
			printf("%s\n", x->nscopes == 0 ? " -" : "");
			printf("jwks:        %s\n", x->jwks ? "yes" : "no");
		}
		dir_rpa_free(&x);
		return 0;
	}
	if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) {
		enum dir_status s = strcmp(verb, "disable") == 0 ?
		    DIR_STATUS_DISABLED : DIR_STATUS_ACTIVE;

		if (ctl_parse(argc, argv, pos, 1, &np, NULL, 0) != 0)
			return 1;
		if (np != 1) {
			brk_ctl_errx("usage: rpa %s ID", verb);
			return 1;
		}
		if ((p = ctl_dir(ctl)) == NULL)
			return 2;
		if ((r = dir_rpa_set_status(p, pos[0], s)) != 0)
			return ctl_fail(r, "rpa '%s'", pos[0]);
		if (ctl->json)
			brk_ctl_print_json(json_pack("{s:s, s:s}", "id", pos[0],
			    "result", dir_status_str(s)));
		else
			printf("rpa %s %s\n", pos[0], dir_status_str(s));
		return 0;
	}
	brk_ctl_errx("usage: rpa add|show|disable|enable ...");
	return 1;
}
