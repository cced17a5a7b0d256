/*
 * test_lined.c - roomc's line editor (src/client/lined.c): plain line
 * splitting when the input is not a terminal, and key handling in terminal
 * mode (driven through pipes, the terminal output captured): editing keys,
 * UTF-8, escape sequences, history, ^C/^D, and messages printed above the line.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "client/lined.h"
#include "harness.h"
#include "util/err.h"

struct got {
	char lines[16][LINED_MAX];
	size_t cut[16];
	int n;
	int eof;
	struct lined *l;
};

static void on_line(void *ctx, char *line)
{
	struct got *g = ctx;
	if (!line) {
		g->eof++;
		return;
	}
	if (g->n < 16) {
		g->cut[g->n] = g->l ? g->l->cut : 0;
		snprintf(g->lines[g->n++], LINED_MAX, "%s", line);
	}
}

static void feed(struct lined *l, const char *s)
{
	lined_feed(l, s, strlen(s));
}

static void test_plain(void)
{
	struct lined l;
	struct got g = {.n = 0};
	int p[2];

	CHECK_EQ(pipe(p), 0);
	lined_open(&l, p[0], p[1], on_line, &g);
	CHECK(!l.tty);
	feed(&l, "one\r\ntw");
	feed(&l, "o\n\nthree");
	CHECK_EQ(g.n, 3);
	CHECK_STR(g.lines[0], "one");
	CHECK_STR(g.lines[1], "two");
	CHECK_STR(g.lines[2], "");
	/* end of input delivers the last line without a newline, then EOF */
	close(p[1]);
	CHECK_EQ(lined_read(&l), ERR_CLOSED);
	CHECK_EQ(g.n, 4);
	CHECK_STR(g.lines[3], "three");
	CHECK_EQ(g.eof, 1);
	lined_close(&l);
	close(p[0]);

	/* an overlong line is cut, not overflowed */
	struct got g2 = {.n = 0};
	CHECK_EQ(pipe(p), 0);
	lined_open(&l, p[0], p[1], on_line, &g2);
	char big[3 * LINED_MAX];
	memset(big, 'x', sizeof(big));
	lined_feed(&l, big, sizeof(big));
	feed(&l, "\n");
	CHECK_EQ(g2.n, 1);
	CHECK_EQ(strlen(g2.lines[0]), LINED_MAX - 1);
	lined_close(&l);
	close(p[0]);
	close(p[1]);
}

/* A terminal-mode editor writing its screen output into a pipe we drain. */
static void tty_open(struct lined *l, struct got *g, int out[2])
{
	CHECK_EQ(pipe(out), 0);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	lined_open(l, out[0], out[1], on_line, g);
	l->tty = true; /* pretend; raw stays false so nothing is restored */
	lined_set_prompt(l, "> ");
}

static size_t drain(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	return n;
}

static void test_keys(void)
{
	struct lined l;
	struct got g = {.n = 0};
	int out[2];
	char screen[65536];

	tty_open(&l, &g, out);
	feed(&l, "helo\x1b[D"
	         "l\r");             /* left arrow, insert */
	feed(&l, "abc\x01X\x05Y\r"); /* ^A, ^E */
	feed(&l, "one two three\x17\x17"
	         "2\r"); /* ^W twice */
	feed(&l, "caf\xc3\xa9\x7f"
	         "e\r");                      /* backspace removes the whole é */
	feed(&l, "abcdef\x1b[D\x1b[D\x0b\r"); /* ^K */
	feed(&l, "xyz\x15q\r");               /* ^U */
	feed(&l, "ab\x1b[H\x1b[3~\r");        /* Home, Delete */
	feed(&l, "12\x1bOH0\x1bOF3\r");       /* ESC O H / ESC O F */
	CHECK_EQ(g.n, 8);
	CHECK_STR(g.lines[0], "hello");
	CHECK_STR(g.lines[1], "XabcY");
	CHECK_STR(g.lines[2], "one 2");
	CHECK_STR(g.lines[3], "cafe");
	CHECK_STR(g.lines[4], "abcd");
	CHECK_STR(g.lines[5], "q");
	CHECK_STR(g.lines[6], "b");
	CHECK_STR(g.lines[7], "0123");

	/* history: up twice, edit, enter; down past the end restores the new line */
	feed(&l, "\x1b[A\x1b[A!\r");
	CHECK_STR(g.lines[8], "b!");
	feed(&l, "new\x1b[A\x1b[B\r");
	CHECK_STR(g.lines[9], "new");
	/* \r\n counts once; other control keys and unknown escapes are ignored */
	feed(&l, "a\x07\x1b[99~\x1b[1;5Cb\r\n");
	CHECK_EQ(g.n, 11);
	CHECK_STR(g.lines[10], "ab");

	/* ^C clears a line; on an empty line it ends the input, as ^D does */
	feed(&l, "junk\x03");
	CHECK_EQ(g.eof, 0);
	CHECK_EQ(l.len, 0);
	drain(out[0], screen, sizeof(screen));
	lined_print(&l, "message");
	size_t n = drain(out[0], screen, sizeof(screen));
	/* the message is printed on a cleared row, then the prompt comes back */
	CHECK(n > 0 && strstr(screen, "\r\x1b[Kmessage\n") != NULL);
	CHECK(strstr(screen, "> ") != NULL);
	feed(&l, "\x04");
	CHECK_EQ(g.eof, 1);
	feed(&l, "ignored\r");
	CHECK_EQ(g.n, 11);
	lined_close(&l);
	close(out[0]);
	close(out[1]);
}

static void test_long_line(void)
{
	struct lined l;
	struct got g = {.n = 0};
	int out[2];
	char screen[65536], big[600];

	tty_open(&l, &g, out);
	/* wider than the (default 80-column) screen: the row never exceeds it */
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 1] = 0;
	drain(out[0], screen, sizeof(screen));
	feed(&l, big);
	drain(out[0], screen, sizeof(screen));
	lined_redraw(&l);
	drain(out[0], screen, sizeof(screen));
	char *row = strstr(screen, "\r");
	CHECK(row != NULL);
	char *end = row ? strstr(row, "\x1b[K") : NULL;
	CHECK(end != NULL && end - row - 1 <= 79);
	feed(&l, "\r");
	CHECK_EQ(strlen(g.lines[0]), sizeof(big) - 1);
	lined_close(&l);
	close(out[0]);
	close(out[1]);
}

/* Issue 14: a line over LINED_MAX - 1 bytes (a 5,000-character paste) was
 * cut without a word, and the caller posted the part that fitted.  The
 * bytes dropped are now counted for the caller (l.cut), in both modes. */
static void test_overlong(void)
{
	static char big[5001];
	struct lined l;
	struct got g = {.n = 0, .l = &l};
	int p[2], out[2];

	memset(big, 'x', 5000);
	CHECK_EQ(pipe(p), 0);
	lined_open(&l, p[0], p[1], on_line, &g);
	feed(&l, big);
	feed(&l, "\nshort\n");
	CHECK_EQ(g.n, 2);
	CHECK_EQ(strlen(g.lines[0]), LINED_MAX - 1);
	CHECK_EQ(g.cut[0], 5000 - (LINED_MAX - 1));
	CHECK_STR(g.lines[1], "short");
	CHECK_EQ(g.cut[1], 0);
	lined_close(&l);
	close(p[0]);
	close(p[1]);

	memset(&g, 0, sizeof(g));
	g.l = &l;
	tty_open(&l, &g, out);
	static char screen[1 << 16];
	for (size_t off = 0; off < 5000; off += 100) {
		lined_feed(&l, big + off, 100); /* the screen drained as a terminal would */
		drain(out[0], screen, sizeof(screen));
	}
	feed(&l, "\r");
	feed(&l, "ok\r");
	CHECK_EQ(g.n, 2);
	CHECK_EQ(g.cut[0], 5000 - (LINED_MAX - 1));
	CHECK_EQ(g.cut[1], 0);
	lined_close(&l);
	close(out[0]);
	close(out[1]);
}

int main(void)
{
	test_plain();
	test_keys();
	test_long_line();
	test_overlong();
	return harness_done("test_lined");
}
