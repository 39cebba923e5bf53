// SPDX-License-Identifier: GPL-2.0
/* Event scripts, run the way osmo-remsim-client runs them. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remsim/log.h"
#include "script.h"

/* libosmocore's whitelist: what a script may inherit from us. */
static const char *const keep[] = {
	"USER", "LOGNAME", "HOME", "LANG", "LC_ALL", "LC_COLLATE", "LC_CTYPE",
	"LC_MESSAGES", "LC_MONETARY", "LC_NUMERIC", "LC_TIME", "PATH", "PWD",
	"SHELL", "TERM", "TMPDIR", "LD_LIBRARY_PATH", "LD_PRELOAD", "POSIXLY_CORRECT",
	"HOSTALIASES", "TZ", "TZDIR", "TERMCAP", "COLUMNS", "LINES",
};

static void setu(const char *name, int v)
{
	char buf[16];

	/* osmo-remsim prints -1 as an unsigned number; scripts may expect it */
	snprintf(buf, sizeof(buf), "%u", (unsigned int)v);
	setenv(name, buf, 1);
}

void script_run(const char *script, const char *cause, const struct script_env *env,
		const char *who)
{
	struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	char cmd[600];
	pid_t pid;

	/* no zombies: nobody waits for scripts */
	sigaction(SIGCHLD, &sa, NULL);
	snprintf(cmd, sizeof(cmd), "%s %s", script, cause);
	LOGP(DMAIN, LOG_INFO, who, "event script: %s", cause);
	pid = fork();
	if (pid < 0) {
		LOGP(DMAIN, LOG_ERROR, who, "event script: fork: %s", strerror(errno));
		return;
	}
	if (pid)
		return;
	{
		char *saved[sizeof(keep) / sizeof(keep[0])];
		unsigned int i;
		int fd;

		for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			const char *v = getenv(keep[i]);

			saved[i] = v ? strdup(v) : NULL;
		}
		clearenv();
		for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (saved[i])
				setenv(keep[i], saved[i], 1);
		setenv("REMSIM_CLIENT_VERSION", REMSIM_VERSION, 1);
		setenv("REMSIM_SERVER_ADDR", env->server_addr, 1);
		setenv("REMSIM_SERVER_STATE", env->server_state, 1);
		setenv("REMSIM_BANKD_ADDR", env->bankd_addr, 1);
		setenv("REMSIM_BANKD_STATE", env->bankd_state, 1);
		setenv("REMSIM_CLIENT_SLOT", env->client_slot, 1);
		setenv("REMSIM_BANKD_SLOT", env->bankd_slot, 1);
		setu("REMSIM_SIM_VCC", env->vcc);
		setu("REMSIM_SIM_RST", env->rst);
		setu("REMSIM_SIM_CLK", env->clk);
		setenv("REMSIM_CAUSE", cause, 1);
		if (env->usb_interface >= 0) {
			setenv("REMSIM_USB_PATH", env->usb_path, 1);
			setu("REMSIM_USB_INTERFACE", env->usb_interface);
		}
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
}
