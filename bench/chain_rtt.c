// SPDX-License-Identifier: GPL-2.0
/*
 * chain_rtt - where the time of a remote-SIM command goes, in the VM. The
 * scripted phone session (28 commands) runs through the whole chain (phone,
 * remsim.ko, remsim-client, remsim-bankd, pcscd, vpcd, softsim), and the
 * same session on a slot whose owner answers from a local software card
 * (the kernel's share). Beside them: STATUS through bankd from an RSPRO
 * client (network, bankd, pcscd and card) and STATUS by direct
 * SCardTransmit (pcscd and card). The client's share is what is left.
 *
 *	chain_rtt		run in the VM (make bench)
 */
#include <PCSC/winscard.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "measure.h"
#include "owner.h"
#include "remsim/nl.h"
#include "rspro_peer.h"

#define ROUNDS	200

static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
static struct chain ch;

/* The session on a simulated slot served by the chain, as client 70:0. */
static int chain_session(struct session_result *r)
{
	struct rsnl_map m = { .mapped = true, .client_id = 70 };
	struct session_opts o = { .have_keys = true, .sqn = 1 << 5, .status_polls = 2 };
	struct card_profile prof;
	struct slot_fixture fx;
	int tries, ret = -1;

	if (slot_fixture(&fx, -1) || rsnl_slot_set(fx.nl, fx.index, &m) ||
	    chain_map(&ch, 0, 70, 0) != 201)
		return -1;
	card_profile_default(&prof, 0);
	memcpy(o.ki, prof.ki, 16);
	memcpy(o.opc, prof.opc, 16);
	for (tries = 0; tries < 60 && ret; tries++) {
		memset(r, 0, sizeof(*r));
		ret = session_run(fx.modem, &o, r);
		if (ret)
			usleep(500000);
	}
	/* once more now that everything is warm */
	if (!ret) {
		memset(r, 0, sizeof(*r));
		o.sqn += 1 << 5;
		ret = session_run(fx.modem, &o, r);
	}
	slot_fixture_done(&fx);
	return ret;
}

/* STATUS through bankd from an RSPRO client, card 1, as client 71:0. */
static int bankd_status(uint64_t *lat, struct ev_loop *loop)
{
	struct rspro_client_slot cs = { 71, 0 };
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer t;
	int i, tries;

	if (chain_map(&ch, 1, 71, 0) != 201)
		return -1;
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "bench", "remsim-client", "b");
	for (tries = 0; tries < 40; tries++) {
		if (!tpeer_connect(&t, loop, ch.bank[0].port)) {
			rspro_connect_client_req(&pdu, &id, &cs);
			tpeer_send(&t, &pdu);
			if (tpeer_wait(&t, RSPRO_SET_ATR_REQ, NULL, 2000))
				break;
			tpeer_close(&t);
		}
		usleep(250000);
	}
	if (tries == 40)
		return -1;
	for (i = 0; i < ROUNDS; i++) {
		uint64_t t0 = now_ns();

		rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, cs, (struct rspro_bank_slot){ 1, 1 },
			   status, sizeof(status));
		tpeer_send(&t, &pdu);
		if (!tpeer_wait(&t, RSPRO_TPDU_CARD_TO_MODEM, &pdu, 5000))
			return -1;
		lat[i] = now_ns() - t0;
	}
	tpeer_close(&t);
	return 0;
}

/* STATUS by direct SCardTransmit on card 2. */
static int direct_status(uint64_t *lat)
{
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto, rlen;
	uint8_t resp[300];
	char reader[64];
	int i;

	pcsc_env_reader(&ch.bank[0].env, 2, reader, sizeof(reader));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) ||
	    SCardConnect(ctx, reader, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0, &card, &proto))
		return -1;
	for (i = 0; i < ROUNDS; i++) {
		uint64_t t0 = now_ns();

		rlen = sizeof(resp);
		if (SCardTransmit(card, SCARD_PCI_T0, status, sizeof(status), NULL, resp, &rlen))
			return -1;
		lat[i] = now_ns() - t0;
	}
	SCardDisconnect(card, SCARD_UNPOWER_CARD);
	SCardReleaseContext(ctx);
	return 0;
}

int main(void)
{
	static struct served_phone local;
	static struct session_result remote;
	static uint64_t bankd_lat[ROUNDS], direct_lat[ROUNDS];
	struct ev_loop *loop = ev_loop_new();
	uint64_t c50, k50, b50, d50;

	signal(SIGPIPE, SIG_IGN);
	if (slot_modules_load() || chain_start(&ch, 3, true)) {
		fprintf(stderr, "chain_rtt: the chain did not start (%s)\n", ch.dir);
		return 1;
	}
	/* the kernel's share: the same session, answered from a local card */
	if (served_phone_setup(&local, 0)) {
		fprintf(stderr, "chain_rtt: no local slot\n");
		return 1;
	}
	served_phone_run(&local);
	if (local.ret || served_phone_done(&local)) {
		fprintf(stderr, "chain_rtt: local session failed: %s\n", local.r.error);
		return 1;
	}
	if (chain_session(&remote)) {
		fprintf(stderr, "chain_rtt: the session through the chain failed: %s\n", remote.error);
		return 1;
	}
	if (bankd_status(bankd_lat, loop) || direct_status(direct_lat)) {
		fprintf(stderr, "chain_rtt: bankd or direct STATUS failed\n");
		return 1;
	}
	c50 = session_percentile(&remote, 50);
	k50 = session_percentile(&local.r, 50);
	b50 = percentile(bankd_lat, ROUNDS, 50);
	d50 = percentile(direct_lat, ROUNDS, 50);
	printf("# phone session (%u commands) per command, p50; STATUS x%d for the parts\n",
	       remote.commands, ROUNDS);
	printf("chain_cmd_p50: %.1f us (%.2fx vs kernel_local_card)\n", c50 / 1e3, (double)c50 / k50);
	printf("kernel_local_card_p50: %.1f us\n", k50 / 1e3);
	printf("bankd_rspro_status_p50: %.1f us\n", b50 / 1e3);
	printf("card_direct_status_p50: %.1f us\n", d50 / 1e3);
	printf("network_bankd_share_p50: %.1f us\n", (b50 > d50 ? b50 - d50 : 0) / 1e3);
	printf("client_share_p50: %.1f us\n",
	       (c50 > k50 + b50 ? c50 - k50 - b50 : 0) / 1e3);
	return chain_stop(&ch) ? 1 : 0;
}
