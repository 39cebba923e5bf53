// SPDX-License-Identifier: GPL-2.0
/*
 * Card state on disk: PIN counters, the SQN history, updated files. Written
 * after every command that changed it, to a temporary file that is synced
 * and renamed over the old one, so a crash leaves the old or the new state,
 * never half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remsim/log.h"
#include "softsimd.h"

static void state_path(const struct vcard *v, char *buf, size_t size, const char *suffix)
{
	snprintf(buf, size, "%s/card%u.state%s", v->ss->state_dir, v->idx, suffix);
}

void softsim_save_state(struct vcard *v)
{
	size_t len = card_state_size(v->card);
	char path[300], tmp[310];
	uint8_t *blob;
	int fd;

	if (!v->ss->state_dir[0])
		return;
	blob = malloc(len);
	if (!blob)
		return;
	card_state_save(v->card, blob);
	if (v->state && v->state_len == len && !memcmp(v->state, blob, len)) {
		free(blob);
		return;
	}
	state_path(v, path, sizeof(path), "");
	state_path(v, tmp, sizeof(tmp), ".tmp");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, blob, len) != (ssize_t)len || fsync(fd) ||
	    rename(tmp, path)) {
		LOGP(DMAIN, LOG_ERROR, v->name, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(blob);
		return;
	}
	close(fd);
	free(v->state);
	v->state = blob;
	v->state_len = len;
}

static int state_file_check(int fd, size_t len)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	/* a FIFO or a device is no state of ours, nor a file of another size */
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size != len)
		return -EINVAL;
	return 0;
}

/*
 * Loads the saved state if there is one; -EINVAL for a foreign file. The
 * card knows its state's size: a file of any other size is foreign, and
 * is refused before anything is read or allocated.
 */
int softsim_load_state(struct vcard *v)
{
	size_t len = card_state_size(v->card);
	char path[300];
	uint8_t *blob;
	int fd, ret;

	if (!v->ss->state_dir[0])
		return 0;
	state_path(v, path, sizeof(path), "");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = state_file_check(fd, len);
	blob = ret ? NULL : malloc(len);
	if (!ret && (!blob || read(fd, blob, len) != (ssize_t)len))
		ret = -EIO;
	close(fd);
	if (ret) {
		free(blob);
		return ret;
	}
	ret = card_state_load(v->card, blob, len);
	if (ret) {
		free(blob);
		return ret;
	}
	v->state = blob;
	v->state_len = len;
	return 0;
}
