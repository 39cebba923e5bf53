// SPDX-License-Identifier: GPL-2.0
/*
 * One line of JSON per PDU, with the ASN.1 field names, for operators
 * reading captures and for tests.
 */
#include <stdarg.h>
#include <string.h>

#include "remsim/rspro.h"

struct out {
	char *buf;
	size_t size;
	size_t len;	/* what the whole text needs, as snprintf counts */
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	size_t room = o->len < o->size ? o->size - o->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf ? o->buf + (o->len < o->size ? o->len : 0) : NULL,
		      room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += n;
}

static void put_str(struct out *o, const char *key, const char *s)
{
	put(o, "\"%s\":\"", key);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			put(o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			put(o, "\\u%04x", c);
		else
			put(o, "%c", c);
	}
	put(o, "\"");
}

static void put_hex(struct out *o, const char *key, const uint8_t *b,
		    size_t len)
{
	size_t i;

	put(o, "\"%s\":\"", key);
	for (i = 0; i < len; i++)
		put(o, "%02x", b[i]);
	put(o, "\"");
}

static void put_identity(struct out *o, const struct rspro_identity *id)
{
	const char *opt[5] = {
		id->hw_manufacturer, id->hw_model, id->hw_serial,
		id->hw_version, id->fw_version,
	};
	static const char *const keys[5] = {
		"hwManufacturer", "hwModel", "hwSerialNr", "hwVersion",
		"fwVersion",
	};
	int i;

	put(o, "\"identity\":{\"type\":\"%s\",", rspro_component_name(id->type));
	put_str(o, "name", id->name);
	put(o, ",");
	put_str(o, "software", id->software);
	put(o, ",");
	put_str(o, "swVersion", id->sw_version);
	for (i = 0; i < 5; i++) {
		if (!opt[i][0])
			continue;
		put(o, ",");
		put_str(o, keys[i], opt[i]);
	}
	put(o, "}");
}

static void put_card_info(struct out *o, const struct rspro_card_info *c)
{
	const char *str[3] = { c->reader, c->iccid, c->imsi };
	static const char *const keys[3] = { "reader", "iccid", "imsi" };
	int i;

	put(o, ",\"cardInfo\":{\"slotNr\":%u,\"cardPresent\":%s", c->slot_nr,
	    c->present ? "true" : "false");
	for (i = 0; i < 3; i++) {
		if (!str[i][0])
			continue;
		put(o, ",");
		put_str(o, keys[i], str[i]);
	}
	if (c->has_apdus)
		put(o, ",\"apdus\":%u", c->apdus);
	if (c->has_card_time)
		put(o, ",\"cardTimeP50\":%u,\"cardTimeP99\":%u", c->card_time_p50_us,
		    c->card_time_p99_us);
	put(o, "}");
}

static void put_client(struct out *o, const char *key,
		       const struct rspro_client_slot *s)
{
	put(o, "\"%s\":{\"clientId\":%u,\"slotNr\":%u}", key, s->client_id,
	    s->slot_nr);
}

static void put_bank(struct out *o, const char *key,
		     const struct rspro_bank_slot *s)
{
	put(o, "\"%s\":{\"bankId\":%u,\"slotNr\":%u}", key, s->bank_id,
	    s->slot_nr);
}

static void put_result(struct out *o, int32_t result)
{
	const char *name = rspro_result_name(result);

	if (name)
		put(o, "\"result\":\"%s\"", name);
	else
		put(o, "\"result\":%d", result);
}

static void put_level(struct out *o, const char *key, int8_t level, bool comma)
{
	if (level == RSPRO_UNKNOWN)
		return;
	put(o, "%s\"%s\":%s", comma ? "," : "", key, level ? "true" : "false");
}

static void put_phys(struct out *o, const struct rspro_slot_phys *p)
{
	put(o, "\"slotPhysStatus\":{");
	put_level(o, "resetActive", p->reset_active, false);
	put_level(o, "vccPresent", p->vcc_present, true);
	put_level(o, "clkActive", p->clk_active, true);
	put_level(o, "cardPresent", p->card_present, true);
	put(o, "}");
}

static void put_tpdu(struct out *o, const struct rspro_pdu *pdu)
{
	const struct rspro_tpdu *t = &pdu->tpdu;

	if (pdu->msg == RSPRO_TPDU_MODEM_TO_CARD) {
		put_client(o, "fromClientSlot", &t->client);
		put(o, ",");
		put_bank(o, "toBankSlot", &t->bank);
	} else {
		put_bank(o, "fromBankSlot", &t->bank);
		put(o, ",");
		put_client(o, "toClientSlot", &t->client);
	}
	put(o, ",\"flags\":{\"tpduHeaderPresent\":%s,\"finalPart\":%s,"
	    "\"procByteContinueTx\":%s,\"procByteContinueRx\":%s},",
	    t->flags.header_present ? "true" : "false",
	    t->flags.final_part ? "true" : "false",
	    t->flags.proc_continue_tx ? "true" : "false",
	    t->flags.proc_continue_rx ? "true" : "false");
	put_hex(o, "data", t->data, t->len);
}

static void put_body(struct out *o, const struct rspro_pdu *pdu)
{
	char ipp[64];

	switch (pdu->msg) {
	case RSPRO_CONNECT_BANK_REQ:
		put_identity(o, &pdu->connect_bank_req.identity);
		put(o, ",\"bankId\":%u,\"numberOfSlots\":%u",
		    pdu->connect_bank_req.bank_id,
		    pdu->connect_bank_req.num_slots);
		if (pdu->connect_bank_req.has_bankd_addr) {
			rspro_ip_port_format(&pdu->connect_bank_req.bankd_addr,
					     ipp, sizeof(ipp));
			put(o, ",\"bankdAddress\":\"%s\"", ipp);
		}
		if (pdu->connect_bank_req.has_card_info)
			put_card_info(o, &pdu->connect_bank_req.card_info);
		break;
	case RSPRO_CONNECT_BANK_RES:
	case RSPRO_CONNECT_CLIENT_RES:
		put_identity(o, &pdu->connect_res.identity);
		put(o, ",");
		put_result(o, pdu->connect_res.result);
		break;
	case RSPRO_CONNECT_CLIENT_REQ:
		put_identity(o, &pdu->connect_client_req.identity);
		if (pdu->connect_client_req.has_slot) {
			put(o, ",");
			put_client(o, "clientSlot", &pdu->connect_client_req.slot);
		}
		if (pdu->connect_client_req.modem_path[0]) {
			put(o, ",");
			put_str(o, "modemPath", pdu->connect_client_req.modem_path);
		}
		break;
	case RSPRO_CREATE_MAPPING_REQ:
	case RSPRO_REMOVE_MAPPING_REQ:
		put_client(o, "client", &pdu->mapping.client);
		put(o, ",");
		put_bank(o, "bank", &pdu->mapping.bank);
		break;
	case RSPRO_CREATE_MAPPING_RES:
	case RSPRO_REMOVE_MAPPING_RES:
	case RSPRO_CONFIG_CLIENT_ID_RES:
	case RSPRO_CONFIG_CLIENT_BANK_RES:
	case RSPRO_SET_ATR_RES:
	case RSPRO_RESET_STATE_RES:
		put_result(o, pdu->result);
		break;
	case RSPRO_CONFIG_CLIENT_ID_REQ:
		put_client(o, "clientSlot", &pdu->config_client_id);
		break;
	case RSPRO_CONFIG_CLIENT_BANK_REQ:
		put_bank(o, "bankSlot", &pdu->config_client_bank.bank);
		rspro_ip_port_format(&pdu->config_client_bank.bankd, ipp,
				     sizeof(ipp));
		put(o, ",\"bankd\":\"%s\"", ipp);
		break;
	case RSPRO_SET_ATR_REQ:
		put_client(o, "slot", &pdu->set_atr.slot);
		put(o, ",");
		put_hex(o, "atr", pdu->set_atr.atr, pdu->set_atr.len);
		break;
	case RSPRO_TPDU_MODEM_TO_CARD:
	case RSPRO_TPDU_CARD_TO_MODEM:
		put_tpdu(o, pdu);
		break;
	case RSPRO_CLIENT_SLOT_STATUS_IND:
		put_client(o, "fromClientSlot", &pdu->slot_status.client);
		put(o, ",");
		put_bank(o, "toBankSlot", &pdu->slot_status.bank);
		put(o, ",");
		put_phys(o, &pdu->slot_status.phys);
		break;
	case RSPRO_BANK_SLOT_STATUS_IND:
		put_bank(o, "fromBankSlot", &pdu->slot_status.bank);
		put(o, ",");
		put_client(o, "toClientSlot", &pdu->slot_status.client);
		put(o, ",");
		put_phys(o, &pdu->slot_status.phys);
		break;
	case RSPRO_ERROR_IND:
		put(o, "\"sender\":\"%s\",\"severity\":%d,\"code\":%d",
		    rspro_component_name(pdu->error_ind.sender),
		    pdu->error_ind.severity, pdu->error_ind.code);
		if (pdu->error_ind.has_bank_slot) {
			put(o, ",");
			put_bank(o, "bankSlot", &pdu->error_ind.bank);
		}
		if (pdu->error_ind.has_client_slot) {
			put(o, ",");
			put_client(o, "clientSlot", &pdu->error_ind.client);
		}
		if (pdu->error_ind.text[0]) {
			put(o, ",");
			put_str(o, "errorString", pdu->error_ind.text);
		}
		break;
	default:
		break;
	}
}

int rspro_to_json(const struct rspro_pdu *pdu, char *buf, size_t size)
{
	struct out o = { .buf = buf, .size = size };

	if (buf && size)
		buf[0] = 0;
	put(&o, "{\"version\":%u,\"tag\":%u,\"msg\":\"%s\"", pdu->version,
	    pdu->tag, rspro_msg_name(pdu->msg));
	if (pdu->msg != RSPRO_RESET_STATE_REQ)
		put(&o, ",");
	put_body(&o, pdu);
	put(&o, "}");
	return o.len;
}
