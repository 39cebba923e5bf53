# SPDX-License-Identifier: GPL-2.0
#
# remsim: the kernel module (through Kbuild) and the user-space programs.
#
#   make              module and user-space programs (warnings are errors)
#   make deps         install what is missing (scripts/deps)
#   make check        every test: unit tests here, selftests in the VM
#   make selftests    only the VM selftests; TAP in build/vm/selftests.tap
#   make selftests-debug  the same and USB fault rounds on a KASAN+lockdep kernel
#   make demo         the main job, see README.md (TLS=off: in plaintext)
#   make bench        benchmarks; make faults: the fault suite (REPS=100)
#   make hostile      hostile peers against the daemons (SECONDS=10 each)
#   make install      see install.mk (also modules_install, dkms-install)
#   make V=1          show the commands
#
# KDIR selects the kernel headers (default: those of the installed
# linux-headers-amd64). Generated files go under build/.

KVER		:= $(shell KDIR=$(KDIR) scripts/kver)
KDIR		?= /usr/src/linux-headers-$(KVER)
# the file VERSION and git: see scripts/version
VERSION		:= $(shell scripts/version)
ifeq ($(VERSION),)
$(error scripts/version gave no version)
endif
WERROR		?= 1

B		:= build
# The version programs print (-v, remsim_build_info) is the commit's: a file
# that changes only with it makes what uses REMSIM_VERSION build again, or a
# merge left binaries naming an older commit.
VERSION_STAMP	:= $(B)/version
$(shell mkdir -p $(B); [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = "$(VERSION)" ] || \
	echo "$(VERSION)" >$(VERSION_STAMP))
# A kernel built here (scripts/kernel-debug) gets a staging directory of its
# own, so that remsim.ko for Debian's kernel stays as it is.
MODSTAGE	:= $(B)/module$(if $(filter $(CURDIR)/$(B)/%,$(abspath $(KDIR))),-$(KVER))

CC		?= gcc
CLANG		?= clang
CFLAGS		?= -O2 -g
WARNINGS	:= -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wformat=2 -Wvla
ifeq ($(WERROR),1)
WARNINGS	+= -Werror
endif
ALL_CFLAGS	:= -std=gnu11 $(WARNINGS) $(CFLAGS) -MMD -MP \
		   -isystem include/uapi -Icommon -Iuserspace/include -Iuserspace/softsim \
		   -DREMSIM_VERSION='"$(VERSION)"'
# each user-space library's headers, all as "remsim/NAME.h"
USER_INCLUDES	:= -Iuserspace/lib/daemon/include -Iuserspace/lib/rspro/include
ALL_CFLAGS	+= $(USER_INCLUDES)

PCSC_CFLAGS	:= $(shell pkg-config --cflags libpcsclite 2>/dev/null)
# remsim-server's PostgreSQL store (userspace/server/store_pg.c)
PQ_CFLAGS	:= $(shell pkg-config --cflags libpq 2>/dev/null)
PQ_LIBS		:= $(shell pkg-config --libs libpq 2>/dev/null || echo -lpq)

ifeq ($(V),1)
Q		:=
quiet		= @true
else
Q		:= @
quiet		= @printf '  %-8s %s\n'
endif

.PHONY: all module userspace deps check unit selftests vm-prep demo bench faults hostile clean \
	fuzz fuzzers help run-check run-selftests run-demo run-bench run-faults run-hostile \
	selftests-debug run-selftests-debug

all: module userspace

help:
	@sed -n '3,17p' Makefile | sed 's/^# \{0,1\}//'

deps:
	scripts/deps

# --- the kernel module --------------------------------------------------------
#
# Kbuild writes objects next to its sources; building in a staging directory of
# symbolic links keeps them out of the source tree.

# every directory with a module's sources (Kbuild names the files)
MODULE_DIRS	:= kernel kernel/sim common

MODULE_SRCS	:= Kbuild $(wildcard $(addsuffix /*.[ch],$(MODULE_DIRS)))
MODULES		:= $(MODSTAGE)/remsim.ko $(MODSTAGE)/remsim_sim.ko

module: $(MODULES)

$(MODSTAGE)/remsim_sim.ko: $(MODSTAGE)/remsim.ko

# (a kernel rebuilt here renews its Module.symvers: the module follows)
$(MODSTAGE)/remsim.ko: $(MODULE_SRCS) $(wildcard include/uapi/linux/*.h) Makefile $(VERSION_STAMP) \
		       $(wildcard $(KDIR)/Module.symvers)
	$(quiet) STAGE $(MODSTAGE)
	$(Q)mkdir -p $(addprefix $(MODSTAGE)/,$(MODULE_DIRS))
	$(Q)find $(MODSTAGE) -type l -delete
	$(Q)ln -sf $(CURDIR)/Kbuild $(MODSTAGE)/Kbuild
	$(Q)ln -sf $(CURDIR)/include $(MODSTAGE)/include
	$(Q)for f in $(addsuffix /*.[ch],$(MODULE_DIRS)); do ln -sf $(CURDIR)/$$f $(MODSTAGE)/$$f; done
	$(Q)test -d $(KDIR) || { echo "no kernel headers in $(KDIR): run make deps"; exit 1; }
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR)/$(MODSTAGE) REMSIM_VERSION=$(VERSION) \
		REMSIM_WERROR=$(if $(filter 1,$(WERROR)),y) $(if $(V),V=$(V)) modules

# --- user space -----------------------------------------------------------------

LIBREMSIM_SRCS	:= $(wildcard userspace/lib/*.c)
RSPRO_SRCS	:= $(wildcard userspace/lib/rspro/*.c)
LIBRSPRO	:= $(B)/lib/libremsim-rspro.a
# the daemon base: event loop, log, config files, sockets, daemon_main()
DAEMON_SRCS	:= $(wildcard userspace/lib/daemon/*.c)
LIBDAEMON	:= $(B)/lib/libremsim-daemon.a
SOFTSIM_SRCS	:= $(filter-out userspace/softsim/main.c,$(wildcard userspace/softsim/*.c))
LIBREMSIM	:= $(B)/lib/libremsim.a
# pcscd's driver remsim-ifd (userspace/ifd), a shared library
IFD_LIB		:= $(B)/lib/libifd-remsim.so
TESTLIB_SRCS	:= $(wildcard tests/lib/*.c)
TESTLIB		:= $(B)/tests/libtest.a
# libremsim-rspro's TLS transport (userspace/lib/rspro/tls.c) is on GnuTLS
LDLIBS		:= -lmnl -lpthread -lgnutls
SELFTESTS	:= $(patsubst tests/selftests/%.c,$(B)/tests/selftests/%,$(wildcard tests/selftests/*_test.c))
# The slot core's tests again on a slot of the software USB board.
USB_VARIANTS	:= $(B)/tests/selftests/slot_usb_test $(B)/tests/selftests/apdu_usb_test \
		   $(B)/tests/selftests/client_usb_test
SELFTESTS	+= $(USB_VARIANTS)
UNITTESTS	:= $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/*_test.c))
# make install, dkms and the units, checked on this machine (a script)
UNITTESTS	+= tests/install/install_test
# the netlink spec against remsim.h, remsim_dev.h and kernel/netlink.c (a script)
UNITTESTS	+= tests/ynl/ynl_test
BENCHES		:= $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
TOOLS		:= $(patsubst tests/tools/%.c,$(B)/tests/tools/%,$(wildcard tests/tools/*.c))
BOARD		:= $(B)/tests/board/st2board
PROGRAMS	:= $(B)/bin/remsimctl $(B)/bin/remsim-rspro-decode $(B)/bin/remsim-server $(B)/bin/remsim-softsim \
		   $(B)/bin/remsim-bankd $(B)/bin/remsim-client-shell $(B)/bin/remsim-client \
		   $(B)/bin/remsim-lease
SAN_PROGRAMS	:= $(B)/san/bin/remsim-server $(B)/san/bin/remsim-softsim $(B)/san/bin/remsim-bankd \
		   $(B)/san/bin/remsim-client-shell

userspace: $(PROGRAMS) $(SAN_PROGRAMS) $(SELFTESTS) $(UNITTESTS) $(FUZZERS) $(BENCHES) \
	$(TOOLS) $(BOARD) $(IFD_LIB) $(B)/lib/pkgconfig/remsim-rspro.pc \
	$(B)/lib/pkgconfig/remsim-daemon.pc \
	$(B)/udev/60-remsim.rules

# The udev rules as the VM tests use them: remsimctl from build/bin.
$(B)/udev/60-remsim.rules: udev/60-remsim.rules.in
	$(Q)mkdir -p $(dir $@)
	$(Q)sed 's|@SBINDIR@|$(CURDIR)/$(B)/bin|g' $< >$@

# --- RSPRO: asn1c's C from asn1/RSPRO.asn, generated at build time -----------
#
# Debian's asn1c 0.9.28 with fixes to its output: see scripts/asn1-gen.

ASN1_GEN	:= $(B)/asn1/gen

$(ASN1_GEN)/.stamp: asn1/RSPRO.asn scripts/asn1-gen
	$(quiet) ASN1C $<
	$(Q)scripts/asn1-gen $< $(ASN1_GEN)

# objects of the generated code, one directory per flavour
$(B)/asn1/%/.done: $(ASN1_GEN)/.stamp scripts/asn1-objs
	$(quiet) CC-ASN1 $(B)/asn1/$*
	$(Q)scripts/asn1-objs $(ASN1_GEN) $(B)/asn1/$* $(ASN1_CC_$*)
	$(Q)touch $@

ASN1_CC_obj	= $(CC) $(CFLAGS)
ASN1_CC_san	= $(CC) $(CFLAGS) $(SANFLAGS)
ASN1_CC_pic	= $(CC) $(CFLAGS) -fPIC
# as the fuzzers themselves: any UBSan report in asn1c's code aborts the run
ASN1_CC_fuzz	= $(CLANG) -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
		  -fno-sanitize-recover=all

RSPRO_CFLAGS	= -isystem $(ASN1_GEN)

$(patsubst %.c,$(B)/obj/%.o,$(RSPRO_SRCS)) $(patsubst %.c,$(B)/san/obj/%.o,$(RSPRO_SRCS)): \
	ALL_CFLAGS += $(RSPRO_CFLAGS)
$(patsubst %.c,$(B)/obj/%.o,$(RSPRO_SRCS)) $(patsubst %.c,$(B)/san/obj/%.o,$(RSPRO_SRCS)): \
	| $(ASN1_GEN)/.stamp

define archive_rspro
	$(quiet) AR $@
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $(filter %.o,$^) $(wildcard $(dir $(filter %/.done,$^))*.o)
endef

$(LIBRSPRO): $(patsubst %.c,$(B)/obj/%.o,$(RSPRO_SRCS)) $(B)/asn1/obj/.done
	$(call archive_rspro)

$(LIBDAEMON): $(patsubst %.c,$(B)/obj/%.o,$(DAEMON_SRCS))

# pkg-config files for the build tree: each library's header directory
$(B)/lib/pkgconfig/remsim-rspro.pc: userspace/lib/rspro/remsim-rspro.pc.in Makefile $(VERSION_STAMP)
$(B)/lib/pkgconfig/remsim-daemon.pc: userspace/lib/daemon/remsim-daemon.pc.in Makefile $(VERSION_STAMP)
$(B)/lib/pkgconfig/remsim-%.pc:
	$(Q)mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(CURDIR)|; s|@LIBDIR@|$(CURDIR)/$(B)/lib|; s|@INCLUDEDIR@|$(CURDIR)/userspace/lib/$*/include|; s|@UAPIDIR@|$(CURDIR)/include/uapi|; s|@VERSION@|$(VERSION)|' $< >$@

$(B)/bin/%: $(B)/obj/userspace/tools/%.o $(LIBRSPRO) $(LIBDAEMON)
	$(call link)
$(B)/bin/remsim-lease: LDLIBS += -lcurl -ljansson

SERVER_SRCS	:= $(wildcard userspace/server/*.c)

$(B)/bin/remsim-server: $(patsubst %.c,$(B)/obj/%.o,$(SERVER_SRCS)) $(LIBRSPRO) $(LIBDAEMON)
	$(call link)
$(B)/bin/remsim-server: LDLIBS += -lsqlite3 $(PQ_LIBS) -lmicrohttpd -ljansson
$(B)/obj/userspace/server/store_pg.o: ALL_CFLAGS += $(PQ_CFLAGS)


SOFTSIMD_SRCS	:= $(wildcard userspace/softsimd/*.c)
CLIENT_CORE	:= userspace/client/slot.c userspace/client/script.c

CLIENT_SRCS	:= $(addprefix userspace/client/,main.c config.c kwatch.c kslot.c usbwatch.c \
		   usbslot.c usbhost.c usbscan.c) $(CLIENT_CORE)

$(B)/bin/remsim-client: $(patsubst %.c,$(B)/obj/%.o,$(CLIENT_SRCS)) $(LIBREMSIM) $(LIBRSPRO) $(LIBDAEMON)
	$(call link)
$(B)/bin/remsim-client: LDLIBS += -lusb-1.0

$(B)/bin/remsim-client-shell: $(patsubst %.c,$(B)/obj/%.o,userspace/client/shell.c $(CLIENT_CORE)) \
			      $(LIBRSPRO) $(LIBDAEMON)
	$(call link)
# remsim-ifd: pcsc-lite's IFD handler, a shared library pcscd loads. Its
# objects and those of the libraries it takes in are built again with -fPIC
# (build/pic); only the IFDH functions leave it (userspace/ifd/ifd.map).
IFD_SRCS	:= $(wildcard userspace/ifd/*.c) $(CLIENT_CORE) $(RSPRO_SRCS) \
		   $(filter-out %/daemon.c %/metrics_http.c,$(DAEMON_SRCS))
PIC		:= $(B)/pic

$(PIC)/obj/%.o: %.c
	$(quiet) CC-PIC $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -c -o $@ $<

$(patsubst %.c,$(PIC)/obj/%.o,$(RSPRO_SRCS)): ALL_CFLAGS += $(RSPRO_CFLAGS)
$(patsubst %.c,$(PIC)/obj/%.o,$(RSPRO_SRCS)): | $(ASN1_GEN)/.stamp
$(PIC)/obj/userspace/ifd/ifdhandler.o: ALL_CFLAGS += $(PCSC_CFLAGS)

$(IFD_LIB): $(patsubst %.c,$(PIC)/obj/%.o,$(IFD_SRCS)) $(B)/asn1/pic/.done \
	    userspace/ifd/ifd.map
	$(quiet) LD $@
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -shared -fPIC -Wl,-z,defs -Wl,--version-script=userspace/ifd/ifd.map \
		-o $@ $(filter %.o,$^) $(B)/asn1/pic/*.o -lpthread -lgnutls

BANKD_SRCS	:= $(wildcard userspace/bankd/*.c)
REMSIMCTL_SRCS	:= $(wildcard userspace/remsimctl/*.c)

$(B)/bin/remsimctl: $(patsubst %.c,$(B)/obj/%.o,$(REMSIMCTL_SRCS)) $(LIBREMSIM) $(LIBRSPRO) $(LIBDAEMON)
	$(call link)
$(B)/bin/remsimctl: LDLIBS += -ljansson

$(B)/bin/remsim-bankd: $(patsubst %.c,$(B)/obj/%.o,$(BANKD_SRCS)) $(LIBRSPRO) $(LIBDAEMON)
	$(call link)
$(B)/bin/remsim-bankd: LDLIBS += -lpcsclite
$(patsubst %.c,$(B)/obj/%.o,$(BANKD_SRCS)) $(patsubst %.c,$(B)/san/obj/%.o,$(BANKD_SRCS)): \
	ALL_CFLAGS += $(PCSC_CFLAGS)

$(B)/bin/remsim-softsim: $(patsubst %.c,$(B)/obj/%.o,$(SOFTSIMD_SRCS)) $(LIBREMSIM) $(LIBRSPRO) $(LIBDAEMON)
	$(call link)

$(B)/obj/%.o: %.c
	$(quiet) CC $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/lib -c -o $@ $<

# The plain C the modules share with user space (common/README), compiled
# for user space as it is. User space sees no other kernel/ source.
PLAIN_OBJS	:= $(patsubst common/%.c,$(B)/obj/common/%.o,$(wildcard common/*.c))

$(B)/%.a:
	$(quiet) AR $@
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBREMSIM): $(patsubst %.c,$(B)/obj/%.o,$(LIBREMSIM_SRCS) $(SOFTSIM_SRCS)) $(PLAIN_OBJS)
$(TESTLIB): $(patsubst %.c,$(B)/obj/%.o,$(TESTLIB_SRCS))

define link
	$(quiet) LD $@
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(1) -o $@ $^ $(LDLIBS)
endef

$(B)/tests/selftests/%: $(B)/obj/tests/selftests/%.o $(TESTLIB) $(LIBREMSIM) $(LIBRSPRO) $(LIBDAEMON)
	$(call link)

$(B)/obj/tests/selftests/%_usb_test.o: tests/selftests/%_test.c
	$(quiet) CC $< [usb]
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -DREMSIM_SLOT_USB -Itests/lib -c -o $@ $<

$(B)/bench/%: $(B)/obj/bench/%.o $(TESTLIB) $(LIBREMSIM) $(LIBRSPRO) $(LIBDAEMON)
	$(call link)

$(B)/bench/usb_pb: LDLIBS += -lusb-1.0

$(B)/tests/tools/%: $(B)/obj/tests/tools/%.o $(TESTLIB) $(LIBREMSIM)
	$(call link)
$(B)/tests/tools/chain_demo: LDLIBS += -lpcsclite
$(B)/obj/tests/tools/chain_demo.o: ALL_CFLAGS += $(PCSC_CFLAGS)

$(BOARD): $(patsubst %.c,$(B)/obj/%.o,$(wildcard tests/board/*.c)) $(TESTLIB) $(LIBREMSIM)
	$(call link)

# Unit tests run natively under AddressSanitizer and UBSan: they build from
# objects of their own.
SANFLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN		:= $(B)/san

$(SAN)/obj/%.o: %.c
	$(quiet) CC-SAN $<
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SANFLAGS) -Itests/lib -c -o $@ $<

# (VERSION_STAMP: see the top)
VERSION_USERS	:= $(shell grep -rl --include='*.c' REMSIM_VERSION userspace tests bench 2>/dev/null)
$(foreach o,$(B)/obj $(SAN)/obj,$(patsubst %.c,$(o)/%.o,$(VERSION_USERS))): $(VERSION_STAMP)

$(SAN)/libremsim.a: $(patsubst %.c,$(SAN)/obj/%.o,$(LIBREMSIM_SRCS) $(SOFTSIM_SRCS)) \
		    $(patsubst $(B)/obj/%,$(SAN)/obj/%,$(PLAIN_OBJS))
$(SAN)/libtest.a: $(patsubst %.c,$(SAN)/obj/%.o,$(TESTLIB_SRCS))
$(SAN)/libremsim-rspro.a: $(patsubst %.c,$(SAN)/obj/%.o,$(RSPRO_SRCS)) $(B)/asn1/san/.done
	$(call archive_rspro)
$(SAN)/libremsim-daemon.a: $(patsubst %.c,$(SAN)/obj/%.o,$(DAEMON_SRCS))

$(B)/tests/unit/%: $(SAN)/obj/tests/unit/%.o $(SAN)/libtest.a $(SAN)/libremsim.a \
		   $(SAN)/libremsim-rspro.a $(SAN)/libremsim-daemon.a
	$(call link,$(SANFLAGS))

# it looks at asn1c's generated asn_internal.h (under -isystem: not in its .d)
$(SAN)/obj/tests/unit/rspro_test.o: ALL_CFLAGS += $(RSPRO_CFLAGS) -Iuserspace/lib/rspro
$(SAN)/obj/tests/unit/rspro_test.o: $(ASN1_GEN)/.stamp
$(B)/tests/unit/bankd_csv_test: $(SAN)/obj/userspace/bankd/csv.o
$(B)/tests/unit/bankd_csv_test: LDLIBS := $(SAN)/libremsim-rspro.a $(SAN)/libremsim-daemon.a $(LDLIBS)
$(B)/tests/unit/client_config_test: $(patsubst %.c,$(SAN)/obj/userspace/client/%.o,config.c \
				    usbscan.c usbslot.c usbhost.c slot.c script.c)
# (the objects come after the libraries on the command line: those again)
$(B)/tests/unit/client_config_test: LDLIBS := $(SAN)/libremsim.a $(SAN)/libremsim-rspro.a $(SAN)/libremsim-daemon.a -lusb-1.0 $(LDLIBS)
$(B)/obj/tests/lib/pcsc_env.o $(SAN)/obj/tests/lib/pcsc_env.o: ALL_CFLAGS += $(PCSC_CFLAGS)
PCSC_TESTS	:= bankd_test softsim_test client_shell_test hostile_test tls_chain_test ha_test \
		   metrics_test ifd_test dashboard_test
# the IFD handler's parts, without pcscd: its mapping, parser and reader core
$(B)/tests/unit/ifd_test: $(patsubst %.c,$(SAN)/obj/%.o,$(wildcard userspace/ifd/*.c) \
			  $(CLIENT_CORE))
$(B)/tests/unit/ifd_test: LDLIBS := $(SAN)/libremsim-rspro.a $(SAN)/libremsim-daemon.a $(LDLIBS)
$(SAN)/obj/userspace/ifd/ifdhandler.o: ALL_CFLAGS += $(PCSC_CFLAGS)
$(B)/tests/unit/hostile_test: LDLIBS += -lsqlite3
# tests/lib/browser.c speaks the DevTools protocol's JSON
$(B)/tests/unit/dashboard_test: LDLIBS += -ljansson
# it makes databases of older schemas and reads them back
$(B)/tests/unit/store_test $(B)/tests/unit/lease_test: LDLIBS += -lsqlite3
$(B)/tests/selftests/client_test $(B)/tests/selftests/client_usb_test \
$(B)/tests/selftests/faults_test: LDLIBS += -lpcsclite
$(B)/tests/selftests/remsimctl_test: LDLIBS += -ljansson
$(B)/obj/tests/selftests/client_test.o $(B)/obj/tests/selftests/client_usb_test.o: \
	ALL_CFLAGS += $(PCSC_CFLAGS)
$(addprefix $(B)/tests/unit/,$(PCSC_TESTS)) $(B)/bench/bankd_rtt $(B)/bench/chain_rtt \
	$(B)/bench/chain_scale $(B)/bench/ifd_rtt: \
	LDLIBS += -lpcsclite
$(patsubst %,$(SAN)/obj/tests/unit/%.o,$(PCSC_TESTS)) $(B)/obj/bench/bankd_rtt.o \
	$(B)/obj/bench/chain_rtt.o $(B)/obj/bench/ifd_rtt.o: \
	ALL_CFLAGS += $(PCSC_CFLAGS)

# The strict peer of rspro_strict_test: asn1c's decoder of osmo-remsim's own
# module (tests/rspro-strict/RSPRO.asn), refusing unknown extensions (see
# scripts/asn1-strict-gen). Building it first checks that remsim's module is
# that module plus the listed additions. Its asn1c symbols have the names of
# the library's: all but rspro_strict_decode() are made local in strict.o.
STRICT		:= $(B)/asn1-strict
STRICT_ASN	:= tests/rspro-strict/RSPRO.asn

$(STRICT)/gen/.stamp: $(STRICT_ASN) asn1/RSPRO.asn tests/rspro-strict/additions \
		      scripts/asn1-gen scripts/asn1-strict-gen scripts/asn1-strict-check
	$(quiet) ASN1C $(STRICT_ASN)
	$(Q)scripts/asn1-strict-check asn1/RSPRO.asn $(STRICT_ASN) tests/rspro-strict/additions
	$(Q)scripts/asn1-strict-gen $(STRICT_ASN) $(STRICT)/gen

$(STRICT)/strict.o: $(STRICT)/gen/.stamp tests/rspro-strict/strict.c tests/rspro-strict/strict.h \
		    scripts/asn1-objs
	$(quiet) LD-STRICT $@
	$(Q)scripts/asn1-objs $(STRICT)/gen $(STRICT)/obj $(CC) $(CFLAGS)
	$(Q)$(CC) -std=gnu11 $(WARNINGS) $(CFLAGS) -isystem $(STRICT)/gen -c \
		-o $(STRICT)/glue.o tests/rspro-strict/strict.c
	$(Q)ld -r -o $(STRICT)/all.o $(STRICT)/obj/*.o $(STRICT)/glue.o
	$(Q)objcopy -G rspro_strict_decode $(STRICT)/all.o $@

$(B)/tests/unit/rspro_strict_test: $(STRICT)/strict.o
# its fake osmo-remsim-server decodes what bankd sends with osmo's module
$(B)/tests/unit/bankd_test: $(STRICT)/strict.o

# The daemons again under ASan and UBSan (SAN_PROGRAMS): the native tests
# run these, so a leak or undefined behaviour in a daemon fails its test.
$(SAN)/bin/remsim-server: $(patsubst %.c,$(SAN)/obj/%.o,$(SERVER_SRCS)) $(SAN)/libremsim-rspro.a $(SAN)/libremsim-daemon.a
	$(call link,$(SANFLAGS))
$(SAN)/bin/remsim-server: LDLIBS += -lsqlite3 $(PQ_LIBS) -lmicrohttpd -ljansson
$(SAN)/obj/userspace/server/store_pg.o: ALL_CFLAGS += $(PQ_CFLAGS)

$(SAN)/bin/remsim-client-shell: $(patsubst %.c,$(SAN)/obj/%.o,userspace/client/shell.c \
				 $(CLIENT_CORE)) $(SAN)/libremsim-rspro.a $(SAN)/libremsim-daemon.a
	$(call link,$(SANFLAGS))

$(SAN)/bin/remsim-bankd: $(patsubst %.c,$(SAN)/obj/%.o,$(BANKD_SRCS)) $(SAN)/libremsim-rspro.a $(SAN)/libremsim-daemon.a
	$(call link,$(SANFLAGS))
$(SAN)/bin/remsim-bankd: LDLIBS += -lpcsclite

$(SAN)/bin/remsim-softsim: $(patsubst %.c,$(SAN)/obj/%.o,$(SOFTSIMD_SRCS)) $(SAN)/libremsim.a \
			   $(SAN)/libremsim-rspro.a $(SAN)/libremsim-daemon.a
	$(call link,$(SANFLAGS))

# libFuzzer targets, with clang: one per parser of outside input.
FUZZERS		:= $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/*_fuzz.c))
FUZZ_SECONDS	?= 60
FUZZ_FLAGS	:= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 \
		   -isystem include/uapi -Icommon -Iuserspace/include $(USER_INCLUDES)
PLAIN_SRCS	:= $(wildcard common/*.c)

$(B)/fuzz/%: tests/fuzz/%.c $(PLAIN_SRCS)
	$(quiet) FUZZER $@
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -o $@ $^

# The RSPRO fuzzers link the library's sources and asn1c's code, built
# with the fuzzer's instrumentation.
RSPRO_FUZZERS	:= $(B)/fuzz/rspro_fuzz $(B)/fuzz/ipa_fuzz
# (the parsers need the loop, log and sockets, not the start-up)
FUZZ_DAEMON_SRCS := $(filter-out %/daemon.c,$(DAEMON_SRCS))

$(RSPRO_FUZZERS): $(B)/fuzz/%: tests/fuzz/%.c $(RSPRO_SRCS) $(FUZZ_DAEMON_SRCS) $(B)/asn1/fuzz/.done \
		  $(wildcard userspace/lib/*/include/remsim/*.h userspace/lib/rspro/*.h)
	$(quiet) FUZZER $@
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -isystem $(ASN1_GEN) -Iuserspace/lib/rspro -o $@ $< $(RSPRO_SRCS) $(FUZZ_DAEMON_SRCS) \
		$(B)/asn1/fuzz/*.o -lpthread -lgnutls

fuzzers: $(FUZZERS)

# Each fuzzer for FUZZ_SECONDS from its corpus in tests/fuzz/corpus/NAME;
# what it finds stays in build/fuzz/corpus/NAME.
fuzz: $(FUZZERS)
	$(Q)mkdir -p $(B)/check
	$(Q)scripts/run-fuzz $(FUZZ_SECONDS) $(B)/check/fuzz.tap $(FUZZERS)

-include $(shell find $(B)/obj $(B)/san/obj $(B)/pic/obj -name '*.d' 2>/dev/null)

# --- tests ------------------------------------------------------------------------
#
# The VM guest loads our modules from build/vm/modroot/lib/modules/KVER: the
# unpacked Debian kernel's modules (hard links, no copy) plus ours in extra/.

MODROOT		:= $(B)/vm/modroot/lib/modules/$(KVER)
KIMG		:= $(B)/kernel/$(KVER)/root/lib/modules/$(KVER)

vm-prep: module
	$(quiet) MODROOT $(MODROOT)
	$(Q)test -d $(KIMG) || { echo "no kernel image for $(KVER): run make deps"; exit 1; }
	$(Q)if [ ! -d $(MODROOT)/kernel ]; then \
		rm -rf $(MODROOT) && mkdir -p $(dir $(MODROOT)) && cp -al $(KIMG) $(MODROOT); fi
	$(Q)mkdir -p $(MODROOT)/extra && cp $(MODULES) $(MODROOT)/extra/
	$(Q)depmod -b $(B)/vm/modroot $(KVER)

# A test name (T=module_test) runs only that program.
T		?=
SELFTEST_RUN	:= $(if $(T),$(filter $(addprefix %/,$(T)),$(SELFTESTS)),$(SELFTESTS))
UNIT_RUN	:= $(if $(T),$(filter $(addprefix %/,$(T)),$(UNITTESTS)),$(UNITTESTS))

unit: userspace
	$(Q)scripts/run-tap $(B)/check/unit.tap $(UNIT_RUN) >$(B)/check/unit.log 2>&1 || \
		{ grep -E '^(# )*not ok' $(B)/check/unit.tap; true; }

# The entry points a fresh machine starts from install what is missing first;
# KVER and KDIR are only known after that, hence the second make.
check selftests demo bench faults hostile:
	$(Q)scripts/deps
	$(Q)$(MAKE) --no-print-directory run-$@

# SELFTEST_SLOW: REMSIM_TEST_SLOW in the guest (the tests' time limits
# scaled); make check sets 2, as the guest shares the machine with the unit
# tests and fuzzers there (faults_test's recovery mean doubled under it).
SELFTEST_SLOW	?= 1

run-selftests: all vm-prep
	$(Q)rm -f $(B)/vm/selftests.tap
	$(Q)scripts/vm -q -n selftests -t 1800 -- env REMSIM_TEST_SLOW=$(SELFTEST_SLOW) \
		scripts/run-tap -t 900 $(CURDIR)/$(B)/vm/selftests/selftests.tap \
		$(SELFTEST_RUN); scripts/vm-verdict $(B)/vm/selftests >$(B)/vm/verdict.tap
	$(Q)cp $(B)/vm/selftests/selftests.tap $(B)/vm/selftests.tap 2>/dev/null || true
	$(Q)scripts/tap-summary $(B)/vm/selftests.tap $(B)/vm/verdict.tap

# The debug kernel lane: every selftest, then DEBUG_FAULT_REPS rounds of the
# USB fault (faults_test's board_unplugged_mid_apdu), on the kernel of
# scripts/kernel-debug (KASAN, lockdep, kmemleak, debug objects), remsim.ko
# built against its tree. A WARN does not end the run there
# (panic_on_warn=0): every test runs and every report is collected; any
# report still fails the run (scripts/vm). acpi=off: the ACPI interpreter,
# instrumented, takes more than its 30 s limit on qemu's PCI routing table
# under TCG, and the virtio devices get no interrupt. tsc=unstable: without
# ACPI (no HPET) the TSC is calibrated against the PIT, which under TCG on a
# loaded host gave 123 MHz for the real rate: guest time ran ~20 times fast,
# every 10 s keep-alive expired in half a second. The tick-driven jiffies
# clock keeps time there. TAP in
# build/vm/selftests-debug/.
DEBUG_FAULT_REPS ?= 5
DEBUG_RUN	:= $(CURDIR)/$(B)/vm/selftests-debug
DEBUG_FAULTS	:= $(if $(T),,REMSIM_FAULT_REPS=$(DEBUG_FAULT_REPS) scripts/run-tap -t 3600 \
		   $(DEBUG_RUN)/faults.tap $(B)/tests/selftests/faults_test:board_unplugged_mid_apdu \
		   || s=1;)

selftests-debug:
	$(Q)scripts/deps --debug-kernel
	$(Q)scripts/kernel-debug
	$(Q)$(MAKE) --no-print-directory run-selftests-debug KDIR=$$(scripts/kernel-debug -p)

run-selftests-debug: all vm-prep
	$(Q)test -n "$(filter %-remsim-debug,$(KVER))" || \
		{ echo "run-selftests-debug: KDIR is not the debug kernel (make selftests-debug)"; exit 1; }
	$(Q)scripts/vm -q -n selftests-debug -m 2048 -t 7200 -a 'panic_on_warn=0 acpi=off tsc=unstable' -- bash -c ' \
		export REMSIM_TEST_SLOW=8; \
		s=0; scripts/run-tap -t 2700 $(DEBUG_RUN)/selftests.tap $(SELFTEST_RUN) || s=1; \
		$(DEBUG_FAULTS) exit $$s'; scripts/vm-verdict $(B)/vm/selftests-debug \
		>$(B)/vm/verdict-debug.tap
	$(Q)scripts/tap-summary $(DEBUG_RUN)/selftests.tap $(if $(T),,$(DEBUG_RUN)/faults.tap) \
		$(B)/vm/verdict-debug.tap

# The VM selftests run while the unit tests and fuzzers use the other core.
# Then, only where scripts/kernel-debug has built the debug kernel for the
# current fragment (it takes 20 minutes, too long for CI on top of this; see
# testing.rst), the debug lane; DEBUG_KERNEL=no leaves it out.
run-check: all vm-prep
	$(Q)mkdir -p $(B)/check
	$(Q)echo "check: selftests in the VM, unit tests and fuzzers ($(FUZZ_SECONDS) s each) here"
	$(Q)$(if $(SELFTEST_RUN),$(MAKE) --no-print-directory run-selftests SELFTEST_SLOW=2 \
		>$(B)/check/selftests.log 2>&1 &) \
	$(if $(UNIT_RUN),$(MAKE) --no-print-directory unit;) \
	$(if $(T),,$(MAKE) --no-print-directory fuzz >$(B)/check/fuzz.log 2>&1;) \
	wait
	$(Q)rm -f $(B)/check/debug.tap-files
	$(Q)$(if $(T)$(filter no,$(DEBUG_KERNEL)),,if kd=$$(scripts/kernel-debug -p 2>/dev/null); then \
		echo "check: the debug kernel is built: make selftests-debug too (about 40 min)"; \
		$(MAKE) --no-print-directory run-selftests-debug KDIR=$$kd \
			>$(B)/check/selftests-debug.log 2>&1; \
		echo "$(DEBUG_RUN)/selftests.tap $(DEBUG_RUN)/faults.tap $(B)/vm/verdict-debug.tap" \
			>$(B)/check/debug.tap-files; fi)
	$(Q)scripts/tap-summary $(if $(UNIT_RUN),$(B)/check/unit.tap) $(if $(T),,$(B)/check/fuzz.tap) \
		$(if $(SELFTEST_RUN),$(B)/vm/selftests.tap $(B)/vm/verdict.tap) \
		$$(cat $(B)/check/debug.tap-files 2>/dev/null)

# TLS=off: the demo in plaintext, as with osmo-remsim peers (default: TLS)
run-demo: all vm-prep
	@case "$(or $(TLS),on)" in on|off) ;; *) echo "TLS=$(TLS): on or off"; exit 2;; esac
	scripts/demo $(if $(filter off,$(TLS)),--plaintext)

# REPS=N repetitions of each fault (default 100); make check runs 2.
run-faults: all vm-prep
	$(Q)scripts/faults $(REPS)

# SECONDS=N of each attack (default 10); make check runs 2.
run-hostile: userspace
	$(Q)scripts/hostile $(SECONDS)

# Benchmarks print "name: value unit (ratio vs base)"; the table and
# build/bench/results.json collect them.
run-bench: all vm-prep
	$(Q)scripts/bench

include install.mk

clean:
	rm -rf $(B)/module $(B)/module-* $(B)/obj $(B)/pic $(B)/san $(B)/fuzz $(B)/tests $(B)/lib $(B)/bin $(B)/vm \
		$(B)/check
.SECONDARY:
