/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim internal API: what the parts of remsim.ko share.
 */
#ifndef _REMSIM_H
#define _REMSIM_H

#include <linux/init.h>

int remsim_slot_core_init(void);
void remsim_slot_core_exit(void);

#endif /* _REMSIM_H */
