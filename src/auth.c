// SPDX-License-Identifier: GPL-2.0-only
/*
 * auth.c - the credentials file and private files; see auth.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"

#define MAX_FILE	(1 << 20)

enum cred_kind { CRED_BEARER, CRED_BASIC };

struct cred {
	enum cred_kind kind;
	char *user;		/* basic */
	char *secret;		/* the token, or the password */
};

struct auth {
	struct cred *v;
	int nr;
	bool basic;		/* some credential is basic */
};

static int fail(char *err, size_t len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && len)
		vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return ret;
}

/* Its owner only: anyone else who reads it can read every profile, or serve as the daemon. */
static int check_private(const char *path, const struct stat *st, char *err, size_t len)
{
	if (!S_ISREG(st->st_mode))
		return fail(err, len, -EINVAL, "%s: not a regular file", path);
	if (st->st_uid != geteuid())
		return fail(err, len, -EPERM, "%s: owned by uid %u, not %u: chown it", path,
			    (unsigned int)st->st_uid, (unsigned int)geteuid());
	if (st->st_mode & 077)
		return fail(err, len, -EPERM,
			    "%s: mode %04o lets group or others read or write it: chmod 600 it",
			    path, (unsigned int)(st->st_mode & 07777));
	return 0;
}

int auth__read_file(const char *path, bool check, char **buf, size_t *len, char *err,
		    size_t errlen)
{
	struct stat st;
	ssize_t n = 0;
	char *b = NULL;
	int fd, ret;

	if (err && errlen)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	/* fstat, not stat: the file checked is the file read. */
	ret = fstat(fd, &st) ? -errno : 0;
	if (!ret && check)
		ret = check_private(path, &st, err, errlen);
	if (!ret && st.st_size > MAX_FILE)
		ret = fail(err, errlen, -EFBIG, "%s: larger than %d bytes", path, MAX_FILE);
	if (!ret && !(b = malloc(st.st_size + 1)))
		ret = -ENOMEM;
	if (!ret && (n = read(fd, b, st.st_size)) < 0)
		ret = fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	close(fd);
	if (ret) {
		free(b);
		if (err && errlen && !err[0])
			fail(err, errlen, ret, "%s: %s", path, strerror(-ret));
		return ret;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* "bearer TOKEN" or "basic USER:PASSWORD", blanks trimmed; NULL or what is wrong. */
static const char *parse_cred(char *line, struct cred *c)
{
	char *arg = line + strcspn(line, " \t"), *colon;

	if (*arg)
		*arg++ = '\0';
	arg += strspn(arg, " \t");
	if (!*arg || arg[strcspn(arg, " \t")])
		return "expected 'bearer TOKEN' or 'basic USER:PASSWORD'";
	if (!strcmp(line, "bearer")) {
		c->kind = CRED_BEARER;
		c->secret = strdup(arg);
		return c->secret ? NULL : "out of memory";
	}
	colon = strchr(arg, ':');
	if (strcmp(line, "basic") || !colon || colon == arg)
		return "expected 'bearer TOKEN' or 'basic USER:PASSWORD'";
	c->kind = CRED_BASIC;
	c->user = strndup(arg, colon - arg);
	c->secret = strdup(colon + 1);
	return c->user && c->secret ? NULL : "out of memory";
}

static int parse_creds(struct auth *a, char *text, const char *path, char *err, size_t len)
{
	char *line, *next, *end;
	const char *why;
	int nr = 0;

	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		nr++;
		line += strspn(line, " \t");
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (!*line || *line == '#')
			continue;
		/* Never the line itself in the message: it may hold a secret. */
		why = parse_cred(line, &a->v[a->nr]);
		a->nr++;
		if (why)
			return fail(err, len, -EINVAL, "%s:%d: %s", path, nr, why);
		a->basic |= a->v[a->nr - 1].kind == CRED_BASIC;
	}
	if (!a->nr)
		return fail(err, len, -EINVAL, "%s: no credentials", path);
	return 0;
}

int auth__load(const char *path, struct auth **out, char *err, size_t errlen)
{
	struct auth *a;
	size_t len, i, lines = 1;
	char *text;
	int ret;

	ret = auth__read_file(path, true, &text, &len, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	a = calloc(1, sizeof(*a));
	if (a)
		a->v = calloc(lines, sizeof(*a->v));
	ret = a && a->v ? parse_creds(a, text, path, err, errlen) : -ENOMEM;
	/* The secrets stay in a->v only. */
	explicit_bzero(text, len);
	free(text);
	if (ret) {
		auth__free(a);
		return ret;
	}
	*out = a;
	return 0;
}

void auth__free(struct auth *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < a->nr; i++) {
		free(a->v[i].user);
		if (a->v[i].secret)
			explicit_bzero(a->v[i].secret, strlen(a->v[i].secret));
		free(a->v[i].secret);
	}
	free(a->v);
	free(a);
}

/* Equal strings, in a time that does not depend on where they differ. */
static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
	return !d && lb;
}

bool auth__bearer_ok(const struct auth *a, const char *token)
{
	bool ok = false;
	int i;

	for (i = 0; i < a->nr; i++)
		if (a->v[i].kind == CRED_BEARER)
			ok |= same(token, a->v[i].secret);
	return ok;
}

bool auth__basic_ok(const struct auth *a, const char *user, const char *password)
{
	bool ok = false;
	int i;

	for (i = 0; i < a->nr; i++)
		if (a->v[i].kind == CRED_BASIC)
			/* & as ints: both compared, no early exit to time (clang's -Wbitwise-...) */
			ok |= (int)same(user, a->v[i].user) & (int)same(password, a->v[i].secret);
	return ok;
}

const char *auth__challenge(const struct auth *a)
{
	return a->basic ? "Basic realm=\"allocscope\", charset=\"UTF-8\"" : "Bearer";
}
