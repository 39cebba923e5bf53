// SPDX-License-Identifier: GPL-2.0
/*
 * client_lines_test - remsim-client reads merged line changes right: a
 * reset pulse the kernel merged still reaches the bankd as a pulse, so the
 * card is reset with the phone.
 */
#include <linux/remsim_dev.h>

#include "../../userspace/client/lines.h"
#include "ktap.h"

#define RUN	(REMSIM_SIG_VCC | REMSIM_SIG_CLK)

TEST(a_merged_reset_pulse_is_a_pulse)
{
	/* running, reset, running again: read as one message */
	EXPECT_EQ(REMSIM_SIG_RST, lines_pulsed(RUN, true, RUN, REMSIM_SIG_RST));
	/* and a power cycle with it */
	EXPECT_EQ(REMSIM_SIG_RST | REMSIM_SIG_VCC | REMSIM_SIG_CLK,
		  lines_pulsed(RUN, true, RUN, REMSIM_SIG_RST | RUN));
}

TEST(a_plain_change_is_no_pulse)
{
	EXPECT_EQ(0, lines_pulsed(RUN, true, RUN | REMSIM_SIG_RST, REMSIM_SIG_RST));
	EXPECT_EQ(0, lines_pulsed(RUN | REMSIM_SIG_RST, true, RUN, REMSIM_SIG_RST));
	/* the clock stopped for good, reset pulsed on the way: only reset */
	EXPECT_EQ(REMSIM_SIG_RST,
		  lines_pulsed(RUN, true, REMSIM_SIG_VCC, REMSIM_SIG_CLK | REMSIM_SIG_RST));
}

TEST(nothing_seen_before_is_no_pulse)
{
	EXPECT_EQ(0, lines_pulsed(0, false, RUN, REMSIM_SIG_RST | RUN));
}

KTAP_MAIN
