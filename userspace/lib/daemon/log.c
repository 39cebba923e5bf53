// SPDX-License-Identifier: GPL-2.0
/* The daemons' log lines on stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "remsim/log.h"

static const char *prog = "remsim";
static enum log_level levels[LOG_CAT_COUNT];
static bool timestamps;
static bool journal;

static const char *const cat_names[LOG_CAT_COUNT] = {
	[DMAIN] = "DMAIN", [DRSPRO] = "DRSPRO", [DREST] = "DREST",
	[DSLOTMAP] = "DSLOTMAP", [DBANKDW] = "DBANKDW", [DST2] = "DST2",
	[DGSMTAP] = "DGSMTAP", [DAUDIT] = "DAUDIT",
};

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_DEBUG:		return "DEBUG";
	case LOG_INFO:		return "INFO";
	case LOG_NOTICE:	return "NOTICE";
	case LOG_ERROR:		return "ERROR";
	default:		return "FATAL";
	}
}

/*
 * The syslog priority journald gives a line that starts with "<N>"
 * (sd-daemon(3)): journalctl -p err then shows ERROR and FATAL lines.
 */
static int journal_priority(enum log_level level)
{
	if (level >= LOG_FATAL)
		return 2;	/* LOG_CRIT */
	if (level >= LOG_ERROR)
		return 3;	/* LOG_ERR */
	if (level >= LOG_NOTICE)
		return 5;	/* LOG_NOTICE */
	if (level >= LOG_INFO)
		return 6;	/* LOG_INFO */
	return 7;		/* LOG_DEBUG */
}

/*
 * systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects
 * stderr to (systemd.exec(5)). A child inherits the variable even when its
 * stderr goes elsewhere (a terminal, a file of a test): only the same
 * stream counts, as sd_journal_stream_fd(3) advises.
 */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char extra;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &extra) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_init(const char *name, enum log_level level)
{
	prog = name;
	journal = stderr_is_journal();
	log_set_all(level);
}

void log_set_level(enum log_cat cat, enum log_level level)
{
	levels[cat] = level;
}

void log_set_all(enum log_level level)
{
	int i;

	for (i = 0; i < LOG_CAT_COUNT; i++)
		levels[i] = level;
}

void log_timestamps(bool on)
{
	timestamps = on;
}

void log_save(struct log_state *st)
{
	memcpy(st->levels, levels, sizeof(levels));
	st->timestamps = timestamps;
}

void log_restore(const struct log_state *st)
{
	memcpy(levels, st->levels, sizeof(levels));
	timestamps = st->timestamps;
}

int log_parse_level(const char *text)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO },
		{ "notice", LOG_NOTICE }, { "error", LOG_ERROR },
		{ "fatal", LOG_FATAL },
	};
	unsigned int i;
	char *end;
	long v;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(text, names[i].name))
			return names[i].level;
	v = strtol(text, &end, 10);
	/* libosmocore takes 0 as well: everything, as debug does */
	if (*text && !*end && v == 0)
		return LOG_DEBUG;
	if (*text && !*end && v >= LOG_DEBUG && v <= LOG_FATAL)
		return v;
	return -1;
}

/*
 * libosmocore's own categories (DLGLOBAL, DLINP, DLMI, ...: all start with
 * "DL"), which every osmo program's -d accepts. remsim has no such
 * layers; a mask naming them still works, with one warning.
 */
static bool osmo_library_category(const char *name)
{
	return !strncasecmp(name, "DL", 2) && name[2];
}

static void warn_ignored(const char *what, const char *names)
{
	log_line(DMAIN, LOG_NOTICE, "log",
		 "debug mask: %s %s: ignored", what, names);
}

/* Appends @name to the comma-separated list @list of @size bytes. */
static void list_add(char *list, size_t size, const char *name)
{
	size_t n = strlen(list);

	snprintf(list + n, size - n, "%s%s", n ? ", " : "", name);
}

int log_parse_mask(const char *mask)
{
	char *copy = strdup(mask), *save = NULL, *item;
	char library[256] = "", unknown[256] = "";
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ":", &save); item && !ret;
	     item = strtok_r(NULL, ":", &save)) {
		char *comma = strchr(item, ',');
		int cat, level = LOG_INFO;

		if (comma) {
			*comma = 0;
			level = log_parse_level(comma + 1);
		}
		if (level < 0) {
			ret = -EINVAL;
			break;
		}
		for (cat = 0; cat < LOG_CAT_COUNT; cat++)
			if (!strcasecmp(item, cat_names[cat]))
				break;
		if (cat < LOG_CAT_COUNT)
			levels[cat] = level;
		else if (osmo_library_category(item))
			list_add(library, sizeof(library), item);
		else
			list_add(unknown, sizeof(unknown), item);
	}
	free(copy);
	if (ret)
		return ret;
	/* osmo programs ignore what they do not know; so do we, but say so */
	if (library[0])
		warn_ignored("libosmocore categories remsim does not have", library);
	if (unknown[0])
		warn_ignored("unknown categories", unknown);
	return 0;
}

void log_format_mask(char *buf, size_t size)
{
	size_t n = 0;
	int cat;

	buf[0] = 0;
	for (cat = 0; cat < LOG_CAT_COUNT && n < size; cat++)
		n += snprintf(buf + n, size - n, "%s%s,%d", cat ? ":" : "",
			      cat_names[cat], levels[cat]);
}

bool log_enabled(enum log_cat cat, enum log_level level)
{
	return level >= levels[cat];
}

void log_line(enum log_cat cat, enum log_level level, const char *who,
	      const char *fmt, ...)
{
	char line[1024];
	size_t n = 0;
	va_list ap;

	if (journal)
		n += snprintf(line, sizeof(line), "<%d>", journal_priority(level));
	if (timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n += strftime(line + n, sizeof(line) - n, "%Y-%m-%dT%H:%M:%S", &tm);
		n += snprintf(line + n, sizeof(line) - n, ".%03ldZ ",
			      ts.tv_nsec / 1000000);
	}
	n += snprintf(line + n, sizeof(line) - n, "%s %s %s %s: ", prog,
		      cat_names[cat], level_name(level), who ? who : "-");
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	/* one write per line, so that lines of threads never mix */
	fprintf(stderr, "%s\n", line);
}
