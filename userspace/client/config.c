// SPDX-License-Identifier: GPL-2.0
/* remsim-client's config file and per-slot settings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "remsim/conf.h"
#include "remsim/log.h"

const struct slot_override *client_override(const struct client *cl, const char *const *names,
					    unsigned int n)
{
	unsigned int i, j;

	for (j = 0; j < n; j++)
		for (i = 0; names[j] && names[j][0] && i < cl->noverrides; i++)
			if (!strcmp(cl->overrides[i].name, names[j]))
				return &cl->overrides[i];
	return NULL;
}

void client_slot_cfg(const struct client *cl, const struct slot_override *o,
		     struct rspro_client_slot id, struct rc_cfg *cfg)
{
	*cfg = cl->cfg;
	cfg->slot = id;
	if (o && o->atr_len) {
		memcpy(cfg->atr, o->atr, o->atr_len);
		cfg->atr_len = o->atr_len;
	}
	if (o && o->event_script[0])
		snprintf(cfg->event_script, sizeof(cfg->event_script), "%s", o->event_script);
	if (o && o->has_apdu_timeout)
		cfg->apdu_timeout_ms = o->apdu_timeout_ms;
}

/* apdu-timeout: ms, 0 (no holding) up to RC_APDU_TIMEOUT_MAX_MS. */
static int apdu_timeout_parse(const char *key, const char *value, unsigned int *ms,
			      char *why, size_t whylen)
{
	unsigned long v;

	if (conf_uint(value, 0, RC_APDU_TIMEOUT_MAX_MS, &v)) {
		snprintf(why, whylen, "%s \"%s\" is not a time in ms from 0 to %u", key, value,
			 RC_APDU_TIMEOUT_MAX_MS);
		return -EINVAL;
	}
	*ms = v;
	return 0;
}

void client_log_stats(const struct rc_slot *rc, const char *where)
{
	const struct rc_stats *st = rc_slot_stats(rc);
	char lat[64];

	rc_slot_latency_text(rc, lat, sizeof(lat));
	LOGP(DMAIN, LOG_NOTICE, rc_slot_name(rc),
	     "%s %s: %lu APDUs, %lu answers, %lu lost, %lu refused, %lu bankd connects, %s",
	     where, rc_state_name(rc_slot_state(rc)), st->tpdus, st->responses, st->lost,
	     st->refused, st->bankd_connects, lat);
}

static struct slot_override *override_for(struct client *cl, const char *name, char *why,
					  size_t whylen)
{
	struct slot_override *o;
	unsigned int i;

	for (i = 0; i < cl->noverrides; i++)
		if (!strcmp(cl->overrides[i].name, name))
			return &cl->overrides[i];
	if (cl->noverrides == OVERRIDES_MAX) {
		snprintf(why, whylen, "more than %d slots configured", OVERRIDES_MAX);
		return NULL;
	}
	o = &cl->overrides[cl->noverrides++];
	snprintf(o->name, sizeof(o->name), "%s", name);
	return o;
}

/* "slot.NAME.KEY": NAME may hold dots (a USB interface), KEY does not. */
static int slot_set(struct client *cl, const char *key, const char *value, char *why,
		    size_t whylen)
{
	const char *dot = strrchr(key, '.');
	struct slot_override *o;
	unsigned int id, sn;
	char name[40], extra;
	long n;

	if (dot <= key + 5 || (size_t)(dot - key - 5) >= sizeof(name)) {
		snprintf(why, whylen, "\"%s\": expected slot.NAME.KEY", key);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(dot - key - 5), key + 5);
	o = override_for(cl, name, why, whylen);
	if (!o)
		return -EINVAL;
	if (!strcmp(dot + 1, "client")) {
		if (sscanf(value, "%u:%u%c", &id, &sn, &extra) != 2 || id > 1023 || sn > 1023) {
			snprintf(why, whylen, "%s \"%s\" is not CLIENT:SLOT (0..1023)", key, value);
			return -EINVAL;
		}
		o->has_client = true;
		o->client = (struct rspro_client_slot){ id, sn };
		return 0;
	}
	if (!strcmp(dot + 1, "atr")) {
		n = conf_hex(value, o->atr, sizeof(o->atr));
		if (n < 2) {
			snprintf(why, whylen, "%s: ATR malformed", key);
			return -EINVAL;
		}
		o->atr_len = n;
		return 0;
	}
	if (!strcmp(dot + 1, "event-script")) {
		snprintf(o->event_script, sizeof(o->event_script), "%s", value);
		return 0;
	}
	if (!strcmp(dot + 1, "apdu-timeout")) {
		if (apdu_timeout_parse(key, value, &o->apdu_timeout_ms, why, whylen))
			return -EINVAL;
		o->has_apdu_timeout = true;
		return 0;
	}
	snprintf(why, whylen, "unknown slot setting \"%s\"", dot + 1);
	return -EINVAL;
}

/* The USB options, osmo-remsim-client-st2's -V -P -C -I -S -A -H -Z. */
static int usb_set(struct client *cl, const char *key, const char *value, char *why,
		   size_t whylen)
{
	struct usb_filter *f = &cl->usb_filter;
	const struct {
		const char *key;
		int base;
		unsigned long max;
		bool selects;		/* narrows which interfaces are taken */
		int *to;
	} keys[] = {
		{ "usb-vendor", 16, 0xffff, true, &f->vid },
		{ "usb-product", 16, 0xffff, true, &f->pid },
		{ "usb-config", 10, 255, false, &cl->usb_opts.config },
		{ "usb-interface", 10, 255, true, &f->ifnum },
		{ "usb-altsetting", 10, 255, false, &cl->usb_opts.alt },
		{ "usb-address", 10, 127, true, &f->addr },
		{ "presence-polarity", 10, 1, false, &cl->usb_opts.pres_pol },
	};
	unsigned long v;
	unsigned int i;
	char *end;

	if (!strcmp(key, "usb-path")) {
		if (!*value || strlen(value) >= sizeof(f->path) || strspn(value, "0123456789-.") !=
		    strlen(value)) {
			snprintf(why, whylen, "usb-path \"%s\" is not a USB port path (like 2-1.1)",
				 value);
			return -EINVAL;
		}
		snprintf(f->path, sizeof(f->path), "%s", value);
		cl->usb_selected = true;
		return 0;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].key))
			break;
	if (i == sizeof(keys) / sizeof(keys[0])) {
		snprintf(why, whylen, "unknown setting \"%s\"", key);
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(value, &end, keys[i].base);
	if (errno || !*value || *end || v > keys[i].max) {
		snprintf(why, whylen, "%s \"%s\" is not a %snumber up to %#lx", key, value,
			 keys[i].base == 16 ? "hex " : "", keys[i].max);
		return -EINVAL;
	}
	cl->usb_selected |= keys[i].selects;
	*keys[i].to = v;
	return 0;
}

/* One "key = value" of the config file; the same keys as the long options. */
int client_conf_set(const char *key, const char *value, void *arg, char *why, size_t whylen)
{
	struct client *cl = arg;
	unsigned long v;
	long n;
	int ret;

	ret = rspro_tls_cfg_set(&cl->tls_cfg, key, value, why, whylen);
	if (ret != -ENOENT)
		return ret;
	if (!strncmp(key, "slot.", 5))
		return slot_set(cl, key, value, why, whylen);
	if (!strcmp(key, "server-ip")) {
		snprintf(cl->cfg.server_host, sizeof(cl->cfg.server_host), "%s", value);
	} else if (!strcmp(key, "server-port")) {
		if (conf_uint(value, 1, 65535, &v)) {
			snprintf(why, whylen, "server-port \"%s\" is not a port", value);
			return -EINVAL;
		}
		cl->cfg.server_port = v;
	} else if (!strcmp(key, "apdu-timeout")) {
		return apdu_timeout_parse(key, value, &cl->cfg.apdu_timeout_ms, why, whylen);
	} else if (!strcmp(key, "event-script")) {
		snprintf(cl->cfg.event_script, sizeof(cl->cfg.event_script), "%s", value);
	} else if (!strcmp(key, "atr")) {
		n = conf_hex(value, cl->cfg.atr, sizeof(cl->cfg.atr));
		if (n < 2) {
			snprintf(why, whylen, "atr: ATR malformed");
			return -EINVAL;
		}
		cl->cfg.atr_len = n;
	} else if (!strcmp(key, "atr-ignore-rspro")) {
		/* the option has no value; the config file may say 0 or 1 */
		if (*value && strcmp(value, "0") && strcmp(value, "1")) {
			snprintf(why, whylen, "atr-ignore-rspro \"%s\" is not 0 or 1", value);
			return -EINVAL;
		}
		cl->cfg.atr_ignore = strcmp(value, "0") != 0;
	} else if (!strcmp(key, "client-id") || !strcmp(key, "client-slot")) {
		if (conf_uint(value, 0, 1023, &v)) {
			snprintf(why, whylen, "%s \"%s\" is not in 0..1023", key, value);
			return -EINVAL;
		}
		cl->has_identity = true;
		if (key[7] == 'i')
			cl->identity.client_id = v;
		else
			cl->identity.slot_nr = v;
	} else if (!strcmp(key, "backend")) {
		if (!strcmp(value, "auto")) {
			cl->backend = BACKEND_AUTO;
		} else if (!strcmp(value, "kernel")) {
			cl->backend = BACKEND_KERNEL;
		} else if (!strcmp(value, "usb")) {
			cl->backend = BACKEND_USB;
		} else {
			snprintf(why, whylen, "backend \"%s\" is not auto, kernel or usb", value);
			return -EINVAL;
		}
	} else if (!strncmp(key, "usb-", 4) || !strcmp(key, "presence-polarity")) {
		return usb_set(cl, key, value, why, whylen);
	} else if (!strcmp(key, "metrics")) {
		return metrics_parse(&cl->metrics, value, why, whylen);
	} else if (!strcmp(key, "log-level")) {
		if (log_parse_level(value) < 0) {
			snprintf(why, whylen, "log-level \"%s\" is not a level", value);
			return -EINVAL;
		}
		log_set_all(log_parse_level(value));
	} else {
		snprintf(why, whylen, "unknown setting \"%s\"", key);
		return -EINVAL;
	}
	return 0;
}
