/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.h - one place for diagnostics.
 *
 * Library modules return -errno and do not print (except pr_debug); the
 * command that called them logs once. Messages go to stderr, prefixed with
 * "allocscope: "; the daemon later routes them to the journal.
 */
#ifndef AS_LOG_H
#define AS_LOG_H

#include <stdarg.h>
#include <bpf/libbpf.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* libbpf's print callback: its messages appear one level lower than ours. */
int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap);

#define pr_err(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define pr_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* AS_LOG_H */
