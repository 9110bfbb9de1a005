// SPDX-License-Identifier: GPL-2.0-only
/* log.c - stderr diagnostics with a level. */
#include <errno.h>
#include <stdio.h>

#include "log.h"

static enum log_level cur_level = LOG_LVL_WARN;

void log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	fputs("allocscope: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	errno = saved;
}

int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is chatty on failures we report ourselves: demote by one. */
	enum log_level ours = level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	if (ours > cur_level)
		return 0;
	return vfprintf(stderr, fmt, ap);
}
