# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# procs.sh - what a test starts, it stops (bash). Sourced by tests/run.sh and
# tests/lib/lib.sh. Every test runs in a cgroup of its own (cgroup v2, without
# controllers: it costs nothing) so that, however it ends, everything it
# started, grandchildren and setsid()ed processes included, can be found and
# killed (cgroup.kill, Linux 5.14: torvalds/linux 661ee6280931 "cgroup:
# introduce cgroup.kill"); the daemon tests also trace only the processes in
# it. Without a writable cgroup v2 hierarchy, process groups and the tree
# below the script are all there is.

# Where cgroup v2 is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a
# hybrid hierarchy.
CG2_ROOT=${CG2_ROOT-$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)}

# cg_self: this shell's cgroup v2 path, below the root ("/" at the root).
cg_self() {
	local p
	p=$(sed -n 's/^0:://p' "/proc/$BASHPID/cgroup")
	echo "${p:-/}"
}

# cg_new NAME: makes the cgroup NAME below this shell's own; prints its path
# below the root, the form `targets = cgroup:PATH` takes.
cg_new() {
	local parent
	[ -n "$CG2_ROOT" ] || return 1
	parent=$(cg_self)
	parent=${parent%/}
	mkdir "$CG2_ROOT$parent/$1" 2> /dev/null || return 1
	echo "$parent/$1"
}

# cg_enter CG [PID]: moves PID (default: this shell) into CG.
cg_enter() {
	echo "${2:-$BASHPID}" 2> /dev/null > "$CG2_ROOT$1/cgroup.procs"
}

# cg_procs CG: the pids in CG and below it.
cg_procs() {
	[ -n "$1" ] && [ -d "$CG2_ROOT$1" ] || return 0
	find "$CG2_ROOT$1" -name cgroup.procs -exec cat {} + 2> /dev/null
}

# cg_kill CG: kills every process in CG and below it, then removes them all.
cg_kill() {
	local cg=$CG2_ROOT$1 i
	[ -n "$1" ] && [ -d "$cg" ] || return 0
	echo 1 2> /dev/null > "$cg/cgroup.kill"
	# SIGKILL is delivered at once; the exits take a moment
	for ((i = 0; i < 200; i++)); do
		grep -q '^populated 0' "$cg/cgroup.events" 2> /dev/null && break
		sleep 0.05
	done
	find "$cg" -depth -type d -exec rmdir {} + 2> /dev/null
	[ ! -d "$cg" ]
}

# descendants PID: every process below PID, parents before their children.
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2> /dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# exited PID: PID is gone, or a zombie (exited, not yet reaped).
exited() {
	local st
	st=$(ps -o stat= -p "$1" 2> /dev/null)
	[ -z "$st" ] || [[ $st == Z* ]]
}

# running PIDS...: those of PIDS that are not zombies.
running() {
	local p
	for p in "$@"; do
		exited "$p" || echo "$p"
	done
}

# describe PIDS...: "pid comm args" of each one still there.
describe() {
	[ $# -gt 0 ] && ps -o pid=,comm=,args= -p "$(echo "$@" | tr ' ' ,)" 2> /dev/null | cut -c1-120
}
