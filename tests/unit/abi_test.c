// SPDX-License-Identifier: GPL-2.0
/*
 * abi_test - the layout of every uapi struct, seen from user space: the
 * same sizes and offsets the module asserts at build time (chardev.c), so
 * a 32-bit or differently packed build of either side would not compile.
 */
#include <stddef.h>
#include <linux/remsim.h>
#include <linux/remsim_dev.h>

#include "ktap.h"

#define LAYOUT(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#define AT(type, field, off) _Static_assert(offsetof(type, field) == (off), #type "." #field)

LAYOUT(struct remsim_msg_hdr, 24);
AT(struct remsim_msg_hdr, len, 4);
AT(struct remsim_msg_hdr, seq, 8);
AT(struct remsim_msg_hdr, timestamp_ns, 16);
LAYOUT(struct remsim_apdu, 8);
AT(struct remsim_apdu, lc, 2);
AT(struct remsim_apdu, le, 4);
AT(struct remsim_apdu, tpdu, 8);
LAYOUT(struct remsim_signals, 24);
AT(struct remsim_signals, voltage_mv, 8);
AT(struct remsim_signals, waiting_time, 16);
LAYOUT(struct remsim_pps, 16);
AT(struct remsim_pps, resp, 7);
LAYOUT(struct remsim_card, 8);
LAYOUT(struct remsim_error, 16);
AT(struct remsim_error, ref_seq, 8);
LAYOUT(struct remsim_info, 152);
AT(struct remsim_info, features, 8);
AT(struct remsim_info, board, 24);
AT(struct remsim_info, bus_path, 56);
AT(struct remsim_info, reserved, 120);
LAYOUT(struct remsim_atr, 48);
AT(struct remsim_atr, atr, 8);
LAYOUT(struct remsim_status, 40);
AT(struct remsim_status, waiting_time, 12);
AT(struct remsim_status, reserved, 24);
LAYOUT(struct remsim_stats, 192);
LAYOUT(struct remsim_mode, 8);
LAYOUT(struct remsim_modem_reset, 8);
LAYOUT(struct remsim_sim_select, 8);

/* The ioctl numbers are ABI too: type, number and size. */
TEST(ioctl_numbers)
{
	EXPECT_EQ(0x8098bc00, REMSIM_IOC_GET_INFO);
	EXPECT_EQ(REMSIM_IOC_MAGIC, _IOC_TYPE(REMSIM_IOC_SIM_SELECT));
	EXPECT_EQ(9, _IOC_NR(REMSIM_IOC_SIM_SELECT));
	EXPECT_EQ(sizeof(struct remsim_atr), _IOC_SIZE(REMSIM_IOC_SET_ATR));
	EXPECT_EQ(_IOC_WRITE, _IOC_DIR(REMSIM_IOC_SET_ATR));
	EXPECT_EQ(_IOC_READ, _IOC_DIR(REMSIM_IOC_GET_STATS));
	EXPECT_EQ(_IOC_NONE, _IOC_DIR(REMSIM_IOC_RESET_STATS));
}

TEST(netlink_numbers)
{
	/* Numbered from 1, never renumbered. */
	EXPECT_EQ(1, REMSIM_CMD_SLOT_GET);
	EXPECT_EQ(10, REMSIM_CMD_SLOT_ERROR_NTF);
	EXPECT_EQ(2, REMSIM_A_SLOT_INDEX);
	EXPECT_EQ(16, REMSIM_A_SLOT_ERROR);
	EXPECT_EQ(17, REMSIM_A_SLOT_LIMITED);
	EXPECT_EQ(6, REMSIM_MAP_A_BANKD_PORT);
	EXPECT_EQ(20, REMSIM_STATS_A_DOWN_BACKPRESSURE);
	EXPECT_EQ(21, REMSIM_STATS_A_SIGNALS_MERGED);
}

KTAP_MAIN
