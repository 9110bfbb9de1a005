#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test_build.sh - the Makefile keeps its own flags when a user gives theirs:
# `make CFLAGS=-O1` (as distributions and sanitizer builds do) builds, with the
# include paths and -D_GNU_SOURCE still there and the user's flag last.
set -u
cd "$(dirname "$0")/../.."
SUITE=build
. tests/lib/lib.sh

test_user_cflags() {
	local t=$(case_dir cflags) line
	if ! make -j2 V=1 OUTPUT="$t/out" CFLAGS=-O1 "$t/out/allocscope" > "$t/log" 2>&1; then
		fail user_cflags "make CFLAGS=-O1 failed:" "$(grep -m5 -i 'error' "$t/log")"
		return
	fi
	line=$(grep -m1 ' -c src/value.c ' "$t/log")
	if [[ $line != *"-Iinclude -Isrc"* || $line != *"-D_GNU_SOURCE"* || $line != *"-Werror"* ||
		$line != *" -O1 -c src/value.c"* || $line == *"-O2"* ]]; then
		fail user_cflags "compile line: $line"
	elif ! "$t/out/allocscope" --version | grep -q '^allocscope '; then
		fail user_cflags "the binary does not run"
	else
		pass user_cflags
	fi
	rm -rf "$t/out"
}
test_user_cflags
