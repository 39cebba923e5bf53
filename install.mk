# SPDX-License-Identifier: GPL-2.0
#
# Installation, included by the Makefile:
#
#   make install DESTDIR=... PREFIX=...   programs, remsim-pki, library, headers, udev rules,
#                                         the IFD handler for pcscd (IFDDIR),
#                                         systemd units, sysusers, man pages,
#                                         bash completion, example configs, the
#                                         configuration files in /etc (see CONFFILES)
#   make modules_install [DESTDIR=...]    the modules for KVER, then depmod
#   make dkms-install [DESTDIR=...]       the module's sources for dkms
#
# The integration directories come from pkg-config where the system says;
# UDEVDIR, SYSTEMDUNITDIR, SYSUSERSDIR and BASHCOMPDIR override them.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
DOCDIR		?= $(DATADIR)/doc/remsim
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
pkgvar		= $(or $(shell pkg-config --variable=$(2) $(1) 2>/dev/null),$(3))
UDEVDIR		?= $(call pkgvar,udev,udevdir,/lib/udev)
SYSTEMDUNITDIR	?= $(call pkgvar,systemd,systemdsystemunitdir,/lib/systemd/system)
SYSUSERSDIR	?= $(call pkgvar,systemd,sysusersdir,/usr/lib/sysusers.d)
BASHCOMPDIR	?= $(call pkgvar,bash-completion,completionsdir,$(DATADIR)/bash-completion/completions)
# where pcscd's drivers live (reader.conf.d's LIBPATH names the file there)
IFDDIR		?= $(call pkgvar,libpcsclite,usbdropdir,$(LIBDIR)/pcsc/drivers)
DKMSDIR		?= /usr/src/remsim-$(VERSION)
# not under PREFIX: the units and programs read /etc/remsim and /etc/default
SYSCONFDIR	?= /etc
INSTALL_MOD_DIR	?= updates

INSTALL		:= install
SUBST		= sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
		      -e 's|@VERSION@|$(VERSION)|g' -e 's|@PREFIX@|$(PREFIX)|g' \
		      -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		      -e 's|@UAPIDIR@|$${includedir}/remsim/uapi|g' \
		      -e 's|Documentation/\([a-z0-9-]*\.rst\)|$(DOCDIR)/\1|g' \
		      -e 's|contrib/examples/|$(DOCDIR)/examples/|g'

DAEMONS		:= remsim-server remsim-bankd remsim-client remsim-client-shell remsim-softsim \
		   remsim-rspro-decode remsim-lease
UNITS		:= $(patsubst systemd/%.in,%,$(wildcard systemd/*.service.in))
MAN1		:= $(wildcard man/*.1)
MAN8		:= $(wildcard man/*.8)
MAN5		:= $(wildcard man/*.5)
# The documents the man pages, units and --help point to, in DOCDIR: the
# pages name them as Documentation/X.rst (and contrib/examples/X), SUBST
# makes that DOCDIR/X.rst (DOCDIR/examples/X).
DOCS		:= $(wildcard Documentation/*.rst)
RSPRO_HEADERS	:= $(addprefix userspace/lib/rspro/include/remsim/,rspro.h ipa.h rspro_conn.h rspro_tls.h \
		   rspro_link.h)
DAEMON_HEADERS	:= $(addprefix userspace/lib/daemon/include/remsim/,evloop.h log.h conf.h net.h \
		   metrics.h daemon.h)
UAPI_HEADERS	:= include/uapi/linux/remsim.h include/uapi/linux/remsim_dev.h
EXAMPLES	:= $(wildcard contrib/examples/*)
# remsim-server's web dashboard, found as ../share/remsim/dashboard from BINDIR
DASHBOARD	:= $(addprefix userspace/server/dashboard/,index.html app.js style.css)
# The files an operator edits, from contrib/examples: SOURCE:DESTINATION
# under SYSCONFDIR. One is installed only where there is none (a dangling
# link counts as one). One that differs from the new example (edited, or of
# an older version) is kept and the example goes beside it as FILE.dist for
# the operator to merge: what dpkg does with conffiles, without asking. An
# unedited one is left alone.
# bankd_pcsc_slots.csv is not one: it names this host's readers, and a
# bankd without it says so rather than serve readers the host lacks.
CONFFILES	:= client.conf:remsim/client.conf slots.conf:remsim/slots.conf \
		   $(foreach d,server bankd client softsim,remsim-$(d).default:default/remsim-$(d))
# the module's sources as the Makefile stages them (MODULE_SRCS), and the uapi
DKMS_FILES	:= $(MODULE_SRCS) $(UAPI_HEADERS)

.PHONY: install modules_install dkms-install

install: $(addprefix $(B)/bin/,$(DAEMONS) remsimctl) $(LIBRSPRO) $(LIBDAEMON) $(IFD_LIB)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/remsim/uapi/linux $(DESTDIR)$(UDEVDIR)/rules.d \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSCONFDIR)/remsim $(DESTDIR)$(SYSCONFDIR)/default \
		$(DESTDIR)$(IFDDIR) $(DESTDIR)$(DATADIR)/remsim/dashboard
	$(INSTALL) -m 0755 $(addprefix $(B)/bin/,$(DAEMONS)) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0755 $(B)/bin/remsimctl userspace/tools/remsim-pki $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0644 $(LIBRSPRO) $(LIBDAEMON) $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 0755 $(IFD_LIB) $(DESTDIR)$(IFDDIR)/
	$(SUBST) userspace/lib/rspro/remsim-rspro.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/remsim-rspro.pc
	$(SUBST) userspace/lib/daemon/remsim-daemon.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/remsim-daemon.pc
	$(INSTALL) -m 0644 $(RSPRO_HEADERS) $(DAEMON_HEADERS) $(DESTDIR)$(INCLUDEDIR)/remsim/
	$(INSTALL) -m 0644 $(UAPI_HEADERS) $(DESTDIR)$(INCLUDEDIR)/remsim/uapi/linux/
	$(SUBST) udev/60-remsim.rules.in >$(DESTDIR)$(UDEVDIR)/rules.d/60-remsim.rules
	for u in $(UNITS); do \
		$(SUBST) systemd/$$u.in >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/remsim-rspro.pc $(DESTDIR)$(PKGCONFIGDIR)/remsim-daemon.pc \
		$(DESTDIR)$(UDEVDIR)/rules.d/60-remsim.rules \
		$(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(UNITS))
	$(INSTALL) -m 0644 systemd/remsim.sysusers $(DESTDIR)$(SYSUSERSDIR)/remsim.conf
	$(INSTALL) -m 0644 contrib/bash-completion/remsimctl $(DESTDIR)$(BASHCOMPDIR)/remsimctl
	for m in $(MAN1) $(MAN8) $(MAN5); do \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; \
		$(SUBST) $$m >$$d && chmod 0644 $$d || exit 1; done
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 $(DASHBOARD) $(DESTDIR)$(DATADIR)/remsim/dashboard/
	$(INSTALL) -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	@for c in $(CONFFILES); do \
		src=contrib/examples/$${c%%:*}; dst=$(DESTDIR)$(SYSCONFDIR)/$${c#*:}; \
		if [ ! -e "$$dst" ] && [ ! -L "$$dst" ]; then \
			$(INSTALL) -m 0644 "$$src" "$$dst" || exit 1; \
		elif ! cmp -s "$$src" "$$dst"; then \
			$(INSTALL) -m 0644 "$$src" "$$dst.dist" || exit 1; \
			echo "$$dst: kept as it is; the new version is $$dst.dist"; \
		fi; \
	done

# Kbuild's INSTALL_MOD_PATH is DESTDIR; depmod over that tree.
modules_install: $(MODULES)
	$(MAKE) -C $(KDIR) M=$(CURDIR)/$(MODSTAGE) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	depmod -b $(or $(DESTDIR),/) $(KVER)

# The sources as Kbuild wants them, dkms.conf beside; then
# "dkms install remsim/$(VERSION)".
dkms-install:
	$(INSTALL) -d $(DESTDIR)$(DKMSDIR)
	for f in $(DKMS_FILES); do $(INSTALL) -D -m 0644 $$f $(DESTDIR)$(DKMSDIR)/$$f || exit 1; done
	$(SUBST) dkms.conf.in >$(DESTDIR)$(DKMSDIR)/dkms.conf
	chmod 0644 $(DESTDIR)$(DKMSDIR)/dkms.conf
