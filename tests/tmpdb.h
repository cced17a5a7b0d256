/*
 * tmpdb.h - for tests and benchmarks that open a database file of their own:
 * removes it with the -wal and -shm files SQLite keeps beside it.
 */
#ifndef ROOMD_TESTS_TMPDB_H
#define ROOMD_TESTS_TMPDB_H

#include <stdio.h>
#include <unistd.h>

static inline void tmpdb_remove(const char *path)
{
	char p[4096];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

#endif
