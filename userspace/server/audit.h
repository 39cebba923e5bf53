/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit trail's state (audit.c), started by main.c after the core and
 * stopped before it; server_audit() and server_audit_query() are in
 * server_api.h, for the core and REST alike.
 */
#ifndef REMSIM_SERVER_AUDIT_H
#define REMSIM_SERVER_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct server;

/* 0, or -ENOMEM with the reason in @err. */
int audit_start(struct server *srv, char *err, size_t errlen);
/* Stores what is waiting; safe when audit_start() was not called. */
void audit_stop(struct server *srv);
/* Now as "2026-01-02T03:04:05.678901+00:00" into @buf, and in µs in @us. */
void audit_time(char *buf, size_t size, int64_t *us);

#endif
