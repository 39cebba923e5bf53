// SPDX-License-Identifier: GPL-2.0
/*
 * The reconnect back-off of an RSPRO link, by how long its peer has been
 * away. A peer that was just lost is most likely restarting (kill, crash,
 * systemd restart, a blip of the network): the first RSPRO_BACKOFF_FAST_MS
 * retry every 100-250 ms, so its return is seen within a quarter second.
 * A peer that stays away then gets osmo-remsim's steps, by the same time
 * they take there (its table counts attempts: 3 at once, 30 x 1 s, 30 x 2 s,
 * 30 x 4 s, 30 x 8 s, then 16 s), so a server down for minutes sees its
 * clients' attempts thin out as before. Every delay is drawn from [3/4, 1]
 * of its step: links dropped by the same event spread out instead of
 * arriving together, and never wait longer than osmo-remsim's step.
 */
#include "remsim/rspro_link.h"

unsigned int rspro_backoff_ms(unsigned int away_ms, uint32_t rnd)
{
	static const struct {
		unsigned int until_ms;	/* away for less than this */
		unsigned int step_ms;
	} steps[] = {
		{ 30000, 1000 }, { 90000, 2000 }, { 210000, 4000 }, { 450000, 8000 },
	};
	unsigned int i, step = RSPRO_BACKOFF_MAX_MS;

	if (away_ms < RSPRO_BACKOFF_FAST_MS)
		return RSPRO_BACKOFF_FAST_MIN_MS +
		       rnd % (RSPRO_BACKOFF_FAST_MAX_MS - RSPRO_BACKOFF_FAST_MIN_MS + 1);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (away_ms < steps[i].until_ms) {
			step = steps[i].step_ms;
			break;
		}
	return step - rnd % (step / 4 + 1);
}
