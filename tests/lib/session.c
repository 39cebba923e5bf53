// SPDX-License-Identifier: GPL-2.0
/*
 * session.c - the scripted phone session, see session.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "milenage.h"
#include "modem.h"
#include "session.h"

#define SW_OK	0x9000

struct run {
	struct modem			*m;
	const struct session_opts	*o;
	struct session_result		*r;
	uint8_t				resp[600];
	size_t				resp_len;
	uint16_t			sw;
};

static int fail(struct run *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->r->error, sizeof(s->r->error), fmt, ap);
	va_end(ap);
	return -1;
}

static int apdu(struct run *s, const char *what, const uint8_t *cmd, size_t len)
{
	int ret = modem_apdu(s->m, cmd, len, s->resp, &s->resp_len, &s->sw);

	s->r->nlat += modem_take_latencies(s->m, s->r->lat_ns + s->r->nlat,
					   SESSION_LAT_MAX - s->r->nlat);
	s->r->commands = s->r->nlat;
	if (ret)
		return fail(s, "%s: %s", what, strerror(-ret));
	return 0;
}

/* An APDU that must end in 9000. */
static int apdu_ok(struct run *s, const char *what, const uint8_t *cmd, size_t len)
{
	if (apdu(s, what, cmd, len))
		return -1;
	if (s->sw != SW_OK)
		return fail(s, "%s: SW %04x", what, s->sw);
	return 0;
}

static int select_fid(struct run *s, uint8_t cla, uint16_t fid, const char *what)
{
	uint8_t cmd[8] = { cla, 0xa4, 0x00, cla == 0xa0 ? 0x00 : 0x04, 0x02, fid >> 8, fid };

	/* GSM: case 3 on the wire (9Fxx); UICC: case 4 with Le (61xx). */
	return apdu_ok(s, what, cmd, cla == 0xa0 ? 7 : 8);
}

static int read_binary(struct run *s, uint8_t cla, uint8_t len, const char *what)
{
	uint8_t cmd[5] = { cla, 0xb0, 0x00, 0x00, len };

	if (apdu_ok(s, what, cmd, 5))
		return -1;
	if (s->resp_len != len + 2u)
		return fail(s, "%s: %zu bytes", what, s->resp_len - 2);
	return 0;
}

/* BCD with swapped nibbles to digits, up to an F. */
static void digits_of(const uint8_t *b, size_t n, bool skip_first, char *out)
{
	size_t k = 0;

	for (size_t i = skip_first ? 1 : 0; i < n * 2; i++) {
		uint8_t d = i % 2 ? b[i / 2] >> 4 : b[i / 2] & 0x0f;

		if (d > 9)
			break;
		out[k++] = '0' + d;
	}
	out[k] = 0;
}

static int decode_imsi(struct run *s, char *imsi)
{
	uint8_t len = s->resp[0];

	if (len < 1 || len > 8)
		return fail(s, "EF.IMSI: length %u", len);
	digits_of(s->resp + 1, len, true, imsi);
	return 0;
}

static int uicc_part(struct run *s)
{
	uint8_t read_dir[5] = { 0x00, 0xb2, 0x01, 0x04, 0x00 };
	uint8_t sel_aid[6 + 16] = { 0x00, 0xa4, 0x04, 0x04 };
	uint8_t verify[13] = { 0x00, 0x20, 0x00, 0x01, 0x08 };
	uint8_t pin_status[5] = { 0x00, 0x20, 0x00, 0x01, 0x00 };
	size_t aid_len;

	if (select_fid(s, 0x00, 0x3f00, "SELECT MF") ||
	    select_fid(s, 0x00, 0x2fe2, "SELECT EF.ICCID") ||
	    read_binary(s, 0x00, 10, "READ EF.ICCID"))
		return -1;
	digits_of(s->resp, 10, false, s->r->iccid);

	/* EF.DIR says where the USIM is; its record length from the 6C. */
	if (select_fid(s, 0x00, 0x2f00, "SELECT EF.DIR") ||
	    apdu_ok(s, "READ EF.DIR", read_dir, 5))
		return -1;
	if (s->resp[0] != 0x61 || s->resp[2] != 0x4f || s->resp[3] > 16)
		return fail(s, "EF.DIR: no application template");
	aid_len = s->resp[3];
	sel_aid[4] = aid_len;
	memcpy(sel_aid + 5, s->resp + 4, aid_len);
	sel_aid[5 + aid_len] = 0x00;
	if (apdu_ok(s, "SELECT ADF.USIM", sel_aid, 6 + aid_len))
		return -1;

	if (apdu(s, "PIN1 status", pin_status, 5))
		return -1;
	if (s->sw != SW_OK) {
		if ((s->sw & 0xfff0) != 0x63c0 || !s->o->pin1)
			return fail(s, "PIN1 needed: SW %04x", s->sw);
		memset(verify + 5, 0xff, 8);
		memcpy(verify + 5, s->o->pin1, strlen(s->o->pin1));
		if (apdu_ok(s, "VERIFY PIN1", verify, 13))
			return -1;
	}
	if (select_fid(s, 0x00, 0x6f07, "SELECT EF.IMSI") ||
	    read_binary(s, 0x00, 9, "READ EF.IMSI"))
		return -1;
	return decode_imsi(s, s->r->imsi);
}

static void autn_for(const struct milenage *mil, const uint8_t rand[16], uint64_t sqn,
		     uint8_t autn[16])
{
	static const uint8_t amf[2] = { 0x80, 0x00 };
	uint8_t sqn_b[6], ak[6];

	for (int i = 5; i >= 0; i--)
		sqn_b[i] = sqn >> (8 * (5 - i));
	milenage_f2345(mil, rand, NULL, NULL, NULL, ak);
	for (int i = 0; i < 6; i++)
		autn[i] = sqn_b[i] ^ ak[i];
	memcpy(autn + 6, amf, 2);
	milenage_f1(mil, rand, sqn_b, amf, autn + 8, NULL);
}

static void random_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = random();
}

/* A fresh RAND and the AUTN for a->sqn into a->cmd. */
static void auth_cmd(struct session_auth *a)
{
	static const uint8_t hdr[6] = { 0x00, 0x88, 0x00, 0x81, 34, 16 };

	random_bytes(a->rand, 16);
	memcpy(a->cmd, hdr, 6);
	memcpy(a->cmd + 6, a->rand, 16);
	a->cmd[22] = 16;
	autn_for(&a->mil, a->rand, a->sqn, a->cmd + 23);
	a->cmd[39] = 0x00;
}

void session_auth_init(struct session_auth *a, const uint8_t ki[16], const uint8_t opc[16],
		       uint64_t sqn)
{
	milenage_init(&a->mil, ki, opc);
	a->sqn = sqn;
	auth_cmd(a);
}

/*
 * AUTS = SQNms ^ AK* | MAC-S: a MAC-S of the card's proves the token
 * genuine, then the network goes past the card's SQN, its IND kept.
 */
static int auth_resync(struct session_auth *a, const uint8_t *auts)
{
	static const uint8_t amf_resync[2] = { 0, 0 };
	uint8_t aks[6], sqn_ms[6], mac_s[8];
	uint64_t seq_ms = 0;

	milenage_f5star(&a->mil, a->rand, aks);
	for (int i = 0; i < 6; i++) {
		sqn_ms[i] = auts[i] ^ aks[i];
		seq_ms = seq_ms << 8 | sqn_ms[i];
	}
	milenage_f1(&a->mil, a->rand, sqn_ms, amf_resync, NULL, mac_s);
	if (memcmp(mac_s, auts + 6, 8))
		return -EBADMSG;
	a->sqn = ((seq_ms >> 5) + 1) << 5 | (a->sqn & 31);
	auth_cmd(a);
	return -EAGAIN;
}

int session_auth_check(struct session_auth *a, const uint8_t *resp, size_t len,
		       uint8_t res[8], uint8_t ck[16], uint8_t ik[16])
{
	uint8_t xres[8], xck[16], xik[16];

	if (len >= 16 && resp[0] == 0xdc && resp[1] == 14)
		return auth_resync(a, resp + 2);
	if (len < 44 || resp[0] != 0xdb || resp[1] != 8 || resp[10] != 16 || resp[27] != 16)
		return -EBADMSG;
	memcpy(res, resp + 2, 8);
	memcpy(ck, resp + 11, 16);
	memcpy(ik, resp + 28, 16);
	milenage_f2345(&a->mil, a->rand, xres, xck, xik, NULL);
	if (memcmp(xres, res, 8) || memcmp(xck, ck, 16) || memcmp(xik, ik, 16))
		return -EBADMSG;
	return 0;
}

static int usim_auth(struct run *s)
{
	struct session_auth a;
	int ret = -EAGAIN;

	if (!s->o->have_keys)
		return 0;
	session_auth_init(&a, s->o->ki, s->o->opc, s->o->sqn);
	/* at most one resynchronisation, as a network does */
	for (int attempt = 0; attempt < 2 && ret == -EAGAIN; attempt++) {
		if (apdu_ok(s, "AUTHENTICATE", a.cmd, sizeof(a.cmd)))
			return -1;
		ret = session_auth_check(&a, s->resp, s->resp_len - 2, s->r->res, s->r->ck,
					 s->r->ik);
		if (ret == -EAGAIN && !attempt)
			s->r->resynced = true;
	}
	if (ret)
		return fail(s, "AUTHENTICATE: %s (tag %02x)", ret == -EAGAIN ?
			    "synchronisation failure again" :
			    "no RES, or RES, CK or IK differ from the network's", s->resp[0]);
	s->r->sqn_used = a.sqn;
	return 0;
}

static int gsm_part(struct run *s)
{
	uint8_t run_gsm[5 + 16] = { 0xa0, 0x88, 0x00, 0x00, 16 };
	uint8_t sres[4], kc[8];
	struct milenage mil;

	if (select_fid(s, 0xa0, 0x3f00, "GSM SELECT MF") ||
	    select_fid(s, 0xa0, 0x7f20, "GSM SELECT DF.GSM") ||
	    select_fid(s, 0xa0, 0x6f07, "GSM SELECT EF.IMSI") ||
	    read_binary(s, 0xa0, 9, "GSM READ EF.IMSI") ||
	    decode_imsi(s, s->r->imsi_gsm))
		return -1;
	random_bytes(run_gsm + 5, 16);
	if (apdu_ok(s, "RUN GSM ALGORITHM", run_gsm, sizeof(run_gsm)))
		return -1;
	if (s->resp_len != 14)
		return fail(s, "RUN GSM ALGORITHM: %zu bytes", s->resp_len - 2);
	memcpy(s->r->sres, s->resp, 4);
	memcpy(s->r->kc, s->resp + 4, 8);
	if (!s->o->have_keys)
		return 0;
	milenage_init(&mil, s->o->ki, s->o->opc);
	milenage_gsm(&mil, run_gsm + 5, sres, kc);
	if (memcmp(sres, s->r->sres, 4) || memcmp(kc, s->r->kc, 8))
		return fail(s, "RUN GSM ALGORITHM: SRES or Kc differ from the network's");
	return 0;
}

int session_run(struct modem *m, const struct session_opts *o, struct session_result *r)
{
	static const uint8_t status[5] = { 0x80, 0xf2, 0x00, 0x0c, 0x00 };
	struct run s = { .m = m, .o = o, .r = r };
	int ret;

	memset(r, 0, sizeof(*r));
	modem_take_latencies(m, r->lat_ns, 0);
	ret = modem_power_on(m, r->atr, &r->atr_len);
	if (ret)
		return fail(&s, "no ATR: %s", strerror(-ret));
	/* TA1 is there when T0 says so (bit 5). */
	if (o->pps && (r->atr[1] & 0x10)) {
		ret = modem_pps(m, r->atr[2] >> 4, r->atr[2] & 0x0f);
		if (ret)
			return fail(&s, "PPS: %s", strerror(-ret));
	}
	if (uicc_part(&s) || usim_auth(&s) || gsm_part(&s))
		return -1;
	if (strcmp(r->imsi, r->imsi_gsm))
		return fail(&s, "the USIM says IMSI %s, DF.GSM %s", r->imsi, r->imsi_gsm);
	for (unsigned int i = 0; i < o->status_polls; i++)
		if (apdu_ok(&s, "STATUS", status, 5))
			return -1;
	return 0;
}

uint64_t session_percentile(const struct session_result *r, unsigned int pct)
{
	uint64_t sorted[SESSION_LAT_MAX];

	memcpy(sorted, r->lat_ns, r->nlat * sizeof(sorted[0]));
	return percentile(sorted, r->nlat, pct);
}
