#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test_systemd_unit.sh - the unit as `make install` installs it: systemd-analyze verify
# finds nothing to say, in a scratch root holding the installed files (so that ExecStart=
# exists at its installed path), the host's units and /bin/kill; the man pages named by
# Documentation= resolve; the hardening keeps what the daemon needs; install and uninstall
# leave an administrator's configuration alone.
set -u
cd "$(dirname "$0")/../.."
SUITE=systemd_unit
. tests/lib/lib.sh
OUTPUT=${OUTPUT:-build}

CASES="install verify documentation hardening exposure reinstall uninstall"
ROOT=$(mktemp -d "${TMPROOT:-/tmp}/systemd_unit.XXXXXX") || exit 1
at_exit 'rm -rf "$ROOT"'
UNIT=$ROOT/usr/local/lib/systemd/system/allocscope.service
CONF=$ROOT/etc/allocscope/allocscope.conf

skip_all() {
	local c
	for c in $CASES; do skip "$c" "$1"; done
	exit 0
}

command -v systemd-analyze > /dev/null || skip_all "systemd-analyze is not installed"
[ -x "$OUTPUT/allocscope" ] || skip_all "$OUTPUT/allocscope is not built"

# unit_value KEY: the value of KEY= in the installed unit (the last one).
unit_value() {
	sed -n "s/^$1=//p" "$UNIT" | tail -n 1
}

# --- install: what `make install` puts where ---
out=$(make --no-print-directory -s install DESTDIR="$ROOT" OUTPUT="$OUTPUT" 2>&1)
missing=
for f in usr/local/sbin/allocscope usr/local/share/man/man8/allocscope.8 \
	usr/local/share/man/man5/allocscope.conf.5 usr/local/lib/systemd/system/allocscope.service \
	etc/allocscope/allocscope.conf; do
	[ -f "$ROOT/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	fail install "make install failed or left out:$missing" "$out"
	for c in $CASES; do [ "$c" = install ] || skip "$c" "make install failed"; done
	exit 0
elif [ "$(unit_value ExecStart)" != "/usr/local/sbin/allocscope daemon" ]; then
	fail install "ExecStart=$(unit_value ExecStart)"
elif grep -Eq '@[a-z_]+@' "$UNIT"; then
	fail install "placeholder left in the unit: $(grep -E '@[a-z_]+@' "$UNIT")"
elif [ "$(stat -c %a "$UNIT")" != 644 ] || [ "$(stat -c %a "$ROOT/usr/local/sbin/allocscope")" != 755 ]; then
	fail install "modes: unit $(stat -c %a "$UNIT"), binary $(stat -c %a "$ROOT/usr/local/sbin/allocscope")"
else
	pass install
fi

# --- verify: clean, in a root where what the unit names exists ---
mkdir -p "$ROOT/usr/lib/systemd" "$ROOT/bin"
cp -a /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"
cp /bin/kill "$ROOT/bin/"
out=$(systemd-analyze verify --man=no --root="$ROOT" allocscope.service 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	fail verify "systemd-analyze verify: status $rc" "$out"
else
	pass verify
fi

# --- documentation: Documentation= names the installed man pages ---
if ! command -v man > /dev/null; then
	skip documentation "man is not installed"
else
	out=$(cd "$ROOT/usr/local/lib/systemd/system" &&
		MANPATH="$ROOT/usr/local/share/man" systemd-analyze verify allocscope.service 2>&1)
	# Without --root, ExecStart= is looked for on this machine: only that may be missing.
	out=$(printf '%s\n' "$out" | grep -v 'is not executable: No such file' | grep .)
	if [ -n "$out" ]; then
		fail documentation "$out"
	else
		pass documentation
	fi
fi

# --- hardening: tight, but not so tight that BPF stops working ---
problems=()
[ "$(unit_value Type)" = notify ] || problems+=("Type=$(unit_value Type), not notify")
[ "$(unit_value ExecReload)" = '/bin/kill -HUP $MAINPID' ] || problems+=("ExecReload=$(unit_value ExecReload)")
[ -n "$(unit_value WatchdogSec)" ] || problems+=("no WatchdogSec=")
[ "$(unit_value Restart)" = on-failure ] || problems+=("Restart=$(unit_value Restart)")
filter=" $(unit_value SystemCallFilter) "
for s in @system-service bpf perf_event_open; do
	[[ $filter == *" $s "* ]] || problems+=("SystemCallFilter= lacks $s")
done
[[ $filter == *"~"* ]] && problems+=("SystemCallFilter= denies a set: $filter")
caps=$(unit_value CapabilityBoundingSet)
for c in CAP_BPF CAP_PERFMON CAP_SYS_PTRACE CAP_CHECKPOINT_RESTORE CAP_DAC_READ_SEARCH; do
	[[ " $caps " == *" $c "* ]] || problems+=("CapabilityBoundingSet= lacks $c")
done
[[ $caps == *CAP_SYS_ADMIN* ]] && problems+=("CAP_SYS_ADMIN granted")
[ "$caps" = "$(unit_value AmbientCapabilities)" ] || problems+=("AmbientCapabilities= differs")
# The default export_dir must be inside the writable StateDirectory=.
[ "$(unit_value StateDirectory)" = allocscope ] || problems+=("StateDirectory=$(unit_value StateDirectory)")
grep -q '^#export_dir = /var/lib/allocscope/' "$CONF" || problems+=("export_dir default outside /var/lib/allocscope")
for k in PrivateUsers PrivateNetwork ProtectProc ProcSubset; do
	v=$(unit_value $k)
	case $k=$v in
	PrivateUsers=yes | PrivateUsers=true | PrivateNetwork=yes | PrivateNetwork=true | \
	ProtectProc=invisible | ProtectProc=noaccess | ProtectProc=ptraceable | ProcSubset=pid)
		problems+=("$k=$v hides what the daemon needs") ;;
	esac
done
fam=" $(unit_value RestrictAddressFamilies) "
for a in AF_UNIX AF_INET AF_INET6; do
	[[ $fam == *" $a "* ]] || problems+=("RestrictAddressFamilies= lacks $a")
done
if [ ${#problems[@]} -gt 0 ]; then
	fail hardening "${problems[@]}"
else
	pass hardening
fi

# --- exposure: systemd's own score stays "OK" or better (below 4.0) ---
out=$(systemd-analyze security --offline=yes --root="$ROOT" allocscope.service 2>&1)
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for allocscope.service: \([0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
	skip exposure "systemd-analyze security --offline is not supported"
elif awk -v l="$level" 'BEGIN { exit !(l < 4.0) }'; then
	pass exposure
else
	fail exposure "exposure level $level" "$(printf '%s\n' "$out" | grep '✗')"
fi

# --- reinstall: an edited configuration stays ---
echo "sample_rate = 1M" >> "$CONF"
make --no-print-directory -s install DESTDIR="$ROOT" OUTPUT="$OUTPUT" > /dev/null 2>&1
if [ "$(tail -n 1 "$CONF")" = "sample_rate = 1M" ]; then
	pass reinstall
else
	fail reinstall "make install replaced an edited allocscope.conf"
fi

# --- uninstall: everything but the edited configuration goes; an unedited one too ---
make --no-print-directory -s uninstall DESTDIR="$ROOT" OUTPUT="$OUTPUT" > /dev/null 2>&1
left=$(cd "$ROOT" && find usr/local etc -type f 2>/dev/null)
clean=$(mktemp -d "$ROOT/clean.XXXXXX")
make --no-print-directory -s install DESTDIR="$clean" OUTPUT="$OUTPUT" > /dev/null 2>&1
make --no-print-directory -s uninstall DESTDIR="$clean" OUTPUT="$OUTPUT" > /dev/null 2>&1
left_clean=$(cd "$clean" && find . -type f)
if [ "$left" != etc/allocscope/allocscope.conf ]; then
	fail uninstall "after uninstall, left:" $left
elif [ -n "$left_clean" ]; then
	fail uninstall "an unedited configuration stayed:" $left_clean
else
	pass uninstall
fi
