/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plain.h - what the plain C of common/ (the T=0 engine, the ATR check, the
 * card emulator, the SIMtrace2 wire format) needs, in the kernel and in user
 * space alike: the one place where the two worlds differ (see README). Those
 * files include nothing else but remsim's uapi headers, so that the
 * user-space unit tests and fuzzers compile exactly the code the module runs.
 */
#ifndef _REMSIM_PLAIN_H
#define _REMSIM_PLAIN_H

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/types.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#endif

#define PLAIN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* _REMSIM_PLAIN_H */
