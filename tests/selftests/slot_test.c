// SPDX-License-Identifier: GPL-2.0
/*
 * slot_test - /dev/remsimN as its owner sees it: exclusive open, one
 * message per read and write, O_NONBLOCK, every poll bit, the ioctls and
 * the rejection of every malformed argument (one bad field per case, with
 * the exact errno), on a simulated slot; built again as slot_usb_test, on a
 * slot of the software USB board.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "ktap.h"
#include "modem.h"
#include "remsim/nl.h"
#include "sim_modem.h"
#include "slotdev.h"

static struct slot_fixture fx;
/* An address no user buffer has; volatile so the compiler lets it be. */
static void *volatile bad_ptr = (void *)8;

static void setup(void)
{
	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR));
}

static short poll_bits(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLPRI | POLLOUT };

	ASSERT_GE(poll(&pfd, 1, 0), 0);
	return pfd.revents;
}

/* Waits for a message to be queued (a USB board takes a moment). */
static void wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	ASSERT_EQ(1, poll(&pfd, 1, 3000));
}

TEST(open_is_exclusive)
{
	setup();
	ASSERT_EQ(-EBUSY, slot_open(fx.index, O_RDWR));
	ASSERT_EQ(-EBUSY, slot_open(fx.index, O_RDONLY));
	close(fx.fd);
	fx.fd = slot_open(fx.index, O_RDWR);
	ASSERT_GE(fx.fd, 0);
}

TEST(info_describes_the_slot)
{
	struct remsim_info info;

	setup();
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_INFO, &info));
	EXPECT_EQ(REMSIM_API_VERSION, info.api_version);
	EXPECT_EQ(fx.index, info.index);
	EXPECT_TRUE(info.features & REMSIM_FEAT_RAW_MODE);
	if (slot_backend_usb()) {
		EXPECT_EQ(REMSIM_BACKEND_USB, info.backend);
		EXPECT_NE(NULL, strstr((char *)info.bus_path, "-1:1.0"));
		EXPECT_EQ(0, strcmp((char *)info.board, "sysmoQMOD"));
		EXPECT_TRUE(info.features & REMSIM_FEAT_VOLTAGE);
	} else {
		EXPECT_EQ(REMSIM_BACKEND_SIM, info.backend);
		EXPECT_EQ(0, strcmp((char *)info.bus_path, "sim"));
		EXPECT_EQ(0, strcmp((char *)info.board, "remsim_sim"));
	}
	for (unsigned int i = 0; i < 4; i++)
		EXPECT_EQ(0, info.reserved[i]);
}

TEST(unknown_ioctls_are_enotty)
{
	setup();
	ASSERT_ERRNO(ioctl(fx.fd, _IO(REMSIM_IOC_MAGIC, 0x7f)), ENOTTY);
	ASSERT_ERRNO(ioctl(fx.fd, _IOR('x', 0x00, struct remsim_info), NULL), ENOTTY);
	ASSERT_ERRNO(ioctl(fx.fd, _IOW(REMSIM_IOC_MAGIC, 0x01, int), NULL), ENOTTY);
}

TEST(read_nonblocking_when_empty_is_eagain)
{
	struct slot_msg msg;

	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR | O_NONBLOCK));
	ASSERT_ERRNO(read(fx.fd, &msg, sizeof(msg)), EAGAIN);
}

TEST(read_too_small_keeps_the_message)
{
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_RST));
	wait_readable(fx.fd);
	ASSERT_ERRNO(read(fx.fd, &msg, sizeof(msg.hdr)), EMSGSIZE);
	ASSERT_ERRNO(read(fx.fd, &msg, sizeof(msg.hdr) + sizeof(struct remsim_signals) - 1),
		     EMSGSIZE);
	ASSERT_EQ(sizeof(msg.hdr) + sizeof(struct remsim_signals), read(fx.fd, &msg, sizeof(msg)));
	ASSERT_EQ(REMSIM_MSG_SIGNALS, msg.hdr.type);
	ASSERT_EQ(sizeof(struct remsim_signals), msg.hdr.len);
}

TEST(read_fault_keeps_the_message)
{
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_RST));
	ASSERT_ERRNO(read(fx.fd, bad_ptr, sizeof(msg)), EFAULT);
	ASSERT_EQ(0, slot_read(fx.fd, &msg, 1000));
	ASSERT_EQ(REMSIM_MSG_SIGNALS, msg.hdr.type);
}

TEST(messages_carry_sequence_and_time)
{
	struct slot_msg a, b;
	struct timespec ts;

	setup();
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_RST));
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_CLK | SIM_MODEM_RST));
	ASSERT_EQ(0, slot_read(fx.fd, &a, 1000));
	ASSERT_EQ(0, slot_read(fx.fd, &b, 1000));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	EXPECT_EQ(a.hdr.seq + 1, b.hdr.seq);
	EXPECT_LE(a.hdr.timestamp_ns, b.hdr.timestamp_ns);
	EXPECT_LE(b.hdr.timestamp_ns, (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec);
	EXPECT_GT(a.hdr.timestamp_ns, 0);
}

TEST(signals_follow_the_modem)
{
	const struct remsim_signals *sig;
	struct remsim_status st;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_RST));
	ASSERT_EQ(0, slot_read(fx.fd, &msg, 1000));
	sig = (const void *)msg.payload;
	ASSERT_EQ(REMSIM_MSG_SIGNALS, msg.hdr.type);
	EXPECT_EQ(REMSIM_SIG_VCC | REMSIM_SIG_RST, sig->state);
	EXPECT_EQ(REMSIM_SIG_VCC | REMSIM_SIG_RST, sig->changed);
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_CLK | SIM_MODEM_RST));
	ASSERT_EQ(0, slot_read(fx.fd, &msg, 1000));
	EXPECT_EQ(REMSIM_SIG_CLK, sig->changed);
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_CLK));
	ASSERT_EQ(0, slot_read(fx.fd, &msg, 1000));
	EXPECT_EQ(REMSIM_SIG_VCC | REMSIM_SIG_CLK, sig->state);
	EXPECT_EQ(REMSIM_SIG_RST, sig->changed);
	EXPECT_EQ(1, sig->fi);
	EXPECT_EQ(1, sig->di);
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_STATUS, &st));
	EXPECT_EQ(REMSIM_SIG_VCC | REMSIM_SIG_CLK, st.signals);
	EXPECT_EQ(REMSIM_T0_IDLE, st.t0_state);
	EXPECT_EQ(REMSIM_MODE_APDU, st.mode);
	EXPECT_EQ(0, st.reserved[0] | st.reserved[1]);
}

TEST(poll_reports_every_bit)
{
	uint8_t hdr[5] = { 0xa0, 0xf2, 0x00, 0x00, 0x00 };	/* STATUS, P3 0 */
	struct slot_msg msg;
	short bits;

	setup();
	/* Nothing to read, room to write. */
	EXPECT_EQ(POLLOUT, poll_bits(fx.fd));
	/* A signal change: readable and out-of-band. */
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_RST));
	wait_readable(fx.fd);
	EXPECT_EQ(POLLIN | POLLPRI | POLLOUT, poll_bits(fx.fd));
	ASSERT_EQ(0, slot_read(fx.fd, &msg, 0));
	EXPECT_EQ(POLLOUT, poll_bits(fx.fd));
	ASSERT_EQ(0, slot_fixture_power_on(&fx));
	/* An APDU: readable, not out-of-band. */
	EXPECT_EQ(POLLOUT, poll_bits(fx.fd));
	ASSERT_EQ(0, modem_send_bytes(fx.modem, hdr, 5));
	ASSERT_EQ(0, slot_read(fx.fd, &msg, 2000) == 0 ? 0 : 1);
	ASSERT_EQ(REMSIM_MSG_APDU, msg.hdr.type);
	EXPECT_EQ(POLLOUT, poll_bits(fx.fd));
	/* Gone: hang-up and error. */
	ASSERT_EQ(0, slot_fixture_remove(&fx));
	bits = poll_bits(fx.fd);
	EXPECT_EQ(POLLHUP | POLLERR, bits & (POLLHUP | POLLERR));
	EXPECT_EQ(0, bits & (POLLIN | POLLOUT | POLLPRI));
}

TEST(write_rejects_malformed_messages)
{
	struct slot_msg msg = { .hdr = { .type = REMSIM_MSG_RESPONSE, .len = 2, .seq = 1 } };

	setup();
	msg.payload[0] = 0x90;
	/* Shorter than a header, length disagreeing with the write, too long. */
	ASSERT_ERRNO(write(fx.fd, &msg, sizeof(msg.hdr) - 1), EINVAL);
	ASSERT_ERRNO(write(fx.fd, &msg, sizeof(msg.hdr) + 3), EINVAL);
	{
		uint8_t big[REMSIM_MSG_MAX + 1] = {};
		struct remsim_msg_hdr *h = (void *)big;

		*h = msg.hdr;
		h->len = REMSIM_MSG_MAX_PAYLOAD + 1;
		ASSERT_ERRNO(write(fx.fd, big, sizeof(big)), EINVAL);
	}
	msg.hdr.len = 2;
	/* Flags, a time stamp, an unknown type, a type only the kernel sends. */
	msg.hdr.flags = 1;
	ASSERT_ERRNO(write(fx.fd, &msg, sizeof(msg.hdr) + 2), EINVAL);
	msg.hdr.flags = 0;
	msg.hdr.timestamp_ns = 5;
	ASSERT_ERRNO(write(fx.fd, &msg, sizeof(msg.hdr) + 2), EINVAL);
	msg.hdr.timestamp_ns = 0;
	msg.hdr.type = 99;
	ASSERT_ERRNO(write(fx.fd, &msg, sizeof(msg.hdr) + 2), EINVAL);
	msg.hdr.type = REMSIM_MSG_APDU;
	ASSERT_ERRNO(write(fx.fd, &msg, sizeof(msg.hdr) + 2), EINVAL);
	/* Raw-mode messages in APDU mode. */
	msg.hdr.type = REMSIM_MSG_TPDU_STATUS;
	msg.hdr.seq = 0;
	ASSERT_ERRNO(write(fx.fd, &msg, sizeof(msg.hdr) + 2), EINVAL);
	/* A response to nothing. */
	msg.hdr.type = REMSIM_MSG_RESPONSE;
	msg.hdr.seq = 1;
	ASSERT_ERRNO(write(fx.fd, &msg, sizeof(msg.hdr) + 2), ESTALE);
	ASSERT_ERRNO(write(fx.fd, bad_ptr, sizeof(msg.hdr) + 2), EFAULT);
}

TEST(atr_set_and_get)
{
	struct remsim_atr atr = { .len = 4, .atr = { 0x3b, 0x02, 0x14, 0x50 } };
	struct remsim_atr got;
	struct rsnl_slot s;

	setup();
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_SET_ATR, &atr));
	memset(&got, 0xff, sizeof(got));
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_ATR, &got));
	EXPECT_EQ(4, got.len);
	EXPECT_EQ(0, got.flags);
	EXPECT_MEMEQ(atr.atr, got.atr, 4);
	EXPECT_EQ(0, got.atr[4]);
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_EQ(4, s.atr_len);
	EXPECT_MEMEQ(atr.atr, s.atr, 4);
}

TEST(atr_reaches_the_modem_on_its_next_reset)
{
	/* TD1 T=0, TD2 T=1: TCK present; one historical byte. */
	struct remsim_atr atr = {
		.len = 6,
		.atr = { 0x3b, 0x81, 0x80, 0x01, 0x80, 0x00 },
		.flags = REMSIM_ATR_F_FIX_TCK,
	};
	uint8_t got[33];
	size_t len;

	setup();
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_SET_ATR, &atr));
	ASSERT_EQ(0, modem_power_on(fx.modem, got, &len));
	/*
	 * A USB board has the ATR once the ioctl returns, but its firmware
	 * may still be handling the phone's reset that raced with it: the
	 * reset after that one has it for sure.
	 */
	if (slot_backend_usb() && len != 6)
		ASSERT_EQ(0, modem_warm_reset(fx.modem, got, &len));
	ASSERT_EQ(6, len);
	EXPECT_MEMEQ(atr.atr, got, 5);
	EXPECT_EQ(0x81 ^ 0x80 ^ 0x01 ^ 0x80, got[5]);
}

/* An ATR of the given bytes, whose len field may say otherwise. */
#define set_atr(bytes, len, flags) set_atr_n(bytes, sizeof(bytes), len, flags)
static int set_atr_n(const uint8_t *bytes, size_t n, uint32_t len, uint32_t flags)
{
	struct remsim_atr atr = { .len = len, .flags = flags };

	memcpy(atr.atr, bytes, n);
	return ioctl(fx.fd, REMSIM_IOC_SET_ATR, &atr);
}

TEST(atr_validation)
{
	static const uint8_t good[] = { 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7, 0x59 };
	static const uint8_t bad_tck[] = { 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7, 0x58 };
	static const uint8_t no_tck[] = { 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7 };
	static const uint8_t t0_with_tck[] = { 0x3b, 0x00, 0x3b };
	static const uint8_t bad_ts[] = { 0x3a, 0x00 };
	static const uint8_t short_hist[] = { 0x3b, 0x02, 0x14 };
	struct remsim_atr atr = { .len = 2, .atr = { 0x3b, 0x00 } };

	setup();
	EXPECT_EQ(0, set_atr(good, sizeof(good), 0));
	EXPECT_EQ(0, set_atr(bad_tck, sizeof(bad_tck), REMSIM_ATR_F_FIX_TCK));
	EXPECT_ERRNO(set_atr(bad_tck, sizeof(bad_tck), 0), EINVAL);
	EXPECT_ERRNO(set_atr(no_tck, sizeof(no_tck), 0), EINVAL);
	EXPECT_ERRNO(set_atr(t0_with_tck, sizeof(t0_with_tck), 0), EINVAL);
	EXPECT_ERRNO(set_atr(bad_ts, sizeof(bad_ts), 0), EINVAL);
	EXPECT_ERRNO(set_atr(short_hist, sizeof(short_hist), 0), EINVAL);
	EXPECT_ERRNO(set_atr(good, 1, 0), EINVAL);
	EXPECT_ERRNO(set_atr(good, 0, 0), EINVAL);
	EXPECT_ERRNO(set_atr(good, REMSIM_ATR_MAX + 1, 0), EINVAL);
	EXPECT_ERRNO(set_atr(good, sizeof(good), 0x2), EINVAL);
	atr.reserved[6] = 1;
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_SET_ATR, &atr), EINVAL);
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_SET_ATR, bad_ptr), EFAULT);
	/* The last good one stays. */
	memset(&atr, 0, sizeof(atr));
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_ATR, &atr));
	EXPECT_EQ(sizeof(bad_tck), atr.len);
	EXPECT_EQ(0x59, atr.atr[6]);
}

TEST(card_insert_reaches_board_and_owner)
{
	struct remsim_card card = { .inserted = 1 };
	struct modem_event ev;
	struct slot_msg msg;
	uint8_t b;

	setup();
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_CARD_INSERT, &card));
	ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_CARD_INSERT, &msg, 1000));
	EXPECT_EQ(1, ((struct remsim_card *)msg.payload)->inserted);
	/* The phone sees the line. */
	ASSERT_EQ(0, modem_wait_event(fx.modem, SIM_MODEM_CARD, &ev, 3000));
	EXPECT_EQ(1, ev.data[0]);
	modem_set_timeout(fx.modem, 300);
	EXPECT_EQ(-ETIMEDOUT, modem_read_bytes(fx.modem, &b, 1));
	card.inserted = 2;
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_CARD_INSERT, &card), EINVAL);
	card.inserted = 0;
	card.flags = 1;
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_CARD_INSERT, &card), EINVAL);
}

TEST(modem_reset_and_sim_select_reach_the_board)
{
	struct remsim_modem_reset mr = { .action = REMSIM_MODEM_RESET_PULSE, .pulse_ms = 300 };
	struct remsim_sim_select sel = { .remote = 0 };
	struct modem_event ev;
	uint8_t atr[33];
	size_t len;

	setup();
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_MODEM_RESET, &mr));
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_SIM_SELECT, &sel));
	ASSERT_EQ(0, modem_wait_event(fx.modem, SIM_MODEM_RESET, &ev, 3000));
	EXPECT_EQ(REMSIM_MODEM_RESET_PULSE, ev.data[0]);
	EXPECT_EQ(300, ev.data[1] | ev.data[2] << 8);
	ASSERT_EQ(0, modem_wait_event(fx.modem, SIM_MODEM_SIM_SELECT, &ev, 3000));
	EXPECT_EQ(0, ev.data[0]);
	/* Local SIM selected: the emulated card stays silent. */
	modem_set_timeout(fx.modem, 300);
	EXPECT_EQ(-ETIMEDOUT, modem_power_on(fx.modem, atr, &len));
	/* Remote again: the card answers the reset that is under way. */
	sel.remote = 1;
	modem_set_timeout(fx.modem, 2000);
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_SIM_SELECT, &sel));
	ASSERT_EQ(0, modem_warm_reset(fx.modem, atr, &len));
	EXPECT_EQ(0x3b, atr[0]);
}

TEST(control_ioctls_reject_bad_arguments)
{
	struct remsim_modem_reset mr = { .action = 3 };
	struct remsim_sim_select sel = { .remote = 2 };
	struct remsim_mode mode = { .mode = 2 };

	setup();
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_MODEM_RESET, &mr), EINVAL);
	mr.action = REMSIM_MODEM_RESET_PULSE;
	mr.pulse_ms = 0;
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_MODEM_RESET, &mr), EINVAL);
	mr.pulse_ms = 65536;
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_MODEM_RESET, &mr), EINVAL);
	mr.action = REMSIM_MODEM_RESET_ASSERT;
	mr.pulse_ms = 5;
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_MODEM_RESET, &mr), EINVAL);
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_SIM_SELECT, &sel), EINVAL);
	sel.remote = 1;
	sel.flags = 4;
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_SIM_SELECT, &sel), EINVAL);
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_SET_MODE, &mode), EINVAL);
	mode.mode = REMSIM_MODE_RAW;
	mode.flags = 1;
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_SET_MODE, &mode), EINVAL);
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_GET_STATS, bad_ptr), EFAULT);
}

TEST(stats_count_and_reset)
{
	struct remsim_stats st;

	setup();
	ASSERT_EQ(0, slot_fixture_power_on(&fx));
	ASSERT_EQ(0, modem_warm_reset(fx.modem, (uint8_t[33]){}, &(size_t){0}));
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_STATS, &st));
	/*
	 * A real board queues three status messages and drops the oldest:
	 * edges the phone makes faster than the host polls can merge.
	 */
	if (slot_backend_usb())
		EXPECT_GE(st.resets, 1);
	else
		EXPECT_EQ(2, st.resets);
	EXPECT_EQ(0, st.errors);
	EXPECT_GE(st.up_peak, 1);
	EXPECT_GT(st.bytes_up, 0);
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_RESET_STATS));
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_STATS, &st));
	EXPECT_EQ(0, st.resets);
	EXPECT_EQ(0, st.up_peak);
}

KTAP_MAIN
