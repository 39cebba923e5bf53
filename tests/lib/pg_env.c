// SPDX-License-Identifier: GPL-2.0
/* A private PostgreSQL on a Unix socket in a temporary directory. */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ktap.h"
#include "pg_env.h"

#define PG_BIN	"/usr/lib/postgresql/15/bin"

bool pg_env_fsync;

/*
 * PostgreSQL will not run as root: then the cluster's files belong to
 * "nobody" and its programs run as that user (setpriv, util-linux).
 */
static const char *as_user(void)
{
	return geteuid() ? "" : "setpriv --reuid=nobody --regid=nogroup --clear-groups ";
}

int pg_env_start(struct pg_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/remsim-pg-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->log, sizeof(e->log), "%s/commands.log", e->dir);
	if (!geteuid() && shell("chown nobody:nogroup %s", e->dir))
		return -1;
	/* trust on the socket only: it is in a private directory */
	if (shell("%s" PG_BIN "/initdb -D %s/data -U remsim -A trust --no-sync >%s 2>&1",
		  as_user(), e->dir, e->log)) {
		fprintf(stderr, "# initdb failed, see %s\n", e->log);
		return -1;
	}
	e->up = true;
	return pg_env_restart(e);
}

int pg_env_restart(struct pg_env *e)
{
	/* -w: back when it accepts connections; timeout bounds a stuck start */
	if (shell("%s" PG_BIN "/pg_ctl -D %s/data -l %s/server.log -w -t 30 -m fast"
		  " -o \"-k %s -c listen_addresses='' -c fsync=%s -c max_connections=50\""
		  " restart >>%s 2>&1", as_user(), e->dir, e->dir, e->dir,
		  pg_env_fsync ? "on" : "off", e->log)) {
		fprintf(stderr, "# pg_ctl restart failed, see %s\n", e->log);
		return -1;
	}
	return 0;
}

void pg_env_stop(struct pg_env *e)
{
	if (!e->dir[0])
		return;
	if (e->up)
		shell("%s" PG_BIN "/pg_ctl -D %s/data -w -t 30 -m immediate stop >>%s 2>&1",
		      as_user(), e->dir, e->log);
	e->up = false;
	shell("rm -rf %s", e->dir);
	e->dir[0] = 0;
}

/* The postmaster's pid, from its pid file; or -1. */
static pid_t postmaster(const struct pg_env *e)
{
	char path[100];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "%s/data/postmaster.pid", e->dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

/* Sends @sig to the children of @parent (its backends and workers). */
static void signal_children(pid_t parent, int sig)
{
	char path[300];
	struct dirent *de;
	DIR *d = opendir("/proc");
	int pid, ppid;
	FILE *f;

	while (d && (de = readdir(d))) {
		pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* pid (comm) state ppid: comm may hold spaces, not ')' of ours */
		if (fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) == 1 && ppid == parent)
			kill(pid, sig);
		fclose(f);
	}
	if (d)
		closedir(d);
}

int pg_env_freeze(struct pg_env *e, bool frozen)
{
	pid_t pm = postmaster(e);

	if (pm <= 0)
		return -1;
	/* the postmaster first on the way down: it starts no new backend */
	if (frozen && kill(pm, SIGSTOP))
		return -1;
	signal_children(pm, frozen ? SIGSTOP : SIGCONT);
	if (!frozen && kill(pm, SIGCONT))
		return -1;
	return 0;
}

const char *pg_env_conninfo(const struct pg_env *e, const char *name, char *out, size_t len)
{
	snprintf(out, len, "host=%s user=remsim dbname=%s", e->dir, name);
	return out;
}

int pg_env_createdb(struct pg_env *e, const char *name)
{
	char sql[200];

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	return pg_env_sql(e, "postgres", sql);
}

int pg_env_sql(const struct pg_env *e, const char *name, const char *sql)
{
	return shell("psql -X -q -v ON_ERROR_STOP=1 -h %s -U remsim -d %s -c \"%s\" >>%s 2>&1",
		     e->dir, name, sql, e->log);
}

const char *pg_env_text(const struct pg_env *e, const char *name, const char *query,
			char *out, size_t len)
{
	char cmd[1024];
	FILE *f;
	size_t n;

	out[0] = 0;
	snprintf(cmd, sizeof(cmd), "psql -X -tAq -h %s -U remsim -d %s -c \"%s\" 2>>%s",
		 e->dir, name, query, e->log);
	f = popen(cmd, "r");
	if (!f)
		return out;
	if (!fgets(out, len, f))
		out[0] = 0;
	pclose(f);
	n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = 0;
	return out;
}

long long pg_env_int(const struct pg_env *e, const char *name, const char *query)
{
	char text[64], *end;
	long long v;

	pg_env_text(e, name, query, text, sizeof(text));
	v = strtoll(text, &end, 10);
	return end == text ? -1 : v;
}

int pg_env_ktap_main(struct pg_env *e, int argc, char **argv, char *dir,
		     void (*after_each)(void))
{
	int ret;

	signal(SIGPIPE, SIG_IGN);
	ktap_after_each(after_each);
	pg_env_start(e);
	ret = ktap_main_in_dir(argc, argv, dir);
	pg_env_stop(e);
	return ret;
}
