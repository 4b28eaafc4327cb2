# Sekimori — identity and authentication broker.
#
#   make            build build/brokerd and build/brokerctl
#   make run        install missing packages, build, start slapd + brokerd (dev)
#   make test       unit + integration tests, then the same under ASan+UBSan
#   make asan       ASan+UBSan build into build-asan/
#   make fuzz       libFuzzer targets into build-fuzz/ (clang)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Every component folder's *.c (except the mains) becomes build/lib<comp>.a.
# BUILD may be overridden so that parallel builds do not share objects.

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
SAN      ?= 0
CC       ?= cc

# Components, in link order (a component may use those after it).
COMPONENTS := broker idp fido proofing tokens directory common
MAINS      := broker/brokerd.c broker/brokerctl.c

PKGS := openssl gnutls libmicrohttpd jansson libsodium libcbor libfido2 \
	liboath libqrencode libbsd libcurl ldap

WARN := -Wall -Wextra -Werror -Wshadow -Wcast-qual -Wwrite-strings \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wimplicit-fallthrough -Wvla
ifeq ($(SAN),1)
HARDEN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-U_FORTIFY_SOURCE -fno-omit-frame-pointer -O1
SANLD  := -fsanitize=address,undefined
else
HARDEN := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
	-fstack-clash-protection
SANLD  :=
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(filter-out ldap,$(PKGS)) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(filter-out ldap,$(PKGS)) 2>/dev/null) \
	-lldap -llber -lunistring -lpthread -lm

CFLAGS  ?=
LDFLAGS ?=
ALL_CFLAGS  := -std=c11 -g -D_GNU_SOURCE -fPIE $(HARDEN) $(WARN) -I. \
	$(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now,-z,noexecstack $(SANLD) $(LDFLAGS)

comp_srcs = $(filter-out $(MAINS),$(wildcard $(1)/*.c))
comp_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(call comp_srcs,$(1)))
COMP_LIBS := $(foreach c,$(COMPONENTS),$(if $(call comp_srcs,$(c)),$(BUILD)/lib$(c).a))
LINK_LIBS := -Wl,--start-group $(COMP_LIBS) -Wl,--end-group $(PKG_LIBS)

# tests/support/*.c: fixtures shared by unit tests and helpers (never
# linked into brokerd or brokerctl).
SUPPORT_SRCS := $(wildcard tests/support/*.c)
SUPPORT_LIB  := $(if $(SUPPORT_SRCS),$(BUILD)/libtestsupport.a)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TEST_HELPERS := $(wildcard tests/helpers/*.c)
TEST_HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(TEST_HELPERS))

PROGS := $(BUILD)/brokerd $(BUILD)/brokerctl

# libsekimori-pep: the resource-server verifier (tokens/pep.h) for services,
# static and shared; the shared one exports only pep_*.
PEP_SRCS := tokens/pep.c tokens/pep_fetch.c tokens/jws.c tokens/jwk.c \
	tokens/key.c common/secret.c common/buf.c
PEP_LIBS := $(shell pkg-config --libs openssl jansson libsodium libcurl \
	2>/dev/null) -lpthread -lm
PEP_OUT  := $(BUILD)/libsekimori-pep.a $(BUILD)/libsekimori-pep.so

# slapd's {ARGON2} password scheme on libsodium (directory/slapd/): Debian's
# slapd loads it, so it is never built with sanitizers.  Its one undefined
# symbol, lutil_passwd_add, is slapd's.
SLAPD_MOD := $(BUILD)/slapd/skm_argon2.so

.PHONY: all deps run test test-unit test-integration asan test-asan fuzz \
	fuzz-smoke install clean docs-check bench cluster soak chaos fuzz-long
all: $(PROGS) $(PEP_OUT) $(SLAPD_MOD) $(UNIT_BINS) $(TEST_HELPER_BINS) $(BUILD)/examples/pep

deps:
	@scripts/deps.sh

V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

define comp_rule
$(BUILD)/lib$(1).a: $(call comp_objs,$(1))
	@mkdir -p $$(dir $$@)
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach c,$(COMPONENTS),$(eval $(call comp_rule,$(c))))

$(BUILD)/brokerd: $(BUILD)/obj/broker/brokerd.o $(COMP_LIBS)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LINK_LIBS)

$(BUILD)/brokerctl: $(BUILD)/obj/broker/brokerctl.o $(COMP_LIBS)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LINK_LIBS)

$(BUILD)/libtestsupport.a: $(patsubst %.c,$(BUILD)/obj/%.o,$(SUPPORT_SRCS))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(SUPPORT_LIB) $(COMP_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(SUPPORT_LIB) $(LINK_LIBS) -lcmocka

$(BUILD)/tests/%: $(BUILD)/obj/tests/helpers/%.o $(SUPPORT_LIB) $(COMP_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(SUPPORT_LIB) $(LINK_LIBS)

$(BUILD)/libsekimori-pep.a: $(patsubst %.c,$(BUILD)/obj/%.o,$(PEP_SRCS))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(filter-out -fPIE,$(ALL_CFLAGS)) -fPIC -c -o $@ $<

$(BUILD)/libsekimori-pep.so: $(patsubst %.c,$(BUILD)/pic/%.o,$(PEP_SRCS)) \
		tokens/libsekimori-pep.map
	$(Q)$(CC) -shared -Wl,-soname,libsekimori-pep.so \
		-Wl,--version-script=tokens/libsekimori-pep.map \
		-Wl,-z,relro,-z,now,-z,noexecstack -Wl,--no-undefined $(SANLD) \
		-o $@ $(filter %.o,$^) $(PEP_LIBS)

$(SLAPD_MOD): directory/slapd/skm_argon2.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=c11 -g -O2 -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 \
		-fstack-protector-strong -fPIC $(WARN) \
		$(shell pkg-config --cflags libsodium 2>/dev/null) -shared \
		-Wl,-z,relro,-z,now,-z,noexecstack -o $@ $< \
		$(shell pkg-config --libs libsodium 2>/dev/null) -llber

# the example PEP links the static library only, as a service would
$(BUILD)/examples/pep: $(BUILD)/obj/examples/pep.o $(BUILD)/libsekimori-pep.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libsekimori-pep.a $(PEP_LIBS)

run: deps all
	@scripts/run.sh

test:
	@scripts/test.sh

test-unit: all
	@BUILD=$(BUILD) scripts/unit.sh

test-integration: all
	@BUILD=$(BUILD) python3 tests/integration/run.py

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all

test-asan: asan
	@BUILD=build-asan scripts/unit.sh
	@BUILD=build-asan python3 tests/integration/run.py

# libFuzzer targets (clang); each fuzz/fuzz_*.c links against the libraries.
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz SAN=1 CC=clang \
		CFLAGS="-fsanitize=fuzzer-no-link -Wno-unused-command-line-argument" \
		$(patsubst fuzz/%.c,build-fuzz/fuzz/%,$(FUZZ_SRCS))

build-fuzz/fuzz/%: build-fuzz/obj/fuzz/%.o $(COMP_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LINK_LIBS)

fuzz-smoke: fuzz
	@scripts/fuzz.sh 10

# two providers + two broker nodes on loopback (docs/cluster.md)
cluster: all
	@scripts/cluster.sh start

# resilience (not in make test): SOAK_SECONDS (600), SOAK_CLIENTS (300)
soak: all
	@python3 tests/soak/soak.py

chaos: all
	@python3 tests/soak/chaos.py

# every libFuzzer target for FUZZ_LONG_SECONDS (600) each
fuzz-long: fuzz
	@scripts/fuzz.sh "$${FUZZ_LONG_SECONDS:-600}"

# benchmarks against peers (bench/RESULTS.md; raw output in bench/out/)
bench:
	@bench/run.sh

docs-check: $(BUILD)/brokerctl
	@$(BUILD)/brokerctl errors --markdown | diff -u docs/errors.md - \
		|| { echo "docs/errors.md is out of date: make docs" >&2; exit 1; }

docs: $(BUILD)/brokerctl
	$(BUILD)/brokerctl errors --markdown > docs/errors.md

install: $(PROGS) $(SLAPD_MOD)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/sekimori/conf \
		$(DESTDIR)$(PREFIX)/share/doc/sekimori
	install -m 0755 $(BUILD)/brokerd $(DESTDIR)$(PREFIX)/sbin/brokerd
	install -m 0755 $(BUILD)/brokerctl $(DESTDIR)$(PREFIX)/bin/brokerctl
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/sekimori
	install -m 0644 $(BUILD)/libsekimori-pep.a $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(BUILD)/libsekimori-pep.so $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 tokens/pep.h $(DESTDIR)$(PREFIX)/include/sekimori/pep.h
	install -d $(DESTDIR)$(PREFIX)/lib/sekimori
	install -m 0644 $(SLAPD_MOD) $(DESTDIR)$(PREFIX)/lib/sekimori/skm_argon2.so
	cp -R conf/. $(DESTDIR)$(PREFIX)/share/sekimori/conf/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/sekimori/

clean:
	rm -rf build build-asan build-fuzz build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
