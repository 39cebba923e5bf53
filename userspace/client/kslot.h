/* SPDX-License-Identifier: GPL-2.0 */
/* A client slot whose modem side is a /dev/remsimN slot of the kernel. */
#ifndef REMSIM_CLIENT_KSLOT_H
#define REMSIM_CLIENT_KSLOT_H

#include "slot.h"

struct kslot;

/* Opens /dev/remsim@index as its owner; NULL with the reason in @err. */
struct kslot *kslot_open(struct ev_loop *loop, uint32_t index, const struct rc_cfg *cfg,
			 char *err, size_t errlen);
void kslot_start(struct kslot *k);
/* A bank target from the kernel's map: no server needed. */
void kslot_static_bank(struct kslot *k, struct rspro_bank_slot bank,
		       const struct rspro_ip_port *bankd);
void kslot_close(struct kslot *k);
struct rc_slot *kslot_rc(const struct kslot *k);

#endif
