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

#endif
