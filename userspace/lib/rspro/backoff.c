// SPDX-License-Identifier: GPL-2.0
/* The reconnect back-off table of osmo-remsim's RSPRO client. */
#include "remsim/rspro_link.h"

unsigned int rspro_backoff_ms(unsigned int n)
{
	static const struct {
		unsigned int count;
		unsigned int delay_ms;
	} steps[] = {
		{ 3, 0 }, { 30, 1000 }, { 30, 2000 }, { 30, 4000 }, { 30, 8000 },
	};
	unsigned int i;

	if (n)
		n--;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (n < steps[i].count)
			return steps[i].delay_ms;
		n -= steps[i].count;
	}
	return 16000;
}
