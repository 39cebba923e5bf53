// SPDX-License-Identifier: GPL-2.0
/*
 * client_config_test - what remsim-client's libusb backend reads before it
 * touches a board: the card-emulation interfaces in sysfs (a tree built
 * here the way the kernel lays it out) and which of them osmo's -V -P -I
 * -A -H select; and the client's settings, per slot by USB interface name,
 * with bad values refused saying what is wrong, as is a key set twice.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../userspace/client/client.h"
#include "daemon.h"
#include "remsim/conf.h"
#include "ktap.h"

static char root[] = "/tmp/usbscan-XXXXXX";

static void put(const char *dir, const char *attr, const char *value)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, attr);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s\n", value);
		fclose(f);
	}
}

static void device(const char *dir, const char *vid, const char *pid, const char *devnum)
{
	put(dir, "idVendor", vid);
	put(dir, "idProduct", pid);
	put(dir, "busnum", "1");
	put(dir, "devnum", devnum);
	put(dir, "bConfigurationValue", "1");
}

static void interface(const char *dir, const char *cls, const char *sub, const char *num)
{
	put(dir, "bInterfaceClass", cls);
	put(dir, "bInterfaceSubClass", sub);
	put(dir, "bInterfaceProtocol", "00");
	put(dir, "bInterfaceNumber", num);
}

static void build_tree(void)
{
	char link[256];

	if (root[strlen(root) - 1] == 'X')
		mkdtemp(root);
	/* a sysmoQMOD: two card emulations, DFU; one interface bound to remsim.ko */
	device("1-1.2", "1d50", "4004", "5");
	interface("1-1.2:1.0", "ff", "02", "00");
	interface("1-1.2:1.1", "ff", "02", "01");
	interface("1-1.2:1.2", "fe", "01", "02");
	snprintf(link, sizeof(link), "%s/1-1.2:1.1/driver", root);
	symlink("../../../bus/usb/drivers/remsim", link);
	/* the sniffer firmware (subclass 01) and another vendor's ff/02 */
	device("1-3", "1d50", "60e3", "7");
	interface("1-3:1.0", "ff", "01", "00");
	device("2-1", "0bda", "8153", "2");
	interface("2-1:1.0", "ff", "02", "00");
	/* a root hub, and an interface whose attributes cannot be read */
	put("usb1", "idVendor", "1d6b");
	interface("1-0:1.0", "09", "00", "00");
	put("1-4:1.0", "bInterfaceClass", "ff");
}

struct found {
	unsigned int n;
	struct usb_cardem c[8];
};

static int collect(const struct usb_cardem *c, void *arg)
{
	struct found *f = arg;

	if (f->n < 8)
		f->c[f->n++] = *c;
	return 0;
}

TEST(sysfs_lists_every_card_emulation_interface)
{
	struct found f = { 0 };

	build_tree();
	ASSERT_EQ(0, usbscan(root, collect, &f));
	ASSERT_EQ(3u, f.n);
	EXPECT_EQ(0, strcmp(f.c[0].name, "1-1.2:1.0"));
	EXPECT_EQ(0, strcmp(f.c[0].path, "1-1.2"));
	EXPECT_EQ(0x1d50, f.c[0].vid);
	EXPECT_EQ(0x4004, f.c[0].pid);
	EXPECT_EQ(1u, f.c[0].busnum);
	EXPECT_EQ(5u, f.c[0].devnum);
	EXPECT_EQ(1u, f.c[0].config);
	EXPECT_EQ(0u, f.c[0].ifnum);
	EXPECT_EQ(0, strcmp(f.c[0].driver, ""));
	EXPECT_EQ(0, strcmp(f.c[1].name, "1-1.2:1.1"));
	EXPECT_EQ(1u, f.c[1].ifnum);
	EXPECT_EQ(0, strcmp(f.c[1].driver, "remsim"));
	EXPECT_EQ(0, strcmp(f.c[2].name, "2-1:1.0"));
	EXPECT_EQ(-ENOENT, usbscan("/nonexistent/sysfs", collect, &f));
}

static unsigned int selected(const struct usb_filter *flt, char *names, size_t size)
{
	struct found f = { 0 };
	unsigned int i, n = 0;

	names[0] = 0;
	usbscan(root, collect, &f);
	for (i = 0; i < f.n; i++) {
		if (!usb_filter_match(flt, &f.c[i]))
			continue;
		n++;
		strncat(names, f.c[i].name, size - strlen(names) - 2);
		strcat(names, " ");
	}
	return n;
}

TEST(osmo_usb_options_select_interfaces)
{
	struct usb_filter flt;
	char names[200];

	build_tree();
	usb_filter_default(&flt);
	/* by default the SIMtrace2 family only */
	EXPECT_EQ(2u, selected(&flt, names, sizeof(names)));
	EXPECT_EQ(0, strcmp(names, "1-1.2:1.0 1-1.2:1.1 "));
	flt.path[0] = 0;
	strcpy(flt.path, "1-1.2");
	flt.ifnum = 1;
	EXPECT_EQ(1u, selected(&flt, names, sizeof(names)));
	EXPECT_EQ(0, strcmp(names, "1-1.2:1.1 "));
	usb_filter_default(&flt);
	flt.addr = 6;
	EXPECT_EQ(0u, selected(&flt, names, sizeof(names)));
	usb_filter_default(&flt);
	strcpy(flt.path, "1-1");	/* a path names one device, not a prefix */
	EXPECT_EQ(0u, selected(&flt, names, sizeof(names)));
	/* -V/-P name another device: it is taken */
	usb_filter_default(&flt);
	flt.vid = 0x0bda;
	flt.pid = 0x8153;
	EXPECT_EQ(1u, selected(&flt, names, sizeof(names)));
	EXPECT_EQ(0, strcmp(names, "2-1:1.0 "));
}

static struct client cl;

static int set(const char *key, const char *value, char *why, size_t size)
{
	why[0] = 0;
	return client_conf_set(key, value, &cl, why, size);
}

TEST(settings_per_usb_interface_and_osmo_options)
{
	const char *names[] = { "remsim4", "4", "1-1.2:1.1" };
	const struct slot_override *o;
	struct rc_cfg cfg;
	char why[200];

	memset(&cl, 0, sizeof(cl));
	rc_cfg_default(&cl.cfg);
	usb_filter_default(&cl.usb_filter);
	usbslot_opts_default(&cl.usb_opts);
	/* the interface name holds dots and a colon; the key after the last dot */
	ASSERT_EQ(0, set("slot.1-1.2:1.1.client", "24:3", why, sizeof(why)));
	ASSERT_EQ(0, set("slot.1-1.2:1.1.atr", "3b 9f 96", why, sizeof(why)));
	o = client_override(&cl, names, 3);
	ASSERT_TRUE(o != NULL);
	EXPECT_EQ(0, strcmp(o->name, "1-1.2:1.1"));
	EXPECT_TRUE(o->has_client);
	client_slot_cfg(&cl, o, o->client, &cfg);
	EXPECT_EQ(24u, cfg.slot.client_id);
	EXPECT_EQ(3u, cfg.slot.slot_nr);
	EXPECT_EQ(3u, (unsigned int)cfg.atr_len);
	EXPECT_EQ(0x96, cfg.atr[2]);
	EXPECT_EQ(-1, cfg.usb_interface);

	EXPECT_FALSE(cl.usb_selected);
	EXPECT_EQ(0, set("usb-vendor", "1d50", why, sizeof(why)));
	EXPECT_EQ(0, set("usb-path", "2-1.1", why, sizeof(why)));
	EXPECT_EQ(0, set("usb-interface", "1", why, sizeof(why)));
	EXPECT_EQ(0, set("usb-config", "1", why, sizeof(why)));
	EXPECT_EQ(0, set("presence-polarity", "1", why, sizeof(why)));
	EXPECT_EQ(0, set("client-id", "7", why, sizeof(why)));
	EXPECT_EQ(0, set("backend", "usb", why, sizeof(why)));
	EXPECT_TRUE(cl.usb_selected);
	EXPECT_EQ(0x1d50, cl.usb_filter.vid);
	EXPECT_EQ(0, strcmp(cl.usb_filter.path, "2-1.1"));
	EXPECT_EQ(1, cl.usb_filter.ifnum);
	EXPECT_EQ(1, cl.usb_opts.config);
	EXPECT_EQ(1, cl.usb_opts.pres_pol);
	EXPECT_TRUE(cl.has_identity);
	EXPECT_EQ(7u, cl.identity.client_id);
	EXPECT_EQ(BACKEND_USB, cl.backend);

	EXPECT_EQ(-EINVAL, set("usb-vendor", "1d50x", why, sizeof(why)));
	EXPECT_TRUE(strstr(why, "usb-vendor \"1d50x\" is not a hex number") != NULL);
	EXPECT_EQ(-EINVAL, set("usb-vendor", "10000", why, sizeof(why)));
	EXPECT_EQ(-EINVAL, set("usb-path", "2-1;rm", why, sizeof(why)));
	EXPECT_TRUE(strstr(why, "not a USB port path") != NULL);
	EXPECT_EQ(-EINVAL, set("presence-polarity", "2", why, sizeof(why)));
	EXPECT_EQ(-EINVAL, set("client-slot", "1024", why, sizeof(why)));
	EXPECT_EQ(-EINVAL, set("backend", "pcsc", why, sizeof(why)));
	EXPECT_TRUE(strstr(why, "not auto, kernel or usb") != NULL);
	EXPECT_EQ(-EINVAL, set("slot.x", "1:1", why, sizeof(why)));
	EXPECT_EQ(-EINVAL, set("slot.1-1:1.0.colour", "red", why, sizeof(why)));
	EXPECT_TRUE(strstr(why, "unknown slot setting \"colour\"") != NULL);
	EXPECT_EQ(-EINVAL, set("usb-speed", "1", why, sizeof(why)));
	/* the values refused changed nothing */
	EXPECT_EQ(0x1d50, cl.usb_filter.vid);
	EXPECT_EQ(1, cl.usb_opts.pres_pol);
}

/*
 * apdu-timeout: how long a slot keeps its card over a bankd outage, for
 * all slots and per slot; 0 turns it off; beyond remsim.ko's own 60 s it
 * is refused.
 */
TEST(apdu_timeout_for_all_slots_and_per_slot)
{
	const char *names[] = { "remsim2" }, *other[] = { "remsim3" };
	struct rc_cfg cfg;
	char why[200];

	memset(&cl, 0, sizeof(cl));
	rc_cfg_default(&cl.cfg);
	EXPECT_EQ(RC_APDU_TIMEOUT_DEFAULT_MS, cl.cfg.apdu_timeout_ms);
	ASSERT_EQ(0, set("apdu-timeout", "8000", why, sizeof(why)));
	ASSERT_EQ(0, set("slot.remsim2.apdu-timeout", "0", why, sizeof(why)));
	client_slot_cfg(&cl, client_override(&cl, names, 1), (struct rspro_client_slot){ 1, 0 },
			&cfg);
	EXPECT_EQ(0u, cfg.apdu_timeout_ms);
	client_slot_cfg(&cl, client_override(&cl, other, 1), (struct rspro_client_slot){ 1, 0 },
			&cfg);
	EXPECT_EQ(8000u, cfg.apdu_timeout_ms);
	EXPECT_EQ(-EINVAL, set("apdu-timeout", "60001", why, sizeof(why)));
	EXPECT_TRUE(strstr(why, "apdu-timeout \"60001\" is not a time in ms from 0 to 60000") !=
		    NULL);
	EXPECT_EQ(-EINVAL, set("slot.remsim2.apdu-timeout", "5s", why, sizeof(why)));
	EXPECT_EQ(-EINVAL, set("apdu-timeout", "-1", why, sizeof(why)));
	/* the values refused changed nothing */
	EXPECT_EQ(8000u, cl.cfg.apdu_timeout_ms);
}

/* conf_load() of @text with the client's setter: @ret, and @want in the error. */
static void expect_file(const char *text, int ret, const char *want)
{
	char path[] = "/tmp/client-conf-XXXXXX", err[300] = "";
	int fd = mkstemp(path);

	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)strlen(text), write(fd, text, strlen(text)));
	close(fd);
	memset(&cl, 0, sizeof(cl));
	rc_cfg_default(&cl.cfg);
	EXPECT_EQ(ret, conf_load(path, client_conf_set, &cl, err, sizeof(err)));
	unlink(path);
	if (!strstr(err, want))
		TH_LOG("got \"%s\", want \"%s\"", err, want);
	EXPECT_TRUE(strstr(err, want) != NULL);
}

TEST(a_config_file_setting_a_key_twice_is_refused)
{
	char err[300] = "";

	/* the second ATR would silently have replaced the first */
	expect_file("server-ip = 10.0.0.1\nslot.remsim3.atr = 3b9f96\n"
		    "slot.remsim3.client = 40:0\nslot.remsim3.atr = 3b00\n", -EINVAL,
		    ":4: \"slot.remsim3.atr\" is set on line 2 already");
	expect_file("server-port = 9998\n\nserver-port=9999\n", -EINVAL,
		    ":3: \"server-port\" is set on line 1 already");
	/* the same setting of two slots is two keys */
	expect_file("slot.remsim3.atr = 3b9f96\nslot.remsim4.atr = 3b9f96\n", 0, "");
	/* and /dev/zero ends at once */
	EXPECT_EQ(-E2BIG, conf_load("/dev/zero", client_conf_set, &cl, err, sizeof(err)));
	EXPECT_EQ(0, strcmp(err, "/dev/zero:1: line longer than 4096 bytes"));
}

static bool wait_log(const char *log, const char *text, int ms)
{
	int t;

	for (t = 0; t < ms / 20 && !log_contains(log, text); t++)
		usleep(20000);
	return log_contains(log, text);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ASSERT_TRUE(f != NULL);
	fputs(text, f);
	fclose(f);
}

/*
 * SIGHUP once killed remsim-client. Now it reads --config again: a new log
 * level is taken (a debug line follows), a bad file is refused and the
 * running configuration kept; SIGUSR1 logs its statistics block.
 */
TEST_TIMEOUT(sighup_reads_the_config_again_and_survives_a_bad_one, 30)
{
	char dir[] = "/tmp/remsim-client-sig-XXXXXX", conf[64], log[64], port[8];
	struct daemon d;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(conf, sizeof(conf), "%s/client.conf", dir);
	snprintf(log, sizeof(log), "%s/client.log", dir);
	snprintf(port, sizeof(port), "%d", free_port());
	write_file(conf, "log-level = info\n");
	{
		/* the USB backend runs with no board at all */
		char *argv[] = { (char *)daemon_bin("remsim-client"), "-i", "127.0.0.1", "-p",
				 port, "--backend", "usb", "--config", conf, NULL };

		ASSERT_EQ(0, daemon_start(&d, argv, log));
	}
	ASSERT_TRUE(wait_log(log, "running: server", 5000));
	kill(d.pid, SIGUSR1);
	EXPECT_TRUE(wait_log(log, "statistics (USB backend)", 5000));
	write_file(conf, "log-level = debug\nslot.remsim3.client = 40:0\n");
	kill(d.pid, SIGHUP);
	EXPECT_TRUE(wait_log(log, "SIGHUP: configuration read again (1 slot settings)", 5000));
	EXPECT_TRUE(wait_log(log, "DEBUG -: SIGHUP: server 127.0.0.1", 2000));
	write_file(conf, "log-level = loud\n");
	kill(d.pid, SIGHUP);
	EXPECT_TRUE(wait_log(log, "\"loud\" is not a level: running configuration kept", 5000));
	EXPECT_EQ(0, daemon_stop(&d, SIGTERM, 5000));
	shell("rm -rf %s", dir);
}

int main(int argc, char **argv)
{
	int ret = ktap_main(argc, argv);
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (root[strlen(root) - 1] != 'X' && system(cmd))
		ret = 1;
	return ret;
}
