/*
 * sys.h - the thin OS layer shared by the programs: clocks, files,
 * identity files.  The protocol core never calls these.
 */
#ifndef ROOMD_SYS_SYS_H
#define ROOMD_SYS_SYS_H

#include <stdint.h>

#include "crypto/crypto.h"
#include "util/version.h"

#define APP_VERSION ROOMD_VERSION /* one version for every program: util/version.h */

/* Monotonic milliseconds (CLOCK_MONOTONIC). */
uint64_t app_now_ms(void);
/* Wall-clock milliseconds since the epoch. */
int64_t app_wall_ms(void);
/* Creates a directory (mode 0700) if missing; logs and returns ERR_SYS on failure. */
int app_mkdir(const char *path);
/*
 * Files created from now on are private: at most 0600, directories 0700
 * (umask 077).  The data directory holds the passwords in clear, every post
 * and the private keys (issue 13.11).
 */
void app_private_files(void);
/* Warns about dir and each entry in it that others may read or list (mode
 * & 077); returns how many. */
unsigned app_check_private(const char *dir);
/* The 96-byte firmware identity file (pub || prv), written mode 0600 atomically. */
int app_ident_save(const char *path, const struct ident *id);
int app_ident_load(const char *path, struct ident *id);
/*
 * Takes the lock file dir/name (flock, exclusive, not waiting) and writes
 * our pid into it; *fd keeps the lock until closed (close-on-exec, so a
 * re-executed program takes it again).  ERR_AGAIN when another process
 * holds it: *holder is then its pid as written in the file (0 if unknown).
 * ERR_SYS (logged) when the file cannot be opened.
 */
int app_dir_lock(const char *dir, const char *name, int *fd, long *holder);

#endif
