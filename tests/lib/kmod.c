// SPDX-License-Identifier: GPL-2.0
/*
 * kmod.c - see kmod.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

static int load_path(const char *path, const char *params)
{
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params ? params : "", 0))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * The modules NAME needs (usbcore for remsim), from modules.dep, loaded
 * first; the last listed is the first to load.
 */
static int load_dependencies(const char *dir, const char *name)
{
	char want[128], line[4096], path[512];
	char *deps[32];
	int n = 0, ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	snprintf(want, sizeof(want), "extra/%s.ko:", name);
	while (fgets(line, sizeof(line), f)) {
		char *tok, *save;

		if (strncmp(line, want, strlen(want)))
			continue;
		for (tok = strtok_r(line + strlen(want), " \n", &save); tok && n < 32;
		     tok = strtok_r(NULL, " \n", &save))
			deps[n++] = tok;
		break;
	}
	while (n-- > 0 && !ret) {
		snprintf(path, sizeof(path), "%s/%s", dir, deps[n]);
		ret = load_path(path, "");
		if (ret == -EEXIST)
			ret = 0;
	}
	fclose(f);
	return ret;
}

int kmod_load(const char *name, const char *params)
{
	struct utsname u;
	char dir[256], path[512];
	int ret;

	uname(&u);
	snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
	ret = load_dependencies(dir, name);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/extra/%s.ko", dir, name);
	return load_path(path, params);
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
