// SPDX-License-Identifier: GPL-2.0
/*
 * card_state.c - the software card's persistent state as a blob: a fixed
 * header (which card, PIN1, counters, SQN history), then the contents of
 * every file the phone may update, in file-table order.
 */
#include <errno.h>
#include <string.h>

#include "card_int.h"

#define STATE_MAGIC	0x52534353	/* "RSCS" */
#define STATE_VERSION	1

struct state_hdr {
	uint32_t	magic;
	uint32_t	version;
	uint32_t	files_bytes;
	char		imsi[16];
	char		iccid[21];
	char		pin1[9];
	uint8_t		pin1_enabled;
	uint8_t		pin1_tries;
	uint8_t		puk1_tries;
	uint8_t		pad[5];
	uint64_t	seq_ms[SEQ_INDS];
	uint64_t	sqn_highest;
};

static size_t file_bytes(const struct file *f)
{
	return (size_t)f->size * (f->records ? f->records : 1);
}

static size_t files_bytes(const struct card *c)
{
	size_t n = 0;

	for (unsigned int i = 0; i < c->nfiles; i++)
		if (c->files[i].persistent)
			n += file_bytes(&c->files[i]);
	return n;
}

size_t card_state_size(const struct card *c)
{
	return sizeof(struct state_hdr) + files_bytes(c);
}

void card_state_save(const struct card *c, uint8_t *blob)
{
	struct state_hdr h;
	size_t off = sizeof(h);

	memset(&h, 0, sizeof(h));
	h.magic = STATE_MAGIC;
	h.version = STATE_VERSION;
	h.files_bytes = files_bytes(c);
	memcpy(h.imsi, c->profile.imsi, sizeof(h.imsi));
	memcpy(h.iccid, c->profile.iccid, sizeof(h.iccid));
	memcpy(h.pin1, c->profile.pin1, sizeof(h.pin1));
	h.pin1_enabled = c->profile.pin1_enabled;
	h.pin1_tries = c->pin1_tries;
	h.puk1_tries = c->puk1_tries;
	memcpy(h.seq_ms, c->seq_ms, sizeof(h.seq_ms));
	h.sqn_highest = c->sqn_highest;
	memcpy(blob, &h, sizeof(h));
	for (unsigned int i = 0; i < c->nfiles; i++) {
		if (!c->files[i].persistent)
			continue;
		memcpy(blob + off, c->files[i].data, file_bytes(&c->files[i]));
		off += file_bytes(&c->files[i]);
	}
}

int card_state_load(struct card *c, const uint8_t *blob, size_t len)
{
	struct state_hdr h;
	size_t off = sizeof(h);

	if (len != card_state_size(c))
		return -EINVAL;
	memcpy(&h, blob, sizeof(h));
	if (h.magic != STATE_MAGIC || h.version != STATE_VERSION ||
	    h.files_bytes != files_bytes(c) ||
	    memcmp(h.imsi, c->profile.imsi, sizeof(h.imsi)) ||
	    memcmp(h.iccid, c->profile.iccid, sizeof(h.iccid)) ||
	    h.pin1_tries > PIN_TRIES || h.puk1_tries > PUK_TRIES ||
	    h.pin1[sizeof(h.pin1) - 1])
		return -EINVAL;
	memcpy(c->profile.pin1, h.pin1, sizeof(h.pin1));
	c->profile.pin1_enabled = h.pin1_enabled;
	c->pin1_tries = h.pin1_tries;
	c->puk1_tries = h.puk1_tries;
	memcpy(c->seq_ms, h.seq_ms, sizeof(c->seq_ms));
	c->sqn_highest = h.sqn_highest;
	c->counters.sqn_highest = h.sqn_highest;
	for (unsigned int i = 0; i < c->nfiles; i++) {
		if (!c->files[i].persistent)
			continue;
		memcpy(c->files[i].data, blob + off, file_bytes(&c->files[i]));
		off += file_bytes(&c->files[i]);
	}
	return 0;
}
