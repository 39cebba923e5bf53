// SPDX-License-Identifier: GPL-2.0
/*
 * kmod.c - see kmod.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kmod.h"

/* Dependants before what they depend on. */
static const char *const remsim_modules[] = { "remsim_sim", "remsim" };

int kmod_loaded(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return stat(path, &st) == 0;
}

int kmod_load(const char *name, const char *params)
{
	struct utsname u;
	char path[512];
	int fd, ret = 0;

	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/%s.ko", u.release, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params ? params : "", 0))
		ret = -errno;
	close(fd);
	return ret;
}

int kmod_unload(const char *name)
{
	if (syscall(SYS_delete_module, name, O_NONBLOCK))
		return -errno;
	return 0;
}

int kmod_unload_all(void)
{
	for (unsigned int i = 0; i < sizeof(remsim_modules) / sizeof(remsim_modules[0]); i++) {
		int ret = kmod_unload(remsim_modules[i]);

		if (ret && ret != -ENOENT)
			return ret;
	}
	return 0;
}
