# podwall build. `make` builds everything into $(BUILD); `make test` builds a
# sanitized copy into build/asan and runs every test tier; `make demo` runs the
# demo; `make deps` installs what is missing (Debian 12, as root).

BUILD    ?= build
SANITIZE ?= 0
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu

CFLAGS   := -g -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -Wno-missing-field-initializers -Wno-format-truncation -D_GNU_SOURCE \
	    -Iinclude -Iuser -I$(BUILD)
LDLIBS   := -lbpf -lelf -lz -lldns -ljansson -lyaml -lmicrohttpd -lcurl -lpthread
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
BPF_CFLAGS := -g -O2 -target bpf -Wall -Werror -Iinclude -Ibpf -I$(ARCH_INC)

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
MAIN_SRCS  := user/main.c user/cni_main.c
LIB_SRCS   := $(filter-out $(MAIN_SRCS),$(wildcard user/*.c))
LIB_OBJS   := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
HEADERS    := $(wildcard include/podwall/*.h user/*.h bpf/*.h)

.SECONDARY: $(SKELS) $(BPF_OBJS)

.PHONY: all deps test test-unit test-bpf test-fuzz test-e2e test-attack test-fault test-k8s demo bench fuzz clean format tests-bin

all: $(BUILD)/podwall $(BUILD)/podwall-cni $(BPF_OBJS)

deps:
	@tools/install-deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(HEADERS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: user/%.c $(HEADERS) $(SKELS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libpodwall.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/podwall: $(BUILD)/obj/main.o $(BUILD)/libpodwall.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/podwall-cni: $(BUILD)/obj/cni_main.o $(BUILD)/libpodwall.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(UNIT_BINS): $(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpodwall.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(BUILD)/libpodwall.a -o $@ $(LDLIBS) -lcmocka

$(BPFT_BINS): $(BUILD)/tests/%: tests/bpf/%.c $(BUILD)/libpodwall.a $(HEADERS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(BUILD)/libpodwall.a -o $@ $(LDLIBS) -lcmocka

# libFuzzer targets: always clang, always sanitized, over the pure parsing
# modules (no maps, no sockets), with their own object files.
FUZZ_LIB_SRCS := user/policy.c user/fqdn.c user/ipaddr.c user/log.c user/dns.c user/compile.c \
		 user/cni.c user/ctl_client.c user/endpoint.c
$(FUZZ_BINS): $(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -D_GNU_SOURCE -Iinclude -Iuser -fsanitize=fuzzer,address,undefined \
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
	clang-format -i $(wildcard user/*.c user/*.h bpf/*.c bpf/*.h include/podwall/*.h tests/*/*.c)

clean:
	rm -rf build
