# wirelab: one small program per tutorial section, on one shared core.
#
#   make                 build every program into bin/
#   make check           build, then run unit and integration tests ("N passed, N failed")
#   make check SANITIZE=1  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make TLS=0 check     without OpenSSL, even where it is installed (TLS=1 insists on it;
#                        the default, TLS=auto, uses it when `pkg-config openssl` finds it)
#   make demo            a narrated tour of the programs
#   make bench           benchmarks against Node (never part of check)
#   make fuzz            build the libFuzzer targets (clang); make fuzz-run FUZZ_SECONDS=30
#   make clean
#
# Layout: a .c file whose name has a hyphen is a program (tcp/tcp-server.c -> bin/tcp-server);
# every other .c file in common/ tcp/ udp/ http/ websocket/ goes into one static library that
# the programs and tests link. tests/unit/test_*.c are unit tests, tests/fuzz/fuzz_*.c fuzz
# targets. New files need no Makefile change.

CC       ?= cc
SANITIZE ?= 0
WERROR   ?= 0
TLS      ?= auto

CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Icommon -Ihttp -Iwebsocket -Itcp -Iudp
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter -fno-strict-aliasing
LDLIBS   += -lm

ifeq ($(WERROR),1)
CFLAGS += -Werror
endif

# TLS: OpenSSL is used by common/tls.c alone. Without it that file compiles to stubs that say
# "this build has no TLS", and everything else is the same.
ifeq ($(TLS),auto)
TLS_ON := $(shell pkg-config --exists openssl 2>/dev/null && echo 1 || echo 0)
else ifeq ($(TLS),1)
TLS_ON := 1
else ifeq ($(TLS),0)
TLS_ON := 0
else
$(error TLS must be auto, 1 or 0, not '$(TLS)')
endif
ifeq ($(TLS_ON),1)
CPPFLAGS += -DWIRELAB_TLS=1 $(shell pkg-config --cflags openssl 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)
endif

VARIANT := default
ifeq ($(SANITIZE),1)
VARIANT := san
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# A build forced without TLS has objects and programs of its own (build/notls/bin), so that
# `make TLS=0 check` never links objects compiled with TLS, nor the other way round.
ifeq ($(TLS),0)
VARIANT := $(if $(filter san,$(VARIANT)),san-notls,notls)
endif

OUT := build/$(VARIANT)
ifeq ($(VARIANT),default)
BINDIR := bin
else
BINDIR := $(OUT)/bin
endif

SRC_DIRS  := common tcp udp http websocket
ALL_SRC   := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
PROG_SRC  := $(foreach f,$(ALL_SRC),$(if $(findstring -,$(notdir $(f))),$(f)))
LIB_SRC   := $(filter-out $(PROG_SRC),$(ALL_SRC))
PROGS     := $(patsubst %.c,$(BINDIR)/%,$(notdir $(PROG_SRC)))
LIB       := $(OUT)/libwirelab.a
LIB_OBJ   := $(patsubst %.c,$(OUT)/%.o,$(LIB_SRC))

# Browser pages beside a program (websocket/chat.html), and the scripts they share
# (http/push_common.js), are compiled in as C strings, so an installed program serves them from
# anywhere.
PAGE_SRC  := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.html $(d)/*.js))
PAGE_OBJ  := $(patsubst %,$(OUT)/pages/%.o,$(basename $(PAGE_SRC)))

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRC))
HELPER_SRC := $(wildcard tests/unit/helper_*.c)
HELPER_OBJ := $(patsubst %.c,$(OUT)/%.o,$(HELPER_SRC))
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(OUT)/tools/%,$(TOOL_SRC))

.PHONY: all check unit integration clean demo bench fuzz fuzz-run tools install lab grade format
all: $(PROGS) $(TOOL_BINS)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/pages/%.c: %.html tests/tools/embed.sh
	@mkdir -p $(dir $@)
	sh tests/tools/embed.sh $< $@

$(OUT)/pages/%.c: %.js tests/tools/embed.sh
	@mkdir -p $(dir $@)
	sh tests/tools/embed.sh $< $@

$(OUT)/pages/%.o: $(OUT)/pages/%.c
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ) $(PAGE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

define prog_rule
$(BINDIR)/$(basename $(notdir $(1))): $(OUT)/$(basename $(1)).o $(LIB)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach p,$(PROG_SRC),$(eval $(call prog_rule,$(p))))

$(OUT)/tests/test_%: $(OUT)/tests/unit/test_%.o $(HELPER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/tools/%: $(OUT)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BINS)

# Keep the objects and generated page sources that chains of rules make along the way, so a
# second make rebuilds nothing (by default make deletes them as "intermediate").
.SECONDARY:

# The whole suite. tests/run.sh runs the unit binaries and the integration scripts, each as
# its own process with a time limit, and prints the closing "N passed, N failed" line.
check: all unit
	@WIRELAB_BIN=$(CURDIR)/$(BINDIR) WIRELAB_UNIT=$(CURDIR)/$(OUT)/tests \
	 WIRELAB_TOOLS=$(CURDIR)/$(OUT)/tools WIRELAB_VARIANT=$(VARIANT) WIRELAB_TLS=$(TLS_ON) \
	 sh tests/run.sh

demo: all
	@sh tests/demo.sh

bench: all
	@WIRELAB_BIN=$(CURDIR)/$(BINDIR) WIRELAB_TOOLS=$(CURDIR)/$(OUT)/tools sh tests/bench/run.sh

# libFuzzer targets: clang only. Each links the library sources compiled with the fuzzer flags.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_OUT  := build/fuzz
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(FUZZ_SRC))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 $(CPPFLAGS)
FUZZ_SECONDS ?= 30
fuzz: $(FUZZ_BINS)
$(FUZZ_OUT)/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)
fuzz-run: fuzz
	@sh tests/fuzz/run.sh $(FUZZ_OUT) $(FUZZ_SECONDS)

# make install PREFIX=/usr/local DESTDIR=: each program as $(PREFIX)/bin/wirelab-<program> and
# its manual page as $(PREFIX)/share/man/man1/wirelab-<program>.1, so that short names such as
# http-server cannot clash with other tools. The browser pages are compiled into the programs,
# so nothing else needs installing. DESTDIR stages the tree elsewhere (for a package).
PREFIX  ?= /usr/local
INSTALL ?= install
MAN_SRC := $(wildcard docs/man/*.1)
.PHONY: uninstall
install: $(PROGS)
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	for p in $(notdir $(PROGS)); do \
	    $(INSTALL) -m 755 $(BINDIR)/$$p $(DESTDIR)$(PREFIX)/bin/wirelab-$$p || exit 1; done
	for m in $(notdir $(MAN_SRC)); do \
	    $(INSTALL) -m 644 docs/man/$$m $(DESTDIR)$(PREFIX)/share/man/man1/wirelab-$$m || exit 1; done

uninstall:
	rm -f $(foreach p,$(notdir $(PROGS)),$(DESTDIR)$(PREFIX)/bin/wirelab-$(p)) \
	      $(foreach m,$(notdir $(MAN_SRC)),$(DESTDIR)$(PREFIX)/share/man/man1/wirelab-$(m))

# Labs (docs/labs/labN.md): make lab LAB=N DIR=path writes a starter tree, in which the parts
# the reference programs mark with LAB N comments are TODOs; make grade LAB=N DIR=path builds
# that tree, grades it, writes path/results.json and ends with "N passed, N failed".
lab:
	@test -n "$(LAB)" && test -n "$(DIR)" || { echo "usage: make lab LAB=N DIR=path" >&2; exit 2; }
	@sh tests/labs/make-lab.sh "$(LAB)" "$(DIR)"

grade:
	@test -n "$(LAB)" && test -n "$(DIR)" || { echo "usage: make grade LAB=N DIR=path" >&2; exit 2; }
	@sh tests/labs/grade.sh "$(LAB)" "$(DIR)"

format:
	clang-format -i $(ALL_SRC) $(wildcard */*.h) $(UNIT_SRC) $(TOOL_SRC) $(FUZZ_SRC)

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(patsubst %.c,$(OUT)/%.d,$(PROG_SRC) $(UNIT_SRC) $(HELPER_SRC) $(TOOL_SRC))
