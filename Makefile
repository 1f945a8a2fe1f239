# podwall build. `make` builds everything into $(BUILD); `make test` builds a
# sanitized copy into build/asan and runs every test tier (install the packages
# first: `tools/install-deps.sh && make test`, or `make deps`); `make demo` runs
# the demo; `make check-format` checks the sources against .clang-format.
# `make V=1` shows every command.

BUILD    ?= build
SRC_INC  := -Iinclude -Ilib/core -Ilib/sys -Iagent -Icli -Icni
SANITIZE ?= 0
# The commit the binaries report (podwall version, podwall_build_info).
PW_COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
CLANG_FORMAT ?= clang-format
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu

CFLAGS   := -g -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -Wno-missing-field-initializers -Wno-format-truncation -D_GNU_SOURCE \
	    $(SRC_INC) -I$(BUILD) -MMD -MP -DPW_COMMIT='"$(PW_COMMIT)"'
# Libraries a layer may link. lib/core is pure: no libbpf, no threads.
CORE_LIBS := -lldns -ljansson -lyaml -lz
LDLIBS   := -lbpf -lelf -lz -lldns -ljansson -lyaml -lmicrohttpd -lcurl -lmnl -lpthread
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
BPF_CFLAGS := -g -O2 -target bpf -Wall -Werror -Iinclude -Ibpf -I$(ARCH_INC) -MMD -MP
# Extra defines for the agent and the BPF object alike (the old-layout build below).
PW_DEFS  ?=
CFLAGS     += $(PW_DEFS)
BPF_CFLAGS += $(PW_DEFS)

# Quiet unless V=1: one short line a step.
ifeq ($(V),1)
Q   :=
msg  =
else
Q   := @
msg  = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

.DELETE_ON_ERROR:

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# Layers, dependencies pointing down, one archive each:
#   lib/core  pure code: parsing, names, policy, compile, formatting, CNI config
#             (no libbpf, sockets or threads; `make check-layers` enforces it)
#   lib/sys   adapters: BPF loader and maps, control-socket client, Kubernetes
#             HTTP client, CNI I/O
#   agent/    the daemon; cli/ the podwall command; cni/ podwall-cni
obj         = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_SRCS  := $(wildcard lib/core/*.c)
SYS_SRCS   := $(wildcard lib/sys/*.c)
AGENT_SRCS := $(wildcard agent/*.c)
CLI_SRCS   := $(filter-out cli/main.c,$(wildcard cli/*.c))
CORE_A     := $(BUILD)/libpw-core.a
SYS_A      := $(BUILD)/libpw-sys.a
AGENT_A    := $(BUILD)/libpw-agent.a
CLI_A      := $(BUILD)/libpw-cli.a
# Link order: upper layers first, so an archive resolves only against the ones
# below it (an upward reference fails the link).
ALL_A      := $(CLI_A) $(AGENT_A) $(SYS_A) $(CORE_A)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRCS))
FUZZ_SRCS  := $(filter-out tests/fuzz/fuzz_bpf_%.c,$(wildcard tests/fuzz/fuzz_*.c))
# fuzz_bpf_dns and fuzz_bpf_answer run the real BPF object: libbpf and the
# skeleton, rules of their own.
FUZZ_BPF_ANSWER := $(BUILD)/fuzz/fuzz_bpf_answer
FUZZ_BPF   := $(BUILD)/fuzz/fuzz_bpf_dns $(FUZZ_BPF_ANSWER)
FUZZ_PURE  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_BINS  := $(FUZZ_PURE) $(FUZZ_BPF)

.SECONDARY: $(SKELS) $(BPF_OBJS)

.PHONY: FORCE all deps test test-unit test-bpf test-fuzz test-e2e test-attack test-fault test-k8s \
	test-kernels kernels-bin demo bench fuzz clean format check-format check-layers tests-bin

all: $(BUILD)/podwall $(BUILD)/podwall.1 $(BUILD)/podwall-cni $(BPF_OBJS)

deps:
	@tools/install-deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/obj/%.o: %.c | $(BUILD)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The files that report the commit are rebuilt when HEAD moves: the stamp is
# rewritten only when PW_COMMIT changes (a -D alone never makes an object stale,
# so an incremental build could report two commits, agent and CLI).
$(BUILD)/commit.stamp: FORCE | $(BUILD)
	$(Q)echo '$(PW_COMMIT)' | cmp -s - $@ || echo '$(PW_COMMIT)' >$@
$(call obj,agent/agent.c agent/metrics.c cli/main.c): $(BUILD)/commit.stamp

# Only the loader includes the skeleton.
$(call obj,lib/sys/bpfglue.c): $(BUILD)/podwall.skel.h

$(CORE_A):  $(call obj,$(CORE_SRCS))
$(SYS_A):   $(call obj,$(SYS_SRCS))
$(AGENT_A): $(call obj,$(AGENT_SRCS))
$(CLI_A):   $(call obj,$(CLI_SRCS))
$(ALL_A):
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/podwall: $(call obj,cli/main.c) $(ALL_A)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# The man page, from the CLI's own help text.
$(BUILD)/podwall.1: $(BUILD)/podwall tools/gen-man.sh
	$(call msg,MAN,$@)
	$(Q)tools/gen-man.sh $(BUILD)/podwall > $@.tmp && mv $@.tmp $@

# podwall-cni runs on the host (the container runtime execs it), not in the
# image: a static binary (Debian's libc.a and libjansson.a), so it needs nothing
# the host may lack or have in another version. The sanitizers need their
# dynamic runtime, so a SANITIZE=1 build's plugin is dynamic and the static one
# is built beside it, unsanitized, in $(BUILD)/static/ (the e2e tier checks it).
CNI_OBJS := $(call obj,cni/cni_main.c lib/sys/cni_io.c lib/sys/ctl_client.c)
ifeq ($(SANITIZE),1)
CNI_STATIC :=
tests-bin: $(BUILD)/static/podwall-cni
$(BUILD)/static/podwall-cni: FORCE
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/static SANITIZE=0 $@
FORCE:
else
CNI_STATIC := -static
endif
$(BUILD)/podwall-cni: $(CNI_OBJS) $(CORE_A) Makefile
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $(CNI_STATIC) $(filter-out Makefile,$^) -o $@ -ljansson

# lib/core links without libbpf, libelf, libcurl or libmicrohttpd: every object of
# the archive, forced in, must resolve against libc and CORE_LIBS; and it calls no
# socket or thread function of libc.
$(BUILD)/core-linked: $(CORE_A)
	$(call msg,CHECK,lib/core: no libbpf sockets threads)
	$(Q)printf 'int main(void) { return 0; }\n' > $@.c
	$(Q)$(CC) $(LDFLAGS) $@.c -Wl,--whole-archive $(CORE_A) -Wl,--no-whole-archive \
		-o $@.bin $(CORE_LIBS) || { echo "lib/core must not use libbpf, sockets, threads or lib/sys" >&2; exit 1; }
	$(Q)bad=$$(nm -u $(CORE_A) | awk '{print $$2}' | \
		grep -E '^(bpf_|libbpf_|btf_|pthread_|socket$$|connect$$|bind$$|listen$$|accept4?$$)' | \
		sort -u); [ -z "$$bad" ] || { echo "lib/core uses: $$bad" >&2; exit 1; }
	$(Q)rm -f $@.c $@.bin && touch $@

check-layers: $(BUILD)/core-linked

$(BUILD)/tests/%.o: tests/unit/%.c | $(BUILD)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/%.o: tests/bpf/%.c $(SKELS) | $(BUILD)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(UNIT_BINS) $(BPFT_BINS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(ALL_A)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

# tests/k8s: the API-client driver and the policy checker (tests/k8s/*.sh use them).
K8ST_BINS := $(BUILD)/tests/k8s_driver $(BUILD)/tests/policy_check
$(BUILD)/tests/%.o: tests/k8s/%.c | $(BUILD)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(K8ST_BINS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(SYS_A) $(CORE_A)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# libFuzzer targets: always clang, always sanitized, over the pure parsing
# modules (no maps, no sockets), with their own object files.
FUZZ_LIB_SRCS := $(CORE_SRCS)
# One clang call over several sources writes no usable -MMD file: depend on every header.
FUZZ_HDRS := $(wildcard include/podwall/*.h lib/*/*.h tests/unit/*.h tests/bpf/*.h)
$(FUZZ_PURE): $(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(FUZZ_HDRS)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) -g -O1 -D_GNU_SOURCE $(SRC_INC) -fsanitize=fuzzer,address,undefined \
		$< $(FUZZ_LIB_SRCS) -o $@ -lldns -ljansson -lyaml

# The kernel's DNS query parser, fuzzed through BPF_PROG_TEST_RUN (needs root to run).
$(BUILD)/fuzz/fuzz_bpf_dns: tests/fuzz/fuzz_bpf_dns.c lib/core/fqdn.c $(BUILD)/podwall.skel.h \
		$(FUZZ_HDRS)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) -g -O1 -D_GNU_SOURCE $(SRC_INC) -I$(BUILD) -Itests \
		-fsanitize=fuzzer,address,undefined $< lib/core/fqdn.c -o $@ -lbpf -lelf -lz -lldns

# The kernel's DNS answer learner against the agent's (ldns, lib/core), fuzzed
# through BPF_PROG_TEST_RUN (needs root to run).
$(FUZZ_BPF_ANSWER): tests/fuzz/fuzz_bpf_answer.c $(FUZZ_LIB_SRCS) $(BUILD)/podwall.skel.h \
		$(FUZZ_HDRS)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) -g -O1 -D_GNU_SOURCE $(SRC_INC) -I$(BUILD) -Itests \
		-fsanitize=fuzzer,address,undefined $< $(FUZZ_LIB_SRCS) -o $@ \
		-lbpf -lelf -lz -lldns -ljansson -lyaml

# The bench's hook and reconcile tool (tools/bench.sh runs it, as root): built
# with the tests, so that a change of the agent's state that breaks it fails here.
HOOKBENCH := $(BUILD)/tools/hookbench
$(HOOKBENCH): $(call obj,tools/bench/hookbench.c) $(ALL_A)
	$(call msg,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

tests-bin: all check-layers $(UNIT_BINS) $(BPFT_BINS) $(K8ST_BINS) $(FUZZ_BINS) $(HOOKBENCH)

# The fault tier's upgrade case first runs an agent with another map layout:
# this tree built with -DPW_TEST_OLD_LAYOUT (include/podwall/maps.h), plain.
ifeq ($(PW_DEFS),)
tests-bin: $(BUILD)/oldlayout/podwall
$(BUILD)/oldlayout/podwall: FORCE
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/oldlayout SANITIZE=0 \
		PW_DEFS=-DPW_TEST_OLD_LAYOUT $@
endif

# The kernel tier's guest tool: the verifier's figures per program (libbpf only).
$(BUILD)/kernels/verifier_stats: tests/kernels/verifier_stats.c | $(BUILD)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@ -lbpf -lelf -lz

# hooks.sh's hostile test programs, built here for the kernel tier's guests
# (they have no compiler); hooks.sh builds its own when these are absent or older.
$(BUILD)/e2e/hostile.bpf.o: tests/e2e/hostile.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) -O2 -g -target bpf -I$(ARCH_INC) -c $< -o $@

$(BUILD)/e2e/tcx_first: tests/e2e/tcx_first.c | $(BUILD)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall $< -o $@ -lbpf

# What the kernel tier runs in its guests (a plain build: ASan is too slow under TCG).
kernels-bin: all $(BPFT_BINS) $(BUILD)/kernels/verifier_stats $(BUILD)/e2e/hostile.bpf.o \
	$(BUILD)/e2e/tcx_first

$(BUILD):
	@mkdir -p $(BUILD)

# (the kernel tier's cache holds a whole root filesystem: not searched)
-include $(shell find $(BUILD) -name kernels-cache -prune -o -name '*.d' -type f -print 2>/dev/null)

# ---- tests: `make test` is the one command; it needs root for bpf and e2e ----
# It installs nothing: run `tools/install-deps.sh` (or `make deps`) first.
TEST_BUILD := build/asan
# The kernel tier (tests/kernels: 6.1 and 5.10 under qemu) runs a plain build.
KERNELS_BUILD := build

test:
	$(MAKE) BUILD=$(TEST_BUILD) SANITIZE=1 tests-bin
	$(MAKE) BUILD=$(KERNELS_BUILD) kernels-bin
	KERNELS_BUILD=$(KERNELS_BUILD) tools/run-tests.sh $(TEST_BUILD)

test-kernels:
	$(MAKE) BUILD=$(KERNELS_BUILD) kernels-bin
	tests/kernels/run.sh $(KERNELS_BUILD)

test-unit test-bpf test-fuzz test-e2e test-attack test-fault test-k8s:
	$(MAKE) BUILD=$(TEST_BUILD) SANITIZE=1 tests-bin
	tools/run-tests.sh $(TEST_BUILD) $(patsubst test-%,%,$@)

fuzz:
	$(MAKE) BUILD=$(TEST_BUILD) SANITIZE=1 $(FUZZ_BINS)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} tools/run-tests.sh $(TEST_BUILD) fuzz

demo: deps all
	tools/demo.sh $(BUILD)

bench: deps all
	tools/bench.sh $(BUILD)

FORMAT_SRCS := $(wildcard lib/*/*.c lib/*/*.h agent/*.c agent/*.h cli/*.c cli/*.h cni/*.c \
		 cni/*.h bpf/*.c bpf/*.h include/podwall/*.h tests/*/*.c tests/*/*.h)

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

# Fails (and shows the differences) when a source is not formatted as .clang-format says.
check-format:
	$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_SRCS)

clean:
	@case "$(BUILD)" in ''|/|.|..) echo "clean: refusing BUILD='$(BUILD)'" >&2; exit 1;; esac
	rm -rf $(BUILD)
