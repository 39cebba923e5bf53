/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RSPRO, osmo-remsim's remote SIM protocol: every PDU as a plain C value,
 * DER encoding and checked BER decoding. The ASN.1 compiler's structures stay
 * inside the library; daemons only see these types.
 */
#ifndef REMSIM_RSPRO_H
#define REMSIM_RSPRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RSPRO_VERSION		2	/* what every sender puts in the header */
#define RSPRO_ID_MAX		1023	/* client, bank and slot numbers */
#define RSPRO_NAME_MAX		32	/* ComponentName */
#define RSPRO_ERRSTR_MAX	255	/* ErrorString */
#define RSPRO_ATR_MAX		55
/*
 * The ASN.1 puts no bound on TPDU data; osmo-remsim cannot encode a PDU of
 * more than about 1016 bytes. This is what we accept and send.
 */
#define RSPRO_DATA_MAX		1024
/* Room for the largest PDU this library encodes. */
#define RSPRO_PDU_MAX		2048
/* The tag osmo-remsim puts on every ConnectClientRes. */
#define RSPRO_TAG_CONNECT_CLIENT_RES	2342

/* The PDU choice, named as in the ASN.1; the value is the context tag. */
enum rspro_msg {
	RSPRO_CONNECT_BANK_REQ		= 0,
	RSPRO_CONNECT_BANK_RES		= 1,
	RSPRO_CONNECT_CLIENT_REQ	= 2,
	RSPRO_CONNECT_CLIENT_RES	= 3,
	RSPRO_CREATE_MAPPING_REQ	= 4,
	RSPRO_CREATE_MAPPING_RES	= 5,
	RSPRO_REMOVE_MAPPING_REQ	= 6,
	RSPRO_REMOVE_MAPPING_RES	= 7,
	RSPRO_CONFIG_CLIENT_ID_REQ	= 8,
	RSPRO_CONFIG_CLIENT_ID_RES	= 9,
	RSPRO_SET_ATR_REQ		= 10,
	RSPRO_SET_ATR_RES		= 11,
	RSPRO_TPDU_MODEM_TO_CARD	= 12,
	RSPRO_TPDU_CARD_TO_MODEM	= 13,
	RSPRO_CLIENT_SLOT_STATUS_IND	= 14,
	RSPRO_BANK_SLOT_STATUS_IND	= 15,
	RSPRO_ERROR_IND			= 16,
	RSPRO_CONFIG_CLIENT_BANK_REQ	= 17,
	RSPRO_CONFIG_CLIENT_BANK_RES	= 18,
	RSPRO_RESET_STATE_REQ		= 19,
	RSPRO_RESET_STATE_RES		= 20,
	RSPRO_MSG_COUNT
};

enum rspro_component {
	RSPRO_COMP_CLIENT	= 0,
	RSPRO_COMP_SERVER	= 1,
	RSPRO_COMP_BANKD	= 2,
};

/* ResultCode is extensible: a peer may send values not listed here. */
enum rspro_result {
	RSPRO_OK			= 0,
	RSPRO_ILLEGAL_CLIENT_ID		= 1,
	RSPRO_ILLEGAL_BANK_ID		= 2,
	RSPRO_ILLEGAL_SLOT_ID		= 3,
	RSPRO_UNSUPPORTED_PROTOCOL	= 4,
	RSPRO_UNKNOWN_SLOTMAP		= 5,
	RSPRO_IDENTITY_IN_USE		= 6,
	RSPRO_CARD_NOT_PRESENT		= 100,
	RSPRO_CARD_UNRESPONSIVE		= 101,
	RSPRO_CARD_TRANSMISSION_ERROR	= 102,
};

enum rspro_error_code {
	RSPRO_ERR_UNKNOWN_CLIENT_CONNECTED	= 1,
	RSPRO_ERR_UNEXPECTED_DISCONNECT		= 2,
	RSPRO_ERR_UNEXPECTED_PROTOCOL_VERSION	= 3,
};

enum rspro_severity {
	RSPRO_SEV_MINOR	= 1,
	RSPRO_SEV_MAJOR	= 2,
	RSPRO_SEV_FATAL	= 3,
};

/* Strings are NUL-terminated; an empty optional string is absent. */
struct rspro_identity {
	enum rspro_component type;
	char name[RSPRO_NAME_MAX + 1];
	char software[RSPRO_NAME_MAX + 1];
	char sw_version[RSPRO_NAME_MAX + 1];
	char hw_manufacturer[RSPRO_NAME_MAX + 1];
	char hw_model[RSPRO_NAME_MAX + 1];
	char hw_serial[RSPRO_NAME_MAX + 1];
	char hw_version[RSPRO_NAME_MAX + 1];
	char fw_version[RSPRO_NAME_MAX + 1];
};

struct rspro_client_slot {
	uint16_t client_id;
	uint16_t slot_nr;
};

struct rspro_bank_slot {
	uint16_t bank_id;
	uint16_t slot_nr;
};

struct rspro_ip_port {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network byte order; 4 bytes for AF_INET */
	uint16_t port;
};

struct rspro_tpdu_flags {
	bool header_present;
	bool final_part;
	bool proc_continue_tx;
	bool proc_continue_rx;
};

/* Tri-state line levels: RSPRO_UNKNOWN leaves the optional field out. */
#define RSPRO_UNKNOWN	(-1)

struct rspro_slot_phys {
	int8_t reset_active;	/* mandatory: 0 or 1 */
	int8_t vcc_present;
	int8_t clk_active;
	int8_t card_present;
};

/*
 * remsim's extension ConnectBankReq.cardInfo: what is in one bank slot's
 * reader. Empty strings are absent (not read, or not readable without PIN).
 */
#define RSPRO_READER_MAX	128
#define RSPRO_ICCID_MAX		20
#define RSPRO_IMSI_MAX		15

struct rspro_card_info {
	uint16_t slot_nr;
	bool present;
	char reader[RSPRO_READER_MAX + 1];
	char iccid[RSPRO_ICCID_MAX + 1];	/* digits */
	char imsi[RSPRO_IMSI_MAX + 1];		/* digits */
	bool has_apdus;
	uint32_t apdus;		/* answered by this slot's card since bankd started */
	/* the card's answer time on this slot since bankd started, in us */
	bool has_card_time;
	uint32_t card_time_p50_us;
	uint32_t card_time_p99_us;
};

/* remsim's extension ConnectClientReq.modemPath: udev's ID_PATH of the slot */
#define RSPRO_MODEM_PATH_MAX	128

struct rspro_tpdu {
	struct rspro_client_slot client;
	struct rspro_bank_slot bank;
	struct rspro_tpdu_flags flags;
	uint16_t len;
	uint8_t data[RSPRO_DATA_MAX];
};

struct rspro_pdu {
	uint8_t version;
	uint32_t tag;
	enum rspro_msg msg;
	union {
		struct {
			struct rspro_identity identity;
			uint16_t bank_id;
			uint16_t num_slots;
			/* remsim's extension: where clients reach this bankd */
			bool has_bankd_addr;
			struct rspro_ip_port bankd_addr;
			/* remsim's extension: one slot's card inventory */
			bool has_card_info;
			struct rspro_card_info card_info;
		} connect_bank_req;
		/* ConnectBankRes and ConnectClientRes */
		struct {
			struct rspro_identity identity;
			int32_t result;
		} connect_res;
		struct {
			struct rspro_identity identity;
			bool has_slot;
			struct rspro_client_slot slot;
			/* remsim's extension: the modem slot's by-path name ("": none) */
			char modem_path[RSPRO_MODEM_PATH_MAX + 1];
		} connect_client_req;
		/* CreateMappingReq and RemoveMappingReq */
		struct {
			struct rspro_client_slot client;
			struct rspro_bank_slot bank;
		} mapping;
		/* every *Res that carries only a result */
		int32_t result;
		struct rspro_client_slot config_client_id;
		struct {
			struct rspro_bank_slot bank;
			struct rspro_ip_port bankd;
		} config_client_bank;
		struct {
			struct rspro_client_slot slot;
			uint8_t len;
			uint8_t atr[RSPRO_ATR_MAX];
		} set_atr;
		/* both directions: the slots say who sent it to whom */
		struct rspro_tpdu tpdu;
		/* ClientSlotStatusInd and BankSlotStatusInd */
		struct {
			struct rspro_client_slot client;
			struct rspro_bank_slot bank;
			struct rspro_slot_phys phys;
		} slot_status;
		struct {
			enum rspro_component sender;
			int32_t severity;
			int32_t code;
			bool has_bank_slot;
			bool has_client_slot;
			struct rspro_bank_slot bank;
			struct rspro_client_slot client;
			char text[RSPRO_ERRSTR_MAX + 1];
		} error_ind;
	};
};

/* Why a PDU did not decode or encode: a sentence for logs and users. */
struct rspro_error {
	char msg[160];
};

/*
 * DER encodes @pdu into @buf after checking every constraint. Returns the
 * length, or -EINVAL (a value out of range) or -ENOSPC (buffer too small)
 * with the reason in @err (may be NULL).
 */
int rspro_encode(const struct rspro_pdu *pdu, uint8_t *buf, size_t size,
		 struct rspro_error *err);

/*
 * BER decodes exactly one PDU filling all of @buf. Returns 0, -EBADMSG for
 * malformed input, a violated constraint or bytes after the PDU, or -ENOMSG
 * for a well-formed PDU of a choice this version does not know (a newer
 * peer); @err says which.
 */
int rspro_decode(const uint8_t *buf, size_t len, struct rspro_pdu *pdu,
		 struct rspro_error *err);

/* Names as in the ASN.1 ("tpduModemToCard", "identityInUse"). */
const char *rspro_msg_name(enum rspro_msg msg);
const char *rspro_result_name(int32_t result);
const char *rspro_component_name(enum rspro_component type);

/*
 * Writes @pdu as one line of JSON (no newline) with every field; returns
 * the length as snprintf does.
 */
int rspro_to_json(const struct rspro_pdu *pdu, char *buf, size_t size);

/* --- building PDUs: each clears @pdu and sets version 2 and tag 0 --- */

void rspro_identity_init(struct rspro_identity *id, enum rspro_component type,
			 const char *name, const char *software,
			 const char *sw_version);
/*
 * This host's identity as a daemon gives it: the host name as its name
 * (@software when the host has none), @software and @sw_version.
 */
void rspro_identity_local(struct rspro_identity *id, enum rspro_component type,
			  const char *software, const char *sw_version);

void rspro_connect_bank_req(struct rspro_pdu *pdu,
			    const struct rspro_identity *id, uint16_t bank_id,
			    uint16_t num_slots);
void rspro_connect_bank_res(struct rspro_pdu *pdu,
			    const struct rspro_identity *id, int32_t result);
void rspro_connect_client_req(struct rspro_pdu *pdu,
			      const struct rspro_identity *id,
			      const struct rspro_client_slot *slot);
/* Uses tag 2342 as osmo-remsim does. */
void rspro_connect_client_res(struct rspro_pdu *pdu,
			      const struct rspro_identity *id, int32_t result);
void rspro_create_mapping_req(struct rspro_pdu *pdu,
			      struct rspro_client_slot client,
			      struct rspro_bank_slot bank);
void rspro_remove_mapping_req(struct rspro_pdu *pdu,
			      struct rspro_client_slot client,
			      struct rspro_bank_slot bank);
void rspro_config_client_id_req(struct rspro_pdu *pdu,
				struct rspro_client_slot slot);
void rspro_config_client_bank_req(struct rspro_pdu *pdu,
				  struct rspro_bank_slot bank,
				  const struct rspro_ip_port *bankd);
/* Any of the *Res messages that carry only a result. */
void rspro_result_res(struct rspro_pdu *pdu, enum rspro_msg msg,
		      int32_t result);
void rspro_set_atr_req(struct rspro_pdu *pdu, struct rspro_client_slot slot,
		       const uint8_t *atr, size_t len);
/* RSPRO_TPDU_MODEM_TO_CARD or RSPRO_TPDU_CARD_TO_MODEM; len <= RSPRO_DATA_MAX */
void rspro_tpdu(struct rspro_pdu *pdu, enum rspro_msg msg,
		struct rspro_client_slot client, struct rspro_bank_slot bank,
		const uint8_t *data, size_t len);
/* RSPRO_CLIENT_SLOT_STATUS_IND or RSPRO_BANK_SLOT_STATUS_IND */
void rspro_slot_status_ind(struct rspro_pdu *pdu, enum rspro_msg msg,
			   struct rspro_client_slot client,
			   struct rspro_bank_slot bank,
			   const struct rspro_slot_phys *phys);
void rspro_reset_state_req(struct rspro_pdu *pdu);
void rspro_error_ind(struct rspro_pdu *pdu, enum rspro_component sender,
		     enum rspro_severity severity, enum rspro_error_code code,
		     const char *text);

/*
 * remsim's extensions to the module (Documentation/rspro.rst): an element
 * osmo-remsim's RSPRO module does not define goes only to a peer that said
 * it understands it. A peer says so in its identity's hwModel, a field of
 * osmo's module that osmo-remsim never fills: "remsim-ext:" and the names,
 * separated by commas.
 */
#define RSPRO_EXT_PREFIX	"remsim-ext:"
/* ConnectBankReq.bankdAddress: the server understands it */
#define RSPRO_EXT_BANKD_ADDR	"addr"
/* ConnectBankReq.cardInfo: the server keeps the bank's card inventory */
#define RSPRO_EXT_CARDS		"cards"
/* ConnectClientReq.modemPath: the server shows the client's modem slot */
#define RSPRO_EXT_PATH		"path"
/*
 * No new element: a client that keeps a live bankd session on an unchanged
 * ConfigClientBankReq and connects at once on one while its link waits out
 * the back-off; the server then tells it again when its bankd is back.
 */
#define RSPRO_EXT_RETELL	"retell"

/* Sets hwModel to announce @names ("addr" or "addr,x"); -EINVAL if too long. */
int rspro_identity_set_exts(struct rspro_identity *id, const char *names);
/* Whether @id announces the extension @name. */
bool rspro_identity_has_ext(const struct rspro_identity *id, const char *name);

/* "192.168.1.10:9999" or "[2001:db8::1]:9999"; -EINVAL on bad input. */
int rspro_ip_port_parse(struct rspro_ip_port *ipp, const char *text);
int rspro_ip_port_format(const struct rspro_ip_port *ipp, char *buf,
			 size_t size);
/*
 * A server address as an operator writes it, the first @len bytes of
 * @text: "HOST", "HOST:PORT", "[V6]:PORT", "[V6]" or a bare IPv6 address
 * (more than one colon: no port); @dflt when it names no port. 0, or
 * -EINVAL for an empty host, one that does not fit, or a port not 1..65535.
 */
int rspro_host_port_split(const char *text, size_t len, uint16_t dflt, char *host,
			  size_t hostsize, uint16_t *port);
/* Only the address, as getaddrinfo() takes it; -EINVAL on a bad family. */
int rspro_ip_port_host(const struct rspro_ip_port *ipp, char *buf, size_t size);

#endif
