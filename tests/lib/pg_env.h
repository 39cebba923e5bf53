/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A private PostgreSQL for tests: Debian's postgresql-15 initdb'd in a
 * temporary directory and listening only on a Unix socket there, run as an
 * unprivileged user (PostgreSQL refuses root: under root, as "nobody").
 * Nothing of the machine's own PostgreSQL is used or touched.
 */
#ifndef TESTS_PG_ENV_H
#define TESTS_PG_ENV_H

#include <stdbool.h>
#include <stddef.h>

struct pg_env {
	char dir[64];		/* the data directory, socket and log are in here */
	char log[100];
	bool up;
};

/*
 * Tests run without fsync (they kill servers, never the machine); a
 * benchmark comparing with SQLite's synchronous=FULL sets this first.
 */
extern bool pg_env_fsync;

/* initdb and start; 0, or -1 with the reason on stderr and in e->log. */
int pg_env_start(struct pg_env *e);
/* Stops the server (fast: sessions are cut) and removes its directory. */
void pg_env_stop(struct pg_env *e);
/* Restarts the server on the same data: every session is cut, no data lost. */
int pg_env_restart(struct pg_env *e);
/*
 * Freezes (SIGSTOP) or thaws (SIGCONT) the server and its backends, by
 * their pids: a database host that stopped answering while the kernel
 * still takes connections and data. 0 or -1.
 */
int pg_env_freeze(struct pg_env *e, bool frozen);
/* Creates database @name; 0 or -1. */
int pg_env_createdb(struct pg_env *e, const char *name);
/* The libpq connection string of database @name, in @out. */
const char *pg_env_conninfo(const struct pg_env *e, const char *name, char *out, size_t len);
/* Runs @sql on database @name with psql; 0 or psql's status. */
int pg_env_sql(const struct pg_env *e, const char *name, const char *sql);
/* The first column of the first row of @query on @name, as an integer; or -1. */
long long pg_env_int(const struct pg_env *e, const char *name, const char *query);
/* The same as text in @out ("" if none). */
const char *pg_env_text(const struct pg_env *e, const char *name, const char *query,
			char *out, size_t len);
/*
 * main() of a test program with PostgreSQL cases: SIGPIPE ignored,
 * @after_each registered, @e started around ktap_main_in_dir(@dir). A
 * PostgreSQL that does not start fails only the cases that need it.
 */
int pg_env_ktap_main(struct pg_env *e, int argc, char **argv, char *dir,
		     void (*after_each)(void));

#endif
