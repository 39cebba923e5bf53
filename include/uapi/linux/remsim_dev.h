/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * remsim_dev.h - the ABI of the remsim slot character devices /dev/remsimN.
 *
 * One device is one SIM socket of one modem ("slot"). Its owner - the one
 * process that has it open; a second open() fails with EBUSY - exchanges
 * *messages* with it:
 *
 * - read() returns exactly one message: a struct remsim_msg_hdr followed by
 *   hdr.len bytes of payload. A buffer too small for the next message fails
 *   with EMSGSIZE and the message stays queued. read() blocks until a message
 *   is queued unless the file is O_NONBLOCK (EAGAIN).
 * - write() takes exactly one message (header and payload in one buffer).
 *   It blocks while the queue towards the modem is full unless O_NONBLOCK.
 * - poll(): EPOLLIN when a message can be read, EPOLLPRI when an
 *   out-of-band message (signals, PPS, card insert, error) is among the
 *   queued ones, EPOLLOUT when a write would not block, EPOLLHUP|EPOLLERR
 *   once the slot is gone (board unplugged, simulated slot deleted); every
 *   call then fails with ENODEV.
 *
 * In APDU mode (the default) the kernel runs the ISO 7816-3 T=0 exchange
 * with the modem: the owner reads whole command APDUs (REMSIM_MSG_APDU) and
 * answers each with one REMSIM_MSG_RESPONSE carrying the APDU's sequence
 * number, the response data and SW1 SW2. In raw mode the owner sees TPDU
 * headers and data and answers with procedure bytes, data and status words
 * itself.
 *
 * Every struct here has a fixed layout with explicit padding; reserved
 * fields and unknown flag bits must be zero (EINVAL otherwise). Unknown
 * ioctls fail with ENOTTY.
 */
#ifndef _UAPI_LINUX_REMSIM_DEV_H
#define _UAPI_LINUX_REMSIM_DEV_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Incremented whenever this header gains messages, ioctls or flags. */
#define REMSIM_API_VERSION	1

/**
 * struct remsim_msg_hdr - the header of every message
 * @type: enum remsim_msg_type
 * @flags: type-specific flags; zero where a type defines none
 * @len: payload bytes following the header
 * @seq: sequence number: per slot and increasing for messages read from
 *	the slot; a REMSIM_MSG_RESPONSE carries the seq of its APDU; zero in
 *	other messages written to the slot
 * @timestamp_ns: CLOCK_MONOTONIC time the kernel queued the message (zero
 *	in messages written to the slot)
 */
struct remsim_msg_hdr {
	__u16 type;
	__u16 flags;
	__u32 len;
	__u64 seq;
	__u64 timestamp_ns;
};

/* The longest payload of any message, and so the read() buffer that fits all. */
#define REMSIM_MSG_MAX_PAYLOAD	272
#define REMSIM_MSG_MAX		(sizeof(struct remsim_msg_hdr) + REMSIM_MSG_MAX_PAYLOAD)

/**
 * enum remsim_msg_type - message types
 * @REMSIM_MSG_APDU: (read) a complete command APDU from the modem,
 *	payload struct remsim_apdu. Answer it with REMSIM_MSG_RESPONSE.
 * @REMSIM_MSG_SIGNALS: (read, out-of-band) the modem changed VCC, RST or
 *	CLK; payload struct remsim_signals
 * @REMSIM_MSG_PPS: (read, out-of-band) the modem negotiated PPS; payload
 *	struct remsim_pps
 * @REMSIM_MSG_CARD_INSERT: (read, out-of-band) the board applied a card
 *	insert or remove (REMSIM_IOC_CARD_INSERT); payload struct remsim_card
 * @REMSIM_MSG_ERROR: (read, out-of-band) something went wrong with the
 *	exchange; payload struct remsim_error
 * @REMSIM_MSG_TPDU_HEADER: (read, raw mode) a TPDU header: CLA INS P1 P2 P3
 * @REMSIM_MSG_TPDU_DATA: (read, raw mode) command data the modem sent after
 *	a REMSIM_MSG_TPDU_PROC
 * @REMSIM_MSG_RESPONSE: (write, APDU mode) the answer to the APDU whose seq
 *	the header carries: response data (at most the APDU's le bytes) then
 *	SW1 SW2. EINVAL for a malformed status word, ESTALE when that APDU is
 *	no longer waiting (the modem reset, or it was answered already).
 * @REMSIM_MSG_TPDU_PROC: (write, raw mode) one procedure byte; the modem's
 *	command data follow as REMSIM_MSG_TPDU_DATA
 * @REMSIM_MSG_TPDU_SEND: (write, raw mode) a procedure byte and response
 *	data to send to the modem
 * @REMSIM_MSG_TPDU_STATUS: (write, raw mode) SW1 SW2; ends the TPDU
 */
enum remsim_msg_type {
	REMSIM_MSG_UNSPEC,
	REMSIM_MSG_APDU,
	REMSIM_MSG_SIGNALS,
	REMSIM_MSG_PPS,
	REMSIM_MSG_CARD_INSERT,
	REMSIM_MSG_ERROR,
	REMSIM_MSG_TPDU_HEADER,
	REMSIM_MSG_TPDU_DATA,

	REMSIM_MSG_RESPONSE = 32,
	REMSIM_MSG_TPDU_PROC,
	REMSIM_MSG_TPDU_SEND,
	REMSIM_MSG_TPDU_STATUS,
};

/**
 * enum remsim_apdu_case - ISO 7816-4 command cases
 * @REMSIM_CASE_1: no command data, no response data
 * @REMSIM_CASE_2: response data only (le bytes, P3 = 0 means 256)
 * @REMSIM_CASE_3: command data only (lc = P3 bytes)
 * @REMSIM_CASE_4: command and response data; on T=0 the response data
 *	come through 61xx and GET RESPONSE, so the answer is SW1 SW2 only
 */
enum remsim_apdu_case {
	REMSIM_CASE_1 = 1,
	REMSIM_CASE_2,
	REMSIM_CASE_3,
	REMSIM_CASE_4,
};

/**
 * struct remsim_apdu - payload of REMSIM_MSG_APDU
 * @apdu_case: enum remsim_apdu_case, decided from the class and instruction
 *	tables of ISO 7816-4, ETSI TS 102 221, 3GPP TS 51.011 and GlobalPlatform
 * @reserved0: zero
 * @lc: bytes of command data in @tpdu after the 5-byte header
 * @le: bytes of response data the modem expects (case 2), else zero
 * @reserved1: zero
 * @tpdu: CLA INS P1 P2 P3 and @lc bytes of command data, as the card gets it
 */
struct remsim_apdu {
	__u8 apdu_case;
	__u8 reserved0;
	__u16 lc;
	__u16 le;
	__u16 reserved1;
	__u8 tpdu[];
};

/* Signal bits of struct remsim_signals and struct remsim_status. */
#define REMSIM_SIG_VCC		(1U << 0)	/* the modem powers the SIM */
#define REMSIM_SIG_RST		(1U << 1)	/* the modem holds the SIM in reset */
#define REMSIM_SIG_CLK		(1U << 2)	/* the modem clocks the SIM */
#define REMSIM_SIG_CARD		(1U << 3)	/* the board reports a card present */
#define __REMSIM_SIG_ALL	(REMSIM_SIG_VCC | REMSIM_SIG_RST | REMSIM_SIG_CLK | REMSIM_SIG_CARD)

/**
 * struct remsim_signals - payload of REMSIM_MSG_SIGNALS
 * @state: REMSIM_SIG_* after the change
 * @changed: REMSIM_SIG_* that changed since the previous message; changes
 *	that find the owner's queue full are merged into the newest unread
 *	message, so a line in @changed whose @state is what it was before
 *	pulsed (at least once)
 * @voltage_mv: SIM supply voltage on boards that measure it, else zero
 * @fi: F index (ISO 7816-3 table 7) in use
 * @di: D index (table 8) in use
 * @wi: waiting integer in use
 * @reserved0: zero
 * @waiting_time: waiting time in ETU
 * @reserved1: zero
 */
struct remsim_signals {
	__u32 state;
	__u32 changed;
	__u16 voltage_mv;
	__u8 fi;
	__u8 di;
	__u8 wi;
	__u8 reserved0[3];
	__u32 waiting_time;
	__u32 reserved1;
};

/**
 * struct remsim_pps - payload of REMSIM_MSG_PPS
 * @len: bytes of @req and @resp in use
 * @req: the modem's PPS request (PPSS PPS0 [PPS1 PPS2 PPS3] PCK)
 * @resp: the answer it got
 * @fi: F index in use from now on
 * @di: D index in use from now on
 * @reserved: zero
 */
struct remsim_pps {
	__u8 len;
	__u8 req[6];
	__u8 resp[6];
	__u8 fi;
	__u8 di;
	__u8 reserved;
};

/**
 * struct remsim_card - card presence: payload of REMSIM_MSG_CARD_INSERT and
 * argument of REMSIM_IOC_CARD_INSERT
 * @inserted: 1 inserted, 0 removed
 * @flags: zero
 */
struct remsim_card {
	__u32 inserted;
	__u32 flags;
};

/**
 * enum remsim_error_code - what a REMSIM_MSG_ERROR reports
 * @REMSIM_ERR_ABORTED: the modem reset or powered down before the APDU
 *	@ref_seq was answered; it will not be answered
 * @REMSIM_ERR_RESPONSE_LENGTH: the response to @ref_seq had more or less
 *	data than the modem asked for; the modem got 6Cxx with the length
 *	the response had, so it asks again with the right one
 * @REMSIM_ERR_RESPONSE_DATA: the response to @ref_seq carried data where T=0
 *	allows none (case 1, 3, 4); the modem got 6F00 (@sw)
 * @REMSIM_ERR_UNKNOWN_INS: a command whose case cannot be known; the modem
 *	got 6D00 (@sw)
 * @REMSIM_ERR_PROTOCOL: the modem (or board) broke the T=0 order: data
 *	without a procedure byte, more data than P3, a header while an APDU
 *	was waiting (that APDU is aborted)
 * @REMSIM_ERR_ABANDONED: the owner closed the slot while APDU @ref_seq was
 *	read but not answered; the modem got 6F00 (@sw) so that it retries
 * @REMSIM_ERR_TIMEOUT: APDU @ref_seq was not answered within the apdu_timeout
 *	module parameter; the modem got 6F00 (@sw)
 * @REMSIM_ERR_BOARD: the board sent something invalid, or lost its state (a
 *	USB reset or suspend rebooted it; the exchange in progress was aborted
 *	as by a modem reset); see the statistics
 */
enum remsim_error_code {
	REMSIM_ERR_ABORTED = 1,
	REMSIM_ERR_RESPONSE_LENGTH,
	REMSIM_ERR_RESPONSE_DATA,
	REMSIM_ERR_UNKNOWN_INS,
	REMSIM_ERR_PROTOCOL,
	REMSIM_ERR_ABANDONED,
	REMSIM_ERR_TIMEOUT,
	REMSIM_ERR_BOARD,
};

/**
 * struct remsim_error - payload of REMSIM_MSG_ERROR
 * @code: enum remsim_error_code
 * @sw: the status word the modem got instead, or zero
 * @reserved0: zero
 * @ref_seq: the APDU concerned, or zero
 */
struct remsim_error {
	__u32 code;
	__u16 sw;
	__u16 reserved0;
	__u64 ref_seq;
};

/* ---------------------------------------------------------------- ioctls */

#define REMSIM_IOC_MAGIC	0xBC

/* enum remsim_backend: what a slot is */
#define REMSIM_BACKEND_USB	1	/* a SIMtrace2-family card-emulation interface */
#define REMSIM_BACKEND_SIM	2	/* a simulated slot (remsim_sim.ko) */

/* Feature bits of struct remsim_info */
#define REMSIM_FEAT_RAW_MODE	(1ULL << 0)	/* REMSIM_IOC_SET_MODE raw */
#define REMSIM_FEAT_CARD_INSERT	(1ULL << 1)	/* the board drives a card-present line */
#define REMSIM_FEAT_MODEM_RESET	(1ULL << 2)	/* REMSIM_IOC_MODEM_RESET works */
#define REMSIM_FEAT_SIM_SELECT	(1ULL << 3)	/* REMSIM_IOC_SIM_SELECT works */
#define REMSIM_FEAT_VOLTAGE	(1ULL << 4)	/* the board measures VCC */

/**
 * struct remsim_info - REMSIM_IOC_GET_INFO
 * @api_version: REMSIM_API_VERSION of the running module
 * @backend: REMSIM_BACKEND_*
 * @features: REMSIM_FEAT_*
 * @index: N of /dev/remsimN
 * @interface: USB interface number, or the simulated slot's number
 * @board: board name, NUL-terminated
 * @bus_path: USB bus path of the interface ("1-1.2:1.0"), or "sim",
 *	NUL-terminated
 * @reserved: zero
 */
struct remsim_info {
	__u32 api_version;
	__u32 backend;
	__u64 features;
	__u32 index;
	__u32 interface;
	__u8 board[32];
	__u8 bus_path[64];
	__u64 reserved[4];
};

#define REMSIM_ATR_MAX		33	/* TS and 32 more bytes, ISO 7816-3 */

/* struct remsim_atr flags */
#define REMSIM_ATR_F_FIX_TCK	(1U << 0)	/* compute TCK instead of checking it */
#define __REMSIM_ATR_F_ALL	REMSIM_ATR_F_FIX_TCK

/**
 * struct remsim_atr - REMSIM_IOC_SET_ATR and REMSIM_IOC_GET_ATR
 * @flags: REMSIM_ATR_F_* (zero for GET)
 * @len: bytes of @atr in use, 2..REMSIM_ATR_MAX
 * @atr: the answer to reset the modem gets at its next reset. SET checks
 *	TS, the interface bytes against @len and TCK (present and right when
 *	any protocol other than T=0 is offered): EINVAL otherwise.
 * @reserved: zero
 */
struct remsim_atr {
	__u32 flags;
	__u32 len;
	__u8 atr[REMSIM_ATR_MAX];
	__u8 reserved[7];
};

/* enum remsim_t0_state, in struct remsim_status and netlink */
#define REMSIM_T0_IDLE		0	/* waiting for a TPDU header */
#define REMSIM_T0_RX_DATA	1	/* receiving command data from the modem */
#define REMSIM_T0_WAIT_OWNER	2	/* an APDU waits for the owner's response */
#define REMSIM_T0_RAW		3	/* raw mode: the owner runs T=0 */

/* REMSIM_IOC_SET_MODE modes */
#define REMSIM_MODE_APDU	0
#define REMSIM_MODE_RAW		1

/**
 * struct remsim_status - REMSIM_IOC_GET_STATUS
 * @signals: REMSIM_SIG_*
 * @voltage_mv: measured SIM supply, or zero
 * @fi: F index in use
 * @di: D index in use
 * @wi: waiting integer
 * @t0_state: REMSIM_T0_*
 * @mode: REMSIM_MODE_*
 * @card_inserted: what the last REMSIM_IOC_CARD_INSERT asked for
 * @waiting_time: waiting time in ETU
 * @up_queued: messages waiting to be read
 * @down_queued: messages waiting to go to the modem
 * @reserved: zero
 */
struct remsim_status {
	__u32 signals;
	__u16 voltage_mv;
	__u8 fi;
	__u8 di;
	__u8 wi;
	__u8 t0_state;
	__u8 mode;
	__u8 card_inserted;
	__u32 waiting_time;
	__u32 up_queued;
	__u32 down_queued;
	__u64 reserved[2];
};

/**
 * struct remsim_stats - REMSIM_IOC_GET_STATS; all counters since the slot
 * appeared or the last REMSIM_IOC_RESET_STATS
 * @apdus: command APDUs (raw mode: TPDU headers) queued to the owner
 * @responses: responses the modem got from the owner
 * @bytes_up: payload bytes queued to the owner
 * @bytes_down: payload bytes written by the owner
 * @resets: reset assertions by the modem
 * @power_cycles: VCC off edges
 * @pps: PPS exchanges
 * @errors: REMSIM_MSG_ERROR messages queued, all codes
 * @protocol_errors: REMSIM_ERR_PROTOCOL and REMSIM_ERR_UNKNOWN_INS
 * @response_errors: REMSIM_ERR_RESPONSE_LENGTH and REMSIM_ERR_RESPONSE_DATA
 * @aborted: APDUs aborted by a modem reset or power-down
 * @abandoned: APDUs the owner read and never answered
 * @timeouts: APDUs answered by the apdu_timeout
 * @stale_responses: responses refused with ESTALE
 * @board_errors: invalid messages from the board, and times it lost its state
 * @up_peak: the most messages ever queued to the owner at once
 * @down_peak: the most messages ever queued to the modem at once
 * @up_backpressure: times the queue to the owner was full and its
 *	producer (the modem side) had to wait
 * @down_backpressure: times a write had to wait for room
 * @signals_merged: line changes merged into an unread REMSIM_MSG_SIGNALS
 *	because the queue to the owner was full
 * @reserved: zero
 */
struct remsim_stats {
	__u64 apdus;
	__u64 responses;
	__u64 bytes_up;
	__u64 bytes_down;
	__u64 resets;
	__u64 power_cycles;
	__u64 pps;
	__u64 errors;
	__u64 protocol_errors;
	__u64 response_errors;
	__u64 aborted;
	__u64 abandoned;
	__u64 timeouts;
	__u64 stale_responses;
	__u64 board_errors;
	__u64 up_peak;
	__u64 down_peak;
	__u64 up_backpressure;
	__u64 down_backpressure;
	__u64 signals_merged;
	__u64 reserved[4];
};

/**
 * struct remsim_mode - REMSIM_IOC_SET_MODE
 * @mode: REMSIM_MODE_APDU or REMSIM_MODE_RAW (needs REMSIM_FEAT_RAW_MODE);
 *	changing it aborts an APDU in progress
 * @flags: zero
 */
struct remsim_mode {
	__u32 mode;
	__u32 flags;
};

/* struct remsim_modem_reset actions */
#define REMSIM_MODEM_RESET_RELEASE	0
#define REMSIM_MODEM_RESET_ASSERT	1
#define REMSIM_MODEM_RESET_PULSE	2

/**
 * struct remsim_modem_reset - REMSIM_IOC_MODEM_RESET: drive the modem's
 * reset line, where the board has one (EOPNOTSUPP otherwise)
 * @action: REMSIM_MODEM_RESET_*
 * @pulse_ms: pulse length for REMSIM_MODEM_RESET_PULSE, 1..65535
 */
struct remsim_modem_reset {
	__u32 action;
	__u32 pulse_ms;
};

/**
 * struct remsim_sim_select - REMSIM_IOC_SIM_SELECT: connect the modem to
 * the emulated (remote) SIM or to the SIM in the board's own socket
 * @remote: 1 remote (emulated), 0 local
 * @flags: zero
 */
struct remsim_sim_select {
	__u32 remote;
	__u32 flags;
};

#define REMSIM_IOC_GET_INFO	_IOR(REMSIM_IOC_MAGIC, 0x00, struct remsim_info)
#define REMSIM_IOC_SET_ATR	_IOW(REMSIM_IOC_MAGIC, 0x01, struct remsim_atr)
#define REMSIM_IOC_GET_ATR	_IOR(REMSIM_IOC_MAGIC, 0x02, struct remsim_atr)
#define REMSIM_IOC_CARD_INSERT	_IOW(REMSIM_IOC_MAGIC, 0x03, struct remsim_card)
#define REMSIM_IOC_GET_STATUS	_IOR(REMSIM_IOC_MAGIC, 0x04, struct remsim_status)
#define REMSIM_IOC_GET_STATS	_IOR(REMSIM_IOC_MAGIC, 0x05, struct remsim_stats)
#define REMSIM_IOC_RESET_STATS	_IO(REMSIM_IOC_MAGIC, 0x06)
#define REMSIM_IOC_SET_MODE	_IOW(REMSIM_IOC_MAGIC, 0x07, struct remsim_mode)
#define REMSIM_IOC_MODEM_RESET	_IOW(REMSIM_IOC_MAGIC, 0x08, struct remsim_modem_reset)
#define REMSIM_IOC_SIM_SELECT	_IOW(REMSIM_IOC_MAGIC, 0x09, struct remsim_sim_select)

#endif /* _UAPI_LINUX_REMSIM_DEV_H */
