// SPDX-License-Identifier: GPL-2.0
/*
 * session_test - the scripted phone session through simulated slots: the
 * phone on the modem side, the software card behind the slot's owner, the
 * kernel's T=0 engine between them; one slot, then several at once.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "card.h"
#include "ktap.h"
#include "modem.h"
#include "owner.h"
#include "session.h"
#include "slotdev.h"

static void check(struct served_phone *p)
{
	if (p->ret)
		TH_LOG("slot %u: %s", p->fx.index, p->r.error);
	EXPECT_EQ(0, p->ret);
	EXPECT_EQ(0, strcmp(p->prof.imsi, p->r.imsi));
	EXPECT_EQ(0, strcmp(p->prof.iccid, p->r.iccid));
	EXPECT_EQ(p->r.commands, p->owner.apdus);
}

TEST(phone_session_on_a_simulated_slot)
{
	struct remsim_stats st;
	struct served_phone p;

	ASSERT_EQ(0, served_phone_setup(&p, 1));
	served_phone_run(&p);
	check(&p);
	ASSERT_EQ(0, ioctl(p.fx.fd, REMSIM_IOC_GET_STATS, &st));
	EXPECT_EQ(p.r.commands, st.apdus);
	EXPECT_EQ(st.apdus, st.responses);
	EXPECT_EQ(1, st.pps);
	EXPECT_EQ(0, st.errors);
	TH_LOG("%u commands, median %llu us, p99 %llu us", p.r.commands,
	       (unsigned long long)session_percentile(&p.r, 50) / 1000,
	       (unsigned long long)session_percentile(&p.r, 99) / 1000);
	EXPECT_EQ(0, served_phone_done(&p));
}

TEST_TIMEOUT(four_phones_at_once, 120)
{
	struct served_phone p[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, served_phone_setup(&p[i], 10 + i));
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, served_phone_run, &p[i]));
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++) {
		check(&p[i]);
		EXPECT_EQ(0, served_phone_done(&p[i]));
	}
}

KTAP_MAIN
