// SPDX-License-Identifier: GPL-2.0
/*
 * msg.c - the messages of the slot queues, from a cache of their own so
 * that a leak shows (the cache complains when destroyed with objects left,
 * and remsim_msg_live() counts them for the selftests).
 *
 * Most messages are made in atomic context, from what the board reports. A
 * mempool keeps a reserve for when GFP_ATOMIC finds no memory, so that a
 * message from the modem is not lost to a passing shortage.
 */
#include <linux/atomic.h>
#include <linux/mempool.h>
#include <linux/slab.h>

#include "remsim.h"

#define MSG_RESERVE	64

static struct kmem_cache *msg_cache;
static mempool_t *msg_pool;
static atomic_long_t msgs_live = ATOMIC_LONG_INIT(0);

struct remsim_msg *remsim_msg_alloc(gfp_t gfp)
{
	struct remsim_msg *msg = mempool_alloc(msg_pool, gfp);

	if (!msg)
		return NULL;
	INIT_LIST_HEAD(&msg->node);
	msg->oob = false;
	memset(&msg->hdr, 0, sizeof(msg->hdr));
	atomic_long_inc(&msgs_live);
	return msg;
}

void remsim_msg_free(struct remsim_msg *msg)
{
	if (!msg)
		return;
	atomic_long_dec(&msgs_live);
	mempool_free(msg, msg_pool);
}

long remsim_msg_live(void)
{
	return atomic_long_read(&msgs_live);
}

int remsim_msg_cache_init(void)
{
	/*
	 * read() copies header and payload straight to the owner: hardened
	 * usercopy allows exactly that part of the object.
	 */
	msg_cache = kmem_cache_create_usercopy("remsim_msg", sizeof(struct remsim_msg),
					       __alignof__(struct remsim_msg), 0,
					       offsetof(struct remsim_msg, hdr),
					       sizeof(struct remsim_msg) -
					       offsetof(struct remsim_msg, hdr), NULL);
	if (!msg_cache)
		return -ENOMEM;
	msg_pool = mempool_create_slab_pool(MSG_RESERVE, msg_cache);
	if (!msg_pool) {
		kmem_cache_destroy(msg_cache);
		return -ENOMEM;
	}
	return 0;
}

void remsim_msg_cache_exit(void)
{
	mempool_destroy(msg_pool);
	kmem_cache_destroy(msg_cache);
}
