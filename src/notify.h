/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * notify.h - the sd_notify(3) protocol, without libsystemd.
 *
 * Each message is one datagram of newline-separated VAR=VALUE assignments to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a leading '@' names one in the abstract namespace). Without
 * $NOTIFY_SOCKET (not started by systemd, or not as Type=notify) nothing is sent and nothing
 * fails. systemd reads the sender's pid from the socket's credentials: send from the main
 * process (NotifyAccess=main, the default).
 *
 * What the daemon sends: READY=1 once it serves, STATUS=... for systemctl status, WATCHDOG=1
 * at half of notify__watchdog_usec(), notify__reloading() then READY=1 around a reload, and
 * STOPPING=1 when it starts to exit.
 */
#ifndef AS_NOTIFY_H
#define AS_NOTIFY_H

#include <linux/types.h>

/*
 * Sends state ("READY=1", "STATUS=exporting\nWATCHDOG=1", ...). Returns 1 when sent, 0 when
 * $NOTIFY_SOCKET is unset or empty, -EINVAL for an address we cannot use (neither a path nor
 * '@'), or the -errno of socket()/sendto() (-ECONNREFUSED, -ENOENT: no one listens).
 */
int notify__send(const char *state);
/* As notify__send(), with a printf format: notify__sendf("STATUS=%d targets", n). */
int notify__sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * "RELOADING=1" with "MONOTONIC_USEC=" (CLOCK_MONOTONIC now), as Type=notify-reload
 * (systemd 253+) requires and older ones accept. Send READY=1 when the reload is done.
 */
int notify__reloading(void);
/*
 * The watchdog interval systemd expects pings within (WatchdogSec=), in microseconds, from
 * $WATCHDOG_USEC; 0 when unset, invalid, or meant for another process ($WATCHDOG_PID is set
 * and is not ours). Ping (WATCHDOG=1) every half of it.
 */
__u64 notify__watchdog_usec(void);

#endif /* AS_NOTIFY_H */
