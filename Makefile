# measured: a measured-boot chain from firmware to containers.
#
#   make            build everything into build/
#   make check      install dependencies, run unit + integration tests, then again under ASan+UBSan
#   make fuzz       run each libFuzzer harness for FUZZ_SECONDS (default 60)
#   make bench      speed against the peer tools, as ratios
#   make e2e        QEMU + swtpm end-to-end boots
#   make demo       build, predict, boot, and show every PCR predicted against observed
#   make install    PREFIX=/usr/local DESTDIR=
#   make pkg        build the Debian packages, install them, smoke-test them, purge them

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/lib/measured
DATADIR ?= $(PREFIX)/share/measured
DESTDIR ?=
CC      ?= cc
BUILD   ?= build
FUZZ_SECONDS ?= 60

PKGS := tss2-esys tss2-tctildr tss2-rc tss2-mu libssl libcrypto libcbor json-c zlib libprotobuf-c libcryptsetup libseccomp liblzma
# attest serve only: its database engines, HTTP server and client
FLEET_PKGS := sqlite3 libpq libmicrohttpd libcurl
FLEET_CFLAGS := $(shell pkg-config --cflags $(FLEET_PKGS) 2>/dev/null)
FLEET_LIBS   := $(shell pkg-config --libs $(FLEET_PKGS) 2>/dev/null) -lpthread
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

VERSION ?= 0.2.0
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DMEASURED_VERSION='"$(VERSION)"' -Ilib -Itests/harness -I$(BUILD)/gen/cmld $(PKG_CFLAGS) -MMD -MP
ifeq ($(SAN),1)
override CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=address,undefined
endif
LDLIBS += $(PKG_LIBS)

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIBMEASURED := $(BUILD)/libmeasured.a

ATTEST_SRC := $(wildcard attest/*.c)
ATTESTD_SRC := attestd/attestd.c $(wildcard attestd/ad_*.c)
PCRPREDICT_SRC := $(wildcard pcrpredict/*.c)
INIT_SRC := $(wildcard initramfs/*.c)
CMLD_SRC := cmld/cmld.c $(wildcard cmld/cm_*.c)
CONTROL_SRC := cmld/control.c
PROGRAMS := $(BUILD)/attest $(BUILD)/attestd $(BUILD)/pcrpredict $(BUILD)/measured-init \
	$(BUILD)/cmld $(BUILD)/control

# cmld's schemas: C from protoc-c, built into their own archive
PROTOS := $(wildcard cmld/*.proto)
PROTO_C := $(PROTOS:cmld/%.proto=$(BUILD)/gen/cmld/%.pb-c.c)
PROTO_H := $(PROTO_C:.c=.h)
LIBPROTO := $(BUILD)/libcmlproto.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
HARNESS_SRC := $(wildcard tests/harness/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
HARNESS_OBJ := $(HARNESS_SRC:%.c=$(BUILD)/obj/%.o)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.SECONDARY:
MAN_SRC := $(wildcard docs/man/*.scd)
MAN_OUT := $(MAN_SRC:docs/man/%.scd=$(BUILD)/man/%)

.PHONY: all check test deps fuzz bench e2e demo install clean format man pkg
all: $(PROGRAMS) $(MAN_OUT)

$(BUILD)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(LIBMEASURED): $(LIB_OBJ)
	@$(AR) rcs $@ $^

$(BUILD)/gen/cmld/%.pb-c.c $(BUILD)/gen/cmld/%.pb-c.h: cmld/%.proto $(PROTOS)
	@mkdir -p $(BUILD)/gen/cmld
	@echo "  PROTOC  $<"
	@protoc-c --proto_path=cmld --c_out=$(BUILD)/gen/cmld $<

$(LIBPROTO): $(PROTO_C:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
	@$(AR) rcs $@ $^

$(BUILD)/cmld: $(CMLD_SRC:%.c=$(BUILD)/obj/%.o) $(LIBPROTO) $(LIBMEASURED)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lutil

$(BUILD)/control: $(CONTROL_SRC:%.c=$(BUILD)/obj/%.o) $(LIBPROTO) $(LIBMEASURED)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/attest: $(ATTEST_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/fleet_page.o $(LIBMEASURED)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(FLEET_LIBS)
$(BUILD)/obj/attest/fleet_%.o: override CFLAGS += $(FLEET_CFLAGS)

# attest serve's page, built into attest as bytes (no build step, no files to install)
$(BUILD)/gen/fleet_page.c: attest/web/fleet.html
	@mkdir -p $(dir $@)
	@{ echo 'const unsigned char fleet_page_html[] = {'; od -An -v -tx1 $< | \
		sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '};'; \
		echo "const unsigned int fleet_page_html_len = $$(wc -c < $<);"; } > $@

# the initramfs /init: only the libraries it really uses end up in the initramfs
$(BUILD)/measured-init: $(INIT_SRC:%.c=$(BUILD)/obj/%.o) $(LIBMEASURED)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS)

# policies/ima-tcb.policy, built into pcrpredict as its default IMA policy
$(BUILD)/gen/ima_tcb_policy.c: policies/ima-tcb.policy
	@mkdir -p $(dir $@)
	@{ echo 'const char ima_tcb_policy[] ='; sed 's/.*/\t"&\\n"/' $<; echo ';'; } > $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/attestd: $(ATTESTD_SRC:%.c=$(BUILD)/obj/%.o) $(LIBMEASURED)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/pcrpredict: $(PCRPREDICT_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/ima_tcb_policy.o $(LIBPROTO) $(LIBMEASURED)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(HARNESS_OBJ) $(LIBPROTO) $(LIBMEASURED)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lpthread

# measured-init's command line parser (mi_say is in mi_system), before the library
$(BUILD)/tests/unit/test_mi_cmdline: $(BUILD)/obj/tests/unit/test_mi_cmdline.o \
		$(BUILD)/obj/initramfs/mi_cmdline.o $(BUILD)/obj/initramfs/mi_system.o $(LIBMEASURED)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lpthread

# the typed messages between cmld's processes (cmld/cm_msg.c, cm_vmsg.c, cm_verify.c);
# its nm check reads every object of cmld: they are built first
$(BUILD)/tests/unit/test_cm_msg: $(BUILD)/obj/tests/unit/test_cm_msg.o $(BUILD)/obj/cmld/cm_msg.o \
		$(BUILD)/obj/cmld/cm_vmsg.o $(BUILD)/obj/cmld/cm_verify.o \
		$(LIBPROTO) $(LIBMEASURED) | $(BUILD)/cmld
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lpthread
$(BUILD)/obj/tests/unit/test_cm_msg.o: override CFLAGS += -Icmld
$(BUILD)/obj/tests/integration/test_cmld_privsep.o: override CFLAGS += -Icmld

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(HARNESS_OBJ) $(LIBPROTO) $(LIBMEASURED)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lpthread

# trust|me's control interface, transcribed (tests/data/trustme-control.proto):
# test_trustme_client speaks to cmld with it, never with cmld/*.proto
$(BUILD)/gen/tests/trustme-control.pb-c.c $(BUILD)/gen/tests/trustme-control.pb-c.h: tests/data/trustme-control.proto
	@mkdir -p $(BUILD)/gen/tests
	@protoc-c --proto_path=tests/data --c_out=$(BUILD)/gen/tests $<
$(BUILD)/obj/tests/integration/test_trustme_client.o: $(BUILD)/gen/tests/trustme-control.pb-c.h
$(BUILD)/obj/tests/integration/test_trustme_client.o: override CFLAGS += -I$(BUILD)/gen/tests
$(BUILD)/tests/integration/test_trustme_client: $(BUILD)/obj/gen/tests/trustme-control.pb-c.o

# Runs the tests of one build (BUILD=...), without installing anything.
test: $(PROGRAMS) $(MAN_OUT) $(UNIT_BIN) $(INTEG_BIN)
	@MEASURED_BIN=$(BUILD) MEASURED_LABEL=$(if $(filter 1,$(SAN)),asan,tests) tests/run-tests.sh $(UNIT_BIN) $(INTEG_BIN)

check: deps
	$(MAKE) test
	$(MAKE) test SAN=1 BUILD=build/asan

deps:
	@scripts/deps.sh

# libFuzzer harnesses: clang, instrumented library sources compiled in.
FUZZ_EXTRA_fuzz_ima_policy := pcrpredict/ima_policy.c
FUZZ_EXTRA_fuzz_pbtext := $(PROTO_C:$(BUILD)/%=build/%)
FUZZ_EXTRA_fuzz_control := $(PROTO_C:$(BUILD)/%=build/%) $(wildcard cmld/cm_*.c)
FUZZ_EXTRA_fuzz_ad_msg := attestd/ad_msg.c
FUZZ_EXTRA_fuzz_cm_parse := $(PROTO_C:$(BUILD)/%=build/%) cmld/cm_verify.c cmld/cm_vmsg.c
.SECONDEXPANSION:
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $$(FUZZ_EXTRA_$$*)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -DMEASURED_VERSION='"fuzz"' -Ilib -Ipcrpredict -Icmld -Ibuild/gen/cmld $(PKG_CFLAGS) \
		-fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS) $(if $(filter fuzz_control,$*),-lutil)

fuzz: $(FUZZ_BIN)
	@tests/fuzz/run-fuzzers.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

$(BUILD)/tests/bench/gen_ima: $(BUILD)/obj/tests/bench/gen_ima.o $(BUILD)/obj/tests/harness/imabuild.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcrypto

$(BUILD)/tests/bench/attest_load: $(BUILD)/obj/tests/bench/attest_load.o $(LIBMEASURED)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lpthread

$(BUILD)/tests/bench/unlock: $(BUILD)/obj/tests/bench/unlock.o $(LIBMEASURED)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# man pages from docs/man/*.scd (scdoc)
$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@
man: $(MAN_OUT)

bench: $(PROGRAMS) $(BUILD)/tests/bench/gen_ima $(BUILD)/tests/bench/attest_load $(BUILD)/tests/bench/unlock
	@MEASURED_BIN=$(BUILD) tests/bench/run-bench.sh

e2e: $(PROGRAMS)
	@MEASURED_BIN=$(BUILD) tests/e2e/run-e2e.sh

# the Debian packages (debian/): built in a copy under /tmp, installed, used, purged
pkg:
	@sh tests/pkg/smoke.sh

# build, predict, boot in QEMU with swtpm, and report predicted against observed
demo: deps
	@$(MAKE) --no-print-directory all
	@MEASURED_BIN=$(BUILD) scripts/demo$(if $(filter secureboot,$(DEMO)),-secureboot).sh

install: $(PROGRAMS) $(MAN_OUT)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR)/policies \
		$(DESTDIR)$(DATADIR)/boot/rootfs
	install -m 0755 $(BUILD)/attest $(BUILD)/pcrpredict $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BUILD)/attestd $(BUILD)/cmld $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(BUILD)/control $(DESTDIR)$(BINDIR)/
	install -m 0755 $(BUILD)/measured-init initramfs/mkinitramfs.sh $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 policies/*.policy policies/*.profile policies/*.preamble $(DESTDIR)$(DATADIR)/policies/
	install -m 0755 boot/*.sh $(DESTDIR)$(DATADIR)/boot/
	install -m 0644 boot/grub.cfg.in boot/grub-secureboot.cfg.in $(DESTDIR)$(DATADIR)/boot/
	install -m 0755 boot/rootfs/init $(DESTDIR)$(DATADIR)/boot/rootfs/
	for m in $(MAN_OUT); do \
		sec=$${m##*.}; install -d $(DESTDIR)$(PREFIX)/share/man/man$$sec; \
		install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$sec/; done
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	for p in attest attestd pcrpredict cmld control; do \
		install -m 0644 completion/measured.bash \
			$(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' -type f 2>/dev/null)
