/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `remsim-server token add|list|revoke` (auth.c); the running server's
 * check of a token is server_token_check() in server_api.h.
 */
#ifndef REMSIM_SERVER_AUTH_H
#define REMSIM_SERVER_AUTH_H

struct server_cfg;

/*
 * The server's settings for the command: the config file @conf (NULL: the
 * default one if present), then the database @db over it (NULL: the
 * file's or the default). 0, or non-zero after saying why on stderr.
 */
typedef int (*token_cfg_fn)(const char *conf, const char *db, struct server_cfg *cfg);

/* @argv from "token" on; returns the exit status (0, 1 failed, 2 usage). */
int token_main(int argc, char **argv, token_cfg_fn load_cfg);
/* `remsim-server backup FILE` (store_backup.c), with the same settings */
int backup_main(int argc, char **argv, token_cfg_fn load_cfg);
/* `remsim-server cards`: a running server's card inventory as a table (cards_cmd.c). */
int cards_main(int argc, char **argv);
/* `remsim-server tag`: a card's free tags, set on a running server. */
int tag_main(int argc, char **argv);

#endif
