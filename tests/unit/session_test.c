// SPDX-License-Identifier: GPL-2.0
/*
 * session_test - the scripted phone session against the software card, with
 * the board's card emulator and the slot core's T=0 engine between them, all
 * in this process (tests/lib/loopline.c): the path of a remote SIM without
 * the kernel and the network.
 */
#include "card.h"
#include "ktap.h"
#include "loopline.h"
#include "modem.h"
#include "session.h"

static struct card *card;
static struct card_profile prof;
static struct modem *m;

static void setup(unsigned int n)
{
	card_profile_default(&prof, n);
	card = card_new(&prof);
	ASSERT_NE(NULL, card);
	ASSERT_EQ(0, loopline_open(&m, card));
}

static struct session_opts opts(void)
{
	struct session_opts o = { .pps = true, .have_keys = true, .status_polls = 3 };

	memcpy(o.ki, prof.ki, 16);
	memcpy(o.opc, prof.opc, 16);
	o.sqn = 32 << 5 | 1;
	return o;
}

TEST(phone_session)
{
	struct session_opts o;
	struct session_result r;
	struct card_counters cnt;

	setup(7);
	o = opts();
	if (session_run(m, &o, &r))
		TH_LOG("%s", r.error);
	ASSERT_EQ(0, r.error[0]);
	EXPECT_EQ(0, strcmp(prof.iccid, r.iccid));
	EXPECT_EQ(0, strcmp(prof.imsi, r.imsi));
	EXPECT_EQ(0, strcmp(prof.imsi, r.imsi_gsm));
	EXPECT_FALSE(r.resynced);
	EXPECT_GE(r.commands, 20);
	card_counters(card, &cnt);
	EXPECT_EQ(2, cnt.authentications);
	EXPECT_EQ(o.sqn, cnt.sqn_highest);
}

TEST(replayed_sqn_is_refused_and_resynchronised)
{
	struct session_opts o;
	struct session_result r;
	struct card_counters cnt;

	setup(8);
	o = opts();
	ASSERT_EQ(0, session_run(m, &o, &r));
	/* The same SQN again: the card wants a newer one, the network obliges. */
	ASSERT_EQ(0, session_run(m, &o, &r));
	EXPECT_TRUE(r.resynced);
	EXPECT_GT(r.sqn_used, o.sqn);
	card_counters(card, &cnt);
	EXPECT_EQ(1, cnt.sync_failures);
	EXPECT_EQ(4, cnt.authentications);
}

TEST(pin1_protects_the_imsi)
{
	struct session_opts o;
	struct session_result r;

	card_profile_default(&prof, 9);
	prof.pin1_enabled = true;
	card = card_new(&prof);
	ASSERT_NE(NULL, card);
	ASSERT_EQ(0, loopline_open(&m, card));
	o = opts();
	EXPECT_EQ(-1, session_run(m, &o, &r));
	EXPECT_NE(NULL, strstr(r.error, "PIN1"));
	o.pin1 = "1234";
	ASSERT_EQ(0, session_run(m, &o, &r));
	EXPECT_EQ(0, strcmp(prof.imsi, r.imsi));
}

KTAP_MAIN
