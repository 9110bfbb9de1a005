/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * calib.h - what one uprobe trap costs on this host, measured.
 *
 * A child process times a loop of calls of a private function of ours,
 * without a probe and then with an empty BPF program on it; the difference
 * per call is the trap: the exception, the kernel's uprobe lookup, running
 * a program, emulating the probed instruction (a push, as where allocscope
 * places its probes) and the return to user space. It is an estimate:
 * taken once, at start, on a machine that may be busy, and without the few
 * tens of ns allocscope's own programs add per call (docs/PERFORMANCE.md).
 */
#ifndef AS_CALIB_H
#define AS_CALIB_H

/* ns per trap in *ns; -EOPNOTSUPP without uprobe_multi (Linux 6.6), or -errno. */
int calib__trap_ns(double *ns);

#endif /* AS_CALIB_H */
