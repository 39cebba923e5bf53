// SPDX-License-Identifier: GPL-2.0
/*
 * `remsim-server backup FILE`: a consistent copy of the database while the
 * server runs, with SQLite's online backup API. A plain cp of a WAL
 * database can catch the main file and its -wal at different moments; the
 * backup reads every page in one read transaction, which WAL lets run
 * beside the server's writes without holding them up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "server.h"
#include "store.h"

/*
 * The source is opened read-only: a backup never creates, migrates or
 * counts a start. A copy that fails under a lock (a checkpoint of the
 * server's at the wrong moment) is tried again this often, this long.
 */
#define BACKUP_RETRY_MS		50
#define BACKUP_WAIT_MS		5000

static int db_fail(sqlite3 *db, const char *what, const char *path, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s %s: %s (SQLite error %d)", what, path,
		 db ? sqlite3_errmsg(db) : "out of memory",
		 db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM);
	return -EIO;
}

/* One integer that a query of the copy answers, or -1. */
static long long query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* All pages at once: one read transaction, so one moment of the source. */
static int copy_pages(sqlite3 *src, sqlite3 *dst, const char *path, char *err,
		      size_t errlen)
{
	unsigned int waited = 0;
	sqlite3_backup *b;
	int rc;

	for (;;) {
		b = sqlite3_backup_init(dst, "main", src, "main");
		if (!b)
			return db_fail(dst, "backup of", path, err, errlen);
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
		if (rc == SQLITE_DONE)
			return 0;
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= BACKUP_WAIT_MS)
			break;
		usleep(BACKUP_RETRY_MS * 1000);
		waited += BACKUP_RETRY_MS;
	}
	snprintf(err, errlen, "backup of %s: %s (SQLite error %d)%s", path,
		 sqlite3_errstr(rc), rc,
		 rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? ", gave up after 5 s" : "");
	return -EIO;
}

/*
 * The copy stands alone (no -wal beside it: journal_mode DELETE), passes
 * SQLite's check, and is on disk before it takes @dest's name.
 */
static int finish_copy(sqlite3 *dst, const char *tmp, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	const char *r;
	int ret = 0, fd;

	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(dst, "copy", tmp, err, errlen);
	if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &q, NULL) != SQLITE_OK)
		return db_fail(dst, "checking the copy", tmp, err, errlen);
	if (sqlite3_step(q) == SQLITE_ROW) {
		r = (const char *)sqlite3_column_text(q, 0);
		if (!r || strcmp(r, "ok")) {
			snprintf(err, errlen, "the copy %s is damaged: %s", tmp, r ? r : "?");
			ret = -EIO;
		}
	} else {
		ret = db_fail(dst, "checking the copy", tmp, err, errlen);
	}
	sqlite3_finalize(q);
	if (ret)
		return ret;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd)) {
		snprintf(err, errlen, "copy %s: %s", tmp, strerror(errno));
		ret = -errno;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/* @dest must not be the database or one of its files: the copy would eat it. */
static int same_file(const char *path, const char *dest, char *err, size_t errlen)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-lock" };
	struct stat a, b;
	char name[PATH_MAX + 8];
	unsigned int i;

	if (stat(dest, &b))
		return 0;
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffix[i]);
		if (!stat(name, &a) && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			snprintf(err, errlen, "%s is the database's own file %s: give another FILE",
				 dest, name);
			return -EINVAL;
		}
	}
	return 0;
}

static void describe(sqlite3 *dst, const char *path, const char *dest, char *info,
		     size_t infolen)
{
	snprintf(info, infolen,
		 "%s copied to %s: %lld slot maps, %lld tokens, %lld audit lines, schema version %lld",
		 path, dest, query_int(dst, "SELECT count(*) FROM slotmaps"),
		 query_int(dst, "SELECT count(*) FROM tokens"),
		 query_int(dst, "SELECT count(*) FROM audit"),
		 query_int(dst, "PRAGMA user_version"));
}

int store_backup(const char *path, const char *dest, char *info, size_t infolen,
		 char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	sqlite3 *src = NULL, *dst = NULL;
	int ret;

	ret = same_file(path, dest, err, errlen);
	if (ret)
		return ret;
	if (snprintf(tmp, sizeof(tmp), "%s.partial", dest) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", dest);
		return -ENAMETOOLONG;
	}
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		ret = db_fail(src, "cannot open the database", path, err, errlen);
		goto out;
	}
	sqlite3_busy_timeout(src, BACKUP_WAIT_MS);
	/* a partial file from a backup that was killed is not a backup */
	unlink(tmp);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		ret = db_fail(dst, "cannot create", tmp, err, errlen);
		goto out;
	}
	ret = copy_pages(src, dst, path, err, errlen);
	if (!ret)
		ret = finish_copy(dst, tmp, err, errlen);
	if (!ret)
		describe(dst, path, dest, info, infolen);
	if (!ret && rename(tmp, dest)) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, dest, strerror(errno));
		ret = -errno;
	}
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	if (ret)
		unlink(tmp);
	return ret;
}

static void backup_usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-server backup [-c FILE] [-D PATH] BACKUP\n"
		"\n"
		"A consistent copy of the server's database (-D, or the config file's\n"
		"\"database\") in BACKUP, made while the server runs and writes; BACKUP\n"
		"is replaced only by a complete, checked copy. To restore: stop the\n"
		"server, copy BACKUP over the database, remove its -wal and -shm\n"
		"files, start the server.\n");
}

int backup_main(int argc, char **argv, token_cfg_fn load_cfg)
{
	static const struct option opts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "database",	required_argument,	NULL, 'D' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *db = NULL, *dest;
	struct server_cfg cfg;
	char info[512], err[600];
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:D:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			conf = optarg;
			break;
		case 'D':
			db = optarg;
			break;
		case 'h':
			backup_usage(stdout);
			return 0;
		default:
			backup_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1 || !argv[optind][0]) {
		backup_usage(stderr);
		return 2;
	}
	/* taken before load_cfg(), whose own getopt() moves optind */
	dest = argv[optind];
	if (load_cfg(conf, db, &cfg))
		return 2;
	/* PostgreSQL has its own tools, which know its consistency rules */
	if (store_is_postgres(cfg.db_path)) {
		fprintf(stderr,
			"remsim-server: backup: the database is PostgreSQL: use pg_dump (e.g. pg_dump -Fc -f %s DBNAME) or its streaming replica (see remsim-server(8))\n",
			dest);
		return 1;
	}
	if (store_backup(cfg.db_path, dest, info, sizeof(info), err, sizeof(err))) {
		fprintf(stderr, "remsim-server: backup: %s\n", err);
		return 1;
	}
	fprintf(stderr, "%s\n", info);
	return 0;
}
