/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lines.h - what a REMSIM_MSG_SIGNALS says about the modem's lines.
 */
#ifndef REMSIM_CLIENT_LINES_H
#define REMSIM_CLIENT_LINES_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Changes the owner did not read in time come merged into one message: a
 * line marked changed but back where it was before (@prev, the state last
 * seen) pulsed. Returns those lines; none when nothing was seen before.
 */
static inline uint32_t lines_pulsed(uint32_t prev, bool have_prev, uint32_t state,
				    uint32_t changed)
{
	return have_prev ? changed & ~(state ^ prev) : 0;
}

#endif
