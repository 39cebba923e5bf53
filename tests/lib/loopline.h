/* SPDX-License-Identifier: GPL-2.0 */
/*
 * loopline.h - the whole SIM path in one process, no kernel: the phone's
 * line goes into the card emulator (the board), the T=0 engine (the slot
 * core) and a software card (the bank). The same code as the real path
 * runs, so the phone session can be tested and measured without a VM.
 */
#ifndef _LOOPLINE_H
#define _LOOPLINE_H

struct card;
struct modem;

/* A phone wired to card; modem_close() undoes it (the card stays). */
int loopline_open(struct modem **m, struct card *card);

#endif /* _LOOPLINE_H */
