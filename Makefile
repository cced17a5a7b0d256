# roomd - one non-recursive GNU Makefile.
#
#   make            build the library, the programs and the tests into $(O)
#   make test       build and run every test (unit, vectors, e2e)
#   make SAN=1 ...  the same with ASan+UBSan, into build-san by default
#   make CC=clang   any C11 compiler; pair it with O=build-clang
#   make fuzz       libFuzzer targets (clang) into build-fuzz
#   make format     apply .clang-format
#   make install    the programs into $(DESTDIR)$(PREFIX)/bin (PREFIX=/usr/local),
#                   the systemd unit into $(DESTDIR)$(UNITDIR)
#   make apps       the programs only (no tests: no libjansson needed)
#   make deb        a Debian package in ../ (debian/, dpkg-buildpackage), then lintian
#
# Sources are found by directory: a new .c file under src/<module>/ joins the
# library, a new src/app/<prog>.c is a program, tests/unit/test_<x>.c a test.

SAN ?= 0
ifeq ($(SAN),1)
O ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
O ?= build
SANFLAGS =
endif

CC ?= cc
PKGS = libsodium nettle sqlite3 libevent libmosquitto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
JANSSON_CFLAGS := $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS := $(shell pkg-config --libs jansson 2>/dev/null)

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -Isrc -I$(O)/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS = $(PKG_LIBS) -lm

MODULES = util proto crypto mesh radio room store client sim sys web fed roomd
LIB_SRC := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
LIB := $(O)/libroomd.a

APP_SRC := $(wildcard src/app/*.c)
APPS := $(APP_SRC:src/app/%.c=$(O)/%)

TEST_SRC := $(wildcard tests/unit/test_*.c)
TESTS := $(TEST_SRC:tests/unit/%.c=$(O)/tests/%)

BENCH_SRC := $(wildcard bench/bench_*.c)
BENCHES := $(BENCH_SRC:bench/%.c=$(O)/bench/%)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_O = build-fuzz
FUZZERS := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_O)/%)

PREFIX ?= /usr/local
UNITDIR ?= /etc/systemd/system

.PHONY: all apps test fuzz format clean bench install deb
all: $(LIB) $(APPS) $(TESTS) $(BENCHES)
apps: $(APPS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# the web page's files, compiled in (scripts/embed)
WEB_STATIC := $(sort $(wildcard src/web/static/*))
$(O)/gen/web_assets.h $(FUZZ_O)/gen/web_assets.h: $(WEB_STATIC) scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed $@ $(WEB_STATIC)
$(O)/src/web/web_read.o: $(O)/gen/web_assets.h

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(O)/%: $(O)/src/app/%.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(O)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $(JANSSON_CFLAGS) -c $< -o $@

$(O)/tests/%: $(O)/tests/%.o $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) $(JANSSON_LIBS) -o $@

$(O)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $< $(LIB) $(LDLIBS) -o $@

test: all
	O=$(O) tests/run

bench: all
	O=$(O) bench/run

# libFuzzer: clang only, always with ASan+UBSan.  The library is compiled
# once with coverage instrumentation (fuzzer-no-link) and every target links it.
FUZZ_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) -g -O1 -Isrc -I$(FUZZ_O)/gen $(PKG_CFLAGS) \
	-fno-sanitize-recover=all -MMD -MP
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_O)/obj/%.o)
FUZZ_LIB := $(FUZZ_O)/libroomd-fuzz.a
fuzz: $(FUZZERS)
$(FUZZ_O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(FUZZ_O)/obj/src/web/web_read.o: $(FUZZ_O)/gen/web_assets.h
$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^
$(FUZZ_O)/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< $(FUZZ_LIB) $(LDLIBS) -o $@

install: $(APPS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR)
	install -m 755 $(APPS) $(DESTDIR)$(PREFIX)/bin/
	sed 's|@BINDIR@|$(PREFIX)/bin|g' contrib/roomd.service >$(DESTDIR)$(UNITDIR)/roomd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/roomd.service

# The package is built from a clean copy of the source files (those git
# knows or would add; outside git, the tree without build-*/ and data), so a
# build here never mixes in stale objects; the .deb, the build log and
# lintian's report land in $(DEB_OUT).
DEB_OUT ?= build-deb
deb:
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files --cached --others --exclude-standard; \
	else \
		find . -mindepth 1 \( -name 'build*' -o -name demo-data -o -name data \) -prune \
			-o -type f -print; \
	fi | tar -c --ignore-failed-read -T - -f - 2>/dev/null | tar -x -C $(DEB_OUT)/src
	cd $(DEB_OUT)/src && dpkg-buildpackage -b -us -uc -j2 >../build.log 2>&1 \
		|| { tail -n 40 ../build.log; exit 1; }
	lintian --fail-on error $(DEB_OUT)/*.deb | tee $(DEB_OUT)/lintian.txt
	@ls $(DEB_OUT)/*.deb

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-clang build-fuzz build-deb

-include $(shell find $(O) -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_O) -name '*.d' 2>/dev/null)
