# SPDX-License-Identifier: GPL-2.0-only
#
# One Makefile for allocscope. Quiet by default, V=1 for the commands.
# Everything is built into $(OUTPUT); the source tree stays clean.
#
#   make            build $(OUTPUT)/allocscope
#   make demo       install what is missing, record the demo workload
#   make check      install what is missing, run every test (as root)
#   make check-loaded  the same, while two other processes allocate at full speed
#   make fuzz       run each fuzz target for FUZZ_SECONDS (tests/fuzz/, docs/RELIABILITY.md)
#   make sanitize   build into build-san with ASan and UBSan, run the tests there
#   make bench      install what is missing, run the benchmarks
#   make soak       the daemon under load for 10 minutes (docs/RELIABILITY.md)
#   make install    install binary, unit, config and man pages (DESTDIR, prefix)

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
LLVM_STRIP ?= llvm-strip
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
prefix ?= /usr/local
DESTDIR ?=

ARCH := $(shell uname -m)
ifneq ($(ARCH),x86_64)
$(error allocscope supports x86_64 only: its probe placement decodes x86 code)
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# CFLAGS and CPPFLAGS are the user's (make CFLAGS=-O1): ours come first, in variables of
# their own, so that a user's flags replace the optimization without losing the paths.
CFLAGS ?= -g -O2
AS_CPPFLAGS := -D_GNU_SOURCE -Iinclude -Isrc -I$(OUTPUT)
AS_CFLAGS := -Wall -Wextra -Wno-unused-parameter -Werror -std=gnu11
# make sanitize builds with these into $(SAN_OUTPUT) (SANITIZE=1 does it for any goal).
SAN_OUTPUT ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ifeq ($(SANITIZE),1)
AS_CFLAGS += $(SAN_FLAGS)
endif
AS_CC = $(CC) $(AS_CPPFLAGS) $(CPPFLAGS) $(AS_CFLAGS) $(CFLAGS)
LDLIBS := -lbpf -ldw -lelf -lz -lm -lpthread -lstdc++ -lmicrohttpd
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Iinclude -I$(OUTPUT) \
	      -Wall -Wno-unused-function

SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/main.o,$(OBJS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKEL := $(OUTPUT)/allocscope.skel.h

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOAD_BINS := $(patsubst tests/workloads/%.c,$(OUTPUT)/tests/workloads/%,$(WORKLOAD_SRCS))
WORKLOAD_CXX_SRCS := $(wildcard tests/workloads/*.cc)
WORKLOAD_BINS += $(patsubst tests/workloads/%.cc,$(OUTPUT)/tests/workloads/%,$(WORKLOAD_CXX_SRCS))

.PHONY: all clean check check-loaded demo bench soak deps install uninstall test-bins fuzz-bins fuzz sanitize FORCE
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUTPUT)/allocscope

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/tests/workloads:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF): set VMLINUX_BTF=/path/to/vmlinux" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c include/allocscope.h $(wildcard bpf/*.bpf.h) $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(SKEL): $(OUTPUT)/allocscope.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name allocscope_bpf > $@

# Only the tracer includes the skeleton.
$(OUTPUT)/tracer.o: $(SKEL)

# Rewritten only when the version or the commit changes, so that a new
# commit rebuilds what reports it and nothing else.
$(OUTPUT)/version.h: FORCE | $(OUTPUT)
	$(Q)printf '#define AS_VERSION "%s"\n#define AS_GIT_REV "%s"\n' '$(VERSION)' '$(GIT_REV)' > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@
$(OUTPUT)/main.o $(OUTPUT)/record.o $(OUTPUT)/serve.o $(OUTPUT)/exporter.o: $(OUTPUT)/version.h

$(OUTPUT)/%.o: src/%.c $(wildcard src/*.h) include/allocscope.h | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(AS_CC) -c $< -o $@

$(OUTPUT)/liballocscope.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/allocscope: $(OUTPUT)/main.o $(OUTPUT)/liballocscope.a
	$(call msg,BINARY,$@)
	$(Q)$(AS_CC) $^ $(LDFLAGS) $(LDLIBS) -o $@

# Tests: unit tests link the library; workloads are plain programs with
# known allocation sites, built the way their test says (see the file).
$(OUTPUT)/tests/test_%: tests/unit/test_%.c tests/unit/test.h tests/unit/fixture.h $(OUTPUT)/liballocscope.a | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(AS_CC) -Itests/unit $< $(OUTPUT)/liballocscope.a $(LDFLAGS) $(LDLIBS) -o $@

WORKLOAD_CFLAGS = -g -O2 -Wall -pthread $(shell sed -n 's|^/\* cflags: \(.*\) \*/$$|\1|p' $<)
$(OUTPUT)/tests/workloads/%: tests/workloads/%.c | $(OUTPUT)/tests/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(WORKLOAD_CFLAGS) $< -o $@ -lm

$(OUTPUT)/tests/workloads/%: tests/workloads/%.cc | $(OUTPUT)/tests/workloads
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(WORKLOAD_CFLAGS) $< -o $@ -lm

$(OUTPUT)/tests/workloads/sites_nopie $(OUTPUT)/tests/workloads/sites_nofp: tests/workloads/sites.c

test-bins: $(OUTPUT)/allocscope $(UNIT_BINS) $(WORKLOAD_BINS)

deps:
	$(Q)scripts/install-deps.sh build

check:
	$(Q)scripts/install-deps.sh test
	$(Q)$(MAKE) --no-print-directory test-bins fuzz-bins
	$(Q)OUTPUT=$(OUTPUT) tests/run.sh

check-loaded:
	$(Q)scripts/install-deps.sh test
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)OUTPUT=$(OUTPUT) tests/load.sh tests/run.sh

# Every report of every process goes to a file of its own: tests that only look at exit
# codes cannot miss one. No leak is suppressed.
SAN_ENV = ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:log_path=$(SAN_LOG)/asan \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(SAN_LOG)/ubsan
SAN_LOG = $(CURDIR)/$(SAN_OUTPUT)/reports

sanitize:
	$(Q)scripts/install-deps.sh test
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(SAN_OUTPUT) SANITIZE=1 test-bins
	$(Q)rm -rf $(SAN_LOG) && mkdir -p $(SAN_LOG)
	$(Q)$(SAN_ENV) OUTPUT=$(SAN_OUTPUT) tests/run.sh $(TESTS); rc=$$?; \
	if ls $(SAN_LOG)/* >/dev/null 2>&1; then \
		echo "FAIL sanitize: reports in $(SAN_LOG):"; ls $(SAN_LOG); rc=1; \
	else \
		echo "PASS sanitize: no ASan, LSan or UBSan report"; \
	fi; exit $$rc

demo:
	$(Q)scripts/install-deps.sh build
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/tests/workloads/demo
	$(Q)scripts/demo.sh $(OUTPUT)

# The daemon under load for SOAK_SECONDS (600); not part of check.
soak:
	$(Q)scripts/install-deps.sh test
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)OUTPUT=$(OUTPUT) scripts/soak.sh

bench:
	$(Q)scripts/install-deps.sh bench
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)OUTPUT=$(OUTPUT) bench/run.sh

# The unit goes where systemd looks for the prefix: /usr/local/lib/systemd/system
# (read by Debian's systemd, `systemd-analyze unit-paths`) or /usr/lib/systemd/system
# with prefix=/usr. The configuration is the administrator's: installed only when
# absent, and uninstalled only when unchanged.
unitdir ?= $(prefix)/lib/systemd/system
conffile = $(DESTDIR)/etc/allocscope/allocscope.conf

install: all
	install -D -m 0755 $(OUTPUT)/allocscope $(DESTDIR)$(prefix)/sbin/allocscope
	install -D -m 0644 docs/allocscope.8 $(DESTDIR)$(prefix)/share/man/man8/allocscope.8
	install -D -m 0644 docs/allocscope.conf.5 $(DESTDIR)$(prefix)/share/man/man5/allocscope.conf.5
	install -d $(DESTDIR)$(unitdir)
	sed 's|@sbindir@|$(prefix)/sbin|g' systemd/allocscope.service > $(DESTDIR)$(unitdir)/allocscope.service
	chmod 0644 $(DESTDIR)$(unitdir)/allocscope.service
	test -e $(conffile) || install -D -m 0644 systemd/allocscope.conf $(conffile)

uninstall:
	rm -f $(DESTDIR)$(prefix)/sbin/allocscope $(DESTDIR)$(prefix)/share/man/man8/allocscope.8
	rm -f $(DESTDIR)$(prefix)/share/man/man5/allocscope.conf.5 $(DESTDIR)$(unitdir)/allocscope.service
	! cmp -s systemd/allocscope.conf $(conffile) || rm -f $(conffile)
	rmdir $(DESTDIR)/etc/allocscope 2>/dev/null || true

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

# --- fuzz ---
# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang: the library is
# compiled again with coverage and the sanitizers into $(FUZZ_OUTPUT)/obj.
# make check runs each for a few seconds on its corpus (tests/run.sh);
# make fuzz runs each for FUZZ_SECONDS, FUZZ_TARGETS to pick some.
FUZZ_OUTPUT := $(OUTPUT)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) $(AS_CPPFLAGS) $(AS_CFLAGS)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUTPUT)/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst $(OUTPUT)/%.o,$(FUZZ_OUTPUT)/obj/%.o,$(LIB_OBJS))
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS))

$(FUZZ_OUTPUT)/obj:
	$(Q)mkdir -p $@

$(FUZZ_OUTPUT)/obj/tracer.o: $(SKEL)
$(FUZZ_OUTPUT)/obj/main.o $(FUZZ_OUTPUT)/obj/record.o $(FUZZ_OUTPUT)/obj/serve.o: $(OUTPUT)/version.h

$(FUZZ_OUTPUT)/obj/%.o: src/%.c $(wildcard src/*.h) include/allocscope.h | $(FUZZ_OUTPUT)/obj
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUTPUT)/liballocscope.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_OUTPUT)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_OUTPUT)/liballocscope.a
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz $< $(FUZZ_OUTPUT)/liballocscope.a \
		$(LDLIBS) -o $@

fuzz-bins: $(FUZZ_BINS)

fuzz:
	$(Q)scripts/install-deps.sh test
	$(Q)$(MAKE) --no-print-directory fuzz-bins
	$(Q)for t in $(FUZZ_TARGETS); do \
		FUZZ_MODE=long FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_OUTPUT)/$$t || exit 1; \
	done
# --- end fuzz ---

# --- bench ---
# The benchmark's floor loader: empty BPF programs on allocscope's own probe
# points (bench/floor.c). Built by bench/run.sh (make bench), not by `all`.
$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/bench/floor.bpf.o: bench/floor.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUTPUT)/bench/floor.skel.h: $(OUTPUT)/bench/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(OUTPUT)/bench/floor: bench/floor.c $(OUTPUT)/bench/floor.skel.h $(OUTPUT)/liballocscope.a
	$(call msg,BINARY,$@)
	$(Q)$(AS_CC) -I$(OUTPUT)/bench $< $(OUTPUT)/liballocscope.a $(LDFLAGS) $(LDLIBS) -o $@
# --- end bench ---
