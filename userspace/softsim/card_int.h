/* SPDX-License-Identifier: GPL-2.0 */
/*
 * card_int.h - what the parts of the software card share: its file system
 * (card_fs.c) and its commands (card.c).
 */
#ifndef _SOFTSIM_CARD_INT_H
#define _SOFTSIM_CARD_INT_H

#include "card.h"
#include "milenage.h"

enum file_type {
	FT_MF,
	FT_DF,
	FT_ADF,
	FT_TRANSPARENT,
	FT_LINEAR,
};

/* Access conditions, in order of strength. */
enum access {
	AC_ALW,		/* always */
	AC_PIN1,	/* after PIN1 (when PIN1 is enabled) */
	AC_ADM,		/* the operator only */
	AC_NEV,		/* never */
};

#define FILES_MAX	48
#define AID_MAX		16

struct file {
	uint16_t	fid;
	uint8_t		type;		/* enum file_type */
	int8_t		parent;		/* index, -1 for the MF */
	uint8_t		sfi;		/* short file id, 0 if none */
	uint8_t		read_ac;
	uint8_t		update_ac;
	uint16_t	size;		/* transparent: bytes; linear: record length */
	uint8_t		records;	/* linear: how many */
	uint8_t		aid_len;
	uint8_t		aid[AID_MAX];	/* ADF */
	uint8_t		*data;		/* size * records bytes */
	bool		persistent;	/* updates are part of the saved state */
};

#define SEQ_IND_BITS	5
#define SEQ_INDS	(1 << SEQ_IND_BITS)

struct card {
	struct card_profile	profile;
	struct milenage		mil;
	struct file		files[FILES_MAX];
	unsigned int		nfiles;

	/* Selection */
	int			cur_df;		/* the current DF or ADF */
	int			cur_ef;		/* -1: none */
	int			cur_adf;	/* the application, -1: none */
	int			record;		/* record pointer, 0: none */

	/* The response waiting for GET RESPONSE. */
	uint8_t			pending[256];
	size_t			pending_len;

	/* PIN1 and its unblocking key. */
	bool			pin1_verified;
	uint8_t			pin1_tries;
	uint8_t			puk1_tries;

	/* SQN freshness, TS 33.102 annex C: highest SEQ per IND. */
	uint64_t		seq_ms[SEQ_INDS];
	uint64_t		sqn_highest;

	struct card_counters	counters;
};

#define PIN_TRIES	3
#define PUK_TRIES	10

/* card_fs.c */
int card_fs_build(struct card *c);
void card_fs_free(struct card *c);
int card_fs_find(const struct card *c, int parent, uint16_t fid);
int card_fs_find_aid(const struct card *c, const uint8_t *aid, size_t len);
/* The FCP template a UICC returns for a file. */
size_t card_fs_fcp(const struct card *c, int file, uint8_t *out);
/* The GSM 11.11 response to SELECT or STATUS. */
size_t card_fs_gsm_info(const struct card *c, int file, uint8_t *out);

#endif /* _SOFTSIM_CARD_INT_H */
