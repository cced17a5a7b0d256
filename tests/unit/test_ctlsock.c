/*
 * test_ctlsock.c - the control socket (src/sys/ctlsock.c) on the event loop:
 * framing, empty and CR-terminated lines, a line too long, EOF after the
 * commands (replies still written), the client limit, a client that does not
 * read cut off past the queue bound while another is answered, the socket
 * file removed on close.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "sys/ctlsock.h"
#include "sys/loop.h"
#include "util/err.h"

static int n_after;

static int command(void *ctx, const char *line, int *sel, char *reply, size_t cap)
{
	(void)ctx;
	if (strcmp(line, "big") == 0) { /* a full reply buffer of 60-byte lines */
		size_t off = 0;
		while (off + 61 < cap) {
			memset(reply + off, 'b', 60);
			reply[off + 60] = '\n';
			off += 61;
		}
		reply[off] = 0;
		return ERR_OK;
	}
	if (strcmp(line, "sel") == 0) {
		snprintf(reply, cap, "sel %d", (*sel)++);
		return ERR_OK;
	}
	if (strcmp(line, "two") == 0) {
		snprintf(reply, cap, "one\ntwo");
		return ERR_OK;
	}
	snprintf(reply, cap, "Err - [%s]", line);
	return ERR_INVAL;
}

static int initial_sel(void *ctx)
{
	(void)ctx;
	return 7;
}

static void after(void *ctx)
{
	(void)ctx;
	n_after++;
}

static void on_tick(void *ctx)
{
	loop_break(ctx);
}

/* Runs the loop for a few rounds (each ends at a short timer). */
static void spin(struct loop *l, int rounds)
{
	struct loop_timer *t = loop_timer_new(l, on_tick, l);
	for (int i = 0; i < rounds; i++) {
		loop_timer_in(t, 5);
		loop_run(l);
	}
	loop_timer_free(t);
}

static int dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Reads what is there (non-blocking) into buf (NUL-terminated); -1 at EOF. */
static ssize_t drain(int fd, char *buf, size_t cap, size_t *len)
{
	for (;;) {
		ssize_t n = read(fd, buf + *len, cap - 1 - *len);
		if (n == 0)
			return -1;
		if (n < 0)
			break;
		*len += (size_t)n;
		if (*len == cap - 1)
			*len = 0; /* keep reading: only EOF matters to the caller */
	}
	buf[*len] = 0;
	return (ssize_t)*len;
}

static void send_str(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n < 0)
			break;
		s += n;
		len -= (size_t)n;
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the daemons do */
	struct loop *l;
	struct ctlsock *s;
	char dir[] = "/tmp/test_ctlsock.XXXXXX";
	char path[256], buf[65536];
	size_t len = 0;
	struct ctlsock_ops ops = {.command = command, .initial_sel = initial_sel, .after = after};
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	CHECK_EQ(loop_open(&l), ERR_OK);
	CHECK_EQ(ctlsock_open(&s, l, path, &ops), ERR_OK);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* framing: " line" per reply line, then OK/ERR; empty line OK; CR stripped */
	int a = dial(path);
	CHECK(a >= 0);
	send_str(a, "two\n\nbogus\r\nsel\nsel\n");
	spin(l, 4);
	drain(a, buf, sizeof(buf), &len);
	CHECK_STR(buf, " one\n two\nOK\nOK\n Err - [bogus]\nERR\n sel 7\nOK\n sel 8\nOK\n");
	CHECK(n_after > 0);
	CHECK_EQ(ctlsock_clients(s), 1);
	int *sels[CTLSOCK_MAX_CLIENTS];
	CHECK_EQ(ctlsock_sels(s, sels, CTLSOCK_MAX_CLIENTS), 1);
	CHECK_EQ(*sels[0], 9);

	/* a reply of many lines is framed whole (the old fixed 8 KiB buffer's
	 * length arithmetic wrapped near its end) */
	len = 0;
	send_str(a, "big\n");
	spin(l, 4);
	drain(a, buf, sizeof(buf), &len);
	CHECK(len > 4000 && strcmp(buf + len - 3, "OK\n") == 0);

	/* a line too long: the error, then the connection closed */
	char longl[600];
	memset(longl, 'x', sizeof(longl));
	longl[sizeof(longl) - 1] = 0;
	len = 0;
	send_str(a, longl);
	spin(l, 4);
	CHECK_EQ(drain(a, buf, sizeof(buf), &len), -1);
	CHECK(strstr(buf, " Err - line too long\nERR\n") != NULL || len == 0);
	close(a);
	spin(l, 2);
	CHECK_EQ(ctlsock_stats(s)->long_line, 1);

	/* commands then EOF: every reply still comes */
	int b = dial(path);
	send_str(b, "sel\nsel\n");
	shutdown(b, SHUT_WR);
	spin(l, 4);
	len = 0;
	CHECK_EQ(drain(b, buf, sizeof(buf), &len), -1);
	close(b);

	/* the client limit */
	int fds[CTLSOCK_MAX_CLIENTS + 1];
	for (int i = 0; i <= CTLSOCK_MAX_CLIENTS; i++) {
		fds[i] = dial(path); /* accepted before the next (listen backlog 4) */
		spin(l, 1);
	}
	CHECK_EQ(ctlsock_clients(s), CTLSOCK_MAX_CLIENTS);
	CHECK_EQ(ctlsock_stats(s)->refused, 1);
	len = 0;
	CHECK_EQ(drain(fds[CTLSOCK_MAX_CLIENTS], buf, sizeof(buf), &len), -1);
	for (int i = 0; i <= CTLSOCK_MAX_CLIENTS; i++)
		close(fds[i]);
	spin(l, 4);
	CHECK_EQ(ctlsock_clients(s), 0);

	/* one client never reads: cut off past the bound; another is answered */
	int slow = dial(path), other = dial(path);
	size_t reps = CTLSOCK_QUEUE_MAX / 4000 * 2 + 200;
	char *many = malloc(reps * 4 + 1); /* one write: small writes fill the socket early */
	for (size_t i = 0; i < reps; i++)
		memcpy(many + i * 4, "big\n", 4);
	many[reps * 4] = 0;
	send_str(slow, many);
	free(many);
	send_str(other, "sel\n");
	spin(l, 20);
	len = 0;
	drain(other, buf, sizeof(buf), &len);
	CHECK_STR(buf, " sel 7\nOK\n");
	CHECK_EQ(ctlsock_stats(s)->cut_slow, 1);
	CHECK_EQ(ctlsock_clients(s), 1);
	close(slow);
	close(other);
	spin(l, 2);

	ctlsock_close(s);
	CHECK(stat(path, &st) < 0 && errno == ENOENT);
	loop_close(l);
	rmdir(dir);
	return harness_done("test_ctlsock");
}
