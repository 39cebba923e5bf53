/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmod.h - load and unload remsim's modules in the test VM with the
 * finit_module(2)/delete_module(2) system calls, so that a test sees the
 * kernel's own error codes.
 */
#ifndef _KMOD_H
#define _KMOD_H

/* Loads /lib/modules/$(uname -r)/extra/NAME.ko; 0 or -errno. */
int kmod_load(const char *name, const char *params);
/* Unloads NAME; 0, or -errno (-ENOENT when it was not loaded). */
int kmod_unload(const char *name);
/* Unloads every remsim module that is loaded, dependants first; 0 or -errno. */
int kmod_unload_all(void);
/* Whether NAME is loaded. */
int kmod_loaded(const char *name);

#endif /* _KMOD_H */
