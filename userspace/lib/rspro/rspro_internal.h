/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between the RSPRO codec files; not installed. */
#ifndef RSPRO_INTERNAL_H
#define RSPRO_INTERNAL_H

#include <pthread.h>

#include "remsim/rspro.h"

/* Formats @err (if not NULL) and returns @ret. */
int rspro_fail(struct rspro_error *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* asn1c's constraint message without its "(File.c:NN)" suffix. */
const char *rspro_constraint_text(char *why);

static inline bool rspro_component_valid(long type)
{
	return type >= RSPRO_COMP_CLIENT && type <= RSPRO_COMP_BANKD;
}

/* Between our message numbers (= context tags) and asn1c's "present". */
int rspro_msg_to_present(enum rspro_msg msg);
enum rspro_msg rspro_present_to_msg(int present);

/*
 * asn1c 0.9.28 rewrites its global type descriptors on every call (each
 * derived type "inherits" its base's functions at run time): harmless in one
 * thread, a data race in several. Every codec call holds this lock.
 */
extern pthread_mutex_t rspro_codec_lock;

/*
 * tpdu_fast.c: tpduModemToCard and tpduCardToModem without asn1c. -1: not
 * one of them, or not in the one canonical shape (decode), or out of the
 * constraints: asn1c's turn. The asn1c codec alone: rspro_*_asn1c().
 */
int rspro_tpdu_encode_fast(const struct rspro_pdu *pdu, uint8_t *buf, size_t size);
int rspro_tpdu_decode_fast(const uint8_t *buf, size_t len, struct rspro_pdu *pdu);
int rspro_encode_asn1c(const struct rspro_pdu *pdu, uint8_t *buf, size_t size,
		       struct rspro_error *err);
int rspro_decode_asn1c(const uint8_t *buf, size_t len, struct rspro_pdu *pdu,
		       struct rspro_error *err);

#endif
