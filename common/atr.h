/* SPDX-License-Identifier: GPL-2.0 */
/*
 * atr.h - the structure of an ISO 7816-3 answer to reset. Plain C.
 */
#ifndef _REMSIM_ATR_H
#define _REMSIM_ATR_H

#include "plain.h"

#define ATR_MAX		33

/*
 * Checks that atr[0..len) is one whole ATR: TS is 3B or 3F, the interface
 * bytes T0 announces are there, the historical bytes fill the rest but for
 * TCK, and TCK is present and right when a protocol other than T=0 is
 * offered (absent otherwise). With fix_tck, TCK's value is computed and
 * stored instead of checked. 0 or -EINVAL.
 */
int atr_check(u8 *atr, size_t len, bool fix_tck);

/* The waiting integer WI of a valid ATR: TC2 when present, else 10. */
u8 atr_wi(const u8 *atr, size_t len);

#endif /* _REMSIM_ATR_H */
