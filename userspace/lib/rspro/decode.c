// SPDX-License-Identifier: GPL-2.0
/*
 * RSPRO BER decoding. asn1c's decoder accepts what osmo-remsim accepts (an
 * indefinite outer length, unknown extension elements, any non-zero BOOLEAN);
 * on top of it we check every constraint, refuse bytes after the PDU and
 * bound the decoder's stack, so that a hostile peer gets an error and nothing
 * else.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "IpPort.h"
#include "RsproPDU.h"
#include "ber_decoder.h"
#include "constraints.h"

#include "remsim/rspro.h"
#include "rspro_internal.h"

/* Nested constructed encodings cost stack in asn1c's decoder; RSPRO's own
 * nesting is four levels deep, this is far more than a valid PDU needs. */
#define DECODE_STACK_MAX	(32 * 1024)

static bool fits_int32(long v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static int get_string(char *dst, size_t dst_size, const OCTET_STRING_t *os,
		      const char *what, struct rspro_error *err)
{
	if ((size_t)os->size >= dst_size)
		return rspro_fail(err, -EBADMSG, "%s longer than %zu characters",
				  what, dst_size - 1);
	if (memchr(os->buf, 0, os->size))
		return rspro_fail(err, -EBADMSG, "%s contains a NUL byte", what);
	if (os->size)	/* an empty constructed string has no buffer */
		memcpy(dst, os->buf, os->size);
	dst[os->size] = 0;
	return 0;
}

static int get_identity(struct rspro_identity *id,
			const ComponentIdentity_t *in, struct rspro_error *err)
{
	const ComponentName_t *opt[5] = {
		in->hwManufacturer, in->hwModel, in->hwSerialNr,
		in->hwVersion, in->fwVersion,
	};
	char *dst[5] = {
		id->hw_manufacturer, id->hw_model, id->hw_serial,
		id->hw_version, id->fw_version,
	};
	static const char *const what[5] = {
		"hwManufacturer", "hwModel", "hwSerialNr", "hwVersion",
		"fwVersion",
	};
	int i, ret;

	if (!rspro_component_valid(in->type))
		return rspro_fail(err, -EBADMSG,
				  "identity: unknown component type %ld", in->type);
	id->type = in->type;
	ret = get_string(id->name, sizeof(id->name), &in->name, "name", err);
	if (!ret)
		ret = get_string(id->software, sizeof(id->software),
				 &in->software, "software", err);
	if (!ret)
		ret = get_string(id->sw_version, sizeof(id->sw_version),
				 &in->swVersion, "swVersion", err);
	for (i = 0; !ret && i < 5; i++)
		if (opt[i])
			ret = get_string(dst[i], RSPRO_NAME_MAX + 1, opt[i],
					 what[i], err);
	return ret;
}

static void get_client(struct rspro_client_slot *out, const ClientSlot_t *in)
{
	out->client_id = in->clientId;
	out->slot_nr = in->slotNr;
}

static void get_bank(struct rspro_bank_slot *out, const BankSlot_t *in)
{
	out->bank_id = in->bankId;
	out->slot_nr = in->slotNr;
}

static void get_flags(struct rspro_tpdu_flags *out, const TpduFlags_t *in)
{
	out->header_present = in->tpduHeaderPresent != 0;
	out->final_part = in->finalPart != 0;
	out->proc_continue_tx = in->procByteContinueTx != 0;
	out->proc_continue_rx = in->procByteContinueRx != 0;
}

static int8_t get_level(const BOOLEAN_t *b)
{
	return b ? (*b != 0) : RSPRO_UNKNOWN;
}

static void get_phys(struct rspro_slot_phys *out, const SlotPhysStatus_t *in)
{
	out->reset_active = in->resetActive != 0;
	out->vcc_present = get_level(in->vccPresent);
	out->clk_active = get_level(in->clkActive);
	out->card_present = get_level(in->cardPresent);
}

static int get_data(struct rspro_tpdu *t, const OCTET_STRING_t *os,
		    struct rspro_error *err)
{
	if (os->size > RSPRO_DATA_MAX)
		return rspro_fail(err, -EBADMSG,
				  "TPDU data of %zu bytes, more than %d",
				  (size_t)os->size, RSPRO_DATA_MAX);
	if (os->size)
		memcpy(t->data, os->buf, os->size);
	t->len = os->size;
	return 0;
}

static int get_error_ind(struct rspro_pdu *pdu, const ErrorInd_t *in,
			 struct rspro_error *err)
{
	if (!rspro_component_valid(in->sender))
		return rspro_fail(err, -EBADMSG,
				  "errorInd: unknown sender type %ld", in->sender);
	if (!fits_int32(in->severity) || !fits_int32(in->code))
		return rspro_fail(err, -EBADMSG,
				  "errorInd: severity or code out of range");
	pdu->error_ind.sender = in->sender;
	pdu->error_ind.severity = in->severity;
	pdu->error_ind.code = in->code;
	if (in->bankSlot) {
		pdu->error_ind.has_bank_slot = true;
		get_bank(&pdu->error_ind.bank, in->bankSlot);
	}
	if (in->clientSlot) {
		pdu->error_ind.has_client_slot = true;
		get_client(&pdu->error_ind.client, in->clientSlot);
	}
	if (in->errorString)
		return get_string(pdu->error_ind.text,
				  sizeof(pdu->error_ind.text), in->errorString,
				  "errorString", err);
	return 0;
}

/* ResultCode is extensible: unknown values pass, absurd ones do not. */
static int get_result(int32_t *out, long v, struct rspro_error *err)
{
	if (!fits_int32(v))
		return rspro_fail(err, -EBADMSG, "result %ld out of range", v);
	*out = v;
	return 0;
}

/* Sizes were checked by the constraints. */
static void get_ip_port(struct rspro_ip_port *out, const IpPort_t *in)
{
	if (in->ip.present == IpAddress_PR_ipv4) {
		out->family = AF_INET;
		memcpy(out->addr, in->ip.choice.ipv4.buf, 4);
	} else {
		out->family = AF_INET6;
		memcpy(out->addr, in->ip.choice.ipv6.buf, 16);
	}
	out->port = in->port;
}

/* The extension cardInfo; asn1c checked its sizes and characters. */
static int get_card_info(struct rspro_card_info *out,
			 const struct ConnectBankReq__cardInfo *in,
			 struct rspro_error *err)
{
	const IA5String_t *str[3] = { in->reader, in->iccid, in->imsi };
	char *dst[3] = { out->reader, out->iccid, out->imsi };
	size_t size[3] = { sizeof(out->reader), sizeof(out->iccid), sizeof(out->imsi) };
	static const char *const what[3] = { "cardInfo.reader", "cardInfo.iccid",
					     "cardInfo.imsi" };
	int i;

	out->slot_nr = in->slotNr;
	out->present = in->cardPresent;
	for (i = 0; i < 3; i++)
		if (str[i] && get_string(dst[i], size[i], str[i], what[i], err))
			return -EBADMSG;
	if (in->apdus) {
		out->has_apdus = true;
		out->apdus = *in->apdus;
	}
	/* both or neither: one alone says nothing we could show */
	if (in->cardTimeP50 && in->cardTimeP99) {
		out->has_card_time = true;
		out->card_time_p50_us = *in->cardTimeP50;
		out->card_time_p99_us = *in->cardTimeP99;
	}
	return 0;
}

static int get_msg(struct rspro_pdu *pdu, const RsproPDUchoice_t *in,
		   struct rspro_error *err)
{
	const union RsproPDUchoice_u *u = &in->choice;

	switch (pdu->msg) {
	case RSPRO_CONNECT_BANK_REQ:
		pdu->connect_bank_req.bank_id = u->connectBankReq.bankId;
		pdu->connect_bank_req.num_slots = u->connectBankReq.numberOfSlots;
		if (u->connectBankReq.bankdAddress) {
			pdu->connect_bank_req.has_bankd_addr = true;
			get_ip_port(&pdu->connect_bank_req.bankd_addr,
				    u->connectBankReq.bankdAddress);
		}
		if (u->connectBankReq.cardInfo) {
			pdu->connect_bank_req.has_card_info = true;
			if (get_card_info(&pdu->connect_bank_req.card_info,
					  u->connectBankReq.cardInfo, err))
				return -EBADMSG;
		}
		return get_identity(&pdu->connect_bank_req.identity,
				    &u->connectBankReq.identity, err);
	case RSPRO_CONNECT_BANK_RES:
		if (get_result(&pdu->connect_res.result, u->connectBankRes.result, err))
			return -EBADMSG;
		return get_identity(&pdu->connect_res.identity,
				    &u->connectBankRes.identity, err);
	case RSPRO_CONNECT_CLIENT_REQ:
		if (u->connectClientReq.clientSlot) {
			pdu->connect_client_req.has_slot = true;
			get_client(&pdu->connect_client_req.slot,
				   u->connectClientReq.clientSlot);
		}
		if (u->connectClientReq.modemPath &&
		    get_string(pdu->connect_client_req.modem_path,
			       sizeof(pdu->connect_client_req.modem_path),
			       u->connectClientReq.modemPath, "modemPath", err))
			return -EBADMSG;
		return get_identity(&pdu->connect_client_req.identity,
				    &u->connectClientReq.identity, err);
	case RSPRO_CONNECT_CLIENT_RES:
		if (get_result(&pdu->connect_res.result, u->connectClientRes.result, err))
			return -EBADMSG;
		return get_identity(&pdu->connect_res.identity,
				    &u->connectClientRes.identity, err);
	case RSPRO_CREATE_MAPPING_REQ:
		get_client(&pdu->mapping.client, &u->createMappingReq.client);
		get_bank(&pdu->mapping.bank, &u->createMappingReq.bank);
		return 0;
	case RSPRO_REMOVE_MAPPING_REQ:
		get_client(&pdu->mapping.client, &u->removeMappingReq.client);
		get_bank(&pdu->mapping.bank, &u->removeMappingReq.bank);
		return 0;
	case RSPRO_CREATE_MAPPING_RES:
		return get_result(&pdu->result, u->createMappingRes.result, err);
	case RSPRO_REMOVE_MAPPING_RES:
		return get_result(&pdu->result, u->removeMappingRes.result, err);
	case RSPRO_CONFIG_CLIENT_ID_RES:
		return get_result(&pdu->result, u->configClientIdRes.result, err);
	case RSPRO_CONFIG_CLIENT_BANK_RES:
		return get_result(&pdu->result, u->configClientBankRes.result, err);
	case RSPRO_SET_ATR_RES:
		return get_result(&pdu->result, u->setAtrRes.result, err);
	case RSPRO_RESET_STATE_RES:
		return get_result(&pdu->result, u->resetStateRes.result, err);
	case RSPRO_CONFIG_CLIENT_ID_REQ:
		get_client(&pdu->config_client_id,
			   &u->configClientIdReq.clientSlot);
		return 0;
	case RSPRO_CONFIG_CLIENT_BANK_REQ:
		get_bank(&pdu->config_client_bank.bank,
			 &u->configClientBankReq.bankSlot);
		get_ip_port(&pdu->config_client_bank.bankd,
			    &u->configClientBankReq.bankd);
		return 0;
	case RSPRO_SET_ATR_REQ:
		get_client(&pdu->set_atr.slot, &u->setAtrReq.slot);
		memcpy(pdu->set_atr.atr, u->setAtrReq.atr.buf,
		       u->setAtrReq.atr.size);
		pdu->set_atr.len = u->setAtrReq.atr.size;
		return 0;
	case RSPRO_TPDU_MODEM_TO_CARD:
		get_client(&pdu->tpdu.client, &u->tpduModemToCard.fromClientSlot);
		get_bank(&pdu->tpdu.bank, &u->tpduModemToCard.toBankSlot);
		get_flags(&pdu->tpdu.flags, &u->tpduModemToCard.flags);
		return get_data(&pdu->tpdu, &u->tpduModemToCard.data, err);
	case RSPRO_TPDU_CARD_TO_MODEM:
		get_bank(&pdu->tpdu.bank, &u->tpduCardToModem.fromBankSlot);
		get_client(&pdu->tpdu.client, &u->tpduCardToModem.toClientSlot);
		get_flags(&pdu->tpdu.flags, &u->tpduCardToModem.flags);
		return get_data(&pdu->tpdu, &u->tpduCardToModem.data, err);
	case RSPRO_CLIENT_SLOT_STATUS_IND:
		get_client(&pdu->slot_status.client,
			   &u->clientSlotStatusInd.fromClientSlot);
		get_bank(&pdu->slot_status.bank,
			 &u->clientSlotStatusInd.toBankSlot);
		get_phys(&pdu->slot_status.phys,
			 &u->clientSlotStatusInd.slotPhysStatus);
		return 0;
	case RSPRO_BANK_SLOT_STATUS_IND:
		get_bank(&pdu->slot_status.bank,
			 &u->bankSlotStatusInd.fromBankSlot);
		get_client(&pdu->slot_status.client,
			   &u->bankSlotStatusInd.toClientSlot);
		get_phys(&pdu->slot_status.phys,
			 &u->bankSlotStatusInd.slotPhysStatus);
		return 0;
	case RSPRO_ERROR_IND:
		return get_error_ind(pdu, &u->errorInd, err);
	case RSPRO_RESET_STATE_REQ:
		return 0;
	default:
		return rspro_fail(err, -ENOMSG, "unknown message");
	}
}

int rspro_decode_asn1c(const uint8_t *buf, size_t len, struct rspro_pdu *pdu,
		       struct rspro_error *err)
{
	asn_codec_ctx_t ctx = { .max_stack_size = DECODE_STACK_MAX };
	RsproPDU_t *asn = NULL;
	asn_dec_rval_t rv;
	char why[128];
	size_t why_len = sizeof(why);
	int ret;

	memset(pdu, 0, sizeof(*pdu));
	if (!len)
		return rspro_fail(err, -EBADMSG, "empty PDU");
	pthread_mutex_lock(&rspro_codec_lock);
	rv = ber_decode(&ctx, &asn_DEF_RsproPDU, (void **)&asn, buf, len);
	if (rv.code == RC_WMORE) {
		ret = rspro_fail(err, -EBADMSG,
				 "truncated PDU: %zu bytes end inside it", len);
		goto out;
	}
	if (rv.code != RC_OK) {
		ret = rspro_fail(err, -EBADMSG,
				 "malformed PDU: BER decoding failed at byte %zu of %zu",
				 rv.consumed, len);
		goto out;
	}
	if (rv.consumed != len) {
		ret = rspro_fail(err, -EBADMSG,
				 "%zu bytes of garbage after the PDU",
				 len - rv.consumed);
		goto out;
	}
	if (asn->msg.present == RsproPDUchoice_PR_NOTHING) {
		/* an alternative from an extension we do not know */
		ret = rspro_fail(err, -ENOMSG,
				 "unknown message (a choice this version does not know)");
		goto out;
	}
	if (asn_check_constraints(&asn_DEF_RsproPDU, asn, why, &why_len)) {
		ret = rspro_fail(err, -EBADMSG, "constraint violated: %s",
				 rspro_constraint_text(why));
		goto out;
	}
	pdu->version = asn->version;
	pdu->tag = asn->tag;
	pdu->msg = rspro_present_to_msg(asn->msg.present);
	ret = get_msg(pdu, &asn->msg, err);
out:
	ASN_STRUCT_FREE(asn_DEF_RsproPDU, asn);
	pthread_mutex_unlock(&rspro_codec_lock);
	return ret;
}

int rspro_decode(const uint8_t *buf, size_t len, struct rspro_pdu *pdu,
		 struct rspro_error *err)
{
	memset(pdu, 0, sizeof(*pdu));
	if (!rspro_tpdu_decode_fast(buf, len, pdu))
		return 0;
	return rspro_decode_asn1c(buf, len, pdu, err);
}
