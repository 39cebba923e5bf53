// SPDX-License-Identifier: GPL-2.0
/*
 * board.c - see board.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/usbdevice_fs.h>

#include "board.h"
#include "gadget.h"
#include "modem.h"
#include "remsim/nl.h"
#include "slotdev.h"

#define WAIT_MS	15000

static int gadget_env(unsigned int udcs)
{
	char cmd[128];
	struct stat st;

	snprintf(cmd, sizeof(cmd), "modprobe -q dummy_hcd num=%u && modprobe -q usb_f_fs", udcs);
	if (system(cmd))
		return -ENOENT;
	if (stat("/sys/kernel/config/usb_gadget", &st) &&
	    system("mount -t configfs none /sys/kernel/config"))
		return -ENOENT;
	return 0;
}

int board_env(unsigned int udcs)
{
	int ret = slot_modules_load();

	return ret ? ret : gadget_env(udcs);
}

struct usb_slots {
	unsigned int	n;
	unsigned int	index[64];
	unsigned int	interface[64];
};

static int collect_usb(const struct rsnl_slot *s, void *arg)
{
	struct usb_slots *u = arg;

	if (s->backend == REMSIM_BACKEND_USB && u->n < 64) {
		u->index[u->n] = s->index;
		u->interface[u->n] = s->interface;
		u->n++;
	}
	return 0;
}

static int usb_slots(struct usb_slots *u)
{
	struct rsnl *nl;
	int ret;

	memset(u, 0, sizeof(*u));
	ret = rsnl_open(&nl);
	if (ret)
		return ret;
	ret = rsnl_slot_dump(nl, collect_usb, u, NULL);
	rsnl_close(nl);
	return ret;
}

static bool listed(const struct usb_slots *u, unsigned int index)
{
	for (unsigned int i = 0; i < u->n; i++)
		if (u->index[i] == index)
			return true;
	return false;
}

/* Waits until the driver configured the board (status IRQs, remote SIM). */
static int wait_configured(struct test_board *b)
{
	char reply[128];

	for (int waited = 0; waited < WAIT_MS; waited += 10) {
		if (!board_cmd(b, "status", reply, sizeof(reply)) && strstr(reply, "ready=1"))
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Waits for b->slots USB slots that were not in before; sorted by interface. */
static int wait_new_slots(struct test_board *b, const struct usb_slots *before)
{
	for (int waited = 0; waited < WAIT_MS; waited += 20) {
		struct usb_slots now;
		unsigned int found = 0;

		if (!usb_slots(&now)) {
			for (unsigned int i = 0; i < now.n && found < b->slots; i++) {
				if (!listed(before, now.index[i]) && now.interface[i] < b->slots) {
					b->index[now.interface[i]] = now.index[i];
					found++;
				}
			}
			if (found == b->slots)
				return wait_configured(b);
		}
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static int connect_ctl(struct test_board *b)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", b->ctl);
	for (int waited = 0; waited < WAIT_MS; waited += 20) {
		b->ctl_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (b->ctl_fd >= 0 && !connect(b->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)))
			return 0;
		close(b->ctl_fd);
		b->ctl_fd = -1;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

/* Starts the board program; the caller waits for what it needs. */
static int start_process(struct test_board *b, const char *product, unsigned int udc)
{
	char exe[512], board[600], name[32], udc_name[32];
	ssize_t n;

	/* The board program: build/tests/board/, from the tests or the benchmarks. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = 0;
	snprintf(board, sizeof(board), "%s/../board/st2board", dirname(exe));
	if (access(board, X_OK))
		snprintf(board, sizeof(board), "%s/../tests/board/st2board", exe);
	snprintf(name, sizeof(name), "b%d_%u", getpid(), udc);
	snprintf(udc_name, sizeof(udc_name), "dummy_udc.%u", udc);
	snprintf(b->ctl, sizeof(b->ctl), "/run/remsim-%s.ctl", name);
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (!b->pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(board, board, "--product", product, "--name", name, "--udc", udc_name,
		      "--ctl", b->ctl, (char *)NULL);
		_exit(127);
	}
	return connect_ctl(b);
}

static void board_init(struct test_board *b, const char *product)
{
	memset(b, 0, sizeof(*b));
	b->ctl_fd = -1;
	b->slots = !strcmp(product, "qmod") || !strcmp(product, "owhw") ? 2 : 1;
}

int board_start(struct test_board *b, const char *product, unsigned int udc)
{
	struct usb_slots before;
	int ret;

	board_init(b, product);
	ret = board_env(udc + 1);
	if (ret)
		return ret;
	ret = usb_slots(&before);
	if (ret)
		return ret;
	ret = start_process(b, product, udc);
	if (!ret)
		ret = wait_new_slots(b, &before);
	if (ret)
		board_stop(b);
	return ret;
}

/* The port path ("1-1") of the SIMtrace2-family device plugged in, or "". */
static void find_device(char *path, size_t size)
{
	glob_t g;

	path[0] = 0;
	if (glob("/sys/bus/usb/devices/*/idVendor", 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char id[16] = "";
		FILE *f = fopen(g.gl_pathv[i], "r");

		if (!f)
			continue;
		if (fgets(id, sizeof(id), f) && !strncmp(id, "1d50", 4)) {
			char *dir = dirname(g.gl_pathv[i]);

			snprintf(path, size, "%s", strrchr(dir, '/') + 1);
		}
		fclose(f);
	}
	globfree(&g);
}

static int wait_device(bool present, char *path, size_t size)
{
	for (int waited = 0; waited < WAIT_MS; waited += 20) {
		find_device(path, size);
		if (!!path[0] == present)
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

int board_start_bare(struct test_board *b, const char *product, unsigned int udc, char *path,
		     size_t size)
{
	int ret;

	board_init(b, product);
	b->bare = true;
	ret = gadget_env(udc + 1);
	if (!ret)
		ret = start_process(b, product, udc);
	if (!ret)
		ret = wait_device(true, path, size);
	if (ret)
		board_stop(b);
	return ret;
}

void board_stop(struct test_board *b)
{
	char reply[64];

	if (b->pid <= 0)
		return;
	if (board_cmd(b, "quit", reply, sizeof(reply)))
		kill(b->pid, SIGKILL);
	/* Two seconds to take its gadget down, then no more. */
	for (int waited = 0; waitpid(b->pid, NULL, WNOHANG) == 0; waited += 10) {
		if (waited == 2000) {
			kill(b->pid, SIGKILL);
			waitpid(b->pid, NULL, 0);
			gadget_cleanup_all("b");
			break;
		}
		usleep(10000);
	}
	b->pid = 0;
	close(b->ctl_fd);
	b->ctl_fd = -1;
}

int board_cmd(struct test_board *b, const char *cmd, char *reply, size_t size)
{
	ssize_t n;

	if (send(b->ctl_fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0)
		return -errno;
	n = recv(b->ctl_fd, reply, size - 1, 0);
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	reply[n] = 0;
	return strncmp(reply, "ok", 2) ? -EIO : 0;
}

int board_unplug(struct test_board *b)
{
	char reply[64];
	int ret = board_cmd(b, "unplug", reply, sizeof(reply));

	if (ret)
		return ret;
	if (b->bare) {
		char path[32];

		return wait_device(false, path, sizeof(path));
	}
	for (int waited = 0; waited < WAIT_MS; waited += 10) {
		struct usb_slots now;
		bool gone = true;

		if (usb_slots(&now))
			continue;
		for (unsigned int i = 0; i < b->slots; i++)
			gone &= !listed(&now, b->index[i]);
		if (gone)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int board_plug(struct test_board *b)
{
	struct usb_slots before;
	char reply[64], path[32];
	int ret;

	if (b->bare) {
		ret = board_cmd(b, "plug", reply, sizeof(reply));
		return ret ? ret : wait_device(true, path, sizeof(path));
	}
	ret = usb_slots(&before);
	if (!ret)
		ret = board_cmd(b, "plug", reply, sizeof(reply));
	return ret ? ret : wait_new_slots(b, &before);
}

int board_wait_ready(struct test_board *b)
{
	return wait_configured(b);
}

int board_usb_sysfs(char *path, size_t size)
{
	char port[64];

	find_device(port, sizeof(port));
	if (!port[0])
		return -ENODEV;
	snprintf(path, size, "/sys/bus/usb/devices/%s", port);
	return 0;
}

static int read_uint(const char *dir, const char *name, unsigned int *v)
{
	char path[160];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ret = fscanf(f, "%u", v) == 1 ? 0 : -EINVAL;
	fclose(f);
	return ret;
}

int board_usb_reset(void)
{
	unsigned int bus, dev;
	char dir[96], node[64];
	int fd, ret;

	ret = board_usb_sysfs(dir, sizeof(dir));
	if (!ret)
		ret = read_uint(dir, "busnum", &bus);
	if (!ret)
		ret = read_uint(dir, "devnum", &dev);
	if (ret)
		return ret;
	snprintf(node, sizeof(node), "/dev/bus/usb/%03u/%03u", bus, dev);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, USBDEVFS_RESET, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int driver_op(const char *op, const char *port, unsigned int n)
{
	char path[64], intf[96];

	snprintf(path, sizeof(path), "/sys/bus/usb/drivers/remsim/%s", op);
	snprintf(intf, sizeof(intf), "%s:1.%u", port, n);
	return write_file(path, intf);
}

int board_rebind(struct test_board *b)
{
	struct usb_slots before;
	char port[64];
	int ret = 0;

	find_device(port, sizeof(port));
	if (!port[0])
		return -ENODEV;
	for (unsigned int i = 0; i < b->slots && !ret; i++)
		ret = driver_op("unbind", port, i);
	/* Unbound: the slots are gone, their indexes may come back. */
	if (!ret)
		ret = usb_slots(&before);
	for (unsigned int i = 0; i < b->slots && !ret; i++)
		ret = driver_op("bind", port, i);
	return ret ? ret : wait_new_slots(b, &before);
}

void board_cleanup_all(void)
{
	/* Fails when none was running, which is fine. */
	if (system("pkill -KILL -x st2board 2>/dev/null") == 0)
		usleep(100000);
	gadget_cleanup_all("b");
}

int board_modem(struct test_board *b, unsigned int n, struct modem **m)
{
	char path[160];

	snprintf(path, sizeof(path), "%s.modem%u", b->ctl, n);
	return modem_open_socket(m, path);
}
