// SPDX-License-Identifier: GPL-2.0-only
/* The sites workload as a non-PIE executable (ET_EXEC, fixed addresses). */
/* cflags: -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -no-pie -fno-pie */
#include "sites.c"
