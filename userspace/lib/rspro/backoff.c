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
 *
 * Where one step gives way to the next is drawn too, at each attempt,
 * from the last (new step's length) before its time: links lost together
 * would otherwise all change step at the same moment and arrive in waves
 * for many steps after it.
 */
#include "remsim/rspro_link.h"

static const struct {
	unsigned int until_ms;	/* away for less than this */
	unsigned int step_ms;	/* 0: the fast retries */
} steps[] = {
	{ RSPRO_BACKOFF_FAST_MS, 0 }, { 30000, 1000 }, { 90000, 2000 },
	{ 210000, 4000 }, { 450000, 8000 }, { 0, RSPRO_BACKOFF_MAX_MS },
};

#define NSTEPS	(sizeof(steps) / sizeof(steps[0]))

unsigned int rspro_backoff_ms(unsigned int away_ms, uint32_t rnd)
{
	/* the high half places the changes of step, the low half the delay */
	uint32_t where = rnd >> 16;
	unsigned int i, step;

	rnd &= 0xffff;
	for (i = 0; i < NSTEPS - 1; i++) {
		uint64_t early = (uint64_t)where * steps[i + 1].step_ms >> 16;

		if (away_ms + early < steps[i].until_ms)
			break;
	}
	step = steps[i].step_ms;
	if (!step)
		return RSPRO_BACKOFF_FAST_MIN_MS +
		       rnd % (RSPRO_BACKOFF_FAST_MAX_MS - RSPRO_BACKOFF_FAST_MIN_MS + 1);
	return step - rnd % (step / 4 + 1);
}
