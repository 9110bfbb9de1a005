/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * auth.h - who may read the HTTP endpoint over TCP: the credentials file, and the secret
 * files (credentials, TLS key) that only their owner may read.
 *
 * The credentials file (http_auth_file) has one credential per line, '#' comments and blank
 * lines aside:
 *
 *	bearer TOKEN		Authorization: Bearer TOKEN
 *	basic USER:PASSWORD	Authorization: Basic base64(USER:PASSWORD), RFC 7617
 *
 * A request is allowed if it presents any of them. Comparisons take the same time whatever
 * prefix matches.
 */
#ifndef AS_AUTH_H
#define AS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct auth;

/*
 * Reads a file that must be private: a regular file owned by this process's user and neither
 * readable nor writable by group or others. Returns 0 with *buf (NUL-terminated, free() it)
 * and *len; -EPERM (its mode or owner), -EFBIG (over 1 MiB) or -errno, with a one-line reason
 * in err. check false: any mode (a certificate is public).
 */
int auth__read_file(const char *path, bool check, char **buf, size_t *len, char *err,
		    size_t errlen);

/* Loads the credentials file at path (auth__read_file(), checked). 0 or -errno, err set. */
int auth__load(const char *path, struct auth **out, char *err, size_t errlen);
void auth__free(struct auth *a);

bool auth__bearer_ok(const struct auth *a, const char *token);
bool auth__basic_ok(const struct auth *a, const char *user, const char *password);
/* The WWW-Authenticate value of a 401 (RFC 9110 11.6.1): Basic if any, else Bearer. */
const char *auth__challenge(const struct auth *a);

#endif /* AS_AUTH_H */
