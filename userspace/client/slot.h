/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One client slot of remsim-client: its link to the server, the bankd the
 * server names, and the APDUs between a frontend (a /dev/remsimN slot, the
 * shell's stdin) and the card. osmo-remsim's CLIENT_MAIN machine:
 * UNCONFIGURED -> WAIT_BANKD -> OPERATIONAL.
 *
 * Exactly once: at most one command is out at a time; if the bankd link
 * breaks before its answer, the command is reported lost to the frontend
 * (which gives the modem a status word to retry) and never sent again.
 *
 * A short outage is hidden from the modem: for apdu_timeout_ms after the
 * bankd link broke, the card stays inserted and a command from the modem
 * is held (the board keeps the modem waiting with NULL procedure bytes)
 * until the link is back, then sent (it never reached a card), or until
 * that time is up: lost then, and the card removed as before.
 */
#ifndef REMSIM_CLIENT_SLOT_H
#define REMSIM_CLIENT_SLOT_H

#include <stdbool.h>

#include "remsim/metrics.h"
#include "remsim/rspro_link.h"
#include "remsim/rspro_tls.h"

/*
 * apdu_timeout's default and limit (ms). A modem waits as long as NULL
 * procedure bytes come, up to its own APDU timer; remsim.ko answers 6F00
 * itself after its apdu_timeout parameter (60 s by default): beyond that
 * holding is of no use.
 */
#define RC_APDU_TIMEOUT_DEFAULT_MS	5000
#define RC_APDU_TIMEOUT_MAX_MS		60000

enum rc_state {
	RC_INIT,		/* the server link not yet connected once */
	RC_UNCONFIGURED,	/* no bankd assigned */
	RC_WAIT_BANKD,		/* assigned, connecting to it */
	RC_OPERATIONAL,		/* the card is there */
};

struct rc_cfg {
	char server_host[256];
	uint16_t server_port;
	struct rspro_identity identity;
	struct rspro_client_slot slot;
	uint8_t atr[RSPRO_ATR_MAX];	/* the local ATR until the card's comes */
	size_t atr_len;
	bool atr_ignore;		/* -r: keep the local ATR */
	char event_script[256];
	/* a slot on a USB board: REMSIM_USB_PATH and _INTERFACE for scripts */
	char usb_path[32];
	int usb_interface;		/* -1: not a USB slot */
	char label[40];			/* the frontend: "remsim3", "1-1.2:1.0" */
	/*
	 * The modem slot's udev ID_PATH (remsim/idpath.h), told to a server
	 * that announced RSPRO_EXT_PATH; "" when it has none (simulated, stdio).
	 */
	char modem_path[RSPRO_MODEM_PATH_MAX + 1];
	unsigned int ka_interval_ms, ka_timeout_ms;
	/* how long the card outlives a broken bankd link; 0: not at all */
	unsigned int apdu_timeout_ms;
	/* TLS credentials of the server link and the bankd links; NULL: plaintext */
	struct rspro_tls *tls_server, *tls_bankd;
};

struct rc_slot;

struct rc_frontend_ops {
	void (*set_atr)(struct rc_slot *s, const uint8_t *atr, size_t len);
	void (*card2modem)(struct rc_slot *s, const uint8_t *data, size_t len);
	/* the command out will never be answered (the bankd link broke) */
	void (*tpdu_lost)(struct rc_slot *s, const char *why);
	/* entering (true) or leaving OPERATIONAL */
	void (*operational)(struct rc_slot *s, bool on);
};

struct rc_stats {
	unsigned long tpdus, responses, lost, refused, bankd_connects;
	unsigned long held;		/* commands held over a bankd outage */
	unsigned long not_sent;		/* rc_slot_tpdu() said no: not OPERATIONAL, busy */
	unsigned long sw_6f00;		/* 6F00 to the modem: the card's, or ours on a loss */
	unsigned long server_connects;
	/* from the command's arrival to its answer: bankd, card and the way there */
	struct metrics_hist apdu;
};

void rc_cfg_default(struct rc_cfg *cfg);
/*
 * Loads the credentials @tcfg asks for (NULL in *@tls when no link runs
 * TLS) and points @cfg's links at them: 0, or -errno with @err.
 */
int rc_cfg_tls(struct rc_cfg *cfg, const struct rspro_tls_cfg *tcfg, struct rspro_tls **tls,
	       char *err, size_t errlen);
struct rc_slot *rc_slot_new(struct ev_loop *loop, const struct rc_cfg *cfg,
			    const struct rc_frontend_ops *ops, void *data);
void rc_slot_start(struct rc_slot *s);
/*
 * Instead of rc_slot_start(): the bankd is known (remsimctl map ... bank),
 * so no server is asked; the slot connects to it at once.
 */
void rc_slot_static_bank(struct rc_slot *s, struct rspro_bank_slot bank,
			 const struct rspro_ip_port *bankd);
void rc_slot_free(struct rc_slot *s);

/*
 * Sends a command TPDU (5..261 bytes) to the card, or holds it while the
 * bankd link is down (see above; a new one replaces one held): 0, its
 * answer or loss comes through the frontend ops; -ENOTCONN when the card
 * is not there, -EBUSY while a command is out, -EINVAL for a bad size.
 */
int rc_slot_tpdu(struct rc_slot *s, const uint8_t *data, size_t len);
/*
 * The frontend's modem gave up on its command (reset, power-down): a
 * command held for the bankd's return is dropped, never sent.
 */
void rc_slot_abort_held(struct rc_slot *s);
/* The modem's lines changed: clientSlotStatusInd to the bankd. */
void rc_slot_modem_status(struct rc_slot *s, const struct rspro_slot_phys *phys);

/* The frontend answered 6F00 itself (command lost or not sent). */
void rc_slot_note_6f00(struct rc_slot *s);
/* Every live slot's series, for GET /metrics. */
void rc_slots_metrics(struct metrics_out *o);
/* The slot's APDU times: "p50 X ms, p99 Y ms" or "no APDU timed", for logs. */
void rc_slot_latency_text(const struct rc_slot *s, char *buf, size_t size);

enum rc_state rc_slot_state(const struct rc_slot *s);
const char *rc_state_name(enum rc_state state);
bool rc_slot_busy(const struct rc_slot *s);
const struct rc_stats *rc_slot_stats(const struct rc_slot *s);
void *rc_slot_data(const struct rc_slot *s);
const char *rc_slot_name(const struct rc_slot *s);

#endif
