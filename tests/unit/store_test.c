// SPDX-License-Identifier: GPL-2.0
/*
 * store_test - remsim-server's database on its second day: files of the
 * schemas before versions (tests/unit/fixtures) brought to the current
 * version with their maps, tokens and audit lines; a file of a newer
 * version refused and left alone; a second server on the same database
 * refused, naming the first one's pid; the database's directory made when
 * only it is missing, exact advice when more is; `remsim-server backup`
 * while the server writes, each copy complete and consistent; one default
 * database path in the binary, the unit, the man page and the docs.
 * The same on PostgreSQL (the pg_ cases) where it applies: schema made,
 * migrated and refused when newer, maps, tokens and audit kept across a
 * restart, an unreachable database explained without its password, backup
 * sent to pg_dump; on a PostgreSQL this test starts in a temporary
 * directory (tests/lib/pg_env.c).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "ktap.h"
#include "pg_env.h"

/* the schema version this release writes (STORE_SCHEMA_VERSION) */
#define SCHEMA_VERSION	2
/* the one default, as the binary's --help must say it */
#define DEFAULT_DB	"/var/lib/remsim-server/slotmaps.db"

static char dir[] = "/tmp/remsim-store-test-XXXXXX";
/* started once for every test, in main() */
static struct pg_env pg;
static char body[65536];

struct srv {
	struct daemon d;
	int rest, rspro;
	char db[400], log[300];
};

/* The source tree: the test runs as SRC/build/tests/unit/NAME. */
static const char *src_dir(void)
{
	static char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *build;

	if (n <= 0)
		return ".";
	self[n] = 0;
	build = strstr(self, "/build/");
	if (build)
		*build = 0;
	return self;
}

/* Starts the server on s->db; it is up when REST answers. */
static void srv_start(struct srv *s, const char *name)
{
	char rspro[8], rest[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", s->db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rspro, "--rest-bind", "127.0.0.1",
			 "--rest-port", rest, "-e", "debug", NULL };

	s->rspro = free_port();
	s->rest = free_port();
	snprintf(rspro, sizeof(rspro), "%d", s->rspro);
	snprintf(rest, sizeof(rest), "%d", s->rest);
	snprintf(s->log, sizeof(s->log), "%s/%s.log", dir, name);
	ASSERT_EQ(0, daemon_start(&s->d, argv, s->log));
	if (!wait_port(s->rest, 10000)) {
		TH_LOG("the server did not come up; see %s", s->log);
		ASSERT_TRUE(false);
	}
}

static void srv_stop(struct srv *s)
{
	int status = daemon_stop(&s->d, SIGTERM, 10000);

	if (status)
		TH_LOG("server exit status %d; see %s", status, s->log);
	EXPECT_EQ(0, status);
}

static struct srv A, B;

static void after_each(void)
{
	if (A.d.pid)
		daemon_stop(&A.d, SIGKILL, 1000);
	if (B.d.pid)
		daemon_stop(&B.d, SIGKILL, 1000);
}

static void expect_log(const char *log, const char *want)
{
	if (!log_contains(log, want))
		TH_LOG("%s: want \"%s\"", log, want);
	EXPECT_TRUE(log_contains(log, want));
}

/* Runs @sql on the database @path: 0 or SQLite's code. */
static int sql(const char *path, const char *text)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, text, NULL, NULL, NULL);
	if (rc)
		TH_LOG("%s: %s", path, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc;
}

/* One integer a query of @path answers, or -1. */
static long long sql_int(const char *path, const char *query)
{
	sqlite3_stmt *q;
	sqlite3 *db;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db, query, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	return v;
}

/* The text a query of @path answers, in @out ("" if none). */
static const char *sql_text(const char *path, const char *query, char *out, size_t len)
{
	sqlite3_stmt *q;
	sqlite3 *db;

	out[0] = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return out;
	}
	if (sqlite3_prepare_v2(db, query, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
			snprintf(out, len, "%s", (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	return out;
}

/* A file as a server from before versions left it: @fixture's schema, rows. */
static void make_old_db(const char *path, const char *fixture, bool auth)
{
	ASSERT_EQ(0, shell("sqlite3 %s <%s/tests/unit/fixtures/%s", path, src_dir(), fixture));
	ASSERT_EQ(0, sql(path,
			 "PRAGMA journal_mode=WAL;"
			 "INSERT INTO meta VALUES ('restart_counter', 5);"
			 "INSERT INTO slotmaps VALUES (1, 0, 20, 0, 0);"
			 "INSERT INTO slotmaps VALUES (1, 1, 21, 0, 0);"
			 "INSERT INTO slotmaps VALUES (1, 2, 22, 0, 1);"));
	if (auth)
		ASSERT_EQ(0, sql(path,
				 "INSERT INTO tokens VALUES ('ops', 'admin', zeroblob(32), 1, NULL);"
				 "INSERT INTO audit (time_us, time, caller, action) VALUES"
				 " (1, '1970-01-01T00:00:00Z', 'test', 'POST /slotmaps');"));
	ASSERT_EQ(0, sql_int(path, "PRAGMA user_version"));
}

static const char *get(int port, const char *what)
{
	char path[100];

	snprintf(path, sizeof(path), "/api/backend/v1/%s", what);
	if (http_json(port, "GET", path, NULL, body, sizeof(body)) != 200)
		return "";
	return body;
}

/* Today's server on a file of @fixture: the data survives, the version is ours. */
static void migrate_from(const char *fixture, bool auth)
{
	static const char maps[] =
		"{\"slotmaps\":[{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":20,"
		"\"slotNr\":0},\"state\":\"NEW\"},{\"bank\":{\"bankId\":1,\"slotNr\":1},\"client\":"
		"{\"clientId\":21,\"slotNr\":0},\"state\":\"NEW\"}]}";
	snprintf(A.db, sizeof(A.db), "%s/%s.db", dir, fixture);
	make_old_db(A.db, fixture, auth);
	srv_start(&A, "migrate");
	expect_log(A.log, "schema version 0 upgraded to 2");
	EXPECT_EQ(0, strcmp(get(A.rest, "slotmaps"), maps));
	EXPECT_EQ(0, strcmp(get(A.rest, "restart-counter"), "{\"restart_counter\":6}"));
	srv_stop(&A);
	EXPECT_EQ(SCHEMA_VERSION, sql_int(A.db, "PRAGMA user_version"));
	/* the pending removal, the token and the audit line are all there */
	EXPECT_EQ(1, sql_int(A.db, "SELECT count(*) FROM slotmaps WHERE deleting = 1"));
	EXPECT_EQ(auth ? 1 : 0, sql_int(A.db, "SELECT count(*) FROM tokens WHERE name = 'ops'"));
	EXPECT_EQ(auth ? 1 : 0, sql_int(A.db, "SELECT count(*) FROM audit WHERE caller = 'test'"));
	/* the tables of the versions since are usable */
	EXPECT_EQ(0, sql(A.db, "INSERT INTO tokens VALUES ('new', 'read', randomblob(32), 2, NULL)"));
	/* a second start has nothing to upgrade */
	srv_start(&A, "migrate-again");
	EXPECT_FALSE(log_contains(A.log, "upgraded"));
	EXPECT_EQ(0, strcmp(get(A.rest, "slotmaps"), maps));
	srv_stop(&A);
}

TEST(todays_schema_is_migrated_with_its_data)
{
	migrate_from("server-schema-0.sql", true);
}

TEST(schema_from_before_rest_auth_is_migrated)
{
	migrate_from("server-schema-0-maps.sql", false);
}

/*
 * Version 1 (before the racks): brought to 2 with its maps; the pools
 * and the history of version 2 work on it and stay.
 */
TEST(schema_1_is_migrated_to_2)
{
	static const char pool[] = "{\"tags\":[\"mccmnc:26202\"]}";
	static const char map[] = "{\"bank\":{\"bankId\":2,\"slotNr\":0},"
				  "\"client\":{\"clientId\":7,\"slotNr\":0}}";

	snprintf(A.db, sizeof(A.db), "%s/v1.db", dir);
	make_old_db(A.db, "server-schema-0.sql", true);
	ASSERT_EQ(0, sql(A.db, "PRAGMA user_version = 1"));
	srv_start(&A, "v1");
	expect_log(A.log, "schema version 1 upgraded to 2");
	EXPECT_EQ(200, http_json(A.rest, "PUT", "/api/backend/v1/pools/de", pool, body,
				 sizeof(body)));
	EXPECT_EQ(201, http_json(A.rest, "POST", "/api/backend/v1/slotmaps", map, body,
				 sizeof(body)));
	srv_stop(&A);
	EXPECT_EQ(SCHEMA_VERSION, sql_int(A.db, "PRAGMA user_version"));
	EXPECT_EQ(4, sql_int(A.db, "SELECT count(*) FROM slotmaps"));
	EXPECT_EQ(1, sql_int(A.db, "SELECT count(*) FROM records WHERE kind = 'pool'"));
	EXPECT_EQ(1, sql_int(A.db, "SELECT count(*) FROM history WHERE event = 'map'"));
}

TEST(a_new_database_has_the_current_version)
{
	snprintf(A.db, sizeof(A.db), "%s/new.db", dir);
	srv_start(&A, "new");
	expect_log(A.log, "created, schema version 2");
	srv_stop(&A);
	EXPECT_EQ(SCHEMA_VERSION, sql_int(A.db, "PRAGMA user_version"));
}

/* A newer server's file: refused with both versions, not written to. */
TEST(a_database_of_a_newer_version_is_refused)
{
	struct stat before, after;
	char want[2400];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", A.db, "--rest-port", "0",
			 "--rspro-port", "0", NULL };

	snprintf(A.db, sizeof(A.db), "%s/newer.db", dir);
	snprintf(A.log, sizeof(A.log), "%s/newer.log", dir);
	make_old_db(A.db, "server-schema-0.sql", true);
	ASSERT_EQ(0, sql(A.db, "PRAGMA user_version = 99"));
	ASSERT_EQ(0, stat(A.db, &before));
	ASSERT_EQ(0, daemon_start(&A.d, argv, A.log));
	EXPECT_EQ(1, daemon_wait(&A.d, 10000));
	snprintf(want, sizeof(want),
		 "database %s: schema version 99 is newer than this remsim-server's (%d)", A.db,
		 SCHEMA_VERSION);
	expect_log(A.log, want);
	expect_log(A.log, "restore a backup made before the upgrade");
	ASSERT_EQ(0, stat(A.db, &after));
	EXPECT_EQ(before.st_size, after.st_size);
	EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	EXPECT_EQ(99, sql_int(A.db, "PRAGMA user_version"));
	EXPECT_EQ(5, sql_int(A.db, "SELECT value FROM meta WHERE key = 'restart_counter'"));
}

/*
 * Two servers on one database would each push their own maps: the second
 * is refused with the first one's pid, also when it names the file through
 * a symlinked directory; once the first is gone, it starts.
 */
TEST_TIMEOUT(a_second_server_on_the_same_database_is_refused, 60)
{
	char want[2400], link[200];

	snprintf(A.db, sizeof(A.db), "%s/shared.db", dir);
	srv_start(&A, "first");
	ASSERT_EQ(201, http_json(A.rest, "POST", "/api/backend/v1/slotmaps",
				 "{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":7,"
				 "\"slotNr\":0}}", body, sizeof(body)));
	snprintf(B.db, sizeof(B.db), "%s", A.db);
	snprintf(B.log, sizeof(B.log), "%s/second.log", dir);
	{
		char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", B.db,
				 "--rest-port", "0", "--rspro-port", "0", NULL };

		ASSERT_EQ(0, daemon_start(&B.d, argv, B.log));
		EXPECT_EQ(1, daemon_wait(&B.d, 10000));
		snprintf(want, sizeof(want),
			 "database %s: in use by another remsim-server (pid %d holds %s-lock)",
			 A.db, (int)A.d.pid, A.db);
		expect_log(B.log, want);
		/* another name for the same file */
		snprintf(link, sizeof(link), "%s/link", dir);
		ASSERT_EQ(0, symlink(dir, link));
		snprintf(B.db, sizeof(B.db), "%s/shared.db", link);
		ASSERT_EQ(0, daemon_start(&B.d, argv, B.log));
		EXPECT_EQ(1, daemon_wait(&B.d, 10000));
		snprintf(want, sizeof(want), "in use by another remsim-server (pid %d",
			 (int)A.d.pid);
		expect_log(B.log, want);
	}
	/* the first one did not notice */
	EXPECT_TRUE(strstr(get(A.rest, "slotmaps"), "\"clientId\":7") != NULL);
	EXPECT_EQ(1, sql_int(A.db, "SELECT value FROM meta WHERE key = 'restart_counter'"));
	/* killed hard: the kernel drops the lock, the file left behind does not block */
	EXPECT_EQ(128 + SIGKILL, daemon_stop(&A.d, SIGKILL, 1000));
	snprintf(B.db, sizeof(B.db), "%s", A.db);
	srv_start(&B, "second-later");
	EXPECT_TRUE(strstr(get(B.rest, "slotmaps"), "\"clientId\":7") != NULL);
	srv_stop(&B);
}

/*
 * A server started by hand: the database's directory is made when its
 * parent exists; when the parent is missing too, the message says what
 * to run.
 */
TEST(the_database_directory_is_made_or_explained)
{
	struct stat sb;
	char sub[200], want[1000];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", A.db, "--rest-port", "0",
			 "--rspro-port", "0", NULL };

	snprintf(sub, sizeof(sub), "%s/state", dir);
	snprintf(A.db, sizeof(A.db), "%s/slotmaps.db", sub);
	srv_start(&A, "mkdir");
	ASSERT_EQ(0, stat(sub, &sb));
	EXPECT_TRUE(S_ISDIR(sb.st_mode));
	EXPECT_EQ(0750, sb.st_mode & 0777);
	expect_log(A.log, "created the database's directory");
	srv_stop(&A);
	/* two levels missing: not made, said what to do */
	snprintf(A.db, sizeof(A.db), "%s/no/such/slotmaps.db", dir);
	snprintf(A.log, sizeof(A.log), "%s/nodir.log", dir);
	ASSERT_EQ(0, daemon_start(&A.d, argv, A.log));
	EXPECT_EQ(1, daemon_wait(&A.d, 10000));
	snprintf(want, sizeof(want),
		 "directory %s/no/such does not exist, nor does %s/no: create it (install -d -m 0750 %s/no/such",
		 dir, dir, dir);
	expect_log(A.log, want);
	snprintf(sub, sizeof(sub), "%s/no", dir);
	EXPECT_NE(0, stat(sub, &sb));
}

struct writer {
	pthread_t thread;
	int port, n, failed;
	volatile bool stop;
};

/* POSTs maps 1:i -> (100 + i):0 one after the other until told to stop. */
static void *writer_run(void *arg)
{
	struct writer *w = arg;
	char json[200], resp[1024];
	sigset_t all;
	int st;

	/* the backups' SIGCHLD goes to the main thread, not into our recv() */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* client ids 100..999 */
	while (!w->stop && w->n < 900) {
		snprintf(json, sizeof(json),
			 "{\"bank\":{\"bankId\":1,\"slotNr\":%d},\"client\":{\"clientId\":%d,\"slotNr\":0}}",
			 w->n, 100 + w->n);
		st = http_json(w->port, "POST", "/api/backend/v1/slotmaps", json, resp,
			       sizeof(resp));
		if (st != 201 && !w->failed++)
			fprintf(stderr, "# map %d: %d %s\n", w->n, st, resp);
		w->n++;
	}
	return NULL;
}

/*
 * A backup is one moment of the database: the maps written in order
 * 0, 1, 2, ... are in a copy as 0..k-1, none missing, none torn.
 */
static void check_copy(const char *copy, int written)
{
	long long maps = sql_int(copy, "SELECT count(*) FROM slotmaps");
	char text[100], wal[320];

	EXPECT_EQ(0, strcmp("ok", sql_text(copy, "PRAGMA quick_check", text, sizeof(text))));
	EXPECT_EQ(SCHEMA_VERSION, sql_int(copy, "PRAGMA user_version"));
	EXPECT_GE(maps, 0);
	EXPECT_LE(maps, written);
	EXPECT_EQ(maps, sql_int(copy, "SELECT count(*) FROM slotmaps WHERE bank_slot < "
				"(SELECT count(*) FROM slotmaps) AND client_id = 100 + bank_slot"));
	/* a standalone file: no -wal beside it, none needed */
	EXPECT_EQ(0, strcmp("delete", sql_text(copy, "PRAGMA journal_mode", text, sizeof(text))));
	snprintf(wal, sizeof(wal), "%s-wal", copy);
	EXPECT_NE(0, access(wal, F_OK));
}

TEST_TIMEOUT(backup_while_the_server_writes, 120)
{
	struct writer w = { 0 };
	char copy[300], out[300], first[300];
	int i, status;
	long long maps, first_maps = 0;

	snprintf(A.db, sizeof(A.db), "%s/live.db", dir);
	srv_start(&A, "live");
	w.port = A.rest;
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, writer_run, &w));
	snprintf(out, sizeof(out), "%s/backup.out", dir);
	while (w.n < 10)
		usleep(10000);
	for (i = 0; i < 5; i++) {
		snprintf(copy, sizeof(copy), "%s/backup%d.db", dir, i);
		usleep(200000);
		status = shell("timeout 30 %s backup -D %s %s >%s 2>&1",
			       daemon_bin("remsim-server"), A.db, copy, out);
		if (status)
			TH_LOG("backup %d: exit %d, see %s", i, status, out);
		EXPECT_EQ(0, status);
		expect_log(out, " slot maps, ");
		check_copy(copy, w.n);
		if (!i) {
			snprintf(first, sizeof(first), "%s", copy);
			first_maps = sql_int(copy, "SELECT count(*) FROM slotmaps");
		}
	}
	w.stop = true;
	pthread_join(w.thread, NULL);
	TH_LOG("%d maps written during the backups", w.n);
	/* the backups held up no write, and one at least ran amid them */
	EXPECT_EQ(0, w.failed);
	EXPECT_GE(first_maps, 1);
	EXPECT_LT(first_maps, w.n);
	/* a backup is replaced whole; the database itself is never a target */
	EXPECT_EQ(0, shell("%s backup -D %s %s >%s 2>&1", daemon_bin("remsim-server"), A.db,
			   first, out));
	EXPECT_EQ(1, shell("%s backup -D %s %s >%s 2>&1", daemon_bin("remsim-server"), A.db,
			   A.db, out));
	expect_log(out, "is the database's own file");
	EXPECT_EQ(2, shell("%s backup -D %s >%s 2>&1", daemon_bin("remsim-server"), A.db, out));
	srv_stop(&A);
	maps = sql_int(A.db, "SELECT count(*) FROM slotmaps");
	EXPECT_EQ(w.n, maps);
	/* a copy restored is a database the server starts on, with its maps */
	snprintf(A.db, sizeof(A.db), "%s", first);
	snprintf(B.db, sizeof(B.db), "%s/restored.db", dir);
	ASSERT_EQ(0, shell("cp %s %s && ! test -e %s-wal", first, B.db, first));
	srv_start(&B, "restored");
	EXPECT_TRUE(strstr(get(B.rest, "slotmaps"), "\"clientId\":100") != NULL);
	srv_stop(&B);
	/* no database there: said, nothing created */
	snprintf(copy, sizeof(copy), "%s/none.db", dir);
	EXPECT_EQ(1, shell("%s backup -D %s %s/x.db >%s 2>&1", daemon_bin("remsim-server"), copy,
			   dir, out));
	expect_log(out, copy);
	EXPECT_NE(0, access(copy, F_OK));
}

/*
 * The path a server uses with no -D is the one its unit, man page and
 * docs name: a unit passing another -D overrode the config file's
 * "database", and a server started by hand used an empty database of its
 * own.
 */
TEST(one_default_database_path_everywhere)
{
	char out[300], path[PATH_MAX], want[300];
	const char *src = src_dir();

	snprintf(out, sizeof(out), "%s/help.out", dir);
	ASSERT_EQ(0, shell("%s --help >%s 2>&1", daemon_bin("remsim-server"), out));
	snprintf(want, sizeof(want), "(default %s)", DEFAULT_DB);
	expect_log(out, want);
	snprintf(path, sizeof(path), "%s/systemd/remsim-server.service.in", src);
	expect_log(path, "StateDirectory=remsim-server\n");
	/* no -D: it would override the config file's "database" */
	expect_log(path, "ExecStart=@BINDIR@/remsim-server ");
	EXPECT_FALSE(log_contains(path, " -D "));
	snprintf(path, sizeof(path), "%s/man/remsim-server.8", src);
	snprintf(want, sizeof(want), "(default %s)", DEFAULT_DB);
	expect_log(path, want);
	EXPECT_FALSE(log_contains(path, "/var/lib/remsim/server.db"));
	snprintf(path, sizeof(path), "%s/Documentation/server.rst", src);
	expect_log(path, "``" DEFAULT_DB "``)");
	expect_log(path, "    database = " DEFAULT_DB "\n");
}

/* --- the same on PostgreSQL --- */

/* A new database @name on the test's PostgreSQL, in @s->db. */
static void pg_db(struct srv *s, const char *name)
{
	ASSERT_TRUE(pg.up);
	ASSERT_EQ(0, pg_env_createdb(&pg, name));
	pg_env_conninfo(&pg, name, s->db, sizeof(s->db));
}

static const char one_map[] =
	"{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":7,\"slotNr\":0}}";

TEST(pg_a_new_database_has_the_current_version)
{
	pg_db(&A, "fresh");
	srv_start(&A, "pg-new");
	expect_log(A.log, "created, schema version 2");
	EXPECT_EQ(0, strcmp(get(A.rest, "restart-counter"), "{\"restart_counter\":1}"));
	srv_stop(&A);
	EXPECT_EQ(SCHEMA_VERSION, pg_env_int(&pg, "fresh", "SELECT version FROM schema_version"));
	EXPECT_EQ(1, pg_env_int(&pg, "fresh", "SELECT count(*) FROM schema_version"));
	/* a second start creates nothing and counts itself */
	srv_start(&A, "pg-new-again");
	EXPECT_FALSE(log_contains(A.log, "created"));
	EXPECT_FALSE(log_contains(A.log, "upgraded"));
	EXPECT_EQ(0, strcmp(get(A.rest, "restart-counter"), "{\"restart_counter\":2}"));
	srv_stop(&A);
}

/*
 * Version 0 on PostgreSQL: the tables without a version (a database
 * filled by hand, or by a script from a SQLite file): brought to ours
 * with its rows.
 */
TEST(pg_schema_0_is_migrated_with_its_data)
{
	static const char maps[] =
		"{\"slotmaps\":[{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":20,"
		"\"slotNr\":0},\"state\":\"NEW\"},{\"bank\":{\"bankId\":1,\"slotNr\":1},\"client\":"
		"{\"clientId\":21,\"slotNr\":0},\"state\":\"NEW\"}]}";

	pg_db(&A, "old");
	srv_start(&A, "pg-old-make");
	srv_stop(&A);
	ASSERT_EQ(0, pg_env_sql(&pg, "old", "DROP TABLE schema_version;"
				"UPDATE meta SET value = 5;"
				"INSERT INTO slotmaps VALUES (1, 0, 20, 0, 0), (1, 1, 21, 0, 0),"
				" (1, 2, 22, 0, 1);"
				"INSERT INTO tokens VALUES ('ops', 'admin', sha256(''), 1, NULL);"
				"INSERT INTO audit (time_us, time, caller, action) VALUES"
				" (1, '1970-01-01T00:00:00Z', 'test', 'POST /slotmaps')"));
	srv_start(&A, "pg-migrate");
	expect_log(A.log, "schema version 0 upgraded to 2");
	EXPECT_EQ(0, strcmp(get(A.rest, "slotmaps"), maps));
	EXPECT_EQ(0, strcmp(get(A.rest, "restart-counter"), "{\"restart_counter\":6}"));
	srv_stop(&A);
	EXPECT_EQ(SCHEMA_VERSION, pg_env_int(&pg, "old", "SELECT version FROM schema_version"));
	EXPECT_EQ(1, pg_env_int(&pg, "old", "SELECT count(*) FROM slotmaps WHERE deleting = 1"));
	EXPECT_EQ(1, pg_env_int(&pg, "old", "SELECT count(*) FROM tokens WHERE name = 'ops'"));
	EXPECT_EQ(1, pg_env_int(&pg, "old", "SELECT count(*) FROM audit WHERE caller = 'test'"));
	srv_start(&A, "pg-migrate-again");
	EXPECT_FALSE(log_contains(A.log, "upgraded"));
	EXPECT_EQ(0, strcmp(get(A.rest, "slotmaps"), maps));
	srv_stop(&A);
}

/* Version 1 on PostgreSQL: the racks' tables added, the maps kept. */
TEST(pg_schema_1_is_migrated_to_2)
{
	static const char pool[] = "{\"tags\":[\"mccmnc:26202\"]}";

	pg_db(&A, "v1");
	srv_start(&A, "pg-v1-make");
	ASSERT_EQ(201, http_json(A.rest, "POST", "/api/backend/v1/slotmaps", one_map, body,
				 sizeof(body)));
	srv_stop(&A);
	ASSERT_EQ(0, pg_env_sql(&pg, "v1", "DROP TABLE records; DROP TABLE history;"
				"UPDATE schema_version SET version = 1"));
	srv_start(&A, "pg-v1");
	expect_log(A.log, "schema version 1 upgraded to 2");
	EXPECT_EQ(200, http_json(A.rest, "PUT", "/api/backend/v1/pools/de", pool, body,
				 sizeof(body)));
	EXPECT_EQ(0, strcmp(get(A.rest, "pools"), "{\"pools\":[{\"name\":\"de\",\"tags\":"
			    "[\"mccmnc:26202\"],\"cards\":0,\"free\":0}]}"));
	srv_stop(&A);
	EXPECT_EQ(SCHEMA_VERSION, pg_env_int(&pg, "v1", "SELECT version FROM schema_version"));
	EXPECT_EQ(1, pg_env_int(&pg, "v1", "SELECT count(*) FROM slotmaps"));
	EXPECT_EQ(1, pg_env_int(&pg, "v1", "SELECT count(*) FROM records WHERE kind = 'pool'"));
	srv_start(&A, "pg-v1-again");
	EXPECT_FALSE(log_contains(A.log, "upgraded"));
	EXPECT_TRUE(strstr(get(A.rest, "pools"), "\"name\":\"de\"") != NULL);
	srv_stop(&A);
}

/* A newer server's database: refused with both versions, not written to. */
TEST(pg_a_database_of_a_newer_version_is_refused)
{
	char want[2400];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", A.db, "--rest-port", "0",
			 "--rspro-port", "0", NULL };

	pg_db(&A, "newer");
	srv_start(&A, "pg-newer-make");
	srv_stop(&A);
	ASSERT_EQ(0, pg_env_sql(&pg, "newer", "UPDATE schema_version SET version = 99"));
	snprintf(A.log, sizeof(A.log), "%s/pg-newer.log", dir);
	ASSERT_EQ(0, daemon_start(&A.d, argv, A.log));
	EXPECT_EQ(1, daemon_wait(&A.d, 10000));
	snprintf(want, sizeof(want),
		 "database %s: schema version 99 is newer than this remsim-server's (%d)", A.db,
		 SCHEMA_VERSION);
	expect_log(A.log, want);
	EXPECT_EQ(99, pg_env_int(&pg, "newer", "SELECT version FROM schema_version"));
	EXPECT_EQ(1, pg_env_int(&pg, "newer",
				"SELECT value FROM meta WHERE key = 'restart_counter'"));
}

/* `remsim-server token ARGS -D db`: its exit status; stdout's first line in @out. */
static int token_cmd(const char *db, char *out, size_t size, const char *args)
{
	char cmd[2000];
	FILE *f;
	int status;

	snprintf(cmd, sizeof(cmd), "%s token %s -D '%s' 2>>%s/token.err",
		 daemon_bin("remsim-server"), args, db, dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (!fgets(out, size, f))
		out[0] = 0;
	while (fgetc(f) != EOF)
		;
	status = pclose(f);
	out[strcspn(out, "\n")] = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * What the server keeps, kept on PostgreSQL: maps (a live one, a deleted
 * one gone), the pending removal's successor, tokens made and revoked by
 * the command beside the server, the audit trail, across a restart.
 */
TEST_TIMEOUT(pg_maps_tokens_and_audit_survive_a_restart, 60)
{
	char out[200], secret[200], rq[600];
	char rest[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", A.db, "--rest-bind",
			 "127.0.0.1", "--rest-port", rest, "--rspro-port", "0",
			 "--rest-auth", "on", NULL };

	pg_db(&A, "keep");
	srv_start(&A, "pg-keep");
	ASSERT_EQ(201, http_json(A.rest, "POST", "/api/backend/v1/slotmaps", one_map, body,
				 sizeof(body)));
	/* the same bank slot again: refused, as on SQLite */
	EXPECT_EQ(400, http_json(A.rest, "POST", "/api/backend/v1/slotmaps",
				 "{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":8,"
				 "\"slotNr\":0}}", body, sizeof(body)));
	/* the same client slot on another bank slot: refused too */
	EXPECT_EQ(400, http_json(A.rest, "POST", "/api/backend/v1/slotmaps",
				 "{\"bank\":{\"bankId\":1,\"slotNr\":1},\"client\":{\"clientId\":7,"
				 "\"slotNr\":0}}", body, sizeof(body)));
	ASSERT_EQ(201, http_json(A.rest, "POST", "/api/backend/v1/slotmaps",
				 "{\"bank\":{\"bankId\":2,\"slotNr\":3},\"client\":{\"clientId\":9,"
				 "\"slotNr\":1}}", body, sizeof(body)));
	EXPECT_EQ(200, http_json(A.rest, "DELETE", "/api/backend/v1/slotmaps/65536", NULL, body,
				 sizeof(body)));
	EXPECT_EQ(0, token_cmd(A.db, secret, sizeof(secret), "add ops --scope admin"));
	EXPECT_EQ(71, (int)strlen(secret));	/* remsim_ and 64 hex digits */
	EXPECT_EQ(0, token_cmd(A.db, out, sizeof(out), "add viewer --scope read"));
	EXPECT_EQ(1, token_cmd(A.db, out, sizeof(out), "add viewer --scope read"));
	EXPECT_EQ(0, token_cmd(A.db, out, sizeof(out), "revoke viewer"));
	EXPECT_EQ(1, token_cmd(A.db, out, sizeof(out), "revoke viewer"));
	srv_stop(&A);
	srv_start(&A, "pg-keep-again");
	EXPECT_EQ(0, strcmp(get(A.rest, "slotmaps"),
			    "{\"slotmaps\":[{\"bank\":{\"bankId\":2,\"slotNr\":3},\"client\":"
			    "{\"clientId\":9,\"slotNr\":1},\"state\":\"NEW\"}]}"));
	EXPECT_TRUE(strstr(get(A.rest, "audit"), "slotmap delete") != NULL);
	EXPECT_TRUE(strstr(body, "token add") != NULL);
	EXPECT_TRUE(strstr(body, "token revoke") != NULL);
	srv_stop(&A);
	/* the token is found by its hash; another is not */
	A.rest = free_port();
	snprintf(rest, sizeof(rest), "%d", A.rest);
	ASSERT_EQ(0, daemon_start(&A.d, argv, A.log));
	ASSERT_TRUE(wait_port(A.rest, 10000));
	snprintf(rq, sizeof(rq), "GET /api/backend/v1/slotmaps HTTP/1.1\r\nHost: x\r\n"
		 "Connection: close\r\nAuthorization: Bearer %s\r\n\r\n", secret);
	EXPECT_EQ(200, http_raw(A.rest, rq, body, sizeof(body)));
	secret[10] ^= 1;
	snprintf(rq, sizeof(rq), "GET /api/backend/v1/slotmaps HTTP/1.1\r\nHost: x\r\n"
		 "Connection: close\r\nAuthorization: Bearer %s\r\n\r\n", secret);
	EXPECT_EQ(401, http_raw(A.rest, rq, body, sizeof(body)));
	srv_stop(&A);
	EXPECT_EQ(1, pg_env_int(&pg, "keep", "SELECT count(*) FROM tokens WHERE name = 'ops'"));
	EXPECT_EQ(1, pg_env_int(&pg, "keep", "SELECT count(*) FROM tokens WHERE last_used > 0"));
	/* the deleted map waits for its bankd, marked */
	EXPECT_EQ(1, pg_env_int(&pg, "keep", "SELECT count(*) FROM slotmaps WHERE deleting = 1"));
	EXPECT_EQ(1, pg_env_int(&pg, "keep", "SELECT count(*) FROM slotmaps WHERE deleting = 0"));
}

/* No PostgreSQL there: said, with the database's name but not its password. */
TEST(pg_an_unreachable_database_is_explained)
{
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", A.db, "--rest-port", "0",
			 "--rspro-port", "0", NULL };

	snprintf(A.db, sizeof(A.db), "host=%s/none user=remsim password=s3cret dbname=x", dir);
	snprintf(A.log, sizeof(A.log), "%s/pg-none.log", dir);
	ASSERT_EQ(0, daemon_start(&A.d, argv, A.log));
	EXPECT_EQ(1, daemon_wait(&A.d, 10000));
	expect_log(A.log, "password=*** dbname=x: cannot connect to PostgreSQL");
	EXPECT_FALSE(log_contains(A.log, "s3cret"));
	snprintf(A.db, sizeof(A.db), "postgresql://remsim:s3cret@localhost:1/x?connect_timeout=2");
	ASSERT_EQ(0, daemon_start(&A.d, argv, A.log));
	EXPECT_EQ(1, daemon_wait(&A.d, 10000));
	expect_log(A.log, "postgresql://remsim:***@localhost:1/x");
	EXPECT_FALSE(log_contains(A.log, "s3cret"));
}

/* PostgreSQL's own tools make its backups: the command says which. */
TEST(pg_backup_points_to_pg_dump)
{
	char out[300];

	pg_db(&A, "dump");
	snprintf(out, sizeof(out), "%s/pg-backup.out", dir);
	EXPECT_EQ(1, shell("%s backup -D '%s' %s/x.dump >%s 2>&1", daemon_bin("remsim-server"),
			   A.db, dir, out));
	expect_log(out, "the database is PostgreSQL: use pg_dump");
}

/* The config file's "database" key takes the same connection strings as -D. */
TEST(pg_the_config_file_names_the_database)
{
	char conf[300], rest[8], rspro[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-c", conf, "--rest-bind",
			 "127.0.0.1", "--rest-port", rest, "--rspro-port", rspro, NULL };
	FILE *f;

	pg_db(&A, "conf");
	snprintf(conf, sizeof(conf), "%s/pg.conf", dir);
	f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "database = %s\n", A.db);
	fclose(f);
	A.rest = free_port();
	snprintf(rest, sizeof(rest), "%d", A.rest);
	snprintf(rspro, sizeof(rspro), "%d", free_port());
	snprintf(A.log, sizeof(A.log), "%s/pg-conf.log", dir);
	ASSERT_EQ(0, daemon_start(&A.d, argv, A.log));
	ASSERT_TRUE(wait_port(A.rest, 10000));
	ASSERT_EQ(201, http_json(A.rest, "POST", "/api/backend/v1/slotmaps", one_map, body,
				 sizeof(body)));
	srv_stop(&A);
	EXPECT_EQ(1, pg_env_int(&pg, "conf", "SELECT count(*) FROM slotmaps"));
}

/*
 * A database that stops answering (its processes frozen; the kernel still
 * takes the connection and what is sent) holds the server at most a few
 * seconds at a time: REST keeps answering, a change gets 503, and once
 * the database answers again the server carries on.
 */
TEST_TIMEOUT(pg_a_frozen_database_does_not_hold_the_server, 90)
{
	struct timespec a, b;
	long long worst = 0, ms, start;
	int st = 0, t;

	pg_db(&A, "frozen");
	srv_start(&A, "pg-frozen");
	ASSERT_EQ(201, http_json(A.rest, "POST", "/api/backend/v1/slotmaps", one_map, body,
				 sizeof(body)));
	ASSERT_EQ(0, pg_env_freeze(&pg, true));
	clock_gettime(CLOCK_MONOTONIC, &a);
	start = a.tv_sec * 1000LL + a.tv_nsec / 1000000;
	/* 8 s of reads: each answered within the 3 s a statement may take, and more */
	for (t = 0; t < 80; t++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		EXPECT_EQ(200, http_json(A.rest, "GET", "/api/backend/v1/restart-counter", NULL,
					 body, sizeof(body)));
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
		if (ms > worst)
			worst = ms;
		if (b.tv_sec * 1000LL + b.tv_nsec / 1000000 - start > 8000)
			break;
		usleep(100000);
	}
	TH_LOG("the slowest read while the database was frozen: %lld ms", worst);
	EXPECT_LT(worst, 4000);
	EXPECT_EQ(503, http_json(A.rest, "POST", "/api/backend/v1/slotmaps",
				 "{\"bank\":{\"bankId\":1,\"slotNr\":1},\"client\":{\"clientId\":8,"
				 "\"slotNr\":0}}", body, sizeof(body)));
	ASSERT_EQ(0, pg_env_freeze(&pg, false));
	/* back: the same change goes through once the lock is taken again */
	for (t = 0; t < 150 && st != 201; t++) {
		st = http_json(A.rest, "POST", "/api/backend/v1/slotmaps",
			       "{\"bank\":{\"bankId\":1,\"slotNr\":1},\"client\":{\"clientId\":8,"
			       "\"slotNr\":0}}", body, sizeof(body));
		if (st != 201)
			usleep(100000);
	}
	EXPECT_EQ(201, st);
	expect_log(A.log, "no answer from PostgreSQL within 3000 ms");
	srv_stop(&A);
}

int main(int argc, char **argv)
{
	return pg_env_ktap_main(&pg, argc, argv, dir, after_each);
}
