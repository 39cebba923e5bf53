// SPDX-License-Identifier: GPL-2.0
/* The softsim's profile file, checked field by field with line numbers. */
#define _GNU_SOURCE		/* strchrnul */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "remsim/conf.h"

void profiles_default(struct profiles *p, unsigned int count)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->count = count;
	for (i = 0; i < SOFTSIM_CARDS_MAX; i++)
		card_profile_default(&p->card[i], i);
}

static int digits(char *dst, size_t size, const char *v, size_t min, size_t max)
{
	size_t len = strlen(v), i;

	if (len < min || len > max || len >= size)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)v[i]))
			return -EINVAL;
	strcpy(dst, v);
	return 0;
}

static int key16(uint8_t *dst, const char *v)
{
	unsigned int i, b;

	if (strlen(v) != 32)
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		if (!isxdigit((unsigned char)v[2 * i]) || !isxdigit((unsigned char)v[2 * i + 1]) ||
		    sscanf(v + 2 * i, "%2x", &b) != 1)
			return -EINVAL;
		dst[i] = b;
	}
	return 0;
}

static int yes_no(bool *dst, const char *v)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*dst = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*dst = false;
	else
		return -EINVAL;
	return 0;
}

/* One "key = value" of a card; a sentence in @why when it is wrong. */
static int set_field(struct card_profile *c, const char *key, const char *v,
		     char *why, size_t whylen)
{
	unsigned long n;
	char *end;

	if (!strcmp(key, "iccid")) {
		if (!digits(c->iccid, sizeof(c->iccid), v, 18, 20))
			return 0;
		snprintf(why, whylen, "iccid must be 18..20 digits");
	} else if (!strcmp(key, "imsi")) {
		if (!digits(c->imsi, sizeof(c->imsi), v, 6, 15))
			return 0;
		snprintf(why, whylen, "imsi must be 6..15 digits");
	} else if (!strcmp(key, "ki")) {
		if (!key16(c->ki, v))
			return 0;
		snprintf(why, whylen, "ki must be 32 hex digits");
	} else if (!strcmp(key, "opc")) {
		if (!key16(c->opc, v))
			return 0;
		snprintf(why, whylen, "opc must be 32 hex digits");
	} else if (!strcmp(key, "msisdn")) {
		if (!digits(c->msisdn, sizeof(c->msisdn), v, 0, 20))
			return 0;
		snprintf(why, whylen, "msisdn must be at most 20 digits");
	} else if (!strcmp(key, "spn")) {
		if (strlen(v) < sizeof(c->spn)) {
			strcpy(c->spn, v);
			return 0;
		}
		snprintf(why, whylen, "spn must be at most %zu characters", sizeof(c->spn) - 1);
	} else if (!strcmp(key, "mnc-len")) {
		n = strtoul(v, &end, 10);
		if (!*end && (n == 2 || n == 3)) {
			c->mnc_len = n;
			return 0;
		}
		snprintf(why, whylen, "mnc-len must be 2 or 3");
	} else if (!strcmp(key, "pin1")) {
		if (!digits(c->pin1, sizeof(c->pin1), v, 4, 8))
			return 0;
		snprintf(why, whylen, "pin1 must be 4..8 digits");
	} else if (!strcmp(key, "puk1")) {
		if (!digits(c->puk1, sizeof(c->puk1), v, 8, 8))
			return 0;
		snprintf(why, whylen, "puk1 must be 8 digits");
	} else if (!strcmp(key, "adm1")) {
		if (!digits(c->adm1, sizeof(c->adm1), v, 8, 8))
			return 0;
		snprintf(why, whylen, "adm1 must be 8 digits");
	} else if (!strcmp(key, "pin1-enabled")) {
		if (!yes_no(&c->pin1_enabled, v))
			return 0;
		snprintf(why, whylen, "pin1-enabled must be yes or no");
	} else {
		snprintf(why, whylen, "unknown card setting \"%s\"", key);
	}
	return -EINVAL;
}

/* "[card N]": the section's card, or NULL. */
static struct card_profile *section(struct profiles *p, const char *s, unsigned int *idx)
{
	unsigned int n;
	char extra;

	if (sscanf(s, "[card %u]%c", &n, &extra) != 1 || s[strlen(s) - 1] != ']' ||
	    n >= SOFTSIM_CARDS_MAX)
		return NULL;
	if (n >= p->count)
		p->count = n + 1;
	*idx = n;
	return &p->card[n];
}

struct profile_parse {
	struct profiles *p;
	struct conf_file cf;
	struct card_profile *card;	/* the section we are in */
	unsigned int idx;		/* its number */
	struct conf_keys keys;		/* "N/key" of each setting so far */
};

/* "cards = N", before any section. */
static int set_count(struct profile_parse *pp, const char *value, char *why, size_t whylen)
{
	unsigned long n;

	if (conf_uint(value, 1, SOFTSIM_CARDS_MAX, &n)) {
		snprintf(why, whylen, "cards must be 1..%d", SOFTSIM_CARDS_MAX);
		return -EINVAL;
	}
	pp->p->count = n;
	return 0;
}

/* One line; a sentence in @why when it is wrong. */
static int profile_line(struct profile_parse *pp, char *s, char *why, size_t whylen)
{
	char *eq, *key, *value, id[CONF_LINE_MAX + 16];
	unsigned int first;

	*strchrnul(s, '#') = 0;
	s = conf_trim(s);
	if (!*s)
		return 0;
	if (*s == '[') {
		pp->card = section(pp->p, s, &pp->idx);
		if (pp->card)
			return 0;
		snprintf(why, whylen, "expected [card N] with N 0..%d", SOFTSIM_CARDS_MAX - 1);
		return -EINVAL;
	}
	eq = strchr(s, '=');
	if (!eq) {
		snprintf(why, whylen, "expected \"key = value\"");
		return -EINVAL;
	}
	*eq = 0;
	key = conf_trim(s);
	value = conf_trim(eq + 1);
	if (pp->card)
		snprintf(id, sizeof(id), "%u/%s", pp->idx, key);
	else
		snprintf(id, sizeof(id), "%s", key);
	if (!pp->card && strcmp(key, "cards")) {
		snprintf(why, whylen, "\"%s\" outside a [card N] section", key);
		return -EINVAL;
	}
	if (pp->card ? set_field(pp->card, key, value, why, whylen) :
	    set_count(pp, value, why, whylen))
		return -EINVAL;
	/* as conf_load(): a bad value first, then a key set twice */
	first = conf_keys_line(&pp->keys, id);
	if (first) {
		snprintf(why, whylen, "\"%s\" is set on line %u already", key, first);
		return -EINVAL;
	}
	if (conf_keys_add(&pp->keys, id, pp->cf.lineno)) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int profiles_load(struct profiles *p, const char *path, char *err, size_t errlen)
{
	struct profile_parse pp = { .p = p };
	char *line, why[160];
	int ret;

	ret = conf_open(&pp.cf, path, err, errlen);
	if (ret)
		return ret;
	while ((ret = conf_line(&pp.cf, &line, err, errlen)) > 0) {
		ret = profile_line(&pp, line, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "%s:%u: %s", path, pp.cf.lineno, why);
			break;
		}
	}
	conf_keys_free(&pp.keys);
	conf_close(&pp.cf);
	return ret;
}
