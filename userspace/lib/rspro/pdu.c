// SPDX-License-Identifier: GPL-2.0
/* Building RSPRO PDUs and naming their parts. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "remsim/rspro.h"
#include "rspro_internal.h"

pthread_mutex_t rspro_codec_lock = PTHREAD_MUTEX_INITIALIZER;

int rspro_fail(struct rspro_error *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}

const char *rspro_constraint_text(char *why)
{
	char *p = strstr(why, " (");

	if (p)
		*p = 0;
	return why;
}

/*
 * asn1c numbers the alternatives in the order the ASN.1 lists them, which
 * is not tag order: index = present - 1, value = tag.
 */
static const enum rspro_msg present_order[] = {
	RSPRO_CONNECT_BANK_REQ, RSPRO_CONNECT_BANK_RES,
	RSPRO_CONNECT_CLIENT_REQ, RSPRO_CONNECT_CLIENT_RES,
	RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES,
	RSPRO_REMOVE_MAPPING_REQ, RSPRO_REMOVE_MAPPING_RES,
	RSPRO_CONFIG_CLIENT_ID_REQ, RSPRO_CONFIG_CLIENT_ID_RES,
	RSPRO_CONFIG_CLIENT_BANK_REQ, RSPRO_CONFIG_CLIENT_BANK_RES,
	RSPRO_ERROR_IND, RSPRO_RESET_STATE_REQ, RSPRO_RESET_STATE_RES,
	RSPRO_SET_ATR_REQ, RSPRO_SET_ATR_RES,
	RSPRO_TPDU_MODEM_TO_CARD, RSPRO_TPDU_CARD_TO_MODEM,
	RSPRO_CLIENT_SLOT_STATUS_IND, RSPRO_BANK_SLOT_STATUS_IND,
};

int rspro_msg_to_present(enum rspro_msg msg)
{
	unsigned int i;

	for (i = 0; i < sizeof(present_order) / sizeof(present_order[0]); i++)
		if (present_order[i] == msg)
			return i + 1;
	return 0;
}

enum rspro_msg rspro_present_to_msg(int present)
{
	return present_order[present - 1];
}

static const char *const msg_names[RSPRO_MSG_COUNT] = {
	[RSPRO_CONNECT_BANK_REQ]	= "connectBankReq",
	[RSPRO_CONNECT_BANK_RES]	= "connectBankRes",
	[RSPRO_CONNECT_CLIENT_REQ]	= "connectClientReq",
	[RSPRO_CONNECT_CLIENT_RES]	= "connectClientRes",
	[RSPRO_CREATE_MAPPING_REQ]	= "createMappingReq",
	[RSPRO_CREATE_MAPPING_RES]	= "createMappingRes",
	[RSPRO_REMOVE_MAPPING_REQ]	= "removeMappingReq",
	[RSPRO_REMOVE_MAPPING_RES]	= "removeMappingRes",
	[RSPRO_CONFIG_CLIENT_ID_REQ]	= "configClientIdReq",
	[RSPRO_CONFIG_CLIENT_ID_RES]	= "configClientIdRes",
	[RSPRO_SET_ATR_REQ]		= "setAtrReq",
	[RSPRO_SET_ATR_RES]		= "setAtrRes",
	[RSPRO_TPDU_MODEM_TO_CARD]	= "tpduModemToCard",
	[RSPRO_TPDU_CARD_TO_MODEM]	= "tpduCardToModem",
	[RSPRO_CLIENT_SLOT_STATUS_IND]	= "clientSlotStatusInd",
	[RSPRO_BANK_SLOT_STATUS_IND]	= "bankSlotStatusInd",
	[RSPRO_ERROR_IND]		= "errorInd",
	[RSPRO_CONFIG_CLIENT_BANK_REQ]	= "configClientBankReq",
	[RSPRO_CONFIG_CLIENT_BANK_RES]	= "configClientBankRes",
	[RSPRO_RESET_STATE_REQ]		= "resetStateReq",
	[RSPRO_RESET_STATE_RES]		= "resetStateRes",
};

const char *rspro_msg_name(enum rspro_msg msg)
{
	if ((unsigned int)msg < RSPRO_MSG_COUNT)
		return msg_names[msg];
	return "unknown";
}

const char *rspro_result_name(int32_t result)
{
	switch (result) {
	case RSPRO_OK:				return "ok";
	case RSPRO_ILLEGAL_CLIENT_ID:		return "illegalClientId";
	case RSPRO_ILLEGAL_BANK_ID:		return "illegalBankId";
	case RSPRO_ILLEGAL_SLOT_ID:		return "illegalSlotId";
	case RSPRO_UNSUPPORTED_PROTOCOL:	return "unsupportedProtocolVersion";
	case RSPRO_UNKNOWN_SLOTMAP:		return "unknownSlotmap";
	case RSPRO_IDENTITY_IN_USE:		return "identityInUse";
	case RSPRO_CARD_NOT_PRESENT:		return "cardNotPresent";
	case RSPRO_CARD_UNRESPONSIVE:		return "cardUnresponsive";
	case RSPRO_CARD_TRANSMISSION_ERROR:	return "cardTransmissionError";
	default:				return NULL;
	}
}

const char *rspro_component_name(enum rspro_component type)
{
	switch (type) {
	case RSPRO_COMP_CLIENT:	return "remsimClient";
	case RSPRO_COMP_SERVER:	return "remsimServer";
	case RSPRO_COMP_BANKD:	return "remsimBankd";
	default:		return "unknown";
	}
}

/* Copies at most RSPRO_NAME_MAX characters, as osmo-remsim truncates. */
static void copy_name(char *dst, const char *src)
{
	snprintf(dst, RSPRO_NAME_MAX + 1, "%s", src ? src : "");
}

void rspro_identity_init(struct rspro_identity *id, enum rspro_component type,
			 const char *name, const char *software,
			 const char *sw_version)
{
	memset(id, 0, sizeof(*id));
	id->type = type;
	copy_name(id->name, name);
	copy_name(id->software, software);
	copy_name(id->sw_version, sw_version);
}

void rspro_identity_local(struct rspro_identity *id, enum rspro_component type,
			  const char *software, const char *sw_version)
{
	char host[RSPRO_NAME_MAX + 1] = "";

	if (gethostname(host, sizeof(host) - 1) || !host[0])
		snprintf(host, sizeof(host), "%s", software);
	rspro_identity_init(id, type, host, software, sw_version);
}

static void pdu_init(struct rspro_pdu *pdu, enum rspro_msg msg)
{
	memset(pdu, 0, sizeof(*pdu));
	pdu->version = RSPRO_VERSION;
	pdu->msg = msg;
}

void rspro_connect_bank_req(struct rspro_pdu *pdu,
			    const struct rspro_identity *id, uint16_t bank_id,
			    uint16_t num_slots)
{
	pdu_init(pdu, RSPRO_CONNECT_BANK_REQ);
	pdu->connect_bank_req.identity = *id;
	pdu->connect_bank_req.bank_id = bank_id;
	pdu->connect_bank_req.num_slots = num_slots;
}

void rspro_connect_bank_res(struct rspro_pdu *pdu,
			    const struct rspro_identity *id, int32_t result)
{
	pdu_init(pdu, RSPRO_CONNECT_BANK_RES);
	pdu->connect_res.identity = *id;
	pdu->connect_res.result = result;
}

void rspro_connect_client_req(struct rspro_pdu *pdu,
			      const struct rspro_identity *id,
			      const struct rspro_client_slot *slot)
{
	pdu_init(pdu, RSPRO_CONNECT_CLIENT_REQ);
	pdu->connect_client_req.identity = *id;
	if (slot) {
		pdu->connect_client_req.has_slot = true;
		pdu->connect_client_req.slot = *slot;
	}
}

void rspro_connect_client_res(struct rspro_pdu *pdu,
			      const struct rspro_identity *id, int32_t result)
{
	pdu_init(pdu, RSPRO_CONNECT_CLIENT_RES);
	pdu->tag = RSPRO_TAG_CONNECT_CLIENT_RES;
	pdu->connect_res.identity = *id;
	pdu->connect_res.result = result;
}

static void mapping(struct rspro_pdu *pdu, enum rspro_msg msg,
		    struct rspro_client_slot client, struct rspro_bank_slot bank)
{
	pdu_init(pdu, msg);
	pdu->mapping.client = client;
	pdu->mapping.bank = bank;
}

void rspro_create_mapping_req(struct rspro_pdu *pdu,
			      struct rspro_client_slot client,
			      struct rspro_bank_slot bank)
{
	mapping(pdu, RSPRO_CREATE_MAPPING_REQ, client, bank);
}

void rspro_remove_mapping_req(struct rspro_pdu *pdu,
			      struct rspro_client_slot client,
			      struct rspro_bank_slot bank)
{
	mapping(pdu, RSPRO_REMOVE_MAPPING_REQ, client, bank);
}

void rspro_config_client_id_req(struct rspro_pdu *pdu,
				struct rspro_client_slot slot)
{
	pdu_init(pdu, RSPRO_CONFIG_CLIENT_ID_REQ);
	pdu->config_client_id = slot;
}

void rspro_config_client_bank_req(struct rspro_pdu *pdu,
				  struct rspro_bank_slot bank,
				  const struct rspro_ip_port *bankd)
{
	pdu_init(pdu, RSPRO_CONFIG_CLIENT_BANK_REQ);
	pdu->config_client_bank.bank = bank;
	pdu->config_client_bank.bankd = *bankd;
}

void rspro_result_res(struct rspro_pdu *pdu, enum rspro_msg msg,
		      int32_t result)
{
	pdu_init(pdu, msg);
	pdu->result = result;
}

void rspro_set_atr_req(struct rspro_pdu *pdu, struct rspro_client_slot slot,
		       const uint8_t *atr, size_t len)
{
	pdu_init(pdu, RSPRO_SET_ATR_REQ);
	pdu->set_atr.slot = slot;
	if (len > RSPRO_ATR_MAX)
		len = RSPRO_ATR_MAX;
	memcpy(pdu->set_atr.atr, atr, len);
	pdu->set_atr.len = len;
}

void rspro_tpdu(struct rspro_pdu *pdu, enum rspro_msg msg,
		struct rspro_client_slot client, struct rspro_bank_slot bank,
		const uint8_t *data, size_t len)
{
	/* the header and the slots only: data is the bulk of the PDU */
	memset(pdu, 0, offsetof(struct rspro_pdu, tpdu.data));
	pdu->version = RSPRO_VERSION;
	pdu->msg = msg;
	pdu->tpdu.client = client;
	pdu->tpdu.bank = bank;
	if (len > RSPRO_DATA_MAX)
		len = RSPRO_DATA_MAX;
	memcpy(pdu->tpdu.data, data, len);
	pdu->tpdu.len = len;
}

void rspro_slot_status_ind(struct rspro_pdu *pdu, enum rspro_msg msg,
			   struct rspro_client_slot client,
			   struct rspro_bank_slot bank,
			   const struct rspro_slot_phys *phys)
{
	pdu_init(pdu, msg);
	pdu->slot_status.client = client;
	pdu->slot_status.bank = bank;
	pdu->slot_status.phys = *phys;
}

void rspro_reset_state_req(struct rspro_pdu *pdu)
{
	pdu_init(pdu, RSPRO_RESET_STATE_REQ);
}

void rspro_error_ind(struct rspro_pdu *pdu, enum rspro_component sender,
		     enum rspro_severity severity, enum rspro_error_code code,
		     const char *text)
{
	pdu_init(pdu, RSPRO_ERROR_IND);
	pdu->error_ind.sender = sender;
	pdu->error_ind.severity = severity;
	pdu->error_ind.code = code;
	snprintf(pdu->error_ind.text, sizeof(pdu->error_ind.text), "%s",
		 text ? text : "");
}

int rspro_identity_set_exts(struct rspro_identity *id, const char *names)
{
	if (strlen(RSPRO_EXT_PREFIX) + strlen(names) > RSPRO_NAME_MAX)
		return -EINVAL;
	snprintf(id->hw_model, sizeof(id->hw_model), "%s%s", RSPRO_EXT_PREFIX, names);
	return 0;
}

bool rspro_identity_has_ext(const struct rspro_identity *id, const char *name)
{
	size_t plen = strlen(RSPRO_EXT_PREFIX), nlen = strlen(name);
	const char *p = id->hw_model;

	if (!nlen || strncmp(p, RSPRO_EXT_PREFIX, plen))
		return false;
	/* a whole item of the comma-separated list */
	for (p += plen; *p; p += strcspn(p, ",")) {
		if (*p == ',')
			p++;
		if (!strncmp(p, name, nlen) && (p[nlen] == ',' || !p[nlen]))
			return true;
	}
	return false;
}
