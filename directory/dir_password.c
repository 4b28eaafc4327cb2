/*
 * directory/dir_password.c — password rules (NIST SP 800-63B-4 §3.1.1.2):
 * NFKC normalisation, length in code points, no composition rules, and a
 * blocklist (dictionary words, common passwords, repetitive or sequential
 * strings, context words).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistr.h>
#include <uninorm.h>

#include "dir_private.h"

#define DIR_BLOCKLIST_MAX_WORDS	2000000
#define DIR_BLOCKLIST_MAX_LINE	256
#define DIR_CTX_MIN_TOKEN	4

struct dir_pwpolicy {
	unsigned	  min_len;
	unsigned	  max_len;
	char		**words;	/* sorted, lowercase, unique */
	size_t		  nwords;
};

/* Seen in every breach corpus; the dictionary does not hold them. */
static const char *const common_pw[] = {
	"password", "passw0rd", "letmein", "iloveyou", "welcome", "admin",
	"administrator", "qwerty", "monkey", "dragon", "sunshine",
	"princess", "football", "baseball", "superman", "trustno1",
	"starwars", "whatever", "master", "shadow", "michael", "jennifer",
	"changeme", "default", "secret", "login", "abc123", "123456",
	"sekimori",
};

/* Keyboard rows and runs that people walk along. */
static const char *const sequences[] = {
	"abcdefghijklmnopqrstuvwxyz", "012345678901234567890",
	"qwertyuiopasdfghjklzxcvbnm", "qwertyuiop[]asdfghjkl;'zxcvbnm,./",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
	"`1234567890-=", "!@#$%^&*()_+", "qazwsxedcrfvtgbyhnujmikolp",
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
lower_ascii(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int
load_words(struct dir_pwpolicy *pp, const char *path)
{
	FILE *f = NULL;
	char line[DIR_BLOCKLIST_MAX_LINE];
	size_t cap = 0, j;
	int r = CM_ERR_INTERNAL;

	if ((f = fopen(path, "re")) == NULL)
		return CM_ERR_IO;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n");
		char **nw;

		line[n] = '\0';
		if (n < DIR_PW_MIN_MFA)
			continue;	/* shorter than any password */
		if (pp->nwords >= DIR_BLOCKLIST_MAX_WORDS) {
			r = CM_ERR_RANGE;
			goto out;
		}
		if (pp->nwords == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nw = reallocarray(pp->words, cap,
			    sizeof(*nw))) == NULL) {
				r = CM_ERR_NOMEM;
				goto out;
			}
			pp->words = nw;
		}
		lower_ascii(line);
		if ((pp->words[pp->nwords] = strdup(line)) == NULL) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		pp->nwords++;
	}
	if (ferror(f)) {
		r = CM_ERR_IO;
		goto out;
	}
	if (pp->nwords > 0) {
		size_t w = 1;

		qsort(pp->words, pp->nwords, sizeof(*pp->words), cmp_str);
		for (j = 1; j < pp->nwords; j++) {
			if (strcmp(pp->words[j], pp->words[w - 1]) == 0)
				free(pp->words[j]);
			else
				pp->words[w++] = pp->words[j];
		}
		pp->nwords = w;
	}
	r = 0;
 out:
	fclose(f);
	return r;
}

int
dir_pwpolicy_new(const struct dir_config *c, struct dir_pwpolicy **out)
{
	struct dir_pwpolicy *pp;
	int r;

	*out = NULL;
	if ((pp = calloc(1, sizeof(*pp))) == NULL)
		return CM_ERR_NOMEM;
	pp->min_len = c->pw_mfa_always ? c->pw_min_len_mfa : c->pw_min_len;
	if (pp->min_len < DIR_PW_MIN_MFA ||
	    (!c->pw_mfa_always && pp->min_len < DIR_PW_MIN_SINGLE))
		pp->min_len = c->pw_mfa_always ? DIR_PW_MIN_MFA :
		    DIR_PW_MIN_SINGLE;	/* never below the floors */
	pp->max_len = c->pw_max_len < DIR_PW_MAX_FLOOR ? DIR_PW_MAX_FLOOR :
	    c->pw_max_len;
	if ((r = load_words(pp, c->pw_blocklist)) != 0) {
		dir_pwpolicy_free(&pp);
		return r;
	}
	*out = pp;
	return 0;
}

void
dir_pwpolicy_free(struct dir_pwpolicy **ppp)
{
	struct dir_pwpolicy *pp;

	if (ppp == NULL || (pp = *ppp) == NULL)
		return;
	for (size_t i = 0; i < pp->nwords; i++)
		free(pp->words[i]);
	free(pp->words);
	free(pp);
	*ppp = NULL;
}

int
dir_password_normalize(const char *pw, size_t pwlen, char **out,
    size_t *outlen, size_t *ncp)
{
	uint8_t *norm = NULL;
	char *s = NULL;
	size_t nlen = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	*outlen = 0;
	*ncp = 0;
	if (pw == NULL || pwlen == 0)
		return CM_ERR_INVAL;
	if (pwlen > DIR_PW_MAX_BYTES)
		return CM_ERR_RANGE;
	if (u8_check((const uint8_t *)pw, pwlen) != NULL)
		return CM_ERR_INVAL;
	for (size_t i = 0; i < pwlen; i++) {
		unsigned char ch = (unsigned char)pw[i];

		if (ch < 0x20 || ch == 0x7f)
			return CM_ERR_INVAL;	/* NUL, newline, controls */
	}
	norm = u8_normalize(UNINORM_NFKC, (const uint8_t *)pw, pwlen, NULL,
	    &nlen);
	if (norm == NULL) {
		r = errno == ENOMEM ? CM_ERR_NOMEM : CM_ERR_INVAL;
		goto out;
	}
	if (nlen == 0 || nlen > DIR_PW_MAX_BYTES * 4) {
		r = CM_ERR_RANGE;
		goto out;
	}
	/* NFKC may map to controls or NUL only if they were there */
	if (memchr(norm, '\0', nlen) != NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((s = malloc(nlen + 1)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	memcpy(s, norm, nlen);
	s[nlen] = '\0';
	*ncp = u8_mbsnlen(norm, nlen);
	*out = s;
	*outlen = nlen;
	s = NULL;	/* transferred */
	r = 0;
 out:
	if (norm != NULL)
		cm_freezero(norm, nlen);
	return r;
}

static int
in_words(const struct dir_pwpolicy *pp, const char *w)
{
	return pp->nwords > 0 && bsearch(&w, pp->words, pp->nwords,
	    sizeof(*pp->words), cmp_str) != NULL;
}

static int
is_common(const char *w)
{
	for (size_t i = 0; i < sizeof(common_pw) / sizeof(common_pw[0]); i++)
		if (strcmp(w, common_pw[i]) == 0)
			return 1;
	return 0;
}

/* Undo the usual substitutions (p@ssw0rd); one is 'i' or 'l'. */
static void
unleet(char *s, char one)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '0': *s = 'o'; break;
		case '1': case '!': case '|': *s = one; break;
		case '3': *s = 'e'; break;
		case '4': case '@': *s = 'a'; break;
		case '5': case '$': *s = 's'; break;
		case '7': *s = 't'; break;
		default: break;
		}
	}
}

/* The password without leading and trailing digits, punctuation and
 * spaces ("Summer2024!" -> "summer"), lowercase. */
static void
core_of(const char *low, char *core, size_t corelen)
{
	size_t a = 0, b = strlen(low);

	while (a < b && !isalpha((unsigned char)low[a]) &&
	    (unsigned char)low[a] < 0x80)
		a++;
	while (b > a && !isalpha((unsigned char)low[b - 1]) &&
	    (unsigned char)low[b - 1] < 0x80)
		b--;
	if (b - a >= corelen)
		b = a + corelen - 1;
	memcpy(core, low + a, b - a);
	core[b - a] = '\0';
}

static int
is_repetitive(const uint32_t *cp, size_t n)
{
	size_t distinct = 0;

	for (size_t p = 1; p <= n / 2; p++) {
		size_t i;

		for (i = p; i < n && cp[i] == cp[i - p]; i++)
			;
		if (i == n)
			return 1;	/* a unit of p repeated */
	}
	for (size_t i = 0; i < n && distinct < 4; i++) {
		size_t j;

		for (j = 0; j < i && cp[j] != cp[i]; j++)
			;
		if (j == i)
			distinct++;
	}
	return distinct < 4;
}

static int
is_sequential(const uint32_t *cp, size_t n, const char *low)
{
	int up = 1, down = 1;

	for (size_t i = 1; i < n; i++) {
		if (cp[i] != cp[i - 1] + 1)
			up = 0;
		if (cp[i] + 1 != cp[i - 1])
			down = 0;
	}
	if (n > 1 && (up || down))
		return 1;
	for (size_t i = 0; i < sizeof(sequences) / sizeof(sequences[0]); i++) {
		char rev[64];
		size_t sl = strlen(sequences[i]);

		if (strstr(sequences[i], low) != NULL)
			return 1;
		for (size_t j = 0; j < sl && j < sizeof(rev) - 1; j++)
			rev[j] = sequences[i][sl - 1 - j];
		rev[sl < sizeof(rev) ? sl : sizeof(rev) - 1] = '\0';
		if (strstr(rev, low) != NULL)
			return 1;
	}
	return 0;
}

/* Whether low contains ctx, or one of its alphanumeric tokens of at least
 * DIR_CTX_MIN_TOKEN characters. */
static int
has_context(const char *low, const char *ctx)
{
	char tok[DIR_VALUE_MAX + 1];
	size_t n = 0;

	if (ctx == NULL || ctx[0] == '\0')
		return 0;
	for (const char *c = ctx;; c++) {
		unsigned char ch = (unsigned char)*c;

		if (ch != '\0' && (isalnum(ch) || ch >= 0x80)) {
			if (n < sizeof(tok) - 1)
				tok[n++] = (char)tolower(ch);
			continue;
		}
		tok[n] = '\0';
		if (n >= DIR_CTX_MIN_TOKEN && strstr(low, tok) != NULL)
			return 1;
		n = 0;
		if (ch == '\0')
			break;
	}
	return 0;
}

int
dir_pwpolicy_check(const struct dir_pwpolicy *pp, const char *pw,
    size_t pwlen, const char *const *ctx, size_t nctx, char *why,
    size_t whylen)
{
	char *norm = NULL, *low = NULL, *core = NULL, *low_core = NULL;
	uint32_t *cp = NULL;
	size_t nlen = 0, ncp = 0, cplen = 0;
	int r = CM_ERR_INTERNAL;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
#define REFUSE(...) do {						\
		if (why != NULL && whylen > 0)				\
			snprintf(why, whylen, __VA_ARGS__);		\
		r = CM_ERR_POLICY;					\
		goto out;						\
	} while (0)

	if ((r = dir_password_normalize(pw, pwlen, &norm, &nlen, &ncp)) != 0) {
		if (r == CM_ERR_RANGE)
			REFUSE("longer than %u characters", pp->max_len);
		if (r == CM_ERR_INVAL && why != NULL && whylen > 0)
			snprintf(why, whylen, "not valid UTF-8 text, or holds "
			    "control characters");
		goto out;
	}
	if (ncp < pp->min_len)
		REFUSE("shorter than %u characters", pp->min_len);
	if (ncp > pp->max_len)
		REFUSE("longer than %u characters", pp->max_len);
	if ((cp = u8_to_u32((const uint8_t *)norm, nlen, NULL, &cplen)) ==
	    NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((low = strdup(norm)) == NULL || (core = calloc(1, nlen + 1)) ==
	    NULL || (low_core = calloc(1, nlen + 1)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	lower_ascii(low);
	if (is_repetitive(cp, cplen))
		REFUSE("repeats a character or a short pattern");
	if (is_sequential(cp, cplen, low))
		REFUSE("is a sequence (like abcd, 4321 or qwerty)");
	if (in_words(pp, low) || is_common(low))
		REFUSE("is a dictionary word or a common password");
	core_of(low, core, nlen + 1);
	if (core[0] != '\0' && (in_words(pp, core) || is_common(core)))
		REFUSE("is a dictionary word or a common password with "
		    "digits or symbols added");
	for (int k = 0; k < 4; k++) {
		/* leet forms: of the core, and of the whole password then
		 * its core ("p@ssw0rd!!", "1nt3rn4t10n4l") */
		if (k < 2) {
			core_of(low, core, nlen + 1);
			unleet(core, k ? 'l' : 'i');
			low_core[0] = '\0';
		} else {
			memcpy(core, low, nlen + 1);
			unleet(core, k == 3 ? 'l' : 'i');
			core_of(core, low_core, nlen + 1);
		}
		if ((core[0] != '\0' && (in_words(pp, core) || is_common(core))) ||
		    (low_core[0] != '\0' && (in_words(pp, low_core) ||
		    is_common(low_core))))
			REFUSE("is a dictionary word or a common password with "
			    "letters swapped for digits or symbols");
	}
	for (size_t i = 0; i < nctx; i++) {
		if (ctx[i] == NULL)
			continue;
		if (has_context(low, ctx[i]) ||
		    (ctx[i][0] != '\0' && strcasecmp(low, ctx[i]) == 0))
			REFUSE("contains the user name, the name or the mail "
			    "address");
	}
	if (has_context(low, "sekimori"))
		REFUSE("contains the name of the service");
	r = 0;
#undef REFUSE
 out:
	if (norm != NULL)
		cm_freezero(norm, nlen + 1);
	if (low != NULL)
		cm_freezero(low, nlen + 1);
	if (core != NULL)
		cm_freezero(core, nlen + 1);
	if (low_core != NULL)
		cm_freezero(low_core, nlen + 1);
	if (cp != NULL)
		cm_freezero(cp, cplen * sizeof(*cp));
	return r;
}
