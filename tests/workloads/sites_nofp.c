// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sites workload built as Debian builds programs: no frame pointers,
 * asynchronous unwind tables (.eh_frame for every instruction).
 */
/* cflags: -fomit-frame-pointer -fasynchronous-unwind-tables */
#include "sites.c"
