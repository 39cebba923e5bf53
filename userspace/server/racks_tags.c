// SPDX-License-Identifier: GPL-2.0
/*
 * Card tags (by ICCID: free ones set over REST, and mccmnc: from the IMSI)
 * and pools, saved queries over them.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remsim/log.h"
#include "audit.h"
#include "racks_int.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* --- tags --- */

static bool name_valid(const char *s, bool colon)
{
	size_t n = strlen(s), i;

	if (!n || n > SERVER_TAG_LEN)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
		      (colon && c == ':')))
			return false;
	}
	return true;
}

bool server_tag_valid(const char *tag)
{
	return name_valid(tag, true);
}

bool server_pool_name_valid(const char *name)
{
	return name_valid(name, false);
}

/*
 * The MNC's length is not in the IMSI (the card's EF_AD says it): these
 * MCCs (North America and the Caribbean, Argentina, Colombia, ...) assign
 * 3-digit MNCs, the others 2, as ITU-T E.212's list has them.
 */
static const unsigned short mnc3_mccs[] = {
	302, 310, 311, 312, 313, 314, 315, 316, 334, 338, 342, 344, 346, 348,
	354, 356, 358, 360, 365, 366, 376, 708, 722, 732, 750,
};

bool server_mccmnc_tag(const char *imsi, char *out, size_t len)
{
	unsigned int mcc, i, digits = 5;

	if (!imsi || strlen(imsi) < 6 || strspn(imsi, "0123456789") < 6)
		return false;
	mcc = (imsi[0] - '0') * 100 + (imsi[1] - '0') * 10 + (imsi[2] - '0');
	for (i = 0; i < ARRAY_SIZE(mnc3_mccs); i++)
		if (mnc3_mccs[i] == mcc)
			digits = 6;
	snprintf(out, len, "mccmnc:%.*s", (int)digits, imsi);
	return true;
}

struct card_tags *racks_tags_of(struct racks *r, const char *iccid)
{
	struct card_tags *t;

	for (t = r->tags; t; t = t->next)
		if (!strcmp(t->iccid, iccid))
			return t;
	return NULL;
}

void server_card_tags(struct server *srv, const char *iccid, const char *imsi,
		      void (*fn)(const char *tag, void *), void *arg)
{
	struct card_tags *t = iccid ? racks_tags_of(srv->racks, iccid) : NULL;
	char auto_tag[32];
	unsigned int i;

	if (server_mccmnc_tag(imsi, auto_tag, sizeof(auto_tag)))
		fn(auto_tag, arg);
	for (i = 0; t && i < t->n; i++)
		fn(t->tags[i], arg);
}

/* A record's JSON value: {"tags": [...]}; NULL when out of memory. */
char *racks_tags_json(const char *const *tags, unsigned int n)
{
	json_t *a = json_array(), *o;
	unsigned int i;
	char *text;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(tags[i]));
	o = json_pack("{s:o}", "tags", a);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* Tags from a record, checked: a bad one is dropped (and said). */
unsigned int racks_tags_parse(json_t *o, char tags[][SERVER_TAG_LEN + 1], const char *whose)
{
	json_t *a = json_object_get(o, "tags"), *v;
	unsigned int n = 0;
	size_t i;

	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (!s || !server_tag_valid(s) || n >= SERVER_TAGS_MAX) {
			LOGP(DMAIN, LOG_ERROR, "racks", "%s: a stored tag is not valid, dropped",
			     whose);
			continue;
		}
		snprintf(tags[n++], SERVER_TAG_LEN + 1, "%s", s);
	}
	return n;
}

int server_tags_set(struct server *srv, const char *iccid, const char *const *tags,
		    unsigned int n, char *err, size_t errlen)
{
	struct racks *r = srv->racks;
	struct card_tags *t = racks_tags_of(r, iccid), **pp;
	unsigned int i;
	char *text;
	int ret;

	if (!t && n && r->num_tagged >= SERVER_TAGGED_MAX &&
	    racks_limit_reached(r, "cards with tags", SERVER_TAGGED_MAX)) {
		snprintf(err, errlen, "%u cards have tags already, the most kept",
			 SERVER_TAGGED_MAX);
		return -ENOSPC;
	}
	if (!n) {
		ret = store_record_delete(srv->store, "tags", iccid, err, errlen);
		if (ret && ret != -ENOENT)
			return ret;
		for (pp = &r->tags; *pp; pp = &(*pp)->next)
			if (*pp == t) {
				*pp = t->next;
				free(t);
				r->num_tagged--;
				break;
			}
		return 0;
	}
	text = racks_tags_json(tags, n);
	if (!text)
		return -ENOMEM;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t) {
			free(text);
			return -ENOMEM;
		}
		snprintf(t->iccid, sizeof(t->iccid), "%s", iccid);
		t->next = r->tags;
		r->tags = t;
		r->num_tagged++;
	}
	ret = store_record_put(srv->store, "tags", iccid, text, err, errlen);
	free(text);
	if (ret && !t->n) {
		/* a card that had none keeps none */
		for (pp = &r->tags; *pp; pp = &(*pp)->next)
			if (*pp == t) {
				*pp = t->next;
				free(t);
				r->num_tagged--;
				break;
			}
	}
	if (ret)
		return ret;
	t->n = n;
	for (i = 0; i < n; i++)
		snprintf(t->tags[i], sizeof(t->tags[i]), "%s", tags[i]);
	return 0;
}


/* --- pools --- */

const struct server_pool *server_pool_find(struct server *srv, const char *name)
{
	struct server_pool *p;

	for (p = srv->racks->pools; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

const struct server_pool *server_pool_next_info(struct server *srv,
						const struct server_pool *prev,
						struct server_pool_info *info)
{
	const struct server_pool *p = prev ? prev->next : srv->racks->pools;

	if (p) {
		info->name = p->name;
		info->tags = p->ptrs;
		info->n = p->n;
	}
	return p;
}

/* Whether the card @ci has @tag, its automatic one included. */
static bool card_has(struct server *srv, const struct server_card_info *ci, const char *tag)
{
	struct card_tags *t = racks_tags_of(srv->racks, ci->card->iccid);
	char auto_tag[32];
	unsigned int i;

	if (server_mccmnc_tag(ci->card->imsi, auto_tag, sizeof(auto_tag)) &&
	    !strcmp(auto_tag, tag))
		return true;
	for (i = 0; t && i < t->n; i++)
		if (!strcmp(t->tags[i], tag))
			return true;
	return false;
}

bool server_pool_has(struct server *srv, const struct server_pool *pool,
		     const struct server_card_info *ci)
{
	unsigned int i;

	if (!ci->card->iccid[0])
		return false;
	for (i = 0; i < pool->n; i++)
		if (!card_has(srv, ci, pool->tags[i]))
			return false;
	return true;
}

struct server_lease *racks_lease_of_iccid(struct racks *r, const char *iccid)
{
	struct server_lease *l;

	for (l = r->leases; l; l = l->next)
		if (!strcmp(l->iccid, iccid))
			return l;
	return NULL;
}

bool server_card_free(struct server *srv, const struct server_card_info *ci)
{
	return !strcmp(ci->state, "present") && ci->card->iccid[0] && !ci->mapped &&
	       !racks_lease_of_iccid(srv->racks, ci->card->iccid);
}

void racks_pool_set(struct server_pool *p, const char *const *tags, unsigned int n)
{
	unsigned int i;

	p->n = n;
	for (i = 0; i < n; i++) {
		snprintf(p->tags[i], sizeof(p->tags[i]), "%s", tags[i]);
		p->ptrs[i] = p->tags[i];
	}
}

/* Links @p by name: GET /pools lists them so. */
void racks_pool_link(struct racks *r, struct server_pool *p)
{
	struct server_pool **pp = &r->pools;

	while (*pp && strcmp((*pp)->name, p->name) < 0)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
	r->num_pools++;
}

int server_pool_put(struct server *srv, const char *name, const char *const *tags,
		    unsigned int n, char *err, size_t errlen)
{
	struct racks *r = srv->racks;
	struct server_pool *p = (struct server_pool *)server_pool_find(srv, name);
	char *text;
	int ret;

	if (!p && r->num_pools >= SERVER_POOLS_MAX &&
	    racks_limit_reached(r, "pools", SERVER_POOLS_MAX)) {
		snprintf(err, errlen, "there are %u pools already, the most kept",
			 SERVER_POOLS_MAX);
		return -ENOSPC;
	}
	text = racks_tags_json(tags, n);
	if (!text)
		return -ENOMEM;
	ret = store_record_put(srv->store, "pool", name, text, err, errlen);
	free(text);
	if (ret)
		return ret;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;	/* stored: read at the next start */
		snprintf(p->name, sizeof(p->name), "%s", name);
		racks_pool_link(r, p);
	}
	racks_pool_set(p, tags, n);
	return 0;
}

int server_pool_delete(struct server *srv, const char *name, char *err, size_t errlen)
{
	struct racks *r = srv->racks;
	struct server_pool **pp, *p;
	int ret;

	for (pp = &r->pools; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name))
			break;
	if (!*pp)
		return -ENOENT;
	ret = store_record_delete(srv->store, "pool", name, err, errlen);
	if (ret && ret != -ENOENT)
		return ret;
	p = *pp;
	*pp = p->next;
	free(p);
	r->num_pools--;
	return 0;
}
