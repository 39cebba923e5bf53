/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging for the daemons: stderr (journald picks it up), one line per
 * event, a level, a category and the identity the line is about
 * ("B1", "C23:0", "B1:5"). Levels and category names follow osmo-remsim's,
 * so its -d masks ("DMAIN,1:DRSPRO,5") keep working.
 */
#ifndef REMSIM_LOG_H
#define REMSIM_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_DEBUG	= 1,
	LOG_INFO	= 3,
	LOG_NOTICE	= 5,
	LOG_ERROR	= 7,
	LOG_FATAL	= 8,
};

enum log_cat {
	DMAIN,
	DRSPRO,
	DREST,
	DSLOTMAP,
	DBANKDW,
	DST2,
	DGSMTAP,
	DAUDIT,		/* remsim-server's audit trail: who changed what */
	LOG_CAT_COUNT
};

/*
 * Program name for the lines; all categories at @level. Lines get journald
 * "<N>" priority prefixes when stderr is the stream JOURNAL_STREAM names.
 */
void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_cat cat, enum log_level level);
void log_set_all(enum log_level level);
void log_timestamps(bool on);

/*
 * The levels and the timestamp switch, so that a config file re-read on
 * SIGHUP that turns out bad (after some of its lines were applied) leaves
 * the logging as it was.
 */
struct log_state {
	enum log_level levels[LOG_CAT_COUNT];
	bool timestamps;
};
void log_save(struct log_state *st);
void log_restore(const struct log_state *st);

/* "debug", "info", "notice", "error", "fatal" or a number; -1 if neither. */
int log_parse_level(const char *text);
/*
 * An osmo-remsim mask "DMAIN,1:DRSPRO,5" (names in any case, a level of 0
 * to 8 or a level name). Categories remsim does not have - libosmocore's
 * DL* ones, or any other - are ignored with one warning line, as osmo
 * programs accept them; -EINVAL only for a level that is no level.
 */
int log_parse_mask(const char *mask);
/* The levels as a mask that log_parse_mask() takes: "DMAIN,3:DRSPRO,3:..." */
void log_format_mask(char *buf, size_t size);

bool log_enabled(enum log_cat cat, enum log_level level);
void log_line(enum log_cat cat, enum log_level level, const char *who,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define LOGP(cat, level, who, ...) do {					\
	if (log_enabled(cat, level))					\
		log_line(cat, level, who, __VA_ARGS__);			\
} while (0)

#endif
