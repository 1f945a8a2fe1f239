# podwall build. `make` builds everything into $(BUILD); `make test` builds a
# sanitized copy into build/asan and runs every test tier; `make demo` runs the
# demo; `make deps` installs what is missing (Debian 12, as root).

BUILD    ?= build
SRC_INC  := -Iinclude -Ilib/core -Ilib/sys -Iagent -Icli -Icni
SANITIZE ?= 0
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu

CFLAGS   := -g -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -Wno-missing-field-initializers -Wno-format-truncation -D_GNU_SOURCE \
	    $(SRC_INC) -I$(BUILD)
LDLIBS   := -lbpf -lelf -lz -lldns -ljansson -lyaml -lmicrohttpd -lcurl -lpthread
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
BPF_CFLAGS := -g -O2 -target bpf -Wall -Werror -Iinclude -Ibpf -I$(ARCH_INC)

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
# Layers, dependencies pointing down: lib/core (pure: parsing, names, policy,
# compile, formatting; no libbpf, sockets or threads) <- lib/sys (adapters: BPF
# loader and maps, control-socket client, Kubernetes client, CNI I/O) <- the
# programs: agent/ (the daemon), cli/ (the podwall command), cni/ (podwall-cni).
SRC_DIRS   := lib/core lib/sys agent cli cni
MAIN_SRCS  := cli/main.c cni/cni_main.c
LIB_SRCS   := $(filter-out $(MAIN_SRCS),$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
HEADERS    := $(wildcard include/podwall/*.h bpf/*.h $(foreach d,$(SRC_DIRS),$(d)/*.h))

.SECONDARY: $(SKELS) $(BPF_OBJS)

.PHONY: all deps test test-unit test-bpf test-fuzz test-e2e test-attack test-fault test-k8s demo bench fuzz clean format tests-bin

all: $(BUILD)/podwall $(BUILD)/podwall-cni $(BPF_OBJS)

deps:
	@tools/install-deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(HEADERS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c $(HEADERS) $(SKELS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libpodwall.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/podwall: $(BUILD)/obj/cli/main.o $(BUILD)/libpodwall.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/podwall-cni: $(BUILD)/obj/cni/cni_main.o $(BUILD)/libpodwall.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(UNIT_BINS): $(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpodwall.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(BUILD)/libpodwall.a -o $@ $(LDLIBS) -lcmocka

$(BPFT_BINS): $(BUILD)/tests/%: tests/bpf/%.c $(BUILD)/libpodwall.a $(HEADERS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(BUILD)/libpodwall.a -o $@ $(LDLIBS) -lcmocka

# libFuzzer targets: always clang, always sanitized, over the pure parsing
# modules (no maps, no sockets), with their own object files.
FUZZ_LIB_SRCS := lib/core/policy.c lib/core/fqdn.c lib/core/ipaddr.c lib/core/log.c lib/core/dns.c \
		 lib/core/compile.c lib/core/endpoint.c lib/sys/cni.c lib/sys/ctl_client.c
$(FUZZ_BINS): $(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -D_GNU_SOURCE $(SRC_INC) -fsanitize=fuzzer,address,undefined \
		$< $(FUZZ_LIB_SRCS) -o $@ -lldns -ljansson -lyaml

tests-bin: all $(UNIT_BINS) $(BPFT_BINS) $(FUZZ_BINS)

$(BUILD):
	@mkdir -p $(BUILD)

# ---- tests: `make test` is the one command; it needs root for bpf and e2e ----
TEST_BUILD := build/asan

test: deps
	$(MAKE) BUILD=$(TEST_BUILD) SANITIZE=1 tests-bin
	tools/run-tests.sh $(TEST_BUILD)

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

format:
	clang-format -i $(wildcard $(foreach d,$(SRC_DIRS),$(d)/*.c $(d)/*.h) bpf/*.c bpf/*.h include/podwall/*.h tests/*/*.c)

clean:
	rm -rf build
