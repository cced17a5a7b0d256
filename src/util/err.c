/* err.c - texts for the error codes of err.h. */
#include "util/err.h"

const char *err_str(int err)
{
	switch (err) {
	case ERR_OK: return "ok";
	case ERR_TRUNCATED: return "truncated";
	case ERR_FORMAT: return "malformed";
	case ERR_TOO_BIG: return "too big";
	case ERR_AUTH: return "authentication failed";
	case ERR_FULL: return "full";
	case ERR_SYS: return "system error";
	case ERR_STORE: return "storage error";
	case ERR_CONFIG: return "configuration error";
	case ERR_VERSION: return "unsupported version";
	case ERR_PATH: return "invalid path";
	case ERR_CRYPTO: return "crypto error";
	case ERR_NOT_FOUND: return "not found";
	case ERR_AGAIN: return "try again";
	case ERR_CLOSED: return "closed";
	case ERR_INVAL: return "invalid argument";
	case ERR_REPLAY: return "replayed";
	case ERR_PERM: return "not permitted";
	case ERR_NOMEM: return "out of memory";
	case ERR_RATE: return "rate limited";
	}
	return "unknown error";
}
