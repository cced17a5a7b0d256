/*
 * err.h - the one error space of roomd.
 *
 * Every function that can fail returns ERR_OK (0) or one of the negative
 * codes below.  Modules never invent private code spaces; err_str() gives
 * a short human-readable text for logs and user-facing messages.
 */
#ifndef ROOMD_UTIL_ERR_H
#define ROOMD_UTIL_ERR_H

enum {
	ERR_OK = 0,
	ERR_TRUNCATED = -1,  /* input ended before a field did */
	ERR_FORMAT = -2,     /* a field has a value the format forbids */
	ERR_TOO_BIG = -3,    /* input or output over a protocol or buffer cap */
	ERR_AUTH = -4,       /* MAC, signature or password check failed */
	ERR_FULL = -5,       /* a queue or table is full */
	ERR_SYS = -6,        /* a system call failed (see errno) */
	ERR_STORE = -7,      /* the database failed */
	ERR_CONFIG = -8,     /* bad configuration */
	ERR_VERSION = -9,    /* unsupported payload version */
	ERR_PATH = -10,      /* invalid path_len encoding or path too long */
	ERR_CRYPTO = -11,    /* a crypto primitive refused its input (bad key, ...) */
	ERR_NOT_FOUND = -12, /* no such entry */
	ERR_AGAIN = -13,     /* try again later (would block, busy) */
	ERR_CLOSED = -14,    /* the peer or device went away */
	ERR_INVAL = -15,     /* invalid argument from the caller */
	ERR_REPLAY = -16,    /* an old timestamp or a duplicate */
	ERR_PERM = -17,      /* not allowed for this role */
	ERR_NOMEM = -18,     /* out of memory */
	ERR_RATE = -19,      /* refused by a rate limit */
};

/* Short constant text for an error code; never NULL. */
const char *err_str(int err);

#endif
