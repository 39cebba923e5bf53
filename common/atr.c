// SPDX-License-Identifier: GPL-2.0
/*
 * atr.c - see atr.h.
 */
#include "atr.h"

#define WI_DEFAULT	10

struct atr_layout {
	size_t len;		/* bytes up to the historical bytes' end */
	bool tck;		/* TCK follows */
	int tc2;		/* offset of TC2, or -1 */
};

/* Walks T0 and the TD chain; -EINVAL when it runs past len. */
static int atr_layout(const u8 *atr, size_t len, struct atr_layout *l)
{
	size_t i = 1;		/* T0 */
	unsigned int level = 1;
	u8 y;

	l->tck = false;
	l->tc2 = -1;
	if (len < 2 || (atr[0] != 0x3b && atr[0] != 0x3f))
		return -EINVAL;
	y = atr[1] >> 4;
	i = 2;
	for (;;) {
		if (y & 0x1)
			i++;			/* TAi */
		if (y & 0x2)
			i++;			/* TBi */
		if (y & 0x4) {
			if (level == 2)
				l->tc2 = i;
			i++;			/* TCi */
		}
		if (!(y & 0x8))
			break;
		if (i >= len)
			return -EINVAL;
		/* TDi: the protocol in its low nibble, the next Y above. */
		if ((atr[i] & 0x0f) != 0)
			l->tck = true;
		y = atr[i] >> 4;
		i++;
		level++;
	}
	l->len = i + (atr[1] & 0x0f);	/* historical bytes */
	if (l->tc2 >= 0 && (size_t)l->tc2 >= l->len)
		return -EINVAL;
	return 0;
}

int atr_check(u8 *atr, size_t len, bool fix_tck)
{
	struct atr_layout l;
	u8 x = 0;
	size_t i;

	if (len > ATR_MAX || atr_layout(atr, len, &l))
		return -EINVAL;
	if (len != l.len + (l.tck ? 1 : 0))
		return -EINVAL;
	if (!l.tck)
		return 0;
	for (i = 1; i < len - 1; i++)
		x ^= atr[i];
	if (fix_tck)
		atr[len - 1] = x;
	else if (atr[len - 1] != x)
		return -EINVAL;
	return 0;
}

u8 atr_wi(const u8 *atr, size_t len)
{
	struct atr_layout l;

	if (atr_layout(atr, len, &l) || l.tc2 < 0 || !atr[l.tc2])
		return WI_DEFAULT;
	return atr[l.tc2];
}
