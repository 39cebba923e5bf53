// SPDX-License-Identifier: GPL-2.0
/*
 * RSPRO DER encoding: the plain PDU becomes asn1c's structure on the stack,
 * pointing at the caller's bytes (nothing is allocated), is checked against
 * every constraint of the ASN.1 and then DER encoded.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

#include "IpPort.h"
#include "RsproPDU.h"
#include "constraints.h"
#include "der_encoder.h"

#include "remsim/rspro.h"
#include "rspro_internal.h"

/* Everything one PDU can point at while it is encoded. */
struct enc_scratch {
	ComponentName_t opt_names[5];
	ComponentName_t *opt_ptrs[5];
	BOOLEAN_t phys[3];
	BankSlot_t err_bank;
	ClientSlot_t err_client;
	ErrorString_t err_text;
	IpPort_t bankd_addr;
	struct ConnectBankReq__cardInfo card;
	IA5String_t card_str[3];
	unsigned long card_apdus;
	unsigned long card_time[2];
	IA5String_t modem_path;
};

static void set_octets(OCTET_STRING_t *os, const void *buf, size_t len)
{
	os->buf = (uint8_t *)buf;
	os->size = len;
}

static void set_string(OCTET_STRING_t *os, const char *s)
{
	set_octets(os, s, strlen(s));
}

static int put_identity(ComponentIdentity_t *out,
			const struct rspro_identity *id,
			struct enc_scratch *s, struct rspro_error *err)
{
	const char *opt[5] = {
		id->hw_manufacturer, id->hw_model, id->hw_serial,
		id->hw_version, id->fw_version,
	};
	ComponentName_t **dst[5] = {
		&out->hwManufacturer, &out->hwModel, &out->hwSerialNr,
		&out->hwVersion, &out->fwVersion,
	};
	int i;

	if (!rspro_component_valid(id->type))
		return rspro_fail(err, -EINVAL, "identity: unknown component type %d",
				  id->type);
	out->type = id->type;
	set_string(&out->name, id->name);
	set_string(&out->software, id->software);
	set_string(&out->swVersion, id->sw_version);
	for (i = 0; i < 5; i++) {
		if (!opt[i][0])
			continue;
		set_string(&s->opt_names[i], opt[i]);
		*dst[i] = &s->opt_names[i];
	}
	return 0;
}

static void put_client(ClientSlot_t *out, const struct rspro_client_slot *in)
{
	out->clientId = in->client_id;
	out->slotNr = in->slot_nr;
}

static void put_bank(BankSlot_t *out, const struct rspro_bank_slot *in)
{
	out->bankId = in->bank_id;
	out->slotNr = in->slot_nr;
}

static void put_flags(TpduFlags_t *out, const struct rspro_tpdu_flags *in)
{
	out->tpduHeaderPresent = in->header_present;
	out->finalPart = in->final_part;
	out->procByteContinueTx = in->proc_continue_tx;
	out->procByteContinueRx = in->proc_continue_rx;
}

static int put_phys(SlotPhysStatus_t *out, const struct rspro_slot_phys *in,
		    struct enc_scratch *s, struct rspro_error *err)
{
	const int8_t opt[3] = { in->vcc_present, in->clk_active,
				in->card_present };
	BOOLEAN_t **dst[3] = { &out->vccPresent, &out->clkActive,
			       &out->cardPresent };
	int i;

	if (in->reset_active != 0 && in->reset_active != 1)
		return rspro_fail(err, -EINVAL,
				  "slotPhysStatus.resetActive must be 0 or 1");
	out->resetActive = in->reset_active;
	for (i = 0; i < 3; i++) {
		if (opt[i] == RSPRO_UNKNOWN)
			continue;
		if (opt[i] != 0 && opt[i] != 1)
			return rspro_fail(err, -EINVAL,
					  "slotPhysStatus: a line level is 0, 1 or unknown");
		s->phys[i] = opt[i];
		*dst[i] = &s->phys[i];
	}
	return 0;
}

static int put_ip_port(IpPort_t *out, const struct rspro_ip_port *in,
		       struct rspro_error *err)
{
	if (in->family == AF_INET) {
		out->ip.present = IpAddress_PR_ipv4;
		set_octets(&out->ip.choice.ipv4, in->addr, 4);
	} else if (in->family == AF_INET6) {
		out->ip.present = IpAddress_PR_ipv6;
		set_octets(&out->ip.choice.ipv6, in->addr, 16);
	} else {
		return rspro_fail(err, -EINVAL,
				  "bankd address family is neither IPv4 nor IPv6");
	}
	out->port = in->port;
	return 0;
}

static int put_error_ind(ErrorInd_t *out, const struct rspro_pdu *pdu,
			 struct enc_scratch *s, struct rspro_error *err)
{
	if (!rspro_component_valid(pdu->error_ind.sender))
		return rspro_fail(err, -EINVAL, "errorInd: unknown sender type %d",
				  pdu->error_ind.sender);
	out->sender = pdu->error_ind.sender;
	out->severity = pdu->error_ind.severity;
	out->code = pdu->error_ind.code;
	if (pdu->error_ind.has_bank_slot) {
		put_bank(&s->err_bank, &pdu->error_ind.bank);
		out->bankSlot = &s->err_bank;
	}
	if (pdu->error_ind.has_client_slot) {
		put_client(&s->err_client, &pdu->error_ind.client);
		out->clientSlot = &s->err_client;
	}
	if (pdu->error_ind.text[0]) {
		set_string(&s->err_text, pdu->error_ind.text);
		out->errorString = &s->err_text;
	}
	return 0;
}

/* The extension cardInfo; its strings' constraints are asn1c's to check. */
static struct ConnectBankReq__cardInfo *
put_card_info(const struct rspro_card_info *in, struct enc_scratch *s)
{
	const char *str[3] = { in->reader, in->iccid, in->imsi };
	IA5String_t **dst[3] = { &s->card.reader, &s->card.iccid, &s->card.imsi };
	int i;

	s->card.slotNr = in->slot_nr;
	s->card.cardPresent = in->present;
	for (i = 0; i < 3; i++) {
		if (!str[i][0])
			continue;
		set_string(&s->card_str[i], str[i]);
		*dst[i] = &s->card_str[i];
	}
	if (in->has_apdus) {
		s->card_apdus = in->apdus;
		s->card.apdus = &s->card_apdus;
	}
	if (in->has_card_time) {
		s->card_time[0] = in->card_time_p50_us;
		s->card_time[1] = in->card_time_p99_us;
		s->card.cardTimeP50 = &s->card_time[0];
		s->card.cardTimeP99 = &s->card_time[1];
	}
	return &s->card;
}

/* Fills the choice of @out from @pdu. */
static int put_msg(RsproPDUchoice_t *out, const struct rspro_pdu *pdu,
		   struct enc_scratch *s, ClientSlot_t *opt_client,
		   struct rspro_error *err)
{
	union RsproPDUchoice_u *u = &out->choice;

	out->present = rspro_msg_to_present(pdu->msg);
	switch (pdu->msg) {
	case RSPRO_CONNECT_BANK_REQ:
		u->connectBankReq.bankId = pdu->connect_bank_req.bank_id;
		u->connectBankReq.numberOfSlots = pdu->connect_bank_req.num_slots;
		if (pdu->connect_bank_req.has_bankd_addr) {
			if (put_ip_port(&s->bankd_addr,
					&pdu->connect_bank_req.bankd_addr, err))
				return -EINVAL;
			u->connectBankReq.bankdAddress = &s->bankd_addr;
		}
		if (pdu->connect_bank_req.has_card_info)
			u->connectBankReq.cardInfo =
				put_card_info(&pdu->connect_bank_req.card_info, s);
		return put_identity(&u->connectBankReq.identity,
				    &pdu->connect_bank_req.identity, s, err);
	case RSPRO_CONNECT_BANK_RES:
		u->connectBankRes.result = pdu->connect_res.result;
		return put_identity(&u->connectBankRes.identity,
				    &pdu->connect_res.identity, s, err);
	case RSPRO_CONNECT_CLIENT_REQ:
		if (pdu->connect_client_req.has_slot) {
			put_client(opt_client, &pdu->connect_client_req.slot);
			u->connectClientReq.clientSlot = opt_client;
		}
		if (pdu->connect_client_req.modem_path[0]) {
			set_string(&s->modem_path, pdu->connect_client_req.modem_path);
			u->connectClientReq.modemPath = &s->modem_path;
		}
		return put_identity(&u->connectClientReq.identity,
				    &pdu->connect_client_req.identity, s, err);
	case RSPRO_CONNECT_CLIENT_RES:
		u->connectClientRes.result = pdu->connect_res.result;
		return put_identity(&u->connectClientRes.identity,
				    &pdu->connect_res.identity, s, err);
	case RSPRO_CREATE_MAPPING_REQ:
		put_client(&u->createMappingReq.client, &pdu->mapping.client);
		put_bank(&u->createMappingReq.bank, &pdu->mapping.bank);
		return 0;
	case RSPRO_REMOVE_MAPPING_REQ:
		put_client(&u->removeMappingReq.client, &pdu->mapping.client);
		put_bank(&u->removeMappingReq.bank, &pdu->mapping.bank);
		return 0;
	case RSPRO_CREATE_MAPPING_RES:
		u->createMappingRes.result = pdu->result;
		return 0;
	case RSPRO_REMOVE_MAPPING_RES:
		u->removeMappingRes.result = pdu->result;
		return 0;
	case RSPRO_CONFIG_CLIENT_ID_RES:
		u->configClientIdRes.result = pdu->result;
		return 0;
	case RSPRO_CONFIG_CLIENT_BANK_RES:
		u->configClientBankRes.result = pdu->result;
		return 0;
	case RSPRO_SET_ATR_RES:
		u->setAtrRes.result = pdu->result;
		return 0;
	case RSPRO_RESET_STATE_RES:
		u->resetStateRes.result = pdu->result;
		return 0;
	case RSPRO_CONFIG_CLIENT_ID_REQ:
		put_client(&u->configClientIdReq.clientSlot,
			   &pdu->config_client_id);
		return 0;
	case RSPRO_CONFIG_CLIENT_BANK_REQ:
		put_bank(&u->configClientBankReq.bankSlot,
			 &pdu->config_client_bank.bank);
		return put_ip_port(&u->configClientBankReq.bankd,
				   &pdu->config_client_bank.bankd, err);
	case RSPRO_SET_ATR_REQ:
		put_client(&u->setAtrReq.slot, &pdu->set_atr.slot);
		if (pdu->set_atr.len > RSPRO_ATR_MAX)
			return rspro_fail(err, -EINVAL, "ATR longer than %d bytes",
					  RSPRO_ATR_MAX);
		set_octets(&u->setAtrReq.atr, pdu->set_atr.atr,
			   pdu->set_atr.len);
		return 0;
	case RSPRO_TPDU_MODEM_TO_CARD:
	case RSPRO_TPDU_CARD_TO_MODEM:
		if (pdu->tpdu.len > RSPRO_DATA_MAX)
			return rspro_fail(err, -EINVAL,
					  "TPDU data longer than %d bytes",
					  RSPRO_DATA_MAX);
		if (pdu->msg == RSPRO_TPDU_MODEM_TO_CARD) {
			TpduModemToCard_t *t = &u->tpduModemToCard;

			put_client(&t->fromClientSlot, &pdu->tpdu.client);
			put_bank(&t->toBankSlot, &pdu->tpdu.bank);
			put_flags(&t->flags, &pdu->tpdu.flags);
			set_octets(&t->data, pdu->tpdu.data, pdu->tpdu.len);
		} else {
			TpduCardToModem_t *t = &u->tpduCardToModem;

			put_bank(&t->fromBankSlot, &pdu->tpdu.bank);
			put_client(&t->toClientSlot, &pdu->tpdu.client);
			put_flags(&t->flags, &pdu->tpdu.flags);
			set_octets(&t->data, pdu->tpdu.data, pdu->tpdu.len);
		}
		return 0;
	case RSPRO_CLIENT_SLOT_STATUS_IND:
		put_client(&u->clientSlotStatusInd.fromClientSlot,
			   &pdu->slot_status.client);
		put_bank(&u->clientSlotStatusInd.toBankSlot,
			 &pdu->slot_status.bank);
		return put_phys(&u->clientSlotStatusInd.slotPhysStatus,
				&pdu->slot_status.phys, s, err);
	case RSPRO_BANK_SLOT_STATUS_IND:
		put_bank(&u->bankSlotStatusInd.fromBankSlot,
			 &pdu->slot_status.bank);
		put_client(&u->bankSlotStatusInd.toClientSlot,
			   &pdu->slot_status.client);
		return put_phys(&u->bankSlotStatusInd.slotPhysStatus,
				&pdu->slot_status.phys, s, err);
	case RSPRO_ERROR_IND:
		return put_error_ind(&u->errorInd, pdu, s, err);
	case RSPRO_RESET_STATE_REQ:
		return 0;
	default:
		return rspro_fail(err, -EINVAL, "unknown message type %d",
				  pdu->msg);
	}
}

int rspro_encode_asn1c(const struct rspro_pdu *pdu, uint8_t *buf, size_t size,
		       struct rspro_error *err)
{
	struct enc_scratch s;
	ClientSlot_t opt_client;
	RsproPDU_t asn;
	asn_enc_rval_t rv;
	char why[128];
	size_t why_len = sizeof(why);
	int ret;

	memset(&s, 0, sizeof(s));
	memset(&opt_client, 0, sizeof(opt_client));
	memset(&asn, 0, sizeof(asn));
	asn.version = pdu->version;
	asn.tag = pdu->tag;
	ret = put_msg(&asn.msg, pdu, &s, &opt_client, err);
	if (ret)
		return ret;
	pthread_mutex_lock(&rspro_codec_lock);
	ret = asn_check_constraints(&asn_DEF_RsproPDU, &asn, why, &why_len);
	if (!ret)
		rv = der_encode_to_buffer(&asn_DEF_RsproPDU, &asn, buf, size);
	pthread_mutex_unlock(&rspro_codec_lock);
	if (ret)
		return rspro_fail(err, -EINVAL, "%s: %s",
				  rspro_msg_name(pdu->msg),
				  rspro_constraint_text(why));
	if (rv.encoded < 0)
		return rspro_fail(err, -ENOSPC,
				  "%s does not fit in %zu bytes",
				  rspro_msg_name(pdu->msg), size);
	return rv.encoded;
}

int rspro_encode(const struct rspro_pdu *pdu, uint8_t *buf, size_t size,
		 struct rspro_error *err)
{
	int len = rspro_tpdu_encode_fast(pdu, buf, size);

	return len >= 0 ? len : rspro_encode_asn1c(pdu, buf, size, err);
}
