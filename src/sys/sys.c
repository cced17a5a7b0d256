/* sys.c - clocks, directories and identity files for the programs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sys/sys.h"
#include "util/err.h"
#include "util/log.h"

uint64_t app_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t app_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int app_mkdir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return ERR_OK;
	log_err("sys", "cannot create %s: %s", path, strerror(errno));
	return ERR_SYS;
}

void app_private_files(void)
{
	umask(077);
}

unsigned app_check_private(const char *dir)
{
	struct stat st;
	unsigned wide = 0;
	if (stat(dir, &st) != 0)
		return 0;
	if (st.st_mode & 077) {
		log_warn("sys", "%s is mode %04o: other users can list it; chmod 700 %s", dir,
		         (unsigned)(st.st_mode & 07777), dir);
		wide++;
	}
	DIR *d = opendir(dir);
	if (!d)
		return wide;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char p[4352];
		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p) ||
		    lstat(p, &st) != 0 || S_ISLNK(st.st_mode) || !(st.st_mode & 077))
			continue;
		log_warn("sys", "%s is mode %04o: other users can read it; chmod 600 %s", p,
		         (unsigned)(st.st_mode & 07777), p);
		wide++;
	}
	closedir(d);
	return wide;
}

int app_ident_save(const char *path, const struct ident *id)
{
	uint8_t buf[CRYPTO_IDENT_FILE_SIZE];
	char tmp[4200];
	int fd, rc = ERR_SYS;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("sys", "%s: %s", tmp, strerror(errno));
		return ERR_SYS;
	}
	ident_encode(id, buf);
	if (write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) && fsync(fd) == 0)
		rc = ERR_OK;
	crypto_wipe(buf, sizeof(buf));
	if (close(fd) != 0)
		rc = ERR_SYS;
	if (rc == ERR_OK && rename(tmp, path) != 0)
		rc = ERR_SYS;
	if (rc)
		log_err("sys", "cannot write identity %s: %s", path, strerror(errno));
	return rc;
}

int app_ident_load(const char *path, struct ident *id)
{
	uint8_t buf[CRYPTO_IDENT_FILE_SIZE + 32 + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_SYS;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	/* the firmware variant with a 32-byte name appended is accepted too */
	int rc = n == CRYPTO_IDENT_FILE_SIZE || n == CRYPTO_IDENT_FILE_SIZE + 32
	             ? ident_decode(id, buf, (size_t)n)
	             : ERR_FORMAT;
	crypto_wipe(buf, sizeof(buf));
	return rc;
}

int app_dir_lock(const char *dir, const char *name, int *fd, long *holder)
{
	char path[4200], buf[32];
	*holder = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		log_err("sys", "%s: %s", path, strerror(errno));
		return ERR_SYS;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		ssize_t n = pread(*fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = 0;
			*holder = strtol(buf, NULL, 10);
		}
		close(*fd);
		*fd = -1;
		if (e == EWOULDBLOCK)
			return ERR_AGAIN;
		log_err("sys", "%s: %s", path, strerror(e));
		return ERR_SYS;
	}
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(*fd, 0) != 0 || pwrite(*fd, buf, (size_t)n, 0) != n)
		log_warn("sys", "%s: cannot write our pid: %s", path, strerror(errno));
	return ERR_OK;
}
