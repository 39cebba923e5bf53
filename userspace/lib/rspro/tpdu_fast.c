// SPDX-License-Identifier: GPL-2.0
/*
 * The two PDUs of the APDU path, tpduModemToCard and tpduCardToModem, in
 * DER without asn1c: asn1c takes ~2 us for one round trip of them and, as
 * it rewrites its global type descriptors on every call, a process-wide
 * lock (rspro_codec_lock) that the bank slots' threads of remsim-bankd
 * would queue on. Their DER is a fixed shape (IMPLICIT TAGS, the CHOICE
 * [2] explicit):
 *
 *   30 L  80 L version  81 L tag  A2 L  AC|AD L
 *         30 L (02 L id 02 L slot)  30 L (02 L id 02 L slot)
 *         30 0C (01 01 bool) x4  04 L data
 *
 * The encoder writes exactly what asn1c writes; the decoder takes only
 * that shape in its canonical form, within the constraints, and answers
 * "not mine" (-1) to anything else, which asn1c then decodes or refuses
 * with its reasons: BER's other spellings, extensions, errors. rspro_test
 * and rspro_fuzz hold both codecs to the same bytes and the same PDUs.
 */
#include <string.h>

#include "remsim/rspro.h"
#include "rspro_internal.h"

#define TAG_SEQUENCE	0x30
#define TAG_INTEGER	0x02
#define TAG_BOOLEAN	0x01
#define TAG_OCTETS	0x04
#define TAG_VERSION	0x80	/* [0] IMPLICIT INTEGER */
#define TAG_OPTAG	0x81	/* [1] IMPLICIT INTEGER */
#define TAG_MSG		0xa2	/* [2] RsproPDUchoice, explicit */
#define TAG_M2C		0xac	/* [12] IMPLICIT TpduModemToCard */
#define TAG_C2M		0xad	/* [13] IMPLICIT TpduCardToModem */
#define ID_MAX		1023	/* BankId, ClientId, SlotNumber */
#define VERSION_MAX	32
#define OPTAG_MAX	0x7fffffffu

/* --- encoding --- */

/* Content bytes of a non-negative INTEGER: minimal, a 0 first if bit 7 is set. */
static size_t int_len(uint32_t v)
{
	size_t n = 1;

	while (n < 5 && (v >> (8 * n - 1)) != 0)
		n++;
	return n;
}

static size_t len_len(size_t len)
{
	return len < 0x80 ? 1 : len < 0x100 ? 2 : 3;
}

/* A TLV's whole size for @len content bytes. */
static size_t tlv_size(size_t len)
{
	return 1 + len_len(len) + len;
}

static uint8_t *put_tl(uint8_t *p, uint8_t tag, size_t len)
{
	*p++ = tag;
	if (len >= 0x100) {
		*p++ = 0x82;
		*p++ = len >> 8;
	} else if (len >= 0x80) {
		*p++ = 0x81;
	}
	*p++ = len & 0xff;
	return p;
}

static uint8_t *put_int(uint8_t *p, uint8_t tag, uint32_t v)
{
	size_t n = int_len(v), i;

	p = put_tl(p, tag, n);
	for (i = n; i > 0; i--)
		*p++ = i > 4 ? 0 : (v >> (8 * (i - 1))) & 0xff;
	return p;
}

static size_t pair_len(unsigned int a, unsigned int b)
{
	return tlv_size(int_len(a)) + tlv_size(int_len(b));
}

static uint8_t *put_pair(uint8_t *p, unsigned int a, unsigned int b)
{
	p = put_tl(p, TAG_SEQUENCE, pair_len(a, b));
	p = put_int(p, TAG_INTEGER, a);
	return put_int(p, TAG_INTEGER, b);
}

static uint8_t *put_bool(uint8_t *p, bool v)
{
	*p++ = TAG_BOOLEAN;
	*p++ = 1;
	*p++ = v ? 0xff : 0x00;
	return p;
}

int rspro_tpdu_encode_fast(const struct rspro_pdu *pdu, uint8_t *buf, size_t size)
{
	const struct rspro_tpdu *t = &pdu->tpdu;
	bool m2c = pdu->msg == RSPRO_TPDU_MODEM_TO_CARD;
	unsigned int a1, a2, b1, b2;
	size_t client, bank, inner, choice, top, total;
	uint8_t *p = buf;

	if ((!m2c && pdu->msg != RSPRO_TPDU_CARD_TO_MODEM) || t->len > RSPRO_DATA_MAX ||
	    pdu->version > VERSION_MAX || pdu->tag > OPTAG_MAX ||
	    t->client.client_id > ID_MAX || t->client.slot_nr > ID_MAX ||
	    t->bank.bank_id > ID_MAX || t->bank.slot_nr > ID_MAX)
		return -1;	/* asn1c says why */
	client = tlv_size(pair_len(t->client.client_id, t->client.slot_nr));
	bank = tlv_size(pair_len(t->bank.bank_id, t->bank.slot_nr));
	inner = client + bank + tlv_size(4 * 3) + tlv_size(t->len);
	choice = tlv_size(inner);
	top = tlv_size(int_len(pdu->version)) + tlv_size(int_len(pdu->tag)) + tlv_size(choice);
	total = tlv_size(top);
	if (total > size)
		return -1;
	p = put_tl(p, TAG_SEQUENCE, top);
	p = put_int(p, TAG_VERSION, pdu->version);
	p = put_int(p, TAG_OPTAG, pdu->tag);
	p = put_tl(p, TAG_MSG, choice);
	p = put_tl(p, m2c ? TAG_M2C : TAG_C2M, inner);
	/* modem to card: from the client slot to the bank slot; back the other way */
	a1 = m2c ? t->client.client_id : t->bank.bank_id;
	a2 = m2c ? t->client.slot_nr : t->bank.slot_nr;
	b1 = m2c ? t->bank.bank_id : t->client.client_id;
	b2 = m2c ? t->bank.slot_nr : t->client.slot_nr;
	p = put_pair(p, a1, a2);
	p = put_pair(p, b1, b2);
	p = put_tl(p, TAG_SEQUENCE, 4 * 3);
	p = put_bool(p, t->flags.header_present);
	p = put_bool(p, t->flags.final_part);
	p = put_bool(p, t->flags.proc_continue_tx);
	p = put_bool(p, t->flags.proc_continue_rx);
	p = put_tl(p, TAG_OCTETS, t->len);
	if (t->len)
		memcpy(p, t->data, t->len);
	return total;
}

/* --- decoding --- */

struct cur {
	const uint8_t *p, *end;
};

/*
 * The value of the TLV at @c with tag @tag, in canonical DER length form,
 * into @in; @c moves past it. False if it is anything else.
 */
static bool take(struct cur *c, uint8_t tag, struct cur *in)
{
	size_t avail = c->end - c->p, len;
	const uint8_t *p = c->p;

	if (avail < 2 || p[0] != tag)
		return false;
	if (p[1] < 0x80) {
		len = p[1];
		p += 2;
	} else if (p[1] == 0x81 && avail >= 3 && p[2] >= 0x80) {
		len = p[2];
		p += 3;
	} else if (p[1] == 0x82 && avail >= 4 && p[2] != 0) {
		len = (size_t)p[2] << 8 | p[3];
		p += 4;
	} else {
		return false;
	}
	if ((size_t)(c->end - p) < len)
		return false;
	in->p = p;
	in->end = p + len;
	c->p = p + len;
	return true;
}

/* A non-negative INTEGER in minimal form, at most @max. */
static bool take_int(struct cur *c, uint8_t tag, uint32_t max, uint32_t *v)
{
	struct cur in;
	size_t n, i;
	uint64_t x = 0;

	if (!take(c, tag, &in))
		return false;
	n = in.end - in.p;
	if (n < 1 || n > 5 || (in.p[0] & 0x80))
		return false;
	if (n > 1 && in.p[0] == 0 && !(in.p[1] & 0x80))
		return false;
	for (i = 0; i < n; i++)
		x = x << 8 | in.p[i];
	if (x > max)
		return false;
	*v = x;
	return true;
}

static bool take_pair(struct cur *c, uint32_t *a, uint32_t *b)
{
	struct cur in;

	return take(c, TAG_SEQUENCE, &in) && take_int(&in, TAG_INTEGER, ID_MAX, a) &&
	       take_int(&in, TAG_INTEGER, ID_MAX, b) && in.p == in.end;
}

static bool take_bool(struct cur *c, bool *v)
{
	struct cur in;

	if (!take(c, TAG_BOOLEAN, &in) || in.end - in.p != 1 ||
	    (in.p[0] != 0x00 && in.p[0] != 0xff))
		return false;
	*v = in.p[0];
	return true;
}

static bool take_flags(struct cur *c, struct rspro_tpdu_flags *f)
{
	struct cur in;
	bool v[4];

	if (!take(c, TAG_SEQUENCE, &in) || !take_bool(&in, &v[0]) || !take_bool(&in, &v[1]) ||
	    !take_bool(&in, &v[2]) || !take_bool(&in, &v[3]) || in.p != in.end)
		return false;
	f->header_present = v[0];
	f->final_part = v[1];
	f->proc_continue_tx = v[2];
	f->proc_continue_rx = v[3];
	return true;
}

int rspro_tpdu_decode_fast(const uint8_t *buf, size_t len, struct rspro_pdu *pdu)
{
	struct cur all = { buf, buf + len }, top, choice, inner, data;
	struct rspro_tpdu *t = &pdu->tpdu;
	uint32_t version, tag, a1, a2, b1, b2;
	bool m2c;

	if (!take(&all, TAG_SEQUENCE, &top) || all.p != all.end ||
	    !take_int(&top, TAG_VERSION, VERSION_MAX, &version) ||
	    !take_int(&top, TAG_OPTAG, OPTAG_MAX, &tag) ||
	    !take(&top, TAG_MSG, &choice) || top.p != top.end || choice.p == choice.end)
		return -1;
	m2c = choice.p[0] == TAG_M2C;
	if (!take(&choice, m2c ? TAG_M2C : TAG_C2M, &inner) || choice.p != choice.end ||
	    !take_pair(&inner, &a1, &a2) || !take_pair(&inner, &b1, &b2) ||
	    !take_flags(&inner, &t->flags) || !take(&inner, TAG_OCTETS, &data) ||
	    inner.p != inner.end || (size_t)(data.end - data.p) > RSPRO_DATA_MAX)
		return -1;
	pdu->version = version;
	pdu->tag = tag;
	pdu->msg = m2c ? RSPRO_TPDU_MODEM_TO_CARD : RSPRO_TPDU_CARD_TO_MODEM;
	t->client.client_id = m2c ? a1 : b1;
	t->client.slot_nr = m2c ? a2 : b2;
	t->bank.bank_id = m2c ? b1 : a1;
	t->bank.slot_nr = m2c ? b2 : a2;
	t->len = data.end - data.p;
	if (t->len)
		memcpy(t->data, data.p, t->len);
	return 0;
}
